//! `temper argocd generate`: the generate command of an ArgoCD config-management plugin.
//!
//! argocd-cmp-server runs it, without a shell, in a fresh copy of the application directory,
//! with the Application described by environment variables (`ARGOCD_APP_*`, `KUBE_*`,
//! `ARGOCD_ENV_*`, `ARGOCD_APP_PARAMETERS`, `PARAM_*`). It renders the directory the way
//! ArgoCD would (a kustomization, else a Helm chart, else the plain manifest files), hardens
//! the result and prints only manifests. ArgoCD reads stdout only when the command succeeds,
//! and reads empty output as "the application has no resources", so an empty render is an
//! error here, never a success.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;

use temper::{Config, Input, Settings};

use super::{EXIT_OK, ProcessArgs, write_stdout};

/// ArgoCD integration.
#[derive(Debug, Clone, Args)]
pub struct ArgocdCommand {
    #[command(subcommand)]
    pub command: ArgocdSubcommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ArgocdSubcommand {
    /// Render the application in the current directory (kustomization, Helm chart or plain
    /// manifests), harden it and print the manifests: the plugin's generate command.
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Pin the environment: an Application asking for another one fails [default: the `env`
    /// parameter, else $ARGOCD_ENV_TEMPER_ENV, else $TEMPER_ENV, else the configuration's default]
    #[arg(short = 'e', long = "env", value_name = "ENV")]
    pub env: Option<String>,
    /// Directory with your own overlays/ and environments/ (they override built-in files of the same name)
    #[arg(short = 'c', long = "config", env = "TEMPER_CONFIG", value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// Namespace for objects without one, also given to helm [default: $ARGOCD_APP_NAMESPACE]
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The helm binary [default: helm, looked up in PATH]
    #[arg(long, env = "TEMPER_HELM", value_name = "PATH")]
    pub helm: Option<PathBuf>,
    /// The kustomize binary [default: kustomize in PATH, else `kubectl kustomize`]
    #[arg(long, env = "TEMPER_KUSTOMIZE", value_name = "PATH")]
    pub kustomize: Option<PathBuf>,
    /// Stop helm or kustomize after this many seconds; keep it below ArgoCD's own deadline
    /// (60 s unless the repo-server timeout was raised)
    #[arg(long, env = "TEMPER_ARGOCD_TIMEOUT", default_value = "45", value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Treat enforce as fix: report violations but succeed
    #[arg(long)]
    pub no_enforce: bool,
    #[command(flatten)]
    pub process: ProcessArgs,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("`{text}` is not a number of seconds between 0 and 86400")),
    }
}

pub fn run(command: &ArgocdCommand) -> anyhow::Result<u8> {
    match &command.command {
        ArgocdSubcommand::Generate(args) => generate(args),
    }
}

fn generate(args: &GenerateArgs) -> anyhow::Result<u8> {
    args.process.apply()?;
    let deadline = Instant::now() + args.timeout;
    let vars = Vars::from_process();
    let params = Parameters::from_vars(&vars)?;
    let config = Config::load(args.config.as_deref())?;
    let env = choose_environment(args.env.as_deref(), &params, &vars, &config)?;
    let policy = config.resolve(&env)?;
    let namespace = args.namespace.clone().or_else(|| vars.get("ARGOCD_APP_NAMESPACE").map(str::to_string));
    let app_dir = std::env::current_dir().context("cannot read the current directory")?;

    // What helm or kustomize said on stderr, and the files the directory source skipped:
    // printed before the summary, once the outcome is known.
    let mut notes = String::new();
    let mut skipped = Vec::new();
    let inputs = match detect(&app_dir) {
        Source::Kustomize(file) => kustomize(args, &vars, file, deadline, &mut notes)?,
        Source::Helm => {
            let values_files = check_values_files(&app_dir, &vars, &params.values_files)?;
            let helm_args = helm_args(&release_name(&vars)?, namespace.as_deref(), &vars, &values_files, &params);
            let helm = match &args.helm {
                Some(path) => path.clone(),
                None => find_program("helm", &vars).ok_or_else(|| {
                    anyhow!("helm is not installed: no `helm` on PATH; the sidecar image needs helm (or set --helm / TEMPER_HELM)")
                })?,
            };
            vec![run_program(args, &helm, &helm_args, "helm template", deadline, &mut notes)?]
        }
        Source::Directory => directory(Path::new("."), &mut skipped)?,
    };
    for file in &skipped {
        notes.push_str(&format!("temper: skipped {}: not a Kubernetes manifest\n", file.display()));
    }

    let settings = Settings { release_namespace: namespace, fix: true, ..Settings::default() };
    let outcome = temper::run(&inputs, &policy, &settings)?;
    let report = &outcome.report;
    if report.counts.resources == 0 {
        // ArgoCD reads empty output as an application without resources; with auto-prune it
        // would delete everything the application deployed.
        let skipped = match skipped.as_slice() {
            [] => String::new(),
            files => {
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                format!(" (skipped as not Kubernetes manifests: {})", names.join(", "))
            }
        };
        bail!(
            "the application rendered no Kubernetes resources{skipped}; refusing to print nothing, because ArgoCD would take that as success and prune every resource of the application"
        );
    }
    if report.fails() && !args.no_enforce {
        return Ok(super::refuse(&notes, report, &policy.environment));
    }
    args.process.inform(&format!("{notes}{}", report.summary()));
    write_stdout(outcome.output.as_bytes())?;
    Ok(EXIT_OK)
}

/// The process environment, as the cmp-server built it. Empty values count as unset:
/// ArgoCD sends every `ARGOCD_APP_*` variable even when it has no value.
struct Vars(HashMap<String, String>);

impl Vars {
    fn from_process() -> Vars {
        Vars(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// The plugin parameters temper takes (announced in deploy/argocd/plugin.yaml).
#[derive(Debug, Default, PartialEq)]
struct Parameters {
    /// `env` (string): the environment.
    env: Option<String>,
    /// `values-files` (array): Helm values files, relative to the application directory.
    values_files: Vec<String>,
    /// `helm-parameters` (map): `--set` values, in key order.
    helm_parameters: Vec<(String, String)>,
}

/// One element of `ARGOCD_APP_PARAMETERS`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: String,
    string: Option<String>,
    array: Option<Vec<String>>,
    map: Option<BTreeMap<String, String>>,
}

/// What a parameter carries.
enum Given {
    String(String),
    Array(Vec<String>),
    Map(BTreeMap<String, String>),
    Nothing,
    Several,
}

impl Given {
    fn describe(&self) -> &'static str {
        match self {
            Given::String(_) => "a string",
            Given::Array(_) => "an array",
            Given::Map(_) => "a map",
            Given::Nothing => "no value",
            Given::Several => "more than one value",
        }
    }
}

const KNOWN_PARAMETERS: &str = "env (string), values-files (array) and helm-parameters (map)";

impl Parameters {
    /// From `ARGOCD_APP_PARAMETERS` when ArgoCD sent it (it does whenever the Application has
    /// a `plugin` section); otherwise from `PARAM_*` variables, which is how a person running
    /// the command by hand would set them.
    fn from_vars(vars: &Vars) -> anyhow::Result<Parameters> {
        match vars.get("ARGOCD_APP_PARAMETERS") {
            Some(json) => Parameters::from_json(json),
            None => Parameters::from_param_variables(vars),
        }
    }

    fn from_json(json: &str) -> anyhow::Result<Parameters> {
        let raw: Option<Vec<RawParameter>> =
            serde_json::from_str(json).context("ARGOCD_APP_PARAMETERS is not the JSON ArgoCD sends")?;
        let mut params = Parameters::default();
        let mut seen = Vec::new();
        for p in raw.unwrap_or_default() {
            if seen.contains(&p.name) {
                bail!("plugin parameter `{}` is given twice", p.name);
            }
            let given = match (p.string, p.array, p.map) {
                (Some(s), None, None) => Given::String(s),
                (None, Some(a), None) => Given::Array(a),
                (None, None, Some(m)) => Given::Map(m),
                (None, None, None) => Given::Nothing,
                _ => Given::Several,
            };
            match (p.name.as_str(), given) {
                ("env", Given::String(s)) => params.env = Some(s),
                ("values-files", Given::Array(a)) => params.values_files = a,
                ("helm-parameters", Given::Map(m)) => params.helm_parameters = m.into_iter().collect(),
                (name @ "env", given) => bail!("plugin parameter `{name}` must be a string, not {}", given.describe()),
                (name @ "values-files", given) => {
                    bail!("plugin parameter `{name}` must be an array, not {}", given.describe())
                }
                (name @ "helm-parameters", given) => {
                    bail!("plugin parameter `{name}` must be a map, not {}", given.describe())
                }
                (other, _) => bail!("unknown plugin parameter `{other}`; temper takes {KNOWN_PARAMETERS}"),
            }
            seen.push(p.name);
        }
        params.env = params.env.filter(|e| !e.is_empty());
        Ok(params)
    }

    fn from_param_variables(vars: &Vars) -> anyhow::Result<Parameters> {
        let mut params = Parameters { env: vars.get("PARAM_ENV").map(str::to_string), ..Parameters::default() };
        let mut files: Vec<(u64, String)> = Vec::new();
        for (name, value) in &vars.0 {
            if let Some(index) = name.strip_prefix("PARAM_VALUES_FILES_") {
                let index = index
                    .parse()
                    .map_err(|_| anyhow!("{name}: the part after PARAM_VALUES_FILES_ must be an index"))?;
                files.push((index, value.clone()));
            } else if name.starts_with("PARAM_HELM_PARAMETERS_") {
                // The variable names are upper-cased with punctuation replaced, so the keys
                // cannot be recovered from them.
                bail!(
                    "{name} is set but ARGOCD_APP_PARAMETERS is not: helm-parameters are read from ARGOCD_APP_PARAMETERS only, because PARAM_* names lose the keys' case and punctuation"
                );
            }
        }
        files.sort();
        params.values_files = files.into_iter().map(|(_, f)| f).collect();
        Ok(params)
    }
}

/// The pinned environment (`--env`), else what the Application asks for, else the sidecar's
/// `TEMPER_ENV`, else the configuration's default.
fn choose_environment(pin: Option<&str>, params: &Parameters, vars: &Vars, config: &Config) -> anyhow::Result<String> {
    let asked = match (&params.env, vars.get("ARGOCD_ENV_TEMPER_ENV")) {
        (Some(env), _) => Some((env.as_str(), "the `env` parameter")),
        (None, Some(env)) => Some((env, "ARGOCD_ENV_TEMPER_ENV")),
        (None, None) => None,
    };
    match (pin, asked) {
        (Some(pin), Some((env, from))) if env != pin => {
            bail!("the Application asks for environment `{env}` ({from}), but this plugin is pinned to `{pin}` (--env)")
        }
        (Some(pin), _) => Ok(pin.to_string()),
        (None, Some((env, _))) => Ok(env.to_string()),
        (None, None) => match vars.get("TEMPER_ENV") {
            Some(env) => Ok(env.to_string()),
            None => Ok(config.default_environment()?),
        },
    }
}

/// What kind of application the directory holds, decided as ArgoCD decides it: a
/// kustomization file wins over a `Chart.yaml` beside it.
#[derive(Debug, PartialEq)]
enum Source {
    Kustomize(&'static str),
    Helm,
    Directory,
}

fn detect(dir: &Path) -> Source {
    for file in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
        if dir.join(file).is_file() {
            return Source::Kustomize(file);
        }
    }
    if dir.join("Chart.yaml").is_file() { Source::Helm } else { Source::Directory }
}

/// The Helm release name: the Application's name. ArgoCD sends `<namespace>_<name>` for
/// Applications outside its own namespace, which Helm rejects; its own Helm source strips
/// the prefix too.
fn release_name(vars: &Vars) -> anyhow::Result<String> {
    let name = vars.get("ARGOCD_APP_NAME").ok_or_else(|| {
        anyhow!("ARGOCD_APP_NAME is not set: helm needs a release name (ArgoCD sets it; set it to run by hand)")
    })?;
    Ok(name.split_once('_').map_or(name, |(_, name)| name).to_string())
}

/// `helm template` arguments. CRDs are included, as ArgoCD's own Helm source includes them
/// (it runs `helm template --include-crds` unless told to skip them).
fn helm_args(
    release: &str,
    namespace: Option<&str>,
    vars: &Vars,
    values_files: &[String],
    params: &Parameters,
) -> Vec<String> {
    let mut args: Vec<String> = vec!["template".into(), release.into(), ".".into(), "--include-crds".into()];
    if let Some(ns) = namespace {
        args.extend(["--namespace".into(), ns.into()]);
    }
    if let Some(version) = vars.get("KUBE_VERSION") {
        args.extend(["--kube-version".into(), version.into()]);
    }
    for api in vars.get("KUBE_API_VERSIONS").unwrap_or_default().split(',').filter(|a| !a.is_empty()) {
        args.extend(["--api-versions".into(), api.into()]);
    }
    for file in values_files {
        args.extend(["--values".into(), file.clone()]);
    }
    for (key, value) in &params.helm_parameters {
        args.extend(["--set".into(), format!("{key}={}", escape_set_value(value))]);
    }
    args
}

/// `--set` splits values on commas. Escape those not already escaped, unless the value is a
/// `{a,b}` list, exactly as ArgoCD does for its Helm source's parameters.
fn escape_set_value(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut previous = None;
    for c in value.chars() {
        if c == ',' && previous != Some('\\') {
            out.push('\\');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Checks the `values-files` entries: relative paths to files inside the repository (which
/// the cmp-server copied whole), as ArgoCD requires for its own Helm source. Returns them as
/// given, for helm, which runs in the application directory.
fn check_values_files(app_dir: &Path, vars: &Vars, files: &[String]) -> anyhow::Result<Vec<String>> {
    let root = repository_root(app_dir, vars.get("ARGOCD_APP_SOURCE_PATH").unwrap_or_default());
    for file in files {
        let bad = |why: &str| anyhow!("values file `{file}` (parameter values-files) {why}");
        if file.is_empty() || file.contains("://") || Path::new(file).is_absolute() {
            return Err(bad("must be a path relative to the application directory"));
        }
        let path = normalize(&app_dir.join(file));
        if !path.starts_with(&root) {
            return Err(bad("is outside the repository"));
        }
        if !path.is_file() {
            return Err(bad("does not exist"));
        }
        // The cmp-server keeps symlinks inside its work directory; this keeps them inside
        // the repository.
        let (real, real_root) = (path.canonicalize()?, root.canonicalize()?);
        if !real.starts_with(&real_root) {
            return Err(bad("leads outside the repository"));
        }
    }
    Ok(files.to_vec())
}

/// The repository's root in the cmp-server's copy: the application directory minus the
/// Application's `source.path`. If the path does not match (a run by hand), the application
/// directory itself.
fn repository_root(app_dir: &Path, source_path: &str) -> PathBuf {
    let mut parts: Vec<&str> = Vec::new();
    for part in source_path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut root = app_dir.to_path_buf();
    for part in parts.iter().rev() {
        if root.file_name() != Some(OsStr::new(part)) {
            return app_dir.to_path_buf();
        }
        root.pop();
    }
    root
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `kustomize build .`, or `kubectl kustomize .` when only kubectl is installed.
fn kustomize(
    args: &GenerateArgs,
    vars: &Vars,
    file: &str,
    deadline: Instant,
    notes: &mut String,
) -> anyhow::Result<Vec<Input>> {
    let (program, kubectl) = match &args.kustomize {
        Some(path) => (path.clone(), path.file_stem() == Some(OsStr::new("kubectl"))),
        None => match find_program("kustomize", vars) {
            Some(path) => (path, false),
            None => (
                find_program("kubectl", vars).ok_or_else(|| {
                    anyhow!(
                        "neither kustomize nor kubectl is on PATH: the sidecar image needs one of them to build {file} (or set --kustomize / TEMPER_KUSTOMIZE)"
                    )
                })?,
                true,
            ),
        },
    };
    let (argv, what) =
        if kubectl { (["kustomize", "."], "kubectl kustomize") } else { (["build", "."], "kustomize build") };
    let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    Ok(vec![run_program(args, &program, &argv, what, deadline, notes)?])
}

/// The directory's `*.yaml`, `*.yml` and `*.json` files in name order, not recursing, as
/// ArgoCD's directory source reads them by default. Like ArgoCD, a YAML file that is not a
/// Kubernetes manifest at all (no `apiVersion:`, `kind:` and `metadata:`, and its first
/// document does not decode as an object) is skipped, so a stray `values.yaml` or
/// `.argocd-source.yaml` does not fail the application.
fn directory(dir: &Path, skipped: &mut Vec<PathBuf>) -> anyhow::Result<Vec<Input>> {
    let read_err = |e| anyhow!("cannot read {}: {e}", dir.display());
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension() == Some(OsStr::new("jsonnet")) {
            // Leaving it out would silently drop its objects from the application.
            bail!(
                "{}: jsonnet is not supported; ArgoCD's directory source would evaluate it, temper cannot",
                path.display()
            );
        }
    }
    let mut inputs = Vec::new();
    for file in temper::read::manifest_files(dir)? {
        let mut read = temper::read::read_inputs(std::slice::from_ref(&file))?;
        let Some(input) = read.pop() else { continue };
        let yaml = file.extension() != Some(OsStr::new("json"));
        if yaml && !looks_like_manifest(&input.text) && first_document_fails(&input) {
            skipped.push(file);
            continue;
        }
        inputs.push(input);
    }
    Ok(inputs)
}

fn looks_like_manifest(text: &str) -> bool {
    ["apiVersion:", "kind:", "metadata:"].iter().all(|needle| text.contains(needle))
}

fn first_document_fails(input: &Input) -> bool {
    match temper::read::parse(std::slice::from_ref(input)) {
        Err(temper::Error::Document { place, .. }) => place.number <= 1,
        _ => false,
    }
}

/// `name` in the PATH of the request, as an executable file.
fn find_program(name: &str, vars: &Vars) -> Option<PathBuf> {
    let path = vars.get("PATH")?;
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs `program` without a shell in the current directory, with no stdin, and returns its
/// stdout as an input named `what`. Its stderr goes into the error if it fails, and into
/// `notes` (for the cmp-server's log) if it succeeds. It is killed at `deadline`, so that
/// temper can still explain the failure before ArgoCD's own deadline kills everything.
fn run_program(
    args: &GenerateArgs,
    program: &Path,
    argv: &[String],
    what: &str,
    deadline: Instant,
    notes: &mut String,
) -> anyhow::Result<Input> {
    let mut child = Command::new(program)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow!("cannot run {what} ({}): {e}", program.display()))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        if let Some(status) = child.try_wait().with_context(|| format!("cannot wait for {what}"))? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let so_far = stderr.recv_timeout(Duration::from_millis(500)).unwrap_or_default();
            bail!(
                "{what} did not finish within {} s and was stopped (--timeout, TEMPER_ARGOCD_TIMEOUT){}",
                args.timeout.as_secs_f64(),
                explain(&so_far)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = stdout.recv().unwrap_or_default();
    let stderr = stderr.recv().unwrap_or_default();
    if !status.success() {
        let how = status.code().map_or_else(|| "was killed by a signal".to_string(), |c| format!("exit status {c}"));
        bail!("{what} failed ({how}){}", explain(&stderr));
    }
    let said = String::from_utf8_lossy(&stderr);
    if !said.trim().is_empty() {
        notes.push_str(said.trim_end());
        notes.push('\n');
    }
    let text = temper::read::decode(what, stdout)?;
    Ok(Input::new(what, text))
}

/// Reads a pipe to its end on its own thread, so that neither pipe can fill up and block
/// the child.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

fn explain(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() { String::new() } else { format!(":\n{text}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn parameters_come_from_the_json_argocd_sends() {
        let json = r#"[{"name":"env","string":"staging"},{"array":["a.yaml","b.yaml"],"name":"values-files"},{"map":{"image.tag":"1.2","x":"a,b"},"name":"helm-parameters"}]"#;
        let params = Parameters::from_json(json).unwrap();
        assert_eq!(params.env.as_deref(), Some("staging"));
        assert_eq!(params.values_files, ["a.yaml", "b.yaml"]);
        assert_eq!(params.helm_parameters, [("image.tag".into(), "1.2".into()), ("x".into(), "a,b".into())]);
        assert_eq!(Parameters::from_json("null").unwrap(), Parameters::default());
        assert_eq!(Parameters::from_json(r#"[{"name":"env","string":""}]"#).unwrap().env, None);
    }

    #[test]
    fn bad_parameters_are_errors() {
        for (json, message) in [
            (r#"[{"name":"values-file","array":["a"]}]"#, "unknown plugin parameter `values-file`"),
            (r#"[{"name":"env","array":["a"]}]"#, "`env` must be a string, not an array"),
            (r#"[{"name":"values-files","string":"a"}]"#, "`values-files` must be an array, not a string"),
            (r#"[{"name":"helm-parameters","map":{},"string":"x"}]"#, "must be a map, not more than one value"),
            (r#"[{"name":"env","string":"a"},{"name":"env","string":"b"}]"#, "`env` is given twice"),
            (r#"{"name":"env"}"#, "not the JSON ArgoCD sends"),
        ] {
            let err = format!("{:#}", Parameters::from_json(json).unwrap_err());
            assert!(err.contains(message), "{json}: {err}");
        }
    }

    #[test]
    fn param_variables_serve_runs_by_hand() {
        let v = vars(&[
            ("PARAM_ENV", "dev"),
            ("PARAM_VALUES_FILES_10", "k.yaml"),
            ("PARAM_VALUES_FILES_2", "c.yaml"),
            ("PARAM_VALUES_FILES_0", "a.yaml"),
        ]);
        let params = Parameters::from_vars(&v).unwrap();
        assert_eq!(params.env.as_deref(), Some("dev"));
        assert_eq!(params.values_files, ["a.yaml", "c.yaml", "k.yaml"], "numeric order, not text order");
        let err = Parameters::from_vars(&vars(&[("PARAM_HELM_PARAMETERS_IMAGE_TAG", "1")])).unwrap_err();
        assert!(err.to_string().contains("ARGOCD_APP_PARAMETERS"), "{err}");
        // The JSON wins when both are there, as it is exact.
        let v = vars(&[("PARAM_ENV", "dev"), ("ARGOCD_APP_PARAMETERS", r#"[{"name":"env","string":"prod"}]"#)]);
        assert_eq!(Parameters::from_vars(&v).unwrap().env.as_deref(), Some("prod"));
    }

    #[test]
    fn the_environment_is_pinned_then_asked_then_defaulted() {
        let config = Config::builtin().unwrap();
        let asked = Parameters { env: Some("dev".into()), ..Parameters::default() };
        let none = Parameters::default();
        let choose = |pin, params: &Parameters, v: &[(&str, &str)]| choose_environment(pin, params, &vars(v), &config);
        assert_eq!(choose(None, &asked, &[("ARGOCD_ENV_TEMPER_ENV", "staging")]).unwrap(), "dev");
        assert_eq!(
            choose(None, &none, &[("ARGOCD_ENV_TEMPER_ENV", "staging"), ("TEMPER_ENV", "dev")]).unwrap(),
            "staging"
        );
        assert_eq!(choose(None, &none, &[("ARGOCD_ENV_TEMPER_ENV", ""), ("TEMPER_ENV", "dev")]).unwrap(), "dev");
        assert_eq!(choose(None, &none, &[]).unwrap(), "prod");
        assert_eq!(choose(Some("prod"), &none, &[("TEMPER_ENV", "dev")]).unwrap(), "prod");
        assert_eq!(choose(Some("dev"), &asked, &[]).unwrap(), "dev");
        let err = choose(Some("prod"), &asked, &[]).unwrap_err().to_string();
        assert!(err.contains("asks for environment `dev` (the `env` parameter), but this plugin is pinned to `prod`"));
    }

    #[test]
    fn release_names_lose_the_namespace_prefix() {
        assert_eq!(release_name(&vars(&[("ARGOCD_APP_NAME", "team-a_shop")])).unwrap(), "shop");
        assert_eq!(release_name(&vars(&[("ARGOCD_APP_NAME", "shop")])).unwrap(), "shop");
        assert!(release_name(&vars(&[("ARGOCD_APP_NAME", "")])).is_err());
    }

    #[test]
    fn set_values_escape_commas_as_argocd_does() {
        assert_eq!(escape_set_value("a,b"), r"a\,b");
        assert_eq!(escape_set_value(r"a\,b"), r"a\,b");
        assert_eq!(escape_set_value("{a,b}"), "{a,b}");
        assert_eq!(escape_set_value("plain"), "plain");
    }

    #[test]
    fn helm_gets_one_flag_per_api_version() {
        let v = vars(&[("KUBE_VERSION", "1.29.3"), ("KUBE_API_VERSIONS", "apps/v1,v1,v1/Pod")]);
        let params = Parameters { helm_parameters: vec![("a".into(), "1,2".into())], ..Parameters::default() };
        let args = helm_args("shop", Some("web"), &v, &["v.yaml".into()], &params);
        assert_eq!(
            args.join(" "),
            r"template shop . --include-crds --namespace web --kube-version 1.29.3 --api-versions apps/v1 --api-versions v1 --api-versions v1/Pod --values v.yaml --set a=1\,2"
        );
        let args = helm_args("shop", None, &vars(&[("KUBE_VERSION", ""), ("KUBE_API_VERSIONS", "")]), &[], &params);
        assert_eq!(args.join(" "), r"template shop . --include-crds --set a=1\,2");
    }

    #[test]
    fn the_repository_root_is_the_app_directory_minus_the_source_path() {
        let app = Path::new("/w/_cmp_server/u/apps/shop");
        assert_eq!(repository_root(app, "apps/shop"), Path::new("/w/_cmp_server/u"));
        assert_eq!(repository_root(app, "./apps/shop/"), Path::new("/w/_cmp_server/u"));
        assert_eq!(repository_root(app, "."), app);
        assert_eq!(repository_root(app, "other/shop"), app, "no match: the app directory itself");
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), Path::new("/a/c/d"));
    }

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(parse_seconds("45").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_seconds("0.5").unwrap(), Duration::from_millis(500));
        for bad in ["0", "-1", "soon", "inf", "NaN"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stray_yaml_files_are_recognised() {
        let values = Input::new("values.yaml", "replicaCount: 2\nimage: {tag: x}\n");
        assert!(!looks_like_manifest(&values.text) && first_document_fails(&values));
        let broken = Input::new("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n");
        assert!(looks_like_manifest(&broken.text), "a broken manifest is still a manifest: its error is reported");
        let later = Input::new("two.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nfoo: 1\n");
        assert!(!first_document_fails(&later), "only the first document decides, as in ArgoCD");
    }
}
