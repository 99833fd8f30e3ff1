//! `temper render` (and `temper` alone): harden manifests onto stdout.

use std::path::PathBuf;

use clap::Args;

use temper::Settings;

use super::{ConfigArgs, EXIT_OK, EXIT_VIOLATION, InputArgs, ProcessArgs, write_file, write_stdout};

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Write a JSON report of every change and violation to this file
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Treat enforce as fix: report violations but exit 0
    #[arg(long)]
    pub no_enforce: bool,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn run(args: &RenderArgs) -> anyhow::Result<u8> {
    args.process.apply()?;
    let policy = args.config.policy()?;
    let inputs = args.input.read()?;
    let settings = Settings { release_namespace: args.input.namespace.clone(), fix: true };
    let outcome = temper::run(&inputs, &policy, &settings)?;
    let report = &outcome.report;
    if let Some(path) = &args.report {
        write_file(path, &(serde_json::to_string_pretty(report)? + "\n"))?;
    }
    if report.fails() && !args.no_enforce {
        // A failure is always explained, even with --quiet.
        let text = format!(
            "{}temper: {} violation(s) of enforced rules in environment `{}`; nothing was written\n",
            report.summary(),
            report.counts.errors,
            policy.environment
        );
        eprint!("{text}");
        super::log(&text);
        return Ok(EXIT_VIOLATION);
    }
    args.process.inform(&report.summary());
    write_stdout(outcome.output.as_bytes())?;
    Ok(EXIT_OK)
}
