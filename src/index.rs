//! Stage 2, index: the cross-document facts rules need, gathered in one pass before any rule
//! runs: which PodDisruptionBudgets, NetworkPolicies, HorizontalPodAutoscalers, Services and
//! ResourceQuotas the stream already has, and where.
//!
//! Namespaces are compared as Kubernetes will see them once applied: an object without
//! `metadata.namespace` lands in the release namespace (`-n`, `HELM_NAMESPACE`), which may be
//! unknown; two objects without a namespace always share it.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::object::{self, ResourceId};
use crate::read::Document;
use crate::select::Selector;

/// A HorizontalPodAutoscaler in the stream.
#[derive(Clone, Debug)]
pub struct Hpa {
    pub id: ResourceId,
    pub namespace: Option<String>,
    pub target_kind: String,
    pub target_name: String,
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
}

#[derive(Clone, Debug)]
struct NetPol {
    namespace: Option<String>,
    selector: Selector,
    ingress: bool,
    default_deny_ingress: bool,
    default_deny_egress: bool,
}

/// Cross-document facts.
#[derive(Clone, Debug, Default)]
pub struct Index {
    pub release_namespace: Option<String>,
    pdbs: Vec<(Option<String>, Selector)>,
    network_policies: Vec<NetPol>,
    hpas: Vec<Hpa>,
    services: Vec<(Option<String>, Selector)>,
    quotas: HashSet<Option<String>>,
}

impl Index {
    pub fn build(docs: &[Document], release_namespace: Option<&str>) -> Index {
        let mut index = Index { release_namespace: release_namespace.map(str::to_string), ..Index::default() };
        for doc in docs {
            for (item, obj) in doc.resources() {
                index.add(doc.number, item, obj);
            }
        }
        index
    }

    /// The namespace `obj` will live in: explicit, else the release namespace if known.
    pub fn namespace_of(&self, obj: &Value) -> Option<String> {
        object::namespace(obj).map(str::to_string).or_else(|| self.release_namespace.clone())
    }

    fn add(&mut self, number: usize, item: Option<usize>, obj: &Value) {
        let ns = self.namespace_of(obj);
        let group = obj["apiVersion"].as_str().and_then(|v| v.rsplit_once('/')).map_or("", |(g, _)| g);
        match (group, object::kind(obj)) {
            ("policy", "PodDisruptionBudget") => {
                // A null selector selects no pods; `{}` selects all.
                if let Some(sel) = object::get(obj, &["spec", "selector"]).and_then(Selector::from_label_selector) {
                    self.pdbs.push((ns, sel));
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
                self.network_policies.push(NetPol {
                    namespace: ns,
                    ingress: types.contains(&"Ingress"),
                    default_deny_ingress: all_pods && types.contains(&"Ingress") && empty("ingress"),
                    // Any all-pods egress policy is the namespace's egress baseline (ours allows DNS).
                    default_deny_egress: all_pods && types.contains(&"Egress"),
                    selector,
                });
            }
            ("autoscaling", "HorizontalPodAutoscaler") => {
                let target =
                    |k: &str| object::str_at(obj, &["spec", "scaleTargetRef", k]).unwrap_or_default().to_string();
                self.hpas.push(Hpa {
                    id: ResourceId::of(number, item, obj),
                    namespace: ns,
                    target_kind: target("kind"),
                    target_name: target("name"),
                    min_replicas: object::get(obj, &["spec", "minReplicas"]).and_then(Value::as_i64),
                    max_replicas: object::get(obj, &["spec", "maxReplicas"]).and_then(Value::as_i64),
                });
            }
            ("", "Service") => {
                if let Some(sel) = object::get(obj, &["spec", "selector"]).and_then(Selector::from_map)
                    && !sel.is_empty()
                {
                    self.services.push((ns, sel));
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
        self.pdbs.iter().any(|(n, s)| n == ns && s.matches(labels))
    }

    /// Whether a NetworkPolicy in `ns` governs ingress to pods labelled `labels`. A namespace's
    /// default-deny policy does not count: it selects every pod but allows nothing.
    pub fn network_policy_selects(&self, ns: &Option<String>, labels: &Map<String, Value>) -> bool {
        self.network_policies
            .iter()
            .any(|p| &p.namespace == ns && p.ingress && !p.default_deny_ingress && p.selector.matches(labels))
    }

    /// Whether `ns` already denies all ingress (and egress, if `egress`) by default.
    pub fn default_deny(&self, ns: &Option<String>, egress: bool) -> bool {
        self.network_policies
            .iter()
            .any(|p| &p.namespace == ns && if egress { p.default_deny_egress } else { p.default_deny_ingress })
    }

    /// The HPA scaling the workload `kind/name` in `ns`, if any.
    pub fn hpa_for(&self, ns: &Option<String>, kind: &str, name: &str) -> Option<&Hpa> {
        self.hpas.iter().find(|h| &h.namespace == ns && h.target_kind == kind && h.target_name == name)
    }

    /// Whether a Service in `ns` sends traffic to pods labelled `labels`.
    pub fn service_selects(&self, ns: &Option<String>, labels: &Map<String, Value>) -> bool {
        self.services.iter().any(|(n, s)| n == ns && s.matches(labels))
    }

    pub fn has_quota(&self, ns: &Option<String>) -> bool {
        self.quotas.contains(ns)
    }
}
