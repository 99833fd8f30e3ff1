//! Who must be able to talk to whom for the release to work: the connections inferred from the
//! stream (`infer`), and what a set of NetworkPolicies allows (`netpol`), so that generated
//! policies never cut a connection the release needs, and a reviewer sees who may talk to
//! whom before and after.
//!
//! Flows are inferred after the rules ran (pod labels are final) and before generation: the
//! `network-policy` rule allows each one it finds; the report lists them with what the
//! stream's policies, and then the output's, allow.

mod infer;
mod netpol;

use std::collections::HashMap;

use serde::Serialize;

use crate::index::Index;
use crate::object::ResourceId;
use crate::record::{Flow, Source};
use crate::workload::WorkloadFacts;

pub use infer::{Inferred, METRICS_PORT_NAMES, Network, ServiceView};
pub use netpol::{Client, Policies, Server};

/// What a set of NetworkPolicies does to a flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "verdict", content = "policies")]
pub enum Verdict {
    /// No policy isolates either side.
    Open,
    /// Allowed, by these policies.
    Allowed(Vec<String>),
    /// Some port of the flow is denied.
    Denied,
}

impl Verdict {
    pub fn describe(&self) -> String {
        match self {
            Verdict::Open => "open".into(),
            Verdict::Allowed(by) => format!("allowed by {}", by.join(", ")),
            Verdict::Denied => "denied".into(),
        }
    }

    pub fn allowed(&self) -> bool {
        *self != Verdict::Denied
    }
}

/// A flow with what the stream's policies allowed before hardening and what the output's allow.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    #[serde(flatten)]
    pub flow: Flow,
    pub before: Verdict,
    pub after: Verdict,
}

/// Reviews every flow against `before` (the stream's policies) and `after` (with temper's),
/// reading pods as the `workloads` facts describe them and the release namespace as `index`
/// knows it.
pub fn review(
    flows: &[Flow],
    workloads: &[WorkloadFacts],
    before: &Policies,
    after: &Policies,
    index: &Index,
) -> Vec<Review> {
    let by_id: HashMap<&ResourceId, &WorkloadFacts> = workloads.iter().map(|w| (&w.id, w)).collect();
    let release = index.release_namespace.as_deref();
    flows
        .iter()
        .filter_map(|flow| {
            let mut namespaced: Option<String> = None;
            let server = by_id.get(&flow.to)?;
            if server.host_network {
                // NetworkPolicies do not apply to pods on the host network.
                return Some(Review { flow: flow.clone(), before: Verdict::Open, after: Verdict::Open });
            }
            let server =
                Server { namespace: &server.namespace, labels: &server.workload.pod_labels, ports: &server.ports };
            let client = match &flow.from {
                Source::Workload { id, .. } => {
                    let c = by_id.get(id)?;
                    // A pod on the host network connects from its node's address.
                    if c.host_network {
                        Some(Client::External)
                    } else {
                        Some(Client::Pod { namespace: &c.namespace, labels: &c.workload.pod_labels })
                    }
                }
                Source::Namespace { name } => {
                    namespaced = Some(name.clone());
                    None
                }
                Source::ApiServer | Source::Outside => Some(Client::External),
                // Not said where they run (network-policy records them as namespaces).
                Source::Gateway | Source::Monitoring => None,
            };
            let unlabelled = crate::select::LabelSet::default();
            let client = client
                .or_else(|| namespaced.as_ref().map(|_| Client::Pod { namespace: &namespaced, labels: &unlabelled }));
            let verdict = |policies: &Policies| -> Verdict {
                let Some(client) = client else { return Verdict::Open };
                let mut by = Vec::new();
                for (port, protocol) in &flow.ports {
                    match policies.allows(client, server, port, protocol, release) {
                        None => return Verdict::Denied,
                        Some(names) => by.extend(names),
                    }
                }
                by.sort();
                by.dedup();
                if by.is_empty() { Verdict::Open } else { Verdict::Allowed(by) }
            };
            Some(Review { flow: flow.clone(), before: verdict(before), after: verdict(after) })
        })
        .collect()
}
