//! The connections a release needs, as a run records them: who opens each, which workload's
//! pods accept it, on which ports, and why temper thinks it is needed.

use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::object::ResourceId;

/// A container port, by number or by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum PortRef {
    Number(i64),
    Name(String),
}

impl PortRef {
    /// A port as Kubernetes objects write it: a number, a numeric string, or a name.
    pub fn of(value: &Value) -> Option<PortRef> {
        match value {
            Value::Number(n) => n.as_i64().map(PortRef::Number),
            Value::String(s) => Some(s.parse().map_or_else(|_| PortRef::Name(s.clone()), PortRef::Number)),
            _ => None,
        }
    }
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(s) => f.write_str(s),
        }
    }
}

/// Who opens a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Source {
    /// The pods of a workload in the stream.
    Workload {
        #[serde(flatten)]
        id: ResourceId,
    },
    /// The pods of a namespace outside the stream (the gateway's, Prometheus's).
    Namespace { name: String },
    /// The Kubernetes API server, calling a webhook, an aggregated API or a CRD conversion:
    /// not a pod, so no pod or namespace selector matches it.
    ApiServer,
    /// Clients outside the cluster, through a LoadBalancer or NodePort Service or a host port.
    Outside,
    /// An ingress controller or gateway, wherever it runs (before `network-policy` says where).
    Gateway,
    /// Prometheus, wherever it runs (before `network-policy` says where).
    Monitoring,
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Workload { id, .. } => id.to_string(),
            Source::Namespace { name } => format!("namespace {name}"),
            Source::ApiServer => "the API server".into(),
            Source::Outside => "outside the cluster".into(),
            Source::Gateway => "the ingress controller".into(),
            Source::Monitoring => "Prometheus".into(),
        }
    }
}

/// A port by number or name, with its protocol (TCP, UDP or SCTP), a shared text: most ports
/// are TCP.
pub type Port = (PortRef, Arc<str>);

/// A connection the release needs: from a source to the pods of a workload, on some ports.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    pub from: Source,
    /// The workload whose pods accept the connection.
    pub to: ResourceId,
    /// The pods' namespace (`None`: the release namespace, while unknown).
    #[serde(skip)]
    pub namespace: Option<String>,
    /// Container ports, by number or name, each with its protocol (TCP, UDP or SCTP).
    #[serde(serialize_with = "ports")]
    pub ports: Vec<Port>,
    /// Why temper thinks the release needs it.
    pub reason: String,
}

impl Flow {
    /// `8081/TCP, metrics/TCP`.
    pub fn describe_ports(&self) -> String {
        self.ports.iter().map(|(p, proto)| format!("{p}/{proto}")).collect::<Vec<_>>().join(", ")
    }
}

fn ports<S: Serializer>(ports: &[Port], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Port<'a> {
        port: &'a PortRef,
        protocol: &'a str,
    }
    s.collect_seq(ports.iter().map(|(port, protocol)| Port { port, protocol }))
}
