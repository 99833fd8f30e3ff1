//! `temper diff`, `temper promote` and `temper compare`: semantic diffs of manifest streams.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use temper::diff::{self, Format, Key, Options, Side, Style};
use temper::pointer::Pointer;
use temper::read::{self, Input};
use temper::rules::Severity;
use temper::{Config, Outcome};

use super::hash::HashArgs;
use super::{EXIT_OK, EXIT_VIOLATION, InputArgs, ProcessArgs, write_stdout};

pub const EXIT_DIFFERENCES: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Unified,
    Markdown,
    Json,
    JsonPatch,
    Brief,
}

impl DiffFormat {
    pub fn format(self) -> Format {
        match self {
            DiffFormat::Unified => Format::Unified,
            DiffFormat::Markdown => Format::Markdown,
            DiffFormat::Json => Format::Json,
            DiffFormat::JsonPatch => Format::JsonPatch,
            DiffFormat::Brief => Format::Brief,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// How a diff is shown.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "unified")]
    pub format: DiffFormat,
    /// Colour the unified format
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: Color,
    /// Exit 1 when there are differences (suppressed ones do not count)
    #[arg(long)]
    pub exit_code: bool,
    /// Print Secret values and credential-like env values instead of their length
    #[arg(long)]
    pub show_secrets: bool,
    /// Allow --show-secrets when $CI is set
    #[arg(long)]
    pub allow_secrets_in_ci: bool,
    /// Show changes to chart and version labels and checksum/* annotations too
    #[arg(long)]
    pub no_default_ignores: bool,
    /// Suppress changes at or below this JSON pointer in every resource (repeatable)
    #[arg(long = "ignore", value_name = "POINTER")]
    pub ignore: Vec<String>,
    /// Markdown size budget in characters
    #[arg(long, default_value_t = 60_000, value_name = "CHARS")]
    pub markdown_budget: usize,
}

impl ShowArgs {
    fn options(&self) -> anyhow::Result<Options> {
        if self.show_secrets && std::env::var("CI").is_ok_and(|v| !v.is_empty()) && !self.allow_secrets_in_ci {
            anyhow::bail!(
                "refusing --show-secrets because $CI is set: secrets would end up in CI logs (add --allow-secrets-in-ci to insist)"
            );
        }
        let ignore = self
            .ignore
            .iter()
            .map(|p| {
                Pointer::parse(p)
                    .ok_or_else(|| anyhow::anyhow!("--ignore {p}: not a JSON pointer (it must start with /)"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Options { show_secrets: self.show_secrets, default_ignores: !self.no_default_ignores, ignore })
    }

    fn style(&self, full_command: &str) -> Style {
        let color = match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Style { color, budget: self.markdown_budget, full_command: full_command.to_string() }
    }

    /// Prints the diff and picks the exit code: 3 if the target would fail, else 1 with
    /// `--exit-code` and differences, else 0.
    fn finish(&self, diff: &temper::diff::Diff, fails: bool, full_command: &str) -> anyhow::Result<u8> {
        write_stdout(diff::render(diff, self.format.format(), &self.style(full_command)).as_bytes())?;
        Ok(if fails {
            EXIT_VIOLATION
        } else if self.exit_code && diff.has_differences() {
            EXIT_DIFFERENCES
        } else {
            EXIT_OK
        })
    }
}

/// The stream a render produced, with what it recorded.
pub fn rendered_side(label: &str, outcome: &Outcome) -> Side {
    let mut resources: Vec<serde_json::Value> =
        outcome.documents.iter().flat_map(|d| d.resources().into_iter().map(|(_, v)| v.clone())).collect();
    resources.extend(outcome.generated.iter().map(|g| g.object.clone()));
    Side {
        label: label.to_string(),
        resources,
        changes: outcome.report.changes.clone(),
        generated: outcome.generated.iter().map(|g| (Key::of(&g.object), g.rule.to_string())).collect(),
        compliance_hash: outcome.report.compliance.as_ref().map(|c| c.compliance_hash.clone()),
    }
}

/// A stream as it is.
fn input_side(label: &str, inputs: &[Input]) -> temper::Result<Side> {
    let docs = read::parse(inputs)?;
    let resources = docs.iter().flat_map(|d| d.resources().into_iter().map(|(_, v)| v.clone())).collect();
    Ok(Side { label: label.to_string(), resources, ..Side::default() })
}

/// The hardening diff of a render, for `render --diff`.
pub fn hardening_diff(inputs: &[Input], outcome: &Outcome, format: Format) -> anyhow::Result<String> {
    let before = input_side("input", inputs)?;
    let after = rendered_side(&outcome.report.environment, outcome);
    let mut d = diff::diff(&before, &after, &Options::default());
    d.blockers = blockers(outcome);
    Ok(diff::render(&d, format, &Style::default()))
}

fn blockers(outcome: &Outcome) -> Vec<temper::rules::Violation> {
    outcome
        .report
        .violations
        .iter()
        .filter(|v| v.severity == Severity::Error && v.exempted.is_none())
        .cloned()
        .collect()
}

#[derive(Debug, Clone, Args)]
pub struct DiffCommand {
    #[command(flatten)]
    pub config: super::ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Do not exit 3 when the environment would fail
    #[arg(long)]
    pub no_enforce: bool,
    #[command(flatten)]
    pub show: ShowArgs,
    #[command(flatten)]
    pub hash: HashArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn diff_command(args: &DiffCommand) -> anyhow::Result<u8> {
    args.process.apply()?;
    let options = args.show.options()?;
    let policy = args.config.policy()?;
    let inputs = args.input.read()?;
    let outcome = args.hash.render(&inputs, &policy, args.input.namespace.clone())?;
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    let mut d = diff::diff(&input_side("input", &inputs)?, &rendered_side(&policy.environment, &outcome), &options);
    d.blockers = blockers(&outcome);
    let fails = !d.blockers.is_empty() && !args.no_enforce;
    args.show.finish(&d, fails, "`temper diff --format unified`")
}

#[derive(Debug, Clone, Args)]
pub struct PromoteCommand {
    /// The environment the release runs in now
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment it is promoted to
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// Directory with your own overlays/ and environments/
    #[arg(short = 'c', long = "config", env = "TEMPER_CONFIG", value_name = "DIR")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub show: ShowArgs,
    #[command(flatten)]
    pub hash: HashArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn promote(args: &PromoteCommand) -> anyhow::Result<u8> {
    args.process.apply()?;
    let options = args.show.options()?;
    let config = Config::load(args.config.as_deref())?;
    let (from, to) = (config.resolve(&args.from)?, config.resolve(&args.to)?);
    let inputs = args.input.read()?;
    let a = args.hash.render(&inputs, &from, args.input.namespace.clone())?;
    args.input.check_empty(&inputs, &a.report, &args.process)?;
    let b = args.hash.render(&inputs, &to, args.input.namespace.clone())?;
    let mut d = diff::diff(&rendered_side(&args.from, &a), &rendered_side(&args.to, &b), &options);
    d.blockers = blockers(&b);
    let fails = !d.blockers.is_empty();
    let command = format!("`temper promote --from {} --to {} --format unified`", args.from, args.to);
    args.show.finish(&d, fails, &command)
}

#[derive(Debug, Clone, Args)]
pub struct CompareCommand {
    /// The old stream: a file, a directory or -
    pub a: PathBuf,
    /// The new stream: a file, a directory or -
    pub b: PathBuf,
    /// Harden both with this environment first
    #[arg(short = 'e', long = "env", value_name = "ENV")]
    pub env: Option<String>,
    /// Directory with your own overlays/ and environments/
    #[arg(short = 'c', long = "config", env = "TEMPER_CONFIG", value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// Namespace of the release, for objects without one
    #[arg(short = 'n', long = "namespace", env = "HELM_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub show: ShowArgs,
    #[command(flatten)]
    pub hash: HashArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn compare(args: &CompareCommand) -> anyhow::Result<u8> {
    args.process.apply()?;
    let options = args.show.options()?;
    let a_inputs = read::read_inputs(std::slice::from_ref(&args.a))?;
    let b_inputs = read::read_inputs(std::slice::from_ref(&args.b))?;
    let (a_label, b_label) = (args.a.display().to_string(), args.b.display().to_string());
    let (d, fails) = match &args.env {
        Some(env) => {
            let policy = Config::load(args.config.as_deref())?.resolve(env)?;
            let a = args.hash.render(&a_inputs, &policy, args.namespace.clone())?;
            let b = args.hash.render(&b_inputs, &policy, args.namespace.clone())?;
            let mut d = diff::diff(&rendered_side(&a_label, &a), &rendered_side(&b_label, &b), &options);
            d.blockers = blockers(&b);
            let fails = !d.blockers.is_empty();
            (d, fails)
        }
        None => (diff::diff(&input_side(&a_label, &a_inputs)?, &input_side(&b_label, &b_inputs)?, &options), false),
    };
    args.show.finish(&d, fails, "`temper compare --format unified`")
}
