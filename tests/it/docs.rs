//! The documentation is a test: every rule's `yaml before` / `yaml after` example is run with
//! that rule alone in fix mode (default parameters, the built-in overlays `resource-sizing`,
//! `workload-kinds` and `operations`, or the parameters the doc states just before the
//! example as "With `params`:") and must produce the `after` text's meaning exactly.

use serde_json::Value;
use temper::canon::same_meaning;
use temper::read::{self, Input};
use temper::record::RuleId;

use crate::util::{policy_from, render};

/// The fenced blocks of `doc` whose info string is `lang tag`.
fn blocks<'a>(doc: &'a str, info: &str) -> Vec<&'a str> {
    let fence = format!("```{info}\n");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```").unwrap();
        out.push(&body[..end]);
        rest = &body[end + 3..];
    }
    out
}

fn values(text: &str) -> Vec<Value> {
    read::parse(&[Input::new("doc", text)]).unwrap().into_iter().filter_map(|d| d.value).collect()
}

/// The parameters a doc example states in prose on the line before it ("With `key: value`:"),
/// as a YAML flow mapping; `{}` when it states none.
fn example_params(doc: &str, example: &str) -> String {
    let at = doc.find(example).unwrap();
    let fence = doc[..at].rfind("```").unwrap();
    let line = doc[..fence].trim_end().rsplit('\n').next().unwrap_or_default();
    let params = line.strip_prefix("With `").and_then(|l| l.strip_suffix("`:")).unwrap_or_default();
    format!("{{{params}}}")
}

#[test]
fn every_rule_example_holds() {
    let mut checked = 0;
    for &rule in RuleId::ALL {
        let doc = rule.doc();
        let (before, after) = (blocks(doc, "yaml before"), blocks(doc, "yaml after"));
        assert_eq!(before.len(), after.len(), "{rule}: unpaired example blocks");
        if rule.fixes() {
            assert_eq!(before.len(), 1, "{rule}: a rule with a fix documents it with a before/after example");
        } else {
            assert!(!blocks(doc, "yaml").is_empty(), "{rule}: an audit rule shows an example");
        }
        for (b, a) in before.iter().zip(&after) {
            let env = format!(
                "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {{name: doc-{rule}}}\nspec:\n  overlays: [resource-sizing, workload-kinds, operations]\n  rules:\n    {rule}: {{mode: fix, params: {}}}\n",
                example_params(doc, b)
            );
            let outcome = render(&policy_from(&env), b).unwrap_or_else(|e| panic!("{rule}: {e}"));
            let got = values(&outcome.output);
            let want = values(a);
            assert_eq!(got.len(), want.len(), "{rule}: document count\n{}", outcome.output);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    same_meaning(g, w),
                    "{rule}: example does not hold\nexpected: {w}\n     got: {g}\n{}",
                    outcome.output
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} examples checked");
}
