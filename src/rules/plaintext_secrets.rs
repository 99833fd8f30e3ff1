//! `plaintext-secrets`: credentials rendered into the manifests.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pointer::Pointer;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports v1 Secrets whose `data` or `stringData` carry values in the rendered output.

## What it does
Every core `Secret` with a non-empty `data` or `stringData` is reported, naming the keys and never the values.
Secret types listed in `ignoreTypes` are skipped.

## Why
A value rendered into a manifest lives on in the chart's values, the Helm release object, Git history and CI logs.
Credentials belong in a secret manager, synced into the cluster by the Secrets Store CSI driver or an external secrets operator, so the manifests only reference them.
`external-secrets`, which runs before this rule, replaces such Secrets in place once its parameters say where the secret manager is; those it replaces pass here.

## Example
```yaml
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2        # reported: /stringData (keys: password)
```

## Parameters
- `ignoreTypes` (default `[]`): Secret types to skip, such as `kubernetes.io/tls`.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub ignore_types: Vec<String>,
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        if *cx.id.kind() != *"Secret" || *cx.id.api_version() != *"v1" {
            return;
        }
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or("Opaque");
        if self.ignore_types.iter().any(|t| t == ty) {
            return;
        }
        for field in ["data", "stringData"] {
            let Some(values) = obj.get(field).and_then(Value::as_object).filter(|m| !m.is_empty()) else { continue };
            let keys: Vec<&str> = values.keys().map(String::as_str).collect();
            cx.violation(
                Pointer::root().key(field),
                format!(
                    "Secret carries {} plaintext value(s) (keys: {}); deliver them from a secret manager",
                    keys.len(),
                    keys.join(", ")
                ),
            );
        }
    }
}
