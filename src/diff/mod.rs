//! Semantic diffs of manifest streams: the hardening diff (input → output), the promotion diff
//! (one environment's output → another's) and the comparison of two streams.
//!
//! Resources are matched by group, kind, namespace and name (an apiVersion bump is a change,
//! not a removal and an addition); ConfigMaps and Secrets whose names differ only by a generated
//! hash suffix are paired as renames. Lists are matched by their Kubernetes merge keys
//! (containers, env, volumes, volumeMounts by name; ports by port and protocol), other lists by
//! position, so inserting one container is one addition; a change of order is reported, never
//! hidden. Every change carries the rule that made it when the renders' reports know it.
//! Secret values are redacted unless asked for; noise (chart and version labels, `checksum/*`
//! annotations) is suppressed and counted.

mod compute;
mod format;
mod redact;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::object;
use crate::pointer::Pointer;
use crate::rules::{Change, Violation};

pub use compute::diff;
pub use format::{Format, Style, render};

pub const SCHEMA: &str = "temper.dev/diff/v1";

/// Who a resource is across streams: group, kind, namespace and name (not the version).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn of(obj: &Value) -> Key {
        let api_version = object::str_at(obj, &["apiVersion"]).unwrap_or_default();
        Key {
            group: api_version.rsplit_once('/').map_or("", |(g, _)| g).to_string(),
            kind: object::kind(obj).to_string(),
            namespace: object::namespace(obj).unwrap_or_default().to_string(),
            name: object::name(obj).to_string(),
        }
    }
}

/// `Kind[.group]/[namespace/]name`, as kubectl writes resource names.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if !self.namespace.is_empty() {
            write!(f, "/{}", self.namespace)?;
        }
        write!(f, "/{}", self.name)
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One side of a diff: a labelled stream of resources, with what its render recorded.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// `input`, an environment name, or a file name.
    pub label: String,
    pub resources: Vec<Value>,
    /// The changes the render that produced this side recorded (empty for raw input).
    pub changes: Vec<Change>,
    /// Rules that generated resources on this side, by resource key.
    pub generated: Vec<(Key, String)>,
    pub compliance_hash: Option<String>,
}

/// What to show.
#[derive(Debug, Clone)]
pub struct Options {
    pub show_secrets: bool,
    /// Suppress the default noise (chart and version labels, `checksum/*` annotations).
    pub default_ignores: bool,
    /// More pointers to suppress (resource-relative; a change at or below one is suppressed).
    pub ignore: Vec<Pointer>,
}

impl Default for Options {
    fn default() -> Options {
        Options { show_secrets: false, default_ignores: true, ignore: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    Added,
    Removed,
    Changed,
    Renamed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Add,
    Remove,
    Replace,
    /// The items of a keyed list are the same but in another order.
    Reorder,
}

/// One field that differs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// Where, in the new resource (in the old one for removals).
    pub pointer: Pointer,
    pub op: Op,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Secret values are replaced by their length.
    pub redacted: bool,
    /// The rule (or rules) that made this change, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// How one resource differs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    pub id: Key,
    pub change_type: ChangeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<Key>,
    /// For added resources, the rule that generated them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub changes: Vec<FieldChange>,
    pub suppressed: usize,
    /// Both sides, redacted as shown (not serialized: the changes say it all).
    #[serde(skip)]
    pub before: Option<Value>,
    #[serde(skip)]
    pub after: Option<Value>,
}

/// Counts for headers and exit codes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub renamed: usize,
    pub unchanged: usize,
    pub suppressed: usize,
    pub secrets_changed: usize,
}

/// A diff of two streams.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    pub schema_version: &'static str,
    pub from: Label,
    pub to: Label,
    pub counts: Counts,
    pub resources: Vec<ResourceDiff>,
    /// Violations that would make the target fail (promotion blockers).
    pub blockers: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance_hash: Option<String>,
}

impl Diff {
    /// Whether anything differs that is not suppressed.
    pub fn has_differences(&self) -> bool {
        self.resources.iter().any(|r| r.change_type != ChangeType::Changed || !r.changes.is_empty())
    }
}
