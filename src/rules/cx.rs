//! What a rule may do, and the record of what it did.
//!
//! [`Cx`] is handed to a rule for one resource. Its edit methods apply a fix only when the mode
//! allows it and the resource is not exempted; otherwise they record a violation instead.
//! Every applied edit is recorded as a [`Change`] with the rule, the resource and a JSON
//! pointer, so reports, diffs and the compliance statement all come from one record.

use serde_json::Value;

use crate::index::Index;
use crate::knowledge::Knowledge;
use crate::object::ResourceId;
use crate::pointer::{Pointer, insert};
use crate::record::{Change, Findings, Json, Mode, Prerequisite, RuleId, Severity, Violation, Waiver};
use crate::workload::Workload;

/// One resource as every rule sees it.
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    pub id: &'a ResourceId,
    /// The pod-spec view, for resources that carry one.
    pub workload: Option<&'a Workload>,
    pub index: &'a Index,
    pub knowledge: &'a Knowledge,
    /// Whether the run applies fixes (`render`) or only evaluates (`check`, generated objects).
    pub fix: bool,
    /// The severity of a refused fix: a warning unless the environment makes refusals blocking.
    pub refusals: Severity,
}

/// The context of one rule on one resource.
pub struct Cx<'a> {
    pub rule: RuleId,
    pub mode: Mode,
    pub id: &'a ResourceId,
    /// The pod-spec view, for resources that carry one.
    pub workload: Option<&'a Workload>,
    pub index: &'a Index,
    pub knowledge: &'a Knowledge,
    refusals: Severity,
    waiver: Option<&'a Waiver>,
    fixes: bool,
    waived: usize,
    findings: &'a mut Findings,
}

impl<'a> Cx<'a> {
    /// The context of `rule` in `mode` on `subject`, excused by `waiver` if given, recording
    /// into `findings`.
    pub fn new(
        subject: Subject<'a>,
        rule: RuleId,
        mode: Mode,
        waiver: Option<&'a Waiver>,
        findings: &'a mut Findings,
    ) -> Cx<'a> {
        let fixes = subject.fix && waiver.is_none() && mode.fixes();
        let Subject { id, workload, index, knowledge, refusals, .. } = subject;
        Cx { rule, mode, id, workload, index, knowledge, refusals, waiver, fixes, waived: 0, findings }
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
        self.push(path, message.into(), Severity::of(self.mode), false);
    }

    /// Reports a fix the rule will not make because it would break the workload: `message`
    /// says why and what the operator should do instead.
    pub fn refuse(&mut self, path: Pointer, message: impl Into<String>) {
        // Where the rule only audits, nothing is refused: it is a finding like any other.
        let severity = self.refusals.min(Severity::of(self.mode));
        self.push(path, message.into(), severity, self.fixes);
    }

    fn push(&mut self, path: Pointer, message: String, severity: Severity, refused: bool) {
        let exempted = self.waiver.map(|w| w.reason.as_str());
        self.waived += usize::from(exempted.is_some());
        self.findings.violations.push(Violation::new(
            self.rule,
            self.id.clone(),
            path.interned(),
            severity,
            &message,
            exempted,
            refused,
        ));
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
        let kept = Json::of(&value);
        match insert(obj, ptr, value) {
            Ok(before) => {
                self.record(ptr.clone(), kept, before);
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
                let kept = Json::of(&item);
                items.push(item);
                let at = ptr.index(items.len() - 1);
                self.record(at, kept, None);
                true
            }
            Some(v) if !v.is_null() => {
                self.violation(ptr.clone(), "cannot append: this is not a sequence");
                false
            }
            _ => {
                let value = Value::Array(vec![item]);
                let kept = Json::of(&value);
                match insert(obj, ptr, value) {
                    Ok(before) => {
                        self.record(ptr.clone(), kept, before);
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
                let kept = Json::of(&value);
                let before = std::mem::replace(slot, value);
                self.record(ptr.clone(), kept, Some(before));
                true
            }
            None => matches!(self.fill(obj, ptr, value), Fill::Filled),
        }
    }

    /// Removes the field at `ptr` (a key of a mapping) when it is there. When fixes are off,
    /// reports `message` instead. The change records the removed value redacted (key names
    /// and byte lengths), never the value itself. Returns whether the field was removed.
    pub fn remove(&mut self, obj: &mut Value, ptr: &Pointer, message: &str) -> bool {
        let (Some(parent), Some(key)) = (ptr.parent(), ptr.last()) else { return false };
        if obj.pointer(ptr.as_str()).is_none() {
            return false;
        }
        if !self.fixes {
            self.violation(ptr.clone(), message);
            return false;
        }
        let Some(Value::Object(map)) = obj.pointer_mut(parent.as_str()) else { return false };
        let Some(before) = map.shift_remove(&key) else { return false };
        self.findings.changes.push(Change::removed(self.rule, self.id.clone(), ptr.clone(), &before));
        true
    }

    /// Records something the output relies on that only the operator can provide: `items`
    /// to create in `place`. Names only, never a value.
    pub fn require(&mut self, place: impl Into<String>, items: Vec<String>) {
        let place = place.into();
        self.findings.prerequisites.push(Prerequisite { rule: self.rule, resource: self.id.clone(), place, items });
    }

    fn record(&mut self, pointer: Pointer, value: Json, before: Option<Value>) {
        self.findings.changes.push(Change::set(self.rule, self.id.clone(), pointer, value, before.as_ref()));
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

/// A value as short JSON, for messages.
pub fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 80 { format!("{}…", &text[..text.floor_char_boundary(77)]) } else { text }
}
