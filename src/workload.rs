//! The facts rules need about a workload: its pod labels, selector, replica count, component
//! class, containers; where its pod spec is comes from the table of workload kinds
//! (`knowledge::WorkloadKinds`).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::image::ImageRef;
use crate::intern;
use crate::knowledge::{Classes, Knowledge, PodView};
use crate::object::{self, ResourceId};
use crate::pointer::Pointer;
use crate::record::{Json, PortRef, RuleId, Waiver, Waivers};
use crate::select::{LabelSet, Labels, Selector};

/// What rules know about a resource that carries a pod spec.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Shared with its identity.
    pub kind: std::sync::Arc<str>,
    /// The pod template's metadata and spec.
    pub meta: Pointer,
    pub spec: Pointer,
    pub replicas: Option<Pointer>,
    /// Labels of the pods it creates.
    pub pod_labels: LabelSet,
    /// `spec.selector` for controllers. Boxed: the facts of every workload keep a workload
    /// without it (see `WorkloadFacts::selector`) until generation.
    pub selector: Option<Box<Value>>,
    /// Component class: app, engine, database, cache, queue, job or scheduler. Shared
    /// (`intern`): the facts of every workload keep it.
    pub class: Arc<str>,
    /// `spec.os.name: windows`: Linux-only fields must not be set.
    pub windows: bool,
    /// Runs continuously (not a Job, CronJob or run-to-completion Pod).
    pub long_running: bool,
}

impl Workload {
    /// The view of `obj`, if its kind carries a pod spec that is present.
    pub fn of(obj: &Value, id: &ResourceId, knowledge: &Knowledge) -> Option<Workload> {
        let entry = knowledge.kinds.find(id.group(), id.kind())?;
        // Shared (`interned`): the facts of every workload keep these.
        let spec = entry.template.key("spec").interned();
        let pod_spec = obj.pointer(spec.as_str()).filter(|v| v.is_object())?;
        let meta = entry.template.key("metadata").interned();
        let empty = Map::new();
        let pod_labels = obj.pointer(meta.key("labels").as_str()).and_then(Value::as_object).unwrap_or(&empty);
        let restart = object::str_at(pod_spec, &["restartPolicy"]).unwrap_or("Always");
        let batch = matches!(id.kind(), "Job" | "CronJob");
        let long_running = !(batch || id.kind() == "Pod" && restart != "Always");
        let class = classify(&knowledge.classes, pod_labels, object::labels(obj), &id.name, batch);
        Some(Workload {
            kind: id.shared_kind(),
            meta,
            spec,
            replicas: entry.replicas.clone(),
            selector: object::get(obj, &["spec", "selector"])
                .filter(|_| entry.replicas.is_some() || id.kind() == "DaemonSet")
                .map(|selector| Box::new(as_label_selector(selector))),
            pod_labels: LabelSet::of(pod_labels),
            class,
            windows: object::str_at(pod_spec, &["os", "name"]) == Some("windows"),
            long_running,
        })
    }

    /// Why this workload cannot run more than once, if it cannot: it mounts a claim that only
    /// one node can attach (`claim_modes` gives the access modes of a claim the stream
    /// defines), asks for `strategy: Recreate`, or is a single-writer store or controller not
    /// set up for replication (`knowledge`). Only scalable kinds are asked.
    pub fn singleton(
        &self,
        obj: &Value,
        id: &ResourceId,
        knowledge: &Knowledge,
        claim_modes: impl Fn(&str) -> Option<Vec<String>>,
    ) -> Option<Singleton> {
        let spec = obj.pointer(self.spec.as_str())?;
        let claims = spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| object::str_at(v, &["persistentVolumeClaim", "claimName"]));
        for claim in claims {
            let single = |m: &String| m == "ReadWriteOnce" || m == "ReadWriteOncePod";
            let reason = match claim_modes(claim) {
                Some(modes) if modes.iter().any(single) => {
                    format!("mounts the ReadWriteOnce claim `{claim}`, which only one node can attach at a time")
                }
                Some(_) => continue,
                None => format!(
                    "mounts the claim `{claim}`, which this stream does not define (its access mode is unknown)"
                ),
            };
            let practice = "give every replica its own volume (a StatefulSet with volumeClaimTemplates) or use a ReadWriteMany claim, then scale".into();
            return Some(Singleton { reason, practice });
        }
        if object::str_at(obj, &["spec", "strategy", "type"]) == Some("Recreate") {
            return Some(Singleton {
                reason: "asks for `strategy: Recreate`, which means its pods must not run side by side".into(),
                practice: "keep one replica, or move the chart to RollingUpdate once two copies can run together"
                    .into(),
            });
        }
        let pod = pod_view(obj, &self.spec);
        let mut names = vec![id.name.to_ascii_lowercase()];
        for key in ["app.kubernetes.io/name", "app.kubernetes.io/component", "app", "k8s-app", "component"] {
            if let Some(v) = self.pod_labels.value(key) {
                names.push(v.to_ascii_lowercase());
            }
        }
        let writer = knowledge.single_writers.recognise(&self.class, &names, &pod)?;
        Some(Singleton { reason: format!("is {}: {}", writer.what, writer.why), practice: writer.practice })
    }

    /// The replica count as Kubernetes reads it (absent means 1).
    pub fn replicas(&self, obj: &Value) -> Option<i64> {
        let ptr = self.replicas.as_ref()?;
        match obj.pointer(ptr.as_str()) {
            None | Some(Value::Null) => Some(1),
            Some(v) => v.as_i64(),
        }
    }
}

/// A workload that cannot run more than once, and what production does instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Singleton {
    /// Why, as a phrase that follows the workload's name ("mounts the ReadWriteOnce claim ...").
    pub reason: String,
    pub practice: String,
}

/// What single-writer recognition reads of the containers of the pod spec at `spec`.
fn pod_view<'a>(obj: &'a Value, spec: &Pointer) -> PodView<'a> {
    let mut pod = PodView::default();
    for slot in containers(obj, spec, false) {
        let Some(c) = slot.get(obj) else { continue };
        if let Some(image) = object::str_at(c, &["image"]) {
            pod.images.push(ImageRef::parse(image).without_registry());
        }
        pod.containers.push(object::str_at(c, &["name"]).unwrap_or_default());
        for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = object::str_at(e, &["name"]) {
                pod.env.push((name, object::str_at(e, &["value"])));
            }
        }
        for list in ["command", "args"] {
            pod.args.extend(c.get(list).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str));
        }
    }
    pod
}

/// A ReplicationController's selector is a plain map; everything else uses `LabelSelector`.
fn as_label_selector(selector: &Value) -> Value {
    let is_label_selector = selector
        .as_object()
        .is_some_and(|m| m.is_empty() || m.contains_key("matchLabels") || m.contains_key("matchExpressions"));
    if is_label_selector { selector.clone() } else { serde_json::json!({"matchLabels": selector}) }
}

/// The component class: the `app.kubernetes.io/component` label, then the `component`
/// label, then name patterns, then the kind (Jobs and CronJobs are `job`), else `app`.
fn classify(
    classes: &Classes,
    pod_labels: &Map<String, Value>,
    labels: &Map<String, Value>,
    name: &str,
    batch: bool,
) -> Arc<str> {
    class_by(classes, |key| pod_labels.get(key).or_else(|| labels.get(key)), name)
        .unwrap_or_else(|| intern::text(if batch { "job" } else { "app" }))
}

/// A container's place in a pod spec.
#[derive(Clone, Debug)]
pub struct ContainerSlot {
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
    pub index: usize,
    /// Resource-relative pointer to the container.
    pub ptr: Pointer,
    pub name: String,
}

impl ContainerSlot {
    pub fn ephemeral(&self) -> bool {
        self.list == "ephemeralContainers"
    }

    pub fn get<'v>(&self, obj: &'v Value) -> Option<&'v Value> {
        obj.pointer(self.ptr.as_str())
    }
}

/// The containers of the pod spec at `spec`: init containers first, then containers, then
/// (when asked) ephemeral containers, which rules only ever audit.
pub fn containers(obj: &Value, spec: &Pointer, ephemeral: bool) -> Vec<ContainerSlot> {
    let lists: &[&'static str] = if ephemeral {
        &["initContainers", "containers", "ephemeralContainers"]
    } else {
        &["initContainers", "containers"]
    };
    let mut slots = Vec::new();
    for &list in lists {
        let ptr = spec.key(list);
        if let Some(items) = obj.pointer(ptr.as_str()).and_then(Value::as_array) {
            for (index, c) in items.iter().enumerate() {
                if c.is_object() {
                    let name = object::str_at(c, &["name"]).unwrap_or_default().to_string();
                    slots.push(ContainerSlot { list, index, ptr: ptr.index(index), name });
                }
            }
        }
    }
    slots
}

/// A port a container declares. Its name and protocol are shared texts (`intern`): the facts
/// of every workload keep its ports until generation, and most are named `http` and use TCP.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerPort {
    pub name: Option<Arc<str>>,
    /// `containerPort`: a number, as the author wrote it.
    pub port: PortValue,
    pub protocol: Arc<str>,
    pub host_port: Option<i64>,
}

/// A `containerPort` as the author wrote it: a number, a text, or (kept as read, though
/// Kubernetes refuses it) any other value. Its answers are those of the value it was read
/// from; it takes 24 bytes where a value takes 72.
#[derive(Clone, Debug, PartialEq)]
pub enum PortValue {
    Number(i64),
    Text(Arc<str>),
    Other(Box<Value>),
}

impl PortValue {
    pub fn of(value: &Value) -> PortValue {
        match (value.as_i64(), value) {
            (Some(n), _) => PortValue::Number(n),
            (None, Value::String(s)) => PortValue::Text(intern::text(s)),
            (None, _) => PortValue::Other(Box::new(value.clone())),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PortValue::Number(n) => Some(*n),
            PortValue::Text(_) => None,
            PortValue::Other(value) => value.as_i64(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PortValue::Text(s) => Some(s),
            PortValue::Number(_) | PortValue::Other(_) => None,
        }
    }

    /// The port as a reference to it ([`PortRef::of`] of the value read).
    pub fn port_ref(&self) -> Option<PortRef> {
        match self {
            PortValue::Number(n) => Some(PortRef::Number(*n)),
            PortValue::Text(s) => Some(s.parse().map_or_else(|_| PortRef::Name(s.to_string()), PortRef::Number)),
            PortValue::Other(value) => PortRef::of(value),
        }
    }
}

/// A host name in a workload's env values, arguments or commands, with the port after it:
/// `db`, `db.shop`, `db.shop.svc:5432`, `http://engine:8081/api`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRef {
    pub host: String,
    pub port: Option<i64>,
    /// Where it was found, for the reason a flow is given.
    pub found: String,
}

/// What a workload's pods may connect to: host names in their env values, arguments and
/// commands, and the ConfigMaps and Secrets they read (whose values may hold more).
#[derive(Clone, Debug, Default)]
pub struct References {
    pub hosts: Vec<HostRef>,
    /// (kind, name, key): `ConfigMap` or `Secret`; `None` for every key.
    pub configs: Vec<(&'static str, String, Option<String>)>,
}

impl References {
    /// Reads what container `c` refers to, keeping of the host names in its env values and
    /// arguments only those `keep` accepts: most words there name no Service of the stream, and
    /// a copy of each (with where it was found) took more than the container's value for a long
    /// env list, until the facts were complete.
    fn read_container(&mut self, c: &Value, keep: &dyn Fn(&str) -> bool) {
        let name = object::str_at(c, &["name"]).unwrap_or_default();
        for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
            let var = object::str_at(e, &["name"]).unwrap_or_default();
            if let Some(value) = object::str_at(e, &["value"]) {
                self.add_hosts(value, keep, || format!("env {var} of container `{name}`"));
            }
            for (kind, key) in [("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")] {
                if let Some(r) = object::get(e, &["valueFrom", key]) {
                    let source = object::str_at(r, &["name"]).unwrap_or_default().to_string();
                    self.configs.push((kind, source, object::str_at(r, &["key"]).map(str::to_string)));
                }
            }
        }
        for e in c.get("envFrom").and_then(Value::as_array).into_iter().flatten() {
            for (kind, key) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
                if let Some(source) = object::str_at(e, &[key, "name"]) {
                    self.configs.push((kind, source.to_string(), None));
                }
            }
        }
        for list in ["command", "args"] {
            for arg in c.get(list).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                self.add_hosts(arg, keep, || format!("the {list} of container `{name}`"));
            }
        }
    }

    /// Adds the host names in `text` that `keep` accepts, each `found` where it says.
    fn add_hosts(&mut self, text: &str, keep: &dyn Fn(&str) -> bool, found: impl Fn() -> String) {
        for (host, port) in host_words(text).filter(|(host, _)| keep(host)) {
            self.hosts.push(HostRef { host: host.to_string(), port, found: found() });
        }
    }

    fn read_volume(&mut self, volume: &Value) {
        let mut sources = vec![volume];
        sources.extend(object::get(volume, &["projected", "sources"]).and_then(Value::as_array).into_iter().flatten());
        for source in sources {
            if let Some(name) = object::str_at(source, &["configMap", "name"]) {
                self.configs.push(("ConfigMap", name.to_string(), None));
            }
            if let Some(name) = object::str_at(source, &["secret", "secretName"])
                .or_else(|| object::str_at(source, &["secret", "name"]))
            {
                self.configs.push(("Secret", name.to_string(), None));
            }
        }
    }
}

/// Every word of `text` that could be a host name, with the port after it: words made of
/// lower-case letters, digits, `-` and `.`, split at anything else (`://`, `@`, `/`, spaces,
/// quotes), the port being the digits after a `:`. Borrowed from `text`, so that a caller that
/// keeps few of them (a ConfigMap holds many words) copies only those.
pub fn host_words(text: &str) -> impl Iterator<Item = (&str, Option<i64>)> {
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == ':';
    text.split(move |c: char| !word(c)).filter(|t| !t.is_empty()).filter_map(|token| {
        let (host, port) = match token.split_once(':') {
            Some((host, rest)) => (host, rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|p| p.parse().ok())),
            None => (token, None),
        };
        let host = host.trim_matches(|c| c == '.' || c == '-');
        // A Service name is a DNS label: it starts with a letter.
        host.starts_with(|c: char| c.is_ascii_lowercase()).then_some((host, port))
    })
}

/// Facts about a workload after every per-resource rule ran, for the generating rules.
#[derive(Clone, Debug)]
pub struct WorkloadFacts {
    pub id: ResourceId,
    /// The effective namespace: explicit, else the release namespace if known.
    pub namespace: Option<String>,
    /// Whether `metadata.namespace` was set on the object.
    pub explicit_namespace: bool,
    pub workload: Workload,
    /// Replicas after fixes (an autoscaler in the stream may own the count instead).
    pub replicas: Option<i64>,
    /// The ports its containers declare (not its init containers').
    pub ports: Vec<ContainerPort>,
    /// `spec.hostNetwork: true`: NetworkPolicies do not apply.
    pub host_network: bool,
    /// Its containers' images, without their registry host.
    pub images: Vec<String>,
    /// What many workloads do not have, apart: `None` for a workload with none of it. The facts
    /// of every workload wait for generation, and these took 112 of their 320 bytes.
    extras: Option<Box<Extras>>,
    /// What [`WorkloadFacts::selector`] gives, kept as text: the facts of every workload wait
    /// for generation, and a selector as a value takes hundreds of bytes. (The workload's own
    /// `selector` is not kept in the facts.)
    selector: Option<Json>,
}

/// The facts of a workload that many workloads do not have ([`WorkloadFacts`]).
#[derive(Clone, Debug, Default)]
struct Extras {
    references: References,
    scrape: Option<Option<i64>>,
    scrape_path: Option<String>,
    waivers: Waivers,
}

impl Extras {
    /// Boxed, or `None` if there is nothing in them.
    fn kept(self) -> Option<Box<Extras>> {
        let none = self.references.hosts.is_empty()
            && self.references.configs.is_empty()
            && self.scrape.is_none()
            && self.scrape_path.is_none()
            && self.waivers.is_empty();
        (!none).then(|| Box::new(self))
    }
}

impl WorkloadFacts {
    /// The facts about `obj`, seen as `workload`, once every per-resource rule ran on it,
    /// keeping of the host names its pods refer to those that `may_name_service`.
    pub fn of(
        obj: &Value,
        id: ResourceId,
        mut workload: Workload,
        namespace: Option<String>,
        waivers: Waivers,
        may_name_service: &dyn Fn(&str) -> bool,
    ) -> WorkloadFacts {
        let selector = generated_selector(&workload).map(|s| Json::of(&s));
        workload.selector = None;
        let slots = containers(obj, &workload.spec, false);
        let ports = slots
            .iter()
            .filter(|slot| slot.list == "containers")
            .filter_map(|slot| slot.get(obj)?.get("ports")?.as_array())
            .flatten()
            .filter_map(|p| {
                Some(ContainerPort {
                    name: object::str_at(p, &["name"]).map(intern::text),
                    port: PortValue::of(p.get("containerPort").filter(|v| !v.is_null())?),
                    protocol: intern::text(object::str_at(p, &["protocol"]).unwrap_or("TCP")),
                    host_port: p.get("hostPort").and_then(Value::as_i64).filter(|h| *h != 0),
                })
            })
            .collect();
        let host_network = obj.pointer(workload.spec.key("hostNetwork").as_str()) == Some(&Value::Bool(true));
        let mut references = References::default();
        for c in slots.iter().filter_map(|slot| slot.get(obj)) {
            references.read_container(c, may_name_service);
        }
        let spec = obj.pointer(workload.spec.as_str());
        for volume in spec.and_then(|s| s.get("volumes")).and_then(Value::as_array).into_iter().flatten() {
            references.read_volume(volume);
        }
        // Held until generation, with room for only what was kept.
        references.hosts.shrink_to_fit();
        let annotations = obj.pointer(workload.meta.key("annotations").as_str()).and_then(Value::as_object);
        let annotation = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
        let scrape = (annotation("prometheus.io/scrape") == Some("true"))
            .then(|| annotation("prometheus.io/port").and_then(|p| p.trim().parse().ok()));
        let scrape_path = annotation("prometheus.io/path").map(str::to_string);
        let images = slots
            .iter()
            .filter_map(|slot| object::str_at(slot.get(obj)?, &["image"]))
            .map(|image| ImageRef::parse(image).without_registry());
        // Lists collected from a filtering iterator leave room for four on a first push; the
        // facts of every workload wait for generation.
        let (mut ports, mut images): (Vec<_>, Vec<_>) = (ports, images.collect());
        ports.shrink_to_fit();
        images.shrink_to_fit();
        let extras = Extras { references, scrape, scrape_path, waivers };
        WorkloadFacts {
            explicit_namespace: object::namespace(obj).is_some(),
            namespace,
            replicas: workload.replicas(obj),
            ports,
            host_network,
            images,
            extras: extras.kept(),
            workload,
            id,
            selector,
        }
    }

    pub fn waiver(&self, rule: RuleId) -> Option<&Waiver> {
        self.extras.as_ref().and_then(|e| e.waivers.get(rule))
    }

    /// The Services it may connect to, as named in its containers and configuration.
    pub fn references(&self) -> &References {
        static NONE: References = References { hosts: Vec::new(), configs: Vec::new() };
        self.extras.as_ref().map_or(&NONE, |e| &e.references)
    }

    /// `prometheus.io/scrape: "true"` on its pods: `Some`, with the `prometheus.io/port` if given.
    pub fn scrape(&self) -> Option<Option<i64>> {
        self.extras.as_ref().and_then(|e| e.scrape)
    }

    /// `prometheus.io/path` on its pods.
    pub fn scrape_path(&self) -> Option<&str> {
        self.extras.as_ref().and_then(|e| e.scrape_path.as_deref())
    }

    /// The selector generated objects use: the controller's when it selects the pods' own
    /// labels, else the pod labels; `None` for pods without labels. Objects reach pods by
    /// their labels: a selector that reaches none of them (Kubernetes rejects such a
    /// controller) would not be found selecting them when the output is rendered again.
    ///
    /// Either way the selector must read back as one that selects the pods: labels that are
    /// not a valid selector (a value that is not a string) give `None`, since an object
    /// selecting by them would be found selecting nothing, and added again, on the next render.
    pub fn selector(&self) -> Option<Value> {
        self.selector.as_ref().and_then(|s| s.value().ok())
    }
}

/// The selector generated objects use for `workload`, as [`WorkloadFacts::selector`] gives it.
fn generated_selector(workload: &Workload) -> Option<Value> {
    let labels = &workload.pod_labels;
    let own = |s: &Value| Selector::from_label_selector(s).is_some_and(|s| !s.is_empty() && s.matches(labels));
    match workload.selector.as_ref().filter(|s| own(s)) {
        Some(s) => Some(Value::clone(s)),
        None => Some(serde_json::json!({"matchLabels": labels.to_map()})).filter(own),
    }
}

/// How a pod refers to a Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretUse {
    /// `env[].valueFrom.secretKeyRef`.
    Env,
    /// `envFrom[].secretRef`.
    EnvFrom,
    /// A `secret` volume, or a `secret` source of a projected volume.
    Volume,
    /// `imagePullSecrets`.
    PullSecret,
}

/// What a pod needs to exist before it can start: its ServiceAccount, the Secrets and
/// ConfigMaps it reads, the claims it mounts. Optional references count too: the order of a
/// sync should not depend on whether a reference is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub service_account: Option<String>,
    /// Each Secret once per way it is used, in the order found.
    pub secrets: Vec<(String, SecretUse)>,
    pub config_maps: Vec<String>,
    pub claims: Vec<String>,
}

impl Needs {
    /// What the pod spec at `workload.spec` in `obj` needs.
    pub fn of(obj: &Value, workload: &Workload) -> Needs {
        let mut needs = Needs::default();
        let Some(spec) = obj.pointer(workload.spec.as_str()) else { return needs };
        needs.service_account = object::str_at(spec, &["serviceAccountName"])
            .or_else(|| object::str_at(spec, &["serviceAccount"]))
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let mut secret = |name: Option<&str>, how: SecretUse| {
            if let Some(name) = name.filter(|n| !n.is_empty())
                && !needs.secrets.iter().any(|(n, h)| n == name && *h == how)
            {
                needs.secrets.push((name.to_string(), how));
            }
        };
        let mut config_maps = Vec::new();
        for slot in containers(obj, &workload.spec, true) {
            let Some(c) = slot.get(obj) else { continue };
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                secret(object::str_at(e, &["valueFrom", "secretKeyRef", "name"]), SecretUse::Env);
                config_maps.extend(object::str_at(e, &["valueFrom", "configMapKeyRef", "name"]));
            }
            for e in c.get("envFrom").and_then(Value::as_array).into_iter().flatten() {
                secret(object::str_at(e, &["secretRef", "name"]), SecretUse::EnvFrom);
                config_maps.extend(object::str_at(e, &["configMapRef", "name"]));
            }
        }
        for volume in spec.get("volumes").and_then(Value::as_array).into_iter().flatten() {
            let mut sources = vec![volume];
            sources
                .extend(object::get(volume, &["projected", "sources"]).and_then(Value::as_array).into_iter().flatten());
            for source in sources {
                let name = object::str_at(source, &["secret", "secretName"])
                    .or_else(|| object::str_at(source, &["secret", "name"]));
                secret(name, SecretUse::Volume);
                config_maps.extend(object::str_at(source, &["configMap", "name"]));
            }
            needs.claims.extend(object::str_at(volume, &["persistentVolumeClaim", "claimName"]).map(str::to_string));
        }
        for pull in spec.get("imagePullSecrets").and_then(Value::as_array).into_iter().flatten() {
            secret(object::str_at(pull, &["name"]), SecretUse::PullSecret);
        }
        for name in config_maps {
            if !name.is_empty() && !needs.config_maps.iter().any(|n| n == name) {
                needs.config_maps.push(name.to_string());
            }
        }
        needs
    }
}

/// The component class of an object that is not a workload (a Service, Secret, ConfigMap or
/// claim), read as a workload's is: the `app.kubernetes.io/component` label, then the
/// `component` label, then name patterns; `None` when nothing tells.
pub fn class_of(classes: &Classes, labels: &Map<String, Value>, name: &str) -> Option<Arc<str>> {
    class_by(classes, |key| labels.get(key), name)
}

/// The class the labels `label` reads name (`app.kubernetes.io/component`, then `component`),
/// else the first class with a name pattern matching `name`.
fn class_by<'v>(classes: &Classes, label: impl Fn(&str) -> Option<&'v Value>, name: &str) -> Option<Arc<str>> {
    let by_label = |key: &str| label(key).and_then(Value::as_str).and_then(|v| classes.by_value(v));
    by_label("app.kubernetes.io/component")
        .or_else(|| by_label("component"))
        .or_else(|| {
            let name = name.to_ascii_lowercase();
            classes.by_pattern(&name)
        })
        .map(intern::text)
}

/// The JSON type Kubernetes requires of a field rules read.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Object(&'static [(&'static str, Shape)]),
    /// A mapping of string values (labels, node selectors).
    StringMap,
    ArrayOf(&'static Shape),
    String,
    Integer,
    Bool,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Object(_) | Shape::StringMap => "a mapping",
            Shape::ArrayOf(_) => "a sequence",
            Shape::String => "a string",
            Shape::Integer => "an integer",
            Shape::Bool => "a boolean",
        }
    }
}

const SECURITY_CONTEXT: Shape = Shape::Object(&[
    ("runAsNonRoot", Shape::Bool),
    ("runAsUser", Shape::Integer),
    ("runAsGroup", Shape::Integer),
    ("privileged", Shape::Bool),
    ("allowPrivilegeEscalation", Shape::Bool),
    ("readOnlyRootFilesystem", Shape::Bool),
    (
        "capabilities",
        Shape::Object(&[("add", Shape::ArrayOf(&Shape::String)), ("drop", Shape::ArrayOf(&Shape::String))]),
    ),
    ("seccompProfile", Shape::Object(&[("type", Shape::String)])),
    ("appArmorProfile", Shape::Object(&[("type", Shape::String)])),
]);

const RESOURCES: Shape = Shape::Object(&[("requests", Shape::Object(&[])), ("limits", Shape::Object(&[]))]);

const CONTAINER: Shape = Shape::Object(&[
    ("name", Shape::String),
    ("image", Shape::String),
    ("imagePullPolicy", Shape::String),
    ("command", Shape::ArrayOf(&Shape::String)),
    ("args", Shape::ArrayOf(&Shape::String)),
    (
        "ports",
        Shape::ArrayOf(&Shape::Object(&[
            ("name", Shape::String),
            ("containerPort", Shape::Integer),
            ("hostPort", Shape::Integer),
            ("protocol", Shape::String),
        ])),
    ),
    (
        "env",
        Shape::ArrayOf(&Shape::Object(&[
            ("name", Shape::String),
            ("value", Shape::String),
            ("valueFrom", Shape::Object(&[])),
        ])),
    ),
    ("envFrom", Shape::ArrayOf(&Shape::Object(&[]))),
    ("resources", RESOURCES),
    ("securityContext", SECURITY_CONTEXT),
    ("volumeMounts", Shape::ArrayOf(&Shape::Object(&[("name", Shape::String), ("mountPath", Shape::String)]))),
    ("livenessProbe", Shape::Object(&[])),
    ("readinessProbe", Shape::Object(&[])),
    ("startupProbe", Shape::Object(&[])),
]);

/// The fields of a pod spec that rules read.
const POD_SPEC: Shape = Shape::Object(&[
    ("containers", Shape::ArrayOf(&CONTAINER)),
    ("initContainers", Shape::ArrayOf(&CONTAINER)),
    ("ephemeralContainers", Shape::ArrayOf(&CONTAINER)),
    ("volumes", Shape::ArrayOf(&Shape::Object(&[("name", Shape::String)]))),
    ("securityContext", SECURITY_CONTEXT),
    ("hostNetwork", Shape::Bool),
    ("hostPID", Shape::Bool),
    ("hostIPC", Shape::Bool),
    ("serviceAccountName", Shape::String),
    ("automountServiceAccountToken", Shape::Bool),
    ("nodeSelector", Shape::StringMap),
    ("tolerations", Shape::ArrayOf(&Shape::Object(&[]))),
    ("affinity", Shape::Object(&[])),
    ("imagePullSecrets", Shape::ArrayOf(&Shape::Object(&[("name", Shape::String)]))),
    ("topologySpreadConstraints", Shape::ArrayOf(&Shape::Object(&[]))),
    ("restartPolicy", Shape::String),
]);

/// A pod template: its metadata and its pod spec.
const TEMPLATE: Shape = Shape::Object(&[
    ("metadata", Shape::Object(&[("labels", Shape::StringMap), ("annotations", Shape::StringMap)])),
    ("spec", POD_SPEC),
]);

/// Checks that the fields rules read in a workload have the types Kubernetes requires: a
/// stream cut off at the wrong place can still parse, with a string where the pod spec
/// should be, and rules would then pass it silently. `Err` holds the path and the problem.
pub fn check_types(obj: &Value, id: &ResourceId, knowledge: &Knowledge) -> Result<(), (Pointer, String)> {
    let Some(kind) = knowledge.kinds.find(id.group(), id.kind()) else { return Ok(()) };
    if let Some(replicas) = &kind.replicas {
        check_shape(obj.pointer(replicas.as_str()), Shape::Integer, replicas)?;
    }
    if kind.template.is_root() {
        // A Pod: its own metadata was checked on reading; its spec is the pod spec.
        let spec = Pointer::root().key("spec");
        return check_shape(obj.pointer(spec.as_str()), POD_SPEC, &spec);
    }
    // The path to the template must lead through mappings, and the template must be one.
    let mut at = Pointer::root();
    for token in kind.template.tokens() {
        at = at.key(&token);
        check_shape(obj.pointer(at.as_str()), Shape::Object(&[]), &at)?;
    }
    check_shape(obj.pointer(kind.template.as_str()), TEMPLATE, &kind.template)
}

fn check_shape(value: Option<&Value>, shape: Shape, at: &Pointer) -> Result<(), (Pointer, String)> {
    // Kubernetes reads null as absent.
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(()) };
    let wrong = || Err((at.clone(), format!("must be {}, not {}", shape.name(), object::type_name(value))));
    match (shape, value) {
        (Shape::Object(fields), Value::Object(map)) => {
            for (key, field) in fields {
                check_shape(map.get(*key), *field, &at.key(key))?;
            }
            Ok(())
        }
        (Shape::StringMap, Value::Object(map)) => {
            for (key, v) in map {
                check_shape(Some(v), Shape::String, &at.key(key))?;
            }
            Ok(())
        }
        (Shape::ArrayOf(item), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                // A null item is not absent: the API server rejects it too.
                if v.is_null() {
                    return Err((at.index(i), format!("must be {}, not null", item.name())));
                }
                check_shape(Some(v), *item, &at.index(i))?;
            }
            Ok(())
        }
        (Shape::String, Value::String(_)) | (Shape::Bool, Value::Bool(_)) => Ok(()),
        (Shape::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        _ => wrong(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A port kept compact answers as the value it was read from, whatever its type.
    #[test]
    fn port_value_answers_like_the_value_read() {
        for value in [json!(8080), json!(-1), json!("8080"), json!("http"), json!(8080.0), json!(u64::MAX), json!(true)]
        {
            let port = PortValue::of(&value);
            assert_eq!(port.as_i64(), value.as_i64(), "{value}");
            assert_eq!(port.as_str(), value.as_str(), "{value}");
            assert_eq!(port.port_ref(), PortRef::of(&value), "{value}");
        }
        assert_eq!(std::mem::size_of::<PortValue>(), 24);
        assert_eq!(std::mem::size_of::<ContainerPort>(), 72);
    }

    /// What many workloads do not have is boxed only where a workload has some of it.
    #[test]
    fn facts_box_only_the_extras_a_workload_has() {
        assert!(std::mem::size_of::<WorkloadFacts>() <= 216, "{} bytes", std::mem::size_of::<WorkloadFacts>());
        assert!(Extras::default().kept().is_none());
        let scraped = Extras { scrape: Some(Some(9090)), ..Extras::default() }.kept();
        assert_eq!(scraped.map(|e| e.scrape), Some(Some(Some(9090))));
        let mut reads = Extras::default();
        reads.references.configs.push(("ConfigMap", "settings".into(), None));
        assert!(reads.clone().kept().is_some());
        reads.references.configs.clear();
        assert!(reads.kept().is_none());
    }
}
