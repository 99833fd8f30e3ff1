//! A directory of manifest files, read as ArgoCD's directory source reads it.

use std::ffi::OsStr;
use std::path::Path;

use crate::error::{Error, Result};
use crate::read::{self, Input};

use super::Rendered;

/// The directory's `*.yaml`, `*.yml` and `*.json` files in name order, not recursing, as
/// ArgoCD's directory source reads them by default. Like ArgoCD, a YAML file that is not a
/// Kubernetes manifest at all (no `apiVersion:`, `kind:` and `metadata:`, and its first
/// document does not decode as an object) is skipped, so a stray `values.yaml` or
/// `.argocd-source.yaml` does not fail the application.
pub fn directory(dir: &Path) -> Result<Rendered> {
    let read_err = |e: std::io::Error| Error::Source(format!("cannot read {}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension() == Some(OsStr::new("jsonnet")) {
            // Leaving it out would silently drop its objects from the application.
            return Err(Error::Source(format!(
                "{}: jsonnet is not supported; ArgoCD's directory source would evaluate it, temper cannot",
                path.display()
            )));
        }
    }
    let mut rendered = Rendered::default();
    for file in read::manifest_files(dir)? {
        let mut inputs = read::read_inputs(std::slice::from_ref(&file))?;
        let Some(input) = inputs.pop() else { continue };
        let yaml = file.extension() != Some(OsStr::new("json"));
        if yaml && !looks_like_manifest(&input.text) && first_document_fails(&input) {
            rendered.skipped.push(file);
            continue;
        }
        rendered.inputs.push(input);
    }
    Ok(rendered)
}

fn looks_like_manifest(text: &str) -> bool {
    ["apiVersion:", "kind:", "metadata:"].iter().all(|needle| text.contains(needle))
}

fn first_document_fails(input: &Input) -> bool {
    match read::parse(std::slice::from_ref(input)) {
        Err(Error::Document { place, .. } | Error::Unrendered { place, .. }) => place.number <= 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_yaml_files_are_recognised() {
        let values = Input::new("values.yaml", "replicaCount: 2\nimage: {tag: x}\n");
        assert!(!looks_like_manifest(&values.text) && first_document_fails(&values));
        let broken = Input::new("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n");
        assert!(looks_like_manifest(&broken.text), "a broken manifest is still a manifest: its error is reported");
        let later = Input::new("two.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nfoo: 1\n");
        assert!(!first_document_fails(&later), "only the first document decides, as in ArgoCD");
    }
}
