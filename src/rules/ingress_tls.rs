//! `ingress-tls`: traffic from outside the cluster is encrypted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object;
use crate::pointer::Pointer;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports Ingresses without `tls` and Gateway listeners without TLS.

## What it does
- An `Ingress` (networking.k8s.io or the old extensions group) with no `spec.tls` entries.
- A Gateway API `Gateway` listener with protocol `HTTP`, or with protocol `HTTPS` or `TLS` but no `tls` configuration.

## Why
Traffic that enters from outside the cluster crosses networks temper's users do not control; serving it in plain text exposes sessions and credentials.

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:                       # reported: /spec/tls
  rules:
  - host: shop.example.com
```

## Parameters
None.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        match (cx.id.group(), cx.id.kind()) {
            ("networking.k8s.io" | "extensions", "Ingress") => {
                let tls = object::get(obj, &["spec", "tls"]).and_then(Value::as_array);
                if tls.is_none_or(Vec::is_empty) {
                    cx.violation(Pointer::root().key("spec").key("tls"), "Ingress serves without TLS");
                }
            }
            ("gateway.networking.k8s.io", "Gateway") => {
                let Some(listeners) = object::get(obj, &["spec", "listeners"]).and_then(Value::as_array) else {
                    return;
                };
                for (i, l) in listeners.iter().enumerate() {
                    let name = object::str_at(l, &["name"]).unwrap_or_default();
                    let ptr = Pointer::root().key("spec").key("listeners").index(i);
                    match object::str_at(l, &["protocol"]) {
                        Some("HTTP") => {
                            cx.violation(ptr.key("protocol"), format!("listener `{name}` serves plain HTTP"))
                        }
                        Some("HTTPS" | "TLS") if object::get(l, &["tls"]).is_none() => {
                            cx.violation(ptr.key("tls"), format!("listener `{name}` has no TLS configuration"));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}
