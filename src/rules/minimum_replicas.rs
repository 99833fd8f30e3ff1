//! `minimum-replicas`: enough replicas that one pod going away is not an outage.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::pointer::Pointer;

use super::{Cx, Rule};

pub const DOC: &str = r#"Raises Deployments to at least 2 replicas (or raises their HorizontalPodAutoscaler's minimum).

## What it does
A Deployment with fewer than `replicas` replicas (an absent count is 1) is raised to `replicas`.
When a HorizontalPodAutoscaler in the stream scales the Deployment, the autoscaler owns the count: its `minReplicas` is raised instead, and the Deployment is left alone.
StatefulSets are reported, not changed, unless `fixStatefulSets` is set: adding members to a database or a quorum is a decision for its operator.
This is the one rule that changes a value the author set; it only ever raises, never lowers.
A Deployment explicitly scaled to 0 is reported and left at 0: that is a component switched off, not an oversight.

## Why
With one replica, every node drain, rollout or crash is downtime.
Two replicas, spread by `pod-anti-affinity` and protected by `pod-disruption-budget`, is the minimum production guides ask for.

## Example
```yaml before
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
```
```yaml after
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
```

## Refuses
A workload that cannot run twice is never scaled, and neither is its autoscaler's minimum; it is reported with the reason and the production practice instead:
- it mounts a `ReadWriteOnce` or `ReadWriteOncePod` claim (a second pod on another node cannot attach it; on the same node, two processes share one data directory), or a claim the stream does not define, whose access mode is unknown;
- it asks for `strategy: Recreate`, which says its pods must not run side by side;
- it is a single-writer store or controller not set up for replication (PostgreSQL, MySQL, Redis, RabbitMQ, etcd, MinIO, calico-kube-controllers and the like; the `single-writers` overlay lists them and how to recognise a replicated setup, and a `database`, `cache` or `queue` component counts too).

## Parameters
- `replicas` (default `2`).
- `fixStatefulSets` (default `false`).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub replicas: i64,
    pub fix_stateful_sets: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params { replicas: 2, fix_stateful_sets: false }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let n = self.replicas;
        let (group, kind) = (cx.id.group().to_string(), cx.id.shared_kind());
        if group == "autoscaling" && *kind == *"HorizontalPodAutoscaler" {
            return self.autoscaler(cx, obj);
        }
        if !matches!(group.as_str(), "apps" | "extensions") || !matches!(&*kind, "Deployment" | "StatefulSet") {
            return;
        }
        let ns = cx.index.namespace_of(obj);
        if cx.index.hpa_for(&ns, &kind, &cx.id.name).is_some() {
            return;
        }
        let ptr = Pointer::root().key("spec").key("replicas");
        let current = match obj.pointer(ptr.as_str()) {
            None | Some(Value::Null) => 1,
            Some(v) => match v.as_i64() {
                Some(c) => c,
                None => return cx.violation(ptr, "replicas is not an integer"),
            },
        };
        if current >= n {
            return;
        }
        if current == 0 {
            return cx.violation(ptr, "scaled to 0 replicas; left as it is");
        }
        if let Some(singleton) = cx.index.singleton(&ns, &kind, &cx.id.name) {
            let message = format!(
                "left at {current} replica(s) because it {}; production practice: {}",
                singleton.reason, singleton.practice
            );
            return cx.refuse(ptr, message);
        }
        if *kind == *"StatefulSet" && !self.fix_stateful_sets {
            return cx.violation(
                ptr,
                format!("StatefulSet has {current} replica(s), fewer than {n}; raise it in the chart"),
            );
        }
        let message = format!("{kind} has {current} replica(s), fewer than {n}");
        cx.replace(obj, &ptr, json!(n), &message);
    }
}

impl Params {
    fn autoscaler(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let n = self.replicas;
        let target = obj.pointer("/spec/scaleTargetRef/kind").and_then(Value::as_str).unwrap_or_default();
        if target != "Deployment" && !(target == "StatefulSet" && self.fix_stateful_sets) {
            return;
        }
        let min_ptr = Pointer::root().key("spec").key("minReplicas");
        let min = obj.pointer(min_ptr.as_str()).and_then(Value::as_i64).unwrap_or(1);
        let target_name = obj.pointer("/spec/scaleTargetRef/name").and_then(Value::as_str).unwrap_or_default();
        if min < n
            && let Some(singleton) = cx.index.singleton(&cx.index.namespace_of(obj), target, target_name)
        {
            let message = format!(
                "minReplicas left at {min} because {target} {target_name} {}; production practice: {}",
                singleton.reason, singleton.practice
            );
            return cx.refuse(min_ptr, message);
        }
        let max = obj.pointer("/spec/maxReplicas").and_then(Value::as_i64);
        if min >= n {
            return;
        }
        if max.is_some_and(|m| m < n) {
            return cx.violation(
                Pointer::root().key("spec").key("maxReplicas"),
                format!("maxReplicas is below {n}, so minReplicas cannot be raised"),
            );
        }
        cx.replace(obj, &min_ptr, json!(n), &format!("autoscaler minReplicas is {min}, fewer than {n}"));
    }
}
