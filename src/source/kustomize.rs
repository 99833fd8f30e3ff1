//! `kustomize build .`, or `kubectl kustomize .` when only kubectl is installed.

use std::path::PathBuf;

use crate::error::Result;

use super::Rendered;
use super::program::{self, Deadline};

/// The program that builds a kustomization.
#[derive(Debug, Clone)]
pub enum Kustomize {
    /// A `kustomize` binary: `kustomize build .`.
    Standalone(PathBuf),
    /// `kubectl`: `kubectl kustomize .`.
    Kubectl(PathBuf),
}

/// Builds the kustomization in the current directory.
pub fn kustomize(tool: &Kustomize, deadline: &Deadline) -> Result<Rendered> {
    let (program, argv, what) = match tool {
        Kustomize::Standalone(path) => (path, ["build", "."], "kustomize build"),
        Kustomize::Kubectl(path) => (path, ["kustomize", "."], "kubectl kustomize"),
    };
    let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    let mut rendered = Rendered::default();
    rendered.inputs.push(program::run(program, &argv, what, deadline, &mut rendered.notes)?);
    Ok(rendered)
}
