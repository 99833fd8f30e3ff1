//! `restricted-volumes`: only the volume types Pod Security Standards "restricted" allows.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports volumes of types the Pod Security Standards "restricted" profile forbids.

## What it does
Checks every volume of every pod template. Allowed types: `configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `image`, `persistentVolumeClaim`, `projected`, `secret`.
Any other type (`hostPath`, `nfs`, `iscsi`, `cephfs`, ...) is reported at the volume's path.

## Why
The restricted profile limits pods to volumes whose access Kubernetes controls; network and host volumes bypass PersistentVolume access control.
The fix would be a storage redesign, so this rule only reports.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: legacy
spec:
  containers:
  - name: app
    image: example/app:1.0
  volumes:
  - name: share
    nfs:                      # reported: /spec/volumes/0/nfs
      server: nfs.example.com
      path: /exports
```

## Parameters
- `allowedTypes`: the accepted volume types (default: the list above).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub allowed_types: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        let types = [
            "configMap",
            "csi",
            "downwardAPI",
            "emptyDir",
            "ephemeral",
            "image",
            "persistentVolumeClaim",
            "projected",
            "secret",
        ];
        Params { allowed_types: types.map(String::from).to_vec() }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let volumes_ptr = w.spec.key("volumes");
        let Some(volumes) = obj.pointer(volumes_ptr.as_str()).and_then(Value::as_array) else { return };
        for (i, volume) in volumes.iter().enumerate() {
            let Some(fields) = volume.as_object() else { continue };
            let name = object::str_at(volume, &["name"]).unwrap_or_default();
            for (kind, value) in fields {
                if kind != "name" && !value.is_null() && !self.allowed_types.iter().any(|t| t == kind) {
                    cx.violation(volumes_ptr.index(i).key(kind), format!("volume `{name}` is of type {kind}"));
                }
            }
        }
    }
}
