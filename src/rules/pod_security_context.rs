//! `pod-security-context`: a non-root identity and RuntimeDefault seccomp for every pod.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::object;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Gives every pod a non-root identity and the RuntimeDefault seccomp profile (Pod Security Standards "restricted").

## What it does
Fills the pod-level `securityContext` of every pod template: `runAsNonRoot: true`, `runAsUser: 5000`, `runAsGroup: 4000`, `fsGroup: 4000` and `seccompProfile.type: RuntimeDefault`.
Fields the author set are kept, on the pod and on every container: a container's own `runAsUser` is never overridden.
Like Pod Security Admission, it accepts `runAsNonRoot: true` or a `RuntimeDefault`/`Localhost` seccomp profile set on every container instead of the pod.
An explicit weaker value, on the pod or on a container (`runAsNonRoot: false`, `runAsUser: 0`, `runAsGroup: 0`, seccomp `Unconfined`), is reported with its path.
In a pod with a privileged container, the pod-level context is left alone and every other container gets `runAsNonRoot`, `runAsUser`, `runAsGroup` and the seccomp profile at its own level.

## Why
Pod Security Standards "restricted" requires `runAsNonRoot` and a RuntimeDefault or Localhost seccomp profile; without a fixed UID, an image whose `USER` is root fails to start under `runAsNonRoot`, so the UID, GID and fsGroup are set together.
Production guides for Helm-deployed platforms ask operators to add exactly these fields by hand to every chart.

## Example
```yaml before
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: example/web:1.0
```
```yaml after
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: example/web:1.0
      securityContext:
        runAsNonRoot: true
        runAsUser: 5000
        runAsGroup: 4000
        fsGroup: 4000
        seccompProfile:
          type: RuntimeDefault
```

## Parameters
- `runAsNonRoot` (default `true`), `runAsUser` (`5000`), `runAsGroup` (`4000`), `fsGroup` (`4000`), `seccompProfile` (`RuntimeDefault`).
  Set any of them to `null` to leave the field alone, for example on OpenShift, whose restricted SCC assigns UIDs per namespace.

## Refuses
- A container that explicitly runs as UID 0: `runAsNonRoot` is not filled, on the pod or on it (the kubelet would refuse to start it); reported instead.
- A privileged container is reported and not touched; the pod-level context stays as it is, so nothing filled for the pod can change it.

## Not fixed
- Windows pods (`spec.os.name: windows`) get only `runAsNonRoot`; the other fields are Linux-only and the API rejects them.
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub fs_group: Option<i64>,
    pub seccomp_profile: Option<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            run_as_non_root: Some(true),
            run_as_user: Some(5000),
            run_as_group: Some(4000),
            fs_group: Some(4000),
            seccomp_profile: Some("RuntimeDefault".into()),
        }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let (spec, windows) = (w.spec.clone(), w.windows);
        let slots = containers(obj, &spec, true);
        let privileged: Vec<_> = slots
            .iter()
            .filter(|s| {
                s.get(obj).and_then(|c| object::get(c, &["securityContext", "privileged"])) == Some(&json!(true))
            })
            .map(|s| s.ptr.key("securityContext").key("privileged"))
            .collect();
        if !privileged.is_empty() {
            for path in privileged {
                cx.violation(path, "privileged container: the pod security context is left as it is");
            }
            // The other containers are hardened one by one, where the pod does not already.
            if !windows {
                self.fill_unprivileged_containers(cx, obj, &spec, &slots);
            }
            return;
        }
        let sc = spec.key("securityContext");
        // Explicit weaker values on the pod and on every container.
        let mut root_container = false;
        let mut contexts = vec![(sc.clone(), "pod".to_string())];
        contexts.extend(slots.iter().map(|s| (s.ptr.key("securityContext"), format!("container `{}`", s.name))));
        for (at, who) in &contexts {
            let Some(ctx) = obj.pointer(at.as_str()) else { continue };
            if ctx.get("runAsNonRoot") == Some(&json!(false)) {
                cx.violation(at.key("runAsNonRoot"), format!("{who} sets runAsNonRoot: false"));
            }
            if ctx.get("runAsUser").and_then(Value::as_i64) == Some(0) {
                root_container = true;
                cx.violation(at.key("runAsUser"), format!("{who} runs as UID 0 (root)"));
            }
            if ctx.get("runAsGroup").and_then(Value::as_i64) == Some(0) {
                cx.violation(at.key("runAsGroup"), format!("{who} runs with GID 0 (root group)"));
            }
            if !windows && object::str_at(ctx, &["seccompProfile", "type"]) == Some("Unconfined") {
                cx.violation(at.key("seccompProfile").key("type"), format!("{who} disables seccomp (Unconfined)"));
            }
        }
        // Pod Security Admission accepts a field set on every container instead of the pod.
        let every_container = |check: &dyn Fn(&Value) -> bool| {
            !slots.is_empty() && slots.iter().all(|s| s.get(obj).and_then(|c| c.get("securityContext")).is_some_and(check))
        };
        let non_root_everywhere = every_container(&|sc| sc.get("runAsNonRoot") == Some(&json!(true)));
        let seccomp_everywhere = every_container(&|sc| {
            matches!(object::str_at(sc, &["seccompProfile", "type"]), Some("RuntimeDefault" | "Localhost"))
        });
        if let Some(v) = self.run_as_non_root.filter(|_| !non_root_everywhere) {
            let ptr = sc.key("runAsNonRoot");
            if root_container {
                if obj.pointer(ptr.as_str()).is_none_or(Value::is_null) {
                    cx.violation(ptr, "runAsNonRoot not set: a container explicitly runs as UID 0");
                }
            } else {
                cx.fill(obj, &ptr, json!(v));
            }
        }
        if windows {
            return;
        }
        if let Some(uid) = self.run_as_user {
            cx.fill(obj, &sc.key("runAsUser"), json!(uid));
        }
        if let Some(gid) = self.run_as_group {
            cx.fill(obj, &sc.key("runAsGroup"), json!(gid));
        }
        if let Some(fs) = self.fs_group {
            cx.fill(obj, &sc.key("fsGroup"), json!(fs));
        }
        if let Some(profile) = self.seccomp_profile.as_ref().filter(|_| !seccomp_everywhere) {
            cx.fill(obj, &sc.key("seccompProfile").key("type"), json!(profile));
        }
    }
}

impl Params {
    /// In a pod with a privileged container, gives every other container the identity and
    /// seccomp profile the pod would have had, where neither the pod nor the container sets
    /// them. A container that runs as UID 0 gets no `runAsNonRoot`.
    fn fill_unprivileged_containers(
        &self,
        cx: &mut Cx<'_>,
        obj: &mut Value,
        spec: &crate::pointer::Pointer,
        slots: &[crate::workload::ContainerSlot],
    ) {
        let pod = obj.pointer(spec.key("securityContext").as_str()).cloned().unwrap_or(Value::Null);
        let pod_sets = |field: &str| pod.get(field).is_some_and(|v| !v.is_null());
        for slot in slots.iter().filter(|s| !s.ephemeral()) {
            let sc = slot.ptr.key("securityContext");
            let own = obj.pointer(sc.as_str()).cloned().unwrap_or(Value::Null);
            if own.get("privileged") == Some(&json!(true)) {
                continue;
            }
            let root = own.get("runAsUser").and_then(Value::as_i64) == Some(0);
            let fields = [
                ("runAsNonRoot", self.run_as_non_root.filter(|_| !root).map(Value::from)),
                ("runAsUser", self.run_as_user.map(Value::from)),
                ("runAsGroup", self.run_as_group.map(Value::from)),
            ];
            for (field, value) in fields {
                if let Some(value) = value.filter(|_| !pod_sets(field)) {
                    cx.fill(obj, &sc.key(field), value);
                }
            }
            if let Some(profile) = self.seccomp_profile.as_ref().filter(|_| !pod_sets("seccompProfile")) {
                cx.fill(obj, &sc.key("seccompProfile").key("type"), json!(profile));
            }
        }
    }
}
