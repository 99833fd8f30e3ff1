//! Input sources: turning an application directory into manifests the way a deployment tool
//! would (a kustomization, else a Helm chart, else the plain manifest files), by running
//! `kustomize` or `helm` without a shell, or reading the files.
//!
//! This is what an integration needs before the pipeline can run: `temper argocd generate`
//! uses it today, and another integration (Flux, a CI action) would use the same pieces.
//! Deciding which values files or parameters an application may use is the integration's
//! business, not this module's.

mod directory;
mod helm;
mod kustomize;
mod program;

use std::path::{Path, PathBuf};

use crate::read::Input;

pub use directory::directory;
pub use helm::HelmTemplate;
pub use kustomize::{Kustomize, kustomize};
pub use program::{Deadline, find_program};

/// What kind of application a directory holds, decided as ArgoCD decides it: a kustomization
/// file wins over a `Chart.yaml` beside it.
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// A kustomization, with the name of its file.
    Kustomize(&'static str),
    Helm,
    Directory,
}

impl Source {
    pub fn detect(dir: &Path) -> Source {
        for file in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
            if dir.join(file).is_file() {
                return Source::Kustomize(file);
            }
        }
        if dir.join("Chart.yaml").is_file() { Source::Helm } else { Source::Directory }
    }
}

/// What a source produced: the manifests, what the renderer said on stderr when it
/// succeeded (for the log), and the files a directory source skipped.
#[derive(Debug, Default)]
pub struct Rendered {
    pub inputs: Vec<Input>,
    pub notes: String,
    pub skipped: Vec<PathBuf>,
}
