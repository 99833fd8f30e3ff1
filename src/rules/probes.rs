//! `probes`: long-running containers say when they are ready and when they are stuck.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports long-running containers without a readiness or a liveness probe.

## What it does
For workloads that run continuously (not Jobs, CronJobs or run-to-completion Pods), every regular container without `readinessProbe`, and every one without `livenessProbe`, is reported.
Init containers are not checked.

## Why
Without a readiness probe a Service sends traffic to a pod that is still starting; without a liveness probe a deadlocked process is never restarted.
A probe has to call the application's own health endpoint, which a post-renderer cannot know, so this rule only reports.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web          # reported: /spec/template/spec/containers/0/readinessProbe and .../livenessProbe
        image: example/web:1.0
```

## Parameters
- `readiness` (default `true`) and `liveness` (default `true`): which probes to require.
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub readiness: bool,
    pub liveness: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params { readiness: true, liveness: true }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        if !w.long_running {
            return;
        }
        let spec = w.spec.clone();
        for slot in containers(obj, &spec, false).into_iter().filter(|s| s.list == "containers") {
            let Some(c) = slot.get(obj) else { continue };
            let missing: Vec<&str> = [("readinessProbe", self.readiness), ("livenessProbe", self.liveness)]
                .into_iter()
                .filter(|(probe, wanted)| *wanted && c.get(*probe).is_none_or(Value::is_null))
                .map(|(probe, _)| probe)
                .collect();
            for probe in missing {
                cx.violation(slot.ptr.key(probe), format!("container `{}` has no {probe}", slot.name));
            }
        }
    }
}
