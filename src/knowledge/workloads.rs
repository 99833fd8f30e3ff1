//! Where pod specs live: the table of workload kinds (Pod Security Admission's list of built-in
//! kinds, plus the custom kinds configuration adds, such as Argo Rollouts), and the component
//! classes (app, engine, database, cache, queue, job, scheduler) with their name patterns.

use super::patterns::Patterns;

use crate::pointer::Pointer;

/// A kind that carries a pod template.
#[derive(Clone, Debug)]
pub struct WorkloadKind {
    /// API group; `None` matches any group.
    pub groups: Option<Vec<String>>,
    pub kind: String,
    /// The pod template (holding `metadata` and `spec`); the root for a Pod.
    pub template: Pointer,
    /// Where the replica count lives, for scalable kinds.
    pub replicas: Option<Pointer>,
}

/// A workload kind from configuration: `podTemplate` and `replicas` are JSON pointers.
pub fn workload_kind(
    group: Option<String>,
    kind: &str,
    template: &str,
    replicas: Option<&str>,
) -> Result<WorkloadKind, String> {
    let pointer = |text: &str| {
        Pointer::parse(text).ok_or_else(|| format!("`{text}` is not a JSON pointer (it must start with /)"))
    };
    Ok(WorkloadKind {
        groups: group.map(|g| vec![g]),
        kind: kind.to_string(),
        template: pointer(template)?,
        replicas: replicas.map(pointer).transpose()?,
    })
}

/// The table of workload kinds.
#[derive(Clone, Debug)]
pub struct WorkloadKinds(Vec<WorkloadKind>);

impl WorkloadKinds {
    /// The built-in kinds plus `extra`, which take precedence.
    pub fn new(extra: Vec<WorkloadKind>) -> WorkloadKinds {
        let p = |parts: &[&str]| parts.iter().fold(Pointer::root(), |p, k| p.key(k));
        let apps = || Some(vec!["apps".to_string(), "extensions".to_string()]);
        let core = || Some(vec![String::new()]);
        let batch = || Some(vec!["batch".to_string()]);
        let template = p(&["spec", "template"]);
        let replicas = Some(p(&["spec", "replicas"]));
        let mut kinds = extra;
        kinds.extend([
            WorkloadKind { groups: core(), kind: "Pod".into(), template: Pointer::root(), replicas: None },
            WorkloadKind { groups: core(), kind: "PodTemplate".into(), template: p(&["template"]), replicas: None },
            WorkloadKind {
                groups: core(),
                kind: "ReplicationController".into(),
                template: template.clone(),
                replicas: replicas.clone(),
            },
            WorkloadKind {
                groups: apps(),
                kind: "Deployment".into(),
                template: template.clone(),
                replicas: replicas.clone(),
            },
            WorkloadKind {
                groups: apps(),
                kind: "StatefulSet".into(),
                template: template.clone(),
                replicas: replicas.clone(),
            },
            WorkloadKind {
                groups: apps(),
                kind: "ReplicaSet".into(),
                template: template.clone(),
                replicas: replicas.clone(),
            },
            WorkloadKind { groups: apps(), kind: "DaemonSet".into(), template: template.clone(), replicas: None },
            WorkloadKind { groups: batch(), kind: "Job".into(), template: template.clone(), replicas: None },
            WorkloadKind {
                groups: batch(),
                kind: "CronJob".into(),
                template: p(&["spec", "jobTemplate", "spec", "template"]),
                replicas: None,
            },
        ]);
        WorkloadKinds(kinds)
    }

    pub fn find(&self, group: &str, kind: &str) -> Option<&WorkloadKind> {
        self.0.iter().find(|k| k.kind == kind && k.groups.as_ref().is_none_or(|gs| gs.iter().any(|g| g == group)))
    }
}

/// Component classes (app, engine, database, cache, queue, job, scheduler) and how to recognise
/// them.
#[derive(Clone, Debug, Default)]
pub struct Classes {
    names: Vec<String>,
    patterns: Patterns,
}

impl Classes {
    /// The classes in order, each with its patterns (each has passed [`Patterns::check`]).
    pub fn new(classes: Vec<(String, Vec<String>)>) -> Result<Classes, String> {
        let patterns = Patterns::new(
            classes.iter().enumerate().flat_map(|(i, (_, patterns))| patterns.iter().map(move |p| (i, p.as_str()))),
        )?;
        Ok(Classes { names: classes.into_iter().map(|(name, _)| name).collect(), patterns })
    }

    /// The first class named `value` (in any case) or with a pattern matching it, lower-cased.
    pub(crate) fn by_value(&self, value: &str) -> Option<&str> {
        let lower = value.to_ascii_lowercase();
        let named = self.names.iter().position(|class| *class == lower);
        let matched = self.patterns.first(&lower);
        self.name(named.into_iter().chain(matched).min()?)
    }

    /// The first class with a pattern matching `name`, as given.
    pub(crate) fn by_pattern(&self, name: &str) -> Option<&str> {
        self.name(self.patterns.first(name)?)
    }

    fn name(&self, class: usize) -> Option<&str> {
        self.names.get(class).map(String::as_str)
    }
}
