//! Which workloads cannot run more than once: single-writer data stores and single-instance
//! controllers, and the signs that one is set up for replication after all.

use regex::Regex;

/// A store or controller the table knows.
#[derive(Clone, Debug)]
pub struct Store {
    pub name: String,
    /// Patterns for the workload's name and component labels.
    pub names: Vec<Regex>,
    /// Patterns for container images, without their registry host.
    pub images: Vec<Regex>,
    /// Any one of these means the workload belongs to a replicated setup.
    pub replicated: Signals,
    /// Why it cannot run twice, when not "copies would not share one data set".
    pub why: Option<String>,
    /// What production does instead of scaling this workload.
    pub practice: String,
}

/// Signs of a replicated setup in a pod template.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// An env variable by name, and by value when a value pattern is given.
    pub env: Vec<(Regex, Option<Regex>)>,
    /// A container argument or command item.
    pub args: Vec<Regex>,
    /// A container name.
    pub containers: Vec<Regex>,
}

/// What recognition reads of a pod template's containers.
#[derive(Debug, Default)]
pub struct PodView<'a> {
    /// Images without their registry host.
    pub images: Vec<String>,
    /// Literal env variables: name and value (`None` when it comes from elsewhere).
    pub env: Vec<(&'a str, Option<&'a str>)>,
    /// Every command and argument item.
    pub args: Vec<&'a str>,
    pub containers: Vec<&'a str>,
}

impl Signals {
    fn present(&self, pod: &PodView<'_>) -> bool {
        self.env.iter().any(|(name, value)| {
            pod.env.iter().any(|(n, v)| {
                name.is_match(n) && value.as_ref().is_none_or(|pattern| v.is_some_and(|v| pattern.is_match(v)))
            })
        }) || self.args.iter().any(|a| pod.args.iter().any(|arg| a.is_match(arg)))
            || self.containers.iter().any(|c| pod.containers.iter().any(|name| c.is_match(name)))
    }
}

/// Why a store without replication cannot run twice.
const COPIES: &str = "not set up for replication, and copies would not share one data set";

/// The table.
#[derive(Clone, Debug, Default)]
pub struct SingleWriters {
    /// Component classes whose workloads are single writers, each with its production practice.
    pub classes: Vec<(String, String)>,
    /// Names that make a workload of such a class something else (an exporter, a proxy, ...).
    pub not_names: Vec<Regex>,
    pub stores: Vec<Store>,
}

/// A workload recognised as a single writer: what it is, and what to do instead of scaling it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleWriter {
    pub what: String,
    pub why: String,
    pub practice: String,
}

impl SingleWriters {
    /// Whether a workload of component `class`, called `names` (its name and component label
    /// values, lower-cased), with `pod`'s containers, is a single writer not set up for
    /// replication.
    pub fn recognise(&self, class: &str, names: &[String], pod: &PodView<'_>) -> Option<SingleWriter> {
        let by_image =
            self.stores.iter().find(|s| s.images.iter().any(|i| pod.images.iter().any(|image| i.is_match(image))));
        let by_name = || self.stores.iter().find(|s| s.names.iter().any(|n| names.iter().any(|name| n.is_match(name))));
        if let Some(store) = by_image.or_else(by_name) {
            return (!store.replicated.present(pod)).then(|| SingleWriter {
                what: store.name.clone(),
                why: store.why.clone().unwrap_or_else(|| COPIES.into()),
                practice: store.practice.clone(),
            });
        }
        let (class, practice) = self.classes.iter().find(|(c, _)| c == class)?;
        let other = names.iter().any(|name| self.not_names.iter().any(|n| n.is_match(name)));
        let replicated = self.stores.iter().any(|s| s.replicated.present(pod));
        (!other && !replicated).then(|| SingleWriter {
            what: format!("a {class}"),
            why: COPIES.into(),
            practice: practice.clone(),
        })
    }
}
