//! A faithful emulator of how ArgoCD runs a config-management plugin: the repo-server builds
//! the request (source overrides, environment, parameters), argocd-cmp-server copies the
//! repository into a fresh work directory, selects the plugin, runs its commands without a
//! shell under one deadline, and the manifests are read back from stdout as the repo-server
//! reads them. It follows the emulator specification of the project's ArgoCD research notes
//! (Argo CD 3.4 semantics by default, with the version switches they list), step by step;
//! each function names its step.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One Application, one plugin, and the cluster and sidecar around them.
pub struct Emulator {
    pub repo_root: PathBuf,
    /// plugin.yaml's text.
    pub plugin_yaml: String,
    /// The Application's YAML text.
    pub application: String,
    pub control_plane_ns: String,
    /// The resolved revision; defaults to 40 zeros (the copies the tests use are not git
    /// repositories).
    pub revision: String,
    /// The cluster's `GitVersion`.
    pub cluster_git_version: String,
    /// `(group, version, kind)` served by the cluster.
    pub api_resources: Vec<(String, String, String)>,
    /// The caller's gRPC deadline (60 s by default in Argo CD).
    pub timeout: Duration,
    /// The sidecar container's own environment.
    pub sidecar_env: Vec<(String, String)>,
    /// `reposerver.plugin.tar.exclusions` globs.
    pub tar_exclusions: Vec<String>,
    /// Argo CD `(major, minor)`.
    pub argocd_version: (u32, u32),
    /// Where work directories are created (the sidecar's temp directory).
    pub tmp: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Ok,
    /// Zero manifests: Argo CD calls this success, and with auto-prune deletes the app.
    Empty,
    /// The error Argo CD would show.
    Failed(String),
}

/// What a request produced (step 11).
#[derive(Debug)]
pub struct Report {
    pub status: Status,
    pub manifests: Vec<Value>,
    /// The request's `NAME=VALUE` entries, in order.
    pub env: Vec<String>,
    pub stderr_init: String,
    pub stderr_generate: String,
    /// The generate command's exit code, if it ran and exited.
    pub exit_code: Option<i32>,
    /// Its stdout, with one trailing newline removed.
    pub stdout: String,
    /// Unknown plugin.yaml keys, which Argo CD silently ignores.
    pub warnings: Vec<String>,
    /// Wall-clock time of the whole request.
    pub duration: Duration,
    /// CPU time of the generate command and the tools it ran.
    pub cpu: Duration,
}

impl Report {
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env.iter().rev().find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    }

    /// The error, or a panic naming what happened instead.
    #[track_caller]
    pub fn error(&self) -> &str {
        match &self.status {
            Status::Failed(e) => e,
            other => panic!("expected a failure, got {other:?}\nstderr: {}", self.stderr_generate),
        }
    }
}

/// A step failed: the message Argo CD would show.
type Step<T> = Result<T, String>;

struct Plugin {
    sock_name: String,
    init: Option<Vec<String>>,
    generate: Vec<String>,
    discover: Value,
    discovery_configured: bool,
    preserve_file_mode: bool,
}

impl Emulator {
    pub fn new(repo_root: &Path, plugin_yaml: &str, application: &str, tmp: &Path) -> Emulator {
        Emulator {
            repo_root: repo_root.to_path_buf(),
            plugin_yaml: plugin_yaml.to_string(),
            application: application.to_string(),
            control_plane_ns: "argocd".into(),
            revision: "0".repeat(40),
            cluster_git_version: "v1.29.3".into(),
            api_resources: vec![
                (String::new(), "v1".into(), "Pod".into()),
                (String::new(), "v1".into(), "Service".into()),
                ("apps".into(), "v1".into(), "Deployment".into()),
            ],
            timeout: Duration::from_secs(60),
            sidecar_env: vec![("PATH".into(), "/usr/bin:/bin".into()), ("HOME".into(), "/tmp".into())],
            tar_exclusions: Vec::new(),
            argocd_version: (3, 4),
            tmp: tmp.to_path_buf(),
        }
    }

    /// Sets one sidecar variable, replacing an earlier value.
    pub fn sidecar(&mut self, name: &str, value: &str) -> &mut Emulator {
        self.sidecar_env.retain(|(n, _)| n != name);
        self.sidecar_env.push((name.into(), value.into()));
        self
    }

    /// Runs one GenerateManifest request.
    pub fn generate(&self) -> Report {
        let start = Instant::now();
        let mut report = Report {
            status: Status::Ok,
            manifests: Vec::new(),
            env: Vec::new(),
            stderr_init: String::new(),
            stderr_generate: String::new(),
            exit_code: None,
            stdout: String::new(),
            warnings: Vec::new(),
            duration: Duration::ZERO,
            cpu: Duration::ZERO,
        };
        if let Err(e) = self.request(&mut report) {
            report.status = Status::Failed(e);
        } else if report.manifests.is_empty() {
            report.status = Status::Empty;
        }
        report.duration = start.elapsed();
        report
    }

    fn request(&self, report: &mut Report) -> Step<()> {
        let (plugin, warnings) = load_plugin(&self.plugin_yaml)?;
        report.warnings = warnings;
        let app = load_yaml(&self.application).map_err(|e| format!("Application: {e}"))?;
        let (app_dir, inst, source) = self.resolve_source(&app)?;
        let plugin_section = source.get("plugin").cloned();
        let (base, kube) = self.base_env(&app, &inst);
        report.env = self.request_env(&base, &kube, plugin_section.as_ref())?;
        let process_env = self.process_env(&report.env);

        // Step 5: select the plugin. Discovery is its own RPC, with its own copy.
        let named = plugin_section.as_ref().and_then(|p| p["name"].as_str()).filter(|n| !n.is_empty());
        match named {
            Some(name) if name != plugin.sock_name => {
                return Err(format!(
                    "could not find cmp-server plugin with name {name:?} supporting the given repository"
                ));
            }
            Some(_) if !plugin.discovery_configured => {}
            _ => {
                if !plugin.discovery_configured {
                    return Err("could not find plugin supporting the given repository".into());
                }
                let passes: Vec<Vec<String>> = if plugin_section.is_none() {
                    // Pure auto-discovery: first with the newEnv variables only, then again
                    // inside generate with KUBE_* added.
                    vec![base.clone(), [base.clone(), kube.clone()].concat()]
                } else {
                    vec![report.env.clone()]
                };
                for pass in passes {
                    let (workspace, cwd) = self.workspace(&app_dir, plugin.preserve_file_mode)?;
                    let matched = discover(&plugin.discover, &cwd, &self.process_env(&pass), self.timeout);
                    let _ = std::fs::remove_dir_all(&workspace);
                    if !matched? {
                        return Err(match named {
                            Some(name) => format!(
                                "could not find cmp-server plugin with name {name:?} supporting the given repository"
                            ),
                            None => "could not find plugin supporting the given repository".into(),
                        });
                    }
                }
            }
        }

        // Step 8: generate, under one deadline for init and generate.
        let (workspace, cwd) = self.workspace(&app_dir, plugin.preserve_file_mode)?;
        let deadline = Instant::now() + self.timeout.saturating_sub(Duration::from_millis(100));
        let result = (|| {
            if let Some(init) = &plugin.init {
                let out = run(init, &cwd, &process_env, deadline);
                report.stderr_init = out.stderr.clone();
                out.result?;
            }
            let out = run(&plugin.generate, &cwd, &process_env, deadline);
            report.stderr_generate = out.stderr.clone();
            report.cpu = out.cpu;
            report.exit_code = out.exit_code;
            out.result
        })();
        let _ = std::fs::remove_dir_all(&workspace);
        let stdout = result.map_err(|e| format!("error generating manifests in cmp: {e}"))?;
        report.stdout = stdout.clone();
        let documents = split_yaml_to_strings(&stdout, self.argocd_version)
            .map_err(|e| format!("error generating manifests in cmp: {e}"))?;
        report.manifests = to_objects(documents)
            .map_err(|e| format!("failed to convert CMP manifests to unstructured objects: {e}"))?;
        Ok(())
    }

    /// Step 2: the application directory, the instance name and the effective source.
    fn resolve_source(&self, app: &Value) -> Step<(PathBuf, String, Value)> {
        let mut source = app["spec"]["source"].clone();
        let app_dir = normalize(&self.repo_root.join(source["path"].as_str().unwrap_or(".")));
        if !app_dir.is_dir() {
            return Err(format!("{}: app path does not exist", app_dir.display()));
        }
        let name = app["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = app["metadata"]["namespace"].as_str().unwrap_or_default();
        let inst = if namespace.is_empty() || namespace == self.control_plane_ns {
            name.to_string()
        } else {
            format!("{namespace}_{name}")
        };
        let original = source.clone();
        for file in [".argocd-source.yaml".to_string(), format!(".argocd-source-{inst}.yaml")] {
            let path = app_dir.join(&file);
            if path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
                let patch = load_yaml(&text).map_err(|e| format!("{file}: {e}"))?;
                json_patch::merge(&mut source, &patch);
            }
        }
        for key in ["repoURL", "path", "targetRevision", "chart"] {
            match original.get(key) {
                Some(v) => source[key] = v.clone(),
                None => {
                    if let Some(m) = source.as_object_mut() {
                        m.remove(key);
                    }
                }
            }
        }
        let types = ["helm", "kustomize", "directory", "plugin"].iter().filter(|t| source.get(**t).is_some()).count();
        if types > 1 {
            return Err("multiple application sources defined".into());
        }
        Ok((app_dir, inst, source))
    }

    /// Step 3, first part: the newEnv variables, then KUBE_VERSION and KUBE_API_VERSIONS.
    fn base_env(&self, app: &Value, inst: &str) -> (Vec<String>, Vec<String>) {
        let source = &app["spec"]["source"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let at_least = |major: u32, minor: u32| self.argocd_version >= (major, minor);
        let project = app["spec"]["project"].as_str().filter(|p| !p.is_empty()).unwrap_or("default");
        let mut base = vec![
            ("ARGOCD_APP_NAME", inst.to_string()),
            ("ARGOCD_APP_NAMESPACE", text(&app["spec"]["destination"]["namespace"])),
        ];
        if at_least(3, 0) {
            base.push(("ARGOCD_APP_PROJECT_NAME", project.to_string()));
        }
        base.push(("ARGOCD_APP_REVISION", self.revision.clone()));
        if at_least(2, 9) {
            base.push(("ARGOCD_APP_REVISION_SHORT", self.revision.chars().take(7).collect()));
        }
        if at_least(2, 14) {
            base.push(("ARGOCD_APP_REVISION_SHORT_8", self.revision.chars().take(8).collect()));
        }
        base.push(("ARGOCD_APP_SOURCE_REPO_URL", text(&source["repoURL"])));
        base.push(("ARGOCD_APP_SOURCE_PATH", text(&source["path"])));
        base.push(("ARGOCD_APP_SOURCE_TARGET_REVISION", text(&source["targetRevision"])));
        let base = base.into_iter().map(|(k, v)| format!("{k}={v}")).collect();

        let mut api = std::collections::BTreeSet::new();
        for (group, version, kind) in &self.api_resources {
            let gv = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
            api.insert(format!("{gv}/{kind}"));
            api.insert(gv);
        }
        let kube = vec![
            format!("KUBE_VERSION={}", kube_version(&self.cluster_git_version, self.argocd_version)),
            format!("KUBE_API_VERSIONS={}", api.into_iter().collect::<Vec<_>>().join(",")),
        ];
        (base, kube)
    }

    /// Step 3, the rest: plugin env (Envsubst over the variables so far), then parameters.
    fn request_env(&self, base: &[String], kube: &[String], plugin: Option<&Value>) -> Step<Vec<String>> {
        let mut env: Vec<String> = [base, kube].concat();
        let Some(plugin) = plugin else { return Ok(env) };
        let vars: BTreeMap<String, String> =
            env.iter().filter_map(|e| e.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for entry in plugin["env"].as_array().into_iter().flatten() {
            let name = entry["name"].as_str().unwrap_or_default();
            let value = go_expand(entry["value"].as_str().unwrap_or_default(), &vars);
            env.push(format!("ARGOCD_ENV_{name}={value}"));
        }
        let params = plugin["parameters"].as_array().filter(|p| !p.is_empty());
        let mut marshalled = Vec::new();
        for p in params.into_iter().flatten() {
            // Only `name` and the values that are set, keys in sorted order.
            let mut object = BTreeMap::new();
            for key in ["array", "map", "name", "string"] {
                if let Some(v) = p.get(key).filter(|v| !v.is_null()) {
                    let v = match v {
                        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                        v => v.clone(),
                    };
                    object.insert(key, v);
                }
            }
            marshalled.push(object);
        }
        let json = if params.is_some() { go_json(&json!(marshalled)) } else { "null".into() };
        env.push(format!("ARGOCD_APP_PARAMETERS={json}"));
        for p in params.into_iter().flatten() {
            let base = format!("PARAM_{}", param_escape(p["name"].as_str().unwrap_or_default()));
            if let Some(s) = p["string"].as_str() {
                env.push(format!("{base}={s}"));
            }
            for (key, value) in p["map"].as_object().into_iter().flatten() {
                env.push(format!("{base}_{}={}", param_escape(key), value.as_str().unwrap_or_default()));
            }
            for (i, value) in p["array"].as_array().into_iter().flatten().enumerate() {
                env.push(format!("{base}_{i}={}", value.as_str().unwrap_or_default()));
            }
        }
        Ok(env)
    }

    /// The command's environment: the sidecar's, then the request's; the last value wins and
    /// entries with an empty name are skipped.
    fn process_env(&self, request: &[String]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = self.sidecar_env.iter().cloned().collect();
        for entry in request {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            if !name.is_empty() {
                env.insert(name.to_string(), value.to_string());
            }
        }
        env
    }

    /// Step 4: a fresh copy of the repository in `<tmp>/_cmp_server/<unique>`, and the
    /// application directory inside it.
    fn workspace(&self, app_dir: &Path, preserve_file_mode: bool) -> Step<(PathBuf, PathBuf)> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        );
        let workspace = self.tmp.join("_cmp_server").join(unique);
        std::fs::create_dir_all(&workspace).map_err(|e| e.to_string())?;
        let mut files = 0;
        copy_tree(&self.repo_root, &workspace, Path::new(""), &self.tar_exclusions, preserve_file_mode, &mut files)?;
        if files == 0 {
            return Err("no files to send".into());
        }
        let rel = app_dir.strip_prefix(&self.repo_root).map_err(|_| "illegal appPath".to_string())?;
        let cwd = normalize(&workspace.join(rel));
        if !cwd.starts_with(&workspace) {
            return Err("illegal appPath".into());
        }
        Ok((workspace, cwd))
    }
}

/// Step 1: validate plugin.yaml as `ValidatePluginConfig` does; collect unknown keys.
fn load_plugin(text: &str) -> Step<(Plugin, Vec<String>)> {
    let config = load_yaml(text).map_err(|e| format!("plugin.yaml: {e}"))?;
    let mut warnings = Vec::new();
    unknown_keys(&config, &plugin_schema(), "", &mut warnings);
    if config["kind"] != json!("ConfigManagementPlugin") {
        return Err(format!(
            "invalid plugin configuration file. kind should be ConfigManagementPlugin, found {}",
            config["kind"]
        ));
    }
    let name = config["metadata"]["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err("invalid plugin configuration file. metadata.name should be non-empty.".into());
    }
    let spec = &config["spec"];
    let command = |v: &Value| -> Option<Vec<String>> {
        let mut argv: Vec<String> =
            v["command"].as_array()?.iter().map(|a| a.as_str().map(String::from)).collect::<Option<_>>()?;
        if argv.is_empty() {
            return None;
        }
        argv.extend(v["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(String::from)));
        Some(argv)
    };
    let generate = command(&spec["generate"])
        .ok_or("invalid plugin configuration file. spec.generate command should be non-empty")?;
    let version = spec["version"].as_str().unwrap_or_default();
    let sock_name = if version.is_empty() { name.to_string() } else { format!("{name}-{version}") };
    let discover = spec["discover"].clone();
    let non_empty =
        |v: &Value| v.as_str().is_some_and(|s| !s.is_empty()) || v.as_array().is_some_and(|a| !a.is_empty());
    let discovery_configured = non_empty(&discover["fileName"])
        || non_empty(&discover["find"]["glob"])
        || non_empty(&discover["find"]["command"]);
    let plugin = Plugin {
        sock_name,
        init: command(&spec["init"]),
        generate,
        discover,
        discovery_configured,
        preserve_file_mode: spec["preserveFileMode"] == json!(true),
    };
    Ok((plugin, warnings))
}

/// The keys `PluginConfig` knows; `*` takes anything below it.
fn plugin_schema() -> Value {
    let command = json!({"command": "*", "args": "*"});
    json!({
        "apiVersion": "*",
        "kind": "*",
        "metadata": "*",
        "spec": {
            "version": "*",
            "init": command,
            "generate": command,
            "discover": {"fileName": "*", "find": {"command": "*", "args": "*", "glob": "*"}},
            "parameters": {
                "static": "*",
                "dynamic": command,
            },
            "preserveFileMode": "*",
            "provideGitCreds": "*",
        },
    })
}

fn unknown_keys(value: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let (Some(object), Some(known)) = (value.as_object(), schema.as_object()) else { return };
    for (key, v) in object {
        match known.get(key) {
            None => out.push(format!("{at}{key}")),
            Some(sub) => unknown_keys(v, sub, &format!("{at}{key}."), out),
        }
    }
}

/// YAML as sigs.k8s.io/yaml reads it (go-yaml v2, YAML 1.1), through temper's port.
pub fn load_yaml(text: &str) -> Result<Value, String> {
    let loaded = temper::yaml::load(text).map_err(|e| format!("yaml: line {}: {}", e.line, e.message))?;
    Ok(loaded.value.unwrap_or(Value::Null))
}

/// `KUBE_VERSION` from the cluster's GitVersion, by Argo CD version (§2.3's table).
pub fn kube_version(git_version: &str, argocd: (u32, u32)) -> String {
    let bare = git_version.trim_start_matches('v');
    let bare = bare.split(['+', '-']).next().unwrap_or_default();
    let parts: Vec<&str> = bare.split('.').collect();
    let (major, minor) = (parts.first().copied().unwrap_or("0"), parts.get(1).copied().unwrap_or("0"));
    if argocd >= (3, 4) {
        format!("{major}.{minor}.{}", parts.get(2).copied().unwrap_or("0"))
    } else {
        format!("{major}.{minor}")
    }
}

/// Go's `os.Expand` with Argo CD's mapping: `$$` is `$`, unknown names are empty.
pub fn go_expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let b = s.as_bytes();
    let special = |c: u8| b"*#$@!?-".contains(&c) || c.is_ascii_digit();
    let alnum = |c: u8| c == b'_' || c.is_ascii_alphanumeric();
    let lookup = |name: &[u8]| -> Vec<u8> {
        if name == b"$" {
            return b"$".to_vec();
        }
        vars.get(std::str::from_utf8(name).unwrap_or_default()).map(|v| v.as_bytes().to_vec()).unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mut j = 0;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.extend_from_slice(&b[i..j]);
            let rest = &b[j + 1..];
            // getShellName: the name and how many bytes it used.
            let (name, width): (&[u8], usize) = if rest[0] == b'{' {
                if rest.len() > 2 && special(rest[1]) && rest[2] == b'}' {
                    (&rest[1..2], 3)
                } else {
                    match rest.iter().skip(1).position(|&c| c == b'}') {
                        Some(0) => (&[], 2),
                        Some(p) => (&rest[1..p + 1], p + 2),
                        None => (&[], 1),
                    }
                }
            } else if special(rest[0]) {
                (&rest[..1], 1)
            } else {
                let n = rest.iter().take_while(|&&c| alnum(c)).count();
                (&rest[..n], n)
            };
            if name.is_empty() && width == 0 {
                out.push(b'$');
            } else if !name.is_empty() {
                out.extend(lookup(name));
            }
            j += width;
            i = j + 1;
        }
        j += 1;
    }
    out.extend_from_slice(&b[i.min(b.len())..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `json.Marshal`: compact, with `<`, `>`, `&`, U+2028 and U+2029 escaped. Object keys
/// must already be in sorted order.
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A parameter name in a `PARAM_*` variable: upper case, anything but `[A-Z0-9_]` is `_`.
pub fn param_escape(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .collect()
}

/// Copies `from` into `to`: regular files, directories and symlinks only, skipping (and
/// pruning) what a tar exclusion matches, with the modes Argo CD's untar gives.
fn copy_tree(from: &Path, to: &Path, rel: &Path, exclusions: &[String], preserve: bool, files: &mut usize) -> Step<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let err = |e: std::io::Error| e.to_string();
    let mut entries: Vec<_> = std::fs::read_dir(from.join(rel)).map_err(err)?.collect::<Result<_, _>>().map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let rel_path = rel.join(entry.file_name());
        let rel_text = rel_path.to_string_lossy();
        if exclusions.iter().any(|g| go_match(g, &rel_text) == Some(true)) {
            continue;
        }
        let meta = entry.path().symlink_metadata().map_err(err)?;
        let target = to.join(&rel_path);
        let mode = |dir: bool| {
            if preserve {
                meta.permissions().mode() & 0o7777
            } else if dir {
                0o755
            } else {
                0o644
            }
        };
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(entry.path()).map_err(err)?;
            let resolved = normalize(&entry.path().parent().unwrap_or(from).join(&link));
            let inside = resolved.strip_prefix(from).map_err(|_| format!("illegal filepath in symlink {rel_text}"))?;
            let relative = relative_path(rel_path.parent().unwrap_or(Path::new("")), inside);
            std::os::unix::fs::symlink(relative, &target).map_err(err)?;
        } else if meta.is_dir() {
            std::fs::create_dir_all(&target).map_err(err)?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode(true))).map_err(err)?;
            copy_tree(from, to, &rel_path, exclusions, preserve, files)?;
        } else if meta.is_file() {
            std::fs::copy(entry.path(), &target).map_err(err)?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode(false))).map_err(err)?;
            *files += 1;
        }
    }
    Ok(())
}

/// The path from directory `from` to `to`, both relative to the same root.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let (a, b): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    out
}

/// `path` with `.` and `..` resolved lexically, like Go's `filepath.Clean`.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `filepath.Match`: `*` and `?` never match `/`; `[...]` classes with `^` and ranges;
/// `\` escapes. `None` for a malformed pattern.
pub fn go_match(pattern: &str, name: &str) -> Option<bool> {
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, length including the closing ']').
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            let &start = p.get(i)?;
            if start == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            let lo = if start == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                start
            };
            i += 1;
            let mut hi = lo;
            if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&c| c != ']') {
                hi = if p[i + 1] == '\\' { *p.get(i + 2)? } else { p[i + 1] };
                i += if p[i + 1] == '\\' { 3 } else { 2 };
            }
            if lo <= c && c <= hi {
                matched = true;
            }
        }
    }
    fn go(p: &[char], n: &[char]) -> Option<bool> {
        match p.first() {
            None => Some(n.is_empty()),
            Some('*') => {
                for k in 0..=n.len() {
                    if go(&p[1..], &n[k..])? {
                        return Some(true);
                    }
                    if k < n.len() && n[k] == '/' {
                        break;
                    }
                }
                Some(false)
            }
            Some('?') => Some(n.first().is_some_and(|&c| c != '/') && go(&p[1..], &n[1..])?),
            Some('[') => {
                let Some(&c) = n.first() else {
                    // Still validate the pattern.
                    class(&p[1..], '\0')?;
                    return Some(false);
                };
                let (matched, len) = class(&p[1..], c)?;
                Some(c != '/' && matched && go(&p[1 + len..], &n[1..])?)
            }
            Some('\\') => {
                let &lit = p.get(1)?;
                Some(n.first() == Some(&lit) && go(&p[2..], &n[1..])?)
            }
            Some(&lit) => Some(n.first() == Some(&lit) && go(&p[1..], &n[1..])?),
        }
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    go(&p, &n)
}

/// Step 6: the first configured discovery rule decides.
fn discover(discover: &Value, cwd: &Path, env: &BTreeMap<String, String>, timeout: Duration) -> Step<bool> {
    if let Some(pattern) = discover["fileName"].as_str().filter(|p| !p.is_empty()) {
        return Ok(!go_glob(cwd, pattern).is_empty());
    }
    if let Some(pattern) = discover["find"]["glob"].as_str().filter(|p| !p.is_empty()) {
        return Ok(zglob(&cwd.join(pattern).to_string_lossy()));
    }
    let find = &discover["find"];
    let mut argv: Vec<String> =
        find["command"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(String::from)).collect();
    argv.extend(find["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(String::from)));
    if argv.is_empty() {
        return Ok(false);
    }
    let out = run(&argv, cwd, env, Instant::now() + timeout);
    Ok(!out.result?.is_empty())
}

/// Go's `filepath.Glob` under `dir`, one path component at a time; dotfiles match.
fn go_glob(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    for part in pattern.split('/').filter(|p| !p.is_empty() && *p != ".") {
        let meta = part.contains(['*', '?', '[', '\\']);
        let mut next = Vec::new();
        for base in &found {
            if !meta {
                let candidate = base.join(part);
                if candidate.symlink_metadata().is_ok() {
                    next.push(candidate);
                }
                continue;
            }
            let mut names: Vec<String> = std::fs::read_dir(base)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            next.extend(names.into_iter().filter(|n| go_match(part, n) == Some(true)).map(|n| base.join(n)));
        }
        found = next;
    }
    found
}

/// mattn/go-zglob: `**/` is `(.*/)?`, `*` is `[^/]*`, everything else is literal; walks
/// from the literal prefix; symlinks never match.
fn zglob(pattern: &str) -> bool {
    if !pattern.contains('*') {
        return Path::new(pattern).symlink_metadata().is_ok();
    }
    let mut re = String::from("^");
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**/") {
            re.push_str("(.*/)?");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            re.push_str("[^/]*");
            rest = r;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            re.push_str(&regex::escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    re.push('$');
    let Ok(re) = regex::Regex::new(&re) else { return false };
    let prefix = &pattern[..pattern.find('*').unwrap_or(pattern.len())];
    let root = if prefix.ends_with('/') {
        PathBuf::from(prefix)
    } else {
        Path::new(prefix).parent().map(Path::to_path_buf).unwrap_or_default()
    };
    fn walk(dir: &Path, re: &regex::Regex) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return false };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = path.symlink_metadata() else { continue };
            if meta.file_type().is_symlink() {
                continue;
            }
            if re.is_match(&path.to_string_lossy()) || (meta.is_dir() && walk(&path, re)) {
                return true;
            }
        }
        false
    }
    walk(&root, &re)
}

/// What one command did.
pub struct Run {
    /// stdout with one trailing newline removed, or the `CmdError` text.
    pub result: Step<String>,
    pub stderr: String,
    pub exit_code: Option<i32>,
    /// The CPU time the command and the children it waited for used (see `util::proc_stat`).
    pub cpu: Duration,
}

/// Step 7: run `argv` without a shell in `cwd` with exactly `env`, in its own process group,
/// `argv[0]` resolved with the sidecar's PATH; killed at `deadline`.
pub fn run(argv: &[String], cwd: &Path, env: &BTreeMap<String, String>, deadline: Instant) -> Run {
    use std::io::Read as _;
    use std::os::unix::process::CommandExt as _;
    let logged = log_args(argv);
    let fail = |cause: String, stderr: String, exit_code: Option<i32>| {
        let detail = if stderr.trim().is_empty() { String::new() } else { format!(": {}", stderr.trim()) };
        Run { result: Err(format!("`{logged}` failed {cause}{detail}")), stderr, exit_code, cpu: Duration::ZERO }
    };
    let program = if argv[0].contains('/') {
        Some(PathBuf::from(&argv[0]))
    } else {
        env.get("PATH").and_then(|path| std::env::split_paths(path).map(|d| d.join(&argv[0])).find(|p| p.is_file()))
    };
    let Some(program) = program else {
        return fail(format!("exec: {:?}: executable file not found in $PATH", argv[0]), String::new(), None);
    };
    let mut child = match Command::new(program)
        .args(&argv[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return fail(e.to_string(), String::new(), None),
    };
    let pgid = child.id();
    let mut pipes = (child.stdout.take(), child.stderr.take());
    let stdout = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipes.0.as_mut().map(|p| p.read_to_end(&mut buf));
        buf
    });
    let stderr = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipes.1.as_mut().map(|p| p.read_to_end(&mut buf));
        buf
    });
    let (status, cpu) = match crate::util::wait_measured(&mut child, |_| Instant::now() >= deadline) {
        Ok(done) => done,
        Err(cpu) => {
            // Go kills the child; Argo CD's goroutine sends SIGTERM to the group, then
            // SIGKILL five seconds later.
            let _ = child.kill();
            let _ = child.wait();
            signal_group(pgid, "TERM");
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(5));
                signal_group(pgid, "KILL");
            });
            return Run { cpu, ..fail("signal: killed".into(), String::new(), None) };
        }
    };
    let stdout = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let cause = status.code().map_or("signal: killed".to_string(), |c| format!("exit status {c}"));
        return Run { cpu, ..fail(cause, stderr, status.code()) };
    }
    let stdout = stdout.strip_suffix('\n').unwrap_or(&stdout).to_string();
    Run { result: Ok(stdout), stderr, exit_code: status.code(), cpu }
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".into(), format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// argv as Go's `GetCommandArgsToLog` prints it: arguments with whitespace quoted, empty
/// ones as `""`.
pub fn log_args(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                Value::from(a.as_str()).to_string()
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Step 9: `kube.SplitYAMLToString`: a JSON stream if the first non-whitespace byte of the
/// first 4096 is `{`, else a YAML stream split on `---` lines; empty and null documents are
/// dropped; every other value is kept as JSON.
pub fn split_yaml_to_strings(out: &str, argocd: (u32, u32)) -> Step<Vec<Value>> {
    let head = &out.as_bytes()[..out.len().min(4096)];
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let mut values = Vec::new();
        let mut stream = serde_json::Deserializer::from_str(out).into_iter::<Value>();
        loop {
            let offset = stream.byte_offset();
            match stream.next() {
                None => return Ok(values),
                Some(Ok(v)) => values.push(v),
                Some(Err(e)) => {
                    if argocd >= (3, 2) && values.len() <= 1 {
                        // apimachinery v0.34+: rewind and read the rest as YAML.
                        let rest = &out[offset..];
                        let trimmed = rest.trim_start_matches([' ', '\t', '\r']);
                        let rest = trimmed.strip_prefix('\n').unwrap_or(trimmed);
                        values.extend(split_yaml(rest)?);
                        return Ok(values);
                    }
                    return Err(format!("failed to unmarshal manifest: {e}"));
                }
            }
        }
    }
    split_yaml(out)
}

fn split_yaml(out: &str) -> Step<Vec<Value>> {
    let mut documents = vec![String::new()];
    for line in out.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(format!("invalid Yaml document separator: {rest}"));
            }
            documents.push(String::new());
        } else if let Some(last) = documents.last_mut() {
            last.push_str(line);
        }
    }
    let mut values = Vec::new();
    for doc in documents.iter().filter(|d| !d.trim().is_empty()) {
        let value =
            load_yaml(doc).map_err(|e| format!("failed to unmarshal manifest: error converting YAML to JSON: {e}"))?;
        if !value.is_null() {
            values.push(value);
        }
    }
    Ok(values)
}

/// Step 10: every value must be an object with a kind; Lists are flattened, null lists
/// without spec or status dropped.
pub fn to_objects(values: Vec<Value>) -> Step<Vec<Value>> {
    let mut objects = Vec::new();
    for value in values {
        let Value::Object(object) = value else {
            let what = match value {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                _ => "bool",
            };
            return Err(format!("json: cannot unmarshal {what} into Go value of type map[string]interface {{}}"));
        };
        if object.get("kind").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(format!("Object 'Kind' is missing in '{}'", Value::Object(object)));
        }
        match object.get("items") {
            Some(Value::Array(items)) => {
                for item in items {
                    if !item.is_object() {
                        return Err("list item is not an object".into());
                    }
                    objects.push(item.clone());
                }
            }
            Some(Value::Null) if !object.contains_key("spec") && !object.contains_key("status") => {}
            _ => objects.push(Value::Object(object)),
        }
    }
    Ok(objects)
}

/// A convenience for tests: objects of one kind and name.
pub fn find<'a>(manifests: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    manifests.iter().find(|m| m["kind"] == json!(kind) && m["metadata"]["name"] == json!(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("A", "1"), ("NS", "shop"), ("AB", "2")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn expand_follows_go_os_expand() {
        for (input, want) in [
            ("$A", "1"),
            ("${A}", "1"),
            ("$AB", "2"),
            ("${A}B", "1B"),
            ("prod-$NS", "prod-shop"),
            ("$$", "$"),
            ("$$A", "$A"),
            ("$UNKNOWN", ""),
            ("$1x", "x"),
            ("${}x", "x"),
            ("${A", "A"),
            ("a$", "a$"),
            ("$-x", "x"),
            ("$.x", "$.x"),
            ("${*}", ""),
            ("plain", "plain"),
        ] {
            assert_eq!(go_expand(input, &vars()), want, "{input}");
        }
    }

    #[test]
    fn json_is_marshalled_like_go() {
        let value = json!([{"map": {"a": "<&>"}, "name": "p", "string": "\u{2028}é"}]);
        assert_eq!(go_json(&value), r#"[{"map":{"a":"\u003c\u0026\u003e"},"name":"p","string":"\u2028é"}]"#);
        assert_eq!(param_escape("values-files"), "VALUES_FILES");
        assert_eq!(param_escape("a.b/c_D9é"), "A_B_C_D9_");
    }

    #[test]
    fn match_follows_go_filepath_match() {
        for (pattern, name, want) in [
            (".git/*", ".git/HEAD", Some(true)),
            (".git/*", ".git/objects/ab", Some(false)),
            ("*.tgz", "a/b.tgz", Some(false)),
            ("a?c", "abc", Some(true)),
            ("a?c", "a/c", Some(false)),
            ("[a-c]x", "bx", Some(true)),
            ("[^a-c]x", "bx", Some(false)),
            ("\\*", "*", Some(true)),
            ("[", "a", None),
        ] {
            assert_eq!(go_match(pattern, name), want, "{pattern} {name}");
        }
    }

    #[test]
    fn stdout_is_split_like_split_yaml_to_string() {
        let v = split_yaml_to_strings("---\n# only a comment\n---\nkind: A\n--- # c\nkind: B\n...\n", (3, 4));
        assert_eq!(v.unwrap(), [json!({"kind": "A"}), json!({"kind": "B"})]);
        assert_eq!(
            split_yaml_to_strings("--- !tag\nkind: A\n", (3, 4)).unwrap_err(),
            "invalid Yaml document separator: !tag"
        );
        assert!(split_yaml_to_strings("----\nkind: A\n", (3, 4)).is_err());
        assert_eq!(split_yaml_to_strings(" {\"kind\":\"A\"}\n{\"kind\":\"B\"}", (3, 4)).unwrap().len(), 2);
        // A JSON object followed by YAML: an error before 3.2, read as YAML after.
        let mixed = "{\"kind\":\"A\"}\n---\nkind: B\n";
        assert!(split_yaml_to_strings(mixed, (3, 1)).is_err());
        assert_eq!(split_yaml_to_strings(mixed, (3, 2)).unwrap(), [json!({"kind": "A"}), json!({"kind": "B"})]);
        // YAML 1.1 as go-yaml v2 reads it.
        assert_eq!(split_yaml_to_strings("kind: A\nx: on\n", (3, 4)).unwrap(), [json!({"kind": "A", "x": true})]);
        assert_eq!(split_yaml_to_strings("", (3, 4)).unwrap(), Vec::<Value>::new());
        assert_eq!(split_yaml_to_strings("null\n---\n", (3, 4)).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn objects_are_checked_and_lists_flattened() {
        let list = json!({"kind": "List", "items": [{"kind": "A"}, {"kind": "B"}]});
        assert_eq!(to_objects(vec![list]).unwrap(), [json!({"kind": "A"}), json!({"kind": "B"})]);
        assert_eq!(to_objects(vec![json!({"kind": "ConfigMapList", "items": null})]).unwrap(), Vec::<Value>::new());
        assert!(to_objects(vec![json!([{"kind": "A"}])]).unwrap_err().contains("cannot unmarshal array"));
        assert!(to_objects(vec![json!({"apiVersion": "v1"})]).unwrap_err().contains("Object 'Kind' is missing"));
        assert!(to_objects(vec![json!("text")]).is_err());
    }

    #[test]
    fn kube_version_depends_on_the_argocd_version() {
        assert_eq!(kube_version("v1.29.3+k3s1", (3, 4)), "1.29.3");
        assert_eq!(kube_version("v1.29.3+k3s1", (3, 1)), "1.29");
        assert_eq!(kube_version("v1.29.3", (2, 14)), "1.29");
    }

    #[test]
    fn argv_is_logged_like_go() {
        let argv = ["temper", "argocd", "a b", ""].map(String::from);
        assert_eq!(log_args(&argv), r#"temper argocd "a b" """#);
    }
}
