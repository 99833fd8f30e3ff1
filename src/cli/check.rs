//! `temper check`: evaluate an environment's rules on manifests as they are.

use std::path::PathBuf;

use clap::Args;

use temper::Settings;
use temper::read::Document;
use temper::report::{self, Format};

use super::progress::Ticker;
use super::{
    ConfigArgs, EXIT_OK, EXIT_VIOLATION, InputArgs, LimitArgs, ProcessArgs, choice, stream_stdout, write_stdout,
};

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format
    #[arg(short = 'o', long, default_value = "text", value_parser = choice::<Format>(Format::ALL.map(Format::as_str)))]
    pub format: Format,
    /// Look chart templates named by `# Source:` up under DIR (then the working directory), so
    /// SARIF results point at the template line where the document lines up with it
    #[arg(long, value_name = "DIR")]
    pub source_root: Option<PathBuf>,
    #[command(flatten)]
    pub limit: LimitArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    args.process.apply()?;
    let (policy, mut inputs) = args.input.read_with_policy(&args.config)?;
    let ticker = Ticker::start(&inputs, args.process.quiet, false);
    let settings = Settings::check(args.input.namespace())
        .with_strict(args.input.strict.strict)
        .with_progress(ticker.as_ref().map(Ticker::progress));
    // Only SARIF reads the input text again, to point at lines.
    let mut outcome = match args.format {
        Format::Sarif => temper::run_packing_text(&mut inputs, &policy, &settings)?,
        _ => temper::run_forgetting_text(&mut inputs, &policy, &settings)?,
    };
    // The report reads of each document only where it is, not what it holds: the objects go
    // before it is written (a Deployment of 3,200 containers held 6 MB through its SARIF log).
    let documents: Vec<Document<()>> =
        std::mem::take(&mut outcome.documents).into_iter().map(Document::without_object).collect();
    if let Some(ticker) = ticker {
        ticker.finish();
    }
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    let report = &outcome.report;
    if args.format != Format::Text {
        super::warn(report, &args.process);
    }
    let mut sources = report::Sources::default();
    if let Some(dir) = &args.source_root {
        sources.roots.insert(0, dir.clone());
    }
    match args.format {
        Format::Text => write_stdout(report.summary_with(args.limit.max_violations).as_bytes())?,
        format => stream_stdout(|out| report::write_with(report, format, &inputs, &documents, &sources, out))?,
    }
    super::log_with(|| report.summary());
    Ok(if report.fails() { EXIT_VIOLATION } else { EXIT_OK })
}
