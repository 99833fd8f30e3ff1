//! `temper check`: evaluate an environment's rules on manifests as they are.

use clap::Args;

use temper::Settings;
use temper::report::{self, Format};

use super::{ConfigArgs, EXIT_OK, EXIT_VIOLATION, InputArgs, ProcessArgs, choice, write_stdout};

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format
    #[arg(short = 'o', long, default_value = "text", value_parser = choice::<Format>(Format::ALL.map(Format::as_str)))]
    pub format: Format,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    args.process.apply()?;
    let policy = args.config.policy()?;
    let inputs = args.input.read()?;
    let settings = Settings::check(args.input.namespace()).with_strict(args.input.strict.strict);
    let outcome = temper::run(&inputs, &policy, &settings)?;
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    let report = &outcome.report;
    if args.format != Format::Text {
        super::warn(report, &args.process);
    }
    write_stdout(report::render(report, args.format, &inputs, &outcome.documents).as_bytes())?;
    super::log(&report.summary());
    Ok(if report.fails() { EXIT_VIOLATION } else { EXIT_OK })
}
