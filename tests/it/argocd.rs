//! `temper argocd generate` as ArgoCD runs it: every test goes through the cmp-server
//! emulator (`argocd/cmp.rs`), with `deploy/argocd/plugin.yaml` as the plugin and a sidecar
//! PATH holding only what the test puts there: the built temper, the real helm from
//! `tools/helm/helm` (installed by `scripts/tools.sh`), and small test doubles for kustomize.
//! Also the shape of the files in `deploy/argocd/` and `examples/argocd/`.

mod cmp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use temper::read::{self, Input};

use cmp::{Emulator, Report, Status, find};

use crate::util::TempDir;

/// The deadlines of a request in tests that are not about deadlines. ArgoCD gives a request
/// 60 s (the emulator's default) and temper stops helm or kustomize after 45 s; a loaded
/// machine must not fail a test that a fast one passes, so here the request gets ten
/// minutes and temper's limit is ten seconds less. The deadline tests set their own.
const PATIENT: Duration = Duration::from_secs(600);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap()
}

/// A scratch directory: a repository to serve, the sidecar's PATH directory and temp
/// directory. Removed when dropped.
struct Scratch(TempDir);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = TempDir::new(&format!("argocd-{name}"));
        for sub in ["repo", "bin", "sidecar-tmp"] {
            std::fs::create_dir_all(dir.path(sub)).unwrap();
        }
        Scratch(dir)
    }

    fn repo(&self) -> PathBuf {
        self.0.path("repo")
    }

    /// Writes a file into the repository.
    fn file(&self, path: &str, text: &str) -> &Scratch {
        let path = self.repo().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Copies a directory of this project into the repository at the same place.
    fn copy(&self, path: &str) -> &Scratch {
        copy_dir(&repo(path), &self.repo().join(path));
        self
    }

    /// Puts `name` in the sidecar's PATH directory: a link to `target`.
    fn link(&self, name: &str, target: &Path) -> &Scratch {
        let _ = std::fs::remove_file(self.0.path("bin").join(name));
        std::os::unix::fs::symlink(target, self.0.path("bin").join(name)).unwrap();
        self
    }

    /// Puts an executable `#!/bin/sh` script named `name` in the sidecar's PATH directory.
    fn script(&self, name: &str, body: &str) -> &Scratch {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.0.path("bin").join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    fn with_temper(&self) -> &Scratch {
        self.link("temper", Path::new(env!("CARGO_BIN_EXE_temper")))
    }

    /// The real helm. Missing, it fails the test: these tests never skip.
    fn with_helm(&self) -> &Scratch {
        let helm = repo("tools/helm/helm");
        assert!(helm.is_file(), "{} is missing: run scripts/tools.sh, which installs helm v3.10.1", helm.display());
        self.link("helm", &helm)
    }

    /// An emulator for `application` (YAML or JSON) with the example plugin.yaml, whose
    /// sidecar PATH is the scratch bin directory followed by `extra_path`, and whose deadlines
    /// are [`PATIENT`].
    fn emulator(&self, application: &str, extra_path: &[&Path]) -> Emulator {
        let mut emulator =
            Emulator::new(&self.repo(), &read("deploy/argocd/plugin.yaml"), application, &self.0.path("sidecar-tmp"));
        let dirs = std::iter::once(self.0.path("bin")).chain(extra_path.iter().map(|p| p.to_path_buf()));
        let path = std::env::join_paths(dirs).unwrap();
        emulator.sidecar("PATH", path.to_str().unwrap());
        emulator.timeout = PATIENT;
        emulator.sidecar("TEMPER_ARGOCD_TIMEOUT", &(PATIENT.as_secs() - 10).to_string());
        emulator
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// An Application `shop` in namespace `app_namespace`, deploying `path` to namespace `dest`
/// through `plugin` (its `spec.source.plugin`).
fn application(app_namespace: &str, path: &str, dest: &str, plugin: Value) -> String {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "shop", "namespace": app_namespace},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
            "source": {"repoURL": "https://git.example.com/shop.git", "targetRevision": "main", "path": path, "plugin": plugin},
        },
    })
    .to_string()
}

#[track_caller]
fn ok(report: &Report) -> &[Value] {
    assert_eq!(report.status, Status::Ok, "stderr:\n{}", report.stderr_generate);
    &report.manifests
}

#[track_caller]
fn object<'a>(manifests: &'a [Value], kind: &str, name: &str) -> &'a Value {
    find(manifests, kind, name).unwrap_or_else(|| {
        let all: Vec<String> = manifests.iter().map(|m| format!("{}/{}", m["kind"], m["metadata"]["name"])).collect();
        panic!("no {kind}/{name} among {all:?}")
    })
}

/// The environment temper used, from its summary line on stderr.
fn environment_used(report: &Report) -> String {
    let summary = |l: &&str| l.starts_with("temper: ") && l.contains(" documents, ");
    let line = report.stderr_generate.lines().find(summary).unwrap_or_default();
    line.split(':').nth(1).unwrap_or_default().trim().to_string()
}

/// A failure of the generate command that printed nothing and explained itself on exactly
/// one stderr line, which is also in the error ArgoCD shows.
#[track_caller]
fn one_line_failure(report: &Report, exit: i32, needle: &str) {
    let error = report.error();
    assert_eq!(report.exit_code, Some(exit), "{error}");
    assert!(report.stdout.is_empty(), "{}", report.stdout);
    let lines: Vec<&str> = report.stderr_generate.lines().collect();
    assert_eq!(lines.len(), 1, "{}", report.stderr_generate);
    assert!(lines[0].contains(needle), "{}", lines[0]);
    assert!(
        error.starts_with("error generating manifests in cmp: `temper argocd generate")
            && error.contains(&format!("` failed exit status {exit}: temper: error: ")),
        "{error}"
    );
    assert!(error.contains(needle), "{error}");
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: registry.example.com/web:1.0\n        readinessProbe: {tcpSocket: {port: 80}}\n        livenessProbe: {tcpSocket: {port: 80}}\n";
const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n";

/// `examples/argocd/application.yaml` as committed, on the quickstart chart, with the real
/// helm: the parameters reach helm, staging hardens the result, and the work (temper and
/// helm, in CPU time, which a loaded machine does not inflate) takes a fraction of ArgoCD's
/// 60 s deadline.
#[test]
fn the_example_application_renders_and_hardens_the_quickstart_chart() {
    let s = Scratch::new("example");
    s.copy("examples/quickstart/chart").copy("examples/argocd").with_temper().with_helm();
    let report = s.emulator(&read("examples/argocd/application.yaml"), &[]).generate();
    let manifests = ok(&report);
    assert!(report.cpu < Duration::from_secs(30), "used {:?} of CPU time", report.cpu);
    assert!(report.cpu > Duration::ZERO, "the CPU time was not measured");
    assert!(report.warnings.is_empty(), "plugin.yaml keys ArgoCD ignores: {:?}", report.warnings);

    assert_eq!(report.env_value("ARGOCD_APP_NAME"), Some("quickstart"));
    assert_eq!(
        report.env_value("ARGOCD_APP_PARAMETERS"),
        Some(
            r#"[{"name":"env","string":"staging"},{"array":["../../argocd/values-staging.yaml"],"name":"values-files"},{"map":{"web.image.tag":"2.4.2"},"name":"helm-parameters"}]"#
        )
    );
    assert_eq!(report.env_value("PARAM_VALUES_FILES_0"), Some("../../argocd/values-staging.yaml"));
    assert_eq!(report.env_value("PARAM_HELM_PARAMETERS_WEB_IMAGE_TAG"), Some("2.4.2"));
    assert_eq!(environment_used(&report), "staging");

    let web = object(manifests, "Deployment", "quickstart-web");
    assert_eq!(web["metadata"]["namespace"], json!("platform"));
    assert_eq!(web["spec"]["replicas"], json!(2), "from values-staging.yaml");
    let container = &web["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], json!("registry.example.com/platform/web:2.4.2"), "from helm-parameters");
    assert_eq!(web["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], json!(true));
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], json!(true));
    let scheduler = object(manifests, "CronJob", "quickstart-scheduler");
    let image = &scheduler["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, &json!("registry.example.com/platform/scheduler:2.4.1"), "from values-staging.yaml");
    // ArgoCD applies Helm hooks as its own hooks, and temper saw them: unlike a Helm 3
    // post-renderer, the migration hook is hardened too.
    let hook = object(manifests, "Job", "quickstart-migrate");
    assert_eq!(hook["metadata"]["annotations"]["helm.sh/hook"], json!("pre-install,pre-upgrade"));
    assert_eq!(hook["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], json!(true));
    assert!(manifests.iter().any(|m| m["kind"] == json!("NetworkPolicy")), "staging generates NetworkPolicies");
}

/// An Application outside ArgoCD's namespace is `<namespace>_<name>` to the plugin; Helm
/// rejects that as a release name, so temper strips the prefix.
#[test]
fn a_namespaced_application_keeps_its_plain_name_as_the_release() {
    let s = Scratch::new("namespaced");
    s.copy("examples/quickstart/chart").with_temper().with_helm();
    let app = application(
        "team-a",
        "examples/quickstart/chart",
        "platform",
        json!({"name": "temper-v1", "env": [{"name": "TEMPER_ENV", "value": "dev"}]}),
    );
    let app = app.replace("\"shop\"", "\"quickstart\"");
    let report = s.emulator(&app, &[]).generate();
    let manifests = ok(&report);
    assert_eq!(report.env_value("ARGOCD_APP_NAME"), Some("team-a_quickstart"));
    let web = object(manifests, "Deployment", "quickstart-web");
    assert_eq!(web["metadata"]["labels"]["app.kubernetes.io/instance"], json!("quickstart"));
}

const CAPABILITIES_CHART: &str = "apiVersion: v2\nname: capabilities\nversion: 0.1.0\n";
const CAPABILITIES_VALUES: &str = "greeting: default\ncolour: none\ncsv: none\nitems: []\nfail: false\n";
const CAPABILITIES_TEMPLATE: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-capabilities
  namespace: {{ .Release.Namespace }}
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  widgets: {{ .Capabilities.APIVersions.Has "example.com/v1/Widget" | quote }}
  widgetGroup: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}
  greeting: {{ .Values.greeting | quote }}
  colour: {{ .Values.colour | quote }}
  csv: {{ .Values.csv | quote }}
  items: {{ join "+" .Values.items | quote }}
{{- if .Values.fail }}
{{ fail "the chart was asked to fail" }}
{{- end }}
"#;
const WIDGET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema: {openAPIV3Schema: {type: object}}\n";

fn capabilities_repo(name: &str) -> Scratch {
    let s = Scratch::new(name);
    s.file("charts/caps/Chart.yaml", CAPABILITIES_CHART)
        .file("charts/caps/values.yaml", CAPABILITIES_VALUES)
        .file("charts/caps/templates/configmap.yaml", CAPABILITIES_TEMPLATE)
        .file("charts/caps/crds/widgets.yaml", WIDGET_CRD)
        .file("charts/caps/values-a.yaml", "greeting: from-a\ncolour: red\n")
        // Go's JSON escapes <, > and & in ARGOCD_APP_PARAMETERS; the name must survive.
        .file("charts/caps/values&<b>.yaml", "colour: blue\n")
        .file("config/shared.yaml", "csv: shared\n")
        .with_temper()
        .with_helm();
    s
}

fn caps_plugin(values_files: &[&str], helm_parameters: Value) -> Value {
    json!({"name": "temper-v1", "parameters": [
        {"name": "env", "string": "dev"},
        {"name": "values-files", "array": values_files},
        {"name": "helm-parameters", "map": helm_parameters},
    ]})
}

/// Values files in order (one outside the chart, one whose name Go's JSON escapes),
/// `--set` values with commas and lists, the destination namespace, the CRDs, and the
/// cluster's version and API versions as ArgoCD passes them.
#[test]
fn helm_gets_the_parameters_and_the_cluster_as_argocd_sends_them() {
    let s = capabilities_repo("helm-parameters");
    let plugin = caps_plugin(
        &["../../config/shared.yaml", "values-a.yaml", "values&<b>.yaml"],
        json!({"greeting": "from-set", "csv": "a,b", "items": "{x,y}"}),
    );
    let app = application("argocd", "charts/caps", "shop", plugin);
    let mut emulator = s.emulator(&app, &[]);
    emulator.api_resources.push(("example.com".into(), "v1".into(), "Widget".into()));
    let report = emulator.generate();
    let manifests = ok(&report);
    assert!(
        report.env_value("ARGOCD_APP_PARAMETERS").unwrap().contains(r#""values\u0026\u003cb\u003e.yaml""#),
        "{:?}",
        report.env_value("ARGOCD_APP_PARAMETERS")
    );
    assert_eq!(report.env_value("KUBE_VERSION"), Some("1.29.3"));
    assert!(report.env_value("KUBE_API_VERSIONS").unwrap().contains("example.com/v1/Widget"));

    let data = &object(manifests, "ConfigMap", "shop-capabilities")["data"];
    assert_eq!(data["kubeVersion"], json!("v1.29.3"));
    assert_eq!(data["widgets"], json!("true"));
    assert_eq!(data["widgetGroup"], json!("true"));
    assert_eq!(data["greeting"], json!("from-set"), "--set wins over values files");
    assert_eq!(data["colour"], json!("blue"), "the later values file wins");
    assert_eq!(data["csv"], json!("a,b"), "a comma in a --set value is escaped, as ArgoCD does");
    assert_eq!(data["items"], json!("x+y"), "a {{a,b}} value stays a list");
    assert_eq!(object(manifests, "ConfigMap", "shop-capabilities")["metadata"]["namespace"], json!("shop"));
    assert!(find(manifests, "CustomResourceDefinition", "widgets.example.com").is_some(), "CRDs are included");

    // Argo CD before 3.4 sends only major.minor, and a cluster without the group says so.
    emulator.argocd_version = (3, 0);
    emulator.api_resources.pop();
    let report = emulator.generate();
    let data = &object(ok(&report), "ConfigMap", "shop-capabilities")["data"];
    assert_eq!(report.env_value("KUBE_VERSION"), Some("1.29"));
    assert_eq!(data["kubeVersion"], json!("v1.29.0"));
    assert_eq!(data["widgets"], json!("false"));
}

/// helm's own error reaches the ArgoCD UI; bad values files are refused before helm runs.
#[test]
fn helm_failures_and_bad_values_files_fail_the_generate_with_the_reason() {
    let s = capabilities_repo("helm-failures");
    let run = |files: &[&str], set: Value| {
        s.emulator(&application("argocd", "charts/caps", "shop", caps_plugin(files, set)), &[]).generate()
    };
    let report = run(&[], json!({"fail": "true"}));
    let error = report.error();
    assert_eq!(report.exit_code, Some(2));
    assert!(report.stdout.is_empty());
    assert!(error.contains("helm template failed (exit status 1):"), "{error}");
    assert!(error.contains("the chart was asked to fail"), "{error}");

    for (file, why) in [
        ("../../../outside.yaml", "is outside the repository"),
        ("missing.yaml", "does not exist"),
        ("/etc/hostname", "must be a path relative to the application directory"),
        ("https://example.com/values.yaml", "must be a path relative to the application directory"),
    ] {
        let report = run(&[file], json!({}));
        one_line_failure(&report, 2, &format!("values file `{file}` (parameter values-files) {why}"));
    }
    let report = s
        .emulator(
            &application(
                "argocd",
                "charts/caps",
                "shop",
                json!({"name": "temper-v1", "parameters": [{"name": "values", "array": ["a.yaml"]}]}),
            ),
            &[],
        )
        .generate();
    one_line_failure(&report, 2, "unknown plugin parameter `values`");
}

/// The directory source: the application directory's manifest files in name order, JSON
/// included, Lists as they are, no subdirectories, stray YAML files skipped.
#[test]
fn a_directory_of_manifests_is_read_like_argocds_directory_source() {
    let s = Scratch::new("directory");
    let service = r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}"#;
    let list = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {mode: fast}}\n- {apiVersion: v1, kind: ServiceAccount, metadata: {name: web}}\n";
    s.file("apps/shop/10-deployment.yaml", DEPLOYMENT)
        .file("apps/shop/20-service.json", service)
        .file("apps/shop/30-list.yml", list)
        .file("apps/shop/values.yaml", "replicaCount: 2\n")
        .file("apps/shop/README.md", "kind: Deployment\n")
        .file("apps/shop/nested/deployment.yaml", &DEPLOYMENT.replace("name: web\n", "name: nested\n"))
        .with_temper();
    let plugin = json!({"name": "temper-v1", "env": [{"name": "TEMPER_ENV", "value": "dev"}]});
    let report = s.emulator(&application("argocd", "apps/shop", "shop", plugin), &[]).generate();
    let manifests = ok(&report);
    let names: Vec<String> = manifests
        .iter()
        .map(|m| format!("{}/{}", m["kind"].as_str().unwrap(), m["metadata"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, ["Deployment/web", "Service/web", "ConfigMap/settings", "ServiceAccount/web"]);
    let web = object(manifests, "Deployment", "web");
    assert!(
        web["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"].is_string(),
        "dev sets resources"
    );
    assert!(
        report.stderr_generate.contains("temper: skipped ./values.yaml: not a Kubernetes manifest"),
        "{}",
        report.stderr_generate
    );

    // One JSON file: temper prints it as it came, and ArgoCD reads stdout as a JSON stream.
    let s = Scratch::new("directory-json");
    s.file("app/service.json", service).with_temper();
    let report = s
        .emulator(
            &application(
                "argocd",
                "app",
                "shop",
                json!({"name": "temper-v1", "parameters": [{"name": "env", "string": "dev"}]}),
            ),
            &[],
        )
        .generate();
    assert_eq!(ok(&report).len(), 1);
    assert!(report.stdout.starts_with('{'), "{}", report.stdout);
    assert_eq!(report.stdout, service);

    // jsonnet is ArgoCD's, not temper's: refusing it beats dropping its objects.
    s.file("app/extra.jsonnet", "{}");
    let report = s.emulator(&application("argocd", "app", "shop", json!({"name": "temper-v1"})), &[]).generate();
    one_line_failure(&report, 2, "jsonnet is not supported");
}

const KUSTOMIZED: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop-web\n  labels: {from: kustomize}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: registry.example.com/web:1.0\n";

/// A stand-in for kustomize (or kubectl) that checks its arguments and prints a known stream.
fn kustomize_double(args: &str) -> String {
    format!(
        "[ \"$*\" = \"{args}\" ] || {{ echo \"unexpected arguments: $*\" >&2; exit 1; }}\necho 'double: building' >&2\nprintf '%s' '{KUSTOMIZED}'\n"
    )
}

fn kustomize_repo(name: &str) -> Scratch {
    let s = Scratch::new(name);
    s.file("app/kustomization.yaml", "resources: [deployment.yaml]\nnamePrefix: shop-\n")
        .file("app/deployment.yaml", &KUSTOMIZED.replace("shop-web", "web"))
        // ArgoCD prefers the kustomization when both are there; so does temper.
        .file("app/Chart.yaml", "apiVersion: v2\nname: not-this\nversion: 0.1.0\n")
        .with_temper();
    s
}

fn dev_app(path: &str) -> String {
    application("argocd", path, "shop", json!({"name": "temper-v1", "parameters": [{"name": "env", "string": "dev"}]}))
}

/// `kustomize build .`, else `kubectl kustomize .`, with test doubles; their stderr is kept
/// for the cmp-server's log, and their failures reach the UI.
#[test]
fn a_kustomization_is_built_with_kustomize_or_kubectl() {
    for (tool, args) in [("kustomize", "build ."), ("kubectl", "kustomize .")] {
        let s = kustomize_repo(tool);
        s.script(tool, &kustomize_double(args));
        let report = s.emulator(&dev_app("app"), &[]).generate();
        let web = object(ok(&report), "Deployment", "shop-web");
        assert_eq!(web["metadata"]["labels"]["from"], json!("kustomize"), "{tool}");
        assert!(web["spec"]["template"]["spec"]["containers"][0]["resources"].is_object(), "{tool}: hardened");
        assert!(report.stderr_generate.contains("double: building"), "{tool}: {}", report.stderr_generate);
    }

    let s = kustomize_repo("kustomize-fails");
    s.script("kustomize", "echo 'Error: accumulating resources: missing.yaml' >&2\nexit 1\n");
    let report = s.emulator(&dev_app("app"), &[]).generate();
    let error = report.error();
    assert!(
        error.contains("kustomize build failed (exit status 1):\nError: accumulating resources: missing.yaml"),
        "{error}"
    );

    let s = kustomize_repo("kustomize-missing");
    let report = s.emulator(&dev_app("app"), &[]).generate();
    one_line_failure(&report, 2, "neither kustomize nor kubectl is on PATH");
}

/// The real kustomize or kubectl, when this machine has one (the doubles above cover the
/// contract everywhere).
#[test]
fn a_kustomization_is_built_with_the_real_tool_when_installed() {
    let host_path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["kustomize", "kubectl"]
        .iter()
        .find_map(|tool| std::env::split_paths(&host_path).find(|d| d.join(tool).is_file()).map(|d| (*tool, d)));
    let Some((tool, dir)) = found else {
        eprintln!("NOTE: neither kustomize nor kubectl is installed; only the kustomize test doubles ran");
        return;
    };
    let s = kustomize_repo("kustomize-real");
    let report = s.emulator(&dev_app("app"), &[&dir]).generate();
    let web = object(ok(&report), "Deployment", "shop-web");
    assert_eq!(web["metadata"]["labels"]["from"], json!("kustomize"), "{tool}");
    assert!(web["spec"]["template"]["spec"]["containers"][0]["resources"].is_object(), "{tool}: hardened");
}

/// Where the environment comes from: the `env` parameter, else `TEMPER_ENV` in the
/// Application's plugin env (ArgoCD's `ARGOCD_ENV_TEMPER_ENV`), else the sidecar's
/// `TEMPER_ENV`, else the default; a repository's `.argocd-source.yaml` can override the
/// Application; a plugin pinned with `--env` refuses any other.
#[test]
fn the_environment_comes_from_the_parameter_then_the_plugin_env_then_the_sidecar() {
    let s = Scratch::new("environments");
    s.file("app/configmap.yaml", CONFIG_MAP).with_temper();
    let env_param = |env: &str| json!({"name": "env", "string": env});
    let plugin_env = |value: &str| json!([{"name": "TEMPER_ENV", "value": value}]);
    let run = |app_ns: &str, dest: &str, plugin: Value, sidecar: Option<&str>| {
        let mut emulator = s.emulator(&application(app_ns, "app", dest, plugin), &[]);
        if let Some(env) = sidecar {
            emulator.sidecar("TEMPER_ENV", env);
        }
        let report = emulator.generate();
        ok(&report);
        report
    };

    let report = run(
        "argocd",
        "shop",
        json!({"name": "temper-v1", "parameters": [env_param("staging")], "env": plugin_env("dev")}),
        Some("prod"),
    );
    assert_eq!(environment_used(&report), "staging", "the parameter wins");
    assert_eq!(report.env_value("PARAM_ENV"), Some("staging"));
    assert_eq!(report.env_value("ARGOCD_ENV_TEMPER_ENV"), Some("dev"));

    // Plugin env values are expanded over ArgoCD's variables: here the destination namespace.
    let report =
        run("argocd", "dev", json!({"name": "temper-v1", "env": plugin_env("${ARGOCD_APP_NAMESPACE}")}), Some("prod"));
    assert_eq!(report.env_value("ARGOCD_ENV_TEMPER_ENV"), Some("dev"));
    assert_eq!(environment_used(&report), "dev", "the plugin env wins over the sidecar");

    let report = run("argocd", "shop", json!({"name": "temper-v1"}), Some("staging"));
    assert_eq!(environment_used(&report), "staging", "the sidecar's TEMPER_ENV");
    let report = run("argocd", "shop", json!({"name": "temper-v1"}), None);
    assert_eq!(environment_used(&report), "prod", "the configuration's default");

    // The repository overrides the Application (a JSON merge patch: lists are replaced).
    s.file("app/.argocd-source.yaml", "plugin:\n  parameters:\n  - name: env\n    string: dev\n");
    let report = run("argocd", "shop", json!({"name": "temper-v1", "parameters": [env_param("staging")]}), None);
    assert_eq!(environment_used(&report), "dev");
    assert!(report.stderr_generate.contains("skipped ./.argocd-source.yaml"), "{}", report.stderr_generate);
    std::fs::remove_file(s.repo().join("app/.argocd-source.yaml")).unwrap();

    let mut emulator = s.emulator(
        &application("argocd", "app", "shop", json!({"name": "temper-v1", "parameters": [env_param("dev")]})),
        &[],
    );
    emulator.plugin_yaml = emulator
        .plugin_yaml
        .replace("command: [temper, argocd, generate]", "command: [temper, argocd, generate]\n    args: [--env, prod]");
    let report = emulator.generate();
    one_line_failure(
        &report,
        2,
        "the Application asks for environment `dev` (the `env` parameter), but this plugin is pinned to `prod` (--env)",
    );

    let report = s
        .emulator(
            &application("argocd", "app", "shop", json!({"name": "temper-v1", "parameters": [env_param("qa")]})),
            &[],
        )
        .generate();
    one_line_failure(&report, 2, "unknown environment `qa` (from the `env` parameter)");
}

/// Empty output is success to ArgoCD, and with auto-prune deletes the whole application.
/// temper refuses to print nothing: a chart that renders nothing and a directory without
/// manifests both fail, with one line saying why.
#[test]
fn an_empty_render_fails_instead_of_pruning_the_application() {
    let s = Scratch::new("empty");
    s.file("chart/Chart.yaml", "apiVersion: v2\nname: empty\nversion: 0.1.0\n")
        .file("chart/values.yaml", "enabled: false\n")
        .file("chart/templates/app.yaml", &format!("{{{{- if .Values.enabled }}}}\n{CONFIG_MAP}{{{{- end }}}}\n"))
        .file("dir/README.md", "nothing to deploy\n")
        .file("dir/values.yaml", "enabled: false\n")
        .file("lists/empty.yaml", "apiVersion: v1\nkind: List\nitems: []\n")
        .with_temper()
        .with_helm();
    for path in ["chart", "dir", "lists"] {
        let report = s.emulator(&dev_app(path), &[]).generate();
        one_line_failure(&report, 2, "the application rendered no Kubernetes resources");
    }
    // What ArgoCD makes of a plugin that prints nothing: success, with zero resources.
    let mut emulator = s.emulator(&dev_app("dir"), &[Path::new("/usr/bin"), Path::new("/bin")]);
    emulator.plugin_yaml = emulator.plugin_yaml.replace("command: [temper, argocd, generate]", "command: [\"true\"]");
    assert_eq!(emulator.generate().status, Status::Empty);
}

/// No helm in the sidecar image: one line naming what to install.
#[test]
fn a_missing_helm_is_one_clear_error() {
    let s = Scratch::new("no-helm");
    s.copy("examples/quickstart/chart").with_temper();
    let report = s.emulator(&dev_app("examples/quickstart/chart"), &[]).generate();
    one_line_failure(&report, 2, "helm is not installed: no `helm` on PATH; the sidecar image needs helm");
}

/// An enforced violation fails the generate (exit 3): ArgoCD shows temper's stderr, naming
/// each violation, and syncs nothing.
#[test]
fn enforced_violations_fail_the_generate_with_the_violations() {
    let s = Scratch::new("enforce");
    s.copy("examples/quickstart/chart").copy("examples/argocd").with_temper().with_helm();
    let app = read("examples/argocd/application.yaml").replace("string: staging", "string: prod");
    let report = s.emulator(&app, &[]).generate();
    let error = report.error();
    assert_eq!(report.exit_code, Some(3), "{error}");
    assert!(report.stdout.is_empty());
    assert!(
        error.starts_with(
            "error generating manifests in cmp: `temper argocd generate` failed exit status 3: temper: prod:"
        ),
        "{error}"
    );
    for needle in [
        "error[plaintext-secrets] Secret/platform/quickstart-postgresql",
        "error[env-secret-literals] Deployment/platform/quickstart-engine",
        "violation(s) of enforced rules in environment `prod`; nothing was written",
    ] {
        assert!(error.contains(needle), "the error lacks {needle:?}:\n{error}");
    }
    assert!(!error.contains("error[image-tag]"), "values-staging.yaml pins the scheduler's tag:\n{error}");
}

/// temper stops a hung helm or kustomize itself, well before ArgoCD's deadline, so the UI
/// says what hung; ArgoCD's own deadline kills temper without a word. The tool hangs for an
/// hour; each request must end within five minutes, a ceiling no machine load reaches when
/// the deadline is a second or two, so that ending proves the deadline stopped it.
#[test]
fn a_hung_tool_is_stopped_before_argocds_deadline() {
    let s = kustomize_repo("hung");
    s.script("kustomize", "exec /bin/sleep 3600\n");
    let ceiling = Duration::from_secs(300);
    let mut emulator = s.emulator(&dev_app("app"), &[]);
    emulator.sidecar("TEMPER_ARGOCD_TIMEOUT", "1");
    let report = emulator.generate();
    one_line_failure(&report, 2, "kustomize build did not finish within 1 s and was stopped");
    assert!(report.duration < ceiling, "took {:?}", report.duration);

    let mut emulator = s.emulator(&dev_app("app"), &[]);
    emulator.timeout = Duration::from_secs(2);
    let report = emulator.generate();
    assert_eq!(report.error(), "error generating manifests in cmp: `temper argocd generate` failed signal: killed");
    assert!(report.duration < ceiling, "took {:?}", report.duration);
}

/// The files of `deploy/argocd/` and the example Application, read as Kubernetes reads them,
/// and consistent with each other: the ConfigMap holds plugin.yaml, the patch mounts that
/// ConfigMap's key where the cmp-server reads it, and the Application names the plugin as
/// ArgoCD derives its name.
#[test]
fn the_example_files_have_the_shape_argocd_needs() {
    let parse = |path: &str| -> Vec<Value> {
        let inputs = [Input::new(path, read(path))];
        read::parse(&inputs).unwrap().into_iter().filter_map(|d| d.value).collect()
    };
    let plugin = &parse("deploy/argocd/plugin.yaml")[0];
    assert_eq!(plugin["kind"], json!("ConfigManagementPlugin"));
    assert_eq!(plugin["metadata"]["name"], json!("temper"));
    assert_eq!(plugin["spec"]["version"], json!("v1"));
    assert_eq!(plugin["spec"]["generate"]["command"], json!(["temper", "argocd", "generate"]));
    assert!(plugin["spec"].get("discover").is_none(), "the plugin is opt-in: no discovery");
    let announced: Vec<(&str, &str)> = plugin["spec"]["parameters"]["static"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            for key in p.as_object().unwrap().keys() {
                let known =
                    ["name", "title", "tooltip", "required", "itemType", "collectionType", "string", "array", "map"];
                assert!(known.contains(&key.as_str()), "ArgoCD ignores the announcement key {key:?}");
            }
            (p["name"].as_str().unwrap(), p["collectionType"].as_str().unwrap_or("string"))
        })
        .collect();
    assert_eq!(announced, [("env", "string"), ("values-files", "array"), ("helm-parameters", "map")]);

    // The ConfigMap holds plugin.yaml, byte for byte.
    let config_map = &parse("deploy/argocd/plugin-configmap.yaml")[0];
    assert_eq!(config_map["kind"], json!("ConfigMap"));
    assert_eq!(config_map["data"]["plugin.yaml"], json!(read("deploy/argocd/plugin.yaml")));

    let patch = &parse("deploy/argocd/repo-server-patch.yaml")[0];
    assert_eq!((&patch["kind"], &patch["metadata"]["name"]), (&json!("Deployment"), &json!("argocd-repo-server")));
    let pod = &patch["spec"]["template"]["spec"];
    let sidecar = &pod["containers"][0];
    assert_eq!(sidecar["command"], json!(["/var/run/argocd/argocd-cmp-server"]));
    assert_eq!(sidecar["securityContext"]["runAsNonRoot"], json!(true));
    assert_eq!(sidecar["securityContext"]["runAsUser"], json!(999));
    let mounts: Vec<(&str, &str, Option<&str>)> = sidecar["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["mountPath"].as_str().unwrap(), m["subPath"].as_str()))
        .collect();
    assert_eq!(
        mounts,
        [
            ("var-files", "/var/run/argocd", None),
            ("plugins", "/home/argocd/cmp-server/plugins", None),
            ("temper-cmp-plugin", "/home/argocd/cmp-server/config/plugin.yaml", Some("plugin.yaml")),
            ("cmp-tmp", "/tmp", None),
        ]
    );
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "temper-cmp-plugin", "configMap": {"name": config_map["metadata"]["name"]}},
            {"name": "cmp-tmp", "emptyDir": {}},
        ]),
        "var-files and plugins are the repo-server's own volumes"
    );

    // The image is the one deploy/argocd/Dockerfile builds (tests/it/packaging.rs checks the
    // Dockerfile's side), tagged with this version.
    assert_eq!(sidecar["image"], json!(format!("registry.example.com/temper-cmp:{}", env!("CARGO_PKG_VERSION"))));
    let key = sidecar["volumeMounts"][2]["subPath"].as_str().unwrap();
    assert!(config_map["data"].get(key).is_some(), "the mounted key {key} is in the ConfigMap");

    let app = &parse("examples/argocd/application.yaml")[0];
    assert_eq!(app["kind"], json!("Application"));
    let selected = &app["spec"]["source"]["plugin"];
    let derived =
        format!("{}-{}", plugin["metadata"]["name"].as_str().unwrap(), plugin["spec"]["version"].as_str().unwrap());
    assert_eq!(selected["name"], json!(derived), "<metadata.name>-<spec.version>");
    assert_eq!(derived, "temper-v1");
    let names: Vec<&str> =
        selected["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["env", "values-files", "helm-parameters"]);
}

/// The plugin is opt-in: an Application must name it `temper-v1`, and one that names no
/// plugin never reaches it, because plugin.yaml has no discovery rule.
#[test]
fn only_applications_naming_temper_v1_reach_the_plugin() {
    let s = Scratch::new("selection");
    s.file("app/configmap.yaml", CONFIG_MAP).with_temper();
    let report = s.emulator(&application("argocd", "app", "shop", json!({"name": "temper"})), &[]).generate();
    assert_eq!(
        report.error(),
        r#"could not find cmp-server plugin with name "temper" supporting the given repository"#
    );
    let mut app: Value = serde_json::from_str(&dev_app("app")).unwrap();
    app["spec"]["source"].as_object_mut().unwrap().remove("plugin");
    let report = s.emulator(&app.to_string(), &[]).generate();
    assert_eq!(report.error(), "could not find plugin supporting the given repository");
    assert_eq!(report.exit_code, None, "temper never ran");
}
