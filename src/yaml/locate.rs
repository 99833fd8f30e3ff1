//! Finds the source lines of JSON pointers inside a YAML document, for reports that point
//! reviewers at the text (SARIF regions). Only called for findings, never in the hot path;
//! every pointer of one document is located in a single pass over its events, so a document
//! with thousands of findings is read once, not once per finding.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ops::Range;

use serde_saphyr::granit_parser::{Event, Parser};

use crate::pointer::{Pointer, leads, push_key};

enum Kind {
    Seq { next: usize },
    Map { key: Option<String>, in_value: bool },
}

/// An open collection: what it is, where its own path ends in the path being built, and
/// whether that path leads to any pointer asked for (when it does not, nothing inside it can).
struct Level {
    kind: Kind,
    base: usize,
    /// Where the prefixes below the collection's own path are listed ([`Prefixes`]), when a
    /// pointer leads to it.
    below: Option<Range<usize>>,
}

/// The 1-based line of the node at `pointer` in `text`, or of its deepest ancestor present.
pub fn locate(text: &str, pointer: &Pointer) -> Option<usize> {
    locate_all(text, std::slice::from_ref(pointer)).pop().flatten()
}

/// [`locate`] for every pointer of `pointers`, in one pass over `text`: the result holds the
/// line of each, in the same order.
pub fn locate_all<P: Borrow<Pointer>>(text: &str, pointers: &[P]) -> Vec<Option<usize>> {
    // Every prefix of every pointer (the pointer itself included), escaped as pointers are:
    // slices of the pointers' own text, each with the line where its node was first seen and
    // the last line it was seen at. A document with many violations asks for as many pointers,
    // and a copy of every prefix with the pointers it leads to took several times the text.
    let mut prefixes = Prefixes::of(pointers);
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.set_emit_comments(false);
    let mut stack: Vec<Level> = Vec::new();
    // The path of the node at hand, escaped; valid while the innermost level leads anywhere.
    let mut path = String::new();
    for event in Parser::new_from_str_with_options(text, options) {
        let Ok((event, span)) = event else {
            // As a single pointer's search would: what was found stays, the rest is unknown.
            return prefixes.lines(pointers, false);
        };
        let line = span.start.line();
        let is_collection = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        let is_node = is_collection || matches!(event, Event::Scalar(..) | Event::Alias(_));
        // The prefixes below the node at hand, when a pointer leads to it.
        let mut below = None;
        if is_node {
            match stack.last_mut() {
                None => below = prefixes.see(0..prefixes.listed.len(), "", line),
                Some(level) => {
                    let in_key = matches!(level.kind, Kind::Map { in_value: false, .. });
                    let token = match &mut level.kind {
                        Kind::Seq { next } => {
                            *next += 1;
                            Some((*next - 1).to_string())
                        }
                        Kind::Map { key, in_value } if !*in_value => {
                            *key = match &event {
                                Event::Scalar(text, ..) => Some(text.to_string()),
                                _ => None,
                            };
                            *in_value = true;
                            key.clone()
                        }
                        Kind::Map { key, .. } => key.clone(),
                    };
                    if let (Some(within), Some(token)) = (&level.below, token) {
                        path.truncate(level.base);
                        push_key(&mut path, &token);
                        below = prefixes.see(within.clone(), &path, line);
                    }
                    if in_key {
                        if is_collection {
                            // A complex key: walk through it without matching anything inside.
                            stack.push(Level {
                                kind: Kind::Map { key: None, in_value: false },
                                base: path.len(),
                                below: None,
                            });
                        }
                        continue;
                    }
                }
            }
        }
        match event {
            Event::SequenceStart(..) => stack.push(Level { kind: Kind::Seq { next: 0 }, base: path.len(), below }),
            Event::MappingStart(..) => {
                stack.push(Level { kind: Kind::Map { key: None, in_value: false }, base: path.len(), below })
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(level) = stack.pop() {
                    path.truncate(level.base);
                }
                value_done(&mut stack);
            }
            Event::Scalar(..) | Event::Alias(_) => value_done(&mut stack),
            _ => {}
        }
    }
    prefixes.lines(pointers, true)
}

/// Every prefix of the pointers [`locate_all`] looks for, the pointers included, once each and
/// in [`token_order`], with where it was seen.
///
/// In token order, what lies below a prefix (what it is a prefix of) is listed just after it,
/// so the walk looks a key up only among the prefixes below its parent, comparing only what
/// follows the parent's text. A list sorted once rather than a hash table of every prefix: a
/// document with 40,000 findings asks for 64,000 prefixes, which took a table of 3.3 MB, and
/// 4.9 MB while it grew, at the peak of its SARIF log; the list takes 1.5 MB, made at its
/// length.
struct Prefixes<'a> {
    listed: Vec<(&'a str, Sighting)>,
    /// The places of the pointers asked for, in token order of their texts.
    order: Vec<usize>,
}

impl<'a> Prefixes<'a> {
    fn of<P: Borrow<Pointer>>(pointers: &'a [P]) -> Prefixes<'a> {
        let text = |i: usize| pointers[i].borrow().as_str();
        let mut order: Vec<usize> = (0..pointers.len()).collect();
        order.sort_unstable_by(|&a, &b| token_order(text(a), text(b)));
        // In token order, the prefixes a pointer shares with any pointer before it are the
        // ones it shares with the pointer just before it, and those it does not share come
        // after every prefix listed so far: the list is made in order, with no search.
        let new = |k: usize| {
            let pointer = text(order[k]);
            let shared = k.checked_sub(1).map(|before| shared_prefix(text(order[before]), pointer));
            prefixes_of(pointer).filter(move |prefix| shared.is_none_or(|shared| prefix.len() > shared))
        };
        let mut listed = Vec::with_capacity((0..order.len()).map(|k| new(k).count()).sum());
        for k in 0..order.len() {
            listed.extend(new(k).map(|prefix| (prefix, Sighting::default())));
        }
        Prefixes { listed, order }
    }

    /// Sees `path` at `line` if it is listed among `within`, the prefixes below its parent's;
    /// then the places of the prefixes below it.
    fn see(&mut self, within: Range<usize>, path: &str, line: usize) -> Option<Range<usize>> {
        // What every prefix of `within` and `path` begin with: the parent's text.
        let base = path.rfind('/').unwrap_or(0);
        let key = &path[base..];
        let found = self.listed[within.clone()].binary_search_by(|(listed, _)| token_order(&listed[base..], key));
        let at = within.start + found.ok()?;
        self.listed[at].1.see(line);
        let below = self.listed[at + 1..within.end].partition_point(|(listed, _)| leads(path, listed));
        Some(at + 1..at + 1 + below)
    }

    /// The line of each of `pointers`: its own node where it was first seen; else, if
    /// `ancestors`, the last line at which any of its ancestors was seen (lines only grow as
    /// the text is read), which is its deepest ancestor present.
    fn lines<P: Borrow<Pointer>>(self, pointers: &[P], ancestors: bool) -> Vec<Option<usize>> {
        let mut lines = vec![None; pointers.len()];
        let mut asked = self.order.iter().peekable();
        // The prefixes above the one at hand, each with the last line it or any above it was
        // seen at: the list is in token order, so a prefix's ancestors are listed before it.
        let mut above: Vec<(&str, Option<usize>)> = Vec::new();
        for &(prefix, sighting) in &self.listed {
            while above.last().is_some_and(|(ancestor, _)| !leads(ancestor, prefix)) {
                above.pop();
            }
            let last_above = above.last().and_then(|&(_, last)| last);
            let line = sighting.first().or(last_above.filter(|_| ancestors));
            while let Some(&&i) = asked.peek()
                && pointers[i].borrow().as_str() == prefix
            {
                lines[i] = line;
                asked.next();
            }
            above.push((prefix, sighting.last().max(last_above)));
        }
        lines
    }
}

/// Escaped pointers in the order of their tokens: as text, with `/` before every other
/// character. A pointer then comes just before every pointer it is a prefix of (`/a`, `/a/x`,
/// `/a-b`), where text order would put `/a-b` between them.
fn token_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let rank = |byte: u8| if byte == b'/' { 0 } else { u16::from(byte) + 1 };
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => rank(a[at]).cmp(&rank(b[at])),
        None => a.len().cmp(&b.len()),
    }
}

/// The length of the longest of [`prefixes_of`] `a` that is also one of `b`'s.
fn shared_prefix(a: &str, b: &str) -> usize {
    let same = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let ends_token = |p: &str| p.len() == same || p.as_bytes()[same] == b'/';
    if ends_token(a) && ends_token(b) {
        return same;
    }
    a.as_bytes()[..same].iter().rposition(|&byte| byte == b'/').unwrap_or(0)
}

/// Where a prefix of the pointers [`locate_all`] looks for was seen: the first and last lines,
/// 1-based, 0 while unseen. Held as `u32`: a document with many findings files a prefix for
/// each, and lines as `Option<usize>` made the table twice as large. A line past `u32::MAX`
/// (a document of four billion lines) is kept as `u32::MAX`.
#[derive(Clone, Copy, Default)]
struct Sighting {
    first: u32,
    last: u32,
}

impl Sighting {
    fn see(&mut self, line: usize) {
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        if self.first == 0 {
            self.first = line;
        }
        self.last = line;
    }

    fn first(&self) -> Option<usize> {
        (self.first > 0).then_some(self.first as usize)
    }

    fn last(&self) -> Option<usize> {
        (self.last > 0).then_some(self.last as usize)
    }
}

/// The prefixes of an escaped pointer, from the root (`""`) to the pointer itself: its text up
/// to each `/` (escaped tokens hold none), then the whole of it.
fn prefixes_of(pointer: &str) -> impl Iterator<Item = &str> {
    let cuts = pointer.match_indices('/').map(|(at, _)| at).filter(|&at| at > 0);
    std::iter::once("").chain(cuts.map(|at| &pointer[..at])).chain((!pointer.is_empty()).then_some(pointer))
}

fn value_done(stack: &mut [Level]) {
    if let Some(Level { kind: Kind::Map { in_value, .. }, .. }) = stack.last_mut() {
        *in_value = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum OldLevel {
        Seq { next: usize },
        Map { key: Option<String>, in_value: bool },
    }

    impl OldLevel {
        fn token(&self) -> Option<String> {
            match self {
                OldLevel::Seq { next } => next.checked_sub(1).map(|i| i.to_string()),
                OldLevel::Map { key, in_value: true } => key.clone(),
                OldLevel::Map { .. } => None,
            }
        }
    }

    fn old_value_done(stack: &mut [OldLevel]) {
        if let Some(OldLevel::Map { in_value, .. }) = stack.last_mut() {
            *in_value = false;
        }
    }

    /// The one-pointer search this module did before `locate_all`, kept as the oracle.
    fn reference(text: &str, pointer: &Pointer) -> Option<usize> {
        let want: Vec<String> = pointer.tokens().collect();
        let mut options = serde_saphyr::granit_parser::Options::default();
        options.set_emit_comments(false);
        let mut stack: Vec<OldLevel> = Vec::new();
        let mut best = None;
        let matches = |stack: &[OldLevel]| {
            stack.len() <= want.len()
                && stack.iter().zip(&want).all(|(level, token)| level.token().as_ref() == Some(token))
        };
        for event in Parser::new_from_str_with_options(text, options) {
            let (event, span) = event.ok()?;
            let line = span.start.line();
            let is_collection = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
            let is_node = is_collection || matches!(event, Event::Scalar(..) | Event::Alias(_));
            if is_node {
                match stack.last_mut() {
                    Some(OldLevel::Seq { next }) => *next += 1,
                    Some(OldLevel::Map { key, in_value }) if !*in_value => {
                        *key = match &event {
                            Event::Scalar(text, ..) => Some(text.to_string()),
                            _ => None,
                        };
                        *in_value = true;
                        if matches(&stack) {
                            if stack.len() == want.len() {
                                return Some(line);
                            }
                            best = Some(line);
                        }
                        if is_collection {
                            // A complex key: walk through it without matching anything inside.
                            stack.push(OldLevel::Map { key: None, in_value: false });
                        }
                        continue;
                    }
                    _ => {}
                }
                if matches(&stack) {
                    if stack.len() == want.len() {
                        return Some(line);
                    }
                    best = Some(line);
                }
            }
            match event {
                Event::SequenceStart(..) => stack.push(OldLevel::Seq { next: 0 }),
                Event::MappingStart(..) => stack.push(OldLevel::Map { key: None, in_value: false }),
                Event::SequenceEnd | Event::MappingEnd => {
                    stack.pop();
                    old_value_done(&mut stack);
                }
                Event::Scalar(..) | Event::Alias(_) => old_value_done(&mut stack),
                _ => {}
            }
        }
        best
    }

    /// Every prefix of `pointers` (escaped texts), once each, in token order: what
    /// [`Prefixes::of`] must list, found the slow way.
    fn check_prefixes(pointers: &[&str]) {
        let pointers: Vec<Pointer> = pointers.iter().map(|p| Pointer::parse(p).unwrap()).collect();
        let mut expected: Vec<&str> = pointers.iter().flat_map(|p| prefixes_of(p.as_str())).collect();
        expected.sort_by(|a, b| token_order(a, b));
        expected.dedup();
        let mut prefixes = Prefixes::of(&pointers);
        assert_eq!(prefixes.listed.iter().map(|(p, _)| *p).collect::<Vec<_>>(), expected);
        // Each is found from the root down, as the walk finds it, and seen there.
        let all = 0..prefixes.listed.len();
        for (line, prefix) in expected.iter().enumerate() {
            let mut below = prefixes.see(all.clone(), "", 1);
            for path in prefixes_of(prefix).skip(1) {
                below = below.and_then(|within| prefixes.see(within, path, line + 1));
            }
            assert!(below.is_some(), "{prefix:?} is not found");
        }
        for (line, (prefix, sighting)) in prefixes.listed.iter().enumerate().skip(1) {
            assert_eq!(sighting.last(), Some(expected.iter().rposition(|p| leads(prefix, p)).unwrap_or(line) + 1));
        }
        assert!(prefixes.see(all, "/not", 1).is_none());
    }

    #[test]
    fn prefixes_are_listed_once_in_token_order() {
        check_prefixes(&[]);
        check_prefixes(&[""]);
        check_prefixes(&["/a/x", "/ab", "/a-b/c", "/a", "/a/y/0", "/a/x"]);
        // Keys that sort before `/` as text, empty keys, escapes, and bytes of wider characters.
        check_prefixes(&["/a!/b", "/a/b", "/a", "/", "//", "/a//b", "/a/", "/a~1b/c", "/a~0/c"]);
        check_prefixes(&["/é/x", "/è/x", "/é", "/e/x", "/spec/containers/10/name", "/spec/containers/2/name"]);
    }

    #[test]
    fn finds_keys_and_items() {
        let text = "a: 1\nspec:\n  containers:\n  - name: x\n    image: y\n  - name: z\n";
        let p = Pointer::root().key("spec").key("containers");
        assert_eq!(locate(text, &p.index(1).key("name")), Some(6));
        assert_eq!(locate(text, &p.index(0).key("image")), Some(5));
        assert_eq!(locate(text, &Pointer::root().key("a")), Some(1));
        // Absent: the deepest ancestor that exists.
        assert_eq!(locate(text, &p.index(0).key("securityContext")), Some(4));
    }

    #[test]
    fn keys_that_sort_between_a_key_and_its_children_do_not_hide_them() {
        let text = "a-b:\n  x: 1\na:\n  x: 2\n  y: [3]\nab: 4\n";
        let pointers: Vec<Pointer> =
            ["/a/x", "/a-b/x", "/ab", "/a/y/0", "/a/z", "/a-b"].iter().map(|p| Pointer::parse(p).unwrap()).collect();
        let all = locate_all(text, &pointers);
        assert_eq!(all, [Some(4), Some(2), Some(6), Some(5), Some(4), Some(1)]);
        for (p, line) in pointers.iter().zip(&all) {
            assert_eq!(reference(text, p), *line, "{p}");
        }
    }

    /// A tree of mappings and lists whose keys sort every way around each other and `/`.
    fn tree() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let keys = proptest::sample::select(vec!["a", "a-b", "a/b", "a~b", "ab", "", "a.b", "0", "é", "a b"]);
        let leaf = prop_oneof![Just(serde_json::Value::Null), any::<u8>().prop_map(serde_json::Value::from)];
        leaf.prop_recursive(4, 40, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(keys.clone(), inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    /// Every path into `value`, and one more below each, which is not there.
    fn paths(value: &serde_json::Value, at: Pointer, out: &mut Vec<Pointer>) {
        out.push(at.key("absent"));
        match value {
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| paths(v, at.key(k), out)),
            serde_json::Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| paths(v, at.index(i), out)),
            _ => {}
        }
        out.push(at);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x10ca_7e00_a11f_0e5d),
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        #[test]
        fn every_path_is_located_as_a_search_for_it_alone_finds_it(value in tree()) {
            let text = crate::yaml::display(&value);
            let mut pointers = Vec::new();
            paths(&value, Pointer::root(), &mut pointers);
            let all = locate_all(&text, &pointers);
            for (p, line) in pointers.iter().zip(&all) {
                proptest::prop_assert_eq!(reference(&text, p), *line, "{} in\n{}", p, text);
            }
        }
    }

    #[test]
    fn many_pointers_in_one_pass_agree_with_one_at_a_time() {
        let text = "---\nmetadata:\n  name: web\n  labels: {app.kubernetes.io/name: web, a~b: 1}\nspec:\n  containers:\n  - name: x\n    image: y\n    securityContext:\n      privileged: true\n  - name: z\n    ports:\n    - containerPort: 80\n    - {containerPort: 81}\n  volumes: []\n";
        let c = Pointer::root().key("spec").key("containers");
        let pointers = [
            Pointer::root(),
            c.index(1).key("ports").index(1).key("containerPort"),
            c.index(0).key("securityContext").key("privileged"),
            c.index(0).key("resources").key("limits"),
            Pointer::root().key("metadata").key("labels").key("app.kubernetes.io/name"),
            Pointer::root().key("metadata").key("labels").key("a~b"),
            c.index(7),
            Pointer::root().key("spec").key("volumes").index(0),
            c.index(0).key("securityContext").key("privileged"),
            Pointer::root().key("nothing").key("here"),
        ];
        let all = locate_all(text, &pointers);
        assert_eq!(all, [Some(2), Some(14), Some(10), Some(7), Some(4), Some(4), Some(7), Some(15), Some(10), Some(2)]);
        for (p, line) in pointers.iter().zip(&all) {
            assert_eq!(reference(text, p), *line, "{p}");
        }
    }
}
