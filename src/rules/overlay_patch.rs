//! `overlay-patch`: not a rule, but the name changes made by overlay patches are attributed to.

pub const DOC: &str = r#"Changes made by an overlay's patches: organisation-specific edits that are configuration, not hardening rules.

## What it does
Overlays may carry `patches`, each with a `target` selector (`apiVersion`, `group`, `kind`, `name` as a regular expression, `namespace`, `labelSelector`, `annotationSelector`) and one of:
- `jsonPatch`: RFC 6902 operations;
- `mergePatch`: an RFC 7396 merge patch;
- `containerPatch`: a merge patch applied to every container and init container of every matching pod spec, which one kustomize patch cannot express.
  Lists of named items (`env`, `volumeMounts`, named `ports`) merge item by item on `name`, as Kubernetes' strategic merge does, so adding one variable keeps the others; other lists are replaced, as in RFC 7396.

Patches run before the rules, in overlay order, so rules see (and never undo) what they set.
A JSON patch whose path does not exist fails the run with an error naming the overlay, the patch and the document, unless the patch is marked `optional: true`.
Every field a patch changes is reported with the rule id `overlay-patch` and the overlay's name.

## Example
```yaml
apiVersion: temper.dev/v1alpha1
kind: Overlay
metadata:
  name: team-labels
spec:
  patches:
  - target: {kind: Deployment}
    mergePatch:
      metadata:
        labels:
          team: payments
  - target: {kind: Deployment, name: "^api$"}
    containerPatch:
      env:
      - name: LOG_FORMAT
        value: json
```
"#;
