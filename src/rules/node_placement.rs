//! `node-placement`: node selectors and tolerations per component class.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Cx, Rule};

pub const DOC: &str = r#"Places workloads of chosen component classes on chosen nodes, for example jobs on a lower-cost node pool.

## What it does
For a workload whose class has an entry in `classes`, fills `nodeSelector` and `tolerations` of the pod spec when they are absent.
Off in the built-in environments, since node pools are specific to each cluster.

## Why
Batch jobs and schedulers tolerate interruption and can run on spot or preemptible capacity; databases should not.
Doing this in the post-renderer keeps it consistent across charts that expose the fields differently, or not at all.

## Example
With `classes: {job: {nodeSelector: {pool: spot}}}`:
```yaml before
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: example/migrate:1.0
```
```yaml after
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: example/migrate:1.0
      nodeSelector:
        pool: spot
```

## Refuses
Nothing beyond what you configure: it fills only absent `nodeSelector` and `tolerations`, so a pod the author placed stays where it was placed.

## Parameters
- `classes`: per class, an optional `nodeSelector` (map) and `tolerations` (list). Default: none.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Placement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub classes: BTreeMap<String, Placement>,
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let Some(placement) = self.classes.get(&*w.class) else { return };
        let spec = w.spec.clone();
        if let Some(selector) = &placement.node_selector {
            cx.fill(obj, &spec.key("nodeSelector"), Value::Object(selector.clone()));
        }
        if let Some(tolerations) = &placement.tolerations {
            cx.fill(obj, &spec.key("tolerations"), Value::Array(tolerations.clone()));
        }
    }
}
