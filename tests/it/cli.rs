//! The command line as Helm, ArgoCD and CI run it: stdout, stderr and exit codes.

use crate::util::{TempDir, run_with_stdin, temper, transcript};

const DEPLOYMENT: &str = "---\n# Source: app/templates/web.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: example/web:1.0\n        readinessProbe: {tcpSocket: {port: 80}}\n        livenessProbe: {tcpSocket: {port: 80}}\n";
const CONFIG_MAP_UNTOUCHED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: team}\ndata:\n  mode: 'fast'  # as written\n";
const PRIVILEGED: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: root}\nspec:\n  containers:\n  - name: c\n    image: example/c:1.0\n    securityContext: {privileged: true}\n";

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(env!("CARGO_PKG_VERSION"), "[VERSION]");
    s.add_filter(r"temper-cli-[a-z0-9-]+-\d+", "[SCRATCH]");
    s.add_filter(&regex_escape(&std::env::temp_dir().display().to_string()), "[TMP]");
    s
}

fn regex_escape(text: &str) -> String {
    text.chars().flat_map(|c| if "\\.+*?()|[]{}^$".contains(c) { vec!['\\', c] } else { vec![c] }).collect()
}

#[test]
fn version() {
    let out = temper().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("temper {}\n", env!("CARGO_PKG_VERSION")));
}

/// Helm 3 runs the post-renderer with only `--post-renderer-args`: no subcommand.
#[test]
fn no_subcommand_renders_like_helm_3_runs_it() {
    let out = run_with_stdin(temper().arg("--env=staging"), DEPLOYMENT.as_bytes());
    settings().bind(|| insta::assert_snapshot!(transcript(&out)));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn enforced_violations_exit_3_with_nothing_on_stdout() {
    let out = run_with_stdin(temper().args(["render", "--env", "prod", "-q"]), PRIVILEGED.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    settings().bind(|| insta::assert_snapshot!(transcript(&out)));
    let out = run_with_stdin(temper().args(["render", "--env", "prod", "--no-enforce", "-q"]), PRIVILEGED.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert!(!out.stdout.is_empty());
    assert!(out.stderr.is_empty(), "-q prints nothing on success");
}

#[test]
fn the_environment_comes_from_flag_then_variables_then_default() {
    let env_of = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stderr).split(':').nth(1).unwrap_or_default().trim().to_string()
    };
    let out = run_with_stdin(temper().args(["render", "--no-enforce"]), DEPLOYMENT.as_bytes());
    assert_eq!(env_of(&out), "prod");
    let out = run_with_stdin(temper().arg("--no-enforce").env("ARGOCD_ENV_TEMPER_ENV", "dev"), DEPLOYMENT.as_bytes());
    assert_eq!(env_of(&out), "dev");
    let out = run_with_stdin(
        temper().arg("--no-enforce").env("ARGOCD_ENV_TEMPER_ENV", "dev").env("TEMPER_ENV", "staging"),
        DEPLOYMENT.as_bytes(),
    );
    assert_eq!(env_of(&out), "staging");
    let out = run_with_stdin(
        temper().args(["--no-enforce", "-e", "dev"]).env("TEMPER_ENV", "staging"),
        DEPLOYMENT.as_bytes(),
    );
    assert_eq!(env_of(&out), "dev");
    let out = run_with_stdin(temper().args(["-e", "qa"]), DEPLOYMENT.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unknown environment `qa` (from --env); known environments: dev, prod, staging")
    );
}

/// `value: ""` in a Kubernetes env list sets a variable to the empty string: that means unset.
#[test]
fn empty_variables_count_as_unset() {
    let out = run_with_stdin(
        temper()
            .args(["render", "-q", "--env", "dev"])
            .env("TEMPER_THREADS", "")
            .env("TEMPER_CONFIG", "")
            .env("TEMPER_LOG_FILE", "")
            .env("HELM_NAMESPACE", ""),
        DEPLOYMENT.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
}

#[test]
fn bad_input_exits_2_naming_the_place() {
    let out = run_with_stdin(
        temper().args(["render", "--env", "dev"]),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k: [\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    settings().bind(|| insta::assert_snapshot!(transcript(&out)));
}

/// Input without a single object (Helm 3's `--output-dir`, a chart whose templates are all
/// disabled) succeeds with its text as the output, but never in silence: a warning on stderr
/// (not with `-q`) and in the log file. `--fail-on-empty` or `TEMPER_FAIL_ON_EMPTY=1` make
/// it an error, for `render` and `check` alike.
#[test]
fn empty_input_warns_and_fails_on_request() {
    let warning = "temper: warning: no Kubernetes object in <stdin> (empty, or only comments and `---`); --fail-on-empty makes this an error\n";
    let error = "temper: error: no Kubernetes object in <stdin> (empty, or only comments and `---`); refusing it, as --fail-on-empty (TEMPER_FAIL_ON_EMPTY) asks\n";
    for input in ["", "\n", "---\n", "# Source: app/templates/off.yaml\n---\n# nothing\n---\n"] {
        let out = run_with_stdin(temper().args(["render", "--env", "prod"]), input.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        assert_eq!(out.stdout, input.as_bytes(), "written back as it came");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with(warning), "{input:?}: {stderr}");
        assert!(stderr[warning.len()..].starts_with("temper: prod: 0 documents"), "{stderr}");

        let out = run_with_stdin(temper().args(["render", "-q"]), input.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        assert!(out.stderr.is_empty(), "-q silences the warning\n{}", transcript(&out));

        for cmd in ["render", "check"] {
            for (flag, variable) in [(Some("--fail-on-empty"), None), (None, Some("1")), (None, Some("true"))] {
                let mut command = temper();
                command.args([cmd, "-q"]).args(flag);
                if let Some(value) = variable {
                    command.env("TEMPER_FAIL_ON_EMPTY", value);
                }
                let out = run_with_stdin(&mut command, input.as_bytes());
                assert_eq!(out.status.code(), Some(2), "{cmd} {flag:?} {variable:?}\n{}", transcript(&out));
                assert!(out.stdout.is_empty(), "{}", transcript(&out));
                assert_eq!(String::from_utf8_lossy(&out.stderr), error, "errors are never quiet");
            }
        }
    }
    // `check` warns too, after its report on stdout.
    let out = run_with_stdin(temper().args(["check", "--env", "prod"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("temper: prod: 0 documents"));
    assert_eq!(String::from_utf8_lossy(&out.stderr), warning);
    // The variable set to a false value, or empty, is the default; anything else is a usage error.
    for value in ["0", "false", ""] {
        let out = run_with_stdin(temper().args(["render", "-q"]).env("TEMPER_FAIL_ON_EMPTY", value), b"");
        assert_eq!(out.status.code(), Some(0), "TEMPER_FAIL_ON_EMPTY={value:?}\n{}", transcript(&out));
    }
    let out = run_with_stdin(temper().args(["render"]).env("TEMPER_FAIL_ON_EMPTY", "maybe"), b"");
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'maybe' for '--fail-on-empty'"));
    // A file says which file; the log file gets the warning even with -q.
    let dir = TempDir::new("empty");
    let file = dir.write("off.yaml", "# Source: app/templates/off.yaml\n");
    let log = dir.path("temper.log");
    let out = temper().args(["render", "-q", "--log-file"]).arg(&log).arg("-f").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.starts_with(&format!("temper: warning: no Kubernetes object in {} ", file.display())), "{logged}");
    // One object is enough: no warning, and --fail-on-empty passes.
    let out = run_with_stdin(
        temper().args(["render", "--fail-on-empty", "--env", "dev"]),
        b"---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("temper: warning"), "{}", transcript(&out));
}

#[test]
fn files_directories_and_stdin_in_order() {
    let dir = TempDir::new("files");
    std::fs::write(dir.path("b.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n").unwrap();
    std::fs::write(dir.path("a.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n").unwrap();
    std::fs::write(
        dir.path("c.json"),
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}}",
    )
    .unwrap();
    std::fs::write(dir.path("notes.txt"), "ignored").unwrap();
    let out = run_with_stdin(
        temper().args(["render", "-q", "--env", "dev", "-f"]).arg(dir.root()).args(["-f", "-"]),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stdin}\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    let out = temper().args(["render", "-f"]).arg(dir.path("missing.yaml")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.yaml: No such file or directory"),
        "{}",
        transcript(&out)
    );
}

#[test]
fn report_file_lists_changes_and_violations() {
    let dir = TempDir::new("report");
    let report = dir.path("out/report.json");
    let out = run_with_stdin(
        temper().args(["render", "-q", "--env", "prod", "--report"]).arg(&report),
        PRIVILEGED.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["schemaVersion"], "temper.dev/report/v1");
    assert_eq!(json["environment"], "prod");
    assert!(json["counts"]["errors"].as_u64().unwrap() > 0);
    settings().bind(|| {
        insta::assert_json_snapshot!(json, {
            ".tool.version" => "[VERSION]",
            ".compliance.tool.version" => "[VERSION]",
            ".compliance.complianceHash" => "[hash]",
            ".compliance.statement.policyDigest" => "[hash]",
            ".compliance.statement.inputDigest" => "[hash]",
            ".compliance.statement.outputsDigest" => "[hash]",
        });
    });
}

/// A render whose outputs list no change counts its changes instead of keeping them: its
/// manifests and summary are those of a render that keeps them for its report, stamps
/// (changes made after the rules) included.
#[test]
fn a_render_that_counts_its_changes_writes_and_summarises_as_one_that_keeps_them() {
    let dir = TempDir::new("counted");
    let file = dir.path("in.yaml");
    let text: String = (0..3).map(|i| DEPLOYMENT.replace("name: web", &format!("name: web{i}"))).collect();
    std::fs::write(&file, text + "---\n" + CONFIG_MAP_UNTOUCHED).unwrap();
    for stamp in [false, true] {
        let run = |report: Option<&std::path::Path>| {
            let mut cmd = temper();
            cmd.args(["render", "--no-enforce", "--env", "prod", "-f"]).arg(&file);
            if stamp {
                cmd.arg("--stamp");
            }
            if let Some(report) = report {
                cmd.arg("--report").arg(report);
            }
            let out = cmd.output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            out
        };
        let report = dir.path("report.json");
        let (counted, kept) = (run(None), run(Some(&report)));
        assert!(counted.stdout == kept.stdout, "the manifests differ (stamp: {stamp})");
        assert_eq!(String::from_utf8_lossy(&counted.stderr), String::from_utf8_lossy(&kept.stderr));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let listed = json["changes"].as_array().unwrap();
        assert!(!listed.is_empty());
        assert_eq!(json["counts"]["changes"].as_u64(), Some(listed.len() as u64));
        let summary = String::from_utf8_lossy(&counted.stderr).lines().next().unwrap_or_default().to_string();
        // Stamps change every document; without them the ConfigMap no rule changed is copied
        // as it was, in both.
        let changed = if stamp { "4 documents, 4 changed, " } else { "4 documents, 3 changed, " };
        assert!(summary.contains(changed), "{summary}");
        assert!(summary.contains(&format!(" {} changes;", listed.len())), "{summary}");
        let untouched = String::from_utf8_lossy(&counted.stdout).contains("  mode: 'fast'  # as written\n");
        assert_eq!(untouched, !stamp);
    }
}

#[test]
fn check_formats_and_exit_codes() {
    let out = run_with_stdin(temper().args(["check", "--env", "prod"]), PRIVILEGED.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    settings().bind(|| insta::assert_snapshot!(transcript(&out)));
    let out = run_with_stdin(temper().args(["check", "--env", "dev", "--format", "json"]), PRIVILEGED.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["command"], "check");
    assert!(json["changes"].as_array().unwrap().is_empty(), "check never changes anything");
}

/// SARIF that GitHub code scanning accepts: version, tool, rules, and results with a file
/// and a line that points at the offending field.
#[test]
fn check_writes_sarif_for_code_scanning() {
    let dir = TempDir::new("sarif");
    let file = dir.path("manifests.yaml");
    std::fs::write(&file, format!("{DEPLOYMENT}---\n{PRIVILEGED}")).unwrap();
    let out = temper().args(["check", "--env", "prod", "--format", "sarif", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "temper");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), temper::record::RuleId::ALL.len());
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let location = &r["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"].as_str().unwrap().ends_with("manifests.yaml"));
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    // The Deployment takes lines 1-16; the Pod's `securityContext: {privileged: true}` is line 25.
    let privileged = results.iter().find(|r| r["ruleId"] == "host-isolation").expect("a host-isolation result");
    assert_eq!(privileged["locations"][0]["physicalLocation"]["region"]["startLine"], 25);
}

/// A SARIF log's results are made a batch at a time as the log is written: with more
/// results than a batch holds, every violation still has its result, in the report's order.
#[test]
fn sarif_has_a_result_per_violation_in_order_across_batches() {
    let dir = TempDir::new("sarif-batches");
    let file = dir.path("wide.yaml");
    let containers: String =
        (0..1500).map(|i| format!("      - name: c{i}\n        image: example/c{i}:1.0\n")).collect();
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: wide\nspec:\n  selector: {{matchLabels: {{app: wide}}}}\n  template:\n    metadata: {{labels: {{app: wide}}}}\n    spec:\n      containers:\n{containers}"
    );
    std::fs::write(&file, deployment).unwrap();
    let run = |format: &str| {
        let out = temper().args(["check", "--env", "prod", "--format", format, "-f"]).arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let report = run("json");
    let violations = report["violations"].as_array().unwrap();
    let sarif = run("sarif");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(violations.len() > 2 * 4096, "{} violations: fewer than the batches this means to cross", violations.len());
    assert_eq!(results.len(), violations.len());
    for (r, v) in results.iter().zip(violations) {
        assert_eq!(r["ruleId"], v["rule"]);
        let text = r["message"]["text"].as_str().unwrap();
        // A message shows the whole resource's pointer, the empty one, as `/`.
        let path = v["path"].as_str().unwrap();
        let path = if path.is_empty() { "/" } else { path };
        assert!(text.contains(v["message"].as_str().unwrap()) && text.ends_with(&format!("({path})")), "{text}");
    }
}

/// `temper diff` writes its unified text as it is made; `render --diff FILE` writes the same
/// diff whole. A diff many times the writer's buffer reads the same either way.
#[test]
fn a_diff_written_as_it_is_made_is_the_diff_made_whole() {
    let dir = TempDir::new("diff-streamed");
    let file = dir.path("many.yaml");
    let text: String = (0..400).map(|i| DEPLOYMENT.replace("name: web", &format!("name: web{i}"))).collect();
    std::fs::write(&file, text).unwrap();
    let whole = dir.path("whole.diff");
    let out =
        temper().args(["diff", "--no-enforce", "--env", "prod", "--color", "never", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered = temper()
        .args(["render", "--no-enforce", "-q", "--env", "prod", "--diff"])
        .arg(&whole)
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(rendered.status.code(), Some(0), "{}", String::from_utf8_lossy(&rendered.stderr));
    let whole = std::fs::read(&whole).unwrap();
    assert!(out.stdout.len() > 4 * 65536, "{} bytes: not many times the buffer", out.stdout.len());
    assert!(out.stdout == whole, "the streamed diff differs from the diff made whole");
}

#[test]
fn explain_lists_rules_and_documents_each() {
    let out = temper().arg("explain").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    let out = temper().args(["explain", "pod-disruption-budget"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    let out = temper().args(["explain", "no-such-rule"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(transcript(&out));
}

#[test]
fn env_lists_and_resolves() {
    let out = temper().arg("env").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    let out = temper().args(["env", "prod"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn init_writes_the_builtin_configuration_and_refuses_to_overwrite() {
    let dir = TempDir::new("init");
    let out = temper().arg("init").arg(dir.root()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(dir.path("environments/prod.yaml").is_file());
    assert!(dir.path("overlays/pod-security.yaml").is_file());
    let out = temper().arg("init").arg(dir.root()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
    let out = temper().arg("init").arg(dir.root()).arg("--force").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // The written configuration is usable as it is.
    let out = run_with_stdin(
        temper().args(["render", "-q", "--no-enforce", "--config"]).arg(dir.root()),
        DEPLOYMENT.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
}

#[test]
fn release_namespace_comes_from_the_flag_never_from_helm_namespace() {
    // The stream already has a quota in `shop`; the Deployment has no namespace.
    let input = format!(
        "{DEPLOYMENT}---\napiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: q, namespace: shop}}\nspec: {{hard: {{pods: '9'}}}}\n"
    );
    let quota = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).contains("temper-quota");
    let render = || {
        let mut cmd = temper();
        cmd.args(["render", "--no-enforce"]);
        cmd
    };
    // Unknown: the release namespace may be `shop`, which has a quota; none is added, and the
    // report says why and what to pass.
    let out = run_with_stdin(&mut render(), input.as_bytes());
    assert!(!quota(&out), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--namespace"), "{}", transcript(&out));
    // Known, and `shop`: it has a quota.
    let out = run_with_stdin(render().args(["-n", "shop"]), input.as_bytes());
    assert!(!quota(&out));
    // Known, and another namespace: it gets one.
    let out = run_with_stdin(render().args(["-n", "web"]), input.as_bytes());
    assert!(quota(&out));
    let out = run_with_stdin(render().env("TEMPER_NAMESPACE", "web"), input.as_bytes());
    assert!(quota(&out));
    // Helm does not set HELM_NAMESPACE for a post-renderer; when it leaks in, it says nothing
    // about the release, so it is not read.
    let out = run_with_stdin(render().env("HELM_NAMESPACE", "web"), input.as_bytes());
    assert!(!quota(&out));
}

#[test]
fn log_file_receives_the_summary() {
    let dir = TempDir::new("log");
    let log = dir.path("temper.log");
    let out =
        run_with_stdin(temper().args(["render", "-q", "--env", "prod", "--log-file"]).arg(&log), PRIVILEGED.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("error[host-isolation]"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
}

/// Every subcommand, as the completion scripts and the man page must name them.
const SUBCOMMANDS: &[&str] = &[
    "render",
    "check",
    "diff",
    "promote",
    "compare",
    "hash",
    "verify",
    "explain",
    "init",
    "env",
    "argocd",
    "completions",
    "man",
];

/// `temper completions SHELL` prints a script for SHELL that offers every subcommand, in
/// that shell's own syntax; an unknown shell is a usage error.
#[test]
fn completion_scripts_offer_every_subcommand() {
    type Offers = fn(&str) -> String;
    let shells: [(&str, Offers); 5] = [
        ("bash", |cmd| format!("temper,{cmd})")),
        ("zsh", |cmd| format!("'{cmd}:")),
        ("fish", |cmd| format!("-a \"{cmd}\"")),
        ("elvish", |cmd| format!("cand {cmd} '")),
        ("powershell", |cmd| format!("[CompletionResult]::new('{cmd}', '{cmd}'")),
    ];
    for (shell, offers) in shells {
        let out = temper().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.lines().count() > 20, "{shell}: a script of a few lines\n{script}");
        for cmd in SUBCOMMANDS {
            assert!(script.contains(&offers(cmd)), "the {shell} script does not offer `{cmd}`\n{script}");
        }
        // Options are completed too, those of the shared input arguments included.
        assert!(
            script.contains("no-enforce") && script.contains("fail-on-empty") && script.contains("diff-format"),
            "{shell}: options missing"
        );
    }
    let out = temper().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(out.stdout.is_empty());
}

/// `temper man` prints temper(1) in roff: the NAME section with the one-line description,
/// a synopsis, and every subcommand; `temper man --dir DIR` writes it with a page for each
/// subcommand, which temper(1) refers to.
#[test]
fn man_page_has_name_synopsis_and_subcommands() {
    let out = temper().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "not roff:\n{page}");
    assert!(page.contains(&format!(".TH temper 1  \"temper {}\"", env!("CARGO_PKG_VERSION"))), "{page}");
    let name = page.split(".SH NAME\n").nth(1).unwrap_or_else(|| panic!("no NAME section:\n{page}"));
    assert!(name.starts_with("temper \\- A hardening post\\-renderer for Kubernetes manifests\n"), "{name}");
    assert!(page.contains(".SH SYNOPSIS") && page.contains(".SH SUBCOMMANDS"), "{page}");
    for cmd in SUBCOMMANDS {
        assert!(page.contains(&format!("temper\\-{cmd}(1)")), "the man page does not list `{cmd}`\n{page}");
    }
}

#[test]
fn man_dir_writes_a_page_per_subcommand() {
    let dir = TempDir::new("man");
    let out = temper().args(["man", "--dir"]).arg(dir.path("man1")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(out.stdout.is_empty(), "{}", transcript(&out));
    let main = std::fs::read_to_string(dir.path("man1/temper.1")).unwrap();
    let printed = temper().arg("man").output().unwrap().stdout;
    assert_eq!(main.as_bytes(), printed, "temper.1 is what `temper man` prints");
    for cmd in SUBCOMMANDS {
        let page = std::fs::read_to_string(dir.path(&format!("man1/temper-{cmd}.1"))).unwrap();
        assert!(page.contains(".SH NAME\n") && page.contains(&format!("temper\\-{cmd} \\-")), "{page}");
    }
    assert!(dir.path("man1/temper-argocd-generate.1").is_file(), "nested subcommands get pages too");
}

/// A stream cut off at the wrong place can still parse, with a string where a pod spec should
/// be: every environment stops with the document and the path, and nothing passes silently.
#[test]
fn fields_rules_read_must_have_their_kubernetes_types() {
    let cases = [
        ("spec:\n  template:\n    spec: \"containers:\"\n", "`/spec/template/spec` must be a mapping, not a string"),
        ("spec:\n  template: [a]\n", "`/spec/template` must be a mapping, not a sequence"),
        (
            "spec:\n  replicas: \"2\"\n  template: {spec: {containers: []}}\n",
            "`/spec/replicas` must be an integer, not a string",
        ),
        (
            "spec:\n  template: {spec: {containers: [{name: a, image: b, ports: [{containerPort: \"80\"}]}]}}\n",
            "`/spec/template/spec/containers/0/ports/0/containerPort` must be an integer, not a string",
        ),
        (
            "spec:\n  template: {spec: {containers: [a]}}\n",
            "`/spec/template/spec/containers/0` must be a mapping, not a string",
        ),
        (
            "spec:\n  template: {metadata: {labels: {tier: 1}}, spec: {containers: []}}\n",
            "`/spec/template/metadata/labels/tier` must be a string, not a number",
        ),
    ];
    for (spec, message) in cases {
        let input = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\n{spec}");
        for env in ["dev", "staging", "prod"] {
            for command in ["render", "check"] {
                let out = run_with_stdin(temper().args([command, "--env", env]), input.as_bytes());
                assert_eq!(out.status.code(), Some(2), "{env} {command}: {}", transcript(&out));
                assert!(out.stdout.is_empty(), "{env} {command}: {}", transcript(&out));
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    stderr.contains("document 1 (Deployment/web)") && stderr.contains(message),
                    "{env} {command}: {stderr}"
                );
            }
        }
    }
}
