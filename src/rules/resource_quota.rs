//! `resource-quota`: a ResourceQuota in every namespace the release deploys workloads to.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as corev1;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde::{Deserialize, Serialize};

use crate::object::ResourceId;

use super::{Gx, Rule, Target};

pub const DOC: &str = r#"Adds a ResourceQuota `temper-quota` to each namespace the stream deploys workloads to, unless the stream already has one there, and with it a LimitRange `temper-limits`.

## What it does
Collects the namespaces of the workloads in the stream (an object without a namespace goes to the release namespace) and adds one `ResourceQuota` named `temper-quota` to each, with the `hard` limits configured.
Namespaces that already get a ResourceQuota from the stream, and the system namespaces listed in `excludeNamespaces`, are skipped.
Every quota it adds comes with a `LimitRange` named `temper-limits` (unless the stream has a LimitRange there) whose container defaults are the `limitRange` size, the `app` size of the sizing table by default.

## Why
A quota on `requests.cpu` or `limits.memory` makes the API server reject every pod in the namespace that does not state those resources: pods temper never sees (Helm 3 hooks, which Helm does not post-render; other releases; pods operators create) would stop being admitted.
The LimitRange gives such pods defaults, so the quota cannot break them.
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
kind: LimitRange
metadata:
  name: temper-limits
  namespace: shop
  labels:
    app.kubernetes.io/created-by: temper
  annotations:
    temper.dev/rule: resource-quota
spec:
  limits:
  - type: Container
    default:
      cpu: 500m
      memory: 256Mi
    defaultRequest:
      cpu: 100m
      memory: 128Mi
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

## Refuses
- While the release namespace is unknown, no quota is added for it when it may turn out to be a namespace that has one (or gets one from temper): two quotas in one namespace would both apply. Pass `--namespace` to lift this.

## Parameters
- `name` (default `temper-quota`).
- `hard`: the quota (defaults above).
- `limitRangeName` (default `temper-limits`) and `limitRange`: the container defaults, as a size with `requests` (the LimitRange's `defaultRequest`) and `limits` (its `default`); the built-in `resource-sizing` overlay sets the `app` size.
- `excludeNamespaces` (default `[kube-system, kube-public, kube-node-lease]`).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub name: String,
    pub hard: BTreeMap<String, String>,
    pub limit_range_name: String,
    pub limit_range: Size,
    pub exclude_namespaces: Vec<String>,
}

/// Container defaults: `requests` and `limits` by resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Size {
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
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
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Params {
            name: "temper-quota".into(),
            hard: map(&hard),
            limit_range_name: "temper-limits".into(),
            limit_range: Size {
                requests: map(&[("cpu", "100m"), ("memory", "128Mi")]),
                limits: map(&[("cpu", "500m"), ("memory", "256Mi")]),
            },
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
            let about = ResourceId::of_namespace(&ns);
            if gx.add(object, &about, None, "namespace has no ResourceQuota".into())
                && gx.needs(&ns, gx.index.limit_range(&ns), "a LimitRange")
            {
                self.add_limit_range(gx, &ns, explicit);
            }
        }
    }
}

impl Params {
    /// The defaults that keep the quota from rejecting pods that state no resources.
    fn add_limit_range(&self, gx: &mut Gx<'_>, ns: &Option<String>, explicit: bool) {
        let quantities = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| (k.clone(), Quantity(v.clone()))).collect();
        let limits = corev1::LimitRange {
            metadata: metav1::ObjectMeta {
                name: Some(self.limit_range_name.clone()),
                namespace: if explicit { ns.clone() } else { None },
                ..Default::default()
            },
            spec: Some(corev1::LimitRangeSpec {
                limits: vec![corev1::LimitRangeItem {
                    type_: "Container".into(),
                    default_request: Some(quantities(&self.limit_range.requests)),
                    default: Some(quantities(&self.limit_range.limits)),
                    ..Default::default()
                }],
            }),
        };
        let Ok(object) = serde_json::to_value(&limits) else { return };
        let message = "the quota needs a LimitRange, or pods without requests and limits are rejected".into();
        gx.add(object, &ResourceId::of_namespace(ns), None, message);
    }
}
