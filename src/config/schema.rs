//! The configuration files as written: serde types for `overlays/*.yaml` and
//! `environments/*.yaml`. Unknown keys are errors. Nothing here is used at run time; the
//! resolver turns these into a [`Policy`](super::Policy).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::patch::PatchSpec;
use crate::record::Mode;
use crate::target::TargetSpec;

pub const API_VERSION: &str = "temper.dev/v1alpha1";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OverlayFile {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: OverlaySpec,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OverlaySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Rule parameters, by rule id.
    #[serde(default)]
    pub rules: Map<String, Value>,
    #[serde(default)]
    pub patches: Vec<PatchSpec>,
    /// Component classes in matching order, each with name patterns (regular expressions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Map<String, Value>>,
    /// Custom kinds carrying a pod template.
    #[serde(default)]
    pub workloads: Vec<WorkloadKindSpec>,
    /// Cluster-scoped kinds, by API group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_scoped: Vec<ClusterScopedSpec>,
    /// Single-writer stores and controllers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_writers: Option<SingleWritersSpec>,
    /// Where well-known images write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writable_paths: Vec<WritablePathSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterScopedSpec {
    pub group: String,
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SingleWritersSpec {
    /// Component classes whose workloads are single writers, each with its production practice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<StoreSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StoreSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicated_when: Option<SignalsSpec>,
    /// Why it cannot run twice, when not because copies would not share one data set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub practice: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignalsSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvSignalSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvSignalSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WritablePathSpec {
    pub image: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_paths: Vec<String>,
    /// `false` for images that cannot run with a read-only root filesystem.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub source: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadKindSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub kind: String,
    /// JSON pointer to the pod template (the object holding `metadata` and `spec`).
    pub pod_template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentFile {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: EnvironmentSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AllowDeny {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Refusals {
    Warn,
    Block,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub extends: Option<String>,
    /// The environment used when none is named.
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub overlays: Vec<String>,
    /// Pod Security Standards level enforced on namespaces (`namespace-pod-security.enforce`).
    #[serde(default)]
    pub pod_security_level: Option<Value>,
    #[serde(default)]
    pub annotation_exemptions: Option<AllowDeny>,
    /// Whether fixes temper refuses (because they would break a workload) fail an enforcing
    /// run: `warn` (the default) or `block`.
    #[serde(default)]
    pub refusals: Option<Refusals>,
    /// Per rule: a mode, or `{mode, params}`.
    #[serde(default)]
    pub rules: Map<String, Value>,
    #[serde(default)]
    pub exemptions: Vec<ExemptionSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExemptionSpec {
    pub rules: Vec<String>,
    #[serde(default)]
    pub target: TargetSpec,
    pub reason: String,
}

/// A rule's setting in an environment: `fix`, or `{mode: fix, params: {...}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetting {
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub params: Option<Value>,
}

impl RuleSetting {
    pub fn parse(value: &Value) -> Result<RuleSetting, String> {
        match value {
            Value::String(_) => Ok(RuleSetting {
                mode: Some(serde_json::from_value(value.clone()).map_err(|_| {
                    format!("`{}` is not a mode; use off, audit, fix or enforce", value.as_str().unwrap_or_default())
                })?),
                params: None,
            }),
            // YAML 1.1 reads an unquoted `off` as false.
            Value::Bool(false) => Ok(RuleSetting { mode: Some(Mode::Off), params: None }),
            _ => serde_json::from_value(value.clone()).map_err(|e| e.to_string()),
        }
    }
}
