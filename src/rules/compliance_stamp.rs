//! `compliance-stamp`: not a rule, but the name the annotations `--stamp` adds are attributed to.

pub const DOC: &str = r#"The compliance annotations `temper render --stamp` adds to every output resource.

## What it does
Adds to the top-level metadata of every output resource (never to pod templates, which would restart pods):
`temper.dev/environment`, `temper.dev/compliance-hash`, `temper.dev/policy-digest`, `temper.dev/input-digest` and `temper.dev/object-digest` (the digest of this resource's canonical form).
The hash is computed without these annotations, so stamping does not change it.
`temper verify --stamped FILE` checks a stamped stream against its stamps and names the first resource that was modified.
See `docs/compliance-hash.md` for the definition.

## Example
```yaml
metadata:
  name: web
  annotations:
    temper.dev/environment: prod
    temper.dev/compliance-hash: sha256:5d1c…
    temper.dev/policy-digest: sha256:a07e…
    temper.dev/input-digest: sha256:31f0…
    temper.dev/object-digest: sha256:c2b9…
```
"#;
