//! `temper init`: copy the built-in configuration out for customisation.

use std::path::PathBuf;

use clap::Args;

use temper::Config;

use super::{EXIT_OK, write_file};

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Directory to write overlays/ and environments/ into
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &InitArgs) -> anyhow::Result<u8> {
    let files = Config::builtin_files();
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .map(|(path, _)| args.dir.join(path))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        anyhow::ensure!(existing.is_empty(), "refusing to overwrite {} (use --force)", existing.join(", "));
    }
    for (path, text) in files {
        write_file(&args.dir.join(path), text)?;
    }
    eprintln!(
        "temper: wrote {} files to {}; use them with --config {}",
        files.len(),
        args.dir.display(),
        args.dir.display()
    );
    Ok(EXIT_OK)
}
