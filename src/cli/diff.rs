//! `temper diff`, `temper promote` and `temper compare`: semantic diffs of manifest streams.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use temper::diff::{self, Format, Options, Side, Style};
use temper::pointer::Pointer;
use temper::read;

use super::hash::{HashArgs, HashSecrets};
use temper::report::Warning;

use super::{
    ConfigDir, EXIT_OK, EXIT_VIOLATION, InputArgs, NamespaceArg, ProcessArgs, StrictArg, choice, stream_stdout,
};

pub const EXIT_DIFFERENCES: u8 = 1;

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
    #[arg(short = 'o', long, default_value = "unified", value_parser = choice::<Format>(Format::ALL.map(Format::as_str)))]
    pub format: Format,
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
        Ok(Options {
            show_secrets: self.show_secrets,
            default_ignores: !self.no_default_ignores,
            ignore,
            ..Options::default()
        }
        .for_format(self.format, self.color()))
    }

    /// Whether the unified format is coloured: the diff's options and its style both ask.
    fn color(&self) -> bool {
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn style(&self, full_command: &str) -> Style {
        Style { color: self.color(), budget: self.markdown_budget, full_command: full_command.to_string() }
    }

    /// Prints the diff and picks the exit code: 3 if the target would fail, else 1 with
    /// `--exit-code` and differences, else 0.
    fn finish(&self, diff: &temper::diff::Diff, fails: bool, full_command: &str) -> anyhow::Result<u8> {
        // Nothing but the write can fail now: the diff is complete, and it is written as its
        // text is made (the unified text of a large stream is several times its input).
        let style = self.style(full_command);
        stream_stdout(|out| diff::render_to(diff, self.format, &style, out))?;
        Ok(if fails {
            EXIT_VIOLATION
        } else if self.exit_code && diff.has_differences() {
            EXIT_DIFFERENCES
        } else {
            EXIT_OK
        })
    }
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
    let (policy, mut inputs) = args.input.read_with_policy(&args.config)?;
    let mut outcome = args.hash.review(&mut inputs, &policy, args.input.namespace(), args.input.strict.strict)?;
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    super::warn(&outcome.report, &args.process);
    outcome.report.drop_listings();
    let d = diff::hardening(&inputs, &outcome, &options)?;
    let fails = !d.blockers.is_empty() && !args.no_enforce;
    let mut command = Command::new(&["diff", "--env", &policy.environment]);
    command.config(&args.config.dir).namespace(args.input.namespace().as_deref()).inputs(&args.input.files);
    let exit = args.show.finish(&d, fails, &command.finish(&args.show, &args.hash));
    // As `render` does: the process exits next, and freeing value by value costs a tenth of a run.
    std::mem::forget(d);
    std::mem::forget(outcome);
    exit
}

#[derive(Debug, Clone, Args)]
pub struct PromoteCommand {
    /// The environment the release runs in now
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment it is promoted to
    #[arg(long, value_name = "ENV")]
    pub to: String,
    #[command(flatten)]
    pub config: ConfigDir,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub show: ShowArgs,
    #[command(flatten)]
    pub hash: HashArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
}

/// Reads `inputs` for a review that renders what it read ([`HashArgs::review_parsed`]): each
/// document compacted as it is read, and the inputs without their text, which neither the
/// renders nor the diff reads again (only the inputs' names, for messages), rather than held
/// through both renders.
fn read_for_review(
    inputs: Vec<temper::Input>,
) -> anyhow::Result<(Vec<temper::Input>, Vec<read::Document<read::Sealed>>)> {
    let docs = read::parse_then(&inputs, &temper::progress::Progress::default(), read::Document::compact)?;
    Ok((inputs.iter().map(temper::Input::without_text).collect(), docs))
}

pub fn promote(args: &PromoteCommand) -> anyhow::Result<u8> {
    args.process.apply()?;
    let options = args.show.options()?;
    let ((from, to), inputs) = args.input.read_with(|| {
        let config = args.config.load()?;
        Ok((config.resolve_from(&args.from, "--from")?, config.resolve_from(&args.to, "--to")?))
    })?;
    let options = options.keyed(&inputs);
    let strict = args.input.strict.strict;
    // Both renders start from the same documents: read once, copied for the first.
    let (inputs, docs) = read_for_review(inputs)?;
    let copy = docs.clone();
    let mut a = args.hash.review_parsed(&inputs, copy, &from, args.input.namespace(), strict)?;
    // The first environment's policy (its rules' parameters and resolved configuration) is
    // not read again: it goes before the second render.
    drop(from);
    args.input.check_empty(&inputs, &a.report, &args.process)?;
    super::warn(&a.report, &args.process);
    let a_changes = Side::trim(&mut a);
    let b = args.hash.review_parsed(&inputs, docs, &to, args.input.namespace(), strict)?;
    let from = Side::rendered(&args.from, &a).attributed(&a_changes);
    let d = diff::diff(&from, &Side::rendered(&args.to, &b), &options)?.blocked_by(&b.report.blockers());
    let fails = !d.blockers.is_empty();
    let mut command = Command::new(&["promote", "--from", &args.from, "--to", &args.to]);
    command.config(&args.config).namespace(args.input.namespace().as_deref()).inputs(&args.input.files);
    let exit = args.show.finish(&d, fails, &command.finish(&args.show, &args.hash));
    // As `render` does: the process exits next, and freeing value by value costs a tenth of a run.
    std::mem::forget(d);
    std::mem::forget((a, b));
    exit
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
    #[command(flatten)]
    pub config: ConfigDir,
    #[command(flatten)]
    pub release: NamespaceArg,
    #[command(flatten)]
    pub strict: StrictArg,
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
    let options = options.keyed(a_inputs.iter().chain(&b_inputs));
    let (a_label, b_label) = (args.a.display().to_string(), args.b.display().to_string());
    let strict = args.strict.strict;
    let (d, fails) = match &args.env {
        Some(env) => {
            let policy = args.config.load()?.resolve_from(env, "--env")?;
            let namespace = &args.release.namespace;
            // As `promote` does: each stream is read once and rendered without its text; the
            // first render is held through the second without what the diff does not read of
            // it, and each render's warnings are printed as it ends.
            let render = |inputs: Vec<temper::Input>| -> anyhow::Result<temper::Outcome> {
                let (names, docs) = read_for_review(inputs)?;
                let outcome = args.hash.review_parsed(&names, docs, &policy, namespace.clone(), strict)?;
                super::warn(&outcome.report, &args.process);
                Ok(outcome)
            };
            let mut a = render(a_inputs)?;
            let a_changes = Side::trim(&mut a);
            let mut b = render(b_inputs)?;
            b.report.drop_listings();
            let from = Side::rendered(&a_label, &a).attributed(&a_changes);
            let d = diff::diff(&from, &Side::rendered(&b_label, &b), &options)?.blocked_by(&b.report.blockers());
            let fails = !d.blockers.is_empty();
            (d, fails)
        }
        None => {
            // Each document kept as text as it is read, as a render keeps the documents it
            // changed: both streams whole as values took seven times their text.
            let seal = |doc: read::Document| doc.seal(true);
            let progress = temper::progress::Progress::default();
            let a_docs = read::parse_then(&a_inputs, &progress, seal)?;
            let b_docs = read::parse_then(&b_inputs, &progress, seal)?;
            for (inputs, docs) in [(&a_inputs, &a_docs), (&b_inputs, &b_docs)] {
                if strict {
                    read::refuse_duplicates(inputs, docs)?;
                }
                for w in Warning::duplicates(inputs, docs) {
                    args.process.inform(&format!("temper: {w}\n"));
                }
            }
            // The diff reads neither input's text again.
            drop((a_inputs, b_inputs));
            let (a, b) = (Side::of_sealed(&a_label, &a_docs), Side::of_sealed(&b_label, &b_docs));
            (diff::diff(&a, &b, &options)?, false)
        }
    };
    let mut command = Command::new(&["compare"]);
    command.path(&args.a).path(&args.b);
    if let Some(env) = &args.env {
        command.args(&["--env", env]);
    }
    command.config(&args.config).namespace(args.release.namespace.as_deref());
    args.show.finish(&d, fails, &command.finish(&args.show, &args.hash))
}

/// The command that shows a truncated markdown diff in full, as it can be copied and run: the
/// same inputs, environments, configuration, namespace and ignores, in the unified format.
/// Input from stdin cannot be named; the hint says to pipe it again.
struct Command {
    words: Vec<String>,
    stdin: bool,
}

impl Command {
    fn new(words: &[&str]) -> Command {
        let mut command = Command { words: vec!["temper".into()], stdin: false };
        command.args(words);
        command
    }

    fn args(&mut self, words: &[&str]) -> &mut Command {
        self.words.extend(words.iter().map(|w| shell_word(w)));
        self
    }

    /// A path argument; `-` is stdin.
    fn path(&mut self, path: &std::path::Path) -> &mut Command {
        self.stdin |= path.as_os_str() == "-";
        self.args(&[&path.display().to_string()])
    }

    /// `-f` arguments; none is stdin.
    fn inputs(&mut self, files: &[PathBuf]) -> &mut Command {
        self.stdin |= files.is_empty();
        for file in files {
            self.args(&["-f"]).path(file);
        }
        self
    }

    fn config(&mut self, dir: &ConfigDir) -> &mut Command {
        if let Some(dir) = &dir.config {
            self.args(&["--config"]).path(dir);
        }
        self
    }

    fn namespace(&mut self, namespace: Option<&str>) -> &mut Command {
        if let Some(namespace) = namespace {
            self.args(&["-n", namespace]);
        }
        self
    }

    /// The command with the options that change what the diff shows, in markdown's words.
    fn finish(&mut self, show: &ShowArgs, hash: &HashArgs) -> String {
        if show.no_default_ignores {
            self.args(&["--no-default-ignores"]);
        }
        for pointer in &show.ignore {
            self.args(&["--ignore", pointer]);
        }
        if show.show_secrets {
            self.args(&["--show-secrets"]);
        }
        if hash.hash_secrets == HashSecrets::Hmac {
            self.args(&["--hash-secrets", "hmac"]);
        }
        self.args(&["--format", "unified"]);
        let pipe = if self.stdin { " (pipe the same input)" } else { "" };
        format!("`{}`{pipe}", self.words.join(" "))
    }
}

/// `word` as a POSIX shell reads it back: as it is when it holds nothing special, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,~".contains(c))
        && !word.starts_with('~');
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}
