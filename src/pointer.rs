//! JSON pointers (RFC 6901) into a resource: how changes and violations say *where*.
//!
//! Pointers are built by appending keys and indexes, never parsed from user text in the
//! hot path, so they are plain escaped strings.

use std::fmt;

/// An RFC 6901 JSON pointer, already escaped (`~0`, `~1`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Pointer(String);

impl Pointer {
    /// The pointer to the whole document: the empty string.
    pub fn root() -> Pointer {
        Pointer(String::new())
    }

    /// Parses an escaped pointer such as `/metadata/labels/app.kubernetes.io~1name`.
    pub fn parse(text: &str) -> Option<Pointer> {
        (text.is_empty() || text.starts_with('/')).then(|| Pointer(text.to_string()))
    }

    pub fn key(&self, key: &str) -> Pointer {
        let mut res = String::with_capacity(self.0.len() + key.len() + 1);
        res.push_str(&self.0);
        res.push('/');
        for c in key.chars() {
            match c {
                '~' => res.push_str("~0"),
                '/' => res.push_str("~1"),
                c => res.push(c),
            }
        }
        Pointer(res)
    }

    pub fn index(&self, idx: usize) -> Pointer {
        Pointer(format!("{}/{idx}", self.0))
    }

    /// Appends every token of `rest` (itself a pointer) to this pointer.
    pub fn join(&self, rest: &Pointer) -> Pointer {
        Pointer(format!("{}{}", self.0, rest.0))
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
        self.0 == other.0 || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// The pointer one level up, or `None` at the root.
    pub fn parent(&self) -> Option<Pointer> {
        let cut = self.0.rfind('/')?;
        Some(Pointer(self.0[..cut].to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
