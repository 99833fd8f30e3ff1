//! `pod-security-context`: a non-root identity and RuntimeDefault seccomp for every pod.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::object;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Gives every pod a non-root identity and the RuntimeDefault seccomp profile (Pod Security Standards "restricted").

## What it does
Fills the pod-level `securityContext` of every pod template: `runAsNonRoot: true`, `runAsUser: 5000`, `runAsGroup: 4000`, `fsGroup: 4000` and `seccompProfile.type: RuntimeDefault`.
Fields the author set are kept.
An explicit weaker value, on the pod or on a container (`runAsNonRoot: false`, `runAsUser: 0`, `runAsGroup: 0`, seccomp `Unconfined`), is reported with its path.

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

## Not fixed
- A container that explicitly runs as UID 0: `runAsNonRoot` is not filled (the kubelet would refuse to start it); reported instead.
- A pod with a `privileged: true` container is reported and left alone: hardening half of it would give a false sense of safety.
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
        if let Some(v) = self.run_as_non_root {
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
        if let Some(profile) = &self.seccomp_profile {
            cx.fill(obj, &sc.key("seccompProfile").key("type"), json!(profile));
        }
    }
}
