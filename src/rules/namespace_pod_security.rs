//! `namespace-pod-security`: Pod Security Admission labels on Namespace objects.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::pointer::Pointer;

use crate::object::ResourceId;

use super::{Cx, Gx, Rule};

pub const DOC: &str = r#"Labels Namespace objects for Pod Security Admission at the environment's level.

## What it does
Every `Namespace` in the stream gets the labels `pod-security.kubernetes.io/enforce`, `enforce-version`, `warn` and `audit` when they are absent.
The enforce level is the environment's `podSecurityLevel`; warn and audit default to `restricted`, so teams see what the next level would reject before it is enforced.
An explicit level weaker than the one configured is reported.

Namespaces the stream's workloads run in without a Namespace object in the stream cannot be labelled by temper; each is reported once, with the command that labels it.

## Why
Pod Security Admission is the built-in admission controller that enforces the Pod Security Standards, and it is switched on per namespace by exactly these labels.

## Example
```yaml before
apiVersion: v1
kind: Namespace
metadata:
  name: shop
```
```yaml after
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
```

## Refuses
- A namespace the stream's workloads run in without a Namespace object in the stream is not labelled (temper cannot add a Namespace object Helm does not own: the install would fail if it exists); it is reported once, with the command that labels it.
- An explicit weaker level is reported, never lowered or raised.

## Parameters
- `enforce` (default `baseline`; set by the environment's `podSecurityLevel`), `warn` and `audit` (default `restricted`): `privileged`, `baseline` or `restricted`.
- `enforceVersion` (default `latest`).
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub enforce: Level,
    pub enforce_version: String,
    pub warn: Level,
    pub audit: Level,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            enforce: Level::Baseline,
            enforce_version: "latest".into(),
            warn: Level::Restricted,
            audit: Level::Restricted,
        }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        if *cx.id.kind() != *"Namespace" || cx.id.group() != "" {
            return;
        }
        let labels = Pointer::root().key("metadata").key("labels");
        for (mode, level) in [("enforce", self.enforce), ("warn", self.warn), ("audit", self.audit)] {
            let key = format!("pod-security.kubernetes.io/{mode}");
            let ptr = labels.key(&key);
            match obj.pointer(ptr.as_str()).and_then(Value::as_str) {
                Some(current) => match serde_json::from_value::<Level>(json!(current)) {
                    Ok(current) if current < level => cx.violation(
                        ptr,
                        format!("namespace {mode}s `{}`, weaker than `{}`", current.as_str(), level.as_str()),
                    ),
                    Ok(_) => {}
                    Err(_) => cx.violation(ptr, format!("`{current}` is not a Pod Security level")),
                },
                None => {
                    cx.fill(obj, &ptr, json!(level.as_str()));
                }
            }
            if mode == "enforce" {
                cx.fill(obj, &labels.key("pod-security.kubernetes.io/enforce-version"), json!(self.enforce_version));
            }
        }
    }

    /// Says, once per namespace the workloads run in, when the stream has no Namespace object
    /// to label there.
    fn generate(&self, gx: &mut Gx<'_>) {
        for target in gx.workload_namespaces(&[]) {
            let ns = &target.namespace;
            if gx.index.has_namespace(ns) {
                continue;
            }
            let name = ns.clone().or_else(|| gx.index.release_namespace.clone());
            let shown = name.as_deref().unwrap_or("the release namespace");
            let label = name.as_deref().unwrap_or("NAMESPACE");
            let message = format!(
                "this stream has no Namespace object for {shown}, so no Pod Security Admission labels were set there: label it (kubectl label namespace {label} pod-security.kubernetes.io/enforce={} pod-security.kubernetes.io/warn={}), or have the namespace created with its labels (ArgoCD managedNamespaceMetadata, or a Namespace in the chart)",
                self.enforce.as_str(),
                self.warn.as_str()
            );
            gx.refuse(&ResourceId::of_namespace(ns), None, Pointer::root(), message);
        }
    }
}
