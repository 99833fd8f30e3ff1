//! Diffs: every format on fixture pairs (`tests/fixtures/diff/<case>/{a,b}.yaml`), through the
//! command line; secret values never appear; JSON patches apply.

use std::path::Path;

use serde_json::Value;
use temper::canon::same_meaning;
use temper::diff::{self, Options, Side};
use temper::object::Key;
use temper::read::{self, Input};

use crate::util::{TempDir, run_with_stdin, temper, transcript};

const FORMATS: [&str; 5] = ["unified", "markdown", "json", "json-patch", "brief"];
/// Substrings of the secret values in the fixtures (plain and base64).
const SECRETS: [&str; 3] = ["SECRET-VALUE", "U0VDUkVULVZBTFVF", "VkFMVUU"];

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

#[test]
fn every_format_on_every_case() {
    let mut cases: Vec<_> = std::fs::read_dir(fixture_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        for format in FORMATS {
            let out = temper()
                .current_dir(&case)
                .args(["compare", "a.yaml", "b.yaml", "--color", "always", "--format", format])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
            let text = String::from_utf8(out.stdout).unwrap();
            for secret in SECRETS {
                assert!(!text.contains(secret), "{name} {format}: a secret value leaked:\n{text}");
            }
            if format != "unified" {
                assert!(!text.contains('\x1b'), "{name} {format}: colour outside the unified format");
            }
            insta::assert_snapshot!(format!("{name}-{format}"), text.replace('\x1b', "<ESC>"));
        }
    }
}

#[test]
fn exit_code_reports_differences_but_not_suppressed_ones() {
    let dir = fixture_dir();
    let code = |a: &str, b: &str, extra: &[&str]| {
        temper()
            .current_dir(&dir)
            .args(["compare", a, b, "--exit-code", "--format", "brief"])
            .args(extra)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code("container-insert/a.yaml", "container-insert/b.yaml", &[]), Some(1));
    assert_eq!(code("container-insert/a.yaml", "container-insert/a.yaml", &[]), Some(0));
    // Only the apiVersion, maxReplicas and noise differ; with those ignored nothing is left.
    let args = ["--ignore", "/apiVersion", "--ignore", "/spec/maxReplicas"];
    assert_eq!(code("noise-and-versions/a.yaml", "noise-and-versions/b.yaml", &args), Some(0));
    assert_eq!(
        code(
            "noise-and-versions/a.yaml",
            "noise-and-versions/b.yaml",
            &[args[0], args[1], args[2], args[3], "--no-default-ignores"]
        ),
        Some(1)
    );
}

#[test]
fn show_secrets_is_refused_in_ci_unless_allowed() {
    let dir = fixture_dir().join("secret-change");
    let out = temper()
        .current_dir(&dir)
        .args(["compare", "a.yaml", "b.yaml", "--show-secrets"])
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing --show-secrets"));
    let out = temper()
        .current_dir(&dir)
        .args(["compare", "a.yaml", "b.yaml", "--show-secrets", "--allow-secrets-in-ci"])
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SECRET-VALUE-NEW-ENV"));
}

#[test]
fn markdown_stops_at_its_budget_and_says_what_it_left_out() {
    let mut a = String::new();
    let mut b = String::new();
    for i in 0..60 {
        a.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02}}}\ndata: {{value: old-{}}}\n",
            "x".repeat(200)
        ));
        b.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02}}}\ndata: {{value: new-{}}}\n",
            "y".repeat(200)
        ));
    }
    let dir = TempDir::new("diff-budget");
    dir.write("a.yaml", a);
    dir.write("b.yaml", b);
    let out = temper()
        .current_dir(dir.root())
        .args(["compare", "a.yaml", "b.yaml", "--format", "markdown", "--markdown-budget", "12000"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.len() <= 12_000, "{} characters", text.len());
    assert!(text.contains("**Truncated**"), "{text}");
    insta::assert_snapshot!(text);
}

/// The hardening diff: every changed field names its rule; generated resources are added
/// with theirs.
#[test]
fn hardening_diff_attributes_every_change() {
    let input =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stream/helm3-stream.yaml"))
            .unwrap();
    let out = run_with_stdin(temper().args(["diff", "--env", "prod", "--format", "json"]), input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schemaVersion"], "temper.dev/diff/v1");
    let resources = json["resources"].as_array().unwrap();
    let mut fields = 0;
    for r in resources {
        for c in r["changes"].as_array().unwrap() {
            assert!(c["rule"].is_string(), "unattributed change {c} in {}", r["id"]);
            fields += 1;
        }
        if r["changeType"] == "added" {
            assert!(r["rule"].is_string(), "generated resource without its rule: {}", r["id"]);
        }
    }
    assert!(fields > 5);
    insta::assert_snapshot!(String::from_utf8_lossy(
        &run_with_stdin(temper().args(["diff", "--env", "prod", "--color", "never"]), input.as_bytes()).stdout
    ));
}

#[test]
fn promote_names_what_would_fail_and_exits_3() {
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: SECRET-VALUE-PROMOTE}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: example/web:1.0}]\n";
    let out = run_with_stdin(
        temper().args(["promote", "--from", "staging", "--to", "prod", "--format", "markdown"]),
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("SECRET-VALUE"));
    assert!(text.contains("> [!WARNING]") && text.contains("plaintext-secrets"), "{text}");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter("sha256:[0-9a-f]{64}", "sha256:[hash]");
    settings.bind(|| insta::assert_snapshot!(text));
    let out = run_with_stdin(
        temper().args(["promote", "--from", "dev", "--to", "staging", "--format", "brief", "--exit-code"]),
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
}

fn resources(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    read::parse(&[Input::new("f", text)])
        .unwrap()
        .into_iter()
        .flat_map(|d| d.resources().into_iter().map(|(_, v)| v.clone()).collect::<Vec<_>>())
        .collect()
}

/// RFC 6902 patches from keyed list matching apply: a's resources patched give b's.
#[test]
fn json_patches_apply() {
    for case in std::fs::read_dir(fixture_dir()).unwrap() {
        let case = case.unwrap().path();
        let (a, b) = (resources(&case.join("a.yaml")), resources(&case.join("b.yaml")));
        let options = Options { show_secrets: true, default_ignores: false, ignore: Vec::new(), ..Options::default() };
        let d = diff::diff(
            &Side { resources: a.iter().map(diff::Resource::from).collect(), ..Side::default() },
            &Side { resources: b.iter().map(diff::Resource::from).collect(), ..Side::default() },
            &options,
        )
        .unwrap();
        let patches = diff::render(&d, diff::Format::JsonPatch, &diff::Style::default());
        let patches: Value = serde_json::from_str(&patches).unwrap();
        for entry in patches["resources"].as_array().unwrap() {
            if entry["changeType"] != "changed" {
                continue;
            }
            let id = entry["id"].as_str().unwrap();
            let mut doc = a.iter().find(|v| Key::of(v).to_string() == id).unwrap().clone();
            let patch: json_patch::Patch = serde_json::from_value(entry["patch"].clone()).unwrap();
            json_patch::patch(&mut doc, &patch).unwrap_or_else(|e| panic!("{id}: {e}"));
            let want = b.iter().find(|v| Key::of(v).to_string() == id).unwrap();
            assert!(same_meaning(&doc, want), "{}: patched\n{doc}\nwanted\n{want}", case.display());
        }
    }
}

/// A review writes the manifests without keeping them, so it fails where the render would:
/// a workload the rules change that holds an integer too large for 64 bits cannot be written
/// again without changing its meaning.
#[test]
fn a_review_fails_where_the_render_would_fail_to_write() {
    let dir = TempDir::new("review-write-error");
    let input = dir.write(
        "in.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  big: 0x1FFFFFFFFFFFFFFFFF\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: example/web:1.0}]\n",
    );
    let input = input.to_str().unwrap();
    for args in [
        &["render", "--env", "prod", "--no-enforce", "-f", input][..],
        &["diff", "--env", "prod", "--no-enforce", "-f", input][..],
        &["promote", "--from", "staging", "--to", "prod", "-f", input][..],
        &["compare", "--env", "prod", input, input][..],
    ] {
        let out = temper().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", transcript(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot re-emit this document"),
            "{args:?}: {}",
            transcript(&out)
        );
    }
}

/// A review's renders keep of their changes only who made each, but whole the changes of a
/// kind: every review still names the rule that turned a Secret into an ExternalSecret in
/// place, on the resource removed and on the one added.
#[test]
fn a_review_names_the_rule_that_turned_a_resource_into_another_kind() {
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules/external-secrets/eso.yaml"),
    )
    .unwrap();
    let (environment, _) = fixture.split_once("\n---\n").unwrap();
    let dir = TempDir::new("review-replaced-in-place");
    dir.write("config/environments/eso.yaml", environment);
    let input = dir.write(
        "in.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: SECRET-VALUE}\n",
    );
    let (config, input) = (dir.path("config"), input.to_str().unwrap().to_string());
    let config = config.to_str().unwrap();
    for args in [
        &["diff", "-c", config, "--env", "eso", "--no-enforce", "-f", &input][..],
        &["promote", "-c", config, "--from", "dev", "--to", "eso", "-f", &input][..],
    ] {
        let out = temper().args(args).args(["--format", "json"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", transcript(&out));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let shown: Vec<(&str, &str, &str)> = json["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap(), r["changeType"].as_str().unwrap(), r["rule"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(
            shown,
            [
                ("ExternalSecret.external-secrets.io/shop/db", "added", "external-secrets"),
                ("Secret/shop/db", "removed", "external-secrets")
            ],
            "{args:?}"
        );
    }
}

/// A review's render reads only the inputs' names once their documents are read, which is
/// why `promote` drops the input text before its two renders: without the text a review finds
/// what it finds with it, on every corpus file, on an untouched JSON document, and on a
/// document it cannot write again (the same error).
#[test]
fn a_review_render_needs_no_input_text() {
    use temper::compliance::SecretValues;
    use temper::progress::Progress;
    let frozen = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  big: 0x1FFFFFFFFFFFFFFFFF\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: example/web:1.0}]\n";
    let json = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"j\"}, \"data\": {\"on\": \"1\"}}\n";
    let mut cases = crate::util::valid_corpus();
    cases.push(("frozen.yaml".into(), frozen.into()));
    cases.push(("json.yaml".into(), json.into()));
    cases.push(("json-then-yaml.yaml".into(), format!("{json}---\n{frozen}")));
    let settings = temper::Settings::render(None).with_compliance(SecretValues::Length).for_review();
    let mut failed = 0;
    for env in ["staging", "prod"] {
        let policy = crate::util::policy(env);
        for (name, text) in &cases {
            let inputs = [Input::new(name.clone(), text.clone())];
            let names: Vec<Input> = inputs.iter().map(Input::without_text).collect();
            assert!(names[0].text.is_empty());
            let review = |inputs: &[Input]| -> Result<String, String> {
                let docs = read::parse_then(
                    &[Input::new(name.clone(), text.clone())],
                    &Progress::default(),
                    read::Document::compact,
                )
                .map_err(|e| e.to_string())?;
                let outcome = temper::run_parsed(inputs, docs, &policy, &settings).map_err(|e| e.to_string())?;
                Ok(serde_json::to_string(&outcome.report).unwrap())
            };
            let with_text = review(&inputs);
            failed += usize::from(with_text.is_err());
            assert_eq!(review(&names), with_text, "{env}: {name}");
        }
    }
    assert!(failed >= 2, "the document that cannot be written again fails the review in both environments");
}

/// A workload and a ConfigMap no rule touches.
const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: example/web:1.0}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: untouched}\ndata: {mode: '0755'}\n";

/// Every corpus file, [`WEB`], and two inputs a run fails on: a pod spec of the wrong type (in
/// every environment) and [`WEB`] with a key set twice after it (under `strict`).
fn corpus_and_failing_inputs() -> Vec<(String, String)> {
    let mistyped =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec: cut here\n";
    let twice = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\ndata: {a: '2'}\n";
    let mut cases = crate::util::valid_corpus();
    cases.push(("web.yaml".into(), WEB.into()));
    cases.push(("mistyped.yaml".into(), mistyped.into()));
    cases.push(("twice.yaml".into(), format!("{WEB}---\n{twice}")));
    cases
}

/// `check` and a review's render (`compare --env`) drop the input text once the documents are
/// read ([`temper::run_forgetting_text`]): the report (with a review's compliance statement)
/// is the same as with the text, on every corpus file, on a document that fails its type
/// check, and on one with a key set twice (strict, the same error); a render keeps the text,
/// and writes what it wrote with it.
#[test]
fn a_check_and_a_review_forget_the_input_text_and_report_the_same() {
    let cases = corpus_and_failing_inputs();
    let mut failed = 0;
    for (env, strict) in [("staging", false), ("prod", true)] {
        let policy = crate::util::policy(env);
        let check = temper::Settings::check(None).with_strict(strict);
        let secrets = temper::compliance::SecretValues::Length;
        let review = temper::Settings::render(None).with_compliance(secrets).for_review().with_strict(strict);
        for ((name, text), settings) in cases.iter().flat_map(|case| [(case, &check), (case, &review)]) {
            let report = |outcome: temper::Result<temper::Outcome>| match outcome {
                Ok(outcome) => Ok(serde_json::to_string(&outcome.report).unwrap()),
                Err(e) => Err(e.to_string()),
            };
            let with_text = report(temper::run(&[Input::new(name.clone(), text.clone())], &policy, settings));
            let mut inputs = [Input::new(name.clone(), text.clone())];
            let forgetting = report(temper::run_forgetting_text(&mut inputs, &policy, settings));
            assert_eq!(forgetting, with_text, "{env}: {name}");
            assert!(inputs[0].text.is_empty() || forgetting.is_err(), "{env}: {name}: the text was kept");
            failed += usize::from(with_text.is_err());
        }
        let render = temper::Settings::render(None);
        let (name, text) = ("web.yaml", WEB.to_string());
        let mut inputs = [Input::new(name, text.clone())];
        let kept = temper::run_forgetting_text(&mut inputs, &policy, &render).unwrap();
        assert_eq!(inputs[0].text, text, "a render keeps the text");
        let output = temper::run(&[Input::new(name, text.clone())], &policy, &render).unwrap().output;
        assert_eq!(kept.output, output);
    }
    assert!(
        failed >= 6,
        "checked and reviewed, the mistyped document fails in both environments, the key set twice in prod"
    );
}

/// A render that holds its input text packed between the read and the write
/// (`run_packing_text`, what `render`, `check --format sarif`, `hash` and ArgoCD run) writes
/// the same manifests and the same report, or fails with the same error, as one that holds it
/// whole, and gives every input its text back either way.
#[test]
fn a_render_holding_its_text_packed_writes_and_reports_the_same() {
    // Longer than a packed piece, with a character of several bytes across every boundary.
    let long = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: long}}\ndata: {{a: '{}'}}\n",
        "é€😀".repeat(200_000)
    );
    let mut cases = corpus_and_failing_inputs();
    cases.push(("long.yaml".into(), long));
    let mut failed = 0;
    for (env, strict) in [("staging", false), ("prod", true)] {
        let policy = crate::util::policy(env);
        let secrets = temper::compliance::SecretValues::default();
        let settings = temper::Settings::render(None).with_strict(strict).with_compliance(secrets).packing_output();
        let written = |outcome: temper::Result<temper::Outcome>| match outcome {
            Ok(outcome) => {
                let mut out = Vec::new();
                outcome.write_output(&mut out).unwrap();
                Ok((String::from_utf8(out).unwrap(), serde_json::to_string(&outcome.report).unwrap()))
            }
            Err(e) => Err(e.to_string()),
        };
        for (name, text) in &cases {
            let whole = written(temper::run(&[Input::new(name.clone(), text.clone())], &policy, &settings));
            let mut inputs = [Input::new(name.clone(), text.clone())];
            let packed = written(temper::run_packing_text(&mut inputs, &policy, &settings));
            assert!(packed == whole, "{env}: {name}: not the same outcome");
            assert!(inputs[0].text == *text, "{env}: {name}: the text was not given back");
            failed += usize::from(whole.is_err());
        }
    }
    assert!(failed >= 3, "the mistyped document fails in both environments, the key set twice in prod");
}
