//! `monitoring`: scrape targets for every metrics port, and day-one alerts per namespace.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::flows::{METRICS_PORT_NAMES, ServiceView};
use crate::object::ResourceId;
use crate::pointer::Pointer;
use crate::record::PortRef;
use crate::workload::{ContainerPort, WorkloadFacts};

use super::{Gx, Rule, Target};

pub const DOC: &str = r#"Adds a ServiceMonitor or PodMonitor for every workload that serves metrics, and a PrometheusRule with day-one alerts to every namespace the release runs in.

## What it does
Off until `labels` is set (`{}` turns it on without labels). Then:
- Every workload with a metrics port (a container port named `metrics` or `http-metrics`, or pods annotated `prometheus.io/scrape: "true"`, with `prometheus.io/port` when given) that no ServiceMonitor or PodMonitor of the stream scrapes gets one (`monitoring.coreos.com/v1`), labelled with `labels`:
  - a ServiceMonitor `<service>-temper` when a Service selects it and names the port that targets the metrics port: it selects the Service by its labels (without the chart and version labels, which change with every release), with an endpoint on that Service port;
  - else a PodMonitor `<workload>-temper` selecting its pods, with an endpoint on the container port (`port` by name, `portNumber` when the port has none).
  The path is `prometheus.io/path` when the pods give one, else Prometheus' `/metrics`.
- Every namespace the release's workloads run in (except `excludeNamespaces`) gets a PrometheusRule `temper-day-one-alerts` with `alerts`, each expression scoped to that namespace (`{namespace}` in an expression is the namespace's name). The built-in `operations` overlay's alerts are kubernetes-mixin's `KubePodCrashLooping`, `KubePodNotReady`, `KubeDeploymentReplicasMismatch`, `KubeStatefulSetReplicasMismatch` and `KubePersistentVolumeFillingUp` (critical and warning), from `alerts/apps_alerts.libsonnet` and `alerts/storage_alerts.libsonnet` of github.com/kubernetes-monitoring/kubernetes-mixin (master, 2026-08-06), with its default selectors `job="kube-state-metrics"` and `job="kubelet"`; and `KubernetesContainerOomKiller` from awesome-prometheus-alerts (kubernetes-mixin has no OOM alert).

NetworkPolicies from `network-policy` allow the scraping: ports named `metrics` or `http-metrics` and annotated pods are reached from `monitoringNamespace`.

## Why
Monitoring from day one: scrape targets and alerts for restarts, readiness, replica mismatches, OOM kills and filling volumes exist before the first incident, not after it.
The Prometheus Operator ignores `prometheus.io/scrape` annotations (a convention of some scrape configurations, not of Prometheus), and selects monitors and rules by label: kube-prometheus-stack selects only those labelled `release: <its release>` unless told otherwise, and ignores the rest without a word. That is why `labels` is a parameter.
kube-prometheus-stack ships kubernetes-mixin's rules cluster-wide; these copies are scoped to the release's namespaces, for Prometheus setups that do not, and so that a team sees its own.

## Example
With `labels: {release: kube-prometheus-stack}, alerts: []`:
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
    spec:
      containers:
      - name: api
        image: example/api:1.0
        ports:
        - name: metrics
          containerPort: 9090
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
    spec:
      containers:
      - name: api
        image: example/api:1.0
        ports:
        - name: metrics
          containerPort: 9090
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: api-temper
  labels:
    release: kube-prometheus-stack
    app.kubernetes.io/created-by: temper
  annotations:
    temper.dev/rule: monitoring
spec:
  selector:
    matchLabels:
      app: api
  podMetricsEndpoints:
  - port: metrics
```

## Refuses
- No PrometheusRule for the release namespace while temper was not told its name: alerts are scoped by the namespace's name. Pass `--namespace`.

## Parameters
- `labels` (default `null`: the rule does nothing): labels on every monitor and rule, such as `{release: kube-prometheus-stack}`.
- `interval` (default `null`: Prometheus' scrape interval).
- `ruleName` (default `temper-day-one-alerts`).
- `alerts` (default `[]`; the built-in `operations` overlay sets the ones above): `alert`, `expr`, `for`, `severity`, `summary`.
- `excludeNamespaces` (default `[kube-system, kube-public, kube-node-lease]`).

## Not fixed
- Prometheus must look in the release's namespaces (`serviceMonitorNamespaceSelector` and its `podMonitor` and `rule` equivalents; null means only Prometheus' own namespace).
- A metrics port behind TLS or authentication needs `scheme`, `tlsConfig` or credentials on the endpoint.
"#;

/// One alerting rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alert {
    pub alert: String,
    /// PromQL; `{namespace}` is replaced by the namespace's name.
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub severity: String,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub labels: Option<BTreeMap<String, String>>,
    pub interval: Option<String>,
    pub rule_name: String,
    pub alerts: Vec<Alert>,
    pub exclude_namespaces: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            labels: None,
            interval: None,
            rule_name: "temper-day-one-alerts".into(),
            alerts: Vec::new(),
            exclude_namespaces: ["kube-system", "kube-public", "kube-node-lease"].map(String::from).to_vec(),
        }
    }
}

/// Labels that change with every release of a chart: a monitor must not select by them.
const VOLATILE_LABELS: &[&str] = &["helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "chart", "heritage"];

/// A Go duration as Prometheus and Kubernetes spell them: `30s`, `1m30s`, `15m`.
fn duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ms", "y", "w", "d", "h", "m", "s"].into_iter().find(|u| rest.starts_with(u));
        let Some(unit) = unit else { return false };
        rest = &rest[unit.len()..];
    }
    true
}

impl Rule for Params {
    fn validate(&self) -> Result<(), String> {
        if let Some(i) = &self.interval
            && !duration(i)
        {
            return Err(format!("interval: `{i}` is not a duration such as 30s or 1m"));
        }
        for (n, a) in self.alerts.iter().enumerate() {
            if a.alert.trim().is_empty() || a.expr.trim().is_empty() {
                return Err(format!("alerts[{n}]: an alert needs `alert` and `expr`"));
            }
            if !duration(&a.for_) {
                return Err(format!("alerts[{n}].for: `{}` is not a duration such as 15m", a.for_));
            }
        }
        Ok(())
    }

    fn generate(&self, gx: &mut Gx<'_>) {
        let Some(labels) = &self.labels else { return };
        let labels: Map<String, Value> = labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let excluded = |ns: &Option<String>| ns.as_ref().is_some_and(|n| self.exclude_namespaces.contains(n));
        for facts in gx.workloads {
            if excluded(&facts.namespace) || gx.inferred.monitored.contains(&facts.id) {
                continue;
            }
            let Some(port) = metrics_port(facts) else { continue };
            let services = gx.inferred.services.get(&facts.id).map(Vec::as_slice).unwrap_or_default();
            let object = match service_endpoint(services, &port) {
                Some((service, service_port, selector)) => {
                    self.service_monitor(facts, service, &service_port, selector, &labels)
                }
                None => match self.pod_monitor(facts, &port, &labels) {
                    Some(o) => o,
                    None => continue,
                },
            };
            // One Service in front of several workloads: its monitor is added once.
            if !gx.free(&object) && object["kind"] == "ServiceMonitor" {
                continue;
            }
            let message = "no ServiceMonitor or PodMonitor scrapes its metrics port".to_string();
            gx.add(object, &facts.id, facts.waiver(gx.rule), message);
        }
        if self.alerts.is_empty() {
            return;
        }
        for Target { namespace: ns, explicit } in gx.target_namespaces(&self.exclude_namespaces, "a PrometheusRule") {
            let Some(name) = ns.clone() else {
                let message = "no PrometheusRule with day-one alerts for the release namespace: its alerts are scoped by the namespace's name, which temper was not told; pass the release namespace with --namespace (Helm: --post-renderer-args --namespace=NAMESPACE)".to_string();
                gx.refuse(&ResourceId::of_namespace(&ns), None, Pointer::root(), message);
                continue;
            };
            let rules: Vec<Value> = self
                .alerts
                .iter()
                .map(|a| {
                    let mut rule = json!({
                        "alert": a.alert,
                        "expr": a.expr.replace("{namespace}", &name),
                        "for": a.for_,
                        "labels": {"severity": a.severity},
                    });
                    if let Some(summary) = &a.summary {
                        rule["annotations"] = json!({"summary": summary});
                    }
                    rule
                })
                .collect();
            let metadata = if explicit {
                json!({"name": self.rule_name, "namespace": name, "labels": labels})
            } else {
                json!({"name": self.rule_name, "labels": labels})
            };
            let object = json!({
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": metadata,
                "spec": {"groups": [{"name": format!("{}.{name}", self.rule_name), "rules": rules}]},
            });
            if !gx.free(&object) {
                continue;
            }
            gx.add(object, &ResourceId::of_namespace(&ns), None, "namespace has no day-one alerts".into());
        }
    }
}

/// A metrics port: (its name, its number).
#[derive(Clone, Debug, PartialEq, Eq)]
struct MetricsPort {
    name: Option<String>,
    number: Option<i64>,
}

/// The workload's metrics port: the `prometheus.io/port` of annotated pods, else the first
/// container port named like one.
fn metrics_port(facts: &WorkloadFacts) -> Option<MetricsPort> {
    let number = |p: &ContainerPort| p.port.as_i64().or_else(|| p.port.as_str().and_then(|s| s.parse().ok()));
    let named = facts.ports.iter().find(|p| p.name.as_deref().is_some_and(|n| METRICS_PORT_NAMES.contains(&n)));
    match facts.scrape() {
        Some(Some(annotated)) => {
            let declared = facts.ports.iter().find(|p| number(p) == Some(annotated));
            Some(MetricsPort { name: declared.and_then(|p| p.name.as_deref().map(str::to_string)), number: Some(annotated) })
        }
        _ => named.map(|p| MetricsPort { name: p.name.as_deref().map(str::to_string), number: number(p) }),
    }
}

/// The Service port that targets `port`, with the Service and the labels to select it by.
fn service_endpoint<'a>(
    services: &'a [Arc<ServiceView>],
    port: &MetricsPort,
) -> Option<(&'a ServiceView, String, Map<String, Value>)> {
    services.iter().find_map(|s| {
        let selector: Map<String, Value> =
            s.labels.iter().filter(|(k, _)| !VOLATILE_LABELS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        if selector.is_empty() {
            return None;
        }
        let (name, _, _, _) = s.ports.iter().find(|(name, _, target, _)| {
            name.is_some()
                && match target {
                    PortRef::Name(t) => port.name.as_deref() == Some(t.as_str()),
                    PortRef::Number(n) => port.number == Some(*n),
                }
        })?;
        Some((&**s, name.as_deref()?.to_string(), selector))
    })
}

impl Params {
    fn metadata(&self, name: String, facts: &WorkloadFacts, labels: &Map<String, Value>) -> Value {
        match facts.namespace.as_ref().filter(|_| facts.explicit_namespace) {
            Some(ns) => json!({"name": name, "namespace": ns, "labels": labels}),
            None => json!({"name": name, "labels": labels}),
        }
    }

    fn endpoint(&self, facts: &WorkloadFacts, mut endpoint: Value) -> Value {
        if let Some(path) = facts.scrape_path() {
            endpoint["path"] = json!(path);
        }
        if let Some(interval) = &self.interval {
            endpoint["interval"] = json!(interval);
        }
        endpoint
    }

    fn service_monitor(
        &self,
        facts: &WorkloadFacts,
        service: &ServiceView,
        port: &str,
        selector: Map<String, Value>,
        labels: &Map<String, Value>,
    ) -> Value {
        json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": self.metadata(format!("{}-temper", service.name), facts, labels),
            "spec": {
                "selector": {"matchLabels": selector},
                "endpoints": [self.endpoint(facts, json!({"port": port}))],
            },
        })
    }

    fn pod_monitor(&self, facts: &WorkloadFacts, port: &MetricsPort, labels: &Map<String, Value>) -> Option<Value> {
        let selector = facts.selector()?;
        let endpoint = match (&port.name, port.number) {
            (Some(name), _) => json!({"port": name}),
            (None, Some(n)) => json!({"portNumber": n}),
            (None, None) => return None,
        };
        Some(json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": self.metadata(format!("{}-temper", facts.id.name), facts, labels),
            "spec": {
                "selector": selector,
                "podMetricsEndpoints": [self.endpoint(facts, endpoint)],
            },
        }))
    }
}
