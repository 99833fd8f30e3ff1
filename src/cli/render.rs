//! `temper render` (and `temper` alone): harden manifests onto stdout.

use std::path::PathBuf;

use clap::Args;

use temper::compliance;
use temper::diff::{self, Format, Options, Style};
use temper::record::Keeping;

use super::hash::HashArgs;
use super::progress::Ticker;
use super::{
    ConfigArgs, EXIT_OK, InputArgs, LimitArgs, ProcessArgs, choice, stream_stdout, write_file, write_json_file,
};

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Write a JSON report of every change and violation, with the compliance statement
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Treat enforce as fix: report violations but exit 0
    #[arg(long)]
    pub no_enforce: bool,
    /// Annotate every output resource with the environment, compliance hash and digests
    #[arg(long)]
    pub stamp: bool,
    /// Write an in-toto attestation of the output and its compliance statement to FILE
    #[arg(long, value_name = "FILE")]
    pub attestation: Option<PathBuf>,
    /// Write the hardening diff (input against output) to FILE; stdout belongs to the manifests
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// Format of --diff
    #[arg(long, default_value = "unified", value_name = "FORMAT", value_parser = choice::<Format>(Format::ALL.map(Format::as_str)))]
    pub diff_format: Format,
    #[command(flatten)]
    pub hash: HashArgs,
    #[command(flatten)]
    pub limit: LimitArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn run(args: &RenderArgs) -> anyhow::Result<u8> {
    args.process.apply()?;
    let (policy, mut inputs) = args.input.read_with_policy(&args.config)?;
    let wants_hash = args.report.is_some() || args.stamp || args.attestation.is_some() || args.diff.is_some();
    let ticker = Ticker::start(&inputs, args.process.quiet, true);
    let settings = args
        .hash
        .settings(args.input.namespace(), wants_hash)?
        .with_stamps(args.stamp)
        .with_strict(args.input.strict.strict)
        // Only the JSON report and the diff list the changes; the summary counts them.
        .keeping_changes(if args.report.is_some() || args.diff.is_some() { Keeping::Records } else { Keeping::Count })
        // Written once, at the end: held packed until then.
        .packing_output()
        .with_progress(ticker.as_ref().map(Ticker::progress));
    let outcome = temper::run_packing_text(&mut inputs, &policy, &settings)?;
    if let Some(ticker) = ticker {
        ticker.finish();
    }
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    let report = &outcome.report;
    if let Some(path) = &args.report {
        write_json_file(path, report)?;
    }
    if let Some(path) = &args.diff {
        // Written to a file: never coloured, as the style below says.
        let options = Options::default().for_format(args.diff_format, false);
        let hardening = diff::hardening(&inputs, &outcome, &options)?;
        write_file(path, &diff::render(&hardening, args.diff_format, &Style::default()))?;
    }
    // Nothing reads the input text after the diff: the output is whole, and the input goes
    // before it is written, which is the crest of a render whose output is long.
    drop(inputs);
    if report.fails() && !args.no_enforce {
        return Ok(super::refuse("", report, &policy.environment, &args.limit));
    }
    if let (Some(path), Some(c)) = (&args.attestation, &report.compliance) {
        let statement = compliance::attestation("manifests.yaml", outcome.output_text()?.as_bytes(), c);
        write_file(path, &(serde_json::to_string_pretty(&statement)? + "\n"))?;
    }
    super::debug_panic("render");
    super::debug_panic("worker");
    args.process.summary("", report, &args.limit);
    stream_stdout(|out| outcome.write_output(out))?;
    // The process exits next and the OS takes the memory back at once; freeing every value of
    // a large stream one by one first took a tenth of a single-threaded run.
    std::mem::forget(outcome);
    Ok(EXIT_OK)
}
