//! Which kinds are cluster-scoped: they have no namespace, so temper never gives them one and
//! never generates a namespaced object for one.

use std::collections::{HashMap, HashSet};

/// Cluster-scoped kinds: for each kind, the API groups in which it is cluster-scoped.
#[derive(Clone, Debug, Default)]
pub struct ClusterScoped(HashMap<String, HashSet<String>>);

impl ClusterScoped {
    pub fn new(kinds: impl IntoIterator<Item = (String, String)>) -> ClusterScoped {
        let mut scoped = ClusterScoped::default();
        for (group, kind) in kinds {
            scoped.declare(&group, &kind, true);
        }
        scoped
    }

    /// Whether objects of `group`/`kind` are cluster-scoped.
    pub fn contains(&self, group: &str, kind: &str) -> bool {
        self.0.get(kind).is_some_and(|groups| groups.contains(group))
    }

    /// Adds (or, with `cluster` false, removes) a kind, as a CRD in the stream declares it.
    pub fn declare(&mut self, group: &str, kind: &str, cluster: bool) {
        let groups = self.0.entry(kind.to_string()).or_default();
        if cluster {
            groups.insert(group.to_string());
        } else {
            groups.remove(group);
        }
    }
}
