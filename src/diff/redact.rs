//! Secret values never appear in a diff unless asked for: Secret `data` and `stringData`
//! values, and literal env values whose name looks like a credential, are replaced by their
//! byte length (and whether they changed).

use serde_json::Value;

use crate::credential::CredentialNames;
use crate::pointer::Pointer;

/// The placeholder shown instead of a secret value.
pub fn placeholder(value: &Value, changed: bool) -> Value {
    let bytes = value.as_str().map_or_else(|| value.to_string().len(), str::len);
    let note = if changed { ", changed" } else { "" };
    Value::String(format!("(redacted: {bytes} bytes{note})"))
}

/// Decides which positions hold secrets.
pub struct Redactor {
    names: CredentialNames,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor { names: CredentialNames::default() }
    }

    fn credential_name(&self, name: &str) -> bool {
        self.names.matches(name)
    }

    /// Whether the value at `ptr` in a resource is secret. `secret_kind` is true for core
    /// Secrets; `env_name` gives the name of the env entry a `value` belongs to.
    pub fn is_secret(&self, ptr: &Pointer, secret_kind: bool, env_name: impl Fn(&Pointer) -> Option<String>) -> bool {
        let tokens: Vec<String> = ptr.tokens().collect();
        match tokens.as_slice() {
            [field, _] if secret_kind && (field == "data" || field == "stringData") => true,
            [.., env, _, value] if env == "env" && value == "value" => {
                ptr.parent().and_then(|p| env_name(&p)).is_some_and(|n| self.credential_name(&n))
            }
            _ => false,
        }
    }

    /// Replaces every secret inside `value` (found at `at` in a resource), comparing with
    /// `other` (the same position on the other side) to say whether each one changed.
    /// Returns how many values were redacted.
    /// On the old side (`other` given, `after` false) values are never marked changed.
    pub fn redact(
        &self,
        value: &mut Value,
        other: Option<&Value>,
        at: &Pointer,
        secret_kind: bool,
        after: bool,
    ) -> usize {
        let mut count = 0;
        self.walk(value, other.filter(|_| after), at, secret_kind, &mut count);
        count
    }

    fn walk(&self, value: &mut Value, other: Option<&Value>, at: &Pointer, secret_kind: bool, count: &mut usize) {
        let tokens: Vec<String> = at.tokens().collect();
        let in_secret_map = secret_kind && tokens.len() == 1 && (tokens[0] == "data" || tokens[0] == "stringData");
        // An item of a container's `env` list: `{name, value}`.
        let env_entry = tokens.len() >= 2 && tokens[tokens.len() - 2] == "env";
        match value {
            Value::Object(map) if in_secret_map => {
                for (k, v) in map.iter_mut() {
                    let changed = other.and_then(|o| o.get(k)) != Some(v);
                    *v = placeholder(v, changed && other.is_some());
                    *count += 1;
                }
            }
            Value::Object(map) if env_entry => {
                let name = map.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                if let Some(v) = map.get_mut("value").filter(|v| v.is_string() && self.credential_name(&name)) {
                    let changed = other.and_then(|o| o.get("value")) != Some(v);
                    *v = placeholder(v, changed && other.is_some());
                    *count += 1;
                }
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    let theirs = other.and_then(|o| o.get(k.as_str()));
                    self.walk(v, theirs, &at.key(k), secret_kind, count);
                }
            }
            Value::Array(items) => {
                let by_name = tokens.last().is_some_and(|t| t == "env");
                for (i, v) in items.iter_mut().enumerate() {
                    // Env entries pair by name on the two sides, other items by position.
                    let name = v.get("name").and_then(Value::as_str).map(str::to_string);
                    let theirs = match (by_name, name) {
                        (true, Some(n)) => other
                            .and_then(Value::as_array)
                            .and_then(|o| o.iter().find(|e| e.get("name").and_then(Value::as_str) == Some(&n))),
                        _ => other.and_then(|o| o.get(i)),
                    };
                    self.walk(v, theirs, &at.index(i), secret_kind, count);
                }
            }
            _ => {}
        }
    }
}
