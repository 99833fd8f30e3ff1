//! `temper init`: copy the configuration out for customisation: the built-in files, with a
//! user's own (`--config`) in place of those they override.

use std::path::PathBuf;

use clap::Args;

use super::{ConfigDir, EXIT_OK, write_file};

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Directory to write overlays/ and environments/ into
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub config: ConfigDir,
}

pub fn run(args: &InitArgs) -> anyhow::Result<u8> {
    let files = args.config.load()?.files();
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .map(|(path, _)| args.dir.join(path))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        anyhow::ensure!(existing.is_empty(), "refusing to overwrite {} (use --force)", existing.join(", "));
    }
    for (path, text) in &files {
        write_file(&args.dir.join(path), text)?;
    }
    let with = args.config.config.as_ref().map(|c| format!(" (built in, and yours from {})", c.display()));
    eprintln!(
        "temper: wrote {} files{} to {}; use them with --config {}",
        files.len(),
        with.unwrap_or_default(),
        args.dir.display(),
        args.dir.display()
    );
    Ok(EXIT_OK)
}
