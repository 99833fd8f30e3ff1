//! `temper completions SHELL` and `temper man`: shell completion scripts and the man page,
//! generated from the clap definitions at run time, so they always match the binary's
//! `--help`. Packagers write them out once (`temper completions bash > ...`,
//! `temper man > temper.1`); see the README.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use super::{Cli, EXIT_OK, write_stdout};

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write temper.1 and a page for each subcommand (temper-render.1, ...) into DIR instead
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    write_stdout(&script)?;
    Ok(EXIT_OK)
}

/// Writes the man page, temper(1) in roff, to stdout; or, with `--dir`, every page to a
/// directory.
pub fn man(args: &ManArgs) -> anyhow::Result<u8> {
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(Cli::command(), dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        return Ok(EXIT_OK);
    }
    // As `generate_to` does: no page for clap's `help` subcommand, so temper(1) lists none.
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command().disable_help_subcommand(true))
        .render(&mut page)
        .context("cannot render the man page")?;
    write_stdout(&page)?;
    Ok(EXIT_OK)
}
