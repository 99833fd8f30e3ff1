//! Stage 2, patch: the overlays' JSON patches (RFC 6902), merge patches (RFC 7396) and
//! container patches, applied to the resources their target selects, before any rule runs.
//!
//! Each changed field is recorded, attributed to `overlay-patch` and the overlay's name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::knowledge::Knowledge;
use crate::object::{self, ResourceId};
use crate::pointer::Pointer;
use crate::read::{Document, Input};
use crate::record::{self, Change, Json, Op, RuleId};
use crate::target::{Target, TargetSpec};
use crate::workload::{Workload, containers};

/// Applies every patch that targets a resource of `doc`; objects without a namespace are in
/// `release_namespace`. Fails at the first patch that cannot apply, naming the document.
pub fn apply(
    inputs: &[Input],
    doc: &mut Document,
    patches: &[Patch],
    knowledge: &Knowledge,
    release_namespace: Option<&str>,
) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    if patches.is_empty() {
        return Ok(changes);
    }
    let number = doc.number;
    let mut failure = None;
    'resources: for (item, obj) in doc.resources_mut() {
        for patch in patches {
            let id = ResourceId::of(number, item, obj);
            let namespace = object::namespace(obj).or(release_namespace);
            if !patch.target.matches(&id, obj, namespace) {
                continue;
            }
            let workload = Workload::of(obj, &id, knowledge);
            match patch.apply(obj, &id, workload.as_ref()) {
                Ok(made) => changes.extend(made),
                Err(message) => {
                    failure = Some((patch, message));
                    break 'resources;
                }
            }
        }
    }
    match failure {
        Some((patch, message)) => Err(Error::Patch {
            place: doc.place(inputs).into(),
            overlay: patch.overlay.clone(),
            patch: patch.number,
            message,
        }),
        None => Ok(changes),
    }
}

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
                        merge_by_name(c, m);
                    }
                }
            }
        }
        let mut changes = Vec::new();
        diff(&before, obj, &Pointer::root(), &mut |pointer, op, before, value| {
            let before = before.as_ref().map(record::replaced);
            let change = Change::new(RuleId::OverlayPatch, id.clone(), pointer, op, before, Json::of(&value));
            changes.push(change.by_overlay(format!("{}#{}", self.overlay, self.number)));
        });
        Ok(changes)
    }
}

/// RFC 7396 merge, except that a list of named items (`env`, `volumeMounts`, `ports`, ...)
/// merges item by item on `name`, as Kubernetes' strategic merge does: a container patch that
/// adds one environment variable must not drop the others.
fn merge_by_name(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = target else { return };
    for (key, value) in patch_map {
        match (map.get_mut(key), value) {
            (_, Value::Null) => {
                map.shift_remove(key);
            }
            (Some(Value::Array(items)), Value::Array(patch_items)) if named(items) && named(patch_items) => {
                for patch_item in patch_items {
                    let name = patch_item.get("name");
                    match items.iter_mut().find(|i| i.get("name") == name) {
                        Some(item) => merge_by_name(item, patch_item),
                        None => items.push(patch_item.clone()),
                    }
                }
            }
            (Some(slot), value) if slot.is_object() && value.is_object() => merge_by_name(slot, value),
            (_, value) => {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn named(items: &[Value]) -> bool {
    items.iter().all(|i| i.get("name").is_some_and(Value::is_string))
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
