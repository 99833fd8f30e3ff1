//! `network-policy`: default-deny ingress per namespace, and an allow policy per workload.


use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::object::ResourceId;
use crate::select::{Selector, SelectorSet};

use super::{Gx, Rule, Target};

pub const DOC: &str = r#"Adds NetworkPolicies: a default-deny for ingress in each namespace, and for each workload with ports, a policy allowing only the traffic it should get.

## What it does
- Per target namespace (where the stream's workloads run), a `temper-default-deny` NetworkPolicy selecting every pod with no ingress rule, unless the stream already has a default-deny there.
- Per workload with container ports that no NetworkPolicy in the stream already governs, `<workload>-temper-ingress`, allowing its ports:
  - from pods of the same release (same `app.kubernetes.io/instance` label), or from the same namespace when the workload has no such label;
  - and, for workloads behind a Service that are not of class `database`, `cache` or `queue`, from the ingress controller's namespace (`ingressNamespace`, matched by `kubernetes.io/metadata.name`).
- With `defaultDenyEgress`, also `temper-default-deny-egress`, which denies egress except DNS to `kube-system`.

Workloads on the host network are skipped: NetworkPolicies do not apply to them.
System namespaces (`excludeNamespaces`) are skipped.

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
- `ingressNamespace` (default `gateway-system`).
- `noIngressFromGatewayClasses` (default `[database, cache, queue]`): back-end components that are never reached from the gateway.
- `defaultDenyEgress` (default `false`), `dnsNamespace` (default `kube-system`).
- `excludeNamespaces` (default `[kube-system, kube-public, kube-node-lease]`).
"#;

const RELEASE_LABEL: &str = "app.kubernetes.io/instance";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub ingress_namespace: String,
    pub no_ingress_from_gateway_classes: Vec<String>,
    pub default_deny_egress: bool,
    pub dns_namespace: String,
    pub exclude_namespaces: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            ingress_namespace: "gateway-system".into(),
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
        // Policies added in this run count as existing ones for the workloads that follow.
        let mut added: SelectorSet<()> = SelectorSet::default();
        for facts in gx.workloads {
            if excluded(&facts.namespace) || facts.host_network {
                continue;
            }
            let labels = &facts.workload.pod_labels;
            let covered = gx.index.may_select(&added, &facts.namespace, labels, |_| true);
            if facts.ports.is_empty() || covered || gx.index.network_policy_selects(&facts.namespace, labels) {
                continue;
            }
            let Some(selector) = facts.selector() else { continue };
            let ports: Vec<Value> = facts
                .ports
                .iter()
                .map(|(port, proto)| object([("port", port.clone()), ("protocol", Value::from(proto.as_str()))]))
                .collect();
            let peer = match facts.workload.pod_labels.get(RELEASE_LABEL) {
                Some(release) => {
                    object([("podSelector", object([("matchLabels", object([(RELEASE_LABEL, release.clone())]))]))])
                }
                None => json!({"podSelector": {}}),
            };
            let rule = |from: Value, ports: Vec<Value>| {
                object([("from", Value::Array(vec![from])), ("ports", Value::Array(ports))])
            };
            let gateway = gx.index.service_selects(&facts.namespace, &facts.workload.pod_labels)
                && !self.no_ingress_from_gateway_classes.contains(&facts.workload.class);
            let mut ingress = vec![rule(peer, ports.clone())];
            if gateway {
                let from = json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.ingress_namespace}}});
                ingress.push(rule(from, ports));
            }
            let ns = facts.explicit_namespace.then_some(facts.namespace.as_ref()).flatten();
            let parsed = Selector::from_label_selector(&selector);
            let spec = object([
                ("podSelector", selector),
                ("policyTypes", json!(["Ingress"])),
                ("ingress", Value::Array(ingress)),
            ]);
            let object = policy(&format!("{}-temper-ingress", facts.id.name), ns, spec);
            let waiver = facts.waiver(gx.rule);
            if gx.add(object, &facts.id, waiver, "no NetworkPolicy restricts ingress to this workload".into())
                && let Some(sel) = parsed
            {
                added.insert(facts.namespace.clone(), sel, ());
            }
        }
        for Target { namespace: ns, explicit } in
            gx.target_namespaces(&self.exclude_namespaces, "a default-deny NetworkPolicy")
        {
            let meta_ns = if explicit { ns.as_ref() } else { None };
            if gx.needs(&ns, gx.index.default_deny(&ns, false), "a default-deny ingress NetworkPolicy") {
                let spec = json!({"podSelector": {}, "policyTypes": ["Ingress"]});
                gx.add(
                    policy("temper-default-deny", meta_ns, spec),
                    &ResourceId::namespace(&ns),
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
                    &ResourceId::namespace(&ns),
                    None,
                    "namespace has no default-deny egress policy".into(),
                );
            }
        }
    }
}
