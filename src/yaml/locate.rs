//! Finds the source lines of JSON pointers inside a YAML document, for reports that point
//! reviewers at the text (SARIF regions). Only called for findings, never in the hot path;
//! every pointer of one document is located in a single pass over its events, so a document
//! with thousands of findings is read once, not once per finding.

use std::borrow::Borrow;
use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

use crate::pointer::Pointer;

enum Kind {
    Seq { next: usize },
    Map { key: Option<String>, in_value: bool },
}

/// An open collection: what it is, where its own path ends in the path being built, and
/// whether that path leads to any pointer asked for (when it does not, nothing inside it can).
struct Level {
    kind: Kind,
    base: usize,
    relevant: bool,
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
    let mut prefixes: HashMap<&str, Sighting> = HashMap::new();
    for pointer in pointers {
        for prefix in prefixes_of(pointer.borrow().as_str()) {
            prefixes.entry(prefix).or_default();
        }
    }
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.set_emit_comments(false);
    let mut stack: Vec<Level> = Vec::new();
    // The path of the node at hand, escaped; valid while the innermost level is relevant.
    let mut path = String::new();
    let mut seen = |path: &str, line: usize| {
        let Some(sighting) = prefixes.get_mut(path) else { return false };
        sighting.see(line);
        true
    };
    for event in Parser::new_from_str_with_options(text, options) {
        let Ok((event, span)) = event else {
            // As a single pointer's search would: what was found stays, the rest is unknown.
            return pointers.iter().map(|p| prefixes.get(p.borrow().as_str()).and_then(Sighting::first)).collect();
        };
        let line = span.start.line();
        let is_collection = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        let is_node = is_collection || matches!(event, Event::Scalar(..) | Event::Alias(_));
        // Whether the node at hand is one a pointer leads to.
        let mut on_path = false;
        if is_node {
            match stack.last_mut() {
                None => on_path = seen("", line),
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
                    if level.relevant
                        && let Some(token) = token
                    {
                        path.truncate(level.base);
                        path.push_str(Pointer::root().key(&token).as_str());
                        on_path = seen(&path, line);
                    }
                    if in_key {
                        if is_collection {
                            // A complex key: walk through it without matching anything inside.
                            stack.push(Level {
                                kind: Kind::Map { key: None, in_value: false },
                                base: path.len(),
                                relevant: false,
                            });
                        }
                        continue;
                    }
                }
            }
        }
        match event {
            Event::SequenceStart(..) => {
                stack.push(Level { kind: Kind::Seq { next: 0 }, base: path.len(), relevant: on_path })
            }
            Event::MappingStart(..) => stack.push(Level {
                kind: Kind::Map { key: None, in_value: false },
                base: path.len(),
                relevant: on_path,
            }),
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
    // A pointer's own node where it was first seen; else the last line at which any of its
    // ancestors was seen (lines only grow as the text is read), which is its deepest ancestor
    // present.
    let line_of = |pointer: &Pointer| {
        let path = pointer.as_str();
        let sighting = |prefix: &str| prefixes.get(prefix).copied().unwrap_or_default();
        sighting(path).first().or_else(|| {
            prefixes_of(path).filter(|prefix| prefix.len() < path.len()).filter_map(|p| sighting(p).last()).max()
        })
    };
    pointers.iter().map(|p| line_of(p.borrow())).collect()
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
