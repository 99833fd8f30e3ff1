//! `sync-order`: ArgoCD sync waves by layer, infrastructure to data to application to
//! observability, never ahead of what a workload needs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::index::{Dependent, SYNC_WAVE, is_hook};
use crate::knowledge::Knowledge;
use crate::object;
use crate::pointer::Pointer;
use crate::workload::class_of;

use super::{Cx, Rule};

pub const DOC: &str = r#"Sets `argocd.argoproj.io/sync-wave` on every object by its layer, so that ArgoCD applies infrastructure, then data, then the application, then observability.

## What it does
Off until `waves` gives a wave to at least one layer. Each object gets the wave of its layer, unless it has a wave already (an explicit wave is kept):
- `infrastructure`: the kinds and labels of `layers.infrastructure` (the built-in `operations` overlay lists CRDs, Namespaces, RBAC, ServiceAccounts, quotas and limit ranges, NetworkPolicies, PodDisruptionBudgets, priority and storage classes, PersistentVolumes, secret stores, ExternalSecrets and SecretProviderClasses, cert-manager issuers);
- `observability`: the kinds and labels of `layers.observability` (ServiceMonitors, PodMonitors, Probes, PrometheusRules, Grafana dashboards, ConfigMaps labelled `grafana_dashboard`);
- `data`: workloads whose component class is in `dataClasses` (`database`, `cache`, `queue`), and other objects (Services, Secrets, ConfigMaps) whose `app.kubernetes.io/component` or `component` label or name says one of those classes;
- `application`: everything else (other workloads, their Services, Ingresses, routes).

A wave never makes a workload wait for what it needs: ArgoCD starts a wave only when every object of the previous ones is healthy, so a Secret, ConfigMap, ServiceAccount or claim applied after a workload that needs it would hold the sync forever. Such an object gets the earliest wave of the workloads that need it when that is earlier than its layer's; a PersistentVolumeClaim gets exactly the wave of the first workload that mounts it (a claim of a `WaitForFirstConsumer` storage class stays `Pending`, which ArgoCD reads as progressing, until a pod uses it); a workload comes no earlier than the latest wave set on what it needs.
Hooks (`helm.sh/hook`, `argocd.argoproj.io/hook`) are left alone: their phase orders them. Objects temper generates get their layer's wave when they are generated.

## Why
The production guides upgrade one layer at a time, in dependency order: infrastructure, then data, then the application, then observability, so that a database is up before the application migrates it, and an ExternalSecret is synced before the pods that read its Secret start.
Helm has no layers of its own: it applies regular resources in one fixed order by kind (`InstallOrder` in `pkg/releaseutil/kind_sorter.go`, Helm 3.21: PriorityClass, Namespace, NetworkPolicy, ResourceQuota, LimitRange, PodSecurityPolicy, PodDisruptionBudget, ServiceAccount, Secret, SecretList, ConfigMap, StorageClass, PersistentVolume, PersistentVolumeClaim, CustomResourceDefinition, ClusterRole(List), ClusterRoleBinding(List), Role(List), RoleBinding(List), Service, DaemonSet, Pod, ReplicationController, ReplicaSet, Deployment, HorizontalPodAutoscaler, StatefulSet, Job, CronJob, IngressClass, Ingress, APIService; Helm 4 adds the webhook configurations at the end), every kind it does not know last, and it never waits between kinds: a database Deployment and the application Deployment start together. Helm 3 applies a post-renderer's output in the order of the stream without sorting it again, and `--wait` waits only once everything is applied. A Helm user gets layering only from ArgoCD (these waves), from hooks (`helm.sh/hook` with `helm.sh/hook-weight`, which order only hooks), or from separate releases.

## Example
With `waves: {infrastructure: -10, data: -5, application: 0, observability: 5}`:
```yaml before
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgresql
spec:
  serviceName: postgresql
  selector:
    matchLabels:
      app: postgresql
  template:
    metadata:
      labels:
        app: postgresql
    spec:
      containers:
      - name: postgresql
        image: postgres:16.4
```
```yaml after
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  annotations:
    argocd.argoproj.io/sync-wave: "-10"
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgresql
  annotations:
    argocd.argoproj.io/sync-wave: "-5"
spec:
  serviceName: postgresql
  selector:
    matchLabels:
      app: postgresql
  template:
    metadata:
      labels:
        app: postgresql
    spec:
      containers:
      - name: postgresql
        image: postgres:16.4
```

## Refuses
Nothing: an object that a workload needs is moved earlier, and a workload later, rather than making a wave wait for something a later wave brings.

## Parameters
- `waves` (default `{}`: the rule does nothing): the wave of each layer (`infrastructure`, `data`, `application`, `observability`); a layer without one is left alone. They must not decrease in that order.
- `layers`: `infrastructure` and `observability`, each with `kinds` (`Kind` for the core group, `group/Kind`, or `group/*`) and `labels` (label keys); the built-in `operations` overlay sets them.
- `dataClasses` (default `[database, cache, queue]`).

## Not fixed
- ArgoCD orders waves within one Application only: layers in separate Applications need an app of apps with waves of its own.
- A later wave waits for the health of the earlier ones: an Ingress whose controller never reports an address, or an ExternalSecret whose remote secret does not exist, holds back the waves after it, as it should.
"#;

/// The layers, in the order they are synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Infrastructure,
    Data,
    Application,
    Observability,
}

/// The kinds and labels that put an object in a layer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct LayerSpec {
    pub kinds: Vec<String>,
    pub labels: Vec<String>,
}

impl LayerSpec {
    fn holds(&self, group: &str, kind: &str, labels: &serde_json::Map<String, Value>) -> bool {
        self.kinds.iter().any(|k| match k.rsplit_once('/') {
            Some((g, "*")) => g == group,
            Some((g, k)) => g == group && k == kind,
            None => group.is_empty() && k == kind,
        }) || self.labels.iter().any(|l| labels.contains_key(l))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Layers {
    pub infrastructure: LayerSpec,
    pub observability: LayerSpec,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub waves: BTreeMap<Layer, i64>,
    pub layers: Layers,
    pub data_classes: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            waves: BTreeMap::new(),
            layers: Layers::default(),
            data_classes: ["database", "cache", "queue"].map(String::from).to_vec(),
        }
    }
}

fn annotation() -> Pointer {
    Pointer::root().key("metadata").key("annotations").key(SYNC_WAVE)
}

impl Params {
    /// The layer of an object of `group`/`kind` with `labels`, whose component class is `class`.
    fn layer(&self, group: &str, kind: &str, labels: &serde_json::Map<String, Value>, class: Option<&str>) -> Layer {
        if self.layers.infrastructure.holds(group, kind, labels) {
            Layer::Infrastructure
        } else if self.layers.observability.holds(group, kind, labels) {
            Layer::Observability
        } else if class.is_some_and(|c| self.data_classes.iter().any(|d| d == c)) {
            Layer::Data
        } else {
            Layer::Application
        }
    }

    /// The wave ArgoCD gives an object of `layer`: its configured wave, else the default 0.
    fn wave(&self, layer: Layer) -> i64 {
        self.waves.get(&layer).copied().unwrap_or(0)
    }

    /// The wave a workload ends up with: its own, else its layer's, but never before what it
    /// needs.
    fn dependent_wave(&self, d: &Dependent) -> i64 {
        if let Some(w) = d.wave {
            return w;
        }
        let own = self.wave(self.layer(d.id.group(), d.id.kind(), &serde_json::Map::new(), Some(&*d.class)));
        own.max(d.needs_wave.unwrap_or(i64::MIN))
    }
}

impl Rule for Params {
    fn validate(&self) -> Result<(), String> {
        let mut previous: Option<(Layer, i64)> = None;
        for (&layer, &wave) in &self.waves {
            if let Some((before, at)) = previous
                && wave < at
            {
                return Err(format!(
                    "waves: {} ({wave}) would be synced before {} ({at}); the layers go infrastructure, data, application, observability",
                    name(layer),
                    name(before)
                ));
            }
            previous = Some((layer, wave));
        }
        for (field, spec) in [("infrastructure", &self.layers.infrastructure), ("observability", &self.layers.observability)] {
            if let Some(k) = spec.kinds.iter().find(|k| k.is_empty() || k.starts_with('/') || k.ends_with('/')) {
                return Err(format!("layers.{field}.kinds: `{k}` is not `Kind`, `group/Kind` or `group/*`"));
            }
        }
        Ok(())
    }

    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        if self.waves.is_empty() || is_hook(obj) {
            return;
        }
        let group = object::group(obj).to_string();
        let kind = object::kind(obj).to_string();
        let labels = object::labels(obj).clone();
        let name = object::name(obj).to_string();
        let class = match cx.workload {
            Some(w) => Some(w.class.clone()),
            None => class_of(&cx.knowledge.classes, &labels, &name),
        };
        let layer = self.layer(&group, &kind, &labels, class.as_deref());
        let configured = self.waves.get(&layer).copied();
        let ns = cx.index.namespace_of(obj);
        // What workloads need is found by what it was in the input (a Secret an earlier rule
        // turned into an ExternalSecret is still the Secret they read).
        let needed: Vec<&Dependent> = cx.index.needed_by(&ns, cx.id.kind(), &cx.id.name).collect();
        let wave = if let Some(d) = cx.index.dependent(cx.id) {
            configured.map(|w| w.max(d.needs_wave.unwrap_or(i64::MIN)))
        } else if needed.is_empty() {
            configured
        } else {
            let earliest = needed.iter().map(|d| self.dependent_wave(d)).min().unwrap_or(0);
            if *cx.id.kind() == *"PersistentVolumeClaim" && cx.id.group().is_empty() {
                Some(earliest)
            } else {
                let own = self.wave(layer);
                Some(own.min(earliest)).filter(|w| configured.is_some() || *w != own)
            }
        };
        if let Some(wave) = wave {
            cx.fill(obj, &annotation(), json!(wave.to_string()));
        }
    }

    fn decorate(&self, obj: &mut Value, knowledge: &Knowledge) {
        if self.waves.is_empty() || is_hook(obj) || obj.pointer(annotation().as_str()).is_some() {
            return;
        }
        let group = object::group(obj).to_string();
        let labels = object::labels(obj).clone();
        let class = class_of(&knowledge.classes, &labels, object::name(obj));
        let layer = self.layer(&group, object::kind(obj), &labels, class.as_deref());
        if let Some(wave) = self.waves.get(&layer) {
            let _ = crate::pointer::insert(obj, &annotation(), json!(wave.to_string()));
        }
    }
}

fn name(layer: Layer) -> &'static str {
    match layer {
        Layer::Infrastructure => "infrastructure",
        Layer::Data => "data",
        Layer::Application => "application",
        Layer::Observability => "observability",
    }
}
