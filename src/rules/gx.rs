//! What a generating rule may do, over the whole stream: add objects, report what is missing,
//! and refuse what would break the release.
//!
//! **Invariant:** no two objects with one identity in any namespace Helm may use. An object is
//! added only if no object of the same group, kind and name may already be where it goes;
//! while the release namespace is unknown, it may be any namespace (see `index::Place`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde_json::Value;

use crate::flows::{Inferred, Network};
use crate::index::{Holds, Index, Place};
use crate::knowledge::Knowledge;
use crate::object::{self, ResourceId};
use crate::pointer::Pointer;
use crate::record::{ExemptionUse, Findings, Flow, Generated, Mode, RuleId, Severity, Violation, Waiver};
use crate::workload::WorkloadFacts;

/// The identities already in the stream or generated: for each group, kind and name, the
/// resources with it, whose places the index tells. Each is held by the resource identity it
/// shares with the records, not as copied strings or places: a stream of small documents takes
/// many thousands, nearly all once, so a second resource of an identity is kept apart.
#[derive(Debug, Default)]
pub struct Taken {
    first: HashSet<Identity>,
    more: HashMap<Identity, Vec<ResourceId>>,
}

impl Taken {
    /// Records the resource `id`, which is in the stream.
    pub fn note(&mut self, id: &ResourceId) {
        if let Some(first) = self.first.get(&Identity(id.clone())) {
            self.more.entry(Identity(first.0.clone())).or_default().push(id.clone());
        } else {
            self.first.insert(Identity(id.clone()));
        }
    }

    /// Whether an object with the identity `id` may already be where it goes.
    fn clashes(&self, index: &Index, id: &ResourceId) -> bool {
        let place = index.place_of(id);
        let key = Identity(id.clone());
        let Some(first) = self.first.get(&key) else { return false };
        let mut ids = std::iter::once(&first.0).chain(self.more.get(&key).into_iter().flatten());
        ids.any(|other| match (&index.place_of(other), &place) {
            (Place::Cluster, Place::Cluster) => true,
            (Place::Namespace(a), Place::Namespace(b)) => index.may_share(a, b),
            _ => false,
        })
    }

    /// Records `id` unless an object with that identity may already be where it goes.
    fn take(&mut self, index: &Index, id: &ResourceId) -> bool {
        if self.clashes(index, id) {
            return false;
        }
        self.note(id);
        true
    }
}

/// A resource's group, kind and name: what two objects share when they would clash in one
/// namespace.
#[derive(Debug)]
struct Identity(ResourceId);

impl PartialEq for Identity {
    fn eq(&self, other: &Identity) -> bool {
        self.0.group() == other.0.group() && self.0.kind == other.0.kind && self.0.name == other.0.name
    }
}

impl Eq for Identity {}

impl Hash for Identity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0.group(), &self.0.kind, &self.0.name).hash(state);
    }
}

/// What the generating rules produce together, and the identities already taken.
#[derive(Debug, Default)]
pub struct Generation {
    pub findings: Findings,
    pub generated: Vec<Generated>,
    pub taken: Taken,
}

/// What completes every object a rule adds, before it is handed on as text (the generation
/// stage stamps it and lets fixing rules decorate it): see [`Gx::add`].
pub type Complete<'a> = &'a (dyn Fn(RuleId, &mut Value) + 'a);

/// The stream as every generating rule sees it.
#[derive(Clone, Copy)]
pub struct Stream<'a> {
    /// Facts about every workload after the per-resource rules ran.
    pub workloads: &'a [WorkloadFacts],
    pub index: &'a Index,
    pub knowledge: &'a Knowledge,
    /// What the stream says about its network, and the connections inferred from it.
    pub network: &'a Network,
    pub inferred: &'a Inferred,
    /// Whether the run applies fixes.
    pub fix: bool,
    /// The severity of a refused fix.
    pub refusals: Severity,
}

/// A namespace the stream's workloads run in, for rules that add one object per namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `None`: the release namespace, while it is unknown.
    pub namespace: Option<String>,
    /// Whether a workload there names it in `metadata.namespace`; if none does, objects added
    /// for it carry no namespace either, and land where the workloads land.
    pub explicit: bool,
}

/// The context of one generating rule over the whole stream.
pub struct Gx<'a> {
    pub rule: RuleId,
    pub mode: Mode,
    pub workloads: &'a [WorkloadFacts],
    pub index: &'a Index,
    pub knowledge: &'a Knowledge,
    pub network: &'a Network,
    pub inferred: &'a Inferred,
    refusals: Severity,
    fixes: bool,
    out: &'a mut Generation,
    complete: Complete<'a>,
}

impl<'a> Gx<'a> {
    /// The context of `rule` in `mode`, adding to `out`; `complete` completes each object added.
    pub fn new(
        stream: Stream<'a>,
        rule: RuleId,
        mode: Mode,
        out: &'a mut Generation,
        complete: Complete<'a>,
    ) -> Gx<'a> {
        let Stream { workloads, index, knowledge, network, inferred, fix, refusals } = stream;
        let fixes = fix && mode.fixes();
        Gx { rule, mode, workloads, index, knowledge, network, inferred, refusals, fixes, out, complete }
    }

    /// Adds `object` when fixes are on; otherwise reports `message` against `about`.
    /// `waiver` exempts `about` from the rule: nothing is added and the violation is marked.
    /// An object whose identity may already be where it goes is not added: what it was for
    /// stays uncovered, and says so. Returns whether the object was added.
    pub fn add(&mut self, mut object: Value, about: &ResourceId, waiver: Option<&Waiver>, message: String) -> bool {
        if !self.fixes || waiver.is_some() {
            self.violation(about, waiver, Pointer::root(), message);
            return false;
        }
        let id = ResourceId::of(0, None, &object);
        if !self.out.taken.take(self.index, &id) {
            let message = format!(
                "cannot add {} {}: an object with that name is already in the stream",
                object::kind(&object),
                object::name(&object)
            );
            self.violation(about, None, Pointer::root(), message);
            return false;
        }
        // Completed and kept as text at once: a rule may add thousands of objects, and they are
        // never all held as values.
        (self.complete)(self.rule, &mut object);
        self.out.generated.push(Generated::like(self.rule, Some(&id), &object));
        true
    }

    /// Whether fixes are applied (the mode fixes and the run renders).
    pub fn fixes(&self) -> bool {
        self.fixes
    }

    /// Whether `object` could be added: no object with its identity may already be there.
    pub fn free(&self, object: &Value) -> bool {
        !self.out.taken.clashes(self.index, &ResourceId::of(0, None, object))
    }

    /// Records a connection the release needs, for the report and the diffs to show.
    pub fn record_flow(&mut self, flow: Flow) {
        self.out.findings.flows.push(flow);
    }

    pub fn violation(&mut self, about: &ResourceId, waiver: Option<&Waiver>, path: Pointer, message: String) {
        self.push(about, waiver, path, message, Severity::of(self.mode), false);
    }

    /// Reports an object the rule will not add because it would break the release: `message`
    /// says why and what the operator should do instead.
    pub fn refuse(&mut self, about: &ResourceId, waiver: Option<&Waiver>, path: Pointer, message: String) {
        // Where the rule only audits, nothing is refused: it is a finding like any other.
        let severity = self.refusals.min(Severity::of(self.mode));
        self.push(about, waiver, path, message, severity, self.fixes);
    }

    fn push(
        &mut self,
        about: &ResourceId,
        waiver: Option<&Waiver>,
        path: Pointer,
        message: String,
        severity: Severity,
        refused: bool,
    ) {
        if let Some(w) = waiver {
            self.out.findings.exemptions.push(ExemptionUse::used(self.rule, about, w, 1));
        }
        self.out.findings.violations.push(Violation {
            rule: self.rule,
            resource: about.clone(),
            path: path.interned(),
            severity,
            message: crate::intern::text(&message),
            exempted: waiver.map(|w| crate::intern::text(&w.reason)),
            refused,
        });
    }

    /// Whether to add `what` (e.g. "a ResourceQuota") to `ns`, which `holds` one already or
    /// not. When it may, because the release namespace is unknown, the rule says so.
    pub fn needs(&mut self, ns: &Option<String>, holds: Holds, what: &str) -> bool {
        if holds == Holds::Maybe {
            let message = match ns {
                None => format!(
                    "the release namespace, which temper was not told, may be one that already has {what} in this stream, so none was added: pass the release namespace with --namespace (Helm: --post-renderer-args --namespace=NAMESPACE)"
                ),
                Some(ns) => format!(
                    "objects without a namespace in this stream include {what}, and the release namespace, which temper was not told, may be {ns}, so none was added there: pass the release namespace with --namespace (Helm: --post-renderer-args --namespace=NAMESPACE)"
                ),
            };
            self.refuse(&ResourceId::namespace(ns), None, Pointer::root(), message);
        }
        holds == Holds::No
    }

    /// The namespaces the stream's workloads run in, each once and in order, except those
    /// `excluded`.
    pub fn workload_namespaces(&self, excluded: &[String]) -> Vec<Target> {
        let mut targets: BTreeMap<Option<String>, bool> = BTreeMap::new();
        for facts in self.workloads {
            if facts.namespace.as_ref().is_some_and(|ns| excluded.contains(ns)) {
                continue;
            }
            *targets.entry(facts.namespace.clone()).or_default() |= facts.explicit_namespace;
        }
        targets.into_iter().map(|(namespace, explicit)| Target { namespace, explicit }).collect()
    }

    /// The namespaces the stream's workloads run in, each once and in order, except those
    /// `excluded`, for a rule that adds `what` (e.g. "a ResourceQuota") to each.
    ///
    /// While the release namespace is unknown and workloads also name namespaces of their own,
    /// the release namespace may turn out to be one of those, which would then get two. It is
    /// left out, and the rule says so once with the remedy.
    pub fn target_namespaces(&mut self, excluded: &[String], what: &str) -> Vec<Target> {
        let mut targets: BTreeMap<Option<String>, bool> =
            self.workload_namespaces(excluded).into_iter().map(|t| (t.namespace, t.explicit)).collect();
        let named: Vec<String> = targets.keys().flatten().cloned().collect();
        if !self.index.release_known() && targets.contains_key(&None) && !named.is_empty() {
            targets.remove(&None);
            let message = format!(
                "objects without a namespace go to the release namespace, which temper was not told, and this stream also puts workloads in {}; {what} for the release namespace could be a second one in one of those, so none was added there: pass the release namespace with --namespace (Helm: --post-renderer-args --namespace=NAMESPACE)",
                named.join(", ")
            );
            self.refuse(&ResourceId::namespace(&None), None, Pointer::root(), message);
        }
        targets.into_iter().map(|(namespace, explicit)| Target { namespace, explicit }).collect()
    }
}
