//! Target selectors: which resources an overlay patch or an environment exemption applies to.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::object::{self, ResourceId};
use crate::select::Selector;

/// A target as written in configuration. Every field given must match; none given matches all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A regular expression that must match the whole name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

/// A compiled target.
#[derive(Debug, Clone)]
pub struct Target {
    pub spec: TargetSpec,
    name: Option<Regex>,
    labels: Option<Selector>,
    annotations: Option<Selector>,
}

impl Target {
    pub fn compile(spec: TargetSpec) -> Result<Target, String> {
        let name = spec
            .name
            .as_deref()
            .map(|n| Regex::new(&format!("^(?:{n})$")).map_err(|e| format!("target.name: {e}")))
            .transpose()?;
        let selector = |s: &Option<String>, field: &str| {
            s.as_deref().map(|s| Selector::parse(s).map_err(|e| format!("target.{field}: {e}"))).transpose()
        };
        let labels = selector(&spec.label_selector, "labelSelector")?;
        let annotations = selector(&spec.annotation_selector, "annotationSelector")?;
        Ok(Target { spec, name, labels, annotations })
    }

    /// Whether the resource matches. `namespace` is where it lands (explicit or release).
    pub fn matches(&self, id: &ResourceId, obj: &Value, namespace: Option<&str>) -> bool {
        let s = &self.spec;
        s.api_version.as_ref().is_none_or(|v| **v == *id.api_version())
            && s.group.as_ref().is_none_or(|g| g == id.group())
            && s.kind.as_ref().is_none_or(|k| **k == *id.kind())
            && self.name.as_ref().is_none_or(|re| re.is_match(&id.name))
            && s.namespace.as_ref().is_none_or(|ns| Some(ns.as_str()) == namespace)
            && self.labels.as_ref().is_none_or(|sel| sel.matches(object::labels(obj)))
            && self.annotations.as_ref().is_none_or(|sel| sel.matches(object::annotations(obj)))
    }
}
