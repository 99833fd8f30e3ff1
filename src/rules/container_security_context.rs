//! `container-security-context`: no privilege escalation, a read-only root filesystem with a
//! writable `/tmp`, and only the capabilities a container needs.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::object;
use crate::pointer::Pointer;
use crate::workload::{ContainerSlot, containers};

use super::Fill;
use super::{Cx, Rule};

pub const DOC: &str = r#"Locks down every container: no privilege escalation, a read-only root filesystem with a writable /tmp, and capabilities dropped.

## What it does
For every container and init container:
- `allowPrivilegeEscalation: false` when absent;
- `readOnlyRootFilesystem: true` when absent, with a writable `/tmp`: an `emptyDir` volume `temper-tmp` mounted at `/tmp`, added only when nothing in the container already mounts `/tmp`;
- `capabilities.drop` gains `ALL` (existing drops are kept);
- `capabilities.add` may hold only `NET_BIND_SERVICE`; anything else is reported, never removed.

Ephemeral containers are audited only.

## Why
Pod Security Standards "restricted" requires `allowPrivilegeEscalation: false`, `drop: [ALL]` and no added capabilities but `NET_BIND_SERVICE`.
A read-only root filesystem stops an attacker from dropping binaries into the container; most applications still need a scratch directory, and without one they crash-loop, which is why the fix mounts `/tmp`.

## Example
```yaml before
apiVersion: v1
kind: Pod
metadata:
  name: tool
spec:
  containers:
  - name: tool
    image: example/tool:1.0
```
```yaml after
apiVersion: v1
kind: Pod
metadata:
  name: tool
spec:
  containers:
  - name: tool
    image: example/tool:1.0
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop:
        - ALL
    volumeMounts:
    - name: temper-tmp
      mountPath: /tmp
  volumes:
  - name: temper-tmp
    emptyDir: {}
```

## Parameters
- `allowPrivilegeEscalation` (default `false`) and `readOnlyRootFilesystem` (default `true`): the values to fill; `null` leaves the field alone.
- `writableTmp` (default `true`): mount an `emptyDir` at `/tmp` when the fix makes the root filesystem read-only.
- `dropCapabilities` (default `[ALL]`) and `allowedCapabilities` (default `[NET_BIND_SERVICE]`).

## Not fixed
- `privileged: true` containers are reported and not touched at all.
- `allowPrivilegeEscalation` is not filled when the container adds `SYS_ADMIN`: the API server rejects that pair. Reported instead.
- Explicit `allowPrivilegeEscalation: true`, `readOnlyRootFilesystem: false` and added capabilities outside the allowed list are reported.
- Windows pods: every field here is Linux-only, so nothing is filled.
"#;

const TMP_VOLUME: &str = "temper-tmp";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub allow_privilege_escalation: Option<bool>,
    pub read_only_root_filesystem: Option<bool>,
    pub writable_tmp: bool,
    pub drop_capabilities: Vec<String>,
    pub allowed_capabilities: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            writable_tmp: true,
            drop_capabilities: vec!["ALL".into()],
            allowed_capabilities: vec!["NET_BIND_SERVICE".into()],
        }
    }
}

/// Capability names as the runtime reads them: `CAP_` prefix optional, case-insensitive.
fn cap_name(cap: &str) -> String {
    let upper = cap.to_ascii_uppercase();
    upper.strip_prefix("CAP_").map(str::to_string).unwrap_or(upper)
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let (spec, windows) = (w.spec.clone(), w.windows);
        for slot in containers(obj, &spec, true) {
            cx.audit_if(slot.ephemeral(), |cx| self.container(cx, obj, &spec, &slot, windows));
        }
    }
}

impl Params {
    fn container(&self, cx: &mut Cx<'_>, obj: &mut Value, spec: &Pointer, slot: &ContainerSlot, windows: bool) {
        let sc = slot.ptr.key("securityContext");
        let current = obj.pointer(sc.as_str()).cloned().unwrap_or(Value::Null);
        if current.get("privileged") == Some(&json!(true)) {
            cx.violation(sc.key("privileged"), format!("container `{}` is privileged and is not hardened", slot.name));
            return;
        }
        let added: Vec<String> = object::get(&current, &["capabilities", "add"])
            .and_then(Value::as_array)
            .map(|caps| caps.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let allowed: Vec<String> = self.allowed_capabilities.iter().map(|c| cap_name(c)).collect();
        for (i, cap) in added.iter().enumerate() {
            if !allowed.contains(&cap_name(cap)) {
                cx.violation(
                    sc.key("capabilities").key("add").index(i),
                    format!("container `{}` adds capability {cap}", slot.name),
                );
            }
        }
        if windows {
            return;
        }
        if let Some(ape) = self.allow_privilege_escalation {
            let ptr = sc.key("allowPrivilegeEscalation");
            match current.get("allowPrivilegeEscalation") {
                Some(Value::Bool(true)) if !ape => {
                    cx.violation(ptr, format!("container `{}` allows privilege escalation", slot.name));
                }
                None | Some(Value::Null) if added.iter().any(|c| cap_name(c) == "SYS_ADMIN") => {
                    cx.violation(
                        ptr,
                        format!(
                            "container `{}` adds SYS_ADMIN, so allowPrivilegeEscalation cannot be false",
                            slot.name
                        ),
                    );
                }
                _ => {
                    cx.fill(obj, &ptr, json!(ape));
                }
            }
        }
        if let Some(rofs) = self.read_only_root_filesystem {
            let ptr = sc.key("readOnlyRootFilesystem");
            if current.get("readOnlyRootFilesystem") == Some(&json!(false)) && rofs {
                cx.violation(ptr, format!("container `{}` has a writable root filesystem", slot.name));
            } else if cx.fill(obj, &ptr, json!(rofs)) == Fill::Filled && rofs && self.writable_tmp {
                self.mount_tmp(cx, obj, spec, slot);
            }
        }
        for cap in &self.drop_capabilities {
            let drop = sc.key("capabilities").key("drop");
            let dropped = obj
                .pointer(drop.as_str())
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().filter_map(Value::as_str).any(|d| d == cap));
            if !dropped {
                cx.append(obj, &drop, json!(cap), &format!("container `{}` does not drop {cap}", slot.name));
            }
        }
    }

    fn mount_tmp(&self, cx: &mut Cx<'_>, obj: &mut Value, spec: &Pointer, slot: &ContainerSlot) {
        let mounts = slot.ptr.key("volumeMounts");
        let tmp_mounted = obj.pointer(mounts.as_str()).and_then(Value::as_array).is_some_and(|m| {
            m.iter().any(|m| object::str_at(m, &["mountPath"]).map(|p| p.trim_end_matches('/')) == Some("/tmp"))
        });
        if tmp_mounted {
            return;
        }
        let volumes = spec.key("volumes");
        let has_volume = obj
            .pointer(volumes.as_str())
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|v| object::str_at(v, &["name"]) == Some(TMP_VOLUME)));
        if !has_volume {
            cx.append(obj, &volumes, json!({"name": TMP_VOLUME, "emptyDir": {}}), "no writable /tmp volume");
        }
        cx.append(obj, &mounts, json!({"name": TMP_VOLUME, "mountPath": "/tmp"}), "no writable /tmp");
    }
}
