//! A document of the input stream: where it is, what it holds, and the resources in it.
//!
//! A document holds its object as a value while the stages that change it (patch, rules) run.
//! Once the rules are done with it, it is sealed ([`Sealed`]): an object the rules changed is
//! kept as its compact JSON text with its identity, and the stages after read it back where
//! they need it (it is read back once anyway, to be written). A value takes five to seven
//! times the text of what it holds, and every document is held until the run has succeeded.
//! A document the rules left alone keeps its value: sealing it saved memory only on streams
//! whose peak comes after the rules, and cost every stream the time to free and write it.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::{DocPlace, Error, Result};
use crate::object::{self, HELM4_FILENAME, ResourceId};
use crate::record::Json;
use crate::yaml::Duplicate;

use super::Input;
use super::split::Chunk;

/// One document, empty or not, in stream order: its object is a `Value` while stages change
/// it, and [`Sealed`] after the rules.
#[derive(Clone, Debug)]
pub struct Document<O = Value> {
    /// Which input it came from.
    pub input: usize,
    pub chunk: Chunk,
    /// 1-based number among documents with content; 0 for empty ones.
    pub number: usize,
    /// The object as Kubernetes decodes it; `None` for an empty or comment-only document.
    pub value: Option<O>,
    /// Set when the document holds something that cannot be re-emitted with the same meaning.
    pub frozen: Option<String>,
    /// The chart template it was rendered from, when the renderer said so.
    pub template: Option<String>,
    /// Mapping keys set twice, with lines in the input (not the document).
    pub duplicates: Vec<Duplicate>,
}

impl<O> Document<O> {
    /// The document's original text, separator line included.
    pub fn text<'a>(&self, inputs: &'a [Input]) -> &'a str {
        &inputs[self.input].text[self.chunk.text.clone()]
    }

    /// Where the document is, for messages; `object` names what it holds.
    fn place_of(&self, inputs: &[Input], object: Option<String>) -> DocPlace {
        DocPlace {
            origin: inputs[self.input].origin.clone(),
            number: self.number,
            line: self.chunk.line,
            column: None,
            object,
            template: self.template.clone(),
        }
    }

    /// The same document holding `value`.
    fn holding<P>(self, value: Option<P>) -> Document<P> {
        Document {
            input: self.input,
            chunk: self.chunk,
            number: self.number,
            value,
            frozen: self.frozen,
            template: self.template,
            duplicates: self.duplicates,
        }
    }
}

impl Document {
    /// Where the document is, for messages.
    pub fn place(&self, inputs: &[Input]) -> DocPlace {
        self.place_of(inputs, self.value.as_ref().and_then(kind_and_name))
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
    pub fn seal(mut self, changed: bool) -> Document<Sealed> {
        let sealed = match self.value.take() {
            None => None,
            Some(value) if !changed || object::is_list(&value) => Some(Sealed::Value(value)),
            Some(value) => {
                Some(Sealed::Text { id: ResourceId::of(self.number, None, &value), object: Json::of(&value) })
            }
        };
        self.holding(sealed)
    }
}

/// What a document holds after the rules: one object the rules changed, as its compact JSON
/// text with its identity; or a value (a List, or an object the rules left alone).
#[derive(Clone, Debug)]
pub enum Sealed {
    Text { id: ResourceId, object: Json },
    Value(Value),
}

impl Document<Sealed> {
    /// Where the document is, for messages.
    pub fn place(&self, inputs: &[Input]) -> DocPlace {
        let object = match &self.value {
            None => None,
            Some(Sealed::Text { id, .. }) => named(&id.kind, &id.name),
            Some(Sealed::Value(value)) => kind_and_name(value),
        };
        self.place_of(inputs, object)
    }

    /// The object, read back from its text if it was kept as text.
    pub fn open(&self) -> Result<Opened<'_>> {
        Ok(Opened(match &self.value {
            None => None,
            Some(Sealed::Value(value)) => Some(Cow::Borrowed(value)),
            Some(Sealed::Text { id, object }) => Some(Cow::Owned(read_back(self.number, id, object)?)),
        }))
    }

    /// The identities of the document's resources, without reading a sealed object back.
    pub fn resource_ids(&self) -> Vec<ResourceId> {
        match &self.value {
            None => Vec::new(),
            Some(Sealed::Text { id, .. }) => vec![id.clone()],
            Some(Sealed::Value(value)) => ids_of(self.number, Some(value)),
        }
    }

    /// Whether a resource of the document is of a kind `wanted` accepts, without reading a
    /// sealed object back or building identities.
    pub fn holds_kind(&self, wanted: impl Fn(&str) -> bool) -> bool {
        match &self.value {
            None => false,
            Some(Sealed::Text { id, .. }) => wanted(&id.kind),
            Some(Sealed::Value(value)) => resources_of(Some(value)).into_iter().any(|(_, v)| wanted(object::kind(v))),
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
                for (item, obj) in resources_mut_of(value) {
                    edit(item, obj);
                }
            }
            Some(Sealed::Text { id, object }) => {
                let mut value = read_back(number, id, object)?;
                edit(None, &mut value);
                *id = ResourceId::of(number, None, &value);
                *object = Json::of(&value);
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

/// A document's object as the stages after the rules read it: borrowed, or read back.
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
        assert!(docs[1].holds_kind(|k| k == "ConfigMap") && !docs[0].holds_kind(|_| true));
        let unchanged = live[1].clone().seal(false);
        assert!(matches!(unchanged.value, Some(Sealed::Value(_))));
        assert_eq!(unchanged.open().unwrap().value(), live[1].value.as_ref());
    }

    #[test]
    fn a_list_stays_a_value_and_its_items_are_reached_one_by_one() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: A, metadata: {name: a}}\n- {apiVersion: v1, kind: B, metadata: {name: b}}\n";
        let docs = sealed(text);
        assert!(matches!(docs[0].value, Some(Sealed::Value(_))));
        let kinds: Vec<String> = docs[0].resource_ids().iter().map(|id| id.kind.clone()).collect();
        assert_eq!(kinds, ["A", "B"]);
        assert!(docs[0].holds_kind(|k| k == "B"));
        assert!(!docs[0].holds_kind(|k| k == "C"));
        assert_eq!(docs[0].open().unwrap().resource(Some(1)).map(object::name), Some("b"));
        assert_eq!(docs[0].open().unwrap().resource(None), None);
        assert_eq!(docs[0].resource_count(), 2);
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
        assert_eq!(docs[0].resource_ids()[0].name, "renamed");
        let mut kept: Vec<Document<Sealed>> =
            parse(&[Input::new("in", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")])
                .unwrap()
                .into_iter()
                .map(|d| d.seal(false))
                .collect();
        kept[0].edit(|_, obj| obj["metadata"]["name"] = json!("renamed")).unwrap();
        assert_eq!(kept[0].resource_ids()[0].name, "renamed");
    }
}
