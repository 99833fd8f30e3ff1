//! `backup-schedule`: a daily Velero backup of every namespace that holds volumes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::index::Holds;
use crate::object::ResourceId;
use crate::pointer::Pointer;

use super::{Gx, Rule, Target};

pub const DOC: &str = r#"Adds a Velero Schedule that backs up, every day, each namespace where the release keeps data.

## What it does
Off until `storageLocation` is set. Then every namespace the release's workloads run in that holds PersistentVolumeClaims (or StatefulSets with `volumeClaimTemplates`) and that no Velero Schedule of the stream backs up gets a `velero.io/v1` Schedule in `veleroNamespace`, named after `name`:
`schedule` (daily), a backup template with `includedNamespaces: [<namespace>]`, `ttl`, `storageLocation`, the volume backup method (`snapshotVolumes: true`, or `defaultVolumesToFsBackup: true` for `fs-backup`), `volumeSnapshotLocations` when given, and `metadata.labels: {}`, so that Backups do not copy the Schedule's labels (an ArgoCD tracking label on them would make ArgoCD prune them).
With `preSyncBackup`, also a Backup of the namespace as an ArgoCD `PreSync` hook, which ArgoCD runs before every sync and waits for (its health is the backup's phase); its name ends in a digest of the images the namespace runs, so a sync that upgrades them takes a new backup and rendering again adds none.

## Why
Backups: daily and before upgrades, kept at least 30 days, stored off the cluster. Velero's default `ttl` is 720h (30 days); the storage location is where they leave the cluster.
A PreSync hook blocks the sync until the backup has completed, and fails it if the backup fails.
Helm cannot do the same from a post-renderer: Helm 3 splits hooks off before it post-renders, so a hook temper adds is applied as a regular object, and Helm does not wait for a hook that is not a Job or a Pod. With Helm, keep `preSyncBackup` off and run `velero backup create --from-schedule <schedule> --wait` from a pre-upgrade Job in the chart.

## Example
With `storageLocation: default`:
```yaml before
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: db
  namespace: shop
spec:
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: example/db:1.0
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
```
```yaml after
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: db
  namespace: shop
spec:
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: example/db:1.0
      volumes:
      - name: data
        persistentVolumeClaim:
          claimName: data
---
apiVersion: velero.io/v1
kind: Schedule
metadata:
  name: shop-daily
  namespace: velero
  labels:
    app.kubernetes.io/created-by: temper
  annotations:
    temper.dev/rule: backup-schedule
spec:
  schedule: 0 3 * * *
  template:
    includedNamespaces: [shop]
    ttl: 720h0m0s
    storageLocation: default
    snapshotVolumes: true
    metadata:
      labels: {}
```

## Refuses
- No Schedule for the release namespace while temper was not told its name: a Schedule names the namespaces it backs up. Pass `--namespace`.

## Parameters
- `storageLocation` (default `null`: the rule does nothing): the Velero BackupStorageLocation.
- `veleroNamespace` (default `velero`).
- `name` (default `{namespace}-daily`): `{namespace}` is the backed-up namespace.
- `schedule` (default `0 3 * * *`): a cron expression, in Velero's time zone.
- `ttl` (default `720h0m0s`).
- `volumeBackup` (default `snapshot`): `snapshot` (volume snapshots, through the volume snapshot locations) or `fs-backup` (file-system backup of every pod volume, through Velero's node agent).
- `volumeSnapshotLocations` (default `[]`).
- `preSyncBackup` (default `false`): also a Backup as an ArgoCD PreSync hook (ArgoCD only).
- `excludeNamespaces` (default `[kube-system, kube-public, kube-node-lease]`).

## Not fixed
- Velero itself, its storage location and its volume snapshot locations must exist; under Helm or ArgoCD the release must be allowed to create objects in `veleroNamespace`.
- Two releases in one namespace both render its Schedule, and Helm refuses the second as owned by the first: set `name` per release, or exempt one.
- A volume snapshot of a running database is only crash-consistent: prefer the database operator's own backups for its data.
"#;

/// How Velero backs up volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeBackup {
    Snapshot,
    FsBackup,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub storage_location: Option<String>,
    pub velero_namespace: String,
    pub name: String,
    pub schedule: String,
    pub ttl: String,
    pub volume_backup: VolumeBackup,
    pub volume_snapshot_locations: Vec<String>,
    pub pre_sync_backup: bool,
    pub exclude_namespaces: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            storage_location: None,
            velero_namespace: "velero".into(),
            name: "{namespace}-daily".into(),
            schedule: "0 3 * * *".into(),
            ttl: "720h0m0s".into(),
            volume_backup: VolumeBackup::Snapshot,
            volume_snapshot_locations: Vec::new(),
            pre_sync_backup: false,
            exclude_namespaces: ["kube-system", "kube-public", "kube-node-lease"].map(String::from).to_vec(),
        }
    }
}

/// A Go duration (`720h0m0s`, `90m`): numbers with `h`, `m`, `s`, `ms`, `us` or `ns`.
fn go_duration(text: &str) -> bool {
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').len();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ms", "us", "ns", "h", "m", "s"].into_iter().find(|u| rest.starts_with(u)) else { return false };
        rest = &rest[unit.len()..];
    }
    !text.is_empty()
}

/// A name Kubernetes accepts: lower-case letters, digits, `-` and `.`, at most 253.
fn dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl Rule for Params {
    fn validate(&self) -> Result<(), String> {
        let fields = self.schedule.split_whitespace().count();
        if !(fields == 5 || self.schedule.trim_start().starts_with('@') && fields == 1) {
            return Err(format!("schedule: `{}` is not a cron expression (five fields, or @daily)", self.schedule));
        }
        if !go_duration(&self.ttl) {
            return Err(format!("ttl: `{}` is not a duration such as 720h0m0s", self.ttl));
        }
        if !self.name.contains("{namespace}") {
            return Err(format!("name: `{}` needs {{namespace}}, or every namespace's Schedule would have one name", self.name));
        }
        if !dns_name(&self.name.replace("{namespace}", "ns")) {
            return Err(format!("name: `{}` does not make a Kubernetes name", self.name));
        }
        if !dns_name(&self.velero_namespace) {
            return Err(format!("veleroNamespace: `{}` is not a namespace name", self.velero_namespace));
        }
        if self.storage_location.as_deref().is_some_and(str::is_empty) {
            return Err("storageLocation: name the BackupStorageLocation, or leave it null to turn the rule off".into());
        }
        Ok(())
    }

    fn generate(&self, gx: &mut Gx<'_>) {
        let Some(location) = &self.storage_location else { return };
        // The images each namespace runs, for the names of pre-sync Backups.
        let mut images: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
        for w in gx.workloads {
            images.entry(w.namespace.clone()).or_default().extend(w.images.iter().map(String::as_str));
        }
        for Target { namespace: ns, .. } in gx.target_namespaces(&self.exclude_namespaces, "a backup Schedule") {
            if gx.index.storage(&ns) != Holds::Yes {
                continue;
            }
            let Some(name) = ns.clone() else {
                let message = "no backup Schedule for the release namespace, which holds volumes: a Schedule names the namespaces it backs up, and temper was not told this one; pass the release namespace with --namespace (Helm: --post-renderer-args --namespace=NAMESPACE)".to_string();
                gx.refuse(&ResourceId::of_namespace(&ns), None, Pointer::root(), message);
                continue;
            };
            if gx.index.backed_up(&name) {
                continue;
            }
            let mut template = json!({
                "includedNamespaces": [name],
                "ttl": self.ttl,
                "storageLocation": location,
            });
            match self.volume_backup {
                VolumeBackup::Snapshot => template["snapshotVolumes"] = json!(true),
                VolumeBackup::FsBackup => template["defaultVolumesToFsBackup"] = json!(true),
            }
            if !self.volume_snapshot_locations.is_empty() {
                template["volumeSnapshotLocations"] = json!(self.volume_snapshot_locations);
            }
            let backup_spec = template.clone();
            template["metadata"] = json!({"labels": {}});
            let schedule_name = self.name.replace("{namespace}", &name);
            let schedule = json!({
                "apiVersion": "velero.io/v1",
                "kind": "Schedule",
                "metadata": {"name": schedule_name, "namespace": self.velero_namespace},
                "spec": {"schedule": self.schedule, "template": template},
            });
            let about = ResourceId::of_namespace(&ns);
            if !gx.free(&schedule) {
                continue;
            }
            if !gx.add(schedule, &about, None, "namespace holds volumes and no Velero Schedule backs it up".into()) {
                continue;
            }
            if self.pre_sync_backup {
                let backup = json!({
                    "apiVersion": "velero.io/v1",
                    "kind": "Backup",
                    "metadata": {
                        "name": format!("{schedule_name}-pre-sync-{}", images_digest(images.get(&ns).cloned().unwrap_or_default())),
                        "namespace": self.velero_namespace,
                        "annotations": {"argocd.argoproj.io/hook": "PreSync"},
                    },
                    "spec": backup_spec,
                });
                if gx.free(&backup) {
                    gx.add(backup, &about, None, "no backup is taken before a sync".into());
                }
            }
        }
    }
}

/// Eight hex digits of the images the namespace's workloads run, sorted: what changes when a
/// release is upgraded, and stays the same when its output is rendered again.
fn images_digest(mut images: Vec<&str>) -> String {
    images.sort_unstable();
    images.dedup();
    let digest = Sha256::digest(images.join("\n").as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_names() {
        assert!(go_duration("720h0m0s") && go_duration("90m") && go_duration("1.5h"));
        assert!(!go_duration("30d") && !go_duration("") && !go_duration("h"));
        assert!(dns_name("shop-daily") && !dns_name("Shop") && !dns_name("-a"));
    }
}
