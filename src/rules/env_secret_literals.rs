//! `env-secret-literals`: credentials written as literal environment variables.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential::CredentialNames;
use crate::object;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports container environment variables that hold a literal value and are named like a credential.

## What it does
An `env` entry with a non-empty literal `value` whose name matches `namePattern` (password, secret, token, API key, private key, credential) and not `ignorePattern` (names of files, paths and references, such as `DB_PASSWORD_FILE`) is reported. Values are never printed.
Entries using `valueFrom` are fine.

## Why
A literal credential in a pod spec is readable by anyone who can read the Deployment, and it is stored in the release history; it should come from a Secret (`valueFrom.secretKeyRef`), ideally one synced from a secret manager.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: example/app:1.0
    env:
    - name: DB_PASSWORD
      value: hunter2       # reported: /spec/containers/0/env/0/value
```

## Parameters
- `namePattern` (default `(?i)(passw(or)?d|secret|token|api[-_]?key|private[-_]?key|credential)`).
- `ignorePattern` (default `(?i)(_file|_path|_dir|_name|_ref|_url|_uri|_kind|_type|_mode|_enabled|_ttl|_timeout|_expiry|_length)$`).
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    #[serde(with = "super::pattern")]
    pub name_pattern: Regex,
    #[serde(with = "super::pattern")]
    pub ignore_pattern: Regex,
}

impl Default for Params {
    fn default() -> Params {
        let CredentialNames { name, ignore } = CredentialNames::default();
        Params { name_pattern: name, ignore_pattern: ignore }
    }
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let spec = w.spec.clone();
        for slot in containers(obj, &spec, true) {
            let Some(env) = slot.get(obj).and_then(|c| c.get("env")).and_then(Value::as_array) else { continue };
            let mut found = Vec::new();
            for (i, e) in env.iter().enumerate() {
                let name = object::str_at(e, &["name"]).unwrap_or_default();
                let literal = e.get("value").is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
                if literal && self.name_pattern.is_match(name) && !self.ignore_pattern.is_match(name) {
                    found.push((i, name.to_string()));
                }
            }
            for (i, name) in found {
                cx.violation(
                    slot.ptr.key("env").index(i).key("value"),
                    format!("container `{}` sets {name} to a literal value; use valueFrom.secretKeyRef", slot.name),
                );
            }
        }
    }
}
