//! Reads one YAML document into a `serde_json::Value` exactly as Kubernetes decodes it.
//!
//! Kubernetes tools decode YAML with sigs.k8s.io/yaml: go-yaml v2 (YAML 1.1) builds a generic
//! value, then every map key is turned into a string. We walk the parser's events (the parser
//! inside serde-saphyr) and apply the same two steps: scalars go through [`resolve`], and keys
//! are stringified the way `convertToJSONableObject` does. Anchors are expanded, `<<` merges
//! follow go-yaml v2 (merged keys overwrite keys set earlier in the same mapping), duplicate
//! keys keep the last value. Duplicate keys are recorded too (a key written twice in one
//! mapping, or two keys that stringify alike, such as `on` and `true`): Kubernetes' strict
//! field validation rejects them, so the caller may warn or refuse. A key that overrides one
//! merged in with `<<` is what merging is for, not a duplicate.
//!
//! [`resolve`]: super::resolve

use std::collections::HashMap;

use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, StrInput, Tag};

use crate::pointer::Pointer;

use super::resolve::{Resolved, resolve_plain, resolve_tagged};

/// The deepest nesting of collections a document may have.
pub const MAX_DEPTH: usize = 512;
/// How many nodes alias expansion may add to one document before it is refused as a bomb.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// A document as Kubernetes reads it.
#[derive(Debug)]
pub struct Loaded {
    /// `None` for an empty, comment-only or `null` document.
    pub value: Option<Value>,
    /// Why the document must not be re-emitted, if it holds a value our model cannot write back
    /// with the same meaning (an integer literal beyond 64 bits).
    pub frozen: Option<String>,
    /// Keys set twice in one mapping, in the order their mappings close.
    pub duplicates: Vec<Duplicate>,
}

/// A mapping key set twice; the later value is the one kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Where the key is, as a JSON pointer into the document's value.
    pub path: Pointer,
    /// 1-based line of the later key, within the text given to [`load`].
    pub line: usize,
    /// 1-based line of the key it repeats.
    pub first_line: usize,
}

/// Where and why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// 1-based line within the text given to [`load`].
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    pub message: String,
}

const CORE_TAG: &str = "tag:yaml.org,2002:";

/// Parses `text`, which must hold at most one document.
pub fn load(text: &str) -> Result<Loaded, LoadError> {
    let mut builder = Builder::default();
    let mut n_docs = 0;
    for event in parser(text) {
        let (event, span) = event.map_err(|e| LoadError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info(),
        })?;
        let at = span.start;
        match event {
            Event::DocumentStart(..) => {
                n_docs += 1;
                if n_docs > 1 && builder.root.as_ref().is_some_and(|v| !v.is_null()) {
                    return Err(error(&at, "a second document starts here without a `---` line"));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                builder.scalar(&text, style, anchor, tag.as_deref(), &at)?;
            }
            Event::Alias(id) => builder.alias(id, &at)?,
            Event::SequenceStart(_, anchor, _) => builder.open(Node::Seq(Vec::new()), anchor, &at)?,
            Event::MappingStart(_, anchor, _) => builder.open(Node::Map(Vec::new(), None), anchor, &at)?,
            Event::SequenceEnd | Event::MappingEnd => builder.close(&at)?,
            _ => {}
        }
    }
    Ok(Loaded { value: builder.root.filter(|v| !v.is_null()), frozen: builder.frozen, duplicates: builder.duplicates })
}

/// The parser of `text`, with comments off and nesting bounded by [`MAX_DEPTH`].
fn parser(text: &str) -> Parser<'_, StrInput<'_>> {
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.set_emit_comments(false);
    options.block_nesting_limit = MAX_DEPTH;
    options.flow_nesting_limit = MAX_DEPTH;
    Parser::new_from_str_with_options(text, options)
}

/// Whether `text`, one document, reads back as `expected`, with every node compared as it is
/// read rather than built first: the check every re-emitted document gets, which for a
/// document of a long list would otherwise hold a second value several times its text.
///
/// Only what a writer of `expected` writes is followed: mappings whose keys come in
/// `expected`'s order, no anchors, aliases, tags or merge keys. Anything else answers `false`,
/// and the caller reads the text back whole ([`load`]) to decide: `true` means the text reads
/// back as a value whose every node [`same_meaning`](crate::canon::same_meaning) finds equal.
pub fn reads_back_as(text: &str, expected: &Value) -> bool {
    let mut stack: Vec<Expected> = Vec::new();
    let mut root = Some(expected);
    let mut documents = 0;
    for event in parser(text) {
        let Ok((event, _)) = event else { return false };
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return false;
                }
            }
            Event::SequenceStart(_, 0, None) => match next(&mut stack, &mut root) {
                Some(Value::Array(items)) => stack.push(Expected::Items(items.iter())),
                _ => return false,
            },
            Event::MappingStart(_, 0, None) => match next(&mut stack, &mut root) {
                Some(Value::Object(map)) => stack.push(Expected::Entries(map.iter(), None)),
                _ => return false,
            },
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Expected::Items(items)) if items.as_slice().is_empty() => {}
                Some(Expected::Entries(entries, None)) if entries.len() == 0 => {}
                _ => return false,
            },
            Event::Scalar(text, style, 0, None) => {
                let resolved = if style == ScalarStyle::Plain { resolve_plain(&text) } else { Resolved::Str };
                if let Some(Expected::Entries(entries, pending @ None)) = stack.last_mut() {
                    let Some((key, value)) = entries.next() else { return false };
                    if matches!(resolved, Resolved::Merge) || key_string(&text, resolved).as_deref() != Ok(key.as_str())
                    {
                        return false;
                    }
                    *pending = Some(value);
                    continue;
                }
                let Some(want) = next(&mut stack, &mut root) else { return false };
                let same = match resolved {
                    Resolved::Str => want.as_str() == Some(&*text),
                    Resolved::Null => want.is_null(),
                    Resolved::Bool(b) => want.as_bool() == Some(b),
                    Resolved::Int(n) => crate::canon::same_meaning(&Value::from(n), want),
                    Resolved::Uint(n) => crate::canon::same_meaning(&Value::from(n), want),
                    Resolved::Float(f) => crate::canon::same_meaning(&float(f), want),
                    Resolved::NonFinite | Resolved::BigInt | Resolved::Merge => false,
                };
                if !same {
                    return false;
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            _ => return false,
        }
    }
    // A document that is only `null`, or empty, reads back as nothing: the long way decides.
    root.is_none() && stack.is_empty() && !expected.is_null()
}

/// What [`reads_back_as`] expects in a collection it has open: the items not read yet, or the
/// entries not read yet and the value of the key just read.
enum Expected<'a> {
    Items(std::slice::Iter<'a, Value>),
    Entries(serde_json::map::Iter<'a>, Option<&'a Value>),
}

/// The expected value of the node that starts next: the root, the next item, or the value of
/// the key just read; `None` where there is none.
fn next<'a>(stack: &mut [Expected<'a>], root: &mut Option<&'a Value>) -> Option<&'a Value> {
    match stack.last_mut() {
        None => root.take(),
        Some(Expected::Items(items)) => items.next(),
        Some(Expected::Entries(_, pending)) => pending.take(),
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    /// Anchored values by the parser's anchor id, with their node counts.
    anchors: Vec<Option<(Value, usize)>>,
    alias_nodes: usize,
    frozen: Option<String>,
    duplicates: Vec<Duplicate>,
}

struct Frame {
    node: Node,
    anchor: usize,
    nodes: usize,
}

enum Node {
    Seq(Vec<Value>),
    /// Entries in the order read, duplicates included, each with the line of its key (0 for
    /// entries merged in with `<<`); the map is built when the mapping closes, with room for
    /// exactly its entries. Built entry by entry, a map reserves room for as many entries as
    /// its hash table can hold (3, 7, 14...): for a stream of small documents that spare room
    /// was over a quarter of temper's memory.
    Map(Vec<(String, Value, usize)>, Option<Key>),
}

enum Key {
    /// A key and its line.
    Name(String, usize),
    Merge,
}

impl Builder {
    fn open(&mut self, node: Node, anchor: usize, at: &Marker) -> Result<(), LoadError> {
        if self.expects_key() {
            return Err(error(at, "a mapping key must be a scalar (Kubernetes keys are strings)"));
        }
        self.stack.push(Frame { node, anchor, nodes: 1 });
        Ok(())
    }

    fn close(&mut self, at: &Marker) -> Result<(), LoadError> {
        let frame = self.stack.pop().ok_or_else(|| error(at, "unbalanced collection end"))?;
        let value = match frame.node {
            Node::Seq(mut items) => {
                // A list grown item by item keeps room for up to twice its items, 80 bytes
                // each (four for a list of one): a document is held as read through the rules.
                items.shrink_to_fit();
                Value::Array(items)
            }
            Node::Map(entries, _) => {
                let mut repeated = Vec::new();
                let map = build_map(entries, &mut repeated);
                if !repeated.is_empty() {
                    let path = self.path();
                    self.duplicates.extend(repeated.into_iter().map(|(key, line, first_line)| Duplicate {
                        path: path.key(&key),
                        line,
                        first_line,
                    }));
                }
                Value::Object(map)
            }
        };
        self.remember(frame.anchor, &value, frame.nodes);
        self.push(value, frame.nodes, at)
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        at: &Marker,
    ) -> Result<(), LoadError> {
        let plain = style == ScalarStyle::Plain;
        let resolved = match tag {
            None if plain => resolve_plain(text),
            None => Resolved::Str,
            Some(tag) => match tag.suffix_in_namespace(CORE_TAG).as_deref() {
                Some("str") => Resolved::Str,
                Some("merge") if text == "<<" => Resolved::Merge,
                Some("binary") => return self.binary(text, anchor, at),
                Some(s @ ("int" | "float" | "bool" | "null" | "timestamp")) => {
                    resolve_tagged(s, text).map_err(|m| error(at, &m))?
                }
                // go-yaml v2 leaves every other tag unresolved: the scalar is its text.
                _ => Resolved::Str,
            },
        };
        if self.expects_key() {
            let key = match resolved {
                Resolved::Merge => Key::Merge,
                other => Key::Name(key_string(text, other).map_err(|m| error(at, &m))?, at.line()),
            };
            self.set_key(key);
            return Ok(());
        }
        let value = match resolved {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(n) => Value::from(n),
            Resolved::Uint(n) => Value::from(n),
            Resolved::Float(f) => float(f),
            Resolved::NonFinite => {
                return Err(error(
                    at,
                    &format!(
                        "`{text}` is a YAML float that JSON cannot hold, so Kubernetes rejects it too; quote it if you mean a string"
                    ),
                ));
            }
            Resolved::BigInt => {
                self.frozen
                    .get_or_insert_with(|| format!("line {}: integer `{text}` does not fit in 64 bits", at.line()));
                float(text.parse::<f64>().unwrap_or(0.0))
            }
            Resolved::Merge | Resolved::Str => Value::String(text.to_string()),
        };
        self.remember(anchor, &value, 1);
        self.push(value, 1, at)
    }

    fn binary(&mut self, text: &str, anchor: usize, at: &Marker) -> Result<(), LoadError> {
        use base64::Engine as _;
        let cleaned: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|e| error(at, &format!("!!binary value is not base64: {e}")))?;
        // encoding/json writes invalid UTF-8 as U+FFFD, so that is what Kubernetes sees.
        let value = Value::String(String::from_utf8_lossy(&bytes).into_owned());
        if self.expects_key() {
            if let Value::String(s) = value {
                self.set_key(Key::Name(s, at.line()));
            }
            return Ok(());
        }
        self.remember(anchor, &value, 1);
        self.push(value, 1, at)
    }

    fn alias(&mut self, id: usize, at: &Marker) -> Result<(), LoadError> {
        let (value, nodes) = self
            .anchors
            .get(id)
            .and_then(Option::as_ref)
            .cloned()
            .ok_or_else(|| error(at, "alias refers to an anchor that is not complete yet"))?;
        self.alias_nodes += nodes;
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(error(
                at,
                &format!(
                    "aliases expand to more than {MAX_ALIAS_NODES} nodes in this document; refusing what looks like an alias bomb"
                ),
            ));
        }
        if self.expects_key() {
            let key = match value {
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) if n.is_i64() => n.to_string(),
                Value::Number(n) if n.is_f64() => go_float_key(n.as_f64().unwrap_or(0.0)),
                _ => return Err(error(at, "this alias cannot be a map key in Kubernetes")),
            };
            self.set_key(Key::Name(key, at.line()));
            return Ok(());
        }
        self.push(value, nodes, at)
    }

    fn remember(&mut self, anchor: usize, value: &Value, nodes: usize) {
        if anchor == 0 {
            return;
        }
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, None);
        }
        self.anchors[anchor] = Some((value.clone(), nodes));
    }

    /// The pointer to the node being built: the key or index each open collection holds it at.
    fn path(&self) -> Pointer {
        let mut path = Pointer::root();
        for frame in &self.stack {
            path = match &frame.node {
                Node::Seq(items) => path.index(items.len()),
                Node::Map(_, Some(Key::Name(key, _))) => path.key(key),
                Node::Map(_, Some(Key::Merge)) => path.key("<<"),
                Node::Map(_, None) => path.key("?"),
            };
        }
        path
    }

    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame { node: Node::Map(_, None), .. }))
    }

    fn set_key(&mut self, key: Key) {
        if let Some(Frame { node: Node::Map(_, pending), .. }) = self.stack.last_mut() {
            *pending = Some(key);
        }
    }

    fn push(&mut self, value: Value, nodes: usize, at: &Marker) -> Result<(), LoadError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        frame.nodes += nodes;
        match &mut frame.node {
            Node::Seq(items) => items.push(value),
            Node::Map(map, pending) => match pending.take() {
                Some(Key::Name(key, line)) => map.push((key, value, line)),
                Some(Key::Merge) => merge(map, value).map_err(|m| error(at, m))?,
                None => return Err(error(at, "internal: value without a key")),
            },
        }
        Ok(())
    }
}

/// go-yaml v2's `merge`: a mapping, or a sequence of mappings where earlier ones win.
fn merge(map: &mut Vec<(String, Value, usize)>, value: Value) -> Result<(), &'static str> {
    const WANT_MAP: &str = "map merge requires a mapping or a sequence of mappings";
    match value {
        Value::Object(src) => map.extend(src.into_iter().map(|(k, v)| (k, v, 0))),
        Value::Array(items) => {
            for item in items.into_iter().rev() {
                match item {
                    Value::Object(src) => map.extend(src.into_iter().map(|(k, v)| (k, v, 0))),
                    _ => return Err(WANT_MAP),
                }
            }
        }
        _ => return Err(WANT_MAP),
    }
    Ok(())
}

/// The map of a mapping's entries, inserted in order: a later duplicate replaces the value and
/// keeps the first one's place. Keys written twice (not through `<<`) are added to `repeated`
/// with their lines, the later first. Most mappings have no collision and pay for nothing
/// more than the insertions: the table of explicit keys is only built at the first one.
fn build_map(
    mut entries: Vec<(String, Value, usize)>,
    repeated: &mut Vec<(String, usize, usize)>,
) -> Map<String, Value> {
    let mut map = Map::with_capacity(entries.len());
    // From the first collision on: each key with the line it was last written at explicitly.
    let mut explicit: Option<HashMap<String, usize>> = None;
    for i in 0..entries.len() {
        let key = std::mem::take(&mut entries[i].0);
        let value = std::mem::take(&mut entries[i].1);
        let line = entries[i].2;
        if let Some(seen) = &mut explicit {
            note_key(seen, &key, line, repeated);
            map.insert(key, value);
            continue;
        }
        match map.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(value);
            }
            Entry::Occupied(mut slot) => {
                slot.insert(value);
                let key = slot.key().clone();
                // Every entry before this one made its own slot, in order.
                let mut seen: HashMap<String, usize> =
                    map.keys().cloned().zip(entries[..i].iter().map(|entry| entry.2)).collect();
                note_key(&mut seen, &key, line, repeated);
                explicit = Some(seen);
            }
        }
    }
    map
}

fn note_key(seen: &mut HashMap<String, usize>, key: &str, line: usize, repeated: &mut Vec<(String, usize, usize)>) {
    if line == 0 {
        return;
    }
    if let Some(&first) = seen.get(key).filter(|first| **first != 0) {
        repeated.push((key.to_string(), line, first));
    }
    seen.insert(key.to_string(), line);
}

/// How sigs.k8s.io/yaml turns a go-yaml key into a JSON object key.
fn key_string(text: &str, resolved: Resolved) -> Result<String, String> {
    Ok(match resolved {
        Resolved::Str | Resolved::Merge => text.to_string(),
        Resolved::Bool(b) => b.to_string(),
        Resolved::Int(n) => n.to_string(),
        Resolved::Float(f) => go_float_key(f),
        Resolved::NonFinite => match text.trim_start_matches('+') {
            t if t.eq_ignore_ascii_case(".nan") => ".nan".into(),
            t if t.starts_with('-') => "-.inf".into(),
            _ => ".inf".into(),
        },
        Resolved::Null => return Err("a null map key cannot be converted to JSON".into()),
        Resolved::Uint(_) | Resolved::BigInt => {
            return Err(format!("map key `{text}` is an integer Kubernetes cannot use as a key"));
        }
    })
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`, which sigs.k8s.io/yaml uses for float keys.
fn go_float_key(f: f64) -> String {
    let f = f as f32;
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Shortest digits that round-trip as f32, as mantissa digits and a decimal exponent.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = mantissa.strip_prefix('-').map_or((false, mantissa), |m| (true, m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let frac = &digits[1..];
        let dot = if frac.is_empty() { String::new() } else { format!(".{frac}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}e{esign}{:02}", &digits[..1], exp.abs());
    }
    let point = exp + 1;
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{sign}{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point as usize], &digits[point as usize..])
    }
}

/// A finite float as a JSON number. Integral values stay floats: the emitter writes `1.0`,
/// which Kubernetes reads as the same number.
fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn error(at: &Marker, message: &str) -> LoadError {
    LoadError { line: at.line(), column: at.col() + 1, message: message.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check(text: &str, expect: Value) {
        let got = load(text).unwrap().value.unwrap();
        assert_eq!(got, expect, "{text}");
    }

    #[test]
    fn scalars_mean_what_they_mean_to_kubernetes() {
        check(
            "a: 0755\nb: '0755'\nc: on\nd: 'on'\ne: =\nf: 2001-12-14\ng: y\nh: 1e3\ni: 18446744073709551615\n",
            json!({"a": 493, "b": "0755", "c": true, "d": "on", "e": "=", "f": "2001-12-14",
                   "g": true, "h": 1000.0, "i": 18446744073709551615u64}),
        );
    }

    #[test]
    fn keys_are_stringified_like_sigs_k8s_io_yaml() {
        check("on: 1\n'on': 2\n0755: 3\n1.0: 4\n1.5: 6\n", json!({"true": 1, "on": 2, "493": 3, "1": 4, "1.5": 6}));
        // `y` is a YAML 1.1 boolean too, so it lands on the same key as `on` (last wins).
        check("on: 1\ny: 2\nn: 3\n", json!({"true": 2, "false": 3}));
        check("x: 1\n", json!({"x": 1}));
        assert!(load("~: 1\n").is_err());
        assert!(load("18446744073709551615: 1\n").is_err());
    }

    #[test]
    fn float_keys_use_go_g_format_at_32_bits() {
        assert_eq!(go_float_key(1.0), "1");
        assert_eq!(go_float_key(1.5), "1.5");
        assert_eq!(go_float_key(0.1), "0.1");
        assert_eq!(go_float_key(1e6), "1e+06");
        assert_eq!(go_float_key(123456.0), "123456");
        assert_eq!(go_float_key(1234567.0), "1.234567e+06");
        assert_eq!(go_float_key(0.0001), "0.0001");
        assert_eq!(go_float_key(0.00001), "1e-05");
        assert_eq!(go_float_key(-2.5), "-2.5");
    }

    #[test]
    fn anchors_aliases_and_merges() {
        check(
            "base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  z: 3\nl: [&v 7, *v]\n",
            json!({"base": {"x": 1, "z": 2}, "m": {"x": 1, "z": 3}, "l": [7, 7]}),
        );
        // go-yaml v2 lets a merge overwrite keys written before it.
        check("a: &a {k: 1}\nm:\n  k: 0\n  <<: *a\n", json!({"a": {"k": 1}, "m": {"k": 1}}));
        // A quoted '<<' is an ordinary key.
        check("m:\n  '<<': {k: 1}\n", json!({"m": {"<<": {"k": 1}}}));
        check(
            "a: &a {k: 1}\nb: &b {k: 2, j: 2}\nm:\n  <<: [*a, *b]\n",
            json!({"a": {"k": 1}, "b": {"k": 2, "j": 2}, "m": {"k": 1, "j": 2}}),
        );
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        check("a: 1\na: 2\n", json!({"a": 2}));
    }

    #[track_caller]
    fn duplicates(text: &str) -> Vec<(String, usize, usize)> {
        let loaded = load(text).unwrap();
        loaded.duplicates.into_iter().map(|d| (d.path.as_str().to_string(), d.line, d.first_line)).collect()
    }

    #[test]
    fn duplicate_keys_are_recorded_with_their_path_and_lines() {
        assert_eq!(duplicates("a: 1\nb: 2\n"), []);
        assert_eq!(duplicates("a: 1\nb: 2\na: 3\n"), [("/a".to_string(), 3, 1)]);
        assert_eq!(duplicates("a: 1\na: 2\na: 3\n"), [("/a".to_string(), 2, 1), ("/a".to_string(), 3, 2)]);
        let deep = "spec:\n  containers:\n  - name: a\n    env: {x: 1}\n  - name: b\n    image: i\n    name: c\n";
        assert_eq!(duplicates(deep), [("/spec/containers/1/name".to_string(), 7, 5)]);
        // Keys that stringify alike are one key to Kubernetes.
        assert_eq!(duplicates("m:\n  on: 1\n  true: 2\n"), [("/m/true".to_string(), 3, 2)]);
        // Overriding a merged key is what merging is for; writing it twice is not.
        assert_eq!(duplicates("a: &a {k: 1}\nm:\n  <<: *a\n  k: 2\n"), []);
        assert_eq!(duplicates("a: &a {k: 1}\nm:\n  k: 0\n  <<: *a\n  k: 2\n"), [("/m/k".to_string(), 5, 3)]);
        // Inside a flow mapping and a list of mappings, and the label key of a pointer escaped.
        assert_eq!(
            duplicates("l:\n- {x: 1, x: 2}\nlabels:\n  app.kubernetes.io/name: a\n  app.kubernetes.io/name: b\n"),
            [("/l/0/x".to_string(), 2, 2), ("/labels/app.kubernetes.io~1name".to_string(), 5, 4)]
        );
    }

    #[test]
    fn tags() {
        check(
            "a: !!str 0755\nb: !!int '12'\nc: !Ref x\nd: !!binary aGVsbG8=\n",
            json!({"a": "0755", "b": 12, "c": "x", "d": "hello"}),
        );
        assert!(load("a: !!int abc\n").is_err());
    }

    #[test]
    fn a_text_reads_back_as_a_value_only_where_load_would_read_it_so() {
        let value = json!({
            "a": "1", "on": "on", "octal": "0755", "n": 493, "f": 2.5, "big": 18446744073709551615u64,
            "list": [1, true, null, "", "multi\nline\n", {"k": "v"}, []], "empty": {}, "quoted": "x: y",
        });
        let written = crate::yaml::emit::emit(&value).unwrap();
        assert!(reads_back_as(&written, &value), "{written}");
        let same = |text: &str, expected: &Value| {
            load(text).ok().and_then(|l| l.value).is_some_and(|v| crate::canon::same_meaning(&v, expected))
        };
        // Each text is read back as `expected` would be written, or differs from it.
        for (text, expected) in [
            ("a: 1\nb: x\n", json!({"a": 1, "b": "x"})),
            ("a: 1.0\n", json!({"a": 1})),
            ("a: on\n", json!({"a": true})),
            ("a: 'on'\n", json!({"a": "on"})),
            ("\"on\": x\n", json!({"on": "x"})),
            ("on: x\n", json!({"true": "x"})),
            ("a: [1, 2]\n", json!({"a": [1, 2]})),
            // Differs, or is not what a writer writes: the long way decides.
            ("a: 1\n", json!({"a": "1"})),
            ("a: 1\n", json!({"a": 1, "b": 2})),
            ("a: 1\nb: 2\n", json!({"a": 1})),
            ("b: 2\na: 1\n", json!({"a": 1, "b": 2})),
            ("a: 1\na: 1\n", json!({"a": 1})),
            ("a: [1, 2]\n", json!({"a": [1]})),
            ("a: [1]\n", json!({"a": [1, 2]})),
            ("a: &x 1\nb: *x\n", json!({"a": 1, "b": 1})),
            ("a: !!str 1\n", json!({"a": "1"})),
            ("base: &b {x: 1}\nc:\n  <<: *b\n", json!({"base": {"x": 1}, "c": {"x": 1}})),
            ("a: 1\n---\nb: 2\n", json!({"a": 1})),
            ("", json!(null)),
            ("a: 0x1F\n", json!({"a": 31})),
            ("a: 99999999999999999999999\n", json!({"a": 1e23})),
        ] {
            if reads_back_as(text, &expected) {
                assert!(same(text, &expected), "{text:?} read back as {expected} without being so");
            }
        }
        assert!(reads_back_as("a: 1.0\n", &json!({"a": 1})));
        assert!(!reads_back_as("b: 2\na: 1\n", &json!({"a": 1, "b": 2})), "keys in another order go the long way");
        assert!(!reads_back_as("a: 1\na: 1\n", &json!({"a": 1})));
        assert!(!reads_back_as("a: 1\n", &json!({"a": "1"})));
    }

    #[test]
    fn empty_documents() {
        for text in ["", "# only a comment\n", "---\n", "--- null\n", "~\n"] {
            assert!(load(text).unwrap().value.is_none(), "{text:?}");
        }
    }

    #[test]
    fn hostile_input_is_refused_with_a_location() {
        let err = load("a: .inf\n").unwrap_err();
        assert_eq!((err.line, err.column), (1, 4));
        let deep = "[".repeat(10_000);
        assert!(load(&deep).is_err());
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = (b'a' + i) as char;
            let next = (b'a' + i + 1) as char;
            bomb.push_str(&format!("{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = load(&bomb).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn big_hex_integers_freeze_the_document() {
        let loaded = load("a: 0x1FFFFFFFFFFFFFFFFF\n").unwrap();
        assert!(loaded.frozen.is_some());
    }
}
