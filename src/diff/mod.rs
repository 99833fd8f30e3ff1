//! Semantic diffs of manifest streams: the hardening diff (input → output), the promotion diff
//! (one environment's output → another's) and the comparison of two streams.
//!
//! Resources are matched by group, kind, namespace and name (an apiVersion bump is a change,
//! not a removal and an addition); ConfigMaps and Secrets whose names differ only by a generated
//! hash suffix are paired as renames. Lists are matched by their Kubernetes merge keys
//! (containers, env, volumes, volumeMounts by name; ports by port and protocol), other lists by
//! position, so inserting one container is one addition; a change of order is reported, never
//! hidden. Every change carries the rule that made it when the renders' reports know it.
//! Secret values are redacted unless asked for; noise (chart and version labels, `checksum/*`
//! annotations) is suppressed and counted.

mod attribution;
mod compute;
mod format;
mod redact;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::flows::{Review, Verdict};
use crate::object::{Key, KeyRef, ResourceId};
use crate::pipeline::Outcome;
use crate::pointer::Pointer;
use crate::read::{self, Document, Input, Sealed};
use crate::record::{Attribution, Generated, Json, Packed, RuleId, Violation};

pub use attribution::Changes;
pub use compute::diff;
pub use format::{Format, Style, render, render_to};

pub const SCHEMA: &str = "temper.dev/diff/v1";

/// One side of a diff: a labelled stream of resources, with what its render recorded. It
/// borrows what a render already holds, and owns only what it had to read.
#[derive(Debug, Clone, Default)]
pub struct Side<'a> {
    /// `input`, an environment name, or a file name.
    pub label: String,
    pub resources: Vec<Resource<'a>>,
    /// The changes the render that produced this side recorded (none for raw input).
    pub changes: Changes<'a>,
    /// The objects its render generated (empty for raw input), with the rule that did.
    pub generated: &'a [Generated],
    pub compliance_hash: Option<String>,
    /// The connections its render inferred, with what the policies of its input and of its
    /// output allow.
    pub flows: &'a [Review],
}

/// A resource of a side: a value the side holds or borrows, or an object its render kept
/// as text (a sealed document, an object it generated), read back only when the diff comes to
/// it: both sides of a promotion hold a whole render.
///
/// The variants that hold more than a reference are boxed: both sides of a promotion hold a
/// resource per object of a render.
#[derive(Debug, Clone)]
pub enum Resource<'a> {
    Value(Box<Cow<'a, Value>>),
    Generated(&'a Generated),
    /// A sealed document holding one object as text.
    Sealed(&'a ResourceId, &'a Document<Sealed>),
    /// A document read again for the diff and kept as text, as a render compacts it.
    Reread(ResourceId, Box<Document<Sealed>>),
    /// A document of the input that its render changed, read from the input text only when
    /// the diff comes to it. Its identity is its render's: no change the render recorded
    /// touched it (see [`Side::before_render`]).
    Input(ResourceId, &'a [Input], &'a Document<Sealed>),
}

impl<'a> Resource<'a> {
    /// Its identity across streams, borrowed.
    pub fn key(&self) -> KeyRef<'_> {
        match self {
            Resource::Value(v) => KeyRef::of(v),
            Resource::Generated(g) => g.id().key_ref(),
            Resource::Sealed(id, _) => id.key_ref(),
            Resource::Reread(id, _) => id.key_ref(),
            Resource::Input(id, ..) => id.key_ref(),
        }
    }

    /// The resource as a value, read back if it was kept as text.
    pub fn value(&self) -> Result<Cow<'_, Value>> {
        match self {
            Resource::Value(v) => Ok(Cow::Borrowed(&***v)),
            Resource::Generated(g) => Ok(Cow::Owned(g.object()?)),
            Resource::Sealed(_, doc) => Ok(doc.open()?.into_value().unwrap_or_default()),
            Resource::Reread(_, doc) => Ok(doc.open()?.into_value().unwrap_or_default()),
            Resource::Input(_, inputs, doc) => {
                Ok(read::parse_again(inputs, doc)?.value.map(Cow::Owned).unwrap_or_default())
            }
        }
    }

    /// Whether both are objects kept as text, and as the same text: the same value, since a
    /// value is kept as the one text serde_json writes for it ([`Json`]).
    pub fn same_text(&self, other: &Resource<'_>) -> bool {
        match (self.text(), other.text()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }

    /// The text it is kept as, if it is a sealed object.
    fn text(&self) -> Option<&Arc<Json>> {
        match self {
            Resource::Sealed(_, doc) => doc.value.as_ref()?.text(),
            Resource::Reread(_, doc) => doc.value.as_ref()?.text(),
            Resource::Value(_) | Resource::Generated(_) | Resource::Input(..) => None,
        }
    }

    /// The resources of the sealed document `doc`, read back only when the diff comes to them.
    fn of_sealed(doc: &'a Document<Sealed>) -> Vec<Resource<'a>> {
        match &doc.value {
            None => Vec::new(),
            Some(Sealed::Text { id, .. }) => vec![Resource::Sealed(id, doc)],
            Some(Sealed::Value(value)) => {
                read::resources_of(Some(&**value)).into_iter().map(|(_, v)| v.into()).collect()
            }
        }
    }
}

impl<'a> From<&'a Value> for Resource<'a> {
    fn from(value: &'a Value) -> Resource<'a> {
        Resource::Value(Box::new(Cow::Borrowed(value)))
    }
}

impl From<Value> for Resource<'_> {
    fn from(value: Value) -> Self {
        Resource::Value(Box::new(Cow::Owned(value)))
    }
}

impl<'a> Side<'a> {
    /// A stream as it is, its documents read and kept as text ([`Document::seal`]): each
    /// resource is read back only when the diff comes to it, as a render's are.
    pub fn of_sealed(label: &str, docs: &'a [Document<Sealed>]) -> Side<'a> {
        let resources = docs.iter().flat_map(Resource::of_sealed).collect();
        Side { label: label.to_string(), resources, ..Side::default() }
    }

    /// The stream a render produced, with what it recorded.
    pub fn rendered(label: &str, outcome: &'a Outcome) -> Side<'a> {
        let documents = outcome.documents.iter().flat_map(Resource::of_sealed);
        let generated = outcome.generated.iter().map(Resource::Generated);
        Side {
            label: label.to_string(),
            resources: documents.chain(generated).collect(),
            changes: Changes::of_report(&outcome.report),
            generated: &outcome.generated,
            compliance_hash: outcome.report.compliance.as_ref().map(|c| c.compliance_hash.clone()),
            flows: &outcome.report.flows,
        }
    }

    /// Drops from `outcome` what [`Side::rendered`] does not read of it (of its report, all
    /// but the compliance statement and the flows), and takes its changes out, reduced to who
    /// changed what (as a review's render keeps them), for [`Side::attributed`]: `promote`
    /// holds its first render while the second runs.
    #[must_use = "the changes taken out of the render are only in what this returns"]
    pub fn trim(outcome: &mut Outcome) -> Attribution {
        let report = &mut outcome.report;
        let changes = match report.attribution.take() {
            Some(kept) => kept,
            None => Attribution::of(std::mem::take(&mut report.changes)),
        };
        report.drop_listings();
        report.violations = Vec::new();
        changes
    }

    /// This side with its render's changes read from `changes` ([`Side::trim`]).
    pub fn attributed(self, changes: &'a Attribution) -> Side<'a> {
        Side { changes: Changes::Attributed(changes), ..self }
    }

    /// The input of the render `outcome`, as it was before the render changed it: documents the
    /// render left alone are borrowed from it, and those it changed are read again from the
    /// input text. A document of one object whose identity no recorded change touched is read
    /// only when the diff comes to it (`Resource::Input`, named by its render's identity);
    /// others are read here, to learn their identities.
    ///
    /// Invariant: a render records every change it makes to a document, so a document without
    /// a recorded change is its input, byte for byte in meaning.
    pub fn before_render(label: &str, inputs: &'a [Input], outcome: &'a Outcome) -> Result<Side<'a>> {
        // For each changed document, whether a change touched its identity.
        let mut changed: HashMap<usize, bool> = HashMap::new();
        for (document, pointer) in Changes::of_report(&outcome.report).fields() {
            *changed.entry(document).or_default() |= touches_identity(pointer);
        }
        let docs: Vec<Vec<Resource<'a>>> =
            crate::par::collect(outcome.documents.par_iter().map(|doc| -> Result<Vec<Resource<'a>>> {
                match (changed.get(&doc.number), &doc.value) {
                    (None, _) => Ok(Resource::of_sealed(doc)),
                    (Some(false), Some(Sealed::Text { id, .. })) => Ok(vec![Resource::Input(id.clone(), inputs, doc)]),
                    (Some(_), _) => {
                        // Read again as the render read it, and kept compact as the render keeps it.
                        let again = read::parse_again(inputs, doc)?.compact();
                        match &again.value {
                            Some(Sealed::Text { id, .. }) => Ok(vec![Resource::Reread(id.clone(), Box::new(again))]),
                            _ => Ok(again.reopen()?.0.into_resources().into_iter().map(Resource::from).collect()),
                        }
                    }
                }
            }))?;
        Ok(Side { label: label.to_string(), resources: docs.into_iter().flatten().collect(), ..Side::default() })
    }
}

/// What hardening did: `inputs` against the render `outcome` made of them, with the
/// violations that fail the render, and who may talk to whom before and after.
pub fn hardening(inputs: &[Input], outcome: &Outcome, options: &Options) -> Result<Diff> {
    let before = Side::before_render("input", inputs, outcome)?;
    let after = Side::rendered(&outcome.report.environment, outcome);
    let options = &options.clone().keyed(inputs);
    let flows = outcome.report.flows.iter().map(FlowChange::of_render).collect();
    Ok(Diff { flows, ..diff(&before, &after, options)?.blocked_by(&outcome.report.blockers()) })
}

/// Whether a change at `pointer` may have changed the identity of its object (group, kind,
/// namespace or name).
fn touches_identity(pointer: &Pointer) -> bool {
    matches!(pointer.as_str(), "" | "/apiVersion" | "/kind" | "/metadata" | "/metadata/name" | "/metadata/namespace")
}

/// A connection the release needs, and what each side's NetworkPolicies do to it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowChange {
    pub from: String,
    pub to: String,
    pub ports: String,
    pub reason: String,
    /// `None` when that side's render did not infer the flow (or the side was not rendered).
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
}

impl FlowChange {
    /// A flow of one render: its input's policies against its output's.
    fn of_render(review: &Review) -> FlowChange {
        FlowChange::new(review, Some(review.before.clone()), Some(review.after.clone()))
    }

    fn new(review: &Review, before: Option<Verdict>, after: Option<Verdict>) -> FlowChange {
        let flow = &review.flow;
        FlowChange {
            from: flow.from.describe(),
            to: flow.to.to_string(),
            ports: flow.describe_ports(),
            reason: flow.reason.clone(),
            before,
            after,
        }
    }

    fn key(&self) -> (&str, &str, &str) {
        (&self.from, &self.to, &self.ports)
    }

    /// Whether the two sides treat it differently.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

/// The flows of two rendered sides: each side's output policies, matched by source, target
/// and ports.
pub fn compare_flows(from: &Side, to: &Side) -> Vec<FlowChange> {
    let mut out: Vec<FlowChange> = from.flows.iter().map(|r| FlowChange::new(r, Some(r.after.clone()), None)).collect();
    // The old side's flows still waiting for their new verdict, by what they connect.
    let mut waiting: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
    for (i, c) in out.iter().enumerate().rev() {
        let (from, to, ports) = c.key();
        waiting.entry((from.to_string(), to.to_string(), ports.to_string())).or_default().push(i);
    }
    for review in to.flows {
        let change = FlowChange::new(review, None, Some(review.after.clone()));
        let (from, to, ports) = change.key();
        let key = (from.to_string(), to.to_string(), ports.to_string());
        match waiting.get_mut(&key).and_then(Vec::pop) {
            Some(i) => out[i].after = change.after,
            None => out.push(change),
        }
    }
    out
}

/// What to show.
#[derive(Debug, Clone)]
pub struct Options {
    pub show_secrets: bool,
    /// The key of the digests that stand for hidden values; `Options::keyed` derives it from
    /// the inputs, so that the same values give the same digests in every run, and only someone
    /// who has the inputs (and so the values) can check a guess against a digest.
    pub redaction_key: Vec<u8>,
    /// Suppress the default noise (chart and version labels, `checksum/*` annotations).
    pub default_ignores: bool,
    /// More pointers to suppress (resource-relative; a change at or below one is suppressed).
    pub ignore: Vec<Pointer>,
    /// What the diff keeps of each shown resource, as its format needs.
    pub sides: Sides,
    /// Whether resources that did not change are kept (the JSON format lists them); if not,
    /// they are only counted.
    pub unchanged: bool,
    /// With [`Sides::Text`], whether the texts kept are coloured (ANSI), as the unified format's
    /// [`Style::color`] says: they are written as they were kept.
    pub color: bool,
}

impl Options {
    /// The options, keeping what `format` reads and no more; `color` colours the unified format.
    pub fn for_format(self, format: Format, color: bool) -> Options {
        Options { sides: Sides::for_format(format), unchanged: format == Format::Json, color, ..self }
    }
}

/// What a diff keeps of the two sides of each resource it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    /// The values, redacted: every format can be written (json-patch needs them).
    Values,
    /// Only the lines that differ between their redacted texts (the hunks of a line diff):
    /// a value costs several times its text, a diff of a whole stream shows nearly every
    /// resource, and both sides' texts would hold each of them twice.
    Lines,
    /// Nothing: the format lists the field changes alone (json, brief).
    Neither,
    /// The unified text of each resource shown, made as it is diffed, and nothing else of it
    /// ([`Diff::texts`]): the unified format of a stream shows nearly every resource, and its
    /// texts, packed together, take far less than the records they are made from.
    Text,
}

impl Sides {
    /// What `format` reads.
    pub fn for_format(format: Format) -> Sides {
        match format {
            Format::JsonPatch => Sides::Values,
            Format::Unified => Sides::Text,
            Format::Markdown => Sides::Lines,
            Format::Json | Format::Brief => Sides::Neither,
        }
    }
}

/// One side of a resource as a diff shows it.
#[derive(Debug, Clone)]
pub enum Shown {
    /// Boxed: a diff keeps a side per resource it shows, most of them [`Shown::Omitted`].
    Value(Box<Value>),
    /// The side exists, and the diff does not keep it (its format does not show it, or shows
    /// only the lines that differ, which [`ResourceDiff::lines`] holds).
    Omitted,
}

impl Shown {
    /// `value` kept as `sides` says.
    fn of(value: Value, sides: Sides) -> Shown {
        match sides {
            Sides::Values => Shown::Value(Box::new(value)),
            Sides::Lines | Sides::Neither | Sides::Text => Shown::Omitted,
        }
    }

    /// The side's value, where it was kept.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Shown::Value(v) => Some(v),
            Shown::Omitted => None,
        }
    }
}

/// The hunks of the line diff of one resource's two sides as YAML text (empty where the
/// resource is absent), three lines of context each, one line per line: what the unified and
/// markdown formats print under a resource's header.
pub(crate) fn line_hunks(before: Option<&Value>, after: Option<&Value>) -> String {
    let text = |side: Option<&Value>| side.map(crate::yaml::display).unwrap_or_default();
    text_hunks(&text(before), &text(after))
}

/// [`line_hunks`] of the two sides' YAML text.
pub(crate) fn text_hunks(before: &str, after: &str) -> String {
    use similar::{Algorithm, TextDiff};
    // Patience anchors on lines that occur once on each side (names, images), so that a
    // resource whose many list items all changed is diffed region by region: Myers' algorithm
    // alone costs the product of the lines and the differences, quadratic in such a list.
    let lines = TextDiff::configure().algorithm(Algorithm::Patience).diff_lines(before, after);
    let mut out = String::new();
    for hunk in lines.unified_diff().context_radius(3).iter_hunks() {
        for line in hunk.to_string().lines() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

impl Default for Options {
    fn default() -> Options {
        Options {
            show_secrets: false,
            redaction_key: Vec::new(),
            default_ignores: true,
            ignore: Vec::new(),
            sides: Sides::Values,
            unchanged: true,
            color: false,
        }
    }
}

impl Options {
    /// These options with the digest key derived from `inputs`.
    pub fn keyed<'a>(self, inputs: impl IntoIterator<Item = &'a Input>) -> Options {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        for input in inputs {
            hasher.update(input.text.as_bytes());
        }
        Options { redaction_key: hasher.finalize().to_vec(), ..self }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    Added,
    Removed,
    Changed,
    Renamed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Add,
    Remove,
    Replace,
    /// The items of a keyed list are the same but in another order.
    Reorder,
}

/// One field that differs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// Where, in the new resource (in the old one for removals).
    pub pointer: Pointer,
    pub op: Op,
    /// The values, redacted, kept as their compact JSON text (serialized as the values): a
    /// diff of a whole stream holds tens of thousands of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
    /// Secret values are replaced by their length.
    pub redacted: bool,
    /// The rule (or rules) that made this change, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
}

/// How one resource differs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    pub id: Key,
    pub change_type: ChangeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<Box<Key>>,
    /// For added resources, the rule that generated them; for a resource a rule turned into
    /// another kind in place, that rule, on the removed old one and on the added new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleId>,
    pub changes: Vec<FieldChange>,
    pub suppressed: usize,
    /// Both sides, redacted, as the options keep them (not serialized: the changes say it all).
    #[serde(skip)]
    pub before: Option<Shown>,
    #[serde(skip)]
    pub after: Option<Shown>,
    /// With [`Sides::Lines`], the hunks of the line diff of the two sides ([`line_hunks`]).
    #[serde(skip)]
    pub lines: Option<Packed>,
}

/// Counts for headers and exit codes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub renamed: usize,
    pub unchanged: usize,
    pub suppressed: usize,
    pub secrets_changed: usize,
}

/// A diff of two streams.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    pub schema_version: &'static str,
    pub from: Label,
    pub to: Label,
    pub counts: Counts,
    /// Every resource that differs (and, if the options keep them, those that do not); with
    /// [`Sides::Text`], none: [`Diff::texts`] holds what is shown of them.
    pub resources: Vec<ResourceDiff>,
    /// With [`Sides::Text`], the unified texts of the resources shown, in order, packed
    /// together a piece of up to 256 KiB (or one longer text) at a time
    /// ([`crate::record::PackedPieces`]): joined, they are the resources as the unified
    /// format writes them.
    #[serde(skip)]
    pub texts: Vec<Packed>,
    /// Violations that would make the target fail (promotion blockers).
    pub blockers: Vec<Violation>,
    /// Who may talk to whom on each side.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<FlowChange>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance_hash: Option<String>,
}

impl Diff {
    /// The diff with `blockers`, the violations that would make the target side fail.
    pub fn blocked_by(self, blockers: &[Violation]) -> Diff {
        Diff { blockers: blockers.to_vec(), ..self }
    }

    /// Whether anything differs that is not suppressed.
    pub fn has_differences(&self) -> bool {
        !self.texts.is_empty()
            || self.resources.iter().any(|r| r.change_type != ChangeType::Changed || !r.changes.is_empty())
    }
}
