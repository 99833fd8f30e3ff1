//! `network-policy`: default-deny ingress per namespace, and an allow policy per workload.


use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::record::{Flow, Port, PortRef, Source};
use crate::object::ResourceId;
use crate::pointer::Pointer;
use crate::canon::canonical;
use crate::select::{Labels, Selector, SelectorSet};
use crate::workload::WorkloadFacts;

use super::{Gx, Rule, Target};

pub const DOC: &str = r#"Adds NetworkPolicies: a default-deny for ingress in each namespace, and for each workload with ports, a policy allowing only the traffic it should get.

## What it does
- Per target namespace (where the stream's workloads run), a `temper-default-deny` NetworkPolicy selecting every pod with no ingress rule, unless the stream already has a default-deny there.
- Per workload that accepts connections (it declares ports, a Service sends it traffic, or a flow reaches it) and that no NetworkPolicy in the stream already governs, `<workload>-temper-ingress` (`<workload>-<kind>-temper-ingress` when a workload of another kind has the name), allowing:
  - its ports (declared, and those its Services target) from pods of the same release (same `app.kubernetes.io/instance` label), or from the same namespace when the workload has no such label;
  - for workloads behind a Service that are not of class `database`, `cache` or `queue`, the same ports from the ingress controller's namespace (`ingressNamespace`, matched by `kubernetes.io/metadata.name`);
  - every connection the release needs, inferred from the stream (the flows), from where it comes:
    - pods that name the workload's Service in an env value, argument or command, or in a ConfigMap or Secret they read (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`, with or without `:port`), Jobs and CronJobs included;
    - the API server, for admission webhooks, aggregated APIs and CRD conversion webhooks: it is not a pod, so these ports are open to every source;
    - clients outside the cluster, for `LoadBalancer` and `NodePort` Services and host ports: open to every source;
    - the ingress controllers in the stream (recognised by `ingressControllers`) and `ingressNamespace`, for Ingress and Gateway API route backends;
    - `monitoringNamespace` and the namespaces of the stream's `Prometheus` servers, for pods annotated `prometheus.io/scrape` and targets of ServiceMonitors and PodMonitors;
    - pods on the host network, which connect from their node's address: open to every source on those ports.
- With `defaultDenyEgress`, also `temper-default-deny-egress`, which denies egress except DNS to `kube-system`, and per workload `<workload>-temper-egress`, allowing its own release, every server it needs, and the API server's ports (443, 6443).

The report lists every flow, with what the stream's policies allowed and what the output's allow (`flows`); `temper diff` and `promote` show them too.

Workloads on the host network are skipped: NetworkPolicies do not apply to them.
System namespaces (`excludeNamespaces`) are skipped.

## Refuses
- No default-deny policy is added to a namespace where a workload that accepts connections gets no policy of its own (exempted from this rule, no policy name was free, or its pods have no labels to select them by): the default-deny would cut it off.
- While the release namespace is unknown, no default-deny is added for it when it may turn out to be a namespace that has one, or gets one from temper.
- Traffic through Ingresses and routes is allowed from `ingressNamespace` when no ingress controller is in the stream, and the report says that it assumed where the controller runs.

## Why
Without a NetworkPolicy every pod accepts connections from every other pod in the cluster.
Explicit ingress rules per workload make lateral movement from a compromised pod much harder.
Note that the default-deny policy applies to the whole namespace: workloads of other releases there need their own policies.

## Example
```yaml before
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
        app.kubernetes.io/instance: shop
    spec:
      containers:
      - name: api
        image: example/api:1.0
        ports:
        - containerPort: 8080
```
```yaml after
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
        app.kubernetes.io/instance: shop
    spec:
      containers:
      - name: api
        image: example/api:1.0
        ports:
        - containerPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-temper-ingress
  labels:
    app.kubernetes.io/created-by: temper
  annotations:
    temper.dev/rule: network-policy
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app.kubernetes.io/instance: shop
    ports:
    - port: 8080
      protocol: TCP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: temper-default-deny
  labels:
    app.kubernetes.io/created-by: temper
  annotations:
    temper.dev/rule: network-policy
spec:
  podSelector: {}
  policyTypes:
  - Ingress
```

## Parameters
- `ingressNamespace` (default `gateway-system`): where the ingress controller or gateway runs.
- `ingressControllers`: images (regular expressions, without the registry host) of ingress controllers and gateways; defaults: ingress-nginx, NGINX Inc.'s, Traefik, HAProxy, Kong, Contour, Emissary, Istio's proxy, Envoy Gateway.
- `monitoringNamespace` (default `monitoring`): where Prometheus runs.
- `noIngressFromGatewayClasses` (default `[database, cache, queue]`): back-end components that are never reached from the gateway.
- `defaultDenyEgress` (default `false`), `dnsNamespace` (default `kube-system`).
- `excludeNamespaces` (default `[kube-system, kube-public, kube-node-lease]`).
"#;

const RELEASE_LABEL: &str = "app.kubernetes.io/instance";

/// Well-known ingress controller and gateway images: ingress-nginx, NGINX Inc.'s, Traefik,
/// HAProxy's, Kong, Contour, Emissary, Istio's gateway, Envoy Gateway.
const INGRESS_CONTROLLERS: &[&str] = &[
    r"^ingress-nginx/controller(-chroot)?(:|@|$)",
    r"^nginx/nginx-ingress(:|@|$)",
    r"^((docker/)?library/)?traefik(:|@|$)",
    r"^traefik/traefik(:|@|$)",
    r"^haproxytech/kubernetes-ingress(:|@|$)",
    r"^(kong|kong/kubernetes-ingress-controller)(:|@|$)",
    r"^projectcontour/contour(:|@|$)",
    r"^emissary-ingress/emissary(:|@|$)",
    r"^istio/proxyv2(:|@|$)",
    r"^envoyproxy/gateway(:|@|$)",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub ingress_namespace: String,
    /// Images of ingress controllers and gateways, without their registry host.
    #[serde(with = "super::patterns")]
    pub ingress_controllers: Vec<Regex>,
    pub monitoring_namespace: String,
    pub no_ingress_from_gateway_classes: Vec<String>,
    pub default_deny_egress: bool,
    pub dns_namespace: String,
    pub exclude_namespaces: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        #[allow(clippy::expect_used, reason = "constant patterns, covered by tests")]
        let ingress_controllers = INGRESS_CONTROLLERS.iter().map(|p| Regex::new(p).expect("valid pattern")).collect();
        Params {
            ingress_namespace: "gateway-system".into(),
            ingress_controllers,
            monitoring_namespace: "monitoring".into(),
            no_ingress_from_gateway_classes: vec!["database".into(), "cache".into(), "queue".into()],
            default_deny_egress: false,
            dns_namespace: "kube-system".into(),
            exclude_namespaces: ["kube-system", "kube-public", "kube-node-lease"].map(String::from).to_vec(),
        }
    }
}

fn metadata(name: &str, ns: Option<&String>) -> Value {
    match ns {
        Some(ns) => json!({"name": name, "namespace": ns}),
        None => json!({"name": name}),
    }
}

/// An object built from owned parts. `json!` copies every value it interpolates by serializing
/// it, and building each policy twice over that way was most of generation's time.
fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<String, Value>>())
}

fn policy(name: &str, ns: Option<&String>, spec: Value) -> Value {
    object([
        ("apiVersion", Value::from("networking.k8s.io/v1")),
        ("kind", Value::from("NetworkPolicy")),
        ("metadata", metadata(name, ns)),
        ("spec", spec),
    ])
}

impl Rule for Params {
    fn generate(&self, gx: &mut Gx<'_>) {
        let excluded = |ns: &Option<String>| ns.as_ref().is_some_and(|n| self.exclude_namespaces.contains(n));
        let by_id: HashMap<&ResourceId, &WorkloadFacts> = gx.workloads.iter().map(|w| (&w.id, w)).collect();
        let controllers: Vec<&WorkloadFacts> =
            gx.workloads.iter().filter(|w| self.is_ingress_controller(w)).collect();
        let flows: Vec<Flow> = gx.inferred.flows.iter().flat_map(|f| self.placed(f, &controllers, gx)).collect();
        let mut inbound: HashMap<&ResourceId, Vec<&Flow>> = HashMap::new();
        for flow in &flows {
            inbound.entry(&flow.to).or_insert_with(|| Vec::with_capacity(1)).push(flow);
        }
        // A policy added in this run for the same pods (two workloads with one selector) counts
        // as existing for the workloads that follow. One that merely selects them too does
        // not: it allows only what its own workload needs.
        let mut added: HashSet<(Option<String>, String)> = HashSet::new();
        // Every policy added in this run, by the pods it selects.
        let mut selecting: SelectorSet<()> = SelectorSet::default();
        // Workloads that accept connections but get no policy (exempted, or no name free).
        let mut open: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
        for facts in gx.workloads {
            if excluded(&facts.namespace) || facts.host_network {
                continue;
            }
            let labels = &facts.workload.pod_labels;
            let Some(selector) = facts.selector() else {
                // Pods without labels cannot be selected: a default-deny would cut them off.
                let accepts = !facts.ports.is_empty() || inbound.contains_key(&facts.id);
                if accepts && gx.fixes() {
                    open.entry(facts.namespace.clone()).or_default().push(facts.id.to_string());
                }
                continue;
            };
            let same_pods = (facts.namespace.clone(), canonical(&selector));
            if added.contains(&same_pods) || gx.index.network_policy_selects(&facts.namespace, labels) {
                continue;
            }
            // The ports its own release may use: what it declares, and what Services send it.
            let mut ports: Ports =
                facts.ports.iter().filter_map(|p| Some((p.port.port_ref()?, Arc::clone(&p.protocol)))).collect();
            for port in gx.inferred.service_ports.get(&facts.id).into_iter().flatten() {
                let port = numbered(port, facts);
                if !ports.contains(&port) {
                    ports.push(port);
                }
            }
            let into = inbound.get(&facts.id).map(Vec::as_slice).unwrap_or_default();
            if ports.is_empty() && into.is_empty() {
                continue;
            }
            let mut ingress = Ingress::default();
            let release = facts.workload.pod_labels.value(RELEASE_LABEL);
            let own = match release {
                Some(release) => object([("podSelector", match_labels([(RELEASE_LABEL, Value::from(release))]))]),
                None => json!({"podSelector": {}}),
            };
            ingress.allow(Some(own), &ports);
            let gateway = gx.index.service_selects(&facts.namespace, labels)
                && !self.no_ingress_from_gateway_classes.iter().any(|c| **c == *facts.workload.class);
            if gateway {
                ingress.allow(Some(namespace_peer(&self.ingress_namespace)), &ports);
            }
            for flow in into {
                let flow_ports: Ports = flow.ports.iter().map(|p| numbered(p, facts)).collect();
                for peer in self.peers(flow, facts, release, &by_id, gx) {
                    ingress.allow(peer, &flow_ports);
                }
            }
            let ns = facts.explicit_namespace.then_some(facts.namespace.as_ref()).flatten();
            let parsed = Selector::from_label_selector(&selector);
            let spec = object([
                ("podSelector", selector),
                ("policyTypes", json!(["Ingress"])),
                ("ingress", Value::Array(ingress.rules())),
            ]);
            // A second workload of the same name (a Deployment and a CronJob, say) gets its
            // kind in the name.
            let named = |name: String| policy(&name, ns, spec.clone());
            let mut object = named(format!("{}-temper-ingress", facts.id.name));
            if !gx.free(&object) {
                object = named(format!("{}-{}-temper-ingress", facts.id.name, facts.id.kind().to_ascii_lowercase()));
            }
            // No name free, while a policy added for a namespace this one may turn out to be
            // already selects its pods: as a check of the output will see it, it is governed.
            if !gx.free(&object) && gx.index.may_select(&selecting, &facts.namespace, labels, |_| true) {
                continue;
            }
            let waiver = facts.waiver(gx.rule);
            if gx.add(object, &facts.id, waiver, "no NetworkPolicy restricts ingress to this workload".into()) {
                added.insert(same_pods);
                if let Some(parsed) = parsed {
                    selecting.insert(facts.namespace.clone(), parsed, ());
                }
            } else if gx.fixes() {
                // Without its policy, a default-deny would cut it off.
                open.entry(facts.namespace.clone()).or_default().push(facts.id.to_string());
            }
        }
        if self.default_deny_egress {
            self.egress(gx, &by_id, &flows);
        }
        self.assumed_gateway(gx, &flows, &controllers);
        for flow in flows {
            gx.record_flow(flow);
        }
        for Target { namespace: ns, explicit } in
            gx.target_namespaces(&self.exclude_namespaces, "a default-deny NetworkPolicy")
        {
            let meta_ns = if explicit { ns.as_ref() } else { None };
            if let Some(workloads) = open.get(&ns) {
                let message = format!(
                    "no default-deny ingress policy added: it would cut off {}, which get no policy of their own (exempted from network-policy, no policy name was free, or no labels to select their pods by); give them one (or labels), or lift the exemption",
                    workloads.join(", ")
                );
                gx.refuse(&ResourceId::of_namespace(&ns), None, Pointer::root(), message);
                continue;
            }
            if gx.needs(&ns, gx.index.default_deny(&ns, false), "a default-deny ingress NetworkPolicy") {
                let spec = json!({"podSelector": {}, "policyTypes": ["Ingress"]});
                gx.add(
                    policy("temper-default-deny", meta_ns, spec),
                    &ResourceId::of_namespace(&ns),
                    None,
                    "namespace has no default-deny ingress policy".into(),
                );
            }
            if self.default_deny_egress
                && gx.needs(&ns, gx.index.default_deny(&ns, true), "a default-deny egress NetworkPolicy")
            {
                let dns = json!([{
                    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.dns_namespace}}}],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                }]);
                let spec = json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": dns});
                gx.add(
                    policy("temper-default-deny-egress", meta_ns, spec),
                    &ResourceId::of_namespace(&ns),
                    None,
                    "namespace has no default-deny egress policy".into(),
                );
            }
        }
    }
}

/// A named port as the number the workload's containers declare for it, when they do: the
/// policy then says what a reader can check against the Service.
fn numbered((port, protocol): &Port, facts: &WorkloadFacts) -> Port {
    let number = match port {
        PortRef::Name(name) => facts
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()) && *p.protocol == **protocol)
            .and_then(|p| p.port.as_i64()),
        PortRef::Number(_) => None,
    };
    (number.map_or_else(|| port.clone(), PortRef::Number), protocol.clone())
}

fn match_labels<const N: usize>(labels: [(&str, Value); N]) -> Value {
    object([("matchLabels", object(labels))])
}

/// Pods in the namespace named `ns`.
fn namespace_peer(ns: &str) -> Value {
    object([("namespaceSelector", match_labels([("kubernetes.io/metadata.name", Value::from(ns))]))])
}

/// Ingress rules, one per peer, each with the ports allowed from it.
/// Ports with their protocols.
type Ports = Vec<Port>;

#[derive(Default)]
struct Ingress {
    /// Each peer (`None`: every source) with its ports, in the order first seen.
    rules: Vec<(Option<Value>, Ports)>,
}

impl Ingress {
    fn allow(&mut self, peer: Option<Value>, ports: &[Port]) {
        let at = match self.rules.iter().position(|(p, _)| *p == peer) {
            Some(at) => at,
            None => {
                self.rules.push((peer, Vec::new()));
                self.rules.len() - 1
            }
        };
        let known = &mut self.rules[at].1;
        for port in ports {
            if !known.contains(port) {
                known.push(port.clone());
            }
        }
    }

    fn rules(self) -> Vec<Value> {
        self.rules
            .into_iter()
            .map(|(peer, ports)| {
                let ports = Value::Array(
                    ports
                        .into_iter()
                        .map(|(port, protocol)| {
                            let port = match port {
                                PortRef::Number(n) => Value::from(n),
                                PortRef::Name(name) => Value::from(name),
                            };
                            object([("port", port), ("protocol", Value::from(&*protocol))])
                        })
                        .collect(),
                );
                match peer {
                    Some(peer) => object([("from", Value::Array(vec![peer])), ("ports", ports)]),
                    // No `from`: every source, the API server and the world outside included.
                    None => object([("ports", ports)]),
                }
            })
            .collect()
    }
}

impl Params {
    /// Whether a workload is an ingress controller, by its images.
    fn is_ingress_controller(&self, facts: &WorkloadFacts) -> bool {
        facts.images.iter().any(|image| self.ingress_controllers.iter().any(|p| p.is_match(image)))
    }

    /// A flow with its source placed: traffic through a gateway comes from the ingress
    /// controllers in the stream and from `ingressNamespace`; scraping from `monitoringNamespace`
    /// and the namespaces of the stream's Prometheus servers.
    fn placed(&self, flow: &Flow, controllers: &[&WorkloadFacts], gx: &Gx<'_>) -> Vec<Flow> {
        let with = |from: Source| Flow { from, ..flow.clone() };
        match &flow.from {
            Source::Gateway => {
                let mut placed = vec![with(Source::Namespace { name: self.ingress_namespace.clone() })];
                for c in controllers.iter().filter(|c| c.id != flow.to) {
                    placed.push(with(Source::Workload { id: c.id.clone() }));
                }
                placed
            }
            Source::Monitoring => {
                let mut names = vec![self.monitoring_namespace.clone()];
                names.extend(gx.network.prometheus_namespaces.iter().flatten().cloned());
                names.sort();
                names.dedup();
                names.into_iter().map(|name| with(Source::Namespace { name })).collect()
            }
            _ => vec![flow.clone()],
        }
    }

    /// The peer a flow into `server` comes from, as a NetworkPolicy peer (`None`: every
    /// source); none when the pods of the server's own release, allowed already, open it.
    fn peers(
        &self,
        flow: &Flow,
        server: &WorkloadFacts,
        release: Option<&str>,
        by_id: &HashMap<&ResourceId, &WorkloadFacts>,
        gx: &Gx<'_>,
    ) -> Vec<Option<Value>> {
        let pods_of = |client: &WorkloadFacts| -> Option<Value> {
            let selector = client.selector()?;
            if gx.index.may_share(&client.namespace, &server.namespace) && client.namespace == server.namespace {
                return Some(object([("podSelector", selector)]));
            }
            let namespaces = match &client.namespace {
                Some(ns) => match_labels([("kubernetes.io/metadata.name", Value::from(ns.as_str()))]),
                // The release namespace, while unknown: any namespace.
                None => json!({}),
            };
            Some(object([("namespaceSelector", namespaces), ("podSelector", selector)]))
        };
        match &flow.from {
            Source::Workload { id, .. } => {
                let Some(client) = by_id.get(id) else { return Vec::new() };
                // A pod on the host network connects from its node's address, which no pod or
                // namespace selector matches.
                if client.host_network {
                    return vec![None];
                }
                let same_release = release.is_some()
                    && client.workload.pod_labels.value(RELEASE_LABEL) == release
                    && client.namespace == server.namespace;
                if same_release {
                    return Vec::new();
                }
                pods_of(client).into_iter().map(Some).collect()
            }
            Source::Namespace { name } => vec![Some(namespace_peer(name))],
            Source::ApiServer | Source::Outside => vec![None],
            // Placed before they get here.
            Source::Gateway | Source::Monitoring => Vec::new(),
        }
    }

    /// With `defaultDenyEgress`, each workload with outbound flows gets `<workload>-temper-egress`:
    /// to the pods of its own release, to every server it needs, and to the API server.
    fn egress(&self, gx: &mut Gx<'_>, by_id: &HashMap<&ResourceId, &WorkloadFacts>, flows: &[Flow]) {
        let mut outbound: HashMap<&ResourceId, Vec<&Flow>> = HashMap::new();
        for flow in flows {
            if let Source::Workload { id, .. } = &flow.from {
                outbound.entry(id).or_insert_with(|| Vec::with_capacity(1)).push(flow);
            }
        }
        for facts in gx.workloads {
            if facts.host_network || facts.namespace.as_ref().is_some_and(|n| self.exclude_namespaces.contains(n)) {
                continue;
            }
            let Some(selector) = facts.selector() else { continue };
            let mut egress = Ingress::default();
            if let Some(release) = facts.workload.pod_labels.value(RELEASE_LABEL) {
                egress.allow(Some(object([("podSelector", match_labels([(RELEASE_LABEL, Value::from(release))]))])), &[]);
            }
            for flow in outbound.get(&facts.id).into_iter().flatten() {
                let Some(server) = by_id.get(&flow.to) else { continue };
                let Some(pods) = server.selector() else { continue };
                let peer = if server.namespace == facts.namespace {
                    object([("podSelector", pods)])
                } else {
                    let namespaces = match &server.namespace {
                        Some(ns) => match_labels([("kubernetes.io/metadata.name", Value::from(ns.as_str()))]),
                        None => json!({}),
                    };
                    object([("namespaceSelector", namespaces), ("podSelector", pods)])
                };
                egress.allow(Some(peer), &flow.ports);
            }
            // The API server's address is the cluster's own: allowed by port.
            egress.allow(None, &[(PortRef::Number(443), "TCP".into()), (PortRef::Number(6443), "TCP".into())]);
            let rules: Vec<Value> = egress
                .rules()
                .into_iter()
                .map(|mut r| {
                    if let Some(map) = r.as_object_mut()
                        && let Some(from) = map.shift_remove("from")
                    {
                        map.insert("to".into(), from);
                    }
                    if r.get("ports").is_some_and(|p| p.as_array().is_some_and(Vec::is_empty))
                        && let Some(map) = r.as_object_mut()
                    {
                        map.shift_remove("ports");
                    }
                    r
                })
                .collect();
            let ns = facts.explicit_namespace.then_some(facts.namespace.as_ref()).flatten();
            let spec = object([("podSelector", selector), ("policyTypes", json!(["Egress"])), ("egress", Value::Array(rules))]);
            let object = policy(&format!("{}-temper-egress", facts.id.name), ns, spec);
            let waiver = facts.waiver(gx.rule);
            gx.add(object, &facts.id, waiver, "no NetworkPolicy allows the egress this workload needs".into());
        }
    }

    /// Routes through an ingress controller or gateway that is not in the stream are allowed
    /// from `ingressNamespace`, where temper assumes it runs: said once per namespace.
    fn assumed_gateway(&self, gx: &mut Gx<'_>, flows: &[Flow], controllers: &[&WorkloadFacts]) {
        if !controllers.is_empty() || !gx.network.routes {
            return;
        }
        let gateway = Source::Namespace { name: self.ingress_namespace.clone() };
        let mut namespaces: Vec<Option<String>> =
            flows.iter().filter(|f| f.from == gateway).map(|f| f.namespace.clone()).collect();
        namespaces.sort();
        namespaces.dedup();
        for ns in namespaces {
            let message = format!(
                "this stream routes traffic through Ingresses or routes, but no ingress controller is in it: temper allows that traffic from namespace `{}` (ingressNamespace); set ingressNamespace to where your ingress controller or gateway runs",
                self.ingress_namespace
            );
            gx.refuse(&ResourceId::of_namespace(&ns), None, Pointer::root(), message);
        }
    }
}
