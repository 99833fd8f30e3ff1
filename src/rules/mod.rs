//! Stage 3, rules: the catalog. Each rule lives in its own file with its doc, its parameters
//! and its logic; this module lists them, in the order they run on every resource.
//!
//! A rule checks one resource at a time through a [`Cx`], which decides from the mode and
//! the exemptions whether a fix is applied or a violation reported, and records either. Rules
//! that add objects (PodDisruptionBudgets, NetworkPolicies, ResourceQuotas) do so once per run
//! in [`Rule::generate`], after every resource was checked.
//!
//! **Invariant:** rules never change a value the author set, with one exception
//! (`minimum-replicas` raises replica counts); they only fill what is absent.
//! **Invariant:** every change a rule makes goes through [`Cx`] and is recorded.

mod cx;
mod workload;

mod container_security_context;
mod env_secret_literals;
mod host_isolation;
mod image_pull_policy;
mod image_pull_secrets;
mod image_tag;
mod ingress_tls;
mod minimum_replicas;
mod namespace_placement;
mod namespace_pod_security;
mod network_policy;
mod node_placement;
mod overlay_patch;
mod plaintext_secrets;
mod pod_anti_affinity;
mod pod_disruption_budget;
mod pod_security_context;
mod probes;
mod rbac_least_privilege;
mod resource_quota;
mod resource_requirements;
mod restricted_volumes;
mod service_account_token;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use cx::{
    Change, Cx, ExemptionSource, ExemptionUse, Fill, Findings, Generated, Generation, Gx, Identity, Op, Severity,
    Violation, Waiver, insert,
};
pub use workload::{Classes, ContainerSlot, Workload, WorkloadFacts, WorkloadKinds, containers, workload_kind};

/// What an environment asks of a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The rule does not run.
    #[default]
    Off,
    /// Violations are reported; nothing is changed.
    Audit,
    /// Safe fixes are applied; what cannot be fixed is reported.
    Fix,
    /// Fix, then fail the run if a violation remains that is not exempted.
    Enforce,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Audit => "audit",
            Mode::Fix => "fix",
            Mode::Enforce => "enforce",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hardening rule, built from its parameters.
pub trait Rule: Send + Sync + fmt::Debug {
    /// Checks one resource and, when the context allows it, fixes it.
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let _ = (cx, obj);
    }

    /// Adds the objects the stream lacks. Runs once, after every resource was checked.
    fn generate(&self, gx: &mut Gx<'_>) {
        let _ = gx;
    }
}

/// Builds a rule from its parameters, returning it with its fully resolved parameters.
type Build = fn(&Value) -> Result<(Box<dyn Rule>, Value), String>;

fn build<P>(params: &Value) -> Result<(Box<dyn Rule>, Value), String>
where
    P: Rule + serde::de::DeserializeOwned + Serialize + 'static,
{
    let typed: P = serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        if path == "." { e.inner().to_string() } else { format!("{path}: {}", e.inner()) }
    })?;
    let resolved = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    Ok((Box::new(typed), resolved))
}

macro_rules! catalog {
    ($($variant:ident => $id:literal, $module:ident, $fixes:literal;)*) => {
        /// A rule's stable identifier.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId {
            $($variant,)*
            /// Changes made by overlay patches, which are configuration rather than a rule.
            OverlayPatch,
            /// The compliance annotations `--stamp` adds.
            ComplianceStamp,
        }

        impl RuleId {
            /// Every configurable rule, in the order they run.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $id,)*
                    RuleId::OverlayPatch => "overlay-patch",
                    RuleId::ComplianceStamp => "compliance-stamp",
                }
            }

            /// The rule's documentation, in markdown; its first line is the summary.
            pub fn doc(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $module::DOC,)*
                    RuleId::OverlayPatch => overlay_patch::DOC,
                    RuleId::ComplianceStamp => overlay_patch::STAMP_DOC,
                }
            }

            /// Whether the rule has a fix; rules without one only ever report.
            pub fn fixes(self) -> bool {
                match self {
                    $(RuleId::$variant => $fixes,)*
                    RuleId::OverlayPatch | RuleId::ComplianceStamp => true,
                }
            }

            /// Builds the rule from its parameters (missing ones take their defaults).
            pub fn build(self, params: &Value) -> Result<(Box<dyn Rule>, Value), String> {
                let build: Build = match self {
                    $(RuleId::$variant => build::<$module::Params>,)*
                    RuleId::OverlayPatch | RuleId::ComplianceStamp => {
                        return Err(format!("`{self}` is not a configurable rule"));
                    }
                };
                build(params)
            }
        }
    };
}

catalog! {
    PodSecurityContext => "pod-security-context", pod_security_context, true;
    ContainerSecurityContext => "container-security-context", container_security_context, true;
    HostIsolation => "host-isolation", host_isolation, false;
    RestrictedVolumes => "restricted-volumes", restricted_volumes, false;
    NamespacePodSecurity => "namespace-pod-security", namespace_pod_security, true;
    ResourceRequirements => "resource-requirements", resource_requirements, true;
    MinimumReplicas => "minimum-replicas", minimum_replicas, true;
    PodAntiAffinity => "pod-anti-affinity", pod_anti_affinity, true;
    PodDisruptionBudget => "pod-disruption-budget", pod_disruption_budget, true;
    NetworkPolicy => "network-policy", network_policy, true;
    ResourceQuota => "resource-quota", resource_quota, true;
    ImagePullPolicy => "image-pull-policy", image_pull_policy, true;
    ImageTag => "image-tag", image_tag, false;
    ImagePullSecrets => "image-pull-secrets", image_pull_secrets, true;
    PlaintextSecrets => "plaintext-secrets", plaintext_secrets, false;
    EnvSecretLiterals => "env-secret-literals", env_secret_literals, false;
    ServiceAccountToken => "service-account-token", service_account_token, true;
    NodePlacement => "node-placement", node_placement, true;
    Probes => "probes", probes, false;
    RbacLeastPrivilege => "rbac-least-privilege", rbac_least_privilege, false;
    IngressTls => "ingress-tls", ingress_tls, false;
    NamespacePlacement => "namespace-placement", namespace_placement, false;
}

impl RuleId {
    /// The one-line summary: the doc's first line without its heading marker.
    pub fn summary(self) -> &'static str {
        self.doc().lines().next().unwrap_or_default().trim_start_matches('#').trim()
    }

    /// Every id, for error messages listing what is known.
    pub fn known() -> String {
        RuleId::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl FromStr for RuleId {
    type Err = String;

    fn from_str(s: &str) -> Result<RuleId, String> {
        RuleId::ALL
            .iter()
            .copied()
            .chain([RuleId::OverlayPatch, RuleId::ComplianceStamp])
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown rule `{s}`; known rules: {}", RuleId::known()))
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RuleId, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
