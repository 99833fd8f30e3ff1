//! Reading and writing streams: the input contract (section 2 of the core issue), with our own
//! small fixtures in `tests/fixtures/stream`, so the suite means something without the corpus.

use serde_json::json;
use temper::Settings;
use temper::read::{self, Input};

use crate::util::{check_faithful, policy, render, render_on};

/// Every stream fixture renders faithfully in prod; the emitted text is snapshotted, so a
/// quoting regression shows up as a diff.
#[test]
fn stream_fixtures() {
    insta::glob!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"), "stream/*", |path| {
        let text = read::decode("fixture", std::fs::read(path).unwrap()).unwrap();
        let outcome = render(&policy("prod"), &text).unwrap();
        check_faithful(&text, &outcome);
        let again = render(&policy("prod"), &outcome.output).unwrap();
        assert_eq!(again.output, outcome.output, "not idempotent");
        insta::assert_snapshot!(format!("{}\n===== summary =====\n{}", outcome.output, outcome.report.summary()));
    });
}

#[track_caller]
fn decode(text: &str) -> serde_json::Value {
    let docs = read::parse(&[Input::new("t", text)]).unwrap();
    docs.into_iter().find_map(|d| d.value).unwrap()
}

#[test]
fn scalars_keep_their_kubernetes_meaning() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stream/scalars.yaml")).unwrap();
    let outcome = render(&policy("prod"), &text).unwrap();
    let out = decode(&outcome.output);
    let labels = &out["metadata"]["labels"];
    for (key, want) in [
        ("quoted-on", "on"),
        ("quoted-yes", "yes"),
        ("quoted-y", "y"),
        ("quoted-n", "N"),
        ("quoted-octal", "0755"),
        ("quoted-float", "1e3"),
        ("quoted-int", "012"),
        ("quoted-date", "2024-01-01"),
        ("quoted-time", "1:30"),
        ("quoted-underscore", "1_000"),
        ("quoted-null", "null"),
        ("quoted-tilde", "~"),
        ("quoted-empty", ""),
        ("quoted-true", "true"),
        ("quoted-inf", ".inf"),
        ("quoted-merge", "<<"),
    ] {
        assert_eq!(labels[key], json!(want), "{key}");
    }
    assert_eq!(out["metadata"]["annotations"]["equals"], json!("="));
    assert_eq!(out["metadata"]["annotations"]["date"], json!("2001-12-14"));
    let docs = read::parse(&[Input::new("t", outcome.output.as_str())]).unwrap();
    let rollout = docs.iter().filter_map(|d| d.value.as_ref()).find(|v| v["kind"] == "Rollout").unwrap();
    assert!(outcome.report.changes.iter().any(|c| c.resource.kind() == "Rollout"), "the Rollout must be re-emitted");
    let scalars = rollout["spec"]["scalars"].as_array().unwrap().clone();
    assert_eq!(
        scalars,
        [
            json!(true),
            json!(false),
            json!(true),
            json!(true),
            json!(493),
            json!(8.0),
            json!(31),
            json!(1000.0),
            json!(18446744073709551615u64),
            json!(18446744073709551616.0),
            json!(-9223372036854775808i64),
            json!(1000),
            json!(1.1),
        ]
    );
    assert_eq!(out["spec"]["volumes"][0]["configMap"]["defaultMode"], json!(420));
    assert_eq!(out["spec"]["volumes"][0]["configMap"]["items"][0]["mode"], json!(256));
    // Written in decimal, never as a string.
    assert!(outcome.output.contains("defaultMode: 420"), "{}", outcome.output);
}

#[test]
fn helm_4_filename_annotation_survives_and_hooks_are_hardened() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stream/helm4.yaml")).unwrap();
    let outcome = render(&policy("prod"), &text).unwrap();
    let docs = read::parse(&[Input::new("out", outcome.output.as_str())]).unwrap();
    let values: Vec<_> = docs.iter().filter_map(|d| d.value.as_ref()).collect();
    for v in &values[..3] {
        assert!(v.pointer("/metadata/annotations/postrenderer.helm.sh~1postrender-filename").is_some(), "{v}");
    }
    let job = values[1];
    assert_eq!(job.pointer("/spec/template/spec/securityContext/runAsNonRoot"), Some(&json!(true)));
    assert_eq!(job.pointer("/metadata/annotations/helm.sh~1hook"), Some(&json!("pre-install")));
    assert!(!outcome.output.contains("# Source:"));
}

#[test]
fn crlf_documents_keep_crlf_when_re_emitted() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stream/crlf.yaml")).unwrap();
    let outcome = render(&policy("prod"), &text).unwrap();
    let changed = outcome.output.split("---\r\n").nth(1).unwrap();
    assert!(changed.contains("readOnlyRootFilesystem: true\r\n"), "{changed:?}");
    assert!(!changed.replace("\r\n", "").contains('\n'), "a bare LF in a CRLF document: {changed:?}");
    assert!(changed.starts_with("# Source: win/templates/pod.yaml\r\n"));
}

#[test]
fn empty_input_gives_empty_output() {
    for text in ["", "\n", "  \n\n"] {
        let outcome = render(&policy("prod"), text).unwrap();
        assert_eq!(outcome.output, text, "{text:?}");
        assert!(outcome.report.changes.is_empty());
    }
}

#[test]
fn a_lone_untouched_json_document_is_written_back_exactly() {
    let text =
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"x\"}, \"data\": {\"a\": \"on\"}}";
    let outcome = render(&policy("dev"), text).unwrap();
    assert_eq!(outcome.output, text);
}

#[test]
fn errors_name_the_document_and_position() {
    let text = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels: [oops\n";
    let err = render(&policy("prod"), text).unwrap_err().to_string();
    assert_eq!(err, "<test>:12:11: document 2 (ConfigMap/b from c/templates/b.yaml): unclosed bracket '['");
}

#[test]
fn hostile_documents_fail_cleanly() {
    let deep = format!("apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let err = render(&policy("prod"), &deep).unwrap_err().to_string();
    assert!(err.contains("document 1"), "{err}");
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        bomb.push_str(&format!("x{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
    }
    let err = render(&policy("prod"), &bomb).unwrap_err().to_string();
    assert!(err.contains("alias bomb"), "{err}");
    let inf = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  ratio: .inf\n";
    let err = render(&policy("prod"), inf).unwrap_err().to_string();
    assert!(err.contains("<test>:5:10: document 1 (ConfigMap/x)"), "{err}");
}

/// Limits are per document: a large stream of ordinary documents passes.
#[test]
fn a_20_mb_stream_of_normal_documents_passes() {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 20 << 20 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  labels: {{app: demo}}\ndata:\n  key: \"{}\"\n",
            "v".repeat(900)
        ));
        i += 1;
    }
    let outcome = render(&policy("dev"), &text).unwrap();
    assert_eq!(outcome.output, text);
    assert_eq!(outcome.report.counts.documents, i);
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stream/helm3-stream.yaml"))
        .unwrap();
    let many = text.repeat(40);
    let one = render_on(1, &policy("prod"), &many).unwrap();
    let two = render_on(2, &policy("prod"), &many).unwrap();
    assert_eq!(one.output, two.output);
    assert_eq!(serde_json::to_string(&one.report).unwrap(), serde_json::to_string(&two.report).unwrap());
}

/// A render keeping its output packed, as the binary does, writes the same bytes as one
/// keeping it whole: over many pieces, for a stream of JSON documents (whose first gets its
/// `---` line once the output is made) and for YAML documents whose last line has no line
/// break.
#[test]
fn packed_output_is_the_same_text() {
    let json = |i: usize| {
        json!({"apiVersion": "v1", "kind": if i.is_multiple_of(3) { "Pod" } else { "ConfigMap" }, "metadata": {"name": format!("o-{i}")},
               "data": {"k": "x".repeat(300)}})
        .to_string()
    };
    let yaml = |i: usize| match i % 3 {
        0 => format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p-{i}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27\n"
        ),
        _ => format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-{i}\ndata:\n  k: \"{}\"", "x".repeat(300)),
    };
    let json_stream: Vec<String> = (0..8_000).map(json).collect();
    let yaml_stream: String = (0..8_000)
        .map(|i| {
            format!("{}{}", if i % 2 == 0 { "\n---\n" } else { "\n---\n# Source: chart/templates/x.yaml\n" }, yaml(i))
        })
        .collect();
    for input in [json_stream.join("\n"), yaml_stream] {
        let inputs = [Input::new("<test>", input.as_str())];
        let whole = temper::run(&inputs, &policy("prod"), &Settings::render(None)).unwrap();
        assert!(whole.output.len() > 2 * temper::write::PIECE, "the output must span pieces");
        if input.starts_with('{') {
            assert!(whole.output.starts_with("---\n{"), "a JSON first document gets its line once others follow");
        }
        let packed = temper::run(&inputs, &policy("prod"), &Settings::render(None).packing_output()).unwrap();
        assert!(packed.output.is_empty(), "packed output is held packed");
        assert!(packed.output_text().unwrap() == whole.output, "packed output reads back as the whole");
        let mut written = Vec::new();
        packed.write_output(&mut written).unwrap();
        assert!(written == whole.output.as_bytes(), "packed output is written as the whole");
        let mut written = Vec::new();
        whole.write_output(&mut written).unwrap();
        assert!(written == whole.output.as_bytes());
    }
}
