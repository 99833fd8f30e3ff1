//! Which workloads cannot run more than once: single-writer data stores and single-instance
//! controllers, and the signs that one is set up for replication after all.

use super::patterns::Patterns;

/// A store or controller the table knows.
#[derive(Clone, Debug)]
pub struct Store {
    pub name: String,
    /// Patterns for the workload's name and component labels.
    pub names: Vec<String>,
    /// Patterns for container images, without their registry host.
    pub images: Vec<String>,
    /// Any one of these means the workload belongs to a replicated setup.
    pub replicated: Signals,
    /// Why it cannot run twice, when not "copies would not share one data set".
    pub why: Option<String>,
    /// What production does instead of scaling this workload.
    pub practice: String,
}

/// Signs of a replicated setup in a pod template, as patterns.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// An env variable by name, and by value when a value pattern is given.
    pub env: Vec<(String, Option<String>)>,
    /// A container argument or command item.
    pub args: Vec<String>,
    /// A container name.
    pub containers: Vec<String>,
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

/// Why a store without replication cannot run twice.
const COPIES: &str = "not set up for replication, and copies would not share one data set";

/// The table as configuration writes it, overlay by overlay: its patterns each checked
/// ([`Patterns::check`]), compiled once it is complete ([`SingleWriters::new`]).
#[derive(Clone, Debug, Default)]
pub struct SingleWriterTable {
    /// Component classes whose workloads are single writers, each with its production practice.
    pub classes: Vec<(String, String)>,
    /// Names that make a workload of such a class something else (an exporter, a proxy, ...).
    pub not_names: Vec<String>,
    pub stores: Vec<Store>,
}

/// The table, compiled: each kind of pattern of every store in one set, owned by its store.
#[derive(Clone, Debug, Default)]
pub struct SingleWriters {
    classes: Vec<(String, String)>,
    not_names: Patterns,
    stores: Vec<Store>,
    names: Patterns,
    images: Patterns,
    env_names: Patterns,
    /// The value patterns of the env signals, each owned by its signal's place in `env_names`.
    env_values: Patterns,
    /// Whether the env signal at each place of `env_names` asks for a value.
    env_has_value: Vec<bool>,
    args: Patterns,
    containers: Patterns,
}

/// A workload recognised as a single writer: what it is, and what to do instead of scaling it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleWriter {
    pub what: String,
    pub why: String,
    pub practice: String,
}

impl SingleWriters {
    /// Compiles `table`.
    pub fn new(table: SingleWriterTable) -> Result<SingleWriters, String> {
        let SingleWriterTable { classes, not_names, stores } = table;
        let of_stores = |list: fn(&Store) -> &[String]| {
            Patterns::new(
                stores.iter().enumerate().flat_map(move |(i, s)| list(s).iter().map(move |p| (i, p.as_str()))),
            )
        };
        let env: Vec<(usize, &(String, Option<String>))> =
            stores.iter().enumerate().flat_map(|(i, s)| s.replicated.env.iter().map(move |e| (i, e))).collect();
        let env_names = Patterns::new(env.iter().map(|(store, (name, _))| (*store, name.as_str())))?;
        let env_values =
            Patterns::new(env.iter().enumerate().filter_map(|(at, (_, (_, value)))| Some((at, value.as_deref()?))))?;
        let env_has_value = env.iter().map(|(_, (_, value))| value.is_some()).collect();
        Ok(SingleWriters {
            not_names: Patterns::new(not_names.iter().map(|p| (0, p.as_str())))?,
            names: of_stores(|s| &s.names)?,
            images: of_stores(|s| &s.images)?,
            args: of_stores(|s| &s.replicated.args)?,
            containers: of_stores(|s| &s.replicated.containers)?,
            env_names,
            env_values,
            env_has_value,
            classes,
            stores,
        })
    }

    /// Whether a workload of component `class`, called `names` (its name and component label
    /// values, lower-cased), with `pod`'s containers, is a single writer not set up for
    /// replication.
    pub fn recognise(&self, class: &str, names: &[String], pod: &PodView<'_>) -> Option<SingleWriter> {
        let by_image = pod.images.iter().filter_map(|image| self.images.first(image)).min();
        let by_name = || names.iter().filter_map(|name| self.names.first(name)).min();
        if let Some((i, store)) = by_image.or_else(by_name).and_then(|i| Some((i, self.stores.get(i)?))) {
            return (!self.replicated(Some(i), pod)).then(|| SingleWriter {
                what: store.name.clone(),
                why: store.why.clone().unwrap_or_else(|| COPIES.into()),
                practice: store.practice.clone(),
            });
        }
        let (class, practice) = self.classes.iter().find(|(c, _)| c == class)?;
        let other = names.iter().any(|name| self.not_names.is_match(name));
        let replicated = self.replicated(None, pod);
        (!other && !replicated).then(|| SingleWriter {
            what: format!("a {class}"),
            why: COPIES.into(),
            practice: practice.clone(),
        })
    }

    /// Whether `pod` shows a sign of a replicated setup: one of `store`'s, or of any store's.
    fn replicated(&self, store: Option<usize>, pod: &PodView<'_>) -> bool {
        let ours = |owner: usize| store.is_none_or(|s| s == owner);
        let value_fits = |at: usize, value: Option<&str>| {
            !self.env_has_value.get(at).copied().unwrap_or(false)
                || value.is_some_and(|v| self.env_values.matches(v).any(|(_, owner)| owner == at))
        };
        pod.env
            .iter()
            .any(|(name, value)| self.env_names.matches(name).any(|(at, owner)| ours(owner) && value_fits(at, *value)))
            || pod.args.iter().any(|arg| self.args.matches(arg).any(|(_, owner)| ours(owner)))
            || pod.containers.iter().any(|name| self.containers.matches(name).any(|(_, owner)| ours(owner)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str, images: &[&str], env: &[(&str, Option<&str>)]) -> Store {
        Store {
            name: name.into(),
            names: Vec::new(),
            images: images.iter().map(|p| p.to_string()).collect(),
            replicated: Signals {
                env: env.iter().map(|(n, v)| (n.to_string(), v.map(str::to_string))).collect(),
                ..Signals::default()
            },
            why: None,
            practice: format!("run {name} replicated"),
        }
    }

    fn what(table: &SingleWriters, image: &str, env: &[(&str, Option<&str>)]) -> Option<String> {
        let pod = PodView { images: vec![image.into()], env: env.to_vec(), ..PodView::default() };
        table.recognise("app", &[], &pod).map(|w| w.what)
    }

    #[test]
    fn a_store_is_replicated_only_by_its_own_signals_and_the_first_store_wins() {
        let table = SingleWriters::new(SingleWriterTable {
            classes: Vec::new(),
            not_names: Vec::new(),
            stores: vec![
                store("Db", &["^db(:|$)"], &[("^DB_MASTER_HOST$", None), ("^DB_PEERS$", Some(","))]),
                store("Cache", &["^cache(:|$)", "^db"], &[("^CACHE_REPLICA$", None)]),
            ],
        })
        .unwrap();
        assert_eq!(what(&table, "db:16", &[]).as_deref(), Some("Db"));
        assert_eq!(what(&table, "dbx:1", &[]).as_deref(), Some("Cache"));
        assert_eq!(what(&table, "db:16", &[("DB_MASTER_HOST", Some("a"))]), None);
        // Another store's sign says nothing about this one.
        assert_eq!(what(&table, "db:16", &[("CACHE_REPLICA", Some("1"))]).as_deref(), Some("Db"));
        // A signal with a value pattern needs a value that matches it.
        assert_eq!(what(&table, "db:16", &[("DB_PEERS", Some("a"))]).as_deref(), Some("Db"));
        assert_eq!(what(&table, "db:16", &[("DB_PEERS", None)]).as_deref(), Some("Db"));
        assert_eq!(what(&table, "db:16", &[("DB_PEERS", Some("a,b"))]), None);
        assert_eq!(what(&table, "web:1", &[]), None);
    }
}
