//! Inferring the connections a release needs, from the stream: Services named in env values,
//! arguments and the ConfigMaps and Secrets a pod reads; webhooks, aggregated APIs and CRD
//! conversions the API server calls; Services reached from outside; Ingress and route
//! backends; metrics scraping.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::index::Index;
use crate::intern;
use crate::object::{self, ResourceId};
use crate::read::{self, Document, Sealed};
use crate::select::{Labels, Selector};
use crate::workload::{HostRef, WorkloadFacts, host_words};

use crate::record::{Flow, Port, PortRef, Source};

/// A Service in the stream.
#[derive(Clone, Debug)]
struct Service {
    namespace: Option<String>,
    /// Its name, labels and ports, shared with every workload it selects ([`Inferred::services`]).
    view: Arc<ServiceView>,
    /// Its selector's label pairs; none when it has no selector or one Kubernetes would refuse
    /// (a value that is not a string): either way it selects no pod temper can see. Kept as
    /// pairs of text rather than a mapping, which took five times as much on a stream of
    /// many small Services.
    selector: Box<[(Box<str>, Box<str>)]>,
    /// `LoadBalancer` or `NodePort`: reached from outside the cluster.
    exposed: bool,
}

impl Service {
    fn name(&self) -> &str {
        &self.view.name
    }

    /// The target ports of the service ports `port` names (a number or a port name); all of
    /// them for `None`.
    fn targets(&self, port: Option<&PortRef>) -> Vec<Port> {
        let matches = |(name, number, _, _): &&ServicePort| match port {
            None => true,
            Some(PortRef::Number(n)) => number == n,
            Some(PortRef::Name(n)) => name.as_deref() == Some(n.as_str()),
        };
        let chosen: Vec<_> = self.view.ports.iter().filter(matches).collect();
        let chosen = if chosen.is_empty() { self.view.ports.iter().collect() } else { chosen };
        chosen.into_iter().map(|(_, _, target, protocol)| (target.clone(), protocol.clone())).collect()
    }
}

/// A reference to a Service by something other than a pod: who calls it, and on which port.
#[derive(Clone, Debug)]
struct ServiceCall {
    from: Source,
    namespace: Option<String>,
    name: String,
    port: Option<PortRef>,
    reason: String,
}

/// A ConfigMap or Secret: (kind, namespace, name).
type ConfigKey = (&'static str, Option<String>, String);

/// The host names found in a ConfigMap's or Secret's values, by key.
type ConfigHosts = Vec<(String, Vec<HostRef>)>;

/// A ServiceMonitor or PodMonitor.
#[derive(Clone, Debug)]
struct Monitor {
    namespace: Option<String>,
    /// Selects Services (ServiceMonitor) or pods (PodMonitor).
    selector: Selector,
    /// The namespaces it looks in: `None` for any, else by name (empty: its own).
    namespaces: Option<Vec<String>>,
    /// Service port names (ServiceMonitor) or container port names (PodMonitor).
    ports: Vec<PortRef>,
}

/// What the stream says about its network, gathered in one pass.
#[derive(Debug, Default)]
pub struct Network {
    services: Vec<Service>,
    /// Every Service's place in `services`, ordered by name, namespace and place: the
    /// Services of one name, or of one name and namespace, are a range found by binary
    /// search. A map from each name (and from each name and namespace) held two more copies
    /// of every name, a tenth of the network on a stream of many small Services.
    by_name: Vec<usize>,
    /// Host names in the values of ConfigMaps and Secrets, by key.
    config_hosts: HashMap<ConfigKey, ConfigHosts>,
    calls: Vec<ServiceCall>,
    service_monitors: Vec<Monitor>,
    pod_monitors: Vec<Monitor>,
    /// Whether the stream routes traffic through Ingresses or Gateway API routes.
    pub routes: bool,
    /// The namespaces of the Prometheus servers (`Prometheus` objects) in the stream.
    pub prometheus_namespaces: Vec<Option<String>>,
}

/// Container port names that mean "metrics are served here": the convention of the
/// Prometheus Operator's examples and kube-prometheus (`metrics`, `http-metrics`).
pub const METRICS_PORT_NAMES: &[&str] = &["metrics", "http-metrics"];

/// What inference found: the flows, every port a Service sends to each workload (which its
/// own release may use without temper seeing who), the Services that select each workload,
/// and the workloads a ServiceMonitor or PodMonitor of the stream already scrapes.
#[derive(Debug, Default)]
pub struct Inferred {
    pub flows: Vec<Flow>,
    pub service_ports: HashMap<ResourceId, Vec<Port>>,
    pub services: HashMap<ResourceId, Vec<Arc<ServiceView>>>,
    pub monitored: HashSet<ResourceId>,
}

/// A port of a Service: (name, port, target port, protocol). The name and protocol are
/// shared texts (`intern`): most Services name `http` and TCP.
pub type ServicePort = (Option<Arc<str>>, i64, PortRef, Arc<str>);

/// A Service that selects a workload, as a monitor sees it.
#[derive(Clone, Debug)]
pub struct ServiceView {
    pub name: String,
    /// Its own labels, which ServiceMonitors select it by.
    pub labels: Map<String, Value>,
    pub ports: Vec<ServicePort>,
}

impl Network {
    /// Gathers the Services, ConfigMaps, Secrets, webhooks, Ingresses, routes and monitors of
    /// `docs`, placed as `index` places them.
    pub fn gather(docs: &[Document<Sealed>], index: &Index) -> Result<Network> {
        let mut network = Network::default();
        let is_config = |group: &str, kind: &str| group.is_empty() && matches!(kind, "ConfigMap" | "Secret");
        read::visit_resources(docs, |group, kind| !is_config(group, kind), |_, _, _, obj| network.add(obj, index))?;
        network.file_by_name();
        // ConfigMaps and Secrets come last, once every Service is known: of the words in
        // their values only those that may name a Service are kept (a configuration file
        // holds many words, and keeping them all cost more memory than the values).
        // Searching their values is most of gathering on a stream of large ConfigMaps
        // (dashboards, rules): it runs in parallel, and the hosts are filed in stream order.
        let found = read::map_resources(docs, is_config, |obj| network.config_hosts_of(obj, index))?;
        network.config_hosts.extend(found.into_iter().flatten());
        Ok(network)
    }

    /// Host names in the values of a ConfigMap or Secret that may name a Service of the stream,
    /// by key, filed under the object.
    fn config_hosts_of(&self, obj: &Value, index: &Index) -> Option<(ConfigKey, ConfigHosts)> {
        let ns = index.namespace_of(obj);
        let name = object::name(obj);
        let kind = if object::kind(obj) == "ConfigMap" { "ConfigMap" } else { "Secret" };
        let mut keys = Vec::new();
        for field in ["data", "stringData"] {
            for (key, value) in obj.get(field).and_then(Value::as_object).into_iter().flatten() {
                let Some(text) = value.as_str() else { continue };
                // Secret `data` is base64; the decoded value is only searched for host
                // names, never kept or shown.
                let decoded = (kind == "Secret" && field == "data")
                    .then(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
                    .flatten()
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
                let searched = decoded.as_deref().unwrap_or(text);
                let words: Vec<_> = host_words(searched).filter(|(host, _)| self.may_name_service(host)).collect();
                if words.is_empty() {
                    continue;
                }
                let found = format!("key {key} of {kind} {name}");
                let hosts = words.into_iter().map(|(host, port)| HostRef {
                    host: host.to_string(),
                    port,
                    found: found.clone(),
                });
                keys.push((key.clone(), hosts.collect()));
            }
        }
        (!keys.is_empty()).then(|| ((kind, ns, name.to_string()), keys))
    }

    /// Whether `host` starts with the name of a Service of the stream, as every host name
    /// [`Network::services_named`] resolves does.
    pub fn may_name_service(&self, host: &str) -> bool {
        !self.named(host.split('.').next().unwrap_or(host)).is_empty()
    }

    /// Files every Service by name, once all are gathered.
    fn file_by_name(&mut self) {
        let services = &self.services;
        let mut by_name: Vec<usize> = (0..services.len()).collect();
        by_name.sort_unstable_by(|&a, &b| {
            (services[a].name(), &services[a].namespace, a).cmp(&(services[b].name(), &services[b].namespace, b))
        });
        self.by_name = by_name;
    }

    /// The places of the Services named `name`, in any namespace, ordered by namespace.
    fn named(&self, name: &str) -> &[usize] {
        let start = self.by_name.partition_point(|&i| self.services[i].name() < name);
        let len = self.by_name[start..].partition_point(|&i| self.services[i].name() == name);
        &self.by_name[start..start + len]
    }

    /// The Service `name` in `namespace`: of two with one identity, the later, as Kubernetes
    /// would keep it.
    fn service(&self, namespace: &Option<String>, name: &str) -> Option<&Service> {
        let named = self.named(name);
        let end = named.partition_point(|&i| self.services[i].namespace <= *namespace);
        let last = &self.services[*named[..end].last()?];
        (last.namespace == *namespace).then_some(last)
    }

    fn add(&mut self, obj: &Value, index: &Index) {
        let ns = index.namespace_of(obj);
        let name = object::name(obj).to_string();
        let group = object::group(obj);
        let spec = obj.get("spec").unwrap_or(&Value::Null);
        match (group, object::kind(obj)) {
            ("", "Service") => {
                let selector = spec.get("selector").and_then(Value::as_object).into_iter().flatten();
                let selector: Option<Box<[_]>> =
                    selector.map(|(k, v)| Some((k.as_str().into(), v.as_str()?.into()))).collect();
                let mut ports: Vec<_> = spec
                    .get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        let port = p.get("port").and_then(Value::as_i64)?;
                        let target = p.get("targetPort").and_then(PortRef::of).unwrap_or(PortRef::Number(port));
                        let protocol = intern::text(object::str_at(p, &["protocol"]).unwrap_or("TCP"));
                        Some((object::str_at(p, &["name"]).map(intern::text), port, target, protocol))
                    })
                    .collect();
                ports.shrink_to_fit();
                let exposed = matches!(object::str_at(spec, &["type"]), Some("LoadBalancer" | "NodePort"));
                let labels = object::sized_copy(object::labels(obj));
                let view = Arc::new(ServiceView { name, labels, ports });
                let selector = selector.unwrap_or_default();
                self.services.push(Service { namespace: ns, view, selector, exposed });
            }
            (
                "admissionregistration.k8s.io",
                kind @ ("ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"),
            ) => {
                for webhook in obj.get("webhooks").and_then(Value::as_array).into_iter().flatten() {
                    let reason = format!("{kind} {name} calls it");
                    self.api_call(object::get(webhook, &["clientConfig", "service"]), reason);
                }
            }
            ("apiregistration.k8s.io", "APIService") => {
                self.api_call(spec.get("service"), format!("APIService {name} is served by it"));
            }
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                let service = object::get(spec, &["conversion", "webhook", "clientConfig", "service"])
                    .or_else(|| object::get(spec, &["conversion", "webhookClientConfig", "service"]));
                self.api_call(service, format!("CustomResourceDefinition {name} converts through it"));
            }
            ("networking.k8s.io" | "extensions", "Ingress") => {
                self.routes = true;
                let mut backends = vec![spec.get("defaultBackend").or_else(|| spec.get("backend"))];
                for rule in spec.get("rules").and_then(Value::as_array).into_iter().flatten() {
                    let paths = object::get(rule, &["http", "paths"]).and_then(Value::as_array);
                    backends.extend(paths.into_iter().flatten().map(|p| p.get("backend")));
                }
                for backend in backends.into_iter().flatten() {
                    // networking.k8s.io/v1: service.name and service.port; v1beta1: serviceName, servicePort.
                    let (service, port) = match backend.get("service") {
                        Some(s) => (
                            object::str_at(s, &["name"]),
                            object::get(s, &["port", "number"]).or_else(|| object::get(s, &["port", "name"])),
                        ),
                        None => (object::str_at(backend, &["serviceName"]), backend.get("servicePort")),
                    };
                    let Some(service) = service else { continue };
                    self.calls.push(ServiceCall {
                        from: Source::Gateway,
                        namespace: ns.clone(),
                        name: service.to_string(),
                        port: port.and_then(PortRef::of),
                        reason: format!("Ingress {name} routes to it"),
                    });
                }
            }
            (
                "gateway.networking.k8s.io",
                kind @ ("HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute"),
            ) => {
                self.routes = true;
                for rule in spec.get("rules").and_then(Value::as_array).into_iter().flatten() {
                    for backend in rule.get("backendRefs").and_then(Value::as_array).into_iter().flatten() {
                        if object::str_at(backend, &["kind"]).is_some_and(|k| k != "Service") {
                            continue;
                        }
                        let Some(service) = object::str_at(backend, &["name"]) else { continue };
                        let namespace =
                            object::str_at(backend, &["namespace"]).map(str::to_string).or_else(|| ns.clone());
                        self.calls.push(ServiceCall {
                            from: Source::Gateway,
                            namespace,
                            name: service.to_string(),
                            port: backend.get("port").and_then(PortRef::of),
                            reason: format!("{kind} {name} routes to it"),
                        });
                    }
                }
            }
            ("monitoring.coreos.com", "Prometheus") => self.prometheus_namespaces.push(ns),
            ("monitoring.coreos.com", kind @ ("ServiceMonitor" | "PodMonitor")) => {
                let Some(selector) = spec.get("selector").and_then(Selector::from_label_selector) else { return };
                let namespaces = match spec.get("namespaceSelector") {
                    Some(n) if n.get("any") == Some(&Value::Bool(true)) => None,
                    Some(n) => n
                        .get("matchNames")
                        .and_then(Value::as_array)
                        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_string).collect()),
                    None => Some(ns.iter().cloned().collect()),
                };
                let endpoints = if kind == "ServiceMonitor" { "endpoints" } else { "podMetricsEndpoints" };
                let ports = spec
                    .get(endpoints)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.get("port").or_else(|| e.get("targetPort")).and_then(PortRef::of))
                    .collect();
                let entry = Monitor { namespace: ns, selector, namespaces, ports };
                if kind == "ServiceMonitor" {
                    self.service_monitors.push(entry);
                } else {
                    self.pod_monitors.push(entry);
                }
            }
            _ => {}
        }
    }

    /// A Service the API server calls (`clientConfig.service`, `spec.service`): port 443 unless
    /// another is given.
    fn api_call(&mut self, service: Option<&Value>, reason: String) {
        let Some(service) = service else { return };
        let Some(name) = object::str_at(service, &["name"]) else { return };
        let port = service.get("port").and_then(PortRef::of).unwrap_or(PortRef::Number(443));
        self.calls.push(ServiceCall {
            from: Source::ApiServer,
            namespace: object::str_at(service, &["namespace"]).map(str::to_string),
            name: name.to_string(),
            port: Some(port),
            reason,
        });
    }

    /// The connections the workloads need, and the ports Services send to each workload.
    pub fn infer(&self, workloads: &[WorkloadFacts], index: &Index) -> Inferred {
        let servers = Servers::new(workloads);
        let mut service_ports: HashMap<ResourceId, Vec<Port>> = HashMap::new();
        let mut services: HashMap<ResourceId, Vec<Arc<ServiceView>>> = HashMap::new();
        for service in &self.services {
            for w in servers.selected_by(&service.namespace, &service.selector, index) {
                let ports = service_ports.entry(workloads[w].id.clone()).or_default();
                for target in service.targets(None) {
                    if !ports.contains(&target) {
                        ports.push(target);
                    }
                }
                services.entry(workloads[w].id.clone()).or_default().push(Arc::clone(&service.view));
            }
        }
        // A first push leaves room for four; most workloads are selected by one Service.
        service_ports.values_mut().for_each(Vec::shrink_to_fit);
        services.values_mut().for_each(Vec::shrink_to_fit);
        let mut monitored = HashSet::new();
        let flows = self.flows(workloads, index, &servers, &mut monitored);
        Inferred { flows, service_ports, services, monitored }
    }

    fn flows(
        &self,
        workloads: &[WorkloadFacts],
        index: &Index,
        servers: &Servers,
        monitored: &mut HashSet<ResourceId>,
    ) -> Vec<Flow> {
        let mut flows = Vec::new();
        let to_service =
            |from: &Source, service: &Service, port: Option<&PortRef>, reason: &str, flows: &mut Vec<Flow>| {
                for w in servers.selected_by(&service.namespace, &service.selector, index) {
                    let facts = &workloads[w];
                    if matches!(from, Source::Workload { id, .. } if *id == facts.id) {
                        continue;
                    }
                    flows.push(Flow {
                        from: from.clone(),
                        to: facts.id.clone(),
                        namespace: facts.namespace.clone(),
                        ports: service.targets(port),
                        reason: format!("{reason} (Service {})", service.name()),
                    });
                }
            };
        // Pods that name a Service, directly or in a ConfigMap or Secret they read.
        for client in workloads {
            let from = Source::Workload { id: client.id.clone() };
            let mut hosts: Vec<&HostRef> = client.references().hosts.iter().collect();
            for (kind, name, key) in &client.references().configs {
                let config = self.config_hosts.get(&(*kind, client.namespace.clone(), name.clone()));
                for (k, refs) in config.into_iter().flatten() {
                    if key.as_ref().is_none_or(|key| key == k) {
                        hosts.extend(refs);
                    }
                }
            }
            let mut seen = std::collections::HashSet::new();
            for host in hosts {
                for service in self.services_named(&host.host, &client.namespace, index) {
                    if !seen.insert((&service.namespace, service.name(), host.port)) {
                        continue;
                    }
                    let port = host.port.map(PortRef::Number);
                    to_service(&from, service, port.as_ref(), &format!("{} names it", host.found), &mut flows);
                }
            }
        }
        // The API server, ingress controllers and gateways, by Service.
        for call in &self.calls {
            let Some(service) = self.service(&call.namespace, &call.name) else { continue };
            to_service(&call.from, service, call.port.as_ref(), &call.reason, &mut flows);
        }
        // Clients outside the cluster.
        for service in self.services.iter().filter(|s| s.exposed) {
            let reason = "a LoadBalancer or NodePort Service exposes it";
            to_service(&Source::Outside, service, None, reason, &mut flows);
        }
        for facts in workloads {
            let host_ports: Vec<Port> = facts
                .ports
                .iter()
                .filter(|p| p.host_port.is_some())
                .filter_map(|p| Some((p.port.port_ref()?, Arc::clone(&p.protocol))))
                .collect();
            if !host_ports.is_empty() {
                flows.push(Flow {
                    from: Source::Outside,
                    to: facts.id.clone(),
                    namespace: facts.namespace.clone(),
                    ports: host_ports,
                    reason: "it binds host ports".into(),
                });
            }
            // Metrics scraping announced on the pods.
            if let Some(port) = facts.scrape() {
                let ports = match port {
                    Some(p) => vec![(PortRef::Number(p), intern::text("TCP"))],
                    None => {
                        facts.ports.iter().filter_map(|p| Some((p.port.port_ref()?, Arc::clone(&p.protocol)))).collect()
                    }
                };
                flows.push(Flow {
                    from: Source::Monitoring,
                    to: facts.id.clone(),
                    namespace: facts.namespace.clone(),
                    ports,
                    reason: "its pods are annotated prometheus.io/scrape".into(),
                });
            }
            // Metrics ports by name, which monitors (temper's `monitoring` among them) scrape.
            let scraped: Vec<Port> = match facts.scrape() {
                Some(Some(p)) => vec![(PortRef::Number(p), intern::text("TCP"))],
                Some(None) => {
                    facts.ports.iter().filter_map(|p| Some((p.port.port_ref()?, Arc::clone(&p.protocol)))).collect()
                }
                None => Vec::new(),
            };
            let metrics: Vec<Port> = facts
                .ports
                .iter()
                .filter(|p| p.name.as_deref().is_some_and(|n| METRICS_PORT_NAMES.contains(&n)))
                .filter_map(|p| Some((p.port.port_ref()?, Arc::clone(&p.protocol))))
                .filter(|port| !scraped.contains(port))
                .collect();
            if !metrics.is_empty() {
                flows.push(Flow {
                    from: Source::Monitoring,
                    to: facts.id.clone(),
                    namespace: facts.namespace.clone(),
                    ports: metrics,
                    reason: format!("it serves metrics on a port named {}", METRICS_PORT_NAMES.join(" or ")),
                });
            }
        }
        let before = flows.len();
        self.monitor_flows(workloads, index, servers, &mut flows);
        monitored.extend(flows[before..].iter().map(|f| f.to.clone()));
        flows
    }

    /// Scraping by ServiceMonitors (through the Services they select) and PodMonitors.
    fn monitor_flows(&self, workloads: &[WorkloadFacts], index: &Index, servers: &Servers, flows: &mut Vec<Flow>) {
        let in_scope =
            |monitor_ns: &Option<String>, namespaces: &Option<Vec<String>>, ns: &Option<String>| match namespaces {
                None => true,
                Some(names) if names.is_empty() => index.may_share(monitor_ns, ns),
                Some(names) => names.iter().any(|n| index.may_share(&Some(n.clone()), ns)),
            };
        for Monitor { namespace: monitor_ns, selector, namespaces, ports } in &self.service_monitors {
            for service in self.services.iter().filter(|s| in_scope(monitor_ns, namespaces, &s.namespace)) {
                if !selector.matches(&service.view.labels) {
                    continue;
                }
                for w in servers.selected_by(&service.namespace, &service.selector, index) {
                    let facts = &workloads[w];
                    let targets = if ports.is_empty() {
                        service.targets(None)
                    } else {
                        ports.iter().flat_map(|p| service.targets(Some(p))).collect()
                    };
                    flows.push(Flow {
                        from: Source::Monitoring,
                        to: facts.id.clone(),
                        namespace: facts.namespace.clone(),
                        ports: targets,
                        reason: format!("a ServiceMonitor scrapes it (Service {})", service.name()),
                    });
                }
            }
        }
        for Monitor { namespace: monitor_ns, selector, namespaces, ports } in &self.pod_monitors {
            for facts in workloads.iter().filter(|w| in_scope(monitor_ns, namespaces, &w.namespace)) {
                if selector.matches(&facts.workload.pod_labels) {
                    flows.push(Flow {
                        from: Source::Monitoring,
                        to: facts.id.clone(),
                        namespace: facts.namespace.clone(),
                        ports: ports.iter().map(|p| (p.clone(), intern::text("TCP"))).collect(),
                        reason: "a PodMonitor scrapes it".into(),
                    });
                }
            }
        }
    }

    /// The Services a host name may name, seen from a pod in `client_ns`: `svc` and `svc.ns`,
    /// with or without `.svc` and `.svc.cluster.local`. While the release namespace is unknown,
    /// a Service in it may be the one a pod in a named namespace means, and the other way round.
    fn services_named(&self, host: &str, client_ns: &Option<String>, index: &Index) -> Vec<&Service> {
        let host = host.strip_suffix(".cluster.local").unwrap_or(host);
        let host = host.strip_suffix(".svc").unwrap_or(host);
        let (name, ns) = match host.split_once('.') {
            Some((name, ns)) if !ns.contains('.') => (name, Some(ns.to_string())),
            Some(_) => return Vec::new(),
            None => (host, client_ns.clone()),
        };
        // In stream order, as the flows they give are listed.
        let mut same_name: Vec<usize> =
            self.named(name).iter().copied().filter(|&i| index.may_share(&self.services[i].namespace, &ns)).collect();
        same_name.sort_unstable();
        same_name.into_iter().map(|i| &self.services[i]).collect()
    }
}

/// Workloads filed by their pods' label pairs, so that a Service finds the pods it selects
/// without walking every workload. It borrows the workloads' labels: a copy of every pod's
/// labels was a tenth of the heap on a stream of many small workloads.
struct Servers<'a> {
    /// Every pod label pair with the place of its workload, sorted: the workloads of a pair
    /// are a range, in stream order, found by binary search. A map from each pair to a list of
    /// places kept a list per pair, and most pairs are one workload's own (`app: name`).
    by_pair: Vec<(&'a str, &'a str, usize)>,
    workloads: &'a [WorkloadFacts],
}

impl<'a> Servers<'a> {
    fn new(workloads: &'a [WorkloadFacts]) -> Servers<'a> {
        let mut by_pair: Vec<(&str, &str, usize)> = (workloads.iter().enumerate())
            .flat_map(|(i, w)| w.workload.pod_labels.pairs().map(move |(k, v)| (k, v, i)))
            .collect();
        by_pair.sort_unstable();
        Servers { by_pair, workloads }
    }

    /// The places of the workloads whose pods carry `key: value`, in stream order.
    fn with_pair(&self, key: &str, value: &str) -> &[(&'a str, &'a str, usize)] {
        let start = self.by_pair.partition_point(|&(k, v, _)| (k, v) < (key, value));
        let len = self.by_pair[start..].partition_point(|&(k, v, _)| (k, v) == (key, value));
        &self.by_pair[start..start + len]
    }

    /// The workloads whose pods a Service in `ns` with `selector` sends traffic to. A Service
    /// without a selector sends it nowhere temper can see (its endpoints are managed by hand).
    fn selected_by(&self, ns: &Option<String>, selector: &[(Box<str>, Box<str>)], index: &Index) -> Vec<usize> {
        // The rarest of the selector's labels: labels every pod shares (part-of, instance)
        // would make each lookup meet every workload.
        let mut candidates: &[(&str, &str, usize)] = &[];
        for (i, (k, v)) in selector.iter().enumerate() {
            let bucket = self.with_pair(k, v);
            if i == 0 || bucket.len() < candidates.len() {
                candidates = bucket;
            }
        }
        candidates
            .iter()
            .map(|&(_, _, i)| i)
            .filter(|&i| {
                let w = &self.workloads[i];
                let labels = &w.workload.pod_labels;
                index.may_share(ns, &w.namespace) && selector.iter().all(|(k, v)| labels.value(k) == Some(&**v))
            })
            .collect()
    }
}
