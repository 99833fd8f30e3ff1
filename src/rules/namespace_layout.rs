//! `namespace-layout`: a release's data layer and application layer in one namespace.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::object::ResourceId;
use crate::pointer::Pointer;

use super::{Gx, Rule};

pub const DOC: &str = r#"Reports a namespace where the release runs both its data layer (databases, caches, queues) and its application layer.

## What it does
Per namespace of the stream's workloads (except `excludeNamespaces`), when workloads of a class in `dataClasses` and long-running workloads of any other class both run there, reports the namespace once, naming both sides.
Jobs and CronJobs do not count as the application layer: a migration Job beside its database is expected.
A workload exempted from this rule is left out of both sides.

## Why
The production guides keep data stores in namespaces of their own: quotas, NetworkPolicies, backups, access rights and upgrade windows then differ per layer, a runaway application cannot starve its database of quota, and a backup or restore of the data does not have to take the application with it.
Moving a component across namespaces is a chart change (values, Service names in connection strings), which is why this rule only reports.

## Example
```yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgresql
  namespace: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
```
gives `the data layer (StatefulSet/shop/postgresql: database) and the application layer (Deployment/shop/web) share namespace shop ...`.

## Parameters
- `dataClasses` (default `[database, cache, queue]`).
- `excludeNamespaces` (default `[kube-system, kube-public, kube-node-lease]`).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub data_classes: Vec<String>,
    pub exclude_namespaces: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            data_classes: ["database", "cache", "queue"].map(String::from).to_vec(),
            exclude_namespaces: ["kube-system", "kube-public", "kube-node-lease"].map(String::from).to_vec(),
        }
    }
}

impl Rule for Params {
    fn generate(&self, gx: &mut Gx<'_>) {
        // Per namespace: the data layer with its classes, and the application layer.
        let mut layers: BTreeMap<Option<String>, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for facts in gx.workloads {
            if facts.namespace.as_ref().is_some_and(|n| self.exclude_namespaces.contains(n))
                || facts.waiver(gx.rule).is_some()
            {
                continue;
            }
            let class = &facts.workload.class;
            let (data, app) = layers.entry(facts.namespace.clone()).or_default();
            if self.data_classes.iter().any(|c| **c == **class) {
                data.push(format!("{}: {class}", facts.id));
            } else if facts.workload.long_running {
                app.push(facts.id.to_string());
            }
        }
        for (ns, (data, app)) in layers {
            if data.is_empty() || app.is_empty() {
                continue;
            }
            let shown = ns.clone().or_else(|| gx.index.release_namespace.clone());
            let message = format!(
                "the data layer ({}) and the application layer ({}) share namespace {}: the production guides keep data stores in a namespace of their own, so that quotas, network policies, backups and access can differ; move the data stores to their own namespace (or release)",
                data.join(", "),
                app.join(", "),
                shown.as_deref().unwrap_or("(the release namespace)")
            );
            gx.violation(&ResourceId::of_namespace(&ns), None, Pointer::root(), message);
        }
    }
}
