//! The run's record: what rules and patches changed, what they found, which exemptions were
//! used, and which objects temper added. Every stage that records or reads a run (patches,
//! rules, generation, writing, reports, diffs, the compliance hash) depends on these types,
//! not on the rule catalog.
//!
//! **Invariant:** every change a run makes is one [`Change`] with its rule, its resource and a
//! JSON pointer; reports, diffs and the compliance statement are all read from this record.

mod attribution;
mod flow;
mod json;
mod packed;
mod rule_id;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::object::ResourceId;
use crate::pointer::{self, Pointer};

pub use attribution::{Attribution, Field};
pub use flow::{Flow, Port, PortRef, Source};
pub use json::Json;
pub use packed::{PIECE, Packed, PackedPieces, Unreadable};
pub(crate) use rule_id::catalog;
pub use rule_id::{Mode, RuleId};

/// The kind of edit, as in RFC 6902.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// One field a rule set. Parents missing along `pointer` were created as empty mappings.
///
/// A large stream records a hundred thousand changes, and a review holds two renders' worth:
/// what few changes hold (the value a change replaced or removed, the overlay patch that made
/// it) is boxed apart, so that a change is 48 bytes rather than 80.
#[derive(Clone, Debug)]
pub struct Change {
    pub rule: RuleId,
    pub op: Op,
    pub resource: ResourceId,
    pub pointer: Pointer,
    pub value: Json,
    rare: Option<Box<Rare>>,
}

/// What few changes hold.
#[derive(Clone, Debug)]
struct Rare {
    /// What the field held before (kept as text, like `value`).
    before: Option<Json>,
    /// For overlay patches: the overlay and the patch's index in it.
    overlay: Option<String>,
}

impl Change {
    /// A change as it was made: `before` is what the field held, if it held anything.
    pub fn new(
        rule: RuleId,
        resource: ResourceId,
        pointer: Pointer,
        op: Op,
        before: Option<Json>,
        value: Json,
    ) -> Change {
        let rare = before.map(|before| Box::new(Rare { before: Some(before), overlay: None }));
        Change { rule, op, resource, pointer, value, rare }
    }

    /// A field set where it was absent (`before` is `None`) or replaced (`before` is the old value).
    pub fn set(rule: RuleId, resource: ResourceId, pointer: Pointer, value: Json, before: Option<&Value>) -> Change {
        let op = if before.is_some() { Op::Replace } else { Op::Add };
        Change::new(rule, resource, pointer.interned(), op, before.map(replaced), value)
    }

    /// A field removed. `before` is recorded as [`redacted`]: key names and byte lengths,
    /// never the value, because removals are how Secret data leaves a document.
    pub fn removed(rule: RuleId, resource: ResourceId, pointer: Pointer, before: &Value) -> Change {
        let before = Some(replaced(&redacted(before)));
        Change::new(rule, resource, pointer.interned(), Op::Remove, before, Json::of(&Value::Null))
    }

    /// The change, made by the overlay patch `overlay` names (the overlay and the patch's index).
    pub fn by_overlay(mut self, overlay: String) -> Change {
        self.rare.get_or_insert_with(|| Box::new(Rare { before: None, overlay: None })).overlay = Some(overlay);
        self
    }

    /// What the field held before, for a replacement or a removal.
    pub fn before(&self) -> Option<&Json> {
        self.rare.as_ref()?.before.as_ref()
    }

    /// For overlay patches: the overlay and the patch's index in it.
    pub fn overlay(&self) -> Option<&str> {
        self.rare.as_ref()?.overlay.as_deref()
    }

    /// Applies the change to its resource, as the report describes it: parents missing along
    /// the pointer are created as mappings. Returns false if the pointer cannot be reached (or,
    /// which [`Json`] rules out, its value cannot be read back).
    pub fn apply(&self, resource: &mut Value) -> bool {
        match self.op {
            Op::Add | Op::Replace => {
                let Ok(value) = self.value.value() else { return false };
                pointer::insert(resource, &self.pointer, value).is_ok()
            }
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

/// Serialized with its fields in the order the report has always listed them.
impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (before, overlay) = (self.before(), self.overlay());
        let mut out = serializer
            .serialize_struct("Change", 5 + usize::from(before.is_some()) + usize::from(overlay.is_some()))?;
        out.serialize_field("rule", &self.rule)?;
        out.serialize_field("resource", &self.resource)?;
        out.serialize_field("pointer", &self.pointer)?;
        out.serialize_field("op", &self.op)?;
        match before {
            Some(before) => out.serialize_field("before", before)?,
            None => out.skip_field("before")?,
        }
        out.serialize_field("value", &self.value)?;
        match overlay {
            Some(overlay) => out.serialize_field("overlay", overlay)?,
            None => out.skip_field("overlay")?,
        }
        out.end()
    }
}

/// What a change replaced, as it is kept: reports are read by people and pasted into reviews,
/// so a credential in it (by name or by shape) is hidden when it is recorded, and no record of
/// the run holds one. (What a change sets is temper's own value or the operator's overlay,
/// kept exact so that the report can be replayed.)
pub fn replaced(before: &Value) -> Json {
    let mut shown = before.clone();
    crate::credential::redact_value(&mut shown);
    Json::of(&shown)
}

/// What a value looks like without showing it: a mapping keeps its keys, each value becomes
/// `(redacted: N bytes)`; anything else becomes that placeholder itself.
pub fn redacted(value: &Value) -> Value {
    let placeholder = |v: &Value| {
        let bytes = v.as_str().map_or_else(|| v.to_string().len(), str::len);
        Value::String(format!("(redacted: {bytes} bytes)"))
    };
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), placeholder(v))).collect()),
        v => placeholder(v),
    }
}

/// Something the output relies on that only the operator can provide, such as the entries in
/// a secret manager that an ExternalSecret reads: the report lists these as a checklist.
/// Names only, never a value.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prerequisite {
    pub rule: RuleId,
    /// The resource that relies on it.
    pub resource: ResourceId,
    /// Where to create it, e.g. `ClusterSecretStore vault`.
    pub place: String,
    /// What to create there, one line each.
    pub items: Vec<String>,
}

/// A requirement a resource does not meet after the run.
///
/// A check of a stream of small workloads holds a violation for each absent field of each of
/// them (144,000 for 8,000 Deployment and Service pairs), in the same words for each: what it
/// says and why it is exempted are one shared pair, and a violation takes 32 bytes (56 with them
/// apart).
#[derive(Clone)]
pub struct Violation {
    pub rule: RuleId,
    /// `error` when the rule is enforced in this environment, else `warning`.
    pub severity: Severity,
    /// Set when this is a fix temper refused because it would break the workload or the
    /// release: a warning, unless the environment makes refusals blocking.
    pub refused: bool,
    pub resource: ResourceId,
    pub path: Pointer,
    words: Arc<Words>,
}

/// What a violation says, and the reason of the exemption that covers it, if one does.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Words {
    message: Arc<str>,
    exempted: Option<Arc<str>>,
}

impl Words {
    /// `message` and `exempted`, sharing the pair this thread kept if it kept one.
    fn shared(message: &str, exempted: Option<Arc<str>>) -> Arc<Words> {
        let words = Words { message: crate::intern::text(message), exempted };
        WORDS.with_borrow_mut(|kept| crate::intern::shared(kept, words))
    }
}

thread_local! {
    /// The pairs of words this thread's violations share.
    static WORDS: std::cell::RefCell<HashSet<Arc<Words>>> = std::cell::RefCell::default();
}

impl Violation {
    pub fn new(
        rule: RuleId,
        resource: ResourceId,
        path: Pointer,
        severity: Severity,
        message: &str,
        exempted: Option<&str>,
        refused: bool,
    ) -> Violation {
        let words = Words::shared(message, exempted.map(crate::intern::text));
        Violation { rule, severity, refused, resource, path, words }
    }

    /// What it says.
    pub fn message(&self) -> &str {
        &self.words.message
    }

    /// Says `message` instead.
    pub fn set_message(&mut self, message: &str) {
        self.words = Words::shared(message, self.words.exempted.clone());
    }

    /// Set when an exemption covers this violation: it is reported but never fails a run.
    pub fn exempted(&self) -> Option<&str> {
        self.words.exempted.as_deref()
    }

    /// Whether this violation fails the run: an enforced rule, not exempted.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Error && self.exempted().is_none()
    }
}

/// Serialized as a record of its fields, in the order they had as fields of their own.
impl Serialize for Violation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let fields = 5 + usize::from(self.exempted().is_some()) + usize::from(self.refused);
        let mut out = serializer.serialize_struct("Violation", fields)?;
        out.serialize_field("rule", &self.rule)?;
        out.serialize_field("resource", &self.resource)?;
        out.serialize_field("path", &self.path)?;
        out.serialize_field("severity", &self.severity)?;
        out.serialize_field("message", self.message())?;
        if let Some(reason) = self.exempted() {
            out.serialize_field("exempted", reason)?;
        }
        if self.refused {
            out.serialize_field("refused", &self.refused)?;
        }
        out.end()
    }
}

impl std::fmt::Debug for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Violation")
            .field("rule", &self.rule)
            .field("resource", &self.resource)
            .field("path", &self.path)
            .field("severity", &self.severity)
            .field("message", &self.message())
            .field("exempted", &self.exempted())
            .field("refused", &self.refused)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    /// Violations of enforced rules are errors; the rest are warnings.
    pub fn of(mode: Mode) -> Severity {
        if mode == Mode::Enforce { Severity::Error } else { Severity::Warning }
    }
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

/// The exemptions that apply to one resource, at most one per rule.
#[derive(Clone, Debug, Default)]
pub struct Waivers(Vec<(RuleId, Waiver)>);

impl Waivers {
    /// The exemption from `rule`, if any.
    pub fn get(&self, rule: RuleId) -> Option<&Waiver> {
        self.0.iter().find(|(r, _)| *r == rule).map(|(_, w)| w)
    }

    /// Whether the resource is exempted from no rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `waiver` for `rule` unless the resource is already exempted from it.
    pub fn grant(&mut self, rule: RuleId, waiver: Waiver) {
        if self.get(rule).is_none() {
            self.0.push((rule, waiver));
        }
    }
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

impl ExemptionUse {
    /// `waiver` excused `resource` from `rule`, covering `violations` violations.
    pub fn used(rule: RuleId, resource: &ResourceId, waiver: &Waiver, violations: usize) -> ExemptionUse {
        ExemptionUse {
            rule: Some(rule),
            resource: resource.clone(),
            source: waiver.source.clone(),
            reason: waiver.reason.clone(),
            violations,
            refused: None,
        }
    }
}

/// Everything a run recorded, for one document or the whole run.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// The changes, when they are kept as records ([`Keeping::Records`]).
    pub changes: Vec<Change>,
    pub violations: Vec<Violation>,
    pub exemptions: Vec<ExemptionUse>,
    /// The connections the release needs, as the rule that allows them records them.
    pub flows: Vec<Flow>,
    /// What the operator must provide for the output to work.
    pub prerequisites: Vec<Prerequisite>,
    /// The changes added since [`Findings::keeping`], when they are not kept as records.
    reduced: Reduced,
    /// With [`Listing::Blocking`], the violations appended and not kept whole, counted by
    /// rule; `None` with [`Listing::Every`]. Boxed: the findings of one document list every
    /// violation.
    unlisted: Option<Box<Tally>>,
}

/// Which violations a run keeps whole: what its outputs read of them, and no more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Listing {
    /// Every violation: for a run whose outputs list them (the summary, every report format).
    #[default]
    Every,
    /// Only those that fail the run ([`Violation::blocks`]), the others counted by rule
    /// ([`Tally`]): for a review, whose diff lists its blockers and nothing else of the
    /// violations. A stream of small workloads has a warning or two for each of them (16,000
    /// for 8,000 Deployment and Service pairs in `prod`), each with words of its own.
    Blocking,
}

/// Violations counted by rule, as the compliance statement counts them: how many fail (not
/// exempted) and how many an exemption covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally(BTreeMap<RuleId, Tallied>);

/// The violations of one rule (or of every rule) in a [`Tally`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tallied {
    /// Those no exemption covers, warnings included.
    pub failing: usize,
    pub exempted: usize,
}

impl Tally {
    /// `violations`, counted.
    pub fn of<'a>(violations: impl IntoIterator<Item = &'a Violation>) -> Tally {
        let mut tally = Tally::default();
        for v in violations {
            tally.add(v);
        }
        tally
    }

    pub fn add(&mut self, violation: &Violation) {
        let tallied = self.0.entry(violation.rule).or_default();
        match violation.exempted() {
            Some(_) => tallied.exempted += 1,
            None => tallied.failing += 1,
        }
    }

    /// Adds what `other` counted.
    pub fn merge(&mut self, other: &Tally) {
        for (rule, counted) in &other.0 {
            let tallied = self.0.entry(*rule).or_default();
            tallied.failing += counted.failing;
            tallied.exempted += counted.exempted;
        }
    }

    /// The violations of `rule`.
    pub fn of_rule(&self, rule: RuleId) -> Tallied {
        self.0.get(&rule).copied().unwrap_or_default()
    }

    /// The violations of every rule.
    pub fn total(&self) -> Tallied {
        self.0.values().fold(Tallied::default(), |sum, t| Tallied {
            failing: sum.failing + t.failing,
            exempted: sum.exempted + t.exempted,
        })
    }
}

/// How a run keeps the changes it records: what its outputs read of them, and no more (a
/// stream of small workloads records eight times as many changes as documents).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Keeping {
    /// Every change whole: for a run whose outputs list them (the JSON report, `render --diff`).
    #[default]
    Records,
    /// Who changed which field ([`Attribution`]): for a review, whose diff reads the values
    /// from the two sides and of the changes only which rule made each.
    Attribution,
    /// Only how many, and the documents they changed: for a run whose report is the summary.
    Count,
}

/// The changes [`Findings`] hold other than as records.
#[derive(Clone, Debug, Default)]
enum Reduced {
    #[default]
    None,
    Attributed(Attribution),
    Counted(Counted),
}

/// Changes counted rather than kept: how many, and the documents they changed.
#[derive(Clone, Debug, Default)]
struct Counted {
    changes: usize,
    /// Each document's number once for each run of changes to it, not once in all: a list
    /// of numbers, since a document's own findings name only it, and a set of one number
    /// takes eight times the room of a list of one (the findings of every document of a
    /// stream are held until the last one is checked).
    documents: Vec<usize>,
}

impl Counted {
    fn add_documents(&mut self, documents: impl IntoIterator<Item = usize>) {
        for document in documents {
            if self.documents.last() != Some(&document) {
                self.documents.push(document);
            }
        }
    }

    /// What `kept` attributed, counted.
    fn of_attribution(kept: &Attribution) -> Counted {
        let mut counted = Counted { changes: kept.len(), documents: Vec::new() };
        counted.add_documents(kept.documents());
        counted
    }

    /// Adds what `other` counted.
    fn add(&mut self, other: Counted) {
        self.changes += other.changes;
        self.add_documents(other.documents);
    }
}

impl Reduced {
    /// Nothing yet, kept as `keeping` says.
    fn new(keeping: Keeping) -> Reduced {
        match keeping {
            Keeping::Records => Reduced::None,
            Keeping::Attribution => Reduced::Attributed(Attribution::default()),
            Keeping::Count => Reduced::Counted(Counted::default()),
        }
    }
}

impl Findings {
    /// Findings that keep the changes added to them as `keeping` says.
    pub fn keeping(keeping: Keeping) -> Findings {
        Findings { reduced: Reduced::new(keeping), ..Findings::default() }
    }

    /// These findings, keeping whole the violations appended to them from now on as `listing`
    /// says. Violations they already count stay counted: a count is not made a list again.
    pub fn listing(self, listing: Listing) -> Findings {
        let unlisted = match listing {
            Listing::Every => self.unlisted,
            Listing::Blocking => Some(self.unlisted.unwrap_or_default()),
        };
        Findings { unlisted, ..self }
    }

    /// Every violation found, kept whole or not, counted by rule.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::of(&self.violations);
        if let Some(unlisted) = &self.unlisted {
            tally.merge(unlisted);
        }
        tally
    }

    /// The violations found and not kept whole ([`Listing::Blocking`]), counted.
    pub fn unlisted(&self) -> Tallied {
        self.unlisted.as_ref().map(|t| t.total()).unwrap_or_default()
    }

    /// Whether `violation` is kept whole when it is appended.
    fn lists(&self, violation: &Violation) -> bool {
        self.unlisted.is_none() || violation.blocks()
    }

    /// How these findings keep the changes added to them.
    pub fn keeps(&self) -> Keeping {
        match self.reduced {
            Reduced::None => Keeping::Records,
            Reduced::Attributed(_) => Keeping::Attribution,
            Reduced::Counted(_) => Keeping::Count,
        }
    }

    /// Keeps the changes kept so far as records, and those added from now on, as `keeping`
    /// says: a stage that needs each change while it works (to tell whether a document
    /// changed) can record them, then keep only what the run it works for keeps.
    pub fn reduce_kept_changes(&mut self, keeping: Keeping) {
        // Records asked to stay records: nothing to reduce (the rules stage of a run that keeps
        // them asks this of every document).
        if keeping == Keeping::Records && self.keeps() == Keeping::Records {
            return;
        }
        let kept = std::mem::take(&mut self.changes);
        let reduced = std::mem::replace(&mut self.reduced, Reduced::new(keeping));
        self.add_reduced(reduced);
        self.add_changes(kept);
    }

    /// Adds `changes`, kept as these findings keep them.
    pub fn add_changes(&mut self, changes: Vec<Change>) {
        match &mut self.reduced {
            Reduced::None => self.changes.extend(changes),
            Reduced::Attributed(kept) => kept.add(changes),
            Reduced::Counted(counted) => {
                counted.changes += changes.len();
                counted.add_documents(changes.iter().map(|c| c.resource.document()));
            }
        }
    }

    /// How many changes were recorded, however they are kept.
    pub fn change_count(&self) -> usize {
        self.changes.len()
            + match &self.reduced {
                Reduced::None => 0,
                Reduced::Attributed(kept) => kept.len(),
                Reduced::Counted(counted) => counted.changes,
            }
    }

    /// The numbers of the documents a recorded change changed.
    pub fn changed_documents(&self) -> HashSet<usize> {
        let mut changed: HashSet<usize> = self.changes.iter().map(|c| c.resource.document()).collect();
        match &self.reduced {
            Reduced::None => {}
            Reduced::Attributed(kept) => changed.extend(kept.documents()),
            Reduced::Counted(counted) => changed.extend(counted.documents.iter().copied()),
        }
        changed
    }

    /// The changes, reduced to who changed what, when they were kept that way.
    pub fn take_attribution(&mut self) -> Option<Attribution> {
        match std::mem::take(&mut self.reduced) {
            Reduced::Attributed(kept) => Some(kept),
            other => {
                self.reduced = other;
                None
            }
        }
    }

    /// Appends `other`'s lists to these.
    pub fn extend(&mut self, other: Findings) {
        self.extend_all(vec![other]);
    }

    /// [`Findings::extend`] by each of `parts` in order, each list grown once to exactly its
    /// final length: doubling a stream's worth of changes would hold the old and the new list
    /// at once, and leave up to half of the new one unused.
    pub fn extend_all(&mut self, parts: Vec<Findings>) {
        self.reserve_for(&parts);
        for part in parts {
            self.append(part);
        }
    }

    /// Grows each list once to the length it will have once `parts` are appended
    /// ([`Findings::append`]): for a caller that holds its parts in a list of its own.
    pub fn reserve_for<'a>(&mut self, parts: impl IntoIterator<Item = &'a Findings, IntoIter: Clone>) {
        let parts = parts.into_iter();
        let total = |len: fn(&Findings) -> usize| parts.clone().map(len).sum::<usize>();
        match &mut self.reduced {
            Reduced::None => self.changes.reserve_exact(total(|f| f.changes.len())),
            Reduced::Attributed(kept) => kept.reserve_for(parts.clone().filter_map(|f| match &f.reduced {
                Reduced::Attributed(part) => Some(part),
                _ => None,
            })),
            Reduced::Counted(_) => {}
        }
        let listed: usize = parts.clone().map(|f| f.violations.iter().filter(|v| self.lists(v)).count()).sum();
        self.violations.reserve_exact(listed);
        self.exemptions.reserve_exact(total(|f| f.exemptions.len()));
        self.flows.reserve_exact(total(|f| f.flows.len()));
        self.prerequisites.reserve_exact(total(|f| f.prerequisites.len()));
    }

    /// Appends `part`'s lists to these, growing them only if [`Findings::reserve_for`] left no
    /// room.
    pub fn append(&mut self, part: Findings) {
        self.add_reduced(part.reduced);
        self.add_changes(part.changes);
        // What `part` only counted stays counted, and these findings then count what they would
        // not list: of two listings, what is kept is the lesser, as with the changes.
        if let Some(counted) = part.unlisted {
            match &mut self.unlisted {
                Some(unlisted) => unlisted.merge(&counted),
                None => self.unlisted = Some(counted),
            }
        }
        for violation in part.violations {
            match &mut self.unlisted {
                Some(unlisted) if !violation.blocks() => unlisted.add(&violation),
                _ => self.violations.push(violation),
            }
        }
        self.exemptions.extend(part.exemptions);
        self.flows.extend(part.flows);
        self.prerequisites.extend(part.prerequisites);
    }

    /// Adds changes another [`Findings`] held other than as records. Records cannot be made
    /// of them, nor an attribution of a count: what is kept is the less of the two.
    fn add_reduced(&mut self, other: Reduced) {
        match (&mut self.reduced, other) {
            (_, Reduced::None) => {}
            (Reduced::Attributed(kept), Reduced::Attributed(part)) => kept.append(part),
            (Reduced::Counted(counted), Reduced::Counted(part)) => counted.add(part),
            (Reduced::Counted(counted), Reduced::Attributed(part)) => counted.add(Counted::of_attribution(&part)),
            (Reduced::Attributed(kept), Reduced::Counted(part)) => {
                let mut counted = Counted::of_attribution(kept);
                counted.add(part);
                self.reduced = Reduced::Counted(counted);
            }
            // Kept changes are held beside what was reduced.
            (Reduced::None, other) => self.reduced = other,
        }
    }
}

/// A resource temper adds to the stream, as the generation stage hands it on.
///
/// It is kept as its JSON text ([`Json`]): on a stream of many small workloads the generated
/// objects outweigh the input, and later stages read each again one at a time to check, hash,
/// write or diff it.
#[derive(Clone, Debug)]
pub struct Generated {
    pub rule: RuleId,
    id: ResourceId,
    object: Json,
}

impl Generated {
    /// `object`, added by `rule`.
    pub fn new(rule: RuleId, object: &Value) -> Generated {
        Generated::like(rule, None, object)
    }

    /// [`Generated::new`], sharing `like` as its identity if it is `object`'s
    /// ([`ResourceId::of_like`]).
    pub fn like(rule: RuleId, like: Option<&ResourceId>, object: &Value) -> Generated {
        Generated { rule, id: ResourceId::of_like(like, 0, None, object), object: Json::of(object) }
    }

    /// The identity reports use for it (document 0: it comes from no input document).
    pub fn id(&self) -> &ResourceId {
        &self.id
    }

    /// The object, read back from its text.
    pub fn object(&self) -> Result<Value> {
        self.object
            .value()
            .map_err(|e| Error::Generated { object: self.id.to_string(), message: format!("cannot read it back: {e}") })
    }

    /// Replaces the object by `object` (same rule): for what completes generated objects
    /// after generation, such as compliance stamps.
    pub fn replace(&mut self, object: &Value) {
        *self = Generated::new(self.rule, object);
    }
}

/// The tool that made a record: reports and compliance statements name it.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Tool {
    pub fn this() -> Tool {
        Tool { name: "temper", version: env!("CARGO_PKG_VERSION") }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pointer::Pointer;

    /// Changes to documents `numbers`, one each.
    fn changes(numbers: &[usize]) -> Vec<Change> {
        let set = |n: usize| {
            let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{n}")}});
            let pointer = Pointer::parse("/spec/replicas").unwrap_or_else(Pointer::root);
            Change::set(RuleId::ComplianceStamp, ResourceId::of(n, None, &obj), pointer, Json::of(&json!(2)), None)
        };
        numbers.iter().map(|&n| set(n)).collect()
    }

    #[test]
    fn a_change_keeps_what_few_changes_hold_apart() {
        assert!(std::mem::size_of::<Change>() <= 48, "{} bytes", std::mem::size_of::<Change>());
        let id = ResourceId::of(1, None, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
        let at = Pointer::root().key("data").key("k");
        let added = Change::set(RuleId::OverlayPatch, id.clone(), at.clone(), Json::of(&"v".into()), None);
        let replaced =
            Change::set(RuleId::OverlayPatch, id.clone(), at.clone(), Json::of(&"v".into()), Some(&"old".into()));
        let patched =
            Change::new(RuleId::OverlayPatch, id, at, Op::Add, None, Json::of(&"v".into())).by_overlay("o#0".into());
        let json = |c: &Change| serde_json::to_string(c).unwrap();
        assert!(added.before().is_none() && added.overlay().is_none() && !json(&added).contains("before"));
        assert_eq!(replaced.before().map(ToString::to_string).as_deref(), Some("\"old\""));
        assert!(json(&replaced).contains(r#""op":"replace","before":"old","value":"v"}"#), "{}", json(&replaced));
        assert_eq!(patched.overlay(), Some("o#0"));
        assert!(json(&patched).ends_with(r#""value":"v","overlay":"o#0"}"#), "{}", json(&patched));
    }

    #[test]
    fn violations_share_their_words_and_serialize_as_records() {
        assert!(std::mem::size_of::<Violation>() <= 32, "{} bytes", std::mem::size_of::<Violation>());
        let id = ResourceId::of(1, None, &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}));
        let at = Pointer::root().key("spec");
        let new = |exempted| {
            Violation::new(RuleId::OverlayPatch, id.clone(), at.clone(), Severity::Error, "absent", exempted, false)
        };
        let (plain, again, waived) = (new(None), new(None), new(Some("legacy")));
        assert!(Arc::ptr_eq(&plain.words, &again.words) && !Arc::ptr_eq(&plain.words, &waived.words));
        assert!(plain.blocks() && !waived.blocks() && waived.exempted() == Some("legacy"));
        let json = |v: &Violation| serde_json::to_string(v).unwrap();
        assert!(json(&plain).ends_with(r#""path":"/spec","severity":"error","message":"absent"}"#), "{}", json(&plain));
        assert!(json(&waived).ends_with(r#""message":"absent","exempted":"legacy"}"#), "{}", json(&waived));
        let mut said = waived.clone();
        said.set_message("hidden");
        assert_eq!((said.message(), said.exempted(), waived.message()), ("hidden", Some("legacy"), "absent"));
        let refused = Violation { refused: true, ..plain };
        assert!(json(&refused).ends_with(r#""message":"absent","refused":true}"#), "{}", json(&refused));
    }

    #[test]
    fn findings_keep_apart_what_few_documents_hold() {
        // The rules stage holds findings for every document of a batch, and the check of the
        // generated objects for each of them, until they are appended to the run's.
        assert!(std::mem::size_of::<Findings>() <= 168, "{} bytes", std::mem::size_of::<Findings>());
    }

    #[test]
    fn listing_only_blockers_counts_the_others_as_listing_every_violation_would() {
        let pod = |n: usize| {
            ResourceId::of(n, None, &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{n}")}}))
        };
        let found = |n: usize, rule, severity, exempted| {
            Violation::new(
                rule,
                pod(n),
                Pointer::root().key("spec"),
                severity,
                &format!("absent in p{n}"),
                exempted,
                false,
            )
        };
        let parts = || {
            vec![
                Findings {
                    violations: vec![
                        found(1, RuleId::Probes, Severity::Warning, None),
                        found(1, RuleId::PodSecurityContext, Severity::Error, None),
                        found(1, RuleId::PodSecurityContext, Severity::Error, Some("legacy")),
                    ],
                    ..Findings::default()
                },
                Findings::default(),
                Findings {
                    violations: vec![found(2, RuleId::Probes, Severity::Warning, Some("legacy"))],
                    ..Findings::default()
                },
            ]
        };
        let mut every = Findings::default().listing(Listing::Every);
        every.extend_all(parts());
        let mut blocking = Findings::default().listing(Listing::Blocking);
        blocking.extend_all(parts());
        assert_eq!(every.violations.len(), 4);
        let kept: Vec<(RuleId, &str)> = blocking.violations.iter().map(|v| (v.rule, v.message())).collect();
        assert_eq!(kept, [(RuleId::PodSecurityContext, "absent in p1")]);
        assert!(blocking.violations.iter().all(Violation::blocks));
        assert_eq!(blocking.tally(), every.tally());
        assert_eq!(every.tally().of_rule(RuleId::Probes), Tallied { failing: 1, exempted: 1 });
        assert_eq!(every.tally().total(), Tallied { failing: 2, exempted: 2 });
        assert_eq!((every.unlisted(), blocking.unlisted()), (Tallied::default(), Tallied { failing: 1, exempted: 2 }));
        // A count is not made a list again, and a part that counted stays counted in what it
        // is appended to.
        assert_eq!(blocking.clone().listing(Listing::Every).unlisted(), blocking.unlisted());
        let mut outer = Findings::default();
        outer.extend(blocking);
        assert_eq!((outer.violations.len(), outer.tally()), (1, every.tally()));
    }

    #[test]
    fn counting_or_attributing_the_changes_a_part_kept_sums_as_keeping_them_would() {
        for keeping in [Keeping::Count, Keeping::Attribution] {
            let mut kept = Findings::default();
            let mut reduced = Findings::keeping(keeping);
            for numbers in [&[1, 1, 2][..], &[], &[3, 2]] {
                kept.extend(Findings { changes: changes(numbers), ..Findings::default() });
                let mut part = Findings { changes: changes(numbers), ..Findings::default() };
                assert_eq!(part.keeps(), Keeping::Records);
                part.reduce_kept_changes(keeping);
                assert!(part.keeps() == keeping && part.changes.is_empty());
                assert_eq!(part.change_count(), numbers.len());
                reduced.extend(part);
            }
            assert!(reduced.changes.is_empty());
            assert_eq!((reduced.change_count(), kept.change_count()), (5, 5));
            assert_eq!(reduced.changed_documents(), kept.changed_documents());
            assert_eq!(reduced.changed_documents(), HashSet::from([1, 2, 3]));
            assert_eq!(reduced.take_attribution().map(|a| a.len()), (keeping == Keeping::Attribution).then_some(5));
        }
    }
}
