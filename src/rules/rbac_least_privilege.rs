//! `rbac-least-privilege`: wildcard permissions and over-broad bindings.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object;
use crate::pointer::Pointer;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports Roles and ClusterRoles granting `*` verbs or resources, and bindings to `cluster-admin` or to a `default` ServiceAccount.

## What it does
- Role and ClusterRole rules whose `verbs` or `resources` contain `*`.
- RoleBindings and ClusterRoleBindings whose `roleRef` is the ClusterRole `cluster-admin`.
- Bindings with a subject that is a ServiceAccount named `default`: every pod that does not name an account would get the permissions.

## Why
A wildcard grants every future verb and resource too, including ones added by CRDs installed later; least privilege means naming what the workload needs.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: operator
rules:
- apiGroups: [""]
  resources: ["*"]        # reported: /rules/0/resources
  verbs: ["get"]
```

## Parameters
None.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        if cx.id.group() != "rbac.authorization.k8s.io" {
            return;
        }
        match cx.id.kind() {
            "Role" | "ClusterRole" => {
                let Some(rules) = obj.get("rules").and_then(Value::as_array) else { return };
                for (i, rule) in rules.iter().enumerate() {
                    for field in ["verbs", "resources"] {
                        let wildcard =
                            rule.get(field).and_then(Value::as_array).is_some_and(|v| v.iter().any(|x| x == "*"));
                        if wildcard {
                            cx.violation(
                                Pointer::root().key("rules").index(i).key(field),
                                format!("grants all {field} (`*`)"),
                            );
                        }
                    }
                }
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                if object::str_at(obj, &["roleRef", "kind"]) == Some("ClusterRole")
                    && object::str_at(obj, &["roleRef", "name"]) == Some("cluster-admin")
                {
                    cx.violation(Pointer::root().key("roleRef"), "binds cluster-admin");
                }
                let Some(subjects) = obj.get("subjects").and_then(Value::as_array) else { return };
                for (i, s) in subjects.iter().enumerate() {
                    if object::str_at(s, &["kind"]) == Some("ServiceAccount")
                        && object::str_at(s, &["name"]) == Some("default")
                    {
                        cx.violation(Pointer::root().key("subjects").index(i), "binds the `default` ServiceAccount");
                    }
                }
            }
            _ => {}
        }
    }
}
