//! `resource-quota`: a ResourceQuota in every namespace the release deploys workloads to.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as corev1;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde::{Deserialize, Serialize};

use crate::object::ResourceId;

use super::{Gx, Rule, Target};

pub const DOC: &str = r#"Adds a ResourceQuota `temper-quota` to each namespace the stream deploys workloads to, unless the stream already has one there.

## What it does
Collects the namespaces of the workloads in the stream (an object without a namespace goes to the release namespace) and adds one `ResourceQuota` named `temper-quota` to each, with the `hard` limits configured.
Namespaces that already get a ResourceQuota from the stream, and the system namespaces listed in `excludeNamespaces`, are skipped.

## Why
A quota caps what one team or release can take from a shared cluster, so a runaway rollout or a leak cannot starve its neighbours.
It also makes the scheduler reject pods without requests and limits in that namespace once a quota on them exists.

## Example
```yaml before
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: shop
spec:
  containers:
  - name: app
    image: example/app:1.0
```
```yaml after
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: shop
spec:
  containers:
  - name: app
    image: example/app:1.0
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: temper-quota
  namespace: shop
  labels:
    app.kubernetes.io/created-by: temper
  annotations:
    temper.dev/rule: resource-quota
spec:
  hard:
    limits.cpu: "16"
    limits.memory: 32Gi
    persistentvolumeclaims: "10"
    pods: "50"
    requests.cpu: "8"
    requests.memory: 16Gi
    services: "10"
```

## Parameters
- `name` (default `temper-quota`).
- `hard`: the quota (defaults above).
- `excludeNamespaces` (default `[kube-system, kube-public, kube-node-lease]`).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub name: String,
    pub hard: BTreeMap<String, String>,
    pub exclude_namespaces: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        let hard = [
            ("requests.cpu", "8"),
            ("requests.memory", "16Gi"),
            ("limits.cpu", "16"),
            ("limits.memory", "32Gi"),
            ("pods", "50"),
            ("services", "10"),
            ("persistentvolumeclaims", "10"),
        ];
        Params {
            name: "temper-quota".into(),
            hard: hard.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            exclude_namespaces: ["kube-system", "kube-public", "kube-node-lease"].map(String::from).to_vec(),
        }
    }
}

impl Rule for Params {
    fn generate(&self, gx: &mut Gx<'_>) {
        for Target { namespace: ns, explicit } in gx.target_namespaces(&self.exclude_namespaces, "a ResourceQuota") {
            if !gx.needs(&ns, gx.index.quota(&ns), "a ResourceQuota") {
                continue;
            }
            let quota = corev1::ResourceQuota {
                metadata: metav1::ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: if explicit { ns.clone() } else { None },
                    ..Default::default()
                },
                spec: Some(corev1::ResourceQuotaSpec {
                    hard: Some(self.hard.iter().map(|(k, v)| (k.clone(), Quantity(v.clone()))).collect()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let Ok(object) = serde_json::to_value(&quota) else { continue };
            let about = ResourceId::namespace(&ns);
            gx.add(object, &about, None, "namespace has no ResourceQuota".into());
        }
    }
}
