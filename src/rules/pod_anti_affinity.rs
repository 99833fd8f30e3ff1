//! `pod-anti-affinity`: spread the replicas of a workload over nodes.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Cx, Rule};

pub const DOC: &str = r#"Spreads the replicas of multi-replica Deployments and StatefulSets across nodes with a preferred pod anti-affinity.

## What it does
For a Deployment or StatefulSet with 2 or more replicas (after `minimum-replicas`, or scaled by an autoscaler) and no `affinity.podAntiAffinity`, adds a preferred anti-affinity term: weight 100, topology key `kubernetes.io/hostname`, label selector equal to the workload's selector.
With `zoneSpread`, also adds a `topologySpreadConstraints` entry over `topology.kubernetes.io/zone` (`maxSkew: 1`, `ScheduleAnyway`) when the pod has none.

## Why
Two replicas on one node fail together.
A *preferred* rule spreads them without making pods unschedulable on small clusters, which a required rule would.

## Example
```yaml before
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: example/web:1.0
```
```yaml after
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: example/web:1.0
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  app: web
```

## Refuses
Nothing: it adds only *preferred* terms (and `ScheduleAnyway` spreads), which the scheduler may ignore, so a pod is never left unschedulable on a small or single-zone cluster.

## Parameters
- `weight` (default `100`), `topologyKey` (default `kubernetes.io/hostname`).
- `zoneSpread` (default `false`), `zoneTopologyKey` (default `topology.kubernetes.io/zone`).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub weight: i64,
    pub topology_key: String,
    pub zone_spread: bool,
    pub zone_topology_key: String,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            weight: 100,
            topology_key: "kubernetes.io/hostname".into(),
            zone_spread: false,
            zone_topology_key: "topology.kubernetes.io/zone".into(),
        }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        if !matches!(&*w.kind, "Deployment" | "StatefulSet") {
            return;
        }
        let Some(selector) = w.selector.clone() else { return };
        let ns = cx.index.namespace_of(obj);
        let multi = match cx.index.hpa_for(&ns, &w.kind, &cx.id.name) {
            Some(hpa) => hpa.max_replicas.unwrap_or(1) >= 2,
            None => w.replicas(obj).unwrap_or(1) >= 2,
        };
        if !multi {
            return;
        }
        let spec = w.spec.clone();
        let term = json!([{
            "weight": self.weight,
            "podAffinityTerm": {"topologyKey": self.topology_key, "labelSelector": selector},
        }]);
        let anti = spec.key("affinity").key("podAntiAffinity");
        if obj.pointer(anti.as_str()).is_none_or(Value::is_null) {
            cx.fill(obj, &anti.key("preferredDuringSchedulingIgnoredDuringExecution"), term);
        }
        if self.zone_spread {
            let spread = json!([{
                "maxSkew": 1,
                "topologyKey": self.zone_topology_key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": selector,
            }]);
            cx.fill(obj, &spec.key("topologySpreadConstraints"), spread);
        }
    }
}
