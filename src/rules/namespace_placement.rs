//! `namespace-placement`: nothing lands in the `default` namespace on purpose.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pointer::Pointer;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports objects that explicitly name the `default` namespace.

## What it does
Any object with `metadata.namespace: default` is reported. Objects without a namespace are fine: they go to the release namespace chosen at install time.

## Why
`default` is shared by everything that forgot to pick a namespace, so quotas, network policies and RBAC scoped to an application cannot hold there.

## Example
```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default       # reported: /metadata/namespace
```

## Parameters
None.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, _obj: &mut Value) {
        if cx.id.namespace().as_deref() == Some("default") {
            cx.violation(Pointer::root().key("metadata").key("namespace"), "object is placed in the default namespace");
        }
    }
}
