//! Command-line interface: argument definitions and the commands. Only this module (and
//! `main.rs`) knows about argv, environment variables, stdout and exit codes; it uses
//! `anyhow`, the library does not.

mod argocd;
mod check;
mod completions;
mod diff;
mod env;
mod explain;
mod hash;
mod init;
mod progress;
mod render;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use temper::{Config, Policy};

pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 2;
pub const EXIT_VIOLATION: u8 = 3;
/// `temper verify`: the input or the stamped stream does not match the hash or its stamps.
pub const EXIT_VERIFY_FAILED: u8 = 4;

/// A hardening post-renderer for Kubernetes manifests.
///
/// Reads rendered manifests (stdin or -f), applies an environment's hardening rules, and
/// writes the manifests to stdout. With no subcommand, `temper` runs `render`, as Helm 3
/// does when it calls a post-renderer.
#[derive(Debug, Parser)]
#[command(name = "temper", version, args_conflicts_with_subcommands = true, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    render: render::RenderArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Harden manifests and write them to stdout (the default command).
    Render(render::RenderArgs),
    /// Evaluate the environment's rules on manifests as they are; change nothing.
    Check(check::CheckArgs),
    /// Show what hardening changes: the input against the rendered output, rule by rule.
    Diff(diff::DiffCommand),
    /// Show what changes, and what would fail, when a release moves from one environment to another.
    Promote(diff::PromoteCommand),
    /// Compare two manifest streams, optionally hardening both first.
    Compare(diff::CompareCommand),
    /// Print the compliance hash of the rendered manifests.
    Hash(hash::HashCommand),
    /// Check a compliance hash, or a stamped rendered stream against its stamps.
    Verify(hash::VerifyCommand),
    /// Show a rule's documentation, or list every rule.
    Explain(explain::ExplainArgs),
    /// Write the built-in overlays/ and environments/ into a directory to customise them.
    Init(init::InitArgs),
    /// List environments, or print one fully resolved.
    Env(env::EnvArgs),
    /// ArgoCD config-management plugin: `temper argocd generate` renders and hardens an application.
    Argocd(argocd::ArgocdCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page, temper(1), in roff.
    Man(completions::ManArgs),
}

/// Where the user's own configuration is.
#[derive(Debug, Clone, Args)]
pub struct ConfigDir {
    /// Directory with your own overlays/ and environments/ (they override built-in files of the same name)
    #[arg(short = 'c', long = "config", env = "TEMPER_CONFIG", value_name = "DIR")]
    pub config: Option<PathBuf>,
}

impl ConfigDir {
    /// The built-in configuration plus the user's.
    pub fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref())?)
    }
}

/// Choosing and finding the configuration.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Environment to apply [default: $TEMPER_ENV, else $ARGOCD_ENV_TEMPER_ENV, else the
    /// configuration's default (prod)]
    #[arg(short = 'e', long = "env", value_name = "ENV")]
    pub env: Option<String>,
    #[command(flatten)]
    pub dir: ConfigDir,
}

impl ConfigArgs {
    pub fn load(&self) -> anyhow::Result<Config> {
        self.dir.load()
    }

    /// The environment's name: the flag, then the environment variables, then the default;
    /// with where it came from, for errors.
    pub fn environment(&self, config: &Config) -> anyhow::Result<(String, &'static str)> {
        let from_env = |name: &'static str| std::env::var(name).ok().filter(|v| !v.is_empty()).map(|v| (v, name));
        let given = self.env.clone().map(|e| (e, "--env"));
        match given.or_else(|| from_env("TEMPER_ENV")).or_else(|| from_env("ARGOCD_ENV_TEMPER_ENV")) {
            Some(env) => Ok(env),
            None => Ok((config.default_environment()?, "the configuration's default")),
        }
    }

    pub fn policy(&self) -> anyhow::Result<Policy> {
        let config = self.load()?;
        let (env, from) = self.environment(&config)?;
        Ok(config.resolve_from(&env, from)?)
    }
}

/// The release namespace.
#[derive(Debug, Clone, Args)]
pub struct NamespaceArg {
    /// Namespace of the release, where objects without one are installed (Helm does not tell
    /// a post-renderer: pass it with --post-renderer-args --namespace=NAMESPACE)
    #[arg(short = 'n', long = "namespace", env = "TEMPER_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// Where manifests come from.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Manifest file, directory (its *.yaml, *.yml and *.json files, sorted) or - for stdin;
    /// repeatable [default: stdin]
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub release: NamespaceArg,
    /// Exit 2 when the input holds no Kubernetes object at all, instead of warning
    #[arg(long, env = "TEMPER_FAIL_ON_EMPTY", value_parser = clap::builder::BoolishValueParser::new())]
    pub fail_on_empty: bool,
    #[command(flatten)]
    pub strict: StrictArg,
}

/// How strictly the input is read.
#[derive(Debug, Clone, Args)]
pub struct StrictArg {
    /// Exit 2 on a mapping key set twice, which Kubernetes' strict field validation rejects,
    /// instead of warning
    #[arg(long, env = "TEMPER_STRICT", value_parser = clap::builder::BoolishValueParser::new())]
    pub strict: bool,
}

/// Prints the report's warnings about the input (keys set twice) on stderr, unless quiet, and
/// in the log file: for commands whose output is not the summary, which lists them already.
pub fn warn(report: &temper::report::Report, process: &ProcessArgs) {
    for w in &report.warnings {
        process.inform(&format!("temper: {w}\n"));
    }
}

impl InputArgs {
    pub fn read(&self) -> anyhow::Result<Vec<temper::Input>> {
        Ok(temper::read::read_inputs(&self.files)?)
    }

    /// The policy `config` resolves and the inputs, made side by side ([`InputArgs::read_with`]).
    pub fn read_with_policy(&self, config: &ConfigArgs) -> anyhow::Result<(Policy, Vec<temper::Input>)> {
        self.read_with(|| config.policy())
    }

    /// What `configure` makes (the policies) and the inputs, made side by side: configuration
    /// compiles its patterns (and the credential shapes reports are searched for) while the
    /// input is read, and both come before anything else can run. An error of the configuration
    /// comes first, as if they were made in turn.
    pub fn read_with<T: Send>(
        &self,
        configure: impl FnOnce() -> anyhow::Result<T> + Send,
    ) -> anyhow::Result<(T, Vec<temper::Input>)> {
        let (made, inputs) =
            rayon::join(|| configure().inspect(|_| temper::credential::compile_shapes()), || self.read());
        Ok((made?, inputs?))
    }

    /// The release namespace, when given.
    pub fn namespace(&self) -> Option<String> {
        self.release.namespace.clone()
    }

    /// An input without a single object (nothing, or only comments and `---`) is never
    /// passed over in silence: it is an error with `--fail-on-empty`, else a warning on
    /// stderr (unless quiet) and in the log file. Helm 3 sends empty input for
    /// `helm template --output-dir` and for a chart whose templates are all disabled.
    pub fn check_empty(
        &self,
        inputs: &[temper::Input],
        report: &temper::report::Report,
        process: &ProcessArgs,
    ) -> anyhow::Result<()> {
        if report.counts.documents > 0 {
            return Ok(());
        }
        let names: Vec<&str> = inputs.iter().map(|i| i.origin.as_str()).collect();
        let from = if names.is_empty() { "the input".to_string() } else { names.join(", ") };
        let what = format!("no Kubernetes object in {from} (empty, or only comments and `---`)");
        anyhow::ensure!(!self.fail_on_empty, "{what}; refusing it, as --fail-on-empty (TEMPER_FAIL_ON_EMPTY) asks");
        process.inform(&format!("temper: warning: {what}; --fail-on-empty makes this an error\n"));
        Ok(())
    }
}

/// A flag whose values are the names of a library enum: `names` lists them, `FromStr` reads
/// one. The library owns its formats; the command line only offers them.
pub fn choice<T>(names: impl IntoIterator<Item = &'static str>) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// How many violations the human summary on stderr lists (the log file gets them all).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// List at most N violations in the summary on stderr, then how many more there are of
    /// each rule (the JSON report and the log file list them all)
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_violations: usize,
}

/// How the process runs.
#[derive(Debug, Clone, Args)]
pub struct ProcessArgs {
    /// Worker threads [default: one per core]
    #[arg(long, env = "TEMPER_THREADS", value_name = "N")]
    pub threads: Option<usize>,
    /// Also append the summary and any error to this file (Helm 4 discards stderr)
    #[arg(long, env = "TEMPER_LOG_FILE", value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Print nothing on stderr unless something fails
    #[arg(short, long)]
    pub quiet: bool,
}

static LOG_FILE: OnceLock<PathBuf> = OnceLock::new();

impl ProcessArgs {
    fn apply(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.log_file {
            let _ = LOG_FILE.set(path.clone());
        }
        if let Some(n) = self.threads {
            anyhow::ensure!(n > 0, "--threads must be at least 1");
            rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("cannot start worker threads")?;
        }
        Ok(())
    }

    /// Prints `text` on stderr (unless quiet) and appends it to the log file.
    pub fn inform(&self, text: &str) {
        let text = &*temper::credential::redact_text(text);
        if !self.quiet {
            eprint!("{text}");
        }
        log(text);
    }

    /// Prints `notes` and the report's summary on stderr (unless quiet), listing at most
    /// `limit` violations; the log file gets every one, as a file has room for them.
    pub fn summary(&self, notes: &str, report: &temper::report::Report, limit: &LimitArgs) {
        if !self.quiet {
            eprint!("{notes}{}", report.summary_with(limit.max_violations));
        }
        log_with(|| format!("{notes}{}", report.summary()));
    }
}

/// Explains a run that enforced rules refuse (on stderr even with `--quiet`, and in the log
/// file) and returns the exit code for it. `notes` come before the summary.
pub fn refuse(notes: &str, report: &temper::report::Report, environment: &str, limit: &LimitArgs) -> u8 {
    let last = format!(
        "temper: {} violation(s) of enforced rules in environment `{environment}`; nothing was written\n",
        report.counts.errors
    );
    eprint!("{notes}{}{last}", report.summary_with(limit.max_violations));
    log_with(|| format!("{notes}{}{last}", report.summary()));
    EXIT_VIOLATION
}

/// Appends `text` to the log file, if one is set. Logging never fails a run.
fn log(text: &str) {
    log_with(|| text.to_string());
}

/// [`log`] of the text `make` makes, made only if a log file is set: a run's full summary
/// lists every violation, many times the input on a large stream.
fn log_with(make: impl FnOnce() -> String) {
    let Some(path) = LOG_FILE.get() else { return };
    let text = make();
    let text = temper::credential::redact_text(&text);
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(text.as_bytes());
    }
}

/// Writes `bytes` to stdout in one go.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).context("cannot write to stdout")
}

/// Writes to stdout through `write` as the text is made, for output many times the input (a
/// SARIF log of a large stream), which is then never held whole. Called once the run has
/// succeeded, like [`write_stdout`].
pub fn stream_stdout(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write(&mut out).and_then(|()| out.flush()).context("cannot write to stdout")
}

/// Writes `value` as indented JSON to `path` as it is made, creating parent directories.
pub fn write_json_file(path: &std::path::Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    create_parent(path)?;
    let mut file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    temper::report::write_pretty(value, &mut file).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `text` to `path`, creating parent directories.
pub fn write_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    create_parent(path)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Creates the directories `path` goes in, if it names any.
fn create_parent(path: &std::path::Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// Environment variables set to the empty string count as unset: Kubernetes env lists often
/// carry `value: ""`, and an empty `--config` or `--threads` means nothing.
/// `HELM_NAMESPACE` is never read: Helm does not set it for a post-renderer, and where it leaks
/// in (from a plugin run in the same process) it says `default` whatever `-n` was.
fn forget_empty_variables() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(name, value)| value.is_empty() && name.to_str().is_some_and(|n| n.starts_with("TEMPER_")))
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        // SAFETY: called first thing in `main`, before any other thread exists, so nothing can
        // read the environment concurrently.
        unsafe { std::env::remove_var(name) };
    }
}

/// Parses arguments and runs the command; returns the exit code.
pub fn main() -> u8 {
    forget_empty_variables();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let res = match cli.command {
        None => render::run(&cli.render),
        Some(Command::Render(args)) => render::run(&args),
        Some(Command::Check(args)) => check::run(&args),
        Some(Command::Diff(args)) => diff::diff_command(&args),
        Some(Command::Promote(args)) => diff::promote(&args),
        Some(Command::Compare(args)) => diff::compare(&args),
        Some(Command::Hash(args)) => hash::hash(&args),
        Some(Command::Verify(args)) => hash::verify(&args),
        Some(Command::Explain(args)) => explain::run(&args),
        Some(Command::Init(args)) => init::run(&args),
        Some(Command::Env(args)) => env::run(&args),
        Some(Command::Argocd(args)) => argocd::run(&args),
        Some(Command::Completions(args)) => completions::completions(&args),
        Some(Command::Man(args)) => completions::man(&args),
    };
    match res {
        Ok(code) => code,
        Err(err) => {
            let text = format!("temper: error: {err:#}\n");
            let text = temper::credential::redact_text(&text);
            eprint!("{text}");
            log(&text);
            EXIT_ERROR
        }
    }
}

/// Debug builds only: panics at `place` when the environment variable `TEMPER_DEBUG_PANIC`
/// names it (`render`: on the main thread once the output is ready, before the summary and
/// stdout are written; `worker`: on a worker thread at the same point). The fault tests use
/// it to prove that a panic anywhere ends in one line on stderr, exit code 2 and an empty
/// stdout. Release builds never read the variable.
#[cfg(debug_assertions)]
#[allow(clippy::panic)]
pub fn debug_panic(place: &str) {
    if std::env::var("TEMPER_DEBUG_PANIC").is_ok_and(|v| v == place) {
        if place == "worker" {
            rayon::scope(|s| s.spawn(|_| panic!("TEMPER_DEBUG_PANIC={place} on a worker thread")));
        }
        panic!("TEMPER_DEBUG_PANIC={place}");
    }
}

#[cfg(not(debug_assertions))]
pub fn debug_panic(_place: &str) {}

/// A panic prints one line, goes to the log file, and exits 2; nothing was written to stdout.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let text = format!("temper: internal error: {message}{place}; nothing was written (please report this)\n");
        eprint!("{text}");
        log(&text);
        std::process::exit(i32::from(EXIT_ERROR));
    }));
}
