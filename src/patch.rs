//! Overlay patches: JSON patches (RFC 6902), merge patches (RFC 7396) and container patches,
//! applied to the resources their target selects, before any rule runs.
//!
//! Each changed field is recorded, attributed to `overlay-patch` and the overlay's name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object::ResourceId;
use crate::pointer::Pointer;
use crate::rules::{Change, Op, RuleId, Workload, containers};
use crate::target::{Target, TargetSpec};

/// A patch as written in an overlay. Exactly one of the three patch fields must be given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub target: TargetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_patch: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_patch: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_patch: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

#[derive(Debug, Clone)]
enum Action {
    Json(json_patch::Patch),
    Merge(Value),
    Container(Value),
}

/// A compiled patch of one overlay.
#[derive(Debug, Clone)]
pub struct Patch {
    pub overlay: String,
    /// 1-based position in the overlay's `patches`.
    pub number: usize,
    pub spec: PatchSpec,
    pub target: Target,
    action: Action,
}

impl Patch {
    pub fn compile(overlay: &str, number: usize, spec: PatchSpec) -> Result<Patch, String> {
        let action = match (&spec.json_patch, &spec.merge_patch, &spec.container_patch) {
            (Some(ops), None, None) => Action::Json(
                serde_json::from_value(ops.clone()).map_err(|e| format!("jsonPatch is not an RFC 6902 patch: {e}"))?,
            ),
            (None, Some(m), None) => Action::Merge(m.clone()),
            (None, None, Some(c)) if c.is_object() => Action::Container(c.clone()),
            (None, None, Some(_)) => return Err("containerPatch must be a mapping".into()),
            _ => return Err("give exactly one of jsonPatch, mergePatch and containerPatch".into()),
        };
        let target = Target::compile(spec.target.clone())?;
        Ok(Patch { overlay: overlay.to_string(), number, spec, target, action })
    }

    /// Applies the patch to one resource it targets and returns the changes it made.
    /// An error means the patch cannot apply (and is not optional).
    pub fn apply(&self, obj: &mut Value, id: &ResourceId, workload: Option<&Workload>) -> Result<Vec<Change>, String> {
        let before = obj.clone();
        match &self.action {
            Action::Json(ops) => {
                if let Err(e) = json_patch::patch(obj, ops) {
                    return if self.spec.optional { Ok(Vec::new()) } else { Err(e.to_string()) };
                }
            }
            Action::Merge(m) => json_patch::merge(obj, m),
            Action::Container(m) => {
                let Some(w) = workload else { return Ok(Vec::new()) };
                for slot in containers(obj, &w.spec, false) {
                    if let Some(c) = obj.pointer_mut(slot.ptr.as_str()) {
                        json_patch::merge(c, m);
                    }
                }
            }
        }
        let mut changes = Vec::new();
        diff(&before, obj, &Pointer::root(), &mut |pointer, op, before, value| {
            changes.push(Change {
                rule: RuleId::OverlayPatch,
                resource: id.clone(),
                pointer,
                op,
                before,
                value,
                overlay: Some(format!("{}#{}", self.overlay, self.number)),
            });
        });
        Ok(changes)
    }
}

/// Calls `record` for every field that differs between `before` and `after`: added and removed
/// keys, changed scalars; sequences of different length are replaced whole.
pub fn diff(before: &Value, after: &Value, at: &Pointer, record: &mut impl FnMut(Pointer, Op, Option<Value>, Value)) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => diff(bv, av, &at.key(k), record),
                    None => record(at.key(k), Op::Remove, Some(bv.clone()), Value::Null),
                }
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    record(at.key(k), Op::Add, None, av.clone());
                }
            }
        }
        (Value::Array(b), Value::Array(a)) if a.len() == b.len() => {
            for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                diff(bv, av, &at.index(i), record);
            }
        }
        _ if before == after => {}
        _ => record(at.clone(), Op::Replace, Some(before.clone()), after.clone()),
    }
}
