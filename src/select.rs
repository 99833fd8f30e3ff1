//! Label selectors: Kubernetes `LabelSelector` objects (matchLabels, matchExpressions) and the
//! kubectl string form (`app=web,tier in (a,b),!legacy`) used in overlay targets.

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
}
