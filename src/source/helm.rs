//! `helm template` of the chart in the current directory.

use std::path::Path;

use crate::error::Result;

use super::Rendered;
use super::program::{self, Deadline};

/// What `helm template` is asked for.
#[derive(Debug, Clone, Default)]
pub struct HelmTemplate {
    pub release: String,
    pub namespace: Option<String>,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// Values files, relative to the chart directory.
    pub values_files: Vec<String>,
    /// `--set` values, in order.
    pub set: Vec<(String, String)>,
}

impl HelmTemplate {
    /// Renders the chart with `helm`.
    pub fn run(&self, helm: &Path, deadline: &Deadline) -> Result<Rendered> {
        let mut rendered = Rendered::default();
        rendered.inputs.push(program::run(helm, &self.args(), "helm template", deadline, &mut rendered.notes)?);
        Ok(rendered)
    }

    /// `helm template` arguments. CRDs are included, as ArgoCD's own Helm source includes
    /// them (it runs `helm template --include-crds` unless told to skip them).
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec!["template".into(), self.release.clone(), ".".into(), "--include-crds".into()];
        if let Some(ns) = &self.namespace {
            args.extend(["--namespace".into(), ns.clone()]);
        }
        if let Some(version) = &self.kube_version {
            args.extend(["--kube-version".into(), version.clone()]);
        }
        for api in &self.api_versions {
            args.extend(["--api-versions".into(), api.clone()]);
        }
        for file in &self.values_files {
            args.extend(["--values".into(), file.clone()]);
        }
        for (key, value) in &self.set {
            args.extend(["--set".into(), format!("{key}={}", escape_set_value(value))]);
        }
        args
    }
}

/// `--set` splits values on commas. Escape those not already escaped, unless the value is a
/// `{a,b}` list, exactly as ArgoCD does for its Helm source's parameters.
fn escape_set_value(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut previous = None;
    for c in value.chars() {
        if c == ',' && previous != Some('\\') {
            out.push('\\');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_escape_commas_as_argocd_does() {
        assert_eq!(escape_set_value("a,b"), r"a\,b");
        assert_eq!(escape_set_value(r"a\,b"), r"a\,b");
        assert_eq!(escape_set_value("{a,b}"), "{a,b}");
        assert_eq!(escape_set_value("plain"), "plain");
    }
}
