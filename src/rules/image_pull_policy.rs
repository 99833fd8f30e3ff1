//! `image-pull-policy`: `IfNotPresent` for pinned images.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::image::ImageRef;
use crate::object;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Sets `imagePullPolicy: IfNotPresent` on containers whose image is pinned by tag or digest.

## What it does
For every container and init container without an `imagePullPolicy` whose image has a digest or a tag other than `latest`, sets the policy to `IfNotPresent`: use the cached image, pull it if missing.
Images tagged `latest` or untagged are left to Kubernetes' default (`Always`); `image-tag` reports them.
An explicit policy is never changed. Ephemeral containers are audited only.

## Why
A pinned image does not change, so pulling it again on every start only adds registry load and a failure mode (registry outages, rate limits) to every restart.

## Example
```yaml before
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: example/app:1.4.2
```
```yaml after
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: example/app:1.4.2
    imagePullPolicy: IfNotPresent
```

## Refuses
Nothing: `IfNotPresent` on a pinned image pulls what `Always` would have pulled.

## Parameters
- `policy` (default `IfNotPresent`).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub policy: String,
}

impl Default for Params {
    fn default() -> Params {
        Params { policy: "IfNotPresent".into() }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let spec = w.spec.clone();
        for slot in containers(obj, &spec, true) {
            let Some(c) = slot.get(obj) else { continue };
            let pinned = object::str_at(c, &["image"]).is_some_and(|i| ImageRef::parse(i).is_pinned());
            if pinned {
                let ptr = slot.ptr.key("imagePullPolicy");
                cx.audit_if(slot.ephemeral(), |cx| cx.fill(obj, &ptr, json!(self.policy)));
            }
        }
    }
}
