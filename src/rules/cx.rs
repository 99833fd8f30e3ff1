//! What a rule may do, and the record of what it did.
//!
//! [`Cx`] is handed to a rule for one resource. Its edit methods apply a fix only when the mode
//! allows it and the resource is not exempted; otherwise they record a violation instead.
//! Every applied edit is recorded as a [`Change`] with the rule, the resource and a JSON
//! pointer, so reports, diffs and the compliance statement all come from one record.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::index::Index;
use crate::object::{self, ResourceId};
use crate::pointer::Pointer;

use super::workload::{Workload, WorkloadFacts};
use super::{Mode, RuleId};

/// The kind of edit, as in RFC 6902.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// One field a rule set. Parents missing along `pointer` were created as empty mappings.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub rule: RuleId,
    pub resource: ResourceId,
    pub pointer: Pointer,
    pub op: Op,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    pub value: Value,
    /// For overlay patches: the overlay and the patch's index in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlay: Option<String>,
}

impl Change {
    /// Applies the change to its resource, as the report describes it: parents missing along
    /// the pointer are created as mappings. Returns false if the pointer cannot be reached.
    pub fn apply(&self, resource: &mut Value) -> bool {
        match self.op {
            Op::Add | Op::Replace => insert(resource, &self.pointer, self.value.clone()).is_ok(),
            Op::Remove => {
                let (Some(parent), Some(key)) = (self.pointer.parent(), self.pointer.last()) else { return false };
                match resource.pointer_mut(parent.as_str()) {
                    Some(Value::Object(map)) => map.shift_remove(&key).is_some(),
                    Some(Value::Array(items)) => match key.parse::<usize>() {
                        Ok(i) if i < items.len() => {
                            items.remove(i);
                            true
                        }
                        _ => false,
                    },
                    _ => false,
                }
            }
        }
    }
}

/// A requirement a resource does not meet after the run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub rule: RuleId,
    pub resource: ResourceId,
    pub path: Pointer,
    /// `error` when the rule is enforced in this environment, else `warning`.
    pub severity: Severity,
    pub message: String,
    /// Set when an exemption covers this violation: it is reported but never fails a run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempted: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Where an exemption comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum ExemptionSource {
    /// `temper.dev/exempt` on the object or its pod template.
    Annotation,
    /// The environment's `exemptions` list; `index` is the entry's position.
    Environment { environment: String, index: usize },
}

/// An exemption that applies to one rule on one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    pub source: ExemptionSource,
    pub reason: String,
}

/// An exemption as the report lists it: used, or refused with the reason why.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExemptionUse {
    pub rule: Option<RuleId>,
    pub resource: ResourceId,
    pub source: ExemptionSource,
    pub reason: String,
    /// Violations the exemption covered.
    pub violations: usize,
    /// Why the exemption was not honoured, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Everything rules recorded, for one document or the whole run.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    pub changes: Vec<Change>,
    pub violations: Vec<Violation>,
    pub exemptions: Vec<ExemptionUse>,
}

impl Findings {
    pub fn extend(&mut self, other: Findings) {
        self.changes.extend(other.changes);
        self.violations.extend(other.violations);
        self.exemptions.extend(other.exemptions);
    }
}

/// The context of one rule on one resource.
pub struct Cx<'a> {
    pub rule: RuleId,
    pub mode: Mode,
    pub id: &'a ResourceId,
    /// The pod-spec view, for resources that carry one.
    pub workload: Option<&'a Workload>,
    pub index: &'a Index,
    waiver: Option<&'a Waiver>,
    fixes: bool,
    waived: usize,
    findings: &'a mut Findings,
}

impl<'a> Cx<'a> {
    pub fn new(
        rule: RuleId,
        mode: Mode,
        fixes: bool,
        id: &'a ResourceId,
        workload: Option<&'a Workload>,
        index: &'a Index,
        waiver: Option<&'a Waiver>,
        findings: &'a mut Findings,
    ) -> Cx<'a> {
        let fixes = fixes && waiver.is_none() && matches!(mode, Mode::Fix | Mode::Enforce);
        Cx { rule, mode, id, workload, index, waiver, fixes, waived: 0, findings }
    }

    /// Whether fixes are applied (fix or enforce mode, resource not exempted).
    pub fn fixes(&self) -> bool {
        self.fixes
    }

    /// Runs `f` with fixes turned off when `audit_only` is set: for parts of a resource that
    /// are only ever audited, such as ephemeral containers.
    pub fn audit_if<R>(&mut self, audit_only: bool, f: impl FnOnce(&mut Self) -> R) -> R {
        let saved = self.fixes;
        self.fixes = saved && !audit_only;
        let res = f(self);
        self.fixes = saved;
        res
    }

    /// How many violations the exemption covered.
    pub fn waived(&self) -> usize {
        self.waived
    }

    /// Reports that `path` in the resource breaks the rule.
    pub fn violation(&mut self, path: Pointer, message: impl Into<String>) {
        let exempted = self.waiver.map(|w| w.reason.clone());
        self.waived += usize::from(exempted.is_some());
        self.findings.violations.push(Violation {
            rule: self.rule,
            resource: self.id.clone(),
            path,
            severity: severity(self.mode),
            message: message.into(),
            exempted,
        });
    }

    /// Sets `ptr` to `value` if it is absent or null, creating missing parent mappings.
    /// When fixes are off, reports the absence instead. Returns what happened.
    pub fn fill(&mut self, obj: &mut Value, ptr: &Pointer, value: Value) -> Fill {
        if obj.pointer(ptr.as_str()).is_some_and(|v| !v.is_null()) {
            return Fill::Present;
        }
        if !self.fixes {
            let field = ptr.last().unwrap_or_default();
            self.violation(ptr.clone(), format!("`{field}` is not set (the fix sets {})", compact(&value)));
            return Fill::Missing;
        }
        match insert(obj, ptr, value.clone()) {
            Ok(before) => {
                self.record(ptr.clone(), value, before);
                Fill::Filled
            }
            Err(parent) => {
                self.violation(parent, "cannot fill: this is not a mapping");
                Fill::Blocked
            }
        }
    }

    /// Appends `item` to the sequence at `ptr` (created if absent). When fixes are off,
    /// reports `message` instead. Returns whether the item was added.
    pub fn append(&mut self, obj: &mut Value, ptr: &Pointer, item: Value, message: &str) -> bool {
        if !self.fixes {
            self.violation(ptr.clone(), message);
            return false;
        }
        match obj.pointer_mut(ptr.as_str()) {
            Some(Value::Array(items)) => {
                items.push(item.clone());
                let at = ptr.index(items.len() - 1);
                self.record(at, item, None);
                true
            }
            Some(v) if !v.is_null() => {
                self.violation(ptr.clone(), "cannot append: this is not a sequence");
                false
            }
            _ => {
                let value = Value::Array(vec![item]);
                match insert(obj, ptr, value.clone()) {
                    Ok(before) => {
                        self.record(ptr.clone(), value, before);
                        true
                    }
                    Err(parent) => {
                        self.violation(parent, "cannot append: this is not a mapping");
                        false
                    }
                }
            }
        }
    }

    /// Replaces the value at `ptr` (which the rule checked exists) with `value`. When fixes are
    /// off, reports `message` instead.
    pub fn replace(&mut self, obj: &mut Value, ptr: &Pointer, value: Value, message: &str) -> bool {
        if !self.fixes {
            self.violation(ptr.clone(), message);
            return false;
        }
        match obj.pointer_mut(ptr.as_str()) {
            Some(slot) => {
                let before = std::mem::replace(slot, value.clone());
                self.findings.changes.push(Change {
                    rule: self.rule,
                    resource: self.id.clone(),
                    pointer: ptr.clone(),
                    op: Op::Replace,
                    before: Some(before),
                    value,
                    overlay: None,
                });
                true
            }
            None => matches!(self.fill(obj, ptr, value), Fill::Filled),
        }
    }

    fn record(&mut self, pointer: Pointer, value: Value, before: Option<Value>) {
        self.findings.changes.push(Change {
            rule: self.rule,
            resource: self.id.clone(),
            pointer,
            op: if before.is_some() { Op::Replace } else { Op::Add },
            before,
            value,
            overlay: None,
        });
    }
}

/// The outcome of [`Cx::fill`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// The author set a value; nothing was done.
    Present,
    /// The value was absent and is now set.
    Filled,
    /// The value is absent and fixes are off: a violation was reported.
    Missing,
    /// A parent is not a mapping: a violation was reported.
    Blocked,
}

pub fn severity(mode: Mode) -> Severity {
    if mode == Mode::Enforce { Severity::Error } else { Severity::Warning }
}

/// Inserts `value` at `ptr`, creating missing or null parent mappings; in a sequence, the value
/// is inserted at the index. Returns the previous value (`Some(Null)` when the field was null),
/// or the pointer of the parent that is in the way.
pub fn insert(obj: &mut Value, ptr: &Pointer, value: Value) -> Result<Option<Value>, Pointer> {
    let tokens: Vec<String> = ptr.tokens().collect();
    let Some((last, parents)) = tokens.split_last() else {
        return Err(Pointer::root());
    };
    let mut cur = obj;
    let mut at = Pointer::root();
    for token in parents {
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
        cur = match cur {
            Value::Object(map) => map.entry(token.clone()).or_insert(Value::Null),
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => item,
                None => return Err(at),
            },
            _ => return Err(at),
        };
        at = at.key(token);
    }
    if cur.is_null() {
        *cur = Value::Object(Map::new());
    }
    match cur {
        Value::Object(map) => Ok(map.insert(last.clone(), value)),
        // RFC 6902 `add` into a sequence inserts at the index (the end included).
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i <= items.len() => {
                items.insert(i, value);
                Ok(None)
            }
            _ => Err(at),
        },
        _ => Err(at),
    }
}

/// A value as short JSON, for messages.
pub fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 80 { format!("{}…", &text[..text.floor_char_boundary(77)]) } else { text }
}

/// A resource temper adds to the stream.
#[derive(Clone, Debug)]
pub struct Generated {
    pub rule: RuleId,
    pub object: Value,
}

/// (kind, namespace, name): what makes two objects the same object in a cluster.
pub type Identity = (String, Option<String>, String);

/// What the generating rules produce together, and the names already taken.
#[derive(Debug, Default)]
pub struct Generation {
    pub findings: Findings,
    pub generated: Vec<Generated>,
    pub taken: HashSet<Identity>,
}

/// The context of one generating rule over the whole stream.
pub struct Gx<'a> {
    pub rule: RuleId,
    pub mode: Mode,
    /// Facts about every workload after the per-resource rules ran.
    pub workloads: &'a [WorkloadFacts],
    pub index: &'a Index,
    fixes: bool,
    out: &'a mut Generation,
}

impl<'a> Gx<'a> {
    pub fn new(
        rule: RuleId,
        mode: Mode,
        fixes: bool,
        workloads: &'a [WorkloadFacts],
        index: &'a Index,
        out: &'a mut Generation,
    ) -> Gx<'a> {
        let fixes = fixes && matches!(mode, Mode::Fix | Mode::Enforce);
        Gx { rule, mode, workloads, index, fixes, out }
    }

    /// Adds `object` when fixes are on; otherwise reports `message` against `about`.
    /// `waiver` exempts `about` from the rule: nothing is added and the violation is marked.
    /// An object whose name is already taken in its namespace is not added: what it was for
    /// stays uncovered, and says so. Returns whether the object was added.
    pub fn add(&mut self, object: Value, about: &ResourceId, waiver: Option<&Waiver>, message: String) -> bool {
        if !self.fixes || waiver.is_some() {
            self.violation(about, waiver, Pointer::root(), message);
            return false;
        }
        let identity =
            (object::kind(&object).to_string(), self.index.namespace_of(&object), object::name(&object).to_string());
        if !self.out.taken.insert(identity) {
            let message = format!(
                "cannot add {} {}: an object with that name is already in the stream",
                object::kind(&object),
                object::name(&object)
            );
            self.violation(about, None, Pointer::root(), message);
            return false;
        }
        self.out.generated.push(Generated { rule: self.rule, object });
        true
    }

    pub fn violation(&mut self, about: &ResourceId, waiver: Option<&Waiver>, path: Pointer, message: String) {
        if let Some(w) = waiver {
            self.out.findings.exemptions.push(ExemptionUse {
                rule: Some(self.rule),
                resource: about.clone(),
                source: w.source.clone(),
                reason: w.reason.clone(),
                violations: 1,
                refused: None,
            });
        }
        self.out.findings.violations.push(Violation {
            rule: self.rule,
            resource: about.clone(),
            path,
            severity: severity(self.mode),
            message,
            exempted: waiver.map(|w| w.reason.clone()),
        });
    }
}
