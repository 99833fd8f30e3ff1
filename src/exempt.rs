//! Exemptions: which rules a resource is excused from, and why.
//!
//! Two sources: the annotations `temper.dev/exempt: "rule-a,rule-b"` with
//! `temper.dev/exempt-reason` on the object or its pod template, and the environment's
//! `exemptions` list. An exemption without a reason, naming an unknown rule, or written as an
//! annotation where the environment refuses annotation exemptions, is not honoured and is
//! reported.

use serde_json::Value;

use crate::config::Policy;
use crate::object::{self, ResourceId};
use crate::record::{ExemptionSource, ExemptionUse, RuleId, Waiver, Waivers};
use crate::workload::Workload;

pub const EXEMPT: &str = "temper.dev/exempt";
pub const EXEMPT_REASON: &str = "temper.dev/exempt-reason";

/// The exemptions that apply to `obj`, and the annotation exemptions refused on it.
pub fn waivers(
    policy: &Policy,
    obj: &Value,
    workload: Option<&Workload>,
    id: &ResourceId,
    namespace: Option<&str>,
) -> (Waivers, Vec<ExemptionUse>) {
    let mut granted = Waivers::default();
    let mut refused = Vec::new();
    let mut annotation_sets = vec![object::annotations(obj)];
    // A Pod's template metadata is its own metadata: read it once.
    if let Some(w) = workload.filter(|w| w.meta.as_str() != "/metadata")
        && let Some(pod) = obj.pointer(w.meta.key("annotations").as_str()).and_then(Value::as_object)
    {
        annotation_sets.push(pod);
    }
    for annotations in annotation_sets {
        let Some(list) = annotations.get(EXEMPT).and_then(Value::as_str) else { continue };
        let reason = annotations.get(EXEMPT_REASON).and_then(Value::as_str).map(str::trim).unwrap_or_default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let refuse = |problem: String| ExemptionUse {
                rule: name.parse().ok(),
                resource: id.clone(),
                source: ExemptionSource::Annotation,
                reason: reason.to_string(),
                violations: 0,
                refused: Some(problem),
            };
            match RuleId::parse_from(name, &format!("the {EXEMPT} annotation")) {
                Err(e) => refused.push(refuse(e)),
                Ok(_) if reason.is_empty() => refused.push(refuse(format!("no {EXEMPT_REASON} annotation"))),
                Ok(_) if !policy.annotation_exemptions => refused.push(refuse(format!(
                    "environment `{}` does not accept annotation exemptions",
                    policy.environment
                ))),
                Ok(rule) => {
                    granted.grant(rule, Waiver { source: ExemptionSource::Annotation, reason: reason.to_string() })
                }
            }
        }
    }
    for ex in &policy.exemptions {
        if !ex.target.matches(id, obj, namespace) {
            continue;
        }
        for &rule in &ex.rules {
            let source = ExemptionSource::Environment { environment: ex.environment.clone(), index: ex.index };
            granted.grant(rule, Waiver { source, reason: ex.reason.clone() });
        }
    }
    (granted, refused)
}
