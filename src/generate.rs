//! Stage 5, generate: the objects rules add (PodDisruptionBudgets, NetworkPolicies,
//! ResourceQuotas), stamped and put in a stable order.
//!
//! **Invariant:** generated objects come after every input document, ordered by kind,
//! namespace and name; each carries the label `app.kubernetes.io/created-by: temper` and the
//! annotation `temper.dev/rule`. An object whose identity is already in the stream is never
//! generated again, which keeps rendering idempotent; rules also treat what they added earlier
//! in the run as present, so a render reports what a check of its output would.

use serde_json::{Value, json};

use crate::config::Policy;
use crate::read::{Document, Sealed};
use crate::record::{Findings, Generated, RuleId};
use crate::rules::{Generation, Gx, Stream};

pub const CREATED_BY: &str = "app.kubernetes.io/created-by";
pub const RULE_ANNOTATION: &str = "temper.dev/rule";

/// Runs every generating rule and returns the objects to append, in output order, and what
/// the rules found while generating: the caller appends those findings to the run's once what
/// only generation reads is gone, since appending grows the run's lists (on a stream of small
/// workloads, a list of a hundred thousand violations is copied as it grows).
pub fn generate(stream: Stream<'_>, policy: &Policy, docs: &[Document<Sealed>]) -> (Vec<Generated>, Findings) {
    let mut out = Generation::default();
    for id in docs.iter().flat_map(Document::<Sealed>::resource_ids) {
        out.taken.note(stream.index, &id);
    }
    let decorators: Vec<_> = policy.rules.iter().filter(|r| stream.fix && r.mode.fixes()).collect();
    let complete = |rule: RuleId, object: &mut Value| {
        stamp(object, rule.as_str());
        // What fixing rules fill on every resource, they fill on generated objects too.
        for decorator in &decorators {
            decorator.rule.decorate(object, stream.knowledge);
        }
    };
    for rule in &policy.rules {
        let mut gx = Gx::new(stream, rule.id, rule.mode, &mut out, &complete);
        rule.rule.generate(&mut gx);
    }
    let mut generated = out.generated;
    generated.sort_by(|a, b| order(a).cmp(&order(b)));
    (generated, out.findings)
}

/// Where a generated object goes in the output: by kind, namespace and name.
fn order(g: &Generated) -> (&str, &str, &str) {
    let id = g.id();
    (id.kind(), id.namespace().as_deref().unwrap_or_default(), &id.name)
}

fn stamp(obj: &mut Value, rule: &str) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    for (field, key, value) in [("labels", CREATED_BY, "temper"), ("annotations", RULE_ANNOTATION, rule)] {
        let slot = meta.entry(field).or_insert_with(|| json!({}));
        if let Some(map) = slot.as_object_mut() {
            map.insert(key.into(), json!(value));
        }
    }
}
