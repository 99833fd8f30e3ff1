//! Daily use through the binary: errors that say what to do next (charts given unrendered,
//! OS errors, mistyped names), duplicate mapping keys, format aliases and exit codes, SARIF
//! locations, the promote truncation hint, progress and the violation limit.

use std::process::Output;

use crate::util::{TempDir, run_with_stdin, temper, transcript};

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2, nothing on stdout, and `needle` in the one-line error.
#[track_caller]
fn fails_with(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", transcript(out));
    assert!(out.stdout.is_empty(), "{}", transcript(out));
    let err = stderr(out);
    assert!(err.starts_with("temper: error: ") && err.lines().count() == 1, "{err}");
    assert!(err.contains(needle), "expected `{needle}` in:\n{err}");
}

/// A chart directory given as `-f` is refused with the command that renders it, instead of
/// reading its templates as manifests.
#[test]
fn a_chart_directory_is_refused_with_what_to_run() {
    let dir = TempDir::new("usage-chart");
    dir.write("shop/Chart.yaml", "apiVersion: v2\nname: shop\nversion: 0.1.0\n");
    dir.write("shop/values.yaml", "image: web\n");
    dir.write("shop/templates/cm.yaml", CONFIG_MAP);
    for cmd in ["render", "check"] {
        let out = temper().current_dir(dir.root()).args([cmd, "-f", "shop"]).output().unwrap();
        fails_with(
            &out,
            "shop: this is a Helm chart directory; render it first (helm template NAME shop | temper render ...)",
        );
    }
    // A directory of rendered manifests is read as before.
    let out = temper().current_dir(dir.root()).args(["render", "-q", "--env", "dev", "-f", "shop/templates"]).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
}

/// A chart's template given instead of its output: exit 2 with the file and line of the
/// markup, whether the document parses or not.
#[test]
fn unrendered_templates_are_refused_at_their_line() {
    let dir = TempDir::new("usage-unrendered");
    let cases = [
        // Does not parse: `{{- include` on its own line.
        (
            "deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    {{- include \"shop.labels\" . | nindent 4 }}\nspec: {}\n",
            6,
        ),
        // Parses: the markup is quoted.
        ("quoted.yaml", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"{{ .Release.Name }}-cm\"\n", 5),
        // Parses, under `data`.
        ("list.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  b: '{{ .Values.b }}'\n", 5),
        // Starts with `{{`, which looks like JSON.
        ("if.yaml", "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\n{{- end }}\n", 1),
        // `{{ template` in a document that does not parse.
        ("template.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ template \"shop.fullname\" . }}\n", 4),
    ];
    for (name, text, line) in cases {
        let file = dir.write(name, text);
        let out = temper().args(["check", "-f"]).arg(&file).output().unwrap();
        fails_with(
            &out,
            &format!(
                "unrendered Helm template at {}:{line}: render the chart first (helm template ...)",
                file.display()
            ),
        );
    }
    let out = run_with_stdin(
        temper().arg("render"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
    );
    fails_with(&out, "unrendered Helm template at <stdin>:4: ");
}

/// Rendered manifests hold `{{` in their values for other template engines: Prometheus rules,
/// Grafana dashboards, Alertmanager and ArgoCD notification templates. None is refused.
#[test]
fn rendered_values_with_go_templates_pass() {
    let rendered = r#"apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: rules}
spec:
  groups:
  - name: pods
    rules:
    - alert: PodDown
      annotations:
        summary: "{{ $labels.pod }} is down"
        description: >-
          {{ $labels.namespace }}/{{ $labels.pod }} has been down for {{ $value }} minutes
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dashboards}
data:
  dash.json: '{"legendFormat": "{{instance}}"}'
  notify: |
    {{ template "slack.default.text" . }}
    {{- if .Values.global.meshID }}x{{ end }}
---
apiVersion: monitoring.coreos.com/v1alpha1
kind: AlertmanagerConfig
metadata: {name: slack}
spec:
  receivers:
  - name: slack
    slackConfigs:
    - text: '{{ template "slack.default.text" . }}'
      title: "{{ if eq .Status \"firing\" }}FIRING{{ end }}"
"#;
    let out = run_with_stdin(temper().args(["render", "-q", "--env", "dev"]), rendered.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(rendered), "{}", transcript(&out));
}

/// An OS error is said once, however the error travels.
#[test]
fn os_errors_are_not_doubled() {
    let dir = TempDir::new("usage-os");
    let missing = dir.path("missing.yaml");
    let out = temper().args(["render", "-f"]).arg(&missing).output().unwrap();
    fails_with(&out, &format!("cannot read {}: No such file or directory", missing.display()));
    assert_eq!(stderr(&out).matches("No such file or directory").count(), 1, "{}", stderr(&out));
    let out = temper().args(["verify", "--stamped"]).arg(&missing).output().unwrap();
    assert_eq!(stderr(&out).matches("No such file or directory").count(), 1, "{}", stderr(&out));
    // A report under a path whose parent is a file.
    let file = dir.write("file", "x");
    let out = run_with_stdin(
        temper().args(["render", "-q", "--env", "dev", "--report"]).arg(file.join("report.json")),
        CONFIG_MAP.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert_eq!(stderr(&out).matches("(os error").count(), 1, "{}", stderr(&out));
}

/// A mistyped environment or rule name gets the closest known one, and the error says where
/// the name came from.
#[test]
fn unknown_names_suggest_the_closest_and_say_where_they_came_from() {
    let render = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = temper();
        cmd.args(["render", "-q"]).args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        run_with_stdin(&mut cmd, CONFIG_MAP.as_bytes())
    };
    fails_with(
        &render(&["--env", "prdo"], &[]),
        "unknown environment `prdo` (from --env); did you mean `prod`? known environments: dev, prod, staging",
    );
    fails_with(&render(&[], &[("TEMPER_ENV", "stagin")]), "`stagin` (from TEMPER_ENV); did you mean `staging`?");
    fails_with(
        &render(&[], &[("ARGOCD_ENV_TEMPER_ENV", "dve")]),
        "`dve` (from ARGOCD_ENV_TEMPER_ENV); did you mean `dev`?",
    );
    fails_with(&render(&["-e", "qa"], &[]), "unknown environment `qa` (from --env); known environments:");
    let out = run_with_stdin(temper().args(["promote", "--from", "dev", "--to", "production"]), CONFIG_MAP.as_bytes());
    fails_with(&out, "unknown environment `production` (from --to); did you mean `prod`?");
    let out = temper().args(["env", "stagign"]).output().unwrap();
    fails_with(&out, "`stagign` (from the ENV argument); did you mean `staging`?");
    let out = temper().args(["explain", "probe"]).output().unwrap();
    fails_with(&out, "unknown rule `probe` (from the RULE argument); did you mean `probes`? known rules:");
    // A configuration file's field.
    let dir = TempDir::new("usage-names");
    let env = dir.write(
        "environments/eu.yaml",
        "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: eu}\nspec:\n  extends: prdo\n  rules: {prbes: audit}\n",
    );
    let out = render(&["--env", "eu", "--config", &dir.root().display().to_string()], &[]);
    fails_with(
        &out,
        &format!("{}: unknown environment `prdo` (spec.extends of `eu`); did you mean `prod`?", env.display()),
    );
    std::fs::write(&env, "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: eu}\nspec:\n  extends: prod\n  rules: {prbes: audit}\n").unwrap();
    let out = render(&["--env", "eu", "--config", &dir.root().display().to_string()], &[]);
    fails_with(&out, &format!("{}: spec.rules: unknown rule `prbes`; did you mean `probes`?", env.display()));
}

/// A ConfigMap whose `metadata.name` (line 5) and a data key (line 9) are set twice.
const DUPLICATES: &str = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: x}\n  name: b\ndata:\n  k: '1'\n  k: '2'\n";

/// Keys set twice keep the last value, as go-yaml v2 does, with a warning naming the document,
/// line and key on stderr and in the report; `--strict` (or `TEMPER_STRICT=1`) makes the first
/// one an error.
#[test]
fn duplicate_keys_warn_and_fail_with_strict() {
    let dir = TempDir::new("usage-duplicates");
    let report = dir.path("report.json");
    let out = run_with_stdin(temper().args(["render", "--env", "dev", "--report"]).arg(&report), DUPLICATES.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let err = stderr(&out);
    let first = "warning[duplicate-key] <stdin>:7: document 1: key `/metadata/name` is set twice (first at line 5): the last value wins, and Kubernetes' strict field validation rejects the object";
    assert!(err.contains(first), "{err}");
    assert!(
        err.contains("warning[duplicate-key] <stdin>:10: document 1: key `/data/k` is set twice (first at line 9)"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(DUPLICATES), "written back as it came");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "duplicate-key");
    assert_eq!((warnings[0]["document"].as_u64(), warnings[0]["line"].as_u64()), (Some(1), Some(7)));
    assert_eq!(warnings[0]["path"], "/metadata/name");
    assert_eq!(warnings[1]["path"], "/data/k");
    // Quiet is quiet; a stream without duplicates has no `warnings` in its report.
    let out = run_with_stdin(temper().args(["render", "-q", "--env", "dev"]), DUPLICATES.as_bytes());
    assert!(out.stderr.is_empty(), "{}", transcript(&out));
    let out = run_with_stdin(temper().args(["check", "--env", "dev", "-o", "json"]), CONFIG_MAP.as_bytes());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json.get("warnings").is_none(), "{json}");
    // Commands whose output is not the summary warn on stderr.
    for args in
        [&["check", "--env", "dev", "--format", "json"][..], &["diff", "--env", "dev"], &["hash", "--env", "dev"]]
    {
        let out = run_with_stdin(temper().args(args), DUPLICATES.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{}", transcript(&out));
        assert!(stderr(&out).contains(&format!("temper: {first}")), "{args:?}\n{}", transcript(&out));
    }
    // Strict: the first duplicate is an error naming the document, line and key.
    let error = "<stdin>:7: document 1 (ConfigMap/b): duplicate key `/metadata/name` (first set at line 5); Kubernetes' strict field validation rejects it";
    for args in [
        &["render", "--strict"][..],
        &["check", "--strict"],
        &["diff", "--strict"],
        &["promote", "--from", "dev", "--to", "prod", "--strict"],
        &["hash", "--strict"],
    ] {
        fails_with(&run_with_stdin(temper().args(args), DUPLICATES.as_bytes()), error);
    }
    fails_with(&run_with_stdin(temper().arg("render").env("TEMPER_STRICT", "1"), DUPLICATES.as_bytes()), error);
    let file = dir.write("dup.yaml", DUPLICATES);
    let clean = dir.write("clean.yaml", CONFIG_MAP);
    let out = temper().args(["compare", "--strict"]).arg(&clean).arg(&file).output().unwrap();
    fails_with(&out, &format!("{}:7: document 1 (ConfigMap/b): duplicate key `/metadata/name`", file.display()));
    let out = temper().args(["compare"]).arg(&clean).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(stderr(&out).contains("warning[duplicate-key]"), "{}", transcript(&out));
    // Without duplicates, --strict changes nothing.
    let out = run_with_stdin(temper().args(["render", "-q", "--strict", "--env", "dev"]), CONFIG_MAP.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
}

/// `-o` chooses the format wherever `--format` does; render's `--diff-format` stays long.
#[test]
fn dash_o_is_short_for_format() {
    let dir = TempDir::new("usage-o");
    let file = dir.write("cm.yaml", CONFIG_MAP);
    let json = |out: &Output| -> serde_json::Value {
        assert!(matches!(out.status.code(), Some(0 | 3)), "{}", transcript(out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", transcript(out)))
    };
    let f = file.display().to_string();
    assert_eq!(json(&temper().args(["check", "-o", "json", "-f", &f]).output().unwrap())["command"], "check");
    assert_eq!(json(&temper().args(["check", "-o", "sarif", "-f", &f]).output().unwrap())["version"], "2.1.0");
    for args in [
        vec!["diff", "-e", "dev", "-o", "json", "-f", &f],
        vec!["promote", "--from", "dev", "--to", "staging", "-o", "json", "-f", &f],
        vec!["compare", &f, &f, "-o", "json"],
    ] {
        assert_eq!(json(&temper().args(&args).output().unwrap())["schemaVersion"], "temper.dev/diff/v1", "{args:?}");
    }
    let out = temper().args(["render", "-o", "json", "-f", &f]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(stderr(&out).contains("unexpected argument '-o'"), "{}", transcript(&out));
}

/// A user's environments, as `--config` adds them.
fn user_config(dir: &TempDir) {
    dir.write(
        "conf/environments/eu.yaml",
        "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: prod-eu}\nspec:\n  extends: prod\n  rules: {probes: enforce}\n",
    );
    dir.write(
        "conf/overlays/availability.yaml",
        "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: availability}\nspec: {}\n",
    );
}

/// `explain` and `init` take `--config`: the catalog lists the user's environments with
/// their modes, and `init` writes the user's files along with the built-in ones.
#[test]
fn explain_and_init_see_the_users_environments() {
    let dir = TempDir::new("usage-config");
    user_config(&dir);
    let conf = dir.path("conf");
    let out = temper().arg("explain").arg("--config").arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().unwrap();
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["rule", "dev", "staging", "prod", "prod-eu", "summary"]);
    let probes = text.lines().find(|l| l.starts_with("probes ")).unwrap();
    assert_eq!(probes.split_whitespace().take(5).collect::<Vec<_>>(), ["probes", "audit", "audit", "audit", "enforce"]);
    let out = temper().args(["explain", "probes", "-c"]).arg(&conf).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("## Modes in the environments\ndev: audit, staging: audit, prod: audit, prod-eu: enforce\n"),
        "{text}"
    );
    // Without --config, the built-in environments as before.
    let out = temper().args(["explain", "probes"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("## Modes in the built-in environments\ndev: audit, staging: audit, prod: audit\n")
    );

    let out = temper().arg("init").arg(dir.path("new")).arg("--config").arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let read = |p: &str| std::fs::read_to_string(dir.path(p)).unwrap();
    assert_eq!(read("new/environments/eu.yaml"), read("conf/environments/eu.yaml"));
    assert_eq!(
        read("new/overlays/availability.yaml"),
        read("conf/overlays/availability.yaml"),
        "the user's replaces the built-in"
    );
    assert!(read("new/environments/prod.yaml").contains("name: prod"));
    let out = run_with_stdin(
        temper().args(["render", "-q", "--no-enforce", "--env", "prod-eu", "--config"]).arg(dir.path("new")),
        CONFIG_MAP.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
}

/// `verify` exits 4 when the input does not render to the hash or a stamped stream was
/// edited: not 3, which an enforced violation uses.
#[test]
fn verify_failures_exit_4() {
    let dir = TempDir::new("usage-verify");
    let file = dir.write("cm.yaml", CONFIG_MAP);
    let out = temper().args(["hash", "--env", "dev", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let verify = |h: &str| temper().args(["verify", "--env", "dev", "--hash", h, "-f"]).arg(&file).output().unwrap();
    assert_eq!(verify(&hash).status.code(), Some(0));
    let out = verify("sha256:0000");
    assert_eq!(out.status.code(), Some(4), "{}", transcript(&out));
    assert!(stderr(&out).contains("verification failed"), "{}", transcript(&out));

    let out = temper().args(["render", "-q", "--env", "dev", "--stamp", "-f"]).arg(&file).output().unwrap();
    let stamped = String::from_utf8(out.stdout).unwrap();
    let good = dir.write("stamped.yaml", &stamped);
    let out = temper().args(["verify", "--stamped"]).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let edited = dir.write("edited.yaml", stamped.replace("a: b", "a: c"));
    let out = temper().args(["verify", "--stamped"]).arg(&edited).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", transcript(&out));
}

/// A chart template that is a plain file: line for line what it renders, but for the name.
const TEMPLATE: &str = "# The web server.\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  containers:\n  - name: web\n    image: \"example/web:{{ .Values.tag }}\"\n    securityContext:\n      privileged: true\n";
/// What it renders to, as `helm template shop` prints it: `privileged: true` is line 11 of the
/// template and line 12 of the stream.
const RENDERED: &str = "---\n# Source: shop/templates/web.yaml\n# The web server.\napiVersion: v1\nkind: Pod\nmetadata:\n  name: shop-web\nspec:\n  containers:\n  - name: web\n    image: \"example/web:1.0\"\n    securityContext:\n      privileged: true\n";

/// The file and line of every `host-isolation` result.
fn host_isolation(out: &Output) -> Vec<(String, u64)> {
    assert_eq!(out.status.code(), Some(3), "{}", transcript(out));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "host-isolation")
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                location["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// SARIF results point into the chart template when the rendered document lines up with it
/// (the template file is found under the working directory or `--source-root`); otherwise at
/// the rendered input, as before.
#[test]
fn sarif_points_into_chart_templates_that_line_up() {
    let dir = TempDir::new("usage-sarif");
    dir.write("rendered.yaml", RENDERED);
    let check = |extra: &[&str]| {
        temper()
            .current_dir(dir.root())
            .args(["check", "--env", "prod", "-o", "sarif", "-f", "rendered.yaml"])
            .args(extra)
            .output()
            .unwrap()
    };
    // No template file: the input.
    assert_eq!(host_isolation(&check(&[])), [("rendered.yaml".to_string(), 13)]);
    // The template in the working directory.
    dir.write("shop/templates/web.yaml", TEMPLATE);
    assert_eq!(host_isolation(&check(&[])), [("shop/templates/web.yaml".to_string(), 11)]);
    // A template with control lines does not line up: the input again.
    dir.write("shop/templates/web.yaml", format!("{{{{- if .Values.web }}}}\n{TEMPLATE}{{{{- end }}}}\n"));
    assert_eq!(host_isolation(&check(&[])), [("rendered.yaml".to_string(), 13)]);
    // Nor does a template whose text differs.
    dir.write("shop/templates/web.yaml", TEMPLATE.replace("privileged: true", "privileged: false"));
    assert_eq!(host_isolation(&check(&[])), [("rendered.yaml".to_string(), 13)]);
    // Under --source-root, in a template file that holds two documents.
    std::fs::remove_dir_all(dir.path("shop")).unwrap();
    dir.write(
        "charts/shop/templates/web.yaml",
        format!("apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: web}}\n---\n{TEMPLATE}"),
    );
    assert_eq!(host_isolation(&check(&[])), [("rendered.yaml".to_string(), 13)]);
    assert_eq!(
        host_isolation(&check(&["--source-root", "charts"])),
        [("charts/shop/templates/web.yaml".to_string(), 15)]
    );
    // A template name that leaves the source root is never read.
    dir.write("secret/templates/web.yaml", TEMPLATE);
    dir.write("escape.yaml", RENDERED.replace("shop/templates", "../secret/templates"));
    let out = temper()
        .current_dir(dir.path("charts"))
        .args(["check", "--env", "prod", "-o", "sarif", "-f", "../escape.yaml"])
        .output()
        .unwrap();
    assert_eq!(host_isolation(&out), [("../escape.yaml".to_string(), 13)]);
}

/// Through the library: one document with many findings, each SARIF result at the line of its
/// own container's `privileged: true`, and the document read once for all of them.
#[test]
fn sarif_locates_every_finding_of_one_document() {
    let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata: {name: many}\nspec:\n  containers:\n");
    let mut expected = Vec::new();
    for i in 0..40 {
        text.push_str(&format!("  - name: c{i}\n    image: example/c:{i}\n"));
        if i % 3 == 0 {
            text.push_str("    ports: [{containerPort: 80}]\n");
        }
        text.push_str("    securityContext:\n      privileged: true\n");
        expected.push(text.lines().count());
    }
    let inputs = [temper::Input::new("many.yaml", text.as_str())];
    let outcome = temper::run(&inputs, &crate::util::policy("prod"), &temper::Settings::check(None)).unwrap();
    let sarif =
        temper::report::render(&outcome.report, temper::report::Format::Sarif, &inputs, &outcome.documents).unwrap();
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let mut lines: Vec<(String, u64)> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "host-isolation")
        .map(|r| {
            let message = r["message"]["text"].as_str().unwrap();
            let container = message.split("/containers/").nth(1).unwrap().split('/').next().unwrap().to_string();
            (container, r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap())
        })
        .collect();
    lines.sort_by_key(|(c, _)| c.parse::<usize>().unwrap());
    let expected: Vec<(String, u64)> = expected.iter().enumerate().map(|(i, l)| (i.to_string(), *l as u64)).collect();
    assert_eq!(lines, expected);
}

/// The command a truncated markdown diff suggests, as the markdown says it.
fn suggested(markdown: &str) -> String {
    let hint = markdown.split("**Truncated**").nth(1).unwrap_or_else(|| panic!("not truncated:\n{markdown}"));
    hint.split(" Run `").nth(1).unwrap().split('`').next().unwrap().to_string()
}

/// Runs `command` through a shell in `dir`, with this build's `temper` first on PATH.
fn shell(dir: &std::path::Path, command: &str, stdin: &[u8]) -> Output {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_temper")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut sh = std::process::Command::new("sh");
    crate::util::clean_env(&mut sh);
    run_with_stdin(sh.current_dir(dir).env("PATH", path).args(["-c", command]), stdin)
}

/// A truncated promote comment suggests the command for the full diff with the same inputs,
/// configuration and namespace, and that command works as copied; stdin input says to pipe it.
#[test]
fn the_truncation_hint_is_a_command_that_works() {
    let dir = TempDir::new("usage-hint");
    let mut stream = String::new();
    for i in 0..30 {
        stream.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web-{i:02}}}\nspec:\n  selector: {{matchLabels: {{app: web-{i:02}}}}}\n  template:\n    metadata: {{labels: {{app: web-{i:02}}}}}\n    spec:\n      containers:\n      - name: web\n        image: example/web:1.0\n"
        ));
    }
    dir.write("my dir/rendered.yaml", &stream);
    user_config(&dir);
    let args = [
        "promote",
        "--from",
        "dev",
        "--to",
        "prod",
        "-c",
        "conf",
        "-n",
        "shop",
        "-o",
        "markdown",
        "--markdown-budget",
        "4000",
    ];
    let out = temper().current_dir(dir.root()).args(args).args(["-f", "my dir/rendered.yaml"]).output().unwrap();
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 3)), "{}", transcript(&out));
    let command = suggested(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        command,
        "temper promote --from dev --to prod --config conf -n shop -f 'my dir/rendered.yaml' --format unified"
    );
    let full = shell(dir.root(), &command, b"");
    assert_eq!(full.status.code(), code, "{}", transcript(&full));
    let text = String::from_utf8_lossy(&full.stdout);
    assert!(!text.contains("Truncated") && (0..30).all(|i| text.contains(&format!("web-{i:02}"))), "{text}");

    // From stdin: the hint says to pipe it again, and piped again it works.
    let out = run_with_stdin(temper().current_dir(dir.root()).args(args), stream.as_bytes());
    let markdown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(markdown.contains("--format unified` (pipe the same input) for the full diff."), "{markdown}");
    let full = shell(dir.root(), &suggested(&markdown), stream.as_bytes());
    assert_eq!(full.status.code(), code, "{}", transcript(&full));

    // diff and compare name their inputs too.
    let out = temper()
        .current_dir(dir.root())
        .args(["diff", "-e", "prod", "-o", "markdown", "--markdown-budget", "4000", "--ignore", "/spec/replicas", "-f"])
        .arg("my dir/rendered.yaml")
        .output()
        .unwrap();
    assert_eq!(
        suggested(&String::from_utf8_lossy(&out.stdout)),
        "temper diff --env prod -f 'my dir/rendered.yaml' --ignore /spec/replicas --format unified"
    );
    dir.write("other.yaml", stream.replace("example/web:1.0", "example/web:2.0"));
    let out = temper()
        .current_dir(dir.root())
        .args(["compare", "my dir/rendered.yaml", "other.yaml", "-o", "markdown", "--markdown-budget", "4000"])
        .output()
        .unwrap();
    let command = suggested(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(command, "temper compare 'my dir/rendered.yaml' other.yaml --format unified");
    let full = shell(dir.root(), &command, b"");
    assert_eq!(full.status.code(), Some(0), "{}", transcript(&full));
}

/// Input over 4 MiB: 100 ConfigMaps of 45,000 characters each.
fn large_input() -> String {
    let value = "x".repeat(45_000);
    (0..100)
        .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{v: {value}}}\n"))
        .collect()
}

fn progress_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains(" documents read, ")).collect()
}

/// A long run (over 4 MiB of input, or stderr on a terminal) says how far it got on stderr, at
/// most twice a second and once at the end; never on stdout, never with `-q`.
#[test]
fn long_runs_report_progress_on_stderr() {
    let input = large_input();
    assert!(input.len() > 4 << 20);
    let started = std::time::Instant::now();
    let out = run_with_stdin(temper().args(["render", "--env", "dev"]), input.as_bytes());
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let lines = progress_lines(&err);
    assert_eq!(lines.last(), Some(&"temper: 100/100 documents read, 100 checked, 100 written"), "{err}");
    assert!(lines.len() as f64 <= 2.0 * seconds + 2.0, "{} progress lines in {seconds:.1} s:\n{err}", lines.len());
    let summary = err.lines().position(|l| l.starts_with("temper: dev: ")).unwrap();
    assert!(err.lines().skip(summary).all(|l| !l.contains(" documents read, ")), "progress ends before the summary");
    let quiet = run_with_stdin(temper().args(["render", "--env", "dev", "-q"]), input.as_bytes());
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));
    assert!(out.stdout == quiet.stdout, "progress never reaches stdout");

    let out = run_with_stdin(temper().args(["check", "--env", "dev"]), input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(progress_lines(&stderr(&out)).last(), Some(&"temper: 100/100 documents read, 100 checked"));
    assert!(progress_lines(&String::from_utf8_lossy(&out.stdout)).is_empty());
    // A small input, stderr not a terminal: no progress.
    let out = run_with_stdin(temper().args(["render", "--env", "dev"]), CONFIG_MAP.as_bytes());
    assert!(progress_lines(&stderr(&out)).is_empty(), "{}", stderr(&out));
}

/// Past `--max-violations` (50 by default), the summary counts the rest per rule; the JSON
/// report keeps every violation.
#[test]
fn violations_past_the_limit_are_counted_per_rule() {
    let pods: String = (0..30)
        .map(|i| format!("---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n  - name: c\n    image: example/c:1.0\n    securityContext: {{privileged: true}}\n"))
        .collect();
    let dir = TempDir::new("usage-limit");
    let report = dir.path("report.json");
    let log = dir.path("temper.log");
    let out = run_with_stdin(
        temper()
            .args(["render", "--env", "prod", "--no-enforce", "--max-violations", "7", "--report"])
            .arg(&report)
            .arg("--log-file")
            .arg(&log),
        pods.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let total = json["violations"].as_array().unwrap().len();
    assert_eq!(json["counts"]["violations"].as_u64(), Some(total as u64));
    assert!(total > 60, "{total} violations");
    let err = stderr(&out);
    let listed = err
        .lines()
        .filter(|l| l.starts_with("error[") || l.starts_with("warning[") || l.starts_with("refused["))
        .count();
    assert_eq!(listed, 7, "{err}");
    let more =
        format!("temper: {} more violations not listed (--max-violations 7); the JSON report has them all:", total - 7);
    assert!(err.contains(&more), "{err}");
    let counted: usize = err
        .lines()
        .filter_map(|l| l.strip_prefix("more[")?.split_once("] ")?.1.strip_suffix(" more")?.parse::<usize>().ok())
        .sum();
    assert_eq!(counted, total - 7, "{err}");
    let rules: Vec<&str> = err.lines().filter_map(|l| l.strip_prefix("more[")?.split(']').next()).collect();
    let mut unique = rules.clone();
    unique.dedup();
    assert_eq!(rules.len(), unique.len(), "one line per rule: {err}");
    assert!(rules.contains(&"host-isolation"), "{err}");
    // The log file has room for them all.
    let logged = std::fs::read_to_string(&log).unwrap();
    let levels = ["error[", "warning[", "refused[", "exempt["];
    let listed = logged.lines().filter(|l| levels.iter().any(|level| l.starts_with(level))).count();
    assert_eq!(listed, total, "{logged}");
    assert!(!logged.contains("more violations not listed"), "{logged}");
    // The default is 50, for check's text output as for render's summary.
    let out = run_with_stdin(temper().args(["check", "--env", "prod"]), pods.as_bytes());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().filter(|l| l.starts_with("error[") || l.starts_with("warning[")).count(), 50, "{text}");
    let checked: usize = text.split(" violations (").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        text.contains(&format!("temper: {} more violations not listed (--max-violations 50)", checked - 50)),
        "{text}"
    );
}
