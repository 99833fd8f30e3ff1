//! JSON pointers (RFC 6901) into a resource: how changes and violations say *where*.
//!
//! Pointers are built by appending keys and indexes, never parsed from user text in the
//! hot path, so they are plain escaped strings.

use std::fmt;
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

/// An RFC 6901 JSON pointer, already escaped (`~0`, `~1`).
///
/// Held by reference count, so that the records of a run can share one copy of each pointer
/// ([`Pointer::interned`]): a stream of small workloads records a change per field it fixes,
/// and most of a hundred thousand changes point at a few hundred places. What is shared is a
/// `Box<str>`, so that a pointer takes 8 bytes where a shared `str` takes 16: every change,
/// violation and field a review attributes holds one. It compares, orders and hashes as its
/// text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pointer(Arc<Box<str>>);

/// Serialized as its text.
impl serde::Serialize for Pointer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Whether the escaped pointer `prefix` equals `pointer` or leads to it: `pointer` is `prefix`
/// and more tokens.
pub fn leads(prefix: &str, pointer: &str) -> bool {
    pointer.starts_with(prefix) && (pointer.len() == prefix.len() || pointer.as_bytes()[prefix.len()] == b'/')
}

/// Appends `key` to the escaped pointer text `text`, as [`Pointer::key`] does.
pub fn push_key(text: &mut String, key: &str) {
    text.push('/');
    for c in key.chars() {
        match c {
            '~' => text.push_str("~0"),
            '/' => text.push_str("~1"),
            c => text.push(c),
        }
    }
}

impl Default for Pointer {
    fn default() -> Pointer {
        Pointer::root()
    }
}

impl Pointer {
    /// The pointer to the whole document: the empty string.
    pub fn root() -> Pointer {
        static ROOT: LazyLock<Arc<Box<str>>> = LazyLock::new(|| Arc::new(Box::from("")));
        Pointer(Arc::clone(&ROOT))
    }

    /// The pointer whose escaped text is `text`.
    fn of(text: String) -> Pointer {
        Pointer(Arc::new(text.into_boxed_str()))
    }

    /// Parses an escaped pointer such as `/metadata/labels/app.kubernetes.io~1name`.
    pub fn parse(text: &str) -> Option<Pointer> {
        (text.is_empty() || text.starts_with('/')).then(|| Pointer::of(text.into()))
    }

    pub fn key(&self, key: &str) -> Pointer {
        let mut res = String::with_capacity(self.0.len() + key.len() + 1);
        res.push_str(&self.0);
        push_key(&mut res, key);
        Pointer::of(res)
    }

    pub fn index(&self, idx: usize) -> Pointer {
        Pointer::of(format!("{}/{idx}", self.0))
    }

    /// Appends every token of `rest` (itself a pointer) to this pointer.
    pub fn join(&self, rest: &Pointer) -> Pointer {
        Pointer::of(format!("{}{}", self.0, rest.0))
    }

    /// The same pointer, sharing the copy this thread kept of it ([`crate::intern`]), for a
    /// record that keeps it: the records of a stream repeat a few hundred pointers tens of
    /// thousands of times.
    pub fn interned(self) -> Pointer {
        Pointer(crate::intern::share_boxed(self.0))
    }

    /// Whether `other` is this very copy (not only the same text): what a set of records that
    /// share their pointers compares, without reading the text.
    pub fn is_copy_of(&self, other: &Pointer) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Hashes which copy this is, as [`Pointer::is_copy_of`] compares.
    pub fn hash_copy<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The unescaped tokens of the pointer.
    pub fn tokens(&self) -> impl Iterator<Item = String> + '_ {
        self.0.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~"))
    }

    /// Whether `self` equals `other` or lies inside it.
    pub fn starts_with(&self, other: &Pointer) -> bool {
        leads(&other.0, &self.0)
    }

    /// The pointer one level up, or `None` at the root.
    pub fn parent(&self) -> Option<Pointer> {
        let cut = self.0.rfind('/')?;
        Some(Pointer::of(self.0[..cut].into()))
    }

    /// The last token, unescaped.
    pub fn last(&self) -> Option<String> {
        self.tokens().last()
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("/") } else { f.write_str(&self.0) }
    }
}

/// Inserts `value` at `ptr` in `obj`, creating missing or null parent mappings; in a sequence,
/// the value is inserted at the index. Returns the previous value (`Some(Null)` when the field
/// was null), or the pointer of the parent that is in the way.
pub fn insert(obj: &mut Value, ptr: &Pointer, value: Value) -> Result<Option<Value>, Pointer> {
    let tokens: Vec<String> = ptr.tokens().collect();
    let Some((last, parents)) = tokens.split_last() else {
        return Err(Pointer::root());
    };
    let mut cur = obj;
    let mut at = Pointer::root();
    for token in parents {
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
        cur = match cur {
            Value::Object(map) => map.entry(token.clone()).or_insert(Value::Null),
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => item,
                None => return Err(at),
            },
            _ => return Err(at),
        };
        at = at.key(token);
    }
    if cur.is_null() {
        *cur = Value::Object(Map::new());
    }
    match cur {
        Value::Object(map) => Ok(map.insert(last.clone(), value)),
        // RFC 6902 `add` into a sequence inserts at the index (the end included).
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i <= items.len() => {
                items.insert(i, value);
                Ok(None)
            }
            _ => Err(at),
        },
        _ => Err(at),
    }
}

/// Gives back the room mappings and sequences grew into as fields were inserted: a mapping
/// grows by doubling, and a rule that adds one key to a new mapping leaves room for three.
/// The values of a large stream stay in memory until it is written.
pub fn shrink(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // serde_json's map has no shrink_to_fit; one collected from its entries is sized
            // to them.
            *map = std::mem::take(map).into_iter().collect();
            map.values_mut().for_each(shrink);
        }
        Value::Array(items) => {
            items.shrink_to_fit();
            items.iter_mut().for_each(shrink);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_keeps_the_value_and_its_order() {
        let mut value = serde_json::json!({"b": {"z": [1, {"y": null}], "a": "x"}, "a": []});
        insert(&mut value, &Pointer::root().key("c").key("d"), serde_json::json!(true)).unwrap();
        let before = value.clone();
        shrink(&mut value);
        assert_eq!(value, before);
        assert_eq!(value.to_string(), before.to_string(), "key order is kept");
    }

    #[test]
    fn an_interned_pointer_is_shared_and_unchanged() {
        assert_eq!(std::mem::size_of::<Pointer>(), 8);
        let built = || Pointer::root().key("spec").key("replicas");
        let first = built().interned();
        let second = built().interned();
        assert_eq!(second, built());
        assert!(Arc::ptr_eq(&first.0, &second.0), "the second copy shares the first");
        let other = Pointer::root().key("spec").key("paused").interned();
        assert!(!Arc::ptr_eq(&first.0, &other.0));
        assert_eq!(other.as_str(), "/spec/paused");
    }

    #[test]
    fn escapes_label_keys() {
        let p = Pointer::root().key("metadata").key("labels").key("app.kubernetes.io/name");
        assert_eq!(p.as_str(), "/metadata/labels/app.kubernetes.io~1name");
        assert_eq!(p.last().as_deref(), Some("app.kubernetes.io/name"));
        assert_eq!(Pointer::root().key("a~b").as_str(), "/a~0b");
    }

    #[test]
    fn prefix_is_token_aware() {
        let a = Pointer::root().key("spec").key("containers");
        let b = Pointer::root().key("spec").key("containersX");
        assert!(a.index(0).starts_with(&a));
        assert!(!b.starts_with(&a));
        assert_eq!(a.index(0).parent(), Some(a));
    }
}
