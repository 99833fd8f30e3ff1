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
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;

use temper::record::Keeping;
use temper::source::{self, Deadline, HelmTemplate, Kustomize, Rendered, Source};
use temper::{Config, Settings};

use super::{ConfigDir, EXIT_OK, ProcessArgs, stream_stdout};

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
    #[command(flatten)]
    pub config: ConfigDir,
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
    pub strict: super::StrictArg,
    #[command(flatten)]
    pub limit: super::LimitArgs,
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
    let deadline = Deadline {
        at: Instant::now() + args.timeout,
        limit: args.timeout,
        set_by: "--timeout, TEMPER_ARGOCD_TIMEOUT".into(),
    };
    let vars = Vars::from_process();
    let params = Parameters::from_vars(&vars)?;
    let config = args.config.load()?;
    let (env, from) = choose_environment(args.env.as_deref(), &params, &vars, &config)?;
    let policy = config.resolve_from(&env, from)?;
    let namespace = args.namespace.clone().or_else(|| vars.get("ARGOCD_APP_NAMESPACE").map(str::to_string));
    let app_dir = std::env::current_dir().context("cannot read the current directory")?;

    let Rendered { mut inputs, mut notes, skipped } = match Source::detect(&app_dir) {
        Source::Kustomize(file) => source::kustomize(&kustomize_tool(args, &vars, file)?, &deadline)?,
        Source::Helm => {
            let values_files = check_values_files(&app_dir, &vars, &params.values_files)?;
            let template = helm_template(release_name(&vars)?, namespace.clone(), &vars, values_files, &params);
            let helm = match &args.helm {
                Some(path) => path.clone(),
                None => source::find_program("helm", vars.get("PATH")).ok_or_else(|| {
                    anyhow!("helm is not installed: no `helm` on PATH; the sidecar image needs helm (or set --helm / TEMPER_HELM)")
                })?,
            };
            template.run(&helm, &deadline)?
        }
        Source::Directory => source::directory(Path::new("."))?,
    };
    // What helm or kustomize said on stderr, and the files the directory source skipped:
    // printed before the summary, once the outcome is known.
    for file in &skipped {
        notes.push_str(&format!("temper: skipped {}: not a Kubernetes manifest\n", file.display()));
    }

    // ArgoCD reads the manifests and the summary, which counts the changes.
    let settings =
        Settings::render(namespace).with_strict(args.strict.strict).keeping_changes(Keeping::Count).packing_output();
    let outcome = temper::run_packing_text(&mut inputs, &policy, &settings)?;
    // As `render` does: the output is whole, and the input goes before it is written.
    drop(inputs);
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
        return Ok(super::refuse(&notes, report, &policy.environment, &args.limit));
    }
    args.process.summary(&notes, report, &args.limit);
    stream_stdout(|out| outcome.write_output(out))?;
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
/// `TEMPER_ENV`, else the configuration's default; with where it came from, for errors.
fn choose_environment(
    pin: Option<&str>,
    params: &Parameters,
    vars: &Vars,
    config: &Config,
) -> anyhow::Result<(String, &'static str)> {
    let asked = match (&params.env, vars.get("ARGOCD_ENV_TEMPER_ENV")) {
        (Some(env), _) => Some((env.as_str(), "the `env` parameter")),
        (None, Some(env)) => Some((env, "ARGOCD_ENV_TEMPER_ENV")),
        (None, None) => None,
    };
    match (pin, asked) {
        (Some(pin), Some((env, from))) if env != pin => {
            bail!("the Application asks for environment `{env}` ({from}), but this plugin is pinned to `{pin}` (--env)")
        }
        (Some(pin), _) => Ok((pin.to_string(), "--env")),
        (None, Some((env, from))) => Ok((env.to_string(), from)),
        (None, None) => match vars.get("TEMPER_ENV") {
            Some(env) => Ok((env.to_string(), "TEMPER_ENV")),
            None => Ok((config.default_environment()?, "the configuration's default")),
        },
    }
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

/// What `helm template` is asked for: the Application's release, namespace, cluster version
/// and API versions (`KUBE_VERSION`, `KUBE_API_VERSIONS`), values files and parameters.
fn helm_template(
    release: String,
    namespace: Option<String>,
    vars: &Vars,
    values_files: Vec<String>,
    params: &Parameters,
) -> HelmTemplate {
    HelmTemplate {
        release,
        namespace,
        kube_version: vars.get("KUBE_VERSION").map(str::to_string),
        api_versions: vars
            .get("KUBE_API_VERSIONS")
            .unwrap_or_default()
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        values_files,
        set: params.helm_parameters.clone(),
    }
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

/// The program that builds the kustomization: `--kustomize`, else `kustomize` on the PATH,
/// else `kubectl` (as `kubectl kustomize`).
fn kustomize_tool(args: &GenerateArgs, vars: &Vars, file: &str) -> anyhow::Result<Kustomize> {
    let path = vars.get("PATH");
    Ok(match &args.kustomize {
        Some(p) if p.file_stem() == Some(OsStr::new("kubectl")) => Kustomize::Kubectl(p.clone()),
        Some(p) => Kustomize::Standalone(p.clone()),
        None => match source::find_program("kustomize", path) {
            Some(p) => Kustomize::Standalone(p),
            None => Kustomize::Kubectl(source::find_program("kubectl", path).ok_or_else(|| {
                anyhow!(
                    "neither kustomize nor kubectl is on PATH: the sidecar image needs one of them to build {file} (or set --kustomize / TEMPER_KUSTOMIZE)"
                )
            })?),
        },
    })
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
        let chosen = |name: &str, from: &'static str| (name.to_string(), from);
        assert_eq!(
            choose(None, &asked, &[("ARGOCD_ENV_TEMPER_ENV", "staging")]).unwrap(),
            chosen("dev", "the `env` parameter")
        );
        assert_eq!(
            choose(None, &none, &[("ARGOCD_ENV_TEMPER_ENV", "staging"), ("TEMPER_ENV", "dev")]).unwrap(),
            chosen("staging", "ARGOCD_ENV_TEMPER_ENV")
        );
        assert_eq!(
            choose(None, &none, &[("ARGOCD_ENV_TEMPER_ENV", ""), ("TEMPER_ENV", "dev")]).unwrap(),
            chosen("dev", "TEMPER_ENV")
        );
        assert_eq!(choose(None, &none, &[]).unwrap(), chosen("prod", "the configuration's default"));
        assert_eq!(choose(Some("prod"), &none, &[("TEMPER_ENV", "dev")]).unwrap(), chosen("prod", "--env"));
        assert_eq!(choose(Some("dev"), &asked, &[]).unwrap(), chosen("dev", "--env"));
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
    fn helm_gets_one_flag_per_api_version() {
        let v = vars(&[("KUBE_VERSION", "1.29.3"), ("KUBE_API_VERSIONS", "apps/v1,v1,v1/Pod")]);
        let params = Parameters { helm_parameters: vec![("a".into(), "1,2".into())], ..Parameters::default() };
        let args = helm_template("shop".into(), Some("web".into()), &v, vec!["v.yaml".into()], &params).args();
        assert_eq!(
            args.join(" "),
            r"template shop . --include-crds --namespace web --kube-version 1.29.3 --api-versions apps/v1 --api-versions v1 --api-versions v1/Pod --values v.yaml --set a=1\,2"
        );
        let empty = vars(&[("KUBE_VERSION", ""), ("KUBE_API_VERSIONS", "")]);
        let args = helm_template("shop".into(), None, &empty, Vec::new(), &params).args();
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
}
