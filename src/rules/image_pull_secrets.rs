//! `image-pull-secrets`: the configured pull secret on every pod.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::image::ImageRef;
use crate::object;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Adds the configured image pull secret to every pod spec that lacks it.

## What it does
When `secretName` is set, adds `{name: <secretName>}` to the pod's `imagePullSecrets` unless it is already there (other entries are kept).
With `registries`, only pods with at least one image from those registries get it.
Does nothing while `secretName` is unset.

## Why
Private registries need credentials on every pod; charts rarely expose the field for every component, and a missing secret shows up only as `ImagePullBackOff` in production.

## Example
With `secretName: registry-credentials`:
```yaml before
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: registry.example.com/app:1.0
```
```yaml after
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: registry.example.com/app:1.0
  imagePullSecrets:
  - name: registry-credentials
```

## Refuses
Nothing: an extra pull secret is only tried; a pod whose images need none still starts when the secret is missing.

## Parameters
- `secretName` (default `null`: the rule does nothing).
- `registries` (default `[]`: all pods).
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub secret_name: Option<String>,
    pub registries: Vec<String>,
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let (Some(w), Some(secret)) = (cx.workload, &self.secret_name) else { return };
        let spec = w.spec.clone();
        if !self.registries.is_empty() {
            let pulls_from_listed = containers(obj, &spec, false).iter().any(|s| {
                s.get(obj)
                    .and_then(|c| object::str_at(c, &["image"]))
                    .is_some_and(|i| self.registries.iter().any(|r| r == ImageRef::parse(i).registry))
            });
            if !pulls_from_listed {
                return;
            }
        }
        let ptr = spec.key("imagePullSecrets");
        let present = obj
            .pointer(ptr.as_str())
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|e| object::str_at(e, &["name"]) == Some(secret)));
        if !present {
            cx.append(obj, &ptr, json!({"name": secret}), &format!("pod does not use the pull secret {secret}"));
        }
    }
}
