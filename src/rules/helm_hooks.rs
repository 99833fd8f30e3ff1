//! `helm-hooks`: Helm hooks in the stream, which `helm install` never post-renders.

use serde::{Deserialize, Serialize};

use crate::object::ResourceId;
use crate::pointer::Pointer;

use super::{Gx, Rule};

pub const DOC: &str = r#"Reports Helm hooks in the stream, once per namespace: `helm install` and `helm upgrade` never send hooks to a post-renderer.

## What it does
Lists, per namespace, the objects annotated `helm.sh/hook`.
They are in the stream when it comes from `helm template` (a CI check, or ArgoCD, which runs hooks as its own sync hooks and so hardens them), but Helm 3 splits hooks off before it runs a post-renderer: installed with `helm install --post-renderer temper`, these objects reach the cluster as the chart wrote them.

## Why
A hook is usually a Job with full access to the release's secrets, run before the hardened workloads exist; it is easy to forget that it never went through the post-renderer.
A namespace quota from `resource-quota` also applies to hooks, which is why every quota comes with a LimitRange.

## Example
```yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-upgrade
```
gives `Helm hooks in shop (Job/migrate): helm install and upgrade do not post-render hooks ...`.

## Parameters
None.
"#;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl Rule for Params {
    fn generate(&self, gx: &mut Gx<'_>) {
        for (ns, hooks) in gx.index.hooks() {
            let shown = ns.clone().or_else(|| gx.index.release_namespace.clone());
            let message = format!(
                "Helm hooks in {} ({}): helm install and upgrade do not post-render hooks, so there they run as the chart wrote them; harden them in the chart, or check them with helm template | temper check",
                shown.as_deref().unwrap_or("the release namespace"),
                hooks.join(", ")
            );
            gx.violation(&ResourceId::of_namespace(ns), None, Pointer::root(), message);
        }
    }
}
