//! Label selectors: Kubernetes `LabelSelector` objects (matchLabels, matchExpressions) and the
//! kubectl string form (`app=web,tier in (a,b),!legacy`) used in overlay targets.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// A parsed selector requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Requirement {
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        match self {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// A selector: all requirements must hold. Empty selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
                reqs.push(Requirement::Equals(k.clone(), v.as_str()?.to_string()));
            }
        }
        if let Some(exprs) = obj.get("matchExpressions").filter(|v| !v.is_null()) {
            for expr in exprs.as_array()? {
                let key = expr.get("key")?.as_str()?.to_string();
                let values = || -> Option<Vec<String>> {
                    expr.get("values")?.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect()
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
        Some(Selector(reqs))
    }

    /// Reads a map selector such as a Service's `spec.selector` (all pairs must match).
    pub fn from_map(value: &Value) -> Option<Selector> {
        let mut reqs = Vec::new();
        for (k, v) in value.as_object()? {
            reqs.push(Requirement::Equals(k.clone(), v.as_str()?.to_string()));
        }
        Some(Selector(reqs))
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
                Requirement::DoesNotExist(key.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, set)) = split_set(part, " notin ") {
                Requirement::NotIn(k, set?)
            } else if let Some((k, set)) = split_set(part, " in ") {
                Requirement::In(k, set?)
            } else if part.chars().all(|c| c.is_alphanumeric() || "-_./".contains(c)) {
                Requirement::Exists(part.to_string())
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
#[derive(Clone, Debug)]
pub struct SelectorSet<T> {
    namespaces: HashMap<Option<String>, Buckets<T>>,
    /// Every selector again, whatever its namespace, for questions about any namespace.
    everywhere: Buckets<T>,
}

#[derive(Clone, Debug)]
struct Buckets<T> {
    /// label key → label value → selectors requiring that pair (with their payloads).
    by_pair: HashMap<String, HashMap<String, Vec<Filed<T>>>>,
    /// Selectors with no `key=value` requirement, the empty one included.
    rest: Vec<Filed<T>>,
}

/// A selector with its payload, filed both by namespace and everywhere: one copy, shared.
type Filed<T> = Arc<(Selector, T)>;

impl<T> Default for SelectorSet<T> {
    fn default() -> Self {
        SelectorSet { namespaces: HashMap::new(), everywhere: Buckets::default() }
    }
}

impl<T> Default for Buckets<T> {
    fn default() -> Self {
        Buckets { by_pair: HashMap::new(), rest: Vec::new() }
    }
}

impl<T> SelectorSet<T> {
    pub fn insert(&mut self, namespace: Option<String>, selector: Selector, payload: T) {
        let filed = Arc::new((selector, payload));
        self.everywhere.insert(Arc::clone(&filed));
        self.namespaces.entry(namespace).or_default().insert(filed);
    }
}

impl<T> Buckets<T> {
    fn insert(&mut self, filed: Filed<T>) {
        let selector = &filed.0;
        let count = |k: &String, v: &String| self.by_pair.get(k).and_then(|m| m.get(v)).map_or(0, Vec::len);
        let pair = selector
            .0
            .iter()
            .filter_map(|r| match r {
                Requirement::Equals(k, v) => Some((k, v)),
                _ => None,
            })
            .min_by_key(|(k, v)| count(k, v))
            .map(|(k, v)| (k.clone(), v.clone()));
        match pair {
            // Most pairs are one workload's own (`app: name`): room for one selector, not the
            // four a first push makes, in every bucket of a stream of many workloads.
            Some((k, v)) => {
                self.by_pair.entry(k).or_default().entry(v).or_insert_with(|| Vec::with_capacity(1)).push(filed)
            }
            None => self.rest.push(filed),
        }
    }

    /// The payloads of the selectors that select `labels`, each once.
    fn selecting<'a>(&'a self, labels: &'a Map<String, Value>) -> impl Iterator<Item = &'a T> + 'a {
        let paired = labels.iter().filter_map(|(k, v)| self.by_pair.get(k)?.get(v.as_str()?));
        self.rest.iter().chain(paired.flatten()).filter(|f| f.0.matches(labels)).map(|f| &f.1)
    }

    fn any_selects(&self, labels: &Map<String, Value>, accept: impl Fn(&T) -> bool) -> bool {
        let hit = |list: &Vec<Filed<T>>| list.iter().any(|f| accept(&f.1) && f.0.matches(labels));
        hit(&self.rest)
            || labels.iter().any(|(k, v)| {
                let bucket = v.as_str().and_then(|v| self.by_pair.get(k)?.get(v));
                bucket.is_some_and(hit)
            })
    }
}

impl<T> SelectorSet<T> {
    /// Whether a selector in `namespace` whose payload passes `accept` selects `labels`.
    pub fn any_selects(
        &self,
        namespace: &Option<String>,
        labels: &Map<String, Value>,
        accept: impl Fn(&T) -> bool,
    ) -> bool {
        self.namespaces.get(namespace).is_some_and(|b| b.any_selects(labels, accept))
    }

    /// Whether a selector in any namespace whose payload passes `accept` selects `labels`.
    pub fn any_selects_anywhere(&self, labels: &Map<String, Value>, accept: impl Fn(&T) -> bool) -> bool {
        self.everywhere.any_selects(labels, accept)
    }

    /// The payloads of the selectors in `namespace` that select `labels`, each once (a selector
    /// is filed under one label pair only).
    pub fn selecting<'a>(
        &'a self,
        namespace: &Option<String>,
        labels: &'a Map<String, Value>,
    ) -> impl Iterator<Item = &'a T> + 'a {
        self.namespaces.get(namespace).into_iter().flat_map(move |b| b.selecting(labels))
    }

    /// The payloads of every selector in `namespace`, in no particular order.
    pub fn payloads(&self, namespace: &Option<String>) -> impl Iterator<Item = &T> {
        self.namespaces
            .get(namespace)
            .into_iter()
            .flat_map(|b| b.rest.iter().chain(b.by_pair.values().flat_map(|m| m.values().flatten())).map(|f| &f.1))
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

fn split_set(part: &str, op: &str) -> Option<(String, Result<Vec<String>, String>)> {
    let (key, rest) = part.split_once(op)?;
    let rest = rest.trim();
    let set = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
        .ok_or_else(|| format!("expected a parenthesised set in `{part}`"));
    Some((key.trim().to_string(), set))
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
                assert_eq!(set.payloads(&ns).count(), list.iter().filter(|(n, ..)| *n == ns).count());
                for pod in &pods {
                    let labels = labels(pod.clone());
                    for parity in [0, 1] {
                        let want = list.iter().any(|(n, s, i)| *n == ns && i % 2 == parity && s.matches(&labels));
                        let got = set.any_selects(&ns, &labels, |i| i % 2 == parity);
                        assert_eq!(got, want, "{n} selectors, namespace {ns:?}, pod {pod}, parity {parity}");
                    }
                }
            }
        }
    }
}
