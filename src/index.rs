//! Stage 3, index: the cross-document facts rules need, gathered in one pass before any rule
//! runs: which kinds are cluster-scoped (configuration, then the stream's CRDs), which
//! PodDisruptionBudgets, NetworkPolicies, HorizontalPodAutoscalers, Services, ResourceQuotas,
//! LimitRanges and PersistentVolumeClaims the stream already has, and where; the Secrets with
//! values and who reads them; what every workload needs before its pods start, for the order
//! of a sync; which namespaces hold volumes and which a backup schedule covers.
//!
//! Namespaces are compared as Kubernetes will see them once applied: a namespaced object
//! without `metadata.namespace` lands in the release namespace (`--namespace`), which may be
//! unknown; two objects without a namespace always share it. While it is unknown, the release
//! namespace may be any namespace at all, so every question about what a namespace holds is
//! answered for every namespace it may turn out to be ("may share").

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::error::Result;
use crate::knowledge::{ClusterScoped, Knowledge};
use crate::object::{self, ResourceId};
use crate::read::{self, Document, Sealed};
use crate::record::Waivers;
use crate::select::{Labels, Selector, SelectorSet};
use crate::workload::{Needs, SecretUse, Singleton, Workload};

/// The annotation that orders an ArgoCD sync.
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

/// The exemptions of one resource: (object, id, its pod view, its namespace).
pub type Waive<'a> = dyn Fn(&Value, &ResourceId, Option<&Workload>, Option<&str>) -> Waivers + Sync + 'a;

/// A v1 Secret of the stream that carries values, and the workloads that read it.
#[derive(Clone, Debug)]
pub struct StreamSecret {
    pub id: ResourceId,
    /// `type`, `Opaque` when absent.
    pub secret_type: String,
    /// Its keys (`data`, then `stringData`), each once. Never the values.
    pub keys: Vec<String>,
    pub waivers: Waivers,
    /// The workloads of the same namespace that read it, in stream order.
    pub readers: Vec<Reader>,
}

/// A workload that reads a Secret of the stream.
#[derive(Clone, Debug)]
pub struct Reader {
    pub id: ResourceId,
    pub uses: Vec<SecretUse>,
    /// A Helm or ArgoCD hook: Helm 3 never post-renders it.
    pub hook: bool,
    pub waivers: Waivers,
}

/// An object a workload needs before its pods start: (namespace, kind, name), the kind being
/// `ServiceAccount`, `Secret`, `ConfigMap` or `PersistentVolumeClaim`.
pub type Needed = (Option<String>, &'static str, String);

/// A workload (not a hook) as the order of a sync sees it.
#[derive(Clone, Debug)]
pub struct Dependent {
    pub id: ResourceId,
    pub class: Arc<str>,
    /// Its own `argocd.argoproj.io/sync-wave`, if set.
    pub wave: Option<i64>,
    /// The latest wave set explicitly on anything it needs.
    pub needs_wave: Option<i64>,
}

/// A workload as the index files it: its class, what it needs, whether it is a hook, its own
/// wave, and its exemptions when it reads a Secret of the stream.
struct Found {
    id: ResourceId,
    class: Arc<str>,
    needs: Needs,
    hook: bool,
    wave: Option<i64>,
    waivers: Option<Waivers>,
}

/// A sync wave as ArgoCD reads it: an integer in a string; anything else counts as 0.
pub fn wave_of(obj: &Value) -> Option<i64> {
    object::annotations(obj).get(SYNC_WAVE).map(|v| v.as_str().and_then(|s| s.trim().parse().ok()).unwrap_or(0))
}

/// Whether `obj` is a Helm or ArgoCD hook.
pub fn is_hook(obj: &Value) -> bool {
    let annotations = object::annotations(obj);
    annotations.contains_key("helm.sh/hook") || annotations.contains_key("argocd.argoproj.io/hook")
}

/// A HorizontalPodAutoscaler in the stream.
#[derive(Clone, Debug)]
pub struct Hpa {
    pub id: ResourceId,
    /// Where it is: the document's position in the stream and its List item.
    at: (usize, Option<usize>),
    pub namespace: Option<String>,
    pub target_kind: String,
    pub target_name: String,
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
}

/// What a NetworkPolicy does, beside the pods it selects.
#[derive(Clone, Debug)]
struct NetPol {
    ingress: bool,
    default_deny_ingress: bool,
    default_deny_egress: bool,
}

/// A workload by (namespace, kind, name).
type SingletonKey = (Option<String>, String, String);

/// Where an object lives once applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// Cluster-scoped: no namespace.
    Cluster,
    /// Namespaced: its own namespace, else the release namespace (`None` while unknown).
    Namespace(Option<String>),
}

/// Whether a namespace holds some kind of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    No,
    Yes,
    /// Only if the unknown release namespace turns out to be a namespace that holds one.
    Maybe,
}

impl Holds {
    /// Whether adding one more could make two.
    pub fn any(self) -> bool {
        self != Holds::No
    }
}

/// Namespaces in which some kind of object is present, answered with "may share" semantics.
#[derive(Clone, Debug, Default)]
struct Presence(HashSet<Option<String>>);

impl Presence {
    fn holds(&self, ns: &Option<String>, release_known: bool) -> Holds {
        let maybe = match ns {
            _ if self.0.contains(ns) => return Holds::Yes,
            _ if release_known => false,
            // The unknown release namespace may be any namespace that holds one.
            None => !self.0.is_empty(),
            // A named namespace may be the release namespace, which holds one.
            Some(_) => self.0.contains(&None),
        };
        if maybe { Holds::Maybe } else { Holds::No }
    }
}

/// What a document's workloads need, and those of them that cannot run twice.
type FoundIn = (Vec<Found>, Vec<(SingletonKey, Singleton)>);

/// Cross-document facts. Every query is asked once per workload, so none of them walks a
/// list of every object of a kind (that made large streams quadratic).
#[derive(Clone, Debug, Default)]
pub struct Index {
    pub release_namespace: Option<String>,
    cluster_scoped: ClusterScoped,
    pdbs: SelectorSet<()>,
    network_policies: SelectorSet<NetPol>,
    deny_ingress: Presence,
    deny_egress: Presence,
    /// The first HPA for each (namespace, target kind, target name).
    hpas: HashMap<(Option<String>, String, String), Hpa>,
    services: SelectorSet<()>,
    quotas: Presence,
    limit_ranges: Presence,
    /// PersistentVolumeClaims by (namespace, name): their access modes.
    claims: HashMap<(Option<String>, String), Vec<String>>,
    /// Helm hooks (`Kind/name`) by namespace.
    hooks: BTreeMap<Option<String>, Vec<String>>,
    /// The names of the Namespace objects in the stream.
    namespaces: HashSet<String>,
    /// Scalable workloads that cannot run more than once.
    singletons: HashMap<SingletonKey, Singleton>,
    /// v1 Secrets with values, by (namespace, name).
    secrets: HashMap<(Option<String>, String), StreamSecret>,
    /// Workloads, for the order of a sync, and which of them need each object.
    dependents: Vec<Dependent>,
    dependent_at: HashMap<ResourceId, usize>,
    needed_by: HashMap<Needed, Vec<usize>>,
    /// Explicit sync waves of the objects workloads may need.
    waves: HashMap<Needed, i64>,
    /// Namespaces holding PersistentVolumeClaims or StatefulSets with claim templates.
    storage: Presence,
    /// Namespaces a Velero Schedule of the stream backs up (`*`: all of them).
    backed_up: HashSet<String>,
}

impl Index {
    /// The index of `docs`. `knowledge` says which kinds are cluster-scoped (the stream's
    /// CustomResourceDefinitions add their own kinds) and which workloads are single writers.
    /// `waive` gives the exemptions of a Secret with values and of the workloads that read one.
    /// A document kept as text is read back once for the objects it files, and once more if it
    /// holds a workload.
    pub fn build(
        docs: &[Document<Sealed>],
        release_namespace: Option<&str>,
        knowledge: &Knowledge,
        waive: &Waive<'_>,
    ) -> Result<Index> {
        let mut index = Index::scopes(docs, release_namespace, &knowledge.cluster_scoped)?;
        read::visit_resources(
            docs,
            |_, _| true,
            |position, doc, item, obj| {
                index.add((position, item), doc.number, obj);
                index.add_secret(doc.number, item, obj, waive);
            },
        )?;
        // What every workload needs and, claims being all known now, whether it cannot run
        // twice: in parallel (every workload is looked at), then filed in stream order.
        let is_workload = |group: &str, kind: &str| knowledge.kinds.find(group, kind).is_some();
        let found: Vec<FoundIn> = docs
            .par_iter()
            .filter(|doc| doc.holds(is_workload))
            .map(|doc| {
                let opened = doc.open()?;
                let mut found = Vec::new();
                let mut singletons = Vec::new();
                for (item, obj) in opened.resources() {
                    let id = doc.id_of(item, obj);
                    let Some(workload) = Workload::of(obj, &id, knowledge) else { continue };
                    if workload.replicas.is_some()
                        && let Some(singleton) = index.singleton_of(&id, &workload, obj, knowledge)
                    {
                        singletons.push(singleton);
                    }
                    let needs = Needs::of(obj, &workload);
                    let ns = index.namespace_of(obj);
                    let reads_stream_secret =
                        needs.secrets.iter().any(|(s, _)| index.secrets.contains_key(&(ns.clone(), s.clone())));
                    let waivers = reads_stream_secret.then(|| waive(obj, &id, Some(&workload), ns.as_deref()));
                    let (hook, wave) = (is_hook(obj), wave_of(obj));
                    found.push(Found { id, class: workload.class, needs, hook, wave, waivers });
                }
                Ok((found, singletons))
            })
            .collect::<Result<_>>()?;
        let mut singletons = Vec::new();
        for (found, of_doc) in found {
            for found in found {
                index.add_dependent(found);
            }
            singletons.extend(of_doc);
        }
        index.singletons.extend(singletons);
        Ok(index)
    }

    /// An index that knows only where objects live: the release namespace and which kinds are
    /// cluster-scoped (`cluster_scoped`, plus the stream's CustomResourceDefinitions).
    pub fn scopes(
        docs: &[Document<Sealed>],
        release_namespace: Option<&str>,
        cluster_scoped: &ClusterScoped,
    ) -> Result<Index> {
        let mut index = Index {
            release_namespace: release_namespace.map(str::to_string),
            cluster_scoped: cluster_scoped.clone(),
            ..Index::default()
        };
        let definitions =
            |group: &str, kind: &str| group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition";
        read::visit_resources(docs, definitions, |_, _, _, obj| index.declare_scope(obj))?;
        Ok(index)
    }

    /// Files a v1 Secret that carries values.
    fn add_secret(&mut self, number: usize, item: Option<usize>, obj: &Value, waive: &Waive<'_>) {
        if object::kind(obj) != "Secret" || object::str_at(obj, &["apiVersion"]) != Some("v1") {
            return;
        }
        let mut keys: Vec<String> = Vec::new();
        for field in ["data", "stringData"] {
            for key in obj.get(field).and_then(Value::as_object).into_iter().flat_map(|m| m.keys()) {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
        if keys.is_empty() {
            return;
        }
        let ns = self.namespace_of(obj);
        let id = ResourceId::of(number, item, obj);
        let waivers = waive(obj, &id, None, ns.as_deref());
        let secret_type = object::str_at(obj, &["type"]).unwrap_or("Opaque").to_string();
        let name = object::name(obj).to_string();
        self.secrets.entry((ns, name)).or_insert(StreamSecret { id, secret_type, keys, waivers, readers: Vec::new() });
    }

    /// Files a workload: what it needs, and, when it reads Secrets of the stream, as their reader.
    fn add_dependent(&mut self, found: Found) {
        let Found { id, class, needs, hook, wave, waivers } = found;
        let ns = if self.is_cluster_scoped(id.group(), id.kind()) {
            return;
        } else {
            id.namespace().as_deref().map(str::to_string).or_else(|| self.release_namespace.clone())
        };
        let mut secrets: Vec<(&String, Vec<SecretUse>)> = Vec::new();
        for (name, how) in &needs.secrets {
            match secrets.iter_mut().find(|(n, _)| *n == name) {
                Some((_, uses)) => uses.push(*how),
                None => secrets.push((name, vec![*how])),
            }
        }
        for (name, uses) in secrets {
            if let Some(secret) = self.secrets.get_mut(&(ns.clone(), name.clone())) {
                let waivers = waivers.clone().unwrap_or_default();
                secret.readers.push(Reader { id: id.clone(), uses, hook, waivers });
            }
        }
        if hook {
            return;
        }
        let mut needed: Vec<Needed> = Vec::new();
        needed.extend(needs.service_account.iter().map(|n| (ns.clone(), "ServiceAccount", n.clone())));
        needed.extend(needs.secrets.iter().map(|(n, _)| (ns.clone(), "Secret", n.clone())));
        needed.extend(needs.config_maps.iter().map(|n| (ns.clone(), "ConfigMap", n.clone())));
        needed.extend(needs.claims.iter().map(|n| (ns.clone(), "PersistentVolumeClaim", n.clone())));
        needed.dedup();
        let needs_wave = needed.iter().filter_map(|n| self.waves.get(n).copied()).max();
        let at = self.dependents.len();
        self.dependent_at.insert(id.clone(), at);
        self.dependents.push(Dependent { id, class, wave, needs_wave });
        for n in needed {
            let users = self.needed_by.entry(n).or_default();
            if users.last() != Some(&at) {
                users.push(at);
            }
        }
    }

    /// Why the scalable `workload` cannot run twice, if it cannot, filed by where it lives.
    fn singleton_of(
        &self,
        id: &ResourceId,
        workload: &Workload,
        obj: &Value,
        knowledge: &Knowledge,
    ) -> Option<(SingletonKey, Singleton)> {
        let ns = self.namespace_of(obj);
        let claim_modes = |claim: &str| self.claims.get(&(ns.clone(), claim.to_string())).cloned();
        let singleton = workload.singleton(obj, id, knowledge, claim_modes)?;
        Some(((ns, id.kind().to_string(), id.name.to_string()), singleton))
    }

    /// A CustomResourceDefinition's kind and scope. `apiextensions.k8s.io/v1beta1` defaulted
    /// a missing scope to Namespaced; v1 requires it.
    fn declare_scope(&mut self, obj: &Value) {
        if object::kind(obj) != "CustomResourceDefinition" || object::group(obj) != "apiextensions.k8s.io" {
            return;
        }
        let (Some(group), Some(kind)) =
            (object::str_at(obj, &["spec", "group"]), object::str_at(obj, &["spec", "names", "kind"]))
        else {
            return;
        };
        let cluster = object::str_at(obj, &["spec", "scope"]) == Some("Cluster");
        self.cluster_scoped.declare(group, kind, cluster);
    }

    /// Whether the release namespace is known: then every namespaced object's namespace is.
    pub fn release_known(&self) -> bool {
        self.release_namespace.is_some()
    }

    /// Whether objects of `group`/`kind` are cluster-scoped.
    pub fn is_cluster_scoped(&self, group: &str, kind: &str) -> bool {
        self.cluster_scoped.contains(group, kind)
    }

    /// Where the resource `id` will live once applied.
    pub fn place_of(&self, id: &ResourceId) -> Place {
        if self.is_cluster_scoped(id.group(), id.kind()) {
            Place::Cluster
        } else {
            Place::Namespace(id.namespace().as_deref().map(str::to_string).or_else(|| self.release_namespace.clone()))
        }
    }

    /// Whether objects in `a` and `b` may end up in the same namespace: the same namespace,
    /// or either is the release namespace while it is unknown.
    pub fn may_share(&self, a: &Option<String>, b: &Option<String>) -> bool {
        a == b || (!self.release_known() && (a.is_none() || b.is_none()))
    }

    /// Reads every autoscaler's replica bounds again from `docs`, which the rules may have
    /// raised (`minimum-replicas`). Nothing else the index holds is changed by a rule.
    pub fn refresh_autoscalers(&mut self, docs: &[Document<Sealed>]) -> Result<()> {
        for hpa in self.hpas.values_mut() {
            let (position, item) = hpa.at;
            let Some(doc) = docs.get(position) else { continue };
            let opened = doc.open()?;
            if let Some(obj) = opened.resource(item) {
                (hpa.min_replicas, hpa.max_replicas) = replica_bounds(obj);
            }
        }
        Ok(())
    }

    /// The namespace `obj` will live in: explicit, else the release namespace if known.
    pub fn namespace_of(&self, obj: &Value) -> Option<String> {
        object::namespace(obj).map(str::to_string).or_else(|| self.release_namespace.clone())
    }

    /// Files what `obj` tells: resource `at` (position in the stream, List item) of document
    /// `number`.
    fn add(&mut self, at: (usize, Option<usize>), number: usize, obj: &Value) {
        let ns = self.namespace_of(obj);
        if object::annotations(obj).contains_key("helm.sh/hook") {
            let hook = format!("{}/{}", object::kind(obj), object::name(obj));
            self.hooks.entry(ns.clone()).or_default().push(hook);
        }
        let group = object::group(obj);
        if group.is_empty()
            && let Some(wave) = wave_of(obj)
            && let Some(kind) = ["ServiceAccount", "Secret", "ConfigMap", "PersistentVolumeClaim"]
                .into_iter()
                .find(|k| *k == object::kind(obj))
        {
            self.waves.insert((ns.clone(), kind, object::name(obj).to_string()), wave);
        }
        match (group, object::kind(obj)) {
            ("apps", "StatefulSet") => {
                let templates = object::get(obj, &["spec", "volumeClaimTemplates"]).and_then(Value::as_array);
                if templates.is_some_and(|t| !t.is_empty()) {
                    self.storage.0.insert(ns);
                }
            }
            ("velero.io", "Schedule") => {
                let included = object::get(obj, &["spec", "template", "includedNamespaces"]).and_then(Value::as_array);
                self.backed_up.extend(included.into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
            }
            ("policy", "PodDisruptionBudget") => {
                // A null selector selects no pods; `{}` selects all.
                if let Some(sel) = object::get(obj, &["spec", "selector"]).and_then(Selector::from_label_selector) {
                    self.pdbs.insert(ns, sel, ());
                }
            }
            ("networking.k8s.io", "NetworkPolicy") => {
                let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
                let Some(selector) = Selector::from_label_selector(spec.get("podSelector").unwrap_or(&Value::Null))
                else {
                    return;
                };
                let types: Vec<&str> = spec
                    .get("policyTypes")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_else(|| {
                        if spec.get("egress").is_some_and(|e| !e.is_null()) {
                            vec!["Ingress", "Egress"]
                        } else {
                            vec!["Ingress"]
                        }
                    });
                let empty = |key: &str| spec.get(key).and_then(Value::as_array).is_none_or(Vec::is_empty);
                let all_pods = selector.is_empty();
                let policy = NetPol {
                    ingress: types.contains(&"Ingress"),
                    default_deny_ingress: all_pods && types.contains(&"Ingress") && empty("ingress"),
                    // Any all-pods egress policy is the namespace's egress baseline (ours allows DNS).
                    default_deny_egress: all_pods && types.contains(&"Egress"),
                };
                if policy.default_deny_ingress {
                    self.deny_ingress.0.insert(ns.clone());
                }
                if policy.default_deny_egress {
                    self.deny_egress.0.insert(ns.clone());
                }
                self.network_policies.insert(ns, selector, policy);
            }
            ("autoscaling", "HorizontalPodAutoscaler") => {
                let target =
                    |k: &str| object::str_at(obj, &["spec", "scaleTargetRef", k]).unwrap_or_default().to_string();
                let (min_replicas, max_replicas) = replica_bounds(obj);
                let hpa = Hpa {
                    id: ResourceId::of(number, at.1, obj),
                    at,
                    namespace: ns,
                    target_kind: target("kind"),
                    target_name: target("name"),
                    min_replicas,
                    max_replicas,
                };
                let key = (hpa.namespace.clone(), hpa.target_kind.clone(), hpa.target_name.clone());
                self.hpas.entry(key).or_insert(hpa);
            }
            ("", "Service") => {
                if let Some(sel) = object::get(obj, &["spec", "selector"]).and_then(Selector::from_map)
                    && !sel.is_empty()
                {
                    self.services.insert(ns, sel, ());
                }
            }
            ("", "ResourceQuota") => {
                self.quotas.0.insert(ns);
            }
            ("", "Namespace") => {
                self.namespaces.insert(object::name(obj).to_string());
            }
            ("", "LimitRange") => {
                self.limit_ranges.0.insert(ns);
            }
            ("", "PersistentVolumeClaim") => {
                let modes = object::get(obj, &["spec", "accessModes"])
                    .and_then(Value::as_array)
                    .map(|m| m.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                self.storage.0.insert(ns.clone());
                self.claims.insert((ns, object::name(obj).to_string()), modes);
            }
            _ => {}
        }
    }

    /// Whether a selector of `set` in a namespace `ns` may share selects `labels`.
    pub fn may_select<T>(
        &self,
        set: &SelectorSet<T>,
        ns: &Option<String>,
        labels: &(impl Labels + ?Sized),
        accept: impl Fn(&T) -> bool + Copy,
    ) -> bool {
        match ns {
            _ if self.release_known() => set.any_selects(ns, labels, accept),
            None => set.any_selects_anywhere(labels, accept),
            Some(_) => set.any_selects(ns, labels, accept) || set.any_selects(&None, labels, accept),
        }
    }

    /// Whether a PodDisruptionBudget in `ns` (or a namespace it may share) selects pods
    /// labelled `labels`. A second budget over the same pods makes every eviction fail.
    pub fn pdb_selects(&self, ns: &Option<String>, labels: &(impl Labels + ?Sized)) -> bool {
        self.may_select(&self.pdbs, ns, labels, |_| true)
    }

    /// Whether a NetworkPolicy in `ns` (or a namespace it may share) governs ingress to pods
    /// labelled `labels`. A namespace's default-deny policy does not count: it selects every
    /// pod but allows nothing.
    pub fn network_policy_selects(&self, ns: &Option<String>, labels: &(impl Labels + ?Sized)) -> bool {
        self.may_select(&self.network_policies, ns, labels, |p| p.ingress && !p.default_deny_ingress)
    }

    /// Whether `ns` already denies all ingress (and egress, if `egress`) by default.
    pub fn default_deny(&self, ns: &Option<String>, egress: bool) -> Holds {
        let presence = if egress { &self.deny_egress } else { &self.deny_ingress };
        presence.holds(ns, self.release_known())
    }

    /// The HPA scaling the workload `kind/name` in `ns`, if any.
    pub fn hpa_for(&self, ns: &Option<String>, kind: &str, name: &str) -> Option<&Hpa> {
        self.hpas.get(&(ns.clone(), kind.to_string(), name.to_string()))
    }

    /// Whether a Service in `ns` sends traffic to pods labelled `labels`.
    pub fn service_selects(&self, ns: &Option<String>, labels: &(impl Labels + ?Sized)) -> bool {
        self.services.any_selects(ns, labels, |_| true)
    }

    /// Whether `ns` already holds a ResourceQuota.
    pub fn quota(&self, ns: &Option<String>) -> Holds {
        self.quotas.holds(ns, self.release_known())
    }

    /// Whether `ns` already holds a LimitRange.
    pub fn limit_range(&self, ns: &Option<String>) -> Holds {
        self.limit_ranges.holds(ns, self.release_known())
    }

    /// The stream's Helm hooks (`Kind/name`), by namespace.
    pub fn hooks(&self) -> &BTreeMap<Option<String>, Vec<String>> {
        &self.hooks
    }

    /// Whether the stream holds the Namespace object of `ns` (the release namespace's, `None`,
    /// only when it is known).
    pub fn has_namespace(&self, ns: &Option<String>) -> bool {
        ns.as_ref().or(self.release_namespace.as_ref()).is_some_and(|n| self.namespaces.contains(n))
    }

    /// The v1 Secret `name` with values in `ns`, if the stream has one.
    pub fn stream_secret(&self, ns: &Option<String>, name: &str) -> Option<&StreamSecret> {
        self.secrets.get(&(ns.clone(), name.to_string()))
    }

    /// The workloads (not hooks) of the stream that need `kind/name` in `ns` before they start.
    pub fn needed_by(&self, ns: &Option<String>, kind: &str, name: &str) -> impl Iterator<Item = &Dependent> {
        let kind = ["ServiceAccount", "Secret", "ConfigMap", "PersistentVolumeClaim"].into_iter().find(|k| *k == kind);
        let users = kind.and_then(|kind| self.needed_by.get(&(ns.clone(), kind, name.to_string())));
        users.into_iter().flatten().filter_map(|&i| self.dependents.get(i))
    }

    /// The workload `id` as the order of a sync sees it, if it is one and not a hook.
    pub fn dependent(&self, id: &ResourceId) -> Option<&Dependent> {
        self.dependent_at.get(id).and_then(|&i| self.dependents.get(i))
    }

    /// Whether `ns` holds PersistentVolumeClaims or StatefulSets with claim templates.
    pub fn storage(&self, ns: &Option<String>) -> Holds {
        self.storage.holds(ns, self.release_known())
    }

    /// Whether a Velero Schedule of the stream backs up the namespace `ns`.
    pub fn backed_up(&self, ns: &str) -> bool {
        self.backed_up.contains(ns) || self.backed_up.contains("*")
    }

    /// Why the scalable workload `kind/name` in `ns` cannot run more than once, if it cannot.
    pub fn singleton(&self, ns: &Option<String>, kind: &str, name: &str) -> Option<&Singleton> {
        self.singletons.get(&(ns.clone(), kind.to_string(), name.to_string()))
    }
}

/// An autoscaler's `minReplicas` and `maxReplicas`.
fn replica_bounds(obj: &Value) -> (Option<i64>, Option<i64>) {
    let bound = |field: &str| object::get(obj, &["spec", field]).and_then(Value::as_i64);
    (bound("minReplicas"), bound("maxReplicas"))
}
