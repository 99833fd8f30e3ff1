//! The rule catalog, which the rules stage (`check.rs`) runs. Each rule lives in its own file
//! with its doc, its parameters and its logic; this module expands the catalog's list
//! (`record::catalog!`) into those modules, in the order they run on every resource.
//!
//! A rule checks one resource at a time through a [`Cx`], which decides from the mode and
//! the exemptions whether a fix is applied or a violation reported, and records either. Rules
//! that add objects (PodDisruptionBudgets, NetworkPolicies, ResourceQuotas) do so once per run
//! in [`Rule::generate`], after every resource was checked.
//!
//! **Invariant:** rules never change a value the author set, with one exception
//! (`minimum-replicas` raises replica counts); they only fill what is absent.
//! **Invariant:** every change a rule makes goes through [`Cx`] and is recorded.

mod compliance_stamp;
mod cx;
mod gx;
mod overlay_patch;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::knowledge::Knowledge;
use crate::record::{RuleId, catalog};

pub use cx::{Cx, Fill, Subject};
pub use gx::{Generation, Gx, Stream, Taken, Target};

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

    /// Completes an object a generating rule added, before it is checked, when this rule
    /// fixes: what the rule would fill on a resource of the stream (`sync-order`: the wave of
    /// the object's layer), so that a check of the output finds it filled, and rendering the
    /// output again adds nothing.
    fn decorate(&self, obj: &mut Value, knowledge: &Knowledge) {
        let _ = (obj, knowledge);
    }

    /// Checks what serde cannot: parameters that depend on each other. The message names the
    /// parameter; configuration reports it as an error.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Regular expressions as strings in the configuration.
pub(crate) mod pattern {
    use regex::Regex;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(re: &Regex, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(re.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Regex, D::Error> {
        let text = String::deserialize(d)?;
        Regex::new(&text).map_err(serde::de::Error::custom)
    }
}

/// Lists of regular expressions as lists of strings in the configuration.
pub(crate) mod patterns {
    use regex::Regex;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(list: &[Regex], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(Regex::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Regex>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts.iter().map(|t| Regex::new(t).map_err(serde::de::Error::custom)).collect()
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
    typed.validate()?;
    let resolved = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    Ok((Box::new(typed), resolved))
}

/// The rule modules, each rule's documentation and its builder, from the catalog's rows.
macro_rules! rule_modules {
    ($($variant:ident => $id:literal, $module:ident, $fixes:literal;)*) => {
        $(mod $module;)*

        impl RuleId {
            /// The rule's documentation, in markdown; its first line is the summary.
            pub fn doc(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $module::DOC,)*
                    RuleId::OverlayPatch => overlay_patch::DOC,
                    RuleId::ComplianceStamp => compliance_stamp::DOC,
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

catalog!(rule_modules);

impl RuleId {
    /// The one-line summary: the doc's first line without its heading marker.
    pub fn summary(self) -> &'static str {
        self.doc().lines().next().unwrap_or_default().trim_start_matches('#').trim()
    }
}
