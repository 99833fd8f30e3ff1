//! `pod-disruption-budget`: a PodDisruptionBudget for every replicated workload.

use k8s_openapi::api::policy::v1 as policyv1;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pointer::Pointer;
use crate::select::{Selector, SelectorSet};

use super::{Gx, Rule};

pub const DOC: &str = r#"Adds a PodDisruptionBudget for each Deployment and StatefulSet running 2 or more replicas.

## What it does
For each Deployment or StatefulSet with at least 2 replicas (counted after `minimum-replicas`; for an autoscaled workload, the autoscaler's minimum) that no PodDisruptionBudget in the stream already selects, adds a `policy/v1` PodDisruptionBudget named `<workload>-temper` with `minAvailable: 1` and the workload's selector.
Workloads with fewer than 2 replicas are reported instead.

## Why
Without a budget, a node drain or cluster upgrade may evict every replica at once.
With a single replica, `minAvailable: 1` would block drains forever, which is why those are reported rather than given a budget.

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
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web-temper
  labels:
    app.kubernetes.io/created-by: temper
  annotations:
    temper.dev/rule: pod-disruption-budget
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: web
```

## Refuses
- A workload that cannot run more than once (see `minimum-replicas`) gets no budget: it runs one pod, and a budget over one pod blocks every node drain.
- `minAvailable` is never at or above the workload's smallest replica count (its autoscaler's minimum when one targets it): a higher configured value is lowered to one less than that count, so a drain can always evict a pod.
- No budget is added for pods another budget may already select (two budgets over one pod make every eviction fail).

## Parameters
- `minAvailable` (default `1`): a count or a percentage such as `"50%"`.
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub min_available: Value,
}

impl Default for Params {
    fn default() -> Params {
        Params { min_available: Value::from(1) }
    }
}

impl Params {
    /// `minAvailable` for a workload that never runs fewer than `replicas` pods: as configured,
    /// but always below `replicas`, so that one pod can always be evicted and drains proceed.
    fn min_available_for(&self, replicas: i64) -> IntOrString {
        let configured = match &self.min_available {
            Value::String(s) => match s.strip_suffix('%').and_then(|p| p.trim().parse::<i64>().ok()) {
                // Kubernetes rounds a percentage of pods up.
                Some(percent) => (percent * replicas + 99) / 100,
                None => return IntOrString::String(s.clone()),
            },
            v => v.as_i64().unwrap_or(1),
        };
        if configured < replicas {
            match &self.min_available {
                Value::String(s) => IntOrString::String(s.clone()),
                _ => IntOrString::Int(i32::try_from(configured).unwrap_or(1)),
            }
        } else {
            IntOrString::Int(i32::try_from(replicas - 1).unwrap_or(1))
        }
    }
}

impl Rule for Params {
    fn generate(&self, gx: &mut Gx<'_>) {
        // Budgets added in this run count as existing ones for the workloads that follow.
        let mut added: SelectorSet<()> = SelectorSet::default();
        for facts in gx.workloads {
            let w = &facts.workload;
            if !matches!(&*w.kind, "Deployment" | "StatefulSet")
                || !matches!(facts.id.group(), "apps" | "extensions")
            {
                continue;
            }
            let covered = gx.index.may_select(&added, &facts.namespace, &w.pod_labels, |_| true);
            if covered || gx.index.pdb_selects(&facts.namespace, &w.pod_labels) {
                continue;
            }
            let waiver = facts.waiver(gx.rule);
            if let Some(singleton) = gx.index.singleton(&facts.namespace, &w.kind, &facts.id.name) {
                let message = format!(
                    "no PodDisruptionBudget because it {}: it runs one pod, and a budget over one pod blocks every node drain; production practice: {}",
                    singleton.reason, singleton.practice
                );
                gx.refuse(&facts.id, waiver, Pointer::root().key("spec").key("replicas"), message);
                continue;
            }
            // An autoscaler in the stream owns the count: its minimum is what a drain meets.
            let replicas = match gx.index.hpa_for(&facts.namespace, &w.kind, &facts.id.name) {
                Some(hpa) => hpa.min_replicas.unwrap_or(1),
                None => facts.replicas.unwrap_or(1),
            };
            if replicas < 2 {
                gx.violation(
                    &facts.id,
                    waiver,
                    Pointer::root().key("spec").key("replicas"),
                    format!("{replicas} replica(s): no PodDisruptionBudget, which would block node drains"),
                );
                continue;
            }
            let Some(selector_value) = facts.selector() else { continue };
            let Ok(selector) = serde_json::from_value::<metav1::LabelSelector>(selector_value.clone()) else {
                continue;
            };
            let pdb = policyv1::PodDisruptionBudget {
                metadata: metav1::ObjectMeta {
                    name: Some(format!("{}-temper", facts.id.name)),
                    namespace: facts.explicit_namespace.then(|| facts.namespace.clone()).flatten(),
                    ..Default::default()
                },
                spec: Some(policyv1::PodDisruptionBudgetSpec {
                    min_available: Some(self.min_available_for(replicas)),
                    selector: Some(selector),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let Ok(object) = serde_json::to_value(&pdb) else { continue };
            let message = "no PodDisruptionBudget selects this workload".to_string();
            if gx.add(object, &facts.id, waiver, message)
                && let Some(sel) = Selector::from_label_selector(&selector_value)
            {
                added.insert(facts.namespace.clone(), sel, ());
            }
        }
    }
}
