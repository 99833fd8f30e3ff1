//! Secret values never appear in a diff unless asked for. Hidden, by where they are: Secret
//! `data` and `stringData` values, env values whose name looks like a credential, the argument
//! after a credential flag; by their shape, anywhere: a URL's password, a credential flag's
//! value, an `Authorization` value, a PEM block, a well-known key prefix
//! (`credential::shaped`); and any Secret's value wherever else it turns up. A hidden value is
//! shown as its length and a short keyed digest, so that a reviewer sees whether it changed
//! without seeing it.
//!
//! The walk carries what it needs to know of where it is (in a Secret's data, in an env list,
//! in arguments) instead of re-reading a pointer at every node, and pairs env entries by name
//! through a map built once per list, so that it stays linear in the size of the resources.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::credential::{self, CredentialNames};
use crate::object;
use crate::pointer::Pointer;

/// Where a value is, as far as redaction cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Plain,
    /// The top of a core Secret.
    SecretResource,
    /// A Secret's `data` or `stringData` mapping: every value is secret.
    SecretData,
    /// A container's `env` list.
    EnvList,
    /// One `env` entry.
    EnvEntry,
    /// A `command` or `args` list.
    Args,
}

impl Place {
    /// Where the value at `ptr` of a resource is (`secret_kind`: the resource is a core Secret).
    pub fn at(ptr: &Pointer, secret_kind: bool) -> Place {
        let tokens: Vec<String> = ptr.tokens().collect();
        match tokens.as_slice() {
            [] if secret_kind => Place::SecretResource,
            [field] if secret_kind && (field == "data" || field == "stringData") => Place::SecretData,
            [.., last] if last == "env" => Place::EnvList,
            [.., env, index] if env == "env" && index.parse::<usize>().is_ok() => Place::EnvEntry,
            [.., last] if last == "args" || last == "command" => Place::Args,
            _ => Place::Plain,
        }
    }
}

/// Decides what is secret, and hides it.
pub struct Redactor {
    names: CredentialNames,
    /// Every Secret value of both sides, to be found wherever else it appears.
    secrets: Option<AhoCorasick>,
    key: Vec<u8>,
}

/// Secret values shorter than this are not searched for elsewhere: `true` or `8080` would hide
/// half a manifest.
const SHORTEST_SEARCHED: usize = 6;

impl Redactor {
    /// A redactor for a diff of `resources` (both sides), keyed with `key` for its digests.
    pub fn new<'a>(resources: impl IntoIterator<Item = &'a Value>, key: &[u8]) -> Redactor {
        let mut values: Vec<String> = Vec::new();
        for obj in resources {
            if object::kind(obj) != "Secret" || object::str_at(obj, &["apiVersion"]) != Some("v1") {
                continue;
            }
            for field in ["data", "stringData"] {
                for v in obj.get(field).and_then(Value::as_object).into_iter().flat_map(|m| m.values()) {
                    let Some(text) = v.as_str() else { continue };
                    values.push(text.to_string());
                    if field == "data"
                        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text)
                    {
                        values.push(String::from_utf8_lossy(&bytes).into_owned());
                    }
                }
            }
        }
        values.retain(|v| v.len() >= SHORTEST_SEARCHED);
        values.sort();
        values.dedup();
        let secrets = (!values.is_empty()).then(|| AhoCorasick::new(&values).ok()).flatten();
        Redactor { names: CredentialNames::for_redaction(), secrets, key: key.to_vec() }
    }

    /// Whether an env variable called `name` holds a credential.
    pub fn credential_name(&self, name: &str) -> bool {
        self.names.matches(name)
    }

    /// The placeholder shown instead of a whole secret value.
    pub fn placeholder(&self, value: &Value, changed: bool) -> Value {
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        let note = if changed { ", changed" } else { "" };
        Value::String(format!("(redacted: {} bytes, digest {}{note})", text.len(), self.digest(&text)))
    }

    /// Eight hex digits of HMAC-SHA256 under the diff's key: equal values give equal digests,
    /// and a short value cannot be guessed from its digest without the key.
    fn digest(&self, text: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) else { return String::new() };
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().iter().take(4).map(|b| format!("{b:02x}")).collect()
    }

    /// Hides every secret inside `value`, found at `place`, comparing with `other` (the same
    /// position on the other side, when `after` is set) to say whether a hidden value changed.
    /// Returns how many values were hidden.
    pub fn redact(&self, value: &mut Value, other: Option<&Value>, place: Place, after: bool) -> usize {
        let mut count = 0;
        self.walk(value, other.filter(|_| after), place, &mut count);
        count
    }

    fn walk(&self, value: &mut Value, other: Option<&Value>, place: Place, count: &mut usize) {
        match (value, place) {
            (Value::Object(map), Place::SecretResource) => {
                for (k, v) in map.iter_mut() {
                    let inner = if k == "data" || k == "stringData" { Place::SecretData } else { Place::Plain };
                    self.walk(v, other.and_then(|o| o.get(k.as_str())), inner, count);
                }
            }
            (Value::Object(map), Place::SecretData) => {
                for (k, v) in map.iter_mut() {
                    let changed = other.is_some() && other.and_then(|o| o.get(k.as_str())) != Some(v);
                    *v = self.placeholder(v, changed);
                    *count += 1;
                }
            }
            (Value::Array(items), Place::EnvList) => {
                // Entries pair by name on the two sides: one map per list, not a search per entry.
                let theirs: HashMap<&str, &Value> = other
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| Some((e.get("name")?.as_str()?, e)))
                    .collect();
                for item in items.iter_mut() {
                    let name = item.get("name").and_then(Value::as_str).map(str::to_string);
                    let other = name.as_deref().and_then(|n| theirs.get(n).copied());
                    self.walk(item, other, Place::EnvEntry, count);
                }
            }
            (Value::Object(map), Place::EnvEntry) => {
                let secret_name = map.get("name").and_then(Value::as_str).is_some_and(|n| self.credential_name(n));
                for (k, v) in map.iter_mut() {
                    let theirs = other.and_then(|o| o.get(k.as_str()));
                    if k == "value" && secret_name && v.is_string() {
                        let changed = other.is_some() && theirs != Some(v);
                        *v = self.placeholder(v, changed);
                        *count += 1;
                    } else {
                        self.walk(v, theirs, Place::Plain, count);
                    }
                }
            }
            (Value::Array(items), Place::Args) => {
                let mut after_flag = false;
                for (i, item) in items.iter_mut().enumerate() {
                    let flag = item.as_str().is_some_and(credential::is_credential_flag);
                    if after_flag && item.is_string() {
                        let changed = other.is_some() && other.and_then(|o| o.get(i)) != Some(item);
                        *item = self.placeholder(item, changed);
                        *count += 1;
                    } else {
                        self.walk(item, other.and_then(|o| o.get(i)), Place::Plain, count);
                    }
                    after_flag = flag;
                }
            }
            (Value::Object(map), _) => {
                for (k, v) in map.iter_mut() {
                    let inner = match k.as_str() {
                        "env" => Place::EnvList,
                        "args" | "command" => Place::Args,
                        _ => Place::Plain,
                    };
                    self.walk(v, other.and_then(|o| o.get(k.as_str())), inner, count);
                }
            }
            (Value::Array(items), _) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.walk(item, other.and_then(|o| o.get(i)), Place::Plain, count);
                }
            }
            (Value::String(text), _) => {
                let ranges = self.secret_parts(text);
                if !ranges.is_empty() {
                    *text = credential::replace_ranges(text, &ranges, |part| {
                        format!("(redacted: {} bytes, digest {})", part.len(), self.digest(part))
                    });
                    *count += 1;
                }
            }
            _ => {}
        }
    }

    /// The parts of a string that are secret: credential shapes, and any Secret's value.
    fn secret_parts(&self, text: &str) -> Vec<Range<usize>> {
        let mut ranges = credential::shaped(text);
        if let Some(secrets) = &self.secrets {
            ranges.extend(secrets.find_overlapping_iter(text).map(|m| m.range()));
        }
        credential::merge(ranges)
    }
}
