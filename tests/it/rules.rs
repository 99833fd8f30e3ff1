//! One fixture per rule situation (`tests/fixtures/rules/<dir>/<case>.yaml`), snapshotted:
//! the emitted text, every recorded change, and the summary of violations.
//!
//! A fixture runs in an environment where only its directory's rule is on, in fix mode, with
//! the `resource-sizing` overlay; or, when it starts with its own `Environment` (and
//! `Overlay`) documents, in that environment.

use std::fmt::Write as _;

use temper::Config;

use crate::util::{check_faithful, render};

/// Splits the leading temper configuration documents off a fixture.
fn split_config(text: &str) -> (Vec<&str>, String) {
    let docs: Vec<&str> = text.split("\n---\n").collect();
    let n = docs.iter().take_while(|d| d.lines().any(|l| l.starts_with("apiVersion: temper.dev/"))).count();
    (docs[..n].to_vec(), docs[n..].join("\n---\n"))
}

#[test]
fn rule_fixtures() {
    insta::glob!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"), "rules/*/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let rule = path.parent().unwrap().file_name().unwrap().to_string_lossy().to_string();
        let (config_docs, input) = split_config(&text);
        let mut config = Config::builtin().unwrap();
        let mut env = None;
        for doc in &config_docs {
            if doc.contains("\nkind: Overlay") {
                config.add_overlay("fixture-overlay.yaml", doc).unwrap();
            } else {
                env = Some(config.add_environment("fixture-environment.yaml", doc).unwrap());
            }
        }
        let env = env.unwrap_or_else(|| {
            let doc = format!(
                "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {{name: only-{rule}}}\nspec:\n  overlays: [resource-sizing]\n  rules: {{{rule}: fix}}\n"
            );
            config.add_environment("fixture-environment.yaml", &doc).unwrap()
        });
        let policy = config.resolve(&env).unwrap();
        let outcome = render(&policy, &input).unwrap();
        check_faithful(&input, &outcome);
        let mut snap = outcome.output.clone();
        snap.push_str("===== changes =====\n");
        for c in &outcome.report.changes {
            let via = c.overlay.as_deref().map(|o| format!(" ({o})")).unwrap_or_default();
            let _ = writeln!(snap, "{}{via} {} {:?} {} = {}", c.rule, c.resource, c.op, c.pointer, c.value);
        }
        snap.push_str("===== summary =====\n");
        snap.push_str(&outcome.report.summary());
        let report = serde_json::to_string(&outcome.report).unwrap();
        assert!(
            !report.contains("never-printed") && !report.contains("c2VjcmV0"),
            "a secret value leaked into the report"
        );
        insta::assert_snapshot!(snap);
    });
}
