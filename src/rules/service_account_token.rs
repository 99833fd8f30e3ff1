//! `service-account-token`: no API token for pods that do not need one.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::object;

use super::{Cx, Rule};

pub const DOC: &str = r#"Sets `automountServiceAccountToken: false` on pods that run as the namespace's `default` ServiceAccount.

## What it does
A pod spec without `serviceAccountName` (or with `default`) and without `automountServiceAccountToken` gets `false`.
An explicit `true` on such a pod is reported.
Off in the built-in environments: turn it on where you know no workload calls the Kubernetes API with the default account.

## Why
Every pod otherwise carries a token for the API server; a pod that never talks to the API gains nothing from it, and an attacker who gets into the pod gains a credential.

## Example
```yaml before
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: example/app:1.0
```
```yaml after
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: example/app:1.0
  automountServiceAccountToken: false
```

## Refuses
It never touches a pod with its own service account or an explicit `automountServiceAccountToken`: a workload that calls the API with its own account keeps its token. Turn it on only where no workload calls the API with the default account.

## Parameters
None.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let spec_ptr = w.spec.clone();
        let Some(spec) = obj.pointer(spec_ptr.as_str()) else { return };
        let account =
            object::str_at(spec, &["serviceAccountName"]).or_else(|| object::str_at(spec, &["serviceAccount"]));
        if account.is_some_and(|a| a != "default") {
            return;
        }
        let ptr = spec_ptr.key("automountServiceAccountToken");
        if spec.get("automountServiceAccountToken") == Some(&json!(true)) {
            cx.violation(ptr, "pod mounts the default ServiceAccount's token");
        } else {
            cx.fill(obj, &ptr, json!(false));
        }
    }
}
