//! `image-tag`: images must be pinned, and come from allowed registries.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::image::ImageRef;
use crate::object;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports images that are not pinned: no tag, `:latest`, or (with `requireDigest`) no digest; and images from registries outside `allowedRegistries`.

## What it does
Checks the image of every container, init container and ephemeral container.

## Why
`latest` and untagged images change under you: two pods of one Deployment can run different code, and a rollback does not roll anything back.
Pinning by digest also makes the compliance hash meaningful for the code that runs, not just the manifest.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: example/app:latest   # reported: /spec/containers/0/image
```

## Parameters
- `requireDigest` (default `false`).
- `allowedRegistries` (default `[]`, any registry): registry host names, such as `registry.example.com` or `docker.io`.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub require_digest: bool,
    pub allowed_registries: Vec<String>,
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let spec = w.spec.clone();
        for slot in containers(obj, &spec, true) {
            let Some(c) = slot.get(obj) else { continue };
            let ptr = slot.ptr.key("image");
            let Some(image) = object::str_at(c, &["image"]).filter(|i| !i.is_empty()) else {
                cx.violation(ptr, format!("container `{}` has no image", slot.name));
                continue;
            };
            let r = ImageRef::parse(image);
            if r.digest.is_none() {
                match r.tag {
                    None => cx.violation(ptr.clone(), format!("image {image} has no tag")),
                    Some("latest") => cx.violation(ptr.clone(), format!("image {image} uses the latest tag")),
                    Some(_) if self.require_digest => {
                        cx.violation(ptr.clone(), format!("image {image} is not pinned by digest"))
                    }
                    Some(_) => {}
                }
            }
            if !self.allowed_registries.is_empty() && !self.allowed_registries.iter().any(|a| a == r.registry) {
                cx.violation(ptr, format!("image {image} comes from registry {}, which is not allowed", r.registry));
            }
        }
    }
}
