//! The rule catalog's list, rule ids and modes: the names every record of a run uses.
//!
//! [`catalog!`] is the one list of configurable rules, in the order they run. The record needs
//! only their ids; `rules` expands the same list into its modules, documentation and builders,
//! so adding a rule is one row here and one file in `src/rules/`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Hands the catalog to `$callback` as rows `Variant => "id", module, fixes;`: the rule's
/// variant, its stable id, its module in `src/rules/`, and whether it has a fix.
macro_rules! catalog {
    ($callback:ident) => {
        $callback! {
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
            ExternalSecrets => "external-secrets", external_secrets, true;
            PlaintextSecrets => "plaintext-secrets", plaintext_secrets, false;
            EnvSecretLiterals => "env-secret-literals", env_secret_literals, false;
            ServiceAccountToken => "service-account-token", service_account_token, true;
            NodePlacement => "node-placement", node_placement, true;
            Probes => "probes", probes, false;
            RbacLeastPrivilege => "rbac-least-privilege", rbac_least_privilege, false;
            IngressTls => "ingress-tls", ingress_tls, false;
            NamespacePlacement => "namespace-placement", namespace_placement, false;
            HelmHooks => "helm-hooks", helm_hooks, false;
            NamespaceLayout => "namespace-layout", namespace_layout, false;
            Monitoring => "monitoring", monitoring, true;
            BackupSchedule => "backup-schedule", backup_schedule, true;
            SyncOrder => "sync-order", sync_order, true;
        }
    };
}
pub(crate) use catalog;

macro_rules! rule_ids {
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

            /// Whether the rule has a fix; rules without one only ever report.
            pub fn fixes(self) -> bool {
                match self {
                    $(RuleId::$variant => $fixes,)*
                    RuleId::OverlayPatch | RuleId::ComplianceStamp => true,
                }
            }
        }
    };
}

catalog!(rule_ids);

impl RuleId {
    /// Every id, for error messages listing what is known.
    pub fn known() -> String {
        RuleId::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Whether an environment can configure the rule (overlay patches and stamps are not rules).
    pub fn configurable(self) -> bool {
        !matches!(self, RuleId::OverlayPatch | RuleId::ComplianceStamp)
    }
}

impl RuleId {
    /// Reads a rule id the user gave through `from` (`the RULE argument`, ...): an unknown one
    /// is an error naming where it came from and the closest known id.
    pub fn parse_from(s: &str, from: &str) -> Result<RuleId, String> {
        RuleId::ALL
            .iter()
            .copied()
            .chain([RuleId::OverlayPatch, RuleId::ComplianceStamp])
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let close = crate::suggest::did_you_mean(s, RuleId::ALL.iter().map(|r| r.as_str()));
                let from = if from.is_empty() { String::new() } else { format!(" (from {from})") };
                format!("unknown rule `{s}`{from};{close} known rules: {}", RuleId::known())
            })
    }
}

impl FromStr for RuleId {
    type Err = String;

    fn from_str(s: &str) -> Result<RuleId, String> {
        RuleId::parse_from(s, "")
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

    /// Whether fixes are applied in this mode.
    pub fn fixes(self) -> bool {
        matches!(self, Mode::Fix | Mode::Enforce)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
