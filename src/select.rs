//! Label selectors: Kubernetes `LabelSelector` objects (matchLabels, matchExpressions) and the
//! kubectl string form (`app=web,tier in (a,b),!legacy`) used in overlay targets.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::intern;

/// A parsed selector requirement. Its keys and values are shared texts (`intern`): the index,
/// the network and the generating rules keep a selector per workload, Service and policy, and
/// most of them name the same few labels (`app`, the release, the namespace's name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Requirement {
    Equals(Arc<str>, Arc<str>),
    NotEquals(Arc<str>, Arc<str>),
    In(Arc<str>, ValueSet),
    NotIn(Arc<str>, ValueSet),
    Exists(Arc<str>),
    DoesNotExist(Arc<str>),
}

impl Requirement {
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.value(k) == Some(&**v),
            Requirement::NotEquals(k, v) => labels.value(k) != Some(&**v),
            Requirement::In(k, vs) => labels.value(k).is_some_and(|x| vs.iter().any(|v| **v == *x)),
            Requirement::NotIn(k, vs) => labels.value(k).is_none_or(|x| vs.iter().all(|v| **v != *x)),
            Requirement::Exists(k) => labels.has(k),
            Requirement::DoesNotExist(k) => !labels.has(k),
        }
    }
}

/// Labels a selector is matched against: a mapping as read from an object, or labels kept as
/// shared texts ([`LabelSet`]).
pub trait Labels {
    /// The value of `key`, if it is there and a string.
    fn value(&self, key: &str) -> Option<&str>;
    /// Whether `key` is there, whatever its value.
    fn has(&self, key: &str) -> bool;
    /// The labels whose value is a string, in order.
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)>;
}

impl Labels for Map<String, Value> {
    fn value(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
    }
}

/// Labels kept as shared texts (`intern`), in their order: the facts of every workload keep
/// its pods' labels until generation, and most name the same few keys. A value that is not a
/// string is kept as there with no text (Kubernetes refuses it, and so does temper's check of
/// types, but the answers stay those of the mapping it was read from).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSet(Box<[Label]>);

/// A label of a [`LabelSet`]: its key, and its value if that is a string.
type Label = (Arc<str>, Option<Arc<str>>);

impl LabelSet {
    pub fn of(labels: &Map<String, Value>) -> LabelSet {
        LabelSet(labels.iter().map(|(k, v)| (intern::text(k), v.as_str().map(intern::text))).collect())
    }

    /// The labels as a mapping (a value that is not a string as `null`).
    pub fn to_map(&self) -> Map<String, Value> {
        self.0.iter().map(|(k, v)| (k.to_string(), v.as_deref().map_or(Value::Null, Value::from))).collect()
    }
}

impl Labels for LabelSet {
    fn value(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| **k == *key).and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| **k == *key)
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|(k, v)| Some((&**k, v.as_deref()?)))
    }
}

/// A selector: all requirements must hold. Empty selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A selector of `reqs`, holding room for them only: a first push leaves room for four
    /// requirements, and the index and the generating rules keep a selector per workload.
    fn sized(mut reqs: Vec<Requirement>) -> Selector {
        reqs.shrink_to_fit();
        Selector(reqs)
    }

    /// Reads a Kubernetes `LabelSelector`. `None` when it is malformed; Kubernetes would reject
    /// it, and a selector we cannot read must never be taken to match.
    pub fn from_label_selector(value: &Value) -> Option<Selector> {
        let mut reqs = Vec::new();
        if value.is_null() {
            return Some(Selector(reqs));
        }
        let obj = value.as_object()?;
        if let Some(ml) = obj.get("matchLabels").filter(|v| !v.is_null()) {
            for (k, v) in ml.as_object()? {
                reqs.push(Requirement::Equals(intern::text(k), intern::text(v.as_str()?)));
            }
        }
        if let Some(exprs) = obj.get("matchExpressions").filter(|v| !v.is_null()) {
            for expr in exprs.as_array()? {
                let key = intern::text(expr.get("key")?.as_str()?);
                let values = || -> Option<ValueSet> {
                    expr.get("values")?.as_array()?.iter().map(|v| v.as_str().map(intern::text)).collect()
                };
                reqs.push(match expr.get("operator")?.as_str()? {
                    "In" => Requirement::In(key, values()?),
                    "NotIn" => Requirement::NotIn(key, values()?),
                    "Exists" => Requirement::Exists(key),
                    "DoesNotExist" => Requirement::DoesNotExist(key),
                    _ => return None,
                });
            }
        }
        Some(Selector::sized(reqs))
    }

    /// Reads a map selector such as a Service's `spec.selector` (all pairs must match).
    pub fn from_map(value: &Value) -> Option<Selector> {
        let mut reqs = Vec::new();
        for (k, v) in value.as_object()? {
            reqs.push(Requirement::Equals(intern::text(k), intern::text(v.as_str()?)));
        }
        Some(Selector::sized(reqs))
    }

    /// Parses the kubectl form: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let req = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(intern::text(key.trim()))
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(intern::text(k.trim()), intern::text(v.trim()))
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(intern::text(k.trim()), intern::text(v.trim()))
            } else if let Some((k, set)) = split_set(part, " notin ") {
                Requirement::NotIn(k, set?)
            } else if let Some((k, set)) = split_set(part, " in ") {
                Requirement::In(k, set?)
            } else if part.chars().all(|c| c.is_alphanumeric() || "-_./".contains(c)) {
                Requirement::Exists(intern::text(part))
            } else {
                return Err(format!("cannot parse selector requirement `{part}`"));
            };
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }
}

/// Selectors in namespaces, each with a payload, found by the labels of a pod.
///
/// Asking "does any selector in this namespace select these labels?" once per workload against
/// a list of every selector is quadratic in the stream, and a stream of ten thousand workloads
/// spent most of its time there. A selector with `key=value` requirements can only select pods
/// carrying one of them, so it is filed under one such pair, the one filed least often so far
/// (a pair every selector shares, such as the release label, would put them all in one bucket);
/// a query looks only in the buckets of the pod's own labels, plus the few selectors that have
/// no equality requirement. Each selector is in exactly one bucket, and answers are those of
/// testing every selector in turn.
///
/// A bucket is found by the hash of its namespace and pair, in one table for the whole set: a
/// table of pairs per namespace cost more than its selectors on a stream of many namespaces of
/// one workload each. Two pairs whose hashes meet share a bucket, which costs a test, not an
/// answer: every selector found is tested against the labels and its namespace.
///
/// Questions about any namespace (an object with no namespace, when the release's is unknown)
/// are answered from a second table of every selector by its pair alone, built when the first
/// such question is asked: most streams never ask one, and the table took as much again as
/// the first on a stream of many workloads.
#[derive(Clone, Debug)]
pub struct SelectorSet<T> {
    /// hash of (namespace, key, value) → the selectors in that namespace filed under that pair.
    by_pair: HashMap<u64, Bucket<T>>,
    /// Selectors with no `key=value` requirement (the empty one included), by namespace.
    rest: HashMap<Option<String>, Vec<Filed<T>>>,
    /// Every selector, in the order inserted, for [`Everywhere`] when it is built.
    all: Vec<Filed<T>>,
    everywhere: OnceLock<Everywhere<T>>,
}

/// Every selector of a set again, whatever its namespace, for questions about any namespace:
/// by the hash of (key, value), and those with no pair.
#[derive(Clone, Debug)]
struct Everywhere<T> {
    by_pair: HashMap<u64, Bucket<T>>,
    rest: Vec<Filed<T>>,
}

impl<T> Everywhere<T> {
    fn file(&mut self, filed: Filed<T>) {
        if let Some(unpaired) = file(&mut self.by_pair, filed, |k, v| pair_hash(None, k, v)) {
            self.rest.push(unpaired);
        }
    }
}

/// A selector with its namespace and payload, filed both by namespace and everywhere: one
/// copy, shared.
type Filed<T> = Arc<FiledSelector<T>>;

#[derive(Debug)]
struct FiledSelector<T> {
    namespace: Option<Arc<str>>,
    selector: Selector,
    payload: T,
}

impl<T> FiledSelector<T> {
    fn in_namespace(&self, namespace: &Option<String>) -> bool {
        self.namespace.as_deref() == namespace.as_deref()
    }
}

/// The selectors filed under one pair: most pairs are one workload's own (`app: name`), so one
/// selector is held without a list.
#[derive(Clone, Debug)]
enum Bucket<T> {
    One(Filed<T>),
    Many(Vec<Filed<T>>),
}

impl<T> Bucket<T> {
    fn as_slice(&self) -> &[Filed<T>] {
        match self {
            Bucket::One(filed) => std::slice::from_ref(filed),
            Bucket::Many(list) => list,
        }
    }

    fn push(&mut self, filed: Filed<T>) {
        match self {
            Bucket::One(first) => *self = Bucket::Many(vec![Arc::clone(first), filed]),
            Bucket::Many(list) => list.push(filed),
        }
    }
}

impl<T> Default for SelectorSet<T> {
    fn default() -> Self {
        SelectorSet { by_pair: HashMap::new(), rest: HashMap::new(), all: Vec::new(), everywhere: OnceLock::new() }
    }
}

/// The hash a bucket is found by, of a pair in a namespace (`scope`: `Some`) or anywhere
/// (`None`): the same for the same text whatever the run (a fixed hasher), so that which pair a
/// selector is filed under never depends on the process.
fn pair_hash(scope: Option<Option<&str>>, key: &str, value: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one((scope, key, value))
}

/// Files `filed` under the pair of its selector filed least often so far (as `hash` places
/// pairs in `by_pair`); gives it back if it has no pair.
fn file<T>(
    by_pair: &mut HashMap<u64, Bucket<T>>,
    filed: Filed<T>,
    hash: impl Fn(&str, &str) -> u64,
) -> Option<Filed<T>> {
    let equalities = filed.selector.0.iter().filter_map(|r| match r {
        Requirement::Equals(k, v) => Some(hash(k, v)),
        _ => None,
    });
    let Some(h) = equalities.min_by_key(|h| by_pair.get(h).map_or(0, |b| b.as_slice().len())) else {
        return Some(filed);
    };
    match by_pair.entry(h) {
        Entry::Occupied(mut bucket) => bucket.get_mut().push(filed),
        Entry::Vacant(slot) => {
            slot.insert(Bucket::One(filed));
        }
    }
    None
}

impl<T> SelectorSet<T> {
    pub fn insert(&mut self, namespace: Option<String>, selector: Selector, payload: T) {
        let filed = Arc::new(FiledSelector { namespace: namespace.as_deref().map(intern::text), selector, payload });
        let scope = Some(namespace.as_deref());
        if let Some(unpaired) = file(&mut self.by_pair, Arc::clone(&filed), |k, v| pair_hash(scope, k, v)) {
            self.rest.entry(namespace.clone()).or_insert_with(|| Vec::with_capacity(1)).push(unpaired);
        }
        // Once built, the table of every selector is kept up to date: the generating rules
        // ask about the objects added so far while they add more.
        if let Some(everywhere) = self.everywhere.get_mut() {
            everywhere.file(Arc::clone(&filed));
        }
        self.all.push(filed);
    }

    /// The table of every selector, built at the first question about any namespace.
    fn everywhere(&self) -> &Everywhere<T> {
        self.everywhere.get_or_init(|| {
            let mut everywhere = Everywhere { by_pair: HashMap::new(), rest: Vec::new() };
            for filed in &self.all {
                everywhere.file(Arc::clone(filed));
            }
            everywhere
        })
    }

    /// The selectors in `namespace` (any, for `None`) that may select `labels`, each once: those
    /// with no pair, then those filed under each of the pod's pairs, in the order of its labels.
    fn candidates<'a, L: Labels + ?Sized>(
        &'a self,
        namespace: Option<&'a Option<String>>,
        labels: &'a L,
    ) -> impl Iterator<Item = &'a Filed<T>> + 'a {
        let (by_pair, rest) = match namespace {
            Some(ns) => (&self.by_pair, self.rest.get(ns).map(Vec::as_slice).unwrap_or_default()),
            None => {
                let everywhere = self.everywhere();
                (&everywhere.by_pair, everywhere.rest.as_slice())
            }
        };
        let mut hashes: Vec<u64> = Vec::new();
        for (k, v) in labels.pairs() {
            let h = pair_hash(namespace.map(|ns| ns.as_deref()), k, v);
            // Two labels whose pairs hash alike would visit one bucket twice.
            if !hashes.contains(&h) {
                hashes.push(h);
            }
        }
        let paired = hashes.into_iter().filter_map(|h| by_pair.get(&h)).flat_map(Bucket::as_slice);
        rest.iter()
            .chain(paired)
            .filter(move |f| namespace.is_none_or(|ns| f.in_namespace(ns)) && f.selector.matches(labels))
    }

    /// Whether a selector in `namespace` whose payload passes `accept` selects `labels`.
    pub fn any_selects(
        &self,
        namespace: &Option<String>,
        labels: &(impl Labels + ?Sized),
        accept: impl Fn(&T) -> bool,
    ) -> bool {
        self.candidates(Some(namespace), labels).any(|f| accept(&f.payload))
    }

    /// Whether a selector in any namespace whose payload passes `accept` selects `labels`.
    pub fn any_selects_anywhere(&self, labels: &(impl Labels + ?Sized), accept: impl Fn(&T) -> bool) -> bool {
        self.candidates(None, labels).any(|f| accept(&f.payload))
    }

    /// The payloads of the selectors in `namespace` that select `labels`, each once (a selector
    /// is filed under one label pair only).
    pub fn selecting<'a, L: Labels + ?Sized>(
        &'a self,
        namespace: &'a Option<String>,
        labels: &'a L,
    ) -> impl Iterator<Item = &'a T> + 'a {
        self.candidates(Some(namespace), labels).map(|f| &f.payload)
    }
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The values of an `in` or `notin` requirement.
type ValueSet = Box<[Arc<str>]>;

fn split_set(part: &str, op: &str) -> Option<(Arc<str>, Result<ValueSet, String>)> {
    let (key, rest) = part.split_once(op)?;
    let rest = rest.trim();
    let set = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| inner.split(',').map(str::trim).filter(|v| !v.is_empty()).map(intern::text).collect())
        .ok_or_else(|| format!("expected a parenthesised set in `{part}`"));
    Some((intern::text(key.trim()), set))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn kubectl_syntax() {
        let s = Selector::parse("app=web, tier in (front, back),!legacy,env!=dev,team").unwrap();
        assert!(s.matches(&labels(json!({"app": "web", "tier": "back", "team": "x"}))));
        assert!(!s.matches(&labels(json!({"app": "web", "tier": "back", "team": "x", "legacy": "1"}))));
        assert!(!s.matches(&labels(json!({"app": "web", "tier": "mid", "team": "x"}))));
        assert!(Selector::parse("a in b").is_err());
    }

    #[test]
    fn label_selector_objects() {
        let s = Selector::from_label_selector(&json!({"matchLabels": {"app": "db"},
            "matchExpressions": [{"key": "role", "operator": "NotIn", "values": ["replica"]}]}))
        .unwrap();
        assert!(s.matches(&labels(json!({"app": "db", "role": "primary"}))));
        assert!(!s.matches(&labels(json!({"app": "db", "role": "replica"}))));
        assert!(Selector::from_label_selector(&json!({"matchLabels": {"a": 1}})).is_none());
    }

    /// The set answers exactly as testing every selector in turn, whatever the mix of
    /// requirements and namespaces.
    #[test]
    fn selector_set_answers_like_a_list() {
        let selectors = [
            "app=web,release=r",
            "release=r,app=db",
            "release=r",
            "release=r,tier in (a,b)",
            "tier in (a)",
            "",
            "!legacy",
            "app=web,app=db",
            "app!=web,release=r",
        ];
        let pods = [
            json!({"app": "web", "release": "r"}),
            json!({"app": "db", "release": "r", "tier": "b"}),
            json!({"release": "r", "tier": "a", "legacy": "y"}),
            json!({"app": "web"}),
            json!({"app": 1, "release": "r"}),
            json!({}),
        ];
        for ns in [None, Some("a".to_string())] {
            for n in 0..=selectors.len() {
                let mut set = SelectorSet::default();
                let mut list = Vec::new();
                for (i, text) in selectors.iter().take(n).enumerate() {
                    let sel = Selector::parse(text).unwrap();
                    set.insert(if i % 3 == 0 { None } else { Some("a".to_string()) }, sel.clone(), i);
                    list.push((if i % 3 == 0 { None } else { Some("a".to_string()) }, sel, i));
                }
                for pod in &pods {
                    let labels = labels(pod.clone());
                    for parity in [0, 1] {
                        let want = list.iter().any(|(n, s, i)| *n == ns && i % 2 == parity && s.matches(&labels));
                        let got = set.any_selects(&ns, &labels, |i| i % 2 == parity);
                        assert_eq!(got, want, "{n} selectors, namespace {ns:?}, pod {pod}, parity {parity}");
                        let mut want: Vec<usize> =
                            list.iter().filter(|(n, s, _)| *n == ns && s.matches(&labels)).map(|(.., i)| *i).collect();
                        let mut got: Vec<usize> = set.selecting(&ns, &labels).copied().collect();
                        want.sort();
                        got.sort();
                        assert_eq!(got, want, "{n} selectors selecting, namespace {ns:?}, pod {pod}");
                        let want = list.iter().any(|(_, s, i)| i % 2 == parity && s.matches(&labels));
                        let got = set.any_selects_anywhere(&labels, |i| i % 2 == parity);
                        assert_eq!(got, want, "{n} selectors anywhere, pod {pod}, parity {parity}");
                        // Labels kept as shared texts get the answers of the mapping they were
                        // read from, in the same order.
                        let shared = LabelSet::of(&labels);
                        let got = set.any_selects_anywhere(&shared, |i| i % 2 == parity);
                        assert_eq!(got, want, "{n} selectors anywhere, shared labels of pod {pod}");
                        let got = set.any_selects(&ns, &shared, |i| i % 2 == parity);
                        assert_eq!(got, set.any_selects(&ns, &labels, |i| i % 2 == parity), "pod {pod}");
                        let from_map: Vec<usize> = set.selecting(&ns, &labels).copied().collect();
                        let from_shared: Vec<usize> = set.selecting(&ns, &shared).copied().collect();
                        assert_eq!(from_shared, from_map, "{n} selectors selecting, shared labels of pod {pod}");
                    }
                }
            }
        }
    }

    /// Selectors inserted after a question about any namespace are found by the next one: the
    /// table built for the first is kept up to date.
    #[test]
    fn selector_set_anywhere_sees_later_inserts() {
        let mut set = SelectorSet::default();
        let web = labels(json!({"app": "web"}));
        let db = labels(json!({"app": "db", "tier": "a"}));
        set.insert(Some("a".to_string()), Selector::parse("app=web").unwrap(), 0);
        assert!(set.any_selects_anywhere(&web, |_| true));
        assert!(!set.any_selects_anywhere(&db, |_| true));
        set.insert(Some("b".to_string()), Selector::parse("app=db").unwrap(), 1);
        set.insert(None, Selector::parse("tier in (a)").unwrap(), 2);
        assert!(set.any_selects_anywhere(&db, |&i| i == 1));
        assert!(set.any_selects_anywhere(&db, |&i| i == 2));
        assert!(!set.any_selects_anywhere(&web, |&i| i != 0));
        // A copy made after the table was built answers as the original.
        let copy = set.clone();
        assert!(copy.any_selects_anywhere(&db, |&i| i == 2));
    }

    /// A label set answers every requirement as the mapping it was read from, a value that is
    /// not a string included, and gives the mapping back.
    #[test]
    fn label_set_answers_like_its_mapping() {
        let map = labels(json!({"app": "web", "n": 1, "tier": "a"}));
        let set = LabelSet::of(&map);
        for text in
            ["app=web", "app!=web", "n", "!n", "n=1", "n!=1", "tier in (a,b)", "tier notin (a)", "gone", "!gone"]
        {
            let selector = Selector::parse(text).unwrap();
            assert_eq!(selector.matches(&set), selector.matches(&map), "{text}");
        }
        assert_eq!(set.pairs().collect::<Vec<_>>(), map.pairs().collect::<Vec<_>>());
        assert_eq!(LabelSet::of(&labels(json!({"app": "web"}))).to_map(), labels(json!({"app": "web"})));
        assert_eq!(set.to_map().get("n"), Some(&Value::Null));
    }
}
