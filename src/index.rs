//! Stage 3, index: the cross-document facts rules need, gathered in one pass before any rule
//! runs: which PodDisruptionBudgets, NetworkPolicies, HorizontalPodAutoscalers, Services and
//! ResourceQuotas the stream already has, and where.
//!
//! Namespaces are compared as Kubernetes will see them once applied: an object without
//! `metadata.namespace` lands in the release namespace (`-n`, `HELM_NAMESPACE`), which may be
//! unknown; two objects without a namespace always share it.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::object::{self, ResourceId};
use crate::read::Document;
use crate::select::{Selector, SelectorSet};

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

/// Cross-document facts. Every query is asked once per workload, so none of them walks a
/// list of every object of a kind (that made large streams quadratic).
#[derive(Clone, Debug, Default)]
pub struct Index {
    pub release_namespace: Option<String>,
    pdbs: SelectorSet<()>,
    network_policies: SelectorSet<NetPol>,
    /// The first HPA for each (namespace, target kind, target name).
    hpas: HashMap<(Option<String>, String, String), Hpa>,
    services: SelectorSet<()>,
    quotas: HashSet<Option<String>>,
}

impl Index {
    pub fn build(docs: &[Document], release_namespace: Option<&str>) -> Index {
        let mut index = Index { release_namespace: release_namespace.map(str::to_string), ..Index::default() };
        for (position, doc) in docs.iter().enumerate() {
            for (item, obj) in doc.resources() {
                index.add((position, item), doc.number, obj);
            }
        }
        index
    }

    /// Reads every autoscaler's replica bounds again from `docs`, which the rules may have
    /// raised (`minimum-replicas`). Nothing else the index holds is changed by a rule.
    pub fn refresh_autoscalers(&mut self, docs: &[Document]) {
        for hpa in self.hpas.values_mut() {
            let (position, item) = hpa.at;
            if let Some(obj) = docs.get(position).and_then(|d| d.resource(item)) {
                (hpa.min_replicas, hpa.max_replicas) = replica_bounds(obj);
            }
        }
    }

    /// The namespace `obj` will live in: explicit, else the release namespace if known.
    pub fn namespace_of(&self, obj: &Value) -> Option<String> {
        object::namespace(obj).map(str::to_string).or_else(|| self.release_namespace.clone())
    }

    fn add(&mut self, at: (usize, Option<usize>), number: usize, obj: &Value) {
        let ns = self.namespace_of(obj);
        let group = object::group_of(object::str_at(obj, &["apiVersion"]).unwrap_or_default());
        match (group, object::kind(obj)) {
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
                self.quotas.insert(ns);
            }
            _ => {}
        }
    }

    /// Whether a PodDisruptionBudget in `ns` selects pods labelled `labels`.
    pub fn pdb_selects(&self, ns: &Option<String>, labels: &Map<String, Value>) -> bool {
        self.pdbs.any_selects(ns, labels, |_| true)
    }

    /// Whether a NetworkPolicy in `ns` governs ingress to pods labelled `labels`. A namespace's
    /// default-deny policy does not count: it selects every pod but allows nothing.
    pub fn network_policy_selects(&self, ns: &Option<String>, labels: &Map<String, Value>) -> bool {
        self.network_policies.any_selects(ns, labels, |p| p.ingress && !p.default_deny_ingress)
    }

    /// Whether `ns` already denies all ingress (and egress, if `egress`) by default.
    pub fn default_deny(&self, ns: &Option<String>, egress: bool) -> bool {
        self.network_policies.payloads(ns).any(|p| if egress { p.default_deny_egress } else { p.default_deny_ingress })
    }

    /// The HPA scaling the workload `kind/name` in `ns`, if any.
    pub fn hpa_for(&self, ns: &Option<String>, kind: &str, name: &str) -> Option<&Hpa> {
        self.hpas.get(&(ns.clone(), kind.to_string(), name.to_string()))
    }

    /// Whether a Service in `ns` sends traffic to pods labelled `labels`.
    pub fn service_selects(&self, ns: &Option<String>, labels: &Map<String, Value>) -> bool {
        self.services.any_selects(ns, labels, |_| true)
    }

    pub fn has_quota(&self, ns: &Option<String>) -> bool {
        self.quotas.contains(ns)
    }
}

/// An autoscaler's `minReplicas` and `maxReplicas`.
fn replica_bounds(obj: &Value) -> (Option<i64>, Option<i64>) {
    let bound = |field: &str| object::get(obj, &["spec", field]).and_then(Value::as_i64);
    (bound("minReplicas"), bound("maxReplicas"))
}
