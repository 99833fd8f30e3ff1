//! A document of the input stream: where it is, what it holds, and the resources in it.
//!
//! A value takes two to ten times the text of what it holds (a 72-byte node per value, a
//! bucket per mapping key, a heap block per key and string), and every document is held until
//! the run has succeeded. So a document waits between stages [`Sealed`]: as soon as it is read
//! and prepared (patched, its types checked), a document whose value would take more than
//! [`SEAL_ABOVE`] times its text is kept as its compact JSON text with its identity
//! ([`Document::compact`]); a stage reads it back where it needs it ([`Document::open`],
//! [`visit_resources`]), one batch of documents at a time. A stage that changes a document
//! ([`Document::reopen`]) seals it again; one it left alone keeps the text it had. A document
//! of long strings (a CustomResourceDefinition's descriptions) and a List keep their values:
//! reading them back would cost more time than they save memory.

use std::borrow::Cow;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

use crate::error::{DocPlace, Error, Result};
use crate::object::{self, HELM4_FILENAME, ResourceId};
use crate::record::Json;
use crate::yaml::Duplicate;

use super::Input;
use super::split::Chunk;

/// One document, empty or not, in stream order: its object is a `Value` while a stage changes
/// it, and [`Sealed`] between stages.
#[derive(Clone, Debug)]
pub struct Document<O = Value> {
    /// Which input it came from.
    pub input: usize,
    pub chunk: Chunk,
    /// 1-based number among documents with content; 0 for empty ones.
    pub number: usize,
    /// The object as Kubernetes decodes it; `None` for an empty or comment-only document.
    pub value: Option<O>,
    /// What few documents have, apart: a stream of small documents keeps a document each
    /// until it is written, and these took 72 of its 176 bytes.
    notes: Option<Box<Notes>>,
}

/// What a document may have besides its object.
#[derive(Clone, Debug, Default)]
struct Notes {
    /// Set when the document holds something that cannot be re-emitted with the same meaning.
    frozen: Option<String>,
    /// The chart template it was rendered from, when the renderer said so.
    template: Option<String>,
    /// Mapping keys set twice, with lines in the input (not the document).
    duplicates: Vec<Duplicate>,
}

impl<O> Document<O> {
    /// The document's original text, separator line included.
    pub fn text<'a>(&self, inputs: &'a [Input]) -> &'a str {
        &inputs[self.input].text[self.chunk.text()]
    }

    /// Where the document is, for messages; `object` names what it holds.
    fn place_of(&self, inputs: &[Input], object: Option<String>) -> DocPlace {
        DocPlace {
            origin: inputs[self.input].origin.clone(),
            number: self.number,
            line: self.chunk.line(),
            column: None,
            object,
            template: self.template().map(str::to_string),
        }
    }

    /// Why the document cannot be re-emitted with the same meaning, if it cannot.
    pub fn frozen(&self) -> Option<&str> {
        self.notes.as_ref()?.frozen.as_deref()
    }

    /// The chart template it was rendered from, when the renderer said so.
    pub fn template(&self) -> Option<&str> {
        self.notes.as_ref()?.template.as_deref()
    }

    /// Mapping keys set twice, with lines in the input (not the document).
    pub fn duplicates(&self) -> &[Duplicate] {
        self.notes.as_ref().map(|notes| notes.duplicates.as_slice()).unwrap_or_default()
    }

    /// The document without its object: where it is and what was noted of it, for a report
    /// that reads no more of it than that (SARIF's lines).
    pub fn without_object(self) -> Document<()> {
        let value = self.value.as_ref().map(|_| ());
        self.holding(value)
    }

    /// The same document holding `value`.
    fn holding<P>(self, value: Option<P>) -> Document<P> {
        Document { input: self.input, chunk: self.chunk, number: self.number, value, notes: self.notes }
    }
}

/// What a document holds, as messages name it.
pub trait Named {
    /// `Kind/name`, when the kind is known.
    fn named(&self) -> Option<String>;
}

impl Named for Value {
    fn named(&self) -> Option<String> {
        kind_and_name(self)
    }
}

impl Named for Sealed {
    fn named(&self) -> Option<String> {
        match self {
            Sealed::Text { id, .. } => named(id.kind(), &id.name),
            Sealed::Value(value) => kind_and_name(value),
        }
    }
}

impl<O: Named> Document<O> {
    /// Where the document is, for messages.
    pub fn place(&self, inputs: &[Input]) -> DocPlace {
        self.place_of(inputs, self.value.as_ref().and_then(Named::named))
    }
}

impl Document {
    /// A document read from input `input`, numbered `number`.
    pub fn read(
        input: usize,
        chunk: Chunk,
        number: usize,
        value: Option<Value>,
        frozen: Option<String>,
        template: Option<String>,
        duplicates: Vec<Duplicate>,
    ) -> Document {
        let notes = (frozen.is_some() || template.is_some() || !duplicates.is_empty())
            .then(|| Box::new(Notes { frozen, template, duplicates }));
        Document { input, chunk, number, value, notes }
    }

    /// Whether the document is a `*List` whose items are the resources.
    pub fn is_list(&self) -> bool {
        self.value.as_ref().is_some_and(object::is_list)
    }

    /// The resources the document holds, with their index in `items` for a List.
    pub fn resources(&self) -> Vec<(Option<usize>, &Value)> {
        resources_of(self.value.as_ref())
    }

    /// The resources the document holds, taken out of it.
    pub fn into_resources(self) -> Vec<Value> {
        into_resources_of(self.value)
    }

    /// Mutable access to the resources, in the same order as [`Document::resources`].
    pub fn resources_mut(&mut self) -> Vec<(Option<usize>, &mut Value)> {
        self.value.as_mut().map(resources_mut_of).unwrap_or_default()
    }

    /// The identities of the document's resources.
    pub fn resource_ids(&self) -> Vec<ResourceId> {
        ids_of(self.number, self.value.as_ref())
    }

    /// The document as the stages after the rules keep it: its object as text if `changed`
    /// (the rules changed it), else its value. A List stays a value, so that each of its items
    /// can be reached without reading all of them back.
    pub fn seal(self, changed: bool) -> Document<Sealed> {
        self.seal_like(changed, None)
    }

    /// [`Document::seal`], sharing `like` as the identity of an object kept as text when it is
    /// still its identity ([`ResourceId::of_like`]).
    pub fn seal_like(mut self, changed: bool, like: Option<&ResourceId>) -> Document<Sealed> {
        let sealed = match self.value.take() {
            None => None,
            Some(value) if !changed || object::is_list(&value) => Some(Sealed::Value(Arc::new(value))),
            Some(value) => Some(Sealed::Text {
                id: ResourceId::of_like(like, self.number, None, &value),
                object: Arc::new(Json::of(&value)),
            }),
        };
        self.holding(sealed)
    }

    /// The document as it waits between stages: its object as text when its value takes more
    /// than [`SEAL_ABOVE`] times the text it was read from, else (and for a List, and for a
    /// document larger than [`SEAL_UP_TO`]) its value.
    pub fn compact(self) -> Document<Sealed> {
        let text = self.chunk.text().len();
        let costly = text <= SEAL_UP_TO
            && self.value.as_ref().is_some_and(|v| !object::is_list(v) && held_bytes(v) > SEAL_ABOVE * text);
        self.seal(costly)
    }

    /// Seals the document again after a stage had it open ([`Document::reopen`]): as `kept`,
    /// the text it had, when the stage did not change it; else as `seal` says.
    pub fn reseal(
        self,
        kept: Option<Sealed>,
        changed: bool,
        seal: impl FnOnce(Document) -> Document<Sealed>,
    ) -> Document<Sealed> {
        match kept {
            Some(kept) if !changed => self.holding(Some(kept)),
            _ => seal(self),
        }
    }
}

/// A document is kept as text between stages when its value would take more than this many
/// times its text. Short fields take five to ten times; reading a value back costs about a
/// quarter of parsing its YAML, so documents of long strings, which take less, keep theirs.
pub const SEAL_ABOVE: usize = 4;

/// A document of more text than this keeps its value. Each stage that reads it would read it
/// back whole, on whichever thread it runs, and glibc's allocator keeps the room of a freed
/// block in the arena of the thread that took it: a 4 MB CustomResourceDefinition read back
/// on two threads held its value twice over (`check` of the `size` benchmark: 72 → 119 MB).
pub const SEAL_UP_TO: usize = 1 << 20;

/// About the heap `value` takes below its own node: a node per item (`size_of::<Value>()`), a
/// bucket and an index slot per mapping entry, a heap block per key, string, list and map.
fn held_bytes(value: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    // The entry's hash and key, and its slot in the map's index.
    const ENTRY: usize = 8 + std::mem::size_of::<String>() + 16;
    // A heap block's header and rounding.
    const BLOCK: usize = 16;
    match value {
        Value::String(s) => BLOCK + s.len(),
        Value::Array(items) => BLOCK + items.iter().map(|v| NODE + held_bytes(v)).sum::<usize>(),
        Value::Object(map) => {
            2 * BLOCK + map.iter().map(|(k, v)| ENTRY + NODE + BLOCK + k.len() + held_bytes(v)).sum::<usize>()
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// What a document holds between stages: one object kept as its compact JSON text with its
/// identity; or a value (a List, or an object kept as it is).
///
/// Both are shared by reference count, so that a copy of sealed documents (`promote` gives
/// each of its two renders the documents it read once) costs no second copy of what they hold:
/// a render that leaves a document unchanged keeps sharing it ([`Document::reopen`]).
#[derive(Clone, Debug)]
pub enum Sealed {
    Text { id: ResourceId, object: Arc<Json> },
    Value(Arc<Value>),
}

impl Sealed {
    /// The identity kept with an object kept as text; `None` for a value.
    pub fn id(&self) -> Option<&ResourceId> {
        match self {
            Sealed::Text { id, .. } => Some(id),
            Sealed::Value(_) => None,
        }
    }

    /// The text an object is kept as; `None` for a value.
    pub fn text(&self) -> Option<&Arc<Json>> {
        match self {
            Sealed::Text { object, .. } => Some(object),
            Sealed::Value(_) => None,
        }
    }
}

impl Document<Sealed> {
    /// The object, read back from its text if it was kept as text.
    pub fn open(&self) -> Result<Opened<'_>> {
        Ok(Opened(match &self.value {
            None => None,
            Some(Sealed::Value(value)) => Some(Cow::Borrowed(&**value)),
            Some(Sealed::Text { id, object }) => Some(Cow::Owned(read_back(self.number, id, object)?)),
        }))
    }

    /// The identity of `obj`, the document's resource at `item`: for an object kept as text,
    /// the identity kept with it (shared, not copied) unless `obj` has another.
    pub fn id_of(&self, item: Option<usize>, obj: &Value) -> ResourceId {
        ResourceId::of_like(self.value.as_ref().and_then(Sealed::id), self.number, item, obj)
    }

    /// The identities of the document's resources, without reading a sealed object back.
    pub fn resource_ids(&self) -> Vec<ResourceId> {
        match &self.value {
            None => Vec::new(),
            Some(Sealed::Text { id, .. }) => vec![id.clone()],
            Some(Sealed::Value(value)) => ids_of(self.number, Some(value)),
        }
    }

    /// The document with its object as a value again, for a stage that may change it, and
    /// what it was kept as, for [`Document::reseal`]: its text if it was kept as text, and its
    /// value if another copy of the document shares it (so that the stage's copy is dropped if
    /// the stage does not change it).
    pub fn reopen(mut self) -> Result<(Document, Option<Sealed>)> {
        match self.value.take() {
            None => Ok((self.holding(None), None)),
            Some(Sealed::Value(value)) => match Arc::try_unwrap(value) {
                Ok(value) => Ok((self.holding(Some(value)), None)),
                Err(shared) => Ok((self.holding(Some(Value::clone(&shared))), Some(Sealed::Value(shared)))),
            },
            Some(Sealed::Text { id, object }) => {
                let value = read_back(self.number, &id, &object)?;
                Ok((self.holding(Some(value)), Some(Sealed::Text { id, object })))
            }
        }
    }

    /// Whether a resource of the document is of an API group and kind `wanted` accepts, without
    /// reading a sealed object back or building identities.
    pub fn holds(&self, wanted: impl Fn(&str, &str) -> bool) -> bool {
        match &self.value {
            None => false,
            Some(Sealed::Text { id, .. }) => wanted(id.group(), id.kind()),
            Some(Sealed::Value(value)) => {
                resources_of(Some(value)).into_iter().any(|(_, v)| wanted(object::group(v), object::kind(v)))
            }
        }
    }

    /// How many resources the document holds.
    pub fn resource_count(&self) -> usize {
        match &self.value {
            None => 0,
            Some(Sealed::Text { .. }) => 1,
            Some(Sealed::Value(value)) => resources_of(Some(value)).len(),
        }
    }

    /// Changes every resource of the document with `edit`, reading a sealed object back and
    /// sealing it again, with its identity as `edit` leaves it.
    pub fn edit(&mut self, mut edit: impl FnMut(Option<usize>, &mut Value)) -> Result<()> {
        let number = self.number;
        match &mut self.value {
            None => {}
            Some(Sealed::Value(value)) => {
                for (item, obj) in resources_mut_of(Arc::make_mut(value)) {
                    edit(item, obj);
                }
            }
            Some(Sealed::Text { id, object }) => {
                let mut value = read_back(number, id, object)?;
                edit(None, &mut value);
                *id = ResourceId::of_like(Some(id), number, None, &value);
                *object = Arc::new(Json::of(&value));
            }
        }
        Ok(())
    }
}

fn read_back(number: usize, id: &ResourceId, object: &Json) -> Result<Value> {
    object.value().map_err(|e| Error::Sealed {
        number,
        object: id.to_string(),
        message: format!("cannot read it back: {e}"),
    })
}

/// How many documents [`visit_resources`] and [`map_resources`] read back at a time.
const BATCH: usize = 256;

/// Calls `visit` with its position in `docs`, the document, its List item and the resource,
/// on every resource of an API group and kind `wanted` accepts, in stream order. Only the
/// documents that hold one are read back, a batch at a time, in parallel, so that only a batch
/// of them is ever held as values.
pub fn visit_resources(
    docs: &[Document<Sealed>],
    wanted: impl Fn(&str, &str) -> bool,
    mut visit: impl FnMut(usize, &Document<Sealed>, Option<usize>, &Value),
) -> Result<()> {
    let chosen: Vec<(usize, &Document<Sealed>)> = docs.iter().enumerate().filter(|(_, d)| d.holds(&wanted)).collect();
    for batch in chosen.chunks(BATCH) {
        let opened: Vec<Opened> = batch.par_iter().map(|(_, d)| d.open()).collect::<Result<_>>()?;
        for ((position, doc), object) in batch.iter().zip(&opened) {
            for (item, obj) in object.resources() {
                if wanted(object::group(obj), object::kind(obj)) {
                    visit(*position, doc, item, obj);
                }
            }
        }
    }
    Ok(())
}

/// What `find` gives for every resource of an API group and kind `wanted` accepts, in stream
/// order. The documents are read back as [`visit_resources`] reads them, and `find` runs on the
/// resources of a batch in parallel: for a search through every object of some kinds (the
/// values of ConfigMaps and Secrets) that would otherwise run on one thread.
pub fn map_resources<T: Send>(
    docs: &[Document<Sealed>],
    wanted: impl Fn(&str, &str) -> bool + Sync,
    find: impl Fn(&Value) -> T + Sync,
) -> Result<Vec<T>> {
    let chosen: Vec<&Document<Sealed>> = docs.iter().filter(|d| d.holds(&wanted)).collect();
    let mut found = Vec::new();
    for batch in chosen.chunks(BATCH) {
        let batch: Vec<Vec<T>> = crate::par::collect(batch.par_iter().map(|d| {
            let opened = d.open()?;
            let resources = opened.resources().into_iter().map(|(_, obj)| obj);
            Ok(resources.filter(|obj| wanted(object::group(obj), object::kind(obj))).map(&find).collect())
        }))?;
        found.extend(batch.into_iter().flatten());
    }
    Ok(found)
}

/// A document's object as a stage reads it between stages: borrowed, or read back.
pub struct Opened<'a>(Option<Cow<'a, Value>>);

impl<'a> Opened<'a> {
    /// The object; `None` for an empty document.
    pub fn value(&self) -> Option<&Value> {
        self.0.as_deref()
    }

    /// The object, as long as the document it was opened from.
    pub fn into_value(self) -> Option<Cow<'a, Value>> {
        self.0
    }

    /// The resources, as [`Document::resources`] gives them.
    pub fn resources(&self) -> Vec<(Option<usize>, &Value)> {
        resources_of(self.value())
    }

    /// The resource at `item` of a List, or the document's object for `None`.
    pub fn resource(&self, item: Option<usize>) -> Option<&Value> {
        let value = self.value()?;
        match item {
            Some(i) if object::is_list(value) => value.get("items")?.get(i),
            None if !object::is_list(value) => Some(value),
            _ => None,
        }
    }

    /// The resources, taken out.
    pub fn into_resources(self) -> Vec<Value> {
        into_resources_of(self.0.map(Cow::into_owned))
    }
}

fn kind_and_name(v: &Value) -> Option<String> {
    named(object::kind(v), object::name(v))
}

/// `Kind/name` for messages, when the kind is known.
fn named(kind: &str, name: &str) -> Option<String> {
    (!kind.is_empty()).then(|| format!("{kind}/{name}"))
}

/// The resources `value` holds (its items if it is a List), with their index in `items`.
pub fn resources_of(value: Option<&Value>) -> Vec<(Option<usize>, &Value)> {
    match value {
        None => Vec::new(),
        Some(v) if object::is_list(v) => v
            .get("items")
            .and_then(Value::as_array)
            .map(|items| items.iter().enumerate().map(|(i, item)| (Some(i), item)).collect())
            .unwrap_or_default(),
        Some(v) => vec![(None, v)],
    }
}

/// The identities of the resources `value` holds, in document `number`.
fn ids_of(number: usize, value: Option<&Value>) -> Vec<ResourceId> {
    resources_of(value).into_iter().map(|(item, v)| ResourceId::of(number, item, v)).collect()
}

fn resources_mut_of(value: &mut Value) -> Vec<(Option<usize>, &mut Value)> {
    if !object::is_list(value) {
        return vec![(None, value)];
    }
    match value.get_mut("items").and_then(Value::as_array_mut) {
        Some(items) => items.iter_mut().enumerate().map(|(i, item)| (Some(i), item)).collect(),
        None => Vec::new(),
    }
}

fn into_resources_of(value: Option<Value>) -> Vec<Value> {
    match value {
        None => Vec::new(),
        Some(mut v) if object::is_list(&v) => match v.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        Some(v) => vec![v],
    }
}

/// The template named by a `# Source:` comment in `header`, else by Helm 4's annotation.
pub fn template_of(header: &str, value: Option<&Value>) -> Option<String> {
    header.lines().find_map(|l| l.trim().strip_prefix("# Source:").map(|s| s.trim().to_string())).or_else(|| {
        let v = value?;
        object::annotations(v).get(HELM4_FILENAME)?.as_str().map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::read::{Input, parse};

    fn sealed(text: &str) -> Vec<Document<Sealed>> {
        parse(&[Input::new("in", text)]).unwrap().into_iter().map(|d| d.seal(true)).collect()
    }

    #[test]
    fn a_sealed_object_reads_back_as_it_was_with_its_identity() {
        let text = "---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata: {mode: '0755', on: 'yes', big: '1.5e300'}\n";
        let live = parse(&[Input::new("in", text)]).unwrap();
        let docs = sealed(text);
        assert!(docs[0].open().unwrap().value().is_none());
        assert_eq!(docs[0].resource_count(), 0);
        assert!(matches!(docs[1].value, Some(Sealed::Text { .. })));
        assert_eq!(docs[1].open().unwrap().value(), live[1].value.as_ref());
        assert_eq!(docs[1].resource_ids(), live[1].resource_ids());
        assert_eq!(docs[1].resource_count(), 1);
        assert!(docs[1].holds(|_, k| k == "ConfigMap") && !docs[0].holds(|_, _| true));
        let unchanged = live[1].clone().seal(false);
        assert!(matches!(unchanged.value, Some(Sealed::Value(_))));
        assert_eq!(unchanged.open().unwrap().value(), live[1].value.as_ref());
    }

    #[test]
    fn a_list_stays_a_value_and_its_items_are_reached_one_by_one() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: A, metadata: {name: a}}\n- {apiVersion: v1, kind: B, metadata: {name: b}}\n";
        let docs = sealed(text);
        assert!(matches!(docs[0].value, Some(Sealed::Value(_))));
        let kinds: Vec<String> = docs[0].resource_ids().iter().map(|id| id.kind().to_string()).collect();
        assert_eq!(kinds, ["A", "B"]);
        assert!(docs[0].holds(|_, k| k == "B"));
        assert!(!docs[0].holds(|_, k| k == "C"));
        assert_eq!(docs[0].open().unwrap().resource(Some(1)).map(object::name), Some("b"));
        assert_eq!(docs[0].open().unwrap().resource(None), None);
        assert_eq!(docs[0].resource_count(), 2);
    }

    #[test]
    fn compacting_keeps_as_text_only_what_its_value_would_take_many_times_over() {
        let fields: String = (0..40).map(|i| format!("  k{i}: v\n")).collect();
        let short = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: short}}\ndata:\n{fields}");
        let long = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: long}}\ndata: {{text: {}}}\n",
            "x".repeat(4000)
        );
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: in-list}}\n  data:\n{}",
            fields.replace("  k", "    k")
        );
        let text = format!("{short}---\n{long}---\n{list}---\n# nothing\n");
        let live = parse(&[Input::new("in", text.as_str())]).unwrap();
        let docs: Vec<Document<Sealed>> = live.iter().cloned().map(Document::compact).collect();
        assert!(matches!(docs[0].value, Some(Sealed::Text { .. })), "short fields are kept as text");
        assert!(matches!(docs[1].value, Some(Sealed::Value(_))), "a long string keeps its value");
        assert!(matches!(docs[2].value, Some(Sealed::Value(_))), "a List keeps its value");
        assert!(docs[3].value.is_none());
        for (doc, live) in docs.iter().zip(&live) {
            assert_eq!(doc.open().unwrap().value(), live.value.as_ref());
        }
        // Short fields, but too large to be read back whole by every stage: kept as a value.
        let many: String = (0..SEAL_UP_TO / 8).map(|i| format!("  k{i}: v\n")).collect();
        let large = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: large}}\ndata:\n{many}");
        assert!(large.len() > SEAL_UP_TO);
        let docs = parse(&[Input::new("in", large.as_str())]).unwrap();
        assert!(matches!(docs[0].clone().compact().value, Some(Sealed::Value(_))));
    }

    #[test]
    fn a_reopened_document_keeps_its_text_unless_the_stage_changed_it() {
        let docs = sealed("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n");
        let text = |doc: &Document<Sealed>| match &doc.value {
            Some(Sealed::Text { object, .. }) => Some(object.to_string()),
            _ => None,
        };
        let before = text(&docs[0]);
        let (doc, kept) = docs[0].clone().reopen().unwrap();
        assert!(kept.is_some());
        assert_eq!(doc.value.as_ref().map(object::name), Some("c"));
        // Unchanged, it gets its text back (sealing it anew would keep a value here).
        let untouched = doc.reseal(kept, false, |d| d.seal(false));
        assert!(before.is_some());
        assert_eq!(text(&untouched), before);
        let (mut doc, kept) = untouched.reopen().unwrap();
        if let Some(v) = doc.value.as_mut() {
            v["metadata"]["name"] = json!("d");
        }
        let changed = doc.reseal(kept, true, |d| d.seal(true));
        assert_eq!(&*changed.resource_ids()[0].name, "d");
        assert_ne!(text(&changed), before);
        // A document kept as a value is handed back as it is.
        let live = parse(&[Input::new("in", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")]).unwrap();
        let (doc, kept) = live[0].clone().seal(false).reopen().unwrap();
        assert!(kept.is_none() && doc.value == live[0].value);
    }

    #[test]
    fn a_sealed_document_stays_small() {
        // A stream of small documents keeps one per document until it is written.
        assert_eq!(std::mem::size_of::<Chunk>(), 24);
        assert!(std::mem::size_of::<Document<Sealed>>() <= 72, "{} bytes", std::mem::size_of::<Document<Sealed>>());
    }

    #[test]
    fn resources_are_visited_in_stream_order_and_only_of_the_kinds_wanted() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n---\n# empty\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: c}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: d}}\n";
        let docs = sealed(text);
        let mut seen = Vec::new();
        visit_resources(
            &docs,
            |_, _| true,
            |position, doc, item, obj| {
                seen.push((position, doc.number, item, object::name(obj).to_string()));
            },
        )
        .unwrap();
        let names: Vec<(usize, usize, Option<usize>, &str)> =
            seen.iter().map(|(p, n, i, name)| (*p, *n, *i, name.as_str())).collect();
        assert_eq!(names, [(0, 1, None, "a"), (1, 2, None, "b"), (3, 3, Some(0), "c"), (3, 3, Some(1), "d")]);
        let mut apps = Vec::new();
        visit_resources(&docs, |group, _| group == "apps", |_, _, _, obj| apps.push(object::name(obj).to_string()))
            .unwrap();
        assert_eq!(apps, ["b"]);
        // Within a List, only the items of a kind wanted.
        let mut configs = Vec::new();
        visit_resources(
            &docs,
            |_, kind| kind == "ConfigMap",
            |_, _, item, obj| configs.push((item, object::name(obj).to_string())),
        )
        .unwrap();
        assert_eq!(configs, [(None, "a".to_string()), (Some(1), "d".to_string())]);
    }

    #[test]
    fn resources_are_mapped_in_stream_order_and_only_of_the_kinds_wanted() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: c}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: d}}\n";
        let docs = sealed(text);
        let configs = |group: &str, kind: &str| group.is_empty() && matches!(kind, "ConfigMap" | "Secret");
        let found = map_resources(&docs, configs, |obj| object::name(obj).to_string()).unwrap();
        assert_eq!(found, ["a", "c", "d"]);
    }

    #[test]
    fn an_edit_is_sealed_again_with_the_identity_it_leaves() {
        let mut docs = sealed("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
        docs[0]
            .edit(|item, obj| {
                assert_eq!(item, None);
                obj["metadata"]["name"] = json!("renamed");
            })
            .unwrap();
        assert_eq!(docs[0].open().unwrap().value().map(object::name), Some("renamed"));
        assert_eq!(&*docs[0].resource_ids()[0].name, "renamed");
        let mut kept: Vec<Document<Sealed>> =
            parse(&[Input::new("in", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")])
                .unwrap()
                .into_iter()
                .map(|d| d.seal(false))
                .collect();
        kept[0].edit(|_, obj| obj["metadata"]["name"] = json!("renamed")).unwrap();
        assert_eq!(&*kept[0].resource_ids()[0].name, "renamed");
    }
}
