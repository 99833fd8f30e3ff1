//! What NetworkPolicies allow, read as Kubernetes reads them: a pod is isolated for ingress
//! (egress) once a policy of that type selects it, and then accepts only what some selecting
//! policy's rules allow; peers by pod selector, namespace selector (both with expressions) or
//! IP block; ports by number, range or name.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::index::Index;
use crate::object;
use crate::record::PortRef;
use crate::select::{LabelSet, Labels, Selector, SelectorSet};
use crate::workload::ContainerPort;

/// The NetworkPolicies of a stream, parsed, and filed by the pods they select so that a
/// question about one pair of pods does not walk every policy.
#[derive(Clone, Debug, Default)]
pub struct Policies {
    /// Shared with a copy ([`Policies::clone`], as the review makes of the input's policies to
    /// add the generated ones to), as are the namespaces' labels.
    policies: Vec<Arc<Policy>>,
    /// Indexes into `policies`, by namespace and the pods selected.
    by_pods: SelectorSet<usize>,
    /// The labels of the Namespace objects in the stream, by name.
    namespace_labels: Arc<HashMap<Box<str>, NamespaceLabels>>,
    /// One copy of each list of rules the policies hold ([`Policies::shared_rules`]).
    rule_lists: HashSet<Rules>,
}

/// A Namespace's labels, kept small: a stream may hold a Namespace per team, each labelled
/// alike (the Pod Security labels), so keys and values are shared texts.
type NamespaceLabels = LabelSet;

/// A namespace's labels as a namespace selector reads them: its Namespace object's, with the
/// name label Kubernetes sets in place of any of that key.
struct NamespaceView<'a> {
    own: Option<&'a LabelSet>,
    name: &'a str,
}

impl NamespaceView<'_> {
    const NAME_LABEL: &'static str = "kubernetes.io/metadata.name";
}

impl Labels for NamespaceView<'_> {
    fn value(&self, key: &str) -> Option<&str> {
        if key == Self::NAME_LABEL { Some(self.name) } else { self.own?.value(key) }
    }

    fn has(&self, key: &str) -> bool {
        key == Self::NAME_LABEL || self.own.is_some_and(|own| own.has(key))
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let own = self.own.into_iter().flat_map(Labels::pairs).filter(|(k, _)| *k != Self::NAME_LABEL);
        own.chain([(Self::NAME_LABEL, self.name)])
    }
}

/// A policy as the questions read it. Its names are shared texts and its lists of rules shared
/// copies: temper generates a policy or two per workload, alike but for the pods they select,
/// and a stream of many small workloads held 600 bytes for each, its rules copied every time.
#[derive(Clone, Debug)]
struct Policy {
    namespace: Option<Arc<str>>,
    name: Arc<str>,
    /// `None` when the policy is not of that type.
    ingress: Option<Rules>,
    egress: Option<Rules>,
}

/// A policy's rules of one type, shared by every policy that states the same.
type Rules = Arc<[Rule]>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Rule {
    /// `None`: every peer.
    peers: Option<Vec<Peer>>,
    /// `None`: every port.
    ports: Option<Vec<PortSpec>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Peer {
    /// Pods: in the namespaces a selector picks (`None`: the policy's own), matching a pod
    /// selector (`None`: all of them).
    Pods { namespaces: Option<Selector>, pods: Option<Selector> },
    /// An IP block: whether it is `0.0.0.0/0` or `::/0` with no exceptions, i.e. everything
    /// outside the pod network for sure. Narrower blocks may or may not hold a given address.
    Block { everything: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PortSpec {
    /// Shared (`intern`): every generated policy names TCP on each of its ports.
    protocol: std::sync::Arc<str>,
    port: Option<PortRef>,
    end_port: Option<i64>,
}

/// Who opens a connection.
#[derive(Clone, Copy, Debug)]
pub enum Client<'a> {
    /// A pod in `namespace` (`None`: the release namespace) with `labels`.
    Pod { namespace: &'a Option<String>, labels: &'a LabelSet },
    /// Something that is not a pod: the API server, a client outside the cluster.
    External,
}

/// The pods that accept a connection.
#[derive(Clone, Copy, Debug)]
pub struct Server<'a> {
    pub namespace: &'a Option<String>,
    pub labels: &'a LabelSet,
    /// Their declared ports, to read named ports by.
    pub ports: &'a [ContainerPort],
}

impl Policies {
    /// Whether [`Policies::add`] reads objects of `kind` (NetworkPolicies and Namespaces).
    pub fn reads_kind(kind: &str) -> bool {
        matches!(kind, "NetworkPolicy" | "Namespace")
    }

    /// The NetworkPolicies and Namespace objects among `objects`, placed as `index` places them.
    pub fn of<'v>(objects: impl IntoIterator<Item = &'v Value>, index: &Index) -> Policies {
        let mut out = Policies::default();
        for obj in objects {
            out.add(obj, index);
        }
        out
    }

    /// Adds `obj` if it is a NetworkPolicy or a Namespace, placed as `index` places it.
    pub fn add(&mut self, obj: &Value, index: &Index) {
        let group = object::group(obj);
        match (group, object::kind(obj)) {
            ("networking.k8s.io", "NetworkPolicy") => {
                if let Some((pods, mut policy)) = Policy::parse(obj, index) {
                    policy.ingress = policy.ingress.map(|rules| self.shared_rules(rules));
                    policy.egress = policy.egress.map(|rules| self.shared_rules(rules));
                    self.push(pods, policy);
                }
            }
            ("", "Namespace") => {
                let labels = LabelSet::of(object::labels(obj));
                Arc::make_mut(&mut self.namespace_labels).insert(object::name(obj).into(), labels);
            }
            _ => {}
        }
    }

    /// `rules`, or the copy these policies already hold of the same rules.
    fn shared_rules(&mut self, rules: Rules) -> Rules {
        match self.rule_lists.get(&rules) {
            Some(kept) => Arc::clone(kept),
            None => {
                self.rule_lists.insert(Arc::clone(&rules));
                rules
            }
        }
    }

    /// Files `policy` by the pods it selects (its selector is kept there only).
    fn push(&mut self, pods: Selector, policy: Policy) {
        self.by_pods.insert(policy.namespace.as_deref().map(str::to_string), pods, self.policies.len());
        self.policies.push(Arc::new(policy));
    }

    /// The policies that select pods labelled `labels` in `ns` (as resolved), in stream order.
    fn selecting(&self, ns: &Option<String>, labels: &LabelSet, release: Option<&str>) -> Vec<&Policy> {
        let mut found: Vec<usize> = self.by_pods.selecting(ns, labels).copied().collect();
        // Policies without a namespace are in the release namespace, which may be `ns`.
        if ns.is_some() && ns.as_deref() == release {
            found.extend(self.by_pods.selecting(&None, labels).copied());
        }
        found.sort_unstable();
        found.into_iter().map(|i| &*self.policies[i]).collect()
    }

    /// Whether `client` may connect to `server` on `port`/`protocol` when the release namespace
    /// is `release` (unknown: `None`, whose labels are then unknown too). `Some` with the names
    /// of the policies that allow it (empty when no policy isolates either side), `None` when
    /// it is denied.
    pub fn allows(
        &self,
        client: Client<'_>,
        server: Server<'_>,
        port: &PortRef,
        protocol: &str,
        release: Option<&str>,
    ) -> Option<Vec<String>> {
        let resolve = |ns: Option<&str>| ns.or(release).map(str::to_string);
        let server_ns = resolve(server.namespace.as_deref());
        let (number, name) = resolve_port(port, server.ports, protocol);
        let mut names = Vec::new();
        // Ingress, at the server.
        let selecting: Vec<&Policy> = self
            .selecting(server.namespace, server.labels, release)
            .into_iter()
            .filter(|p| p.ingress.is_some() && resolve(p.namespace.as_deref()) == server_ns)
            .collect();
        if !selecting.is_empty() {
            let allowing: Vec<&Policy> = selecting
                .into_iter()
                .filter(|p| {
                    p.ingress.iter().flat_map(|rules| rules.iter()).any(|rule| {
                        self.rule_peers_match(rule, &resolve(p.namespace.as_deref()), client, &resolve)
                            && rule_ports_match(rule, number, name.as_deref(), protocol)
                    })
                })
                .collect();
            if allowing.is_empty() {
                return None;
            }
            names.extend(allowing.iter().map(|p| p.name.to_string()));
        }
        // Egress, at the client.
        if let Client::Pod { namespace, labels } = client {
            let client_ns = resolve(namespace.as_deref());
            let selecting: Vec<&Policy> = self
                .selecting(namespace, labels, release)
                .into_iter()
                .filter(|p| p.egress.is_some() && resolve(p.namespace.as_deref()) == client_ns)
                .collect();
            if !selecting.is_empty() {
                let target = Client::Pod { namespace: server.namespace, labels: server.labels };
                let allowing: Vec<&Policy> = selecting
                    .into_iter()
                    .filter(|p| {
                        p.egress.iter().flat_map(|rules| rules.iter()).any(|rule| {
                            self.rule_peers_match(rule, &resolve(p.namespace.as_deref()), target, &resolve)
                                && rule_ports_match(rule, number, name.as_deref(), protocol)
                        })
                    })
                    .collect();
                if allowing.is_empty() {
                    return None;
                }
                names.extend(allowing.iter().map(|p| p.name.to_string()));
            }
        }
        names.sort();
        names.dedup();
        Some(names)
    }

    /// Whether a rule of a policy in `policy_ns` lets `peer` through.
    fn rule_peers_match(
        &self,
        rule: &Rule,
        policy_ns: &Option<String>,
        peer: Client<'_>,
        resolve: &dyn Fn(Option<&str>) -> Option<String>,
    ) -> bool {
        let Some(peers) = &rule.peers else { return true };
        peers.iter().any(|p| match (p, peer) {
            (Peer::Block { everything }, Client::External) => *everything,
            // A pod's address may or may not be in a block: not counted as allowed.
            (Peer::Block { .. }, Client::Pod { .. }) | (Peer::Pods { .. }, Client::External) => false,
            (Peer::Pods { namespaces, pods }, Client::Pod { namespace, labels }) => {
                let peer_ns = resolve(namespace.as_deref());
                let ns_ok = match namespaces {
                    // Both in the release namespace, while unknown, is one namespace.
                    None => peer_ns == *policy_ns,
                    // The unknown release namespace's labels are unknown: only `{}` matches it.
                    Some(selector) => match peer_ns {
                        Some(ns) => {
                            selector.matches(&NamespaceView { own: self.namespace_labels.get(&*ns), name: &ns })
                        }
                        None => selector.matches(&LabelSet::default()),
                    },
                };
                ns_ok && pods.as_ref().is_none_or(|s| s.matches(labels))
            }
        })
    }
}

impl Policy {
    /// The policy `obj` states, with the selector of the pods it applies to.
    fn parse(obj: &Value, index: &Index) -> Option<(Selector, Policy)> {
        let spec = obj.get("spec")?;
        let pods = Selector::from_label_selector(spec.get("podSelector").unwrap_or(&Value::Null))?;
        let has = |key: &str| spec.get(key).is_some_and(|v| !v.is_null());
        let types: Vec<&str> = match spec.get("policyTypes").and_then(Value::as_array) {
            Some(t) => t.iter().filter_map(Value::as_str).collect(),
            None if has("egress") => vec!["Ingress", "Egress"],
            None => vec!["Ingress"],
        };
        let rules = |key: &str, peer_key: &str| -> Option<Rules> {
            types.contains(&if key == "ingress" { "Ingress" } else { "Egress" }).then(|| {
                spec.get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|r| Rule { peers: peers(r.get(peer_key)), ports: ports(r.get("ports")) })
                    .collect()
            })
        };
        let policy = Policy {
            namespace: index.namespace_of(obj).as_deref().map(crate::intern::text),
            name: crate::intern::text(object::name(obj)),
            ingress: rules("ingress", "from"),
            egress: rules("egress", "to"),
        };
        Some((pods, policy))
    }
}

/// A rule's peers: `None` (every peer) when the list is absent or empty.
fn peers(list: Option<&Value>) -> Option<Vec<Peer>> {
    let list = list?.as_array().filter(|l| !l.is_empty())?;
    Some(
        list.iter()
            .map(|p| match p.get("ipBlock") {
                Some(block) => {
                    let cidr = object::str_at(block, &["cidr"]).unwrap_or_default();
                    let except = block.get("except").and_then(Value::as_array).is_some_and(|e| !e.is_empty());
                    Peer::Block { everything: matches!(cidr, "0.0.0.0/0" | "::/0") && !except }
                }
                None => Peer::Pods {
                    namespaces: p.get("namespaceSelector").filter(|v| !v.is_null()).map(|s| {
                        // An unreadable selector selects nothing.
                        Selector::from_label_selector(s).unwrap_or_else(nothing)
                    }),
                    pods: p
                        .get("podSelector")
                        .filter(|v| !v.is_null())
                        .map(|s| Selector::from_label_selector(s).unwrap_or_else(nothing)),
                },
            })
            .collect(),
    )
}

/// A selector no set of labels satisfies.
fn nothing() -> Selector {
    Selector::parse("temper.dev/never,!temper.dev/never").unwrap_or_default()
}

/// A rule's ports: `None` (every port) when the list is absent or empty.
fn ports(list: Option<&Value>) -> Option<Vec<PortSpec>> {
    let list = list?.as_array().filter(|l| !l.is_empty())?;
    Some(
        list.iter()
            .map(|p| PortSpec {
                protocol: crate::intern::text(object::str_at(p, &["protocol"]).unwrap_or("TCP")),
                port: p.get("port").and_then(|v| match v {
                    Value::Number(n) => n.as_i64().map(PortRef::Number),
                    Value::String(s) => Some(PortRef::Name(s.clone())),
                    _ => None,
                }),
                end_port: p.get("endPort").and_then(Value::as_i64),
            })
            .collect(),
    )
}

/// A port the server's pods accept, as a number and a name where either is known.
fn resolve_port(port: &PortRef, declared: &[ContainerPort], protocol: &str) -> (Option<i64>, Option<String>) {
    let same_protocol = |p: &&ContainerPort| *p.protocol == *protocol;
    match port {
        PortRef::Number(n) => {
            let name = declared
                .iter()
                .filter(same_protocol)
                .find(|p| p.port.as_i64() == Some(*n))
                .and_then(|p| p.name.as_deref().map(str::to_string));
            (Some(*n), name)
        }
        PortRef::Name(name) => {
            let number = declared
                .iter()
                .filter(same_protocol)
                .find(|p| p.name.as_deref() == Some(name))
                .and_then(|p| p.port.as_i64());
            (number, Some(name.clone()))
        }
    }
}

fn rule_ports_match(rule: &Rule, number: Option<i64>, name: Option<&str>, protocol: &str) -> bool {
    let Some(ports) = &rule.ports else { return true };
    ports.iter().any(|p| {
        *p.protocol == *protocol
            && match &p.port {
                None => true,
                Some(PortRef::Number(from)) => {
                    let to = p.end_port.unwrap_or(*from);
                    number.is_some_and(|n| (*from..=to).contains(&n))
                }
                Some(PortRef::Name(n)) => name == Some(n.as_str()),
            }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::read::{self, Input};
    use crate::workload::PortValue;

    /// `policies` (a YAML stream) allow a pod labelled `client` in `client_ns` (or an external
    /// client, for `None`) to reach pods labelled `app: db` in `shop` declaring port 5432 named
    /// `pg`, on `port`: `expect`.
    #[track_caller]
    fn check(policies: &str, client: Option<(&str, Value)>, port: PortRef, expect: bool) {
        let docs = read::parse(&[Input::new("p", policies)]).unwrap();
        let index = Index::default();
        let objects: Vec<Value> = docs.iter().filter_map(|d| d.value.clone()).collect();
        let parsed = Policies::of(&objects, &index);
        let server_labels = LabelSet::of(json!({"app": "db"}).as_object().unwrap());
        let declared = [ContainerPort {
            name: Some("pg".into()),
            port: PortValue::Number(5432),
            protocol: "TCP".into(),
            host_port: None,
        }];
        let shop = Some("shop".to_string());
        let server = Server { namespace: &shop, labels: &server_labels, ports: &declared };
        let (client_ns, client_labels);
        let client = match client {
            Some((ns, labels)) => {
                client_ns = Some(ns.to_string());
                client_labels = LabelSet::of(labels.as_object().unwrap());
                Client::Pod { namespace: &client_ns, labels: &client_labels }
            }
            None => Client::External,
        };
        assert_eq!(parsed.allows(client, server, &port, "TCP", None).is_some(), expect);
    }

    const DENY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {podSelector: {}}\n";

    fn allow(spec: &str) -> String {
        format!(
            "{DENY}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: allow, namespace: shop}}\nspec: {spec}\n"
        )
    }

    #[test]
    fn no_policy_allows_everything_and_a_default_deny_nothing() {
        check("", Some(("shop", json!({"app": "web"}))), PortRef::Number(5432), true);
        check("", None, PortRef::Number(5432), true);
        check(DENY, Some(("shop", json!({"app": "web"}))), PortRef::Number(5432), false);
        check(DENY, None, PortRef::Number(5432), false);
    }

    #[test]
    fn peers_by_pod_and_namespace_selector_with_expressions() {
        let by_pod = allow(
            "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: In, values: [web, api]}]}}]}]}",
        );
        check(&by_pod, Some(("shop", json!({"app": "web"}))), PortRef::Number(5432), true);
        check(&by_pod, Some(("shop", json!({"app": "batch"}))), PortRef::Number(5432), false);
        check(&by_pod, Some(("other", json!({"app": "web"}))), PortRef::Number(5432), false);
        check(&by_pod, None, PortRef::Number(5432), false);
        let by_ns = allow(
            "{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]}]}",
        );
        check(&by_ns, Some(("monitoring", json!({}))), PortRef::Number(5432), true);
        check(&by_ns, Some(("shop", json!({}))), PortRef::Number(5432), false);
        let both = allow(
            "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}]}]}",
        );
        check(&both, Some(("other", json!({"app": "web"}))), PortRef::Number(5432), true);
        check(&both, Some(("other", json!({"app": "api"}))), PortRef::Number(5432), false);
    }

    #[test]
    fn namespace_selectors_read_the_namespace_objects_labels() {
        let namespaces = "apiVersion: v1\nkind: Namespace\nmetadata: {name: monitoring, labels: {team: obs, audited: 'yes'}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: batch, labels: {team: jobs}}\n";
        let by_team = |selector: &str| {
            format!(
                "{namespaces}---\n{}",
                allow(&format!("{{podSelector: {{}}, ingress: [{{from: [{{namespaceSelector: {selector}}}]}}]}}"))
            )
        };
        let team_obs = by_team("{matchLabels: {team: obs}}");
        check(&team_obs, Some(("monitoring", json!({}))), PortRef::Number(5432), true);
        check(&team_obs, Some(("batch", json!({}))), PortRef::Number(5432), false);
        check(&team_obs, Some(("elsewhere", json!({}))), PortRef::Number(5432), false);
        let audited = by_team("{matchExpressions: [{key: audited, operator: Exists}]}");
        check(&audited, Some(("monitoring", json!({}))), PortRef::Number(5432), true);
        check(&audited, Some(("batch", json!({}))), PortRef::Number(5432), false);
        // Kubernetes' own name label is there beside the object's.
        let named = by_team("{matchLabels: {team: jobs, kubernetes.io/metadata.name: batch}}");
        check(&named, Some(("batch", json!({}))), PortRef::Number(5432), true);
    }

    #[test]
    fn ports_by_number_range_and_name_and_an_open_rule() {
        let web = || Some(("shop", json!({"app": "web"})));
        check(&allow("{podSelector: {}, ingress: [{ports: [{port: 5432}]}]}"), web(), PortRef::Number(5432), true);
        check(&allow("{podSelector: {}, ingress: [{ports: [{port: 5433}]}]}"), web(), PortRef::Number(5432), false);
        check(
            &allow("{podSelector: {}, ingress: [{ports: [{port: 5000, endPort: 6000}]}]}"),
            web(),
            PortRef::Name("pg".into()),
            true,
        );
        check(&allow("{podSelector: {}, ingress: [{ports: [{port: pg}]}]}"), web(), PortRef::Number(5432), true);
        check(
            &allow("{podSelector: {}, ingress: [{ports: [{port: pg, protocol: UDP}]}]}"),
            web(),
            PortRef::Number(5432),
            false,
        );
        check(&allow("{podSelector: {}, ingress: [{}]}"), None, PortRef::Number(5432), true);
        check(
            &allow("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}"),
            None,
            PortRef::Number(5432),
            true,
        );
        check(
            &allow("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]}"),
            None,
            PortRef::Number(5432),
            false,
        );
    }

    #[test]
    fn policies_stating_the_same_rules_share_one_copy_of_them() {
        let policy = |ns: &str, port: u16| {
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: app, namespace: {ns}}}\nspec: {{podSelector: {{matchLabels: {{app: app}}}}, ingress: [{{from: [{{podSelector: {{}}}}], ports: [{{port: {port}}}]}}]}}\n"
            )
        };
        let stream = [policy("a", 8080), policy("b", 8080), policy("c", 9090)].join("---\n");
        let docs = read::parse(&[Input::new("p", stream)]).unwrap();
        let objects: Vec<Value> = docs.iter().filter_map(|d| d.value.clone()).collect();
        let parsed = Policies::of(&objects, &Index::default());
        let ingress = |i: usize| parsed.policies[i].ingress.clone().unwrap();
        assert!(Arc::ptr_eq(&ingress(0), &ingress(1)));
        assert!(!Arc::ptr_eq(&ingress(0), &ingress(2)));
        assert_ne!(ingress(0), ingress(2));
        assert_eq!(
            parsed.policies.iter().map(|p| p.namespace.as_deref()).collect::<Vec<_>>(),
            [Some("a"), Some("b"), Some("c")]
        );
    }

    #[test]
    fn policy_types_and_egress_at_the_client() {
        // An egress-only policy does not isolate the server for ingress.
        let egress_only = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: e, namespace: shop}\nspec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Egress]}\n";
        check(egress_only, Some(("shop", json!({"app": "web"}))), PortRef::Number(5432), true);
        // The client's namespace denies its egress.
        let client_egress = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: e, namespace: shop}\nspec: {podSelector: {matchLabels: {app: web}}, egress: [{to: [{podSelector: {matchLabels: {app: cache}}}]}]}\n";
        check(client_egress, Some(("shop", json!({"app": "web"}))), PortRef::Number(5432), false);
        check(client_egress, Some(("shop", json!({"app": "other"}))), PortRef::Number(5432), true);
    }
}
