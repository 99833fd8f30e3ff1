//! Helm end to end. A real Helm 3 (`tools/helm/helm`, v3.10.1, installed by
//! `scripts/tools.sh`) runs the built temper as its post-renderer, on the quickstart chart and
//! on a test chart with hooks and CRDs. Helm 4 cannot run here, so its input format is emulated
//! (`tests/fixtures/helm4/`, written the way helm's `annotateAndMerge` serialises), and the
//! Helm 4 `plugin.yaml` is checked against the rules Helm 4 decodes it with. Also the log file,
//! which is all a Helm 4 user sees of temper's messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use temper::read::{self, Input};

use crate::util::{TempDir, check_faithful, policy, render, run_with_stdin, temper, transcript};

const QUICKSTART: &str = "examples/quickstart/chart";
const HOOKS_AND_CRDS: &str = "tests/fixtures/charts/hooks-and-crds";
const PLATFORM: &str = "tests/fixtures/charts/platform";
const HELM4_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn temper_bin() -> &'static str {
    env!("CARGO_BIN_EXE_temper")
}

/// The real helm, run from the project directory. Helm passes its environment on to the
/// post-renderer, so it gets the same clean environment as [`temper`]. A missing helm fails
/// the test: these tests never skip.
fn helm() -> Command {
    let path = repo("tools/helm/helm");
    assert!(path.is_file(), "{} is missing: run scripts/tools.sh, which installs helm v3.10.1", path.display());
    let mut cmd = Command::new(path);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, value) in temper().get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

/// `helm template <release> <chart> --namespace platform <args>`.
fn helm_template(release: &str, chart: &str, args: &[&str]) -> Output {
    helm().args(["template", release, chart, "--namespace", "platform"]).args(args).output().unwrap()
}

/// The flags that make Helm 3 run the built temper, each of `args` as one
/// `--post-renderer-args`.
fn post_renderer<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec!["--post-renderer", temper_bin()];
    for arg in args {
        flags.extend(["--post-renderer-args", arg]);
    }
    flags
}

#[track_caller]
fn success(out: &Output) -> String {
    assert!(out.status.success(), "{}", transcript(out));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// A document with content, as temper reads it.
struct Doc {
    /// The chart file it came from (`# Source:` or the Helm 4 annotation), if any.
    template: Option<String>,
    /// Its text, separator line included.
    text: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }

    fn at(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }

    fn generated(&self) -> bool {
        self.at("/metadata/labels/app.kubernetes.io~1created-by") == Some(&json!("temper"))
    }
}

fn documents(text: &str) -> Vec<Doc> {
    let inputs = [Input::new("helm output", text)];
    read::parse(&inputs)
        .unwrap()
        .into_iter()
        .filter_map(|d| {
            let text = d.text(&inputs).to_string();
            Some(Doc { template: d.template().map(str::to_string), text, value: d.value? })
        })
        .collect()
}

#[track_caller]
fn find<'a>(docs: &'a [Doc], kind: &str, name: &str) -> &'a Doc {
    let mut found = docs.iter().filter(|d| d.kind() == kind && d.name() == name);
    let doc = found.next().unwrap_or_else(|| {
        let all: Vec<String> = docs.iter().map(|d| format!("{}/{}", d.kind(), d.name())).collect();
        panic!("no {kind}/{name} among {all:?}")
    });
    assert!(found.next().is_none(), "more than one {kind}/{name}");
    doc
}

/// The `# Source:` lines, in order.
fn sources(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("# Source: ")).collect()
}

#[test]
fn the_committed_quickstart_render_is_what_helm_renders() {
    let rendered = success(&helm_template("quickstart", QUICKSTART, &[]));
    let committed = std::fs::read_to_string(repo("examples/quickstart/rendered.yaml")).unwrap();
    assert!(
        rendered == committed,
        "examples/quickstart/rendered.yaml is out of date; regenerate it with\n  tools/helm/helm template quickstart {QUICKSTART} --namespace platform > examples/quickstart/rendered.yaml"
    );
}

/// Helm 3 calls temper with the environment as a post-renderer argument: every environment
/// hardens what it should, the `# Source:` lines survive, and the hook is never sent.
#[test]
fn helm_3_post_renders_the_quickstart_in_every_environment() {
    let plain = success(&helm_template("quickstart", QUICKSTART, &[]));
    let plain_docs = documents(&plain);
    let plain_hook = find(&plain_docs, "Job", "quickstart-migrate");
    for (env, extra) in [("dev", None), ("staging", None), ("prod", Some("--no-enforce"))] {
        let env_arg = format!("--env={env}");
        let args: Vec<&str> = std::iter::once(env_arg.as_str()).chain(extra).collect();
        let out = success(&helm_template("quickstart", QUICKSTART, &post_renderer(&args)));
        let docs = documents(&out);
        assert_eq!(sources(&out), sources(&plain), "{env}: the # Source: lines changed");

        // Every environment fixes resources and the pull policy.
        let engine = find(&docs, "Deployment", "quickstart-engine");
        let container = "/spec/template/spec/containers/0";
        assert_eq!(engine.at(&format!("{container}/resources/requests/cpu")), Some(&json!("500m")), "{env}");
        assert_eq!(engine.at(&format!("{container}/imagePullPolicy")), Some(&json!("IfNotPresent")), "{env}");
        let web = find(&docs, "Deployment", "quickstart-web");
        assert_eq!(web.at(&format!("{container}/resources/limits/memory")), Some(&json!("256Mi")), "{env}");
        // The chart's own values stay.
        assert_eq!(web.at(&format!("{container}/resources/requests/cpu")), Some(&json!("200m")), "{env}");

        // Helm 3 never sends hooks to a post-renderer: the hook comes out as the chart made it.
        let hook = find(&docs, "Job", "quickstart-migrate");
        assert_eq!(hook.text, plain_hook.text, "{env}: the hook changed");
        assert_eq!(hook.at("/spec/template/spec/securityContext"), None, "{env}");

        let security = web.at("/spec/template/spec/securityContext/runAsNonRoot");
        let generated: Vec<&Doc> = docs.iter().filter(|d| d.generated()).collect();
        for doc in &generated {
            assert_eq!(doc.template, None, "{env}: generated {} has a # Source: line", doc.name());
        }
        let generated_kinds: Vec<&str> = generated.iter().map(|d| d.kind()).collect();
        match env {
            "dev" => {
                assert_eq!(security, None, "dev only audits security contexts");
                assert!(generated.is_empty(), "dev generates nothing: {generated_kinds:?}");
                assert_eq!(web.at("/spec/replicas"), Some(&json!(1)));
            }
            "staging" => {
                assert_eq!(security, Some(&json!(true)));
                assert_eq!(web.at(&format!("{container}/securityContext/readOnlyRootFilesystem")), Some(&json!(true)));
                assert!(generated_kinds.contains(&"NetworkPolicy"), "{generated_kinds:?}");
                assert!(!generated_kinds.contains(&"PodDisruptionBudget"), "{generated_kinds:?}");
            }
            _ => {
                assert_eq!(security, Some(&json!(true)));
                assert_eq!(web.at("/spec/replicas"), Some(&json!(2)));
                // The cache is one Redis: two copies behind one Service would be two caches.
                assert_eq!(find(&docs, "Deployment", "quickstart-redis").at("/spec/replicas"), Some(&json!(1)));
                assert!(!generated.iter().any(|d| d.name() == "quickstart-redis-temper"), "the cache got a budget");
                let pdb = find(&docs, "PodDisruptionBudget", "quickstart-web-temper");
                assert_eq!(pdb.at("/spec/selector/matchLabels/app.kubernetes.io~1component"), Some(&json!("app")));
                assert_eq!(
                    find(&docs, "ResourceQuota", "temper-quota").at("/metadata/namespace"),
                    Some(&json!("platform"))
                );
            }
        }
    }
}

#[test]
fn the_committed_platform_render_is_what_helm_renders() {
    let rendered = success(&helm_template("platform", PLATFORM, &[]));
    let committed = std::fs::read_to_string(repo("tests/fixtures/release/platform.yaml")).unwrap();
    assert!(
        rendered == committed,
        "tests/fixtures/release/platform.yaml is out of date; regenerate it with\n  tools/helm/helm template platform {PLATFORM} --namespace platform > tests/fixtures/release/platform.yaml"
    );
}

/// The platform chart, post-rendered in prod the way `helm install -n platform` runs it: no two
/// objects with one identity once Helm puts the namespace-less ones in `platform`, with the
/// release namespace passed and without; the database and the cache stay at one replica with
/// no budget, and say why; the webhook and the load balancer stay reachable.
#[test]
fn helm_3_installs_the_platform_chart_without_breaking_it() {
    let dir = TempDir::new("platform");
    let log = dir.path("temper.log");
    let log_arg = format!("--log-file={}", log.display());
    for args in [vec!["--env=prod", "--no-enforce", "--namespace=platform"], vec!["--env=prod", "--no-enforce"]] {
        let _ = std::fs::remove_file(&log);
        let args: Vec<&str> = args.into_iter().chain([log_arg.as_str()]).collect();
        let out = helm()
            .args(["template", "platform", PLATFORM, "--namespace", "platform"])
            .args(post_renderer(&args))
            .output()
            .unwrap();
        let text = success(&out);
        let docs = documents(&text);
        // Identities as Helm's install meets them: a namespaced object without a namespace is
        // created in the release namespace.
        let cluster_scoped = ["IngressClass", "ValidatingWebhookConfiguration"];
        let mut seen = std::collections::HashSet::new();
        for doc in &docs {
            let ns = match doc.at("/metadata/namespace").and_then(Value::as_str) {
                _ if cluster_scoped.contains(&doc.kind()) => "",
                Some(ns) => ns,
                None => "platform",
            };
            let api = doc.at("/apiVersion").and_then(Value::as_str).unwrap_or_default();
            let id = format!("{api} {} {ns}/{}", doc.kind(), doc.name());
            assert!(seen.insert(id.clone()), "{args:?}: Helm would create {id} twice");
        }
        for store in ["platform-postgresql", "platform-keydb"] {
            let deployment = find(&docs, "Deployment", store);
            assert_eq!(deployment.at("/spec/replicas"), Some(&json!(1)), "{args:?}: {store} was scaled");
            assert!(
                !docs.iter().any(|d| d.kind() == "PodDisruptionBudget" && d.name() == format!("{store}-temper")),
                "{args:?}: {store} got a budget"
            );
        }
        // Helm keeps the post-renderer's stderr to itself: the summary is in the log file.
        let summary = std::fs::read_to_string(&log).unwrap();
        assert!(summary.contains("refused[minimum-replicas] Deployment/platform/platform-postgresql"), "{summary}");
        assert!(summary.contains("ReadWriteOnce claim `platform-postgresql-data`"), "{summary}");
        // The admission webhook (8443) and the load balancer (80, 443) are open to every source.
        let controller = find(&docs, "NetworkPolicy", "platform-ingress-nginx-controller-temper-ingress");
        let open: Vec<i64> = controller
            .at("/spec/ingress")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .filter(|rule| rule.get("from").is_none())
            .flat_map(|rule| rule["ports"].as_array().unwrap().iter().map(|p| p["port"].as_i64().unwrap()))
            .collect();
        for port in [8443, 80, 443] {
            assert!(open.contains(&port), "{args:?}: port {port} of the controller is not open to all: {open:?}");
        }
    }
}

/// `--post-renderer temper` with no path: Helm 3 looks it up in PATH only.
#[test]
fn helm_3_finds_temper_on_path() {
    let dir = Path::new(temper_bin()).parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap();
    let out = helm()
        .env("PATH", path)
        .args(["template", "quickstart", QUICKSTART, "--namespace", "platform"])
        .args(["--post-renderer", "temper", "--post-renderer-args", "--env=staging"])
        .output()
        .unwrap();
    let docs = documents(&success(&out));
    let web = find(&docs, "Deployment", "quickstart-web");
    assert_eq!(web.at("/spec/template/spec/securityContext/runAsNonRoot"), Some(&json!(true)));
}

/// `--show-only` re-splits the printed output on `# Source:` lines, which temper keeps.
/// Generated objects have no such line, so `--show-only` never shows them.
#[test]
fn show_only_still_works_after_temper() {
    let args = post_renderer(&["--env=prod", "--no-enforce"]);
    let out = helm_template(
        "quickstart",
        QUICKSTART,
        &[&["--show-only", "templates/web-deployment.yaml"][..], &args].concat(),
    );
    let out = success(&out);
    let docs = documents(&out);
    assert_eq!(docs.len(), 1, "{out}");
    assert_eq!(docs[0].template.as_deref(), Some("quickstart/templates/web-deployment.yaml"));
    assert_eq!(docs[0].at("/spec/template/spec/securityContext/runAsNonRoot"), Some(&json!(true)));

    let out = helm_template("quickstart", QUICKSTART, &[&["--show-only", "templates/jobs.yaml"][..], &args].concat());
    let docs = documents(&success(&out));
    let names: Vec<&str> = docs.iter().map(Doc::name).collect();
    assert_eq!(names, ["quickstart-assessment", "quickstart-conversion"]);
}

/// An enforced violation: temper exits 3 with nothing on stdout, and Helm 3 fails with
/// temper's stderr in its error. The log file gets the same explanation.
#[test]
fn an_enforced_violation_fails_helm_and_names_the_rules() {
    let tmp = TempDir::new("enforce");
    let log = tmp.path("temper.log");
    let log_arg = format!("--log-file={}", log.display());
    let out = helm_template("quickstart", QUICKSTART, &post_renderer(&["--env=prod", &log_arg]));
    assert!(!out.status.success(), "helm succeeded although prod enforces rules the chart breaks");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "error while running post render on files",
        "error[plaintext-secrets] Secret/platform/quickstart-postgresql",
        "error[env-secret-literals] Deployment/platform/quickstart-engine",
        "error[image-tag] CronJob/platform/quickstart-scheduler",
        "temper: 4 violation(s) of enforced rules in environment `prod`; nothing was written",
        "exit status 3",
    ] {
        assert!(stderr.contains(needle), "helm's error lacks {needle:?}:\n{stderr}");
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("error[plaintext-secrets]"), "{logged}");
    assert!(logged.contains("nothing was written"), "{logged}");
}

/// The warning temper gives for input without a single object.
const NO_OBJECT: &str = "temper: warning: no Kubernetes object in <stdin> (empty, or only comments and `---`); --fail-on-empty makes this an error\n";

/// Helm 3 writes `--output-dir` files before post-rendering, then runs the post-renderer with
/// no input at all. temper prints nothing and succeeds, even in an enforcing environment, but
/// not in silence: the warning is in the log file (Helm 3 drops stderr on success). With
/// `--fail-on-empty` the same command fails, with temper's reason in Helm's error.
#[test]
fn output_dir_sends_temper_zero_bytes_and_it_succeeds_with_a_warning() {
    let tmp = TempDir::new("output-dir");
    let out_dir = tmp.path("out");
    let log = tmp.path("temper.log");
    let log_arg = format!("--log-file={}", log.display());
    let out = helm_template(
        "quickstart",
        QUICKSTART,
        &[&["--output-dir", out_dir.to_str().unwrap()][..], &post_renderer(&["--env=prod", &log_arg])].concat(),
    );
    success(&out);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.starts_with(NO_OBJECT), "{logged}");
    assert!(logged[NO_OBJECT.len()..].starts_with("temper: prod: 0 documents, 0 changed, 0 generated"), "{logged}");
    // The files on disk are the chart's, not temper's.
    let written = std::fs::read_to_string(out_dir.join("quickstart/templates/web-deployment.yaml")).unwrap();
    assert!(written.contains("kind: Deployment") && !written.contains("securityContext"), "{written}");

    let out = helm_template(
        "quickstart",
        QUICKSTART,
        &[&["--output-dir", tmp.path("again").to_str().unwrap()][..], &post_renderer(&["--fail-on-empty"])].concat(),
    );
    assert!(!out.status.success(), "{}", transcript(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("temper: error: no Kubernetes object in <stdin>") && stderr.contains("exit status 2"),
        "{stderr}"
    );
}

/// A chart whose templates are all switched off: Helm 3 runs the post-renderer with no input
/// and would install nothing. temper warns (here on the log file); `TEMPER_FAIL_ON_EMPTY=1`,
/// which Helm passes on, makes Helm fail instead.
#[test]
fn a_chart_with_every_template_disabled_warns_or_fails_on_request() {
    let tmp = TempDir::new("disabled");
    tmp.write("chart/Chart.yaml", "apiVersion: v2\nname: off\nversion: 0.1.0\n");
    tmp.write("chart/values.yaml", "enabled: false\n");
    tmp.write(
        "chart/templates/cm.yaml",
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n{{- end }}\n",
    );
    let chart = tmp.path("chart");
    let log = tmp.path("temper.log");
    let log_arg = format!("--log-file={}", log.display());
    let out = helm_template("off", chart.to_str().unwrap(), &post_renderer(&["--env=prod", &log_arg]));
    assert_eq!(success(&out).trim(), "", "nothing to install");
    assert!(std::fs::read_to_string(&log).unwrap().starts_with(NO_OBJECT));

    let out = helm()
        .args(["template", "off", chart.to_str().unwrap()])
        .args(post_renderer(&["--env=prod"]))
        .env("TEMPER_FAIL_ON_EMPTY", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", transcript(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing it, as --fail-on-empty (TEMPER_FAIL_ON_EMPTY) asks"), "{stderr}");

    // Switched on, the same chart passes with the variable set.
    let out = helm()
        .args(["template", "off", chart.to_str().unwrap(), "--set", "enabled=true"])
        .args(post_renderer(&["--env=prod", "-q"]))
        .env("TEMPER_FAIL_ON_EMPTY", "1")
        .output()
        .unwrap();
    assert!(success(&out).contains("name: settings"));
}

/// Helm 3 sends CRDs (`--include-crds`) but never hooks. The test chart's hook breaks rules
/// prod enforces, so an enforcing run passes only because temper never sees it.
#[test]
fn helm_3_sends_crds_but_not_hooks() {
    let tmp = TempDir::new("hooks-and-crds");
    let report = tmp.path("report.json");
    let report_arg = format!("--report={}", report.display());
    let plain = success(&helm_template("widgets", HOOKS_AND_CRDS, &["--include-crds"]));
    let out = helm_template(
        "widgets",
        HOOKS_AND_CRDS,
        &[&["--include-crds"][..], &post_renderer(&["--env=prod", &report_arg])].concat(),
    );
    let out = success(&out);
    let (plain_docs, docs) = (documents(&plain), documents(&out));

    // What temper was given: the CRD and the Deployment, not the hook.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let received: Vec<&Value> = report["documents"].as_array().unwrap().iter().map(|d| &d["template"]).collect();
    assert_eq!(received, [&json!("crds/widgets.yaml"), &json!("hooks-and-crds/templates/deployment.yaml")]);

    let crd = find(&docs, "CustomResourceDefinition", "widgets.example.com");
    assert_eq!(crd.template.as_deref(), Some("crds/widgets.yaml"));
    assert_eq!(crd.text, find(&plain_docs, "CustomResourceDefinition", "widgets.example.com").text);
    assert!(out.starts_with(&crd.text), "the CRD is no longer first:\n{out}");

    let hook = find(&docs, "Job", "widgets-seed");
    assert_eq!(hook.text, find(&plain_docs, "Job", "widgets-seed").text);
    assert_eq!(
        hook.at("/spec/template/spec/containers/0/image"),
        Some(&json!("registry.example.com/widgets/seed:latest"))
    );
    assert_eq!(hook.at("/spec/template/spec/securityContext"), None);

    // Had temper seen the hook, the enforcing run would have failed on it.
    let direct = run_with_stdin(temper().args(["--env", "prod", "-q"]), plain.as_bytes());
    assert_eq!(direct.status.code(), Some(3), "{}", transcript(&direct));
    let stderr = String::from_utf8_lossy(&direct.stderr);
    assert!(stderr.contains("error[image-tag] Job/widgets-seed"), "{stderr}");

    let deployment = find(&docs, "Deployment", "widgets-controller");
    assert_eq!(deployment.at("/spec/template/spec/securityContext/runAsNonRoot"), Some(&json!(true)));
    assert_eq!(sources(&out), sources(&plain));
}

/// The audit docs/helm.md recommends for Helm 3: `temper check` on the post-rendered
/// `helm template` output finds what Helm did not hand to temper, the hook, and only that.
#[test]
fn checking_the_post_rendered_output_finds_the_unhardened_hook() {
    let out = success(&helm_template("widgets", HOOKS_AND_CRDS, &post_renderer(&["--env=prod"])));
    let check = run_with_stdin(temper().args(["check", "--env", "prod"]), out.as_bytes());
    assert_eq!(check.status.code(), Some(3), "{}", transcript(&check));
    let report = String::from_utf8(check.stdout).unwrap();
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("error[")).collect();
    assert!(errors.len() >= 3, "{report}");
    for line in errors {
        assert!(line.contains(" Job/widgets-seed "), "an error outside the hook: {line}");
    }
}

fn helm4_quickstart() -> String {
    std::fs::read_to_string(repo("tests/fixtures/helm4/quickstart.yaml")).unwrap()
}

/// Checks what Helm 4 needs of a post-renderer's output for `input`: never empty; every input
/// document still carries its filename annotation, in order, followed by the generated ones;
/// every document has the apiVersion, kind and metadata Helm 4 reads back.
#[track_caller]
fn check_helm4_output(input: &str, output: &str, what: &str) -> Vec<Doc> {
    assert!(!output.trim().is_empty(), "{what}: empty output, which Helm 4 rejects");
    assert!(!output.contains("# Source:"), "{what}");
    let (ins, outs) = (documents(input), documents(output));
    assert!(outs.len() >= ins.len(), "{what}: documents were dropped");
    for (i, o) in ins.iter().zip(&outs) {
        let annotation = i.value["metadata"]["annotations"][HELM4_FILENAME].as_str().unwrap();
        assert_eq!(o.value["metadata"]["annotations"][HELM4_FILENAME], json!(annotation), "{what}: {}", o.name());
        assert_eq!(o.template.as_deref(), Some(annotation), "{what}");
    }
    for doc in &outs[ins.len()..] {
        assert!(doc.generated(), "{what}: an extra document not made by temper: {}", doc.text);
    }
    for doc in &outs {
        for field in ["apiVersion", "kind"] {
            assert!(doc.value[field].as_str().is_some_and(|v| !v.is_empty()), "{what}: no {field}: {}", doc.text);
        }
        assert!(doc.value["metadata"]["name"].as_str().is_some_and(|n| !n.is_empty()), "{what}: {}", doc.text);
    }
    outs
}

/// Helm 4 sends hooks too, re-serialised, with the filename annotation and no `# Source:`.
#[test]
fn helm_4_stream_keeps_its_annotation_and_hardens_the_hook_like_any_job() {
    let input = helm4_quickstart();
    let input_hook = find(&documents(&input), "Job", "quickstart-migrate").value.clone();
    for (env, extra) in [("dev", None), ("staging", None), ("prod", Some("--no-enforce"))] {
        let mut cmd = temper();
        cmd.args(["--env", env]).args(extra);
        let out = run_with_stdin(&mut cmd, input.as_bytes());
        let docs = check_helm4_output(&input, &success(&out), env);

        let hook = find(&docs, "Job", "quickstart-migrate");
        let job = find(&docs, "Job", "quickstart-assessment");
        for key in ["helm.sh~1hook", "helm.sh~1hook-weight", "helm.sh~1hook-delete-policy"] {
            let pointer = format!("/metadata/annotations/{key}");
            assert_eq!(hook.at(&pointer), input_hook.pointer(&pointer), "{env}: {key} changed");
        }
        assert_eq!(hook.at("/metadata/annotations/helm.sh~1hook"), Some(&json!("pre-install,pre-upgrade")));
        for pointer in [
            "/spec/template/spec/securityContext",
            "/spec/template/spec/containers/0/securityContext",
            "/spec/template/spec/containers/0/resources",
            "/spec/template/spec/containers/0/imagePullPolicy",
        ] {
            assert_eq!(hook.at(pointer), job.at(pointer), "{env}: {pointer} differs between the hook and a Job");
        }
        assert!(hook.at("/spec/template/spec/containers/0/resources/limits/cpu").is_some(), "{env}");
        let hardened = hook.at("/spec/template/spec/securityContext/runAsNonRoot").is_some();
        assert_eq!(hardened, env != "dev", "{env}");
    }
}

#[test]
fn helm_4_stream_renders_faithfully() {
    let input = helm4_quickstart();
    for env in ["dev", "staging", "prod"] {
        let outcome = render(&policy(env), &input).unwrap();
        check_faithful(&input, &outcome);
    }
}

/// Helm 4 rejects empty output, even when nothing needed changing.
#[test]
fn helm_4_output_is_never_empty_for_non_empty_input() {
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'app/templates/settings.yaml'\ndata:\n  mode: \"on\"\n";
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'app/templates/web.yaml'\nspec:\n  ports:\n  - port: 80\n";
    let both = format!("{config_map}---\n{service}");
    for input in [config_map, service, both.as_str()] {
        for env in ["dev", "staging", "prod"] {
            let out = run_with_stdin(temper().args(["--env", env, "-q"]), input.as_bytes());
            let output = success(&out);
            check_helm4_output(input, &output, env);
            if env == "dev" {
                assert_eq!(output, input, "nothing to change in dev, so the bytes are kept");
            }
        }
    }
}

/// A strict SemVer 2.0.0 version: no leading `v`, no leading zeros, optional pre-release and
/// build parts.
fn is_semver(version: &str) -> bool {
    let re = regex::Regex::new(
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
    )
    .unwrap();
    re.is_match(version)
}

#[test]
fn semver_check_is_strict() {
    for good in ["0.1.0", "1.2.3", "1.0.0-rc.1", "1.0.0+build.5"] {
        assert!(is_semver(good), "{good}");
    }
    for bad in ["v0.1.0", "0.1", "01.0.0", "1.0.0-", "1.0.0-01", "latest"] {
        assert!(!is_semver(bad), "{bad}");
    }
}

/// `examples/helm-plugin/plugin.yaml`, checked against what Helm 4 accepts: v4.1 decodes the
/// top level strictly, and `config` of a postrenderer/v1 plugin takes no keys.
#[test]
fn helm_4_plugin_yaml_follows_the_plugin_schema() {
    let text = std::fs::read_to_string(repo("examples/helm-plugin/plugin.yaml")).unwrap();
    // Not a Kubernetes object, so read as plain YAML.
    let plugin: serde_json::Map<String, Value> = serde_saphyr::from_str(&text).unwrap();
    let allowed = ["apiVersion", "type", "name", "version", "runtime", "sourceURL", "config", "runtimeConfig"];
    for key in plugin.keys() {
        assert!(allowed.contains(&key.as_str()), "Helm 4.1 rejects the top-level key {key:?}");
    }
    assert_eq!(plugin["apiVersion"], json!("v1"));
    assert_eq!(plugin["type"], json!("postrenderer/v1"));
    assert_eq!(plugin["runtime"], json!("subprocess"));
    let name = plugin["name"].as_str().unwrap();
    assert!(regex::Regex::new("^[A-Za-z0-9_-]+$").unwrap().is_match(name), "{name}");
    assert_eq!(name, "temper", "the name is what users pass to --post-renderer");
    let version = plugin["version"].as_str().expect("version must be a string");
    assert!(is_semver(version), "{version} is not strict SemVer");
    assert_eq!(version, env!("CARGO_PKG_VERSION"), "plugin.yaml's version must follow Cargo.toml's");
    if let Some(config) = plugin.get("config") {
        assert!(config.is_null() || config.as_object().is_some_and(|c| c.is_empty()), "config must be empty");
    }

    let runtime_config = plugin["runtimeConfig"].as_object().unwrap();
    assert_eq!(runtime_config.keys().collect::<Vec<_>>(), ["platformCommand"]);
    let commands = runtime_config["platformCommand"].as_array().unwrap();
    for entry in commands {
        for key in entry.as_object().unwrap().keys() {
            assert!(["os", "arch", "command", "args"].contains(&key.as_str()), "unknown platformCommand key {key:?}");
        }
        assert!(entry["command"].as_str().is_some_and(|c| !c.is_empty() && !c.contains(' ')), "{entry}");
    }
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0], json!({"os": "windows", "command": "temper.exe"}));
    // No os and no arch: the entry every other platform falls back to. A bare name is looked
    // up in PATH.
    assert_eq!(commands[1], json!({"command": "temper"}));
}

/// `--log-file` and `TEMPER_LOG_FILE`: Helm 4 discards stderr, so a failure must be
/// explained in the log.
#[test]
fn a_failing_run_writes_its_violations_to_the_log_file() {
    let tmp = TempDir::new("log-fail");
    let rendered = repo("examples/quickstart/rendered.yaml");
    for via_env in [false, true] {
        let log = tmp.path(&format!("log-{via_env}.txt"));
        let mut cmd = temper();
        cmd.args(["render", "--env", "prod", "-q", "-f"]).arg(&rendered);
        if via_env {
            cmd.env("TEMPER_LOG_FILE", &log);
        } else {
            cmd.arg("--log-file").arg(&log);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(3), "via_env={via_env}");
        assert!(out.stdout.is_empty());
        let logged = std::fs::read_to_string(&log).unwrap();
        for needle in [
            "temper: prod: 17 documents",
            "error[plaintext-secrets] Secret/platform/quickstart-postgresql",
            "error[env-secret-literals] Deployment/platform/quickstart-engine",
            "error[image-tag] CronJob/platform/quickstart-scheduler",
            "temper: 4 violation(s) of enforced rules in environment `prod`; nothing was written\n",
        ] {
            assert!(logged.contains(needle), "via_env={via_env}: the log lacks {needle:?}:\n{logged}");
        }
        // The log says what stderr says.
        assert_eq!(logged, String::from_utf8_lossy(&out.stderr), "via_env={via_env}");
    }
}

#[test]
fn a_successful_run_appends_its_summary_to_the_log_file() {
    let tmp = TempDir::new("log-ok");
    let log = tmp.path("temper.log");
    std::fs::write(&log, "earlier run\n").unwrap();
    let out = temper()
        .args(["render", "--env", "dev", "-q", "--log-file"])
        .arg(&log)
        .arg("-f")
        .arg(repo("examples/quickstart/rendered.yaml"))
        .output()
        .unwrap();
    let stdout = success(&out);
    assert!(!stdout.is_empty());
    assert!(out.stderr.is_empty(), "-q prints nothing on success");
    let logged = std::fs::read_to_string(&log).unwrap();
    let (earlier, appended) = logged.split_at("earlier run\n".len());
    assert_eq!(earlier, "earlier run\n", "the log was not appended to");
    assert!(appended.starts_with("temper: dev: 17 documents,"), "{appended}");
    assert!(appended.contains("warning[image-tag] CronJob/platform/quickstart-scheduler"), "{appended}");
}

/// The README's first command, on the committed render.
#[test]
fn the_readme_quickstart_command_works() {
    let rendered = repo("examples/quickstart/rendered.yaml");
    let out = temper().args(["render", "--env", "prod", "--no-enforce", "-f"]).arg(&rendered).output().unwrap();
    let stdout = success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 17: `helm template` prints the hook too.
    assert!(stderr.starts_with("temper: prod: 17 documents"), "{stderr}");
    let docs = documents(&stdout);
    let input = std::fs::read_to_string(&rendered).unwrap();
    assert_eq!(sources(&stdout), sources(&input));
    assert!(docs.iter().any(|d| d.kind() == "PodDisruptionBudget"));
    check_faithful(&input, &render(&policy("prod"), &input).unwrap());
}

/// `examples/custom-config`: a user environment extending prod with an overlay, a pull
/// secret and an exemption, rendered through the binary with `--config`.
#[test]
fn the_custom_config_example_applies_its_overlay_pull_secret_and_exemption() {
    let tmp = TempDir::new("custom-config");
    let report_path = tmp.path("report.json");
    let out = temper()
        .args(["render", "--env", "prod-acme", "--no-enforce", "-q", "--config"])
        .arg(repo("examples/custom-config"))
        .arg("--report")
        .arg(&report_path)
        .arg("-f")
        .arg(repo("examples/quickstart/rendered.yaml"))
        .output()
        .unwrap();
    let docs = documents(&success(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["environment"], json!("prod-acme"));
    let listed = temper().args(["env", "--config"]).arg(repo("examples/custom-config")).output().unwrap();
    assert!(success(&listed).contains("prod-acme extends prod (default):"), "prod-acme is the default with --config");

    // The JSON patch labels Deployments only.
    let label = "/metadata/labels/acme.example.com~1cost-center";
    for doc in &docs {
        let want = (doc.kind() == "Deployment").then(|| json!("platform"));
        assert_eq!(doc.at(label).cloned(), want, "{}/{}", doc.kind(), doc.name());
    }
    // The container patch reaches the containers of every kind of workload, and being a
    // plain field, leaves the containers' env lists alone.
    let engine = find(&docs, "Deployment", "quickstart-engine");
    let scheduler = find(&docs, "CronJob", "quickstart-scheduler");
    let postgres = find(&docs, "StatefulSet", "quickstart-postgresql");
    for (doc, container) in [
        (engine, "/spec/template/spec/containers/0"),
        (postgres, "/spec/template/spec/containers/0"),
        (scheduler, "/spec/jobTemplate/spec/template/spec/containers/0"),
    ] {
        assert_eq!(doc.at(&format!("{container}/terminationMessagePolicy")), Some(&json!("FallbackToLogsOnError")));
    }
    assert_eq!(engine.at("/spec/template/spec/containers/0/env/0/name"), Some(&json!("DATABASE_PASSWORD")));

    // The pull secret goes to pods pulling from registry.example.com, not to public images.
    let secrets = json!([{"name": "acme-registry-credentials"}]);
    assert_eq!(engine.at("/spec/template/spec/imagePullSecrets"), Some(&secrets));
    assert_eq!(scheduler.at("/spec/jobTemplate/spec/template/spec/imagePullSecrets"), Some(&secrets));
    assert_eq!(postgres.at("/spec/template/spec/imagePullSecrets"), None);

    let patches: Vec<&Value> =
        report["changes"].as_array().unwrap().iter().filter(|c| c["rule"] == json!("overlay-patch")).collect();
    assert!(
        patches.iter().any(|c| c["overlay"] == json!("acme#1") && c["resource"]["name"] == json!("quickstart-web"))
    );
    assert!(patches.iter().any(|c| c["overlay"] == json!("acme#2")));
    assert!(patches.iter().all(|c| c["overlay"].as_str().is_some_and(|o| o.starts_with("acme#"))));

    let exemptions = report["exemptions"].as_array().unwrap();
    assert_eq!(exemptions.len(), 1, "{exemptions:?}");
    let exemption = &exemptions[0];
    assert_eq!(exemption["rule"], json!("image-tag"));
    assert_eq!(exemption["resource"]["name"], json!("quickstart-scheduler"));
    assert_eq!(exemption["source"]["environment"], json!("prod-acme"));
    assert!(exemption["reason"].as_str().is_some_and(|r| r.contains("ACME-1234")));

    // Without --no-enforce the run still fails, on the secrets, and no longer on the tag.
    let out = temper()
        .args(["render", "--env", "prod-acme", "--config"])
        .arg(repo("examples/custom-config"))
        .arg("-f")
        .arg(repo("examples/quickstart/rendered.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[plaintext-secrets]") && stderr.contains("exempt[image-tag]"), "{stderr}");
    assert!(!stderr.contains("error[image-tag]"), "{stderr}");
}
