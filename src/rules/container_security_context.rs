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
- `readOnlyRootFilesystem: true` when absent, with a writable `/tmp`: an `emptyDir` volume `temper-tmp` mounted at `/tmp`, added only when nothing in the container already mounts `/tmp`; for an image the `writable-paths` overlay knows, an `emptyDir` at each directory it writes (`temper-var-cache-nginx` at `/var/cache/nginx` for nginx), where no mount already covers it;
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

## Refuses
- `readOnlyRootFilesystem` stays unset, with the reason, for an image that cannot run read-only (it writes into directories that ship files, such as the ingress-nginx controller), and for an image that keeps data in a directory nothing mounts (PostgreSQL without a volume at its data directory): an `emptyDir` there would lose the data on every restart. Add your images to the table with an overlay's `writablePaths`.

## Not fixed
- `privileged: true` containers are reported and not touched at all.
- `allowPrivilegeEscalation` is not filled when the container adds `SYS_ADMIN`: the API server rejects that pair. Reported instead.
- Explicit `allowPrivilegeEscalation: true`, `readOnlyRootFilesystem: false` and added capabilities outside the allowed list are reported.
- Windows pods: every field here is Linux-only, so nothing is filled.
"#;

/// The emptyDir volume for a writable `path`: `temper-tmp` for `/tmp`, `temper-var-cache-nginx`
/// for `/var/cache/nginx`; a DNS label of at most 63 characters.
fn volume_name(path: &str) -> String {
    let mut name = String::from("temper");
    for part in path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        name.push('-');
        name.push_str(&part.to_ascii_lowercase());
    }
    if name.len() > 63 {
        name.truncate(63);
    }
    name.trim_end_matches('-').to_string()
}

/// The paths a container mounts volumes at, without trailing slashes.
fn mount_paths(container: &Value) -> Vec<&str> {
    let mounts = container.get("volumeMounts").and_then(Value::as_array).into_iter().flatten();
    mounts.filter_map(|m| object::str_at(m, &["mountPath"])).map(|p| p.trim_end_matches('/')).collect()
}

/// Whether `path` is `dir` or lies inside it.
fn under(path: &str, dir: &str) -> bool {
    let (path, dir) = (path.trim_end_matches('/'), dir.trim_end_matches('/'));
    path == dir || dir.is_empty() || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

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
            let unset = current.get("readOnlyRootFilesystem").is_none_or(Value::is_null);
            if current.get("readOnlyRootFilesystem") == Some(&json!(false)) && rofs {
                cx.violation(ptr, format!("container `{}` has a writable root filesystem", slot.name));
            } else if unset && rofs && let Some(why) = self.cannot_run_read_only(cx, obj, slot) {
                cx.refuse(ptr, format!("readOnlyRootFilesystem left unset for container `{}`: {why}", slot.name));
            } else if cx.fill(obj, &ptr, json!(rofs)) == Fill::Filled && rofs && self.writable_tmp {
                self.mount_writable(cx, obj, spec, slot, "/tmp");
                let image = slot.get(obj).and_then(|c| object::str_at(c, &["image"])).unwrap_or_default();
                let paths = cx.knowledge.writable_paths.of(image).map(|w| w.paths.clone()).unwrap_or_default();
                for path in paths {
                    self.mount_writable(cx, obj, spec, slot, &path);
                }
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

    /// Why the container's image cannot run with a read-only root filesystem, if the table of
    /// writable paths knows it cannot: it writes into directories it ships, or it keeps data
    /// in a directory nothing mounts (an emptyDir would lose it on every restart).
    fn cannot_run_read_only(&self, cx: &Cx<'_>, obj: &Value, slot: &ContainerSlot) -> Option<String> {
        let container = slot.get(obj)?;
        let image = object::str_at(container, &["image"])?;
        let writes = cx.knowledge.writable_paths.of(image)?;
        if let Some(why) = &writes.not_read_only {
            return Some(format!("image {image} cannot run read-only: {why}"));
        }
        let mounts = mount_paths(container);
        let unmounted = writes.data_paths.iter().find(|data| {
            !mounts.iter().any(|m| under(data, m) || under(m, data))
        })?;
        Some(format!(
            "image {image} keeps its data in {unmounted}, and nothing is mounted there (an emptyDir would lose the data on every restart): mount a volume at {unmounted}, and temper will make the root read-only"
        ))
    }

    /// Mounts an emptyDir at `path` in the container, unless a mount already covers it. One
    /// volume per path serves every container of the pod that needs it.
    fn mount_writable(&self, cx: &mut Cx<'_>, obj: &mut Value, spec: &Pointer, slot: &ContainerSlot, path: &str) {
        let mounts = slot.ptr.key("volumeMounts");
        let covered = slot.get(obj).is_some_and(|c| mount_paths(c).iter().any(|m| under(path, m)));
        if covered {
            return;
        }
        let volume = volume_name(path);
        let volumes = spec.key("volumes");
        let has_volume = obj
            .pointer(volumes.as_str())
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|v| object::str_at(v, &["name"]) == Some(volume.as_str())));
        if !has_volume {
            let message = format!("no writable {path} volume");
            cx.append(obj, &volumes, json!({"name": volume, "emptyDir": {}}), &message);
        }
        cx.append(obj, &mounts, json!({"name": volume, "mountPath": path}), &format!("no writable {path}"));
    }
}
