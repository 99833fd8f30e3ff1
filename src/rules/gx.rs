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
/// places objects with it are in. Nearly every identity is in one place, and is held by the
/// resource identity it shares with the records (its place asked of the index when it is
/// needed), not as copied strings: a stream of small documents takes many thousands. An
/// identity in more than one place has its places filed apart, so that a clash is a lookup
/// however many namespaces share a name (a chart installed per tenant, or the objects a rule
/// adds once per namespace, each under the same name).
#[derive(Debug, Default)]
pub struct Taken {
    first: HashSet<Identity>,
    more: HashMap<Identity, Places>,
}

/// The places of an identity taken more than once.
#[derive(Debug, Default)]
struct Places {
    cluster: bool,
    /// Each namespace (`None`: the release namespace, while it is unknown).
    namespaces: HashSet<Option<String>>,
}

impl Places {
    fn add(&mut self, place: Place) {
        match place {
            Place::Cluster => self.cluster = true,
            Place::Namespace(namespace) => {
                self.namespaces.insert(namespace);
            }
        }
    }

    /// Whether an object in `place` may be where one of these is ([`Index::may_share`]).
    fn clash(&self, index: &Index, place: &Place) -> bool {
        match place {
            Place::Cluster => self.cluster,
            Place::Namespace(namespace) => {
                self.namespaces.contains(namespace)
                    || (!index.release_known()
                        && ((namespace.is_none() && !self.namespaces.is_empty()) || self.namespaces.contains(&None)))
            }
        }
    }
}

impl Taken {
    /// Records the resource `id`, which is in the stream.
    pub fn note(&mut self, index: &Index, id: &ResourceId) {
        let key = Identity(id.clone());
        let Some(first) = self.first.get(&key) else {
            self.first.insert(key);
            return;
        };
        let places = self.more.entry(key).or_insert_with(|| {
            let mut places = Places::default();
            places.add(index.place_of(&first.0));
            places
        });
        places.add(index.place_of(id));
    }

    /// Whether an object with the identity `id` may already be where it goes.
    fn clashes(&self, index: &Index, id: &ResourceId) -> bool {
        let key = Identity(id.clone());
        let Some(first) = self.first.get(&key) else { return false };
        let place = index.place_of(id);
        match self.more.get(&key) {
            Some(places) => places.clash(index, &place),
            None => match (&index.place_of(&first.0), &place) {
                (Place::Cluster, Place::Cluster) => true,
                (Place::Namespace(a), Place::Namespace(b)) => index.may_share(a, b),
                _ => false,
            },
        }
    }

    /// Records `id` unless an object with that identity may already be where it goes.
    fn take(&mut self, index: &Index, id: &ResourceId) -> bool {
        if self.clashes(index, id) {
            return false;
        }
        self.note(index, id);
        true
    }
}

/// A resource's group, kind and name: what two objects share when they would clash in one
/// namespace.
#[derive(Debug)]
struct Identity(ResourceId);

impl PartialEq for Identity {
    fn eq(&self, other: &Identity) -> bool {
        self.0.group() == other.0.group() && self.0.kind() == other.0.kind() && self.0.name == other.0.name
    }
}

impl Eq for Identity {}

impl Hash for Identity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0.group(), &self.0.kind(), &self.0.name).hash(state);
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
        self.out.findings.violations.push(Violation::new(
            self.rule,
            about.clone(),
            path.interned(),
            severity,
            &message,
            waiver.map(|w| w.reason.as_str()),
            refused,
        ));
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
            self.refuse(&ResourceId::of_namespace(ns), None, Pointer::root(), message);
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
            self.refuse(&ResourceId::of_namespace(&None), None, Pointer::root(), message);
        }
        targets.into_iter().map(|(namespace, explicit)| Target { namespace, explicit }).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::knowledge::ClusterScoped;

    /// A kind, name and namespace.
    type Object<'a> = (&'a str, &'a str, Option<&'a str>);

    fn id(kind: &str, name: &str, namespace: Option<&str>) -> ResourceId {
        let mut object = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}});
        if let Some(namespace) = namespace {
            object["metadata"]["namespace"] = json!(namespace);
        }
        ResourceId::of(0, None, &object)
    }

    /// `taken` resources, then whether each of `asked` clashes, with the release namespace
    /// `release` (`None`: unknown).
    fn check(release: Option<&str>, taken: &[Object<'_>], asked: &[(Object<'_>, bool)]) {
        let scoped = ClusterScoped::new([(String::new(), "Namespace".to_string())]);
        let index = Index::scopes(&[], release, &scoped).unwrap();
        let mut set = Taken::default();
        for &(kind, name, namespace) in taken {
            set.note(&index, &id(kind, name, namespace));
        }
        for &((kind, name, namespace), clashes) in asked {
            assert_eq!(set.clashes(&index, &id(kind, name, namespace)), clashes, "{kind} {name} in {namespace:?}");
        }
    }

    #[test]
    fn an_identity_clashes_where_it_may_already_be() {
        let in_many =
            [("ConfigMap", "app", Some("a")), ("ConfigMap", "app", Some("b")), ("ConfigMap", "app", Some("c"))];
        // Known release namespace: only the same namespace, the release's included.
        check(
            Some("a"),
            &in_many,
            &[
                (("ConfigMap", "app", Some("b")), true),
                (("ConfigMap", "app", None), true),
                (("ConfigMap", "app", Some("d")), false),
                (("ConfigMap", "web", Some("b")), false),
                (("Secret", "app", Some("b")), false),
            ],
        );
        check(Some("z"), &in_many, &[(("ConfigMap", "app", None), false)]);
        // Unknown release namespace: an object without one may be in any of them.
        check(None, &in_many, &[(("ConfigMap", "app", None), true), (("ConfigMap", "app", Some("d")), false)]);
        check(
            None,
            &[("ConfigMap", "app", None), ("ConfigMap", "app", Some("b"))],
            &[(("ConfigMap", "app", Some("d")), true)],
        );
        check(None, &[("ConfigMap", "app", Some("b"))], &[(("ConfigMap", "app", None), true)]);
        check(None, &[("ConfigMap", "app", Some("b"))], &[(("ConfigMap", "app", Some("d")), false)]);
        // Cluster-scoped: one place, whatever namespace the object names.
        check(
            None,
            &[("Namespace", "team", None), ("Namespace", "team", Some("x"))],
            &[(("Namespace", "team", Some("y")), true), (("ConfigMap", "team", Some("y")), false)],
        );
        check(
            None,
            &[("ConfigMap", "team", Some("x")), ("ConfigMap", "team", Some("y"))],
            &[(("Namespace", "team", None), false)],
        );
    }
}
