//! `resource-requirements`: CPU and memory requests and limits for every container, sized by
//! the workload's component class.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::quantity;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Gives every container CPU and memory requests and limits, sized by what the workload is (app, engine, database, cache, queue, job, scheduler).

## What it does
For every container and init container, each of `requests.cpu`, `requests.memory`, `limits.cpu` and `limits.memory` that is absent is filled from a sizing table keyed by component class.
The class comes from the `app.kubernetes.io/component` label, then the `component` label, then name patterns (configured as `classes` in an overlay), then the kind (Jobs and CronJobs are `job`), else `app`.

Values are never lowered:
- a filled request never exceeds an explicit limit, and when only a limit is set the request is filled with that limit (Kubernetes already uses the limit as the request, so anything lower would shrink the pod's guarantee);
- a filled limit is never below an explicit request.

Ephemeral containers are skipped: the API forbids resources on them.

## Why
Without requests the scheduler packs pods blindly and the pod lands in the BestEffort QoS class, first to be evicted; without a memory limit one leaking container can push a node into out-of-memory kills.
Production guides size these per component; the defaults here follow that practice:

| class | cpu request | cpu limit | memory request | memory limit |
|---|---|---|---|---|
| app | 100m | 500m | 128Mi | 256Mi |
| engine | 500m | 2 | 512Mi | 1536Mi |
| database | 250m | 1 | 1Gi | 2Gi |
| cache | 100m | 500m | 128Mi | 256Mi |
| queue | 250m | 1 | 512Mi | 1Gi |
| job | 250m | 1 | 512Mi | 1Gi |
| scheduler | 500m | 2 | 1536Mi | 4Gi |

## Example
```yaml before
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/component: app
    spec:
      containers:
      - name: web
        image: example/web:1.0
        resources:
          limits:
            memory: 64Mi
```
```yaml after
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels:
        app.kubernetes.io/component: app
    spec:
      containers:
      - name: web
        image: example/web:1.0
        resources:
          limits:
            memory: 64Mi
            cpu: 500m
          requests:
            cpu: 100m
            memory: 64Mi
```

## Refuses
Nothing: it fills only requests and limits a container does not state, never lowering or raising one the author set. Where the author set one of a pair, the other is filled so that the request never exceeds the limit, which the API server would reject: a missing request takes the limit (as Kubernetes itself defaults it), a missing limit is at least the request.

## Parameters
- `sizes`: per class, `requests` and `limits` with `cpu` and `memory`. A `null` value leaves that field unset (for example no CPU limits).
- `defaultClass` (default `app`): the size used for a class missing from `sizes`.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pair {
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Size {
    pub requests: Pair,
    pub limits: Pair,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub sizes: BTreeMap<String, Size>,
    pub default_class: String,
}

impl Default for Params {
    fn default() -> Params {
        let size = |cr: &str, cl: &str, mr: &str, ml: &str| Size {
            requests: Pair { cpu: Some(cr.into()), memory: Some(mr.into()) },
            limits: Pair { cpu: Some(cl.into()), memory: Some(ml.into()) },
        };
        let sizes = [
            ("app", size("100m", "500m", "128Mi", "256Mi")),
            ("engine", size("500m", "2", "512Mi", "1536Mi")),
            ("database", size("250m", "1", "1Gi", "2Gi")),
            ("cache", size("100m", "500m", "128Mi", "256Mi")),
            ("queue", size("250m", "1", "512Mi", "1Gi")),
            ("job", size("250m", "1", "512Mi", "1Gi")),
            ("scheduler", size("500m", "2", "1536Mi", "4Gi")),
        ];
        Params { sizes: sizes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), default_class: "app".into() }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let spec = w.spec.clone();
        let Some(size) = self.sizes.get(&*w.class).or_else(|| self.sizes.get(&self.default_class)) else { return };
        let size = size.clone();
        for slot in containers(obj, &spec, false) {
            let res = slot.ptr.key("resources");
            // Requests first, then limits, as charts usually write them.
            let (mut requests, mut limits) = (Vec::new(), Vec::new());
            for (resource, request, limit) in
                [("cpu", &size.requests.cpu, &size.limits.cpu), ("memory", &size.requests.memory, &size.limits.memory)]
            {
                let req_ptr = res.key("requests").key(resource);
                let lim_ptr = res.key("limits").key(resource);
                let current =
                    |ptr: &crate::pointer::Pointer| obj.pointer(ptr.as_str()).filter(|v| !v.is_null()).cloned();
                let (req, lim) = (current(&req_ptr), current(&lim_ptr));
                let mut bad = false;
                for (value, ptr) in [(&req, &req_ptr), (&lim, &lim_ptr)] {
                    if let Some(v) = value
                        && quantity::parse(v).is_none()
                    {
                        let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        cx.violation(ptr.clone(), format!("`{text}` is not a valid quantity"));
                        bad = true;
                    }
                }
                if bad {
                    continue;
                }
                let bigger = |a: &Value, b: &Value| quantity::parse(a) > quantity::parse(b);
                let new_req = match (&req, &lim, request) {
                    (Some(_), _, _) => None,
                    (None, Some(l), _) => Some(l.clone()),
                    (None, None, Some(d)) => Some(json!(d)),
                    (None, None, None) => None,
                };
                let new_lim = match (&lim, limit) {
                    (Some(_), _) | (None, None) => None,
                    (None, Some(d)) => {
                        let floor = req.clone().or_else(|| new_req.clone());
                        Some(match floor {
                            Some(f) if bigger(&f, &json!(d)) => f,
                            _ => json!(d),
                        })
                    }
                };
                requests.extend(new_req.map(|v| (req_ptr, v)));
                limits.extend(new_lim.map(|v| (lim_ptr, v)));
            }
            for (ptr, value) in requests.into_iter().chain(limits) {
                cx.fill(obj, &ptr, value);
            }
        }
    }
}
