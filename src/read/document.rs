//! A document of the input stream: where it is, what it holds, and the resources in it.

use serde_json::Value;

use crate::error::DocPlace;
use crate::object::{self, HELM4_FILENAME, ResourceId};
use crate::yaml::Duplicate;

use super::Input;
use super::split::Chunk;

/// One document, empty or not, in stream order.
#[derive(Clone, Debug)]
pub struct Document {
    /// Which input it came from.
    pub input: usize,
    pub chunk: Chunk,
    /// 1-based number among documents with content; 0 for empty ones.
    pub number: usize,
    /// The object as Kubernetes decodes it; `None` for an empty or comment-only document.
    pub value: Option<Value>,
    /// Set when the document holds something that cannot be re-emitted with the same meaning.
    pub frozen: Option<String>,
    /// The chart template it was rendered from, when the renderer said so.
    pub template: Option<String>,
    /// Mapping keys set twice, with lines in the input (not the document).
    pub duplicates: Vec<Duplicate>,
}

impl Document {
    /// The document's original text, separator line included.
    pub fn text<'a>(&self, inputs: &'a [Input]) -> &'a str {
        &inputs[self.input].text[self.chunk.text.clone()]
    }

    /// Where the document is, for messages.
    pub fn place(&self, inputs: &[Input]) -> DocPlace {
        DocPlace {
            origin: inputs[self.input].origin.clone(),
            number: self.number,
            line: self.chunk.line,
            column: None,
            object: self
                .value
                .as_ref()
                .filter(|v| !object::kind(v).is_empty())
                .map(|v| format!("{}/{}", object::kind(v), object::name(v))),
            template: self.template.clone(),
        }
    }

    /// Whether the document is a `*List` whose items are the resources.
    pub fn is_list(&self) -> bool {
        self.value.as_ref().is_some_and(object::is_list)
    }

    /// The resources the document holds, with their index in `items` for a List.
    pub fn resources(&self) -> Vec<(Option<usize>, &Value)> {
        match &self.value {
            None => Vec::new(),
            Some(v) if object::is_list(v) => v
                .get("items")
                .and_then(Value::as_array)
                .map(|items| items.iter().enumerate().map(|(i, item)| (Some(i), item)).collect())
                .unwrap_or_default(),
            Some(v) => vec![(None, v)],
        }
    }

    /// The resources the document holds, taken out of it.
    pub fn into_resources(self) -> Vec<Value> {
        match self.value {
            None => Vec::new(),
            Some(mut v) if object::is_list(&v) => match v.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            Some(v) => vec![v],
        }
    }

    /// The resource at `item` of a List, or the document's object for `None`.
    pub fn resource(&self, item: Option<usize>) -> Option<&Value> {
        let value = self.value.as_ref()?;
        match item {
            Some(i) if object::is_list(value) => value.get("items")?.get(i),
            None if !object::is_list(value) => Some(value),
            _ => None,
        }
    }

    /// Mutable access to the resources, in the same order as [`Document::resources`].
    pub fn resources_mut(&mut self) -> Vec<(Option<usize>, &mut Value)> {
        let list = self.is_list();
        let Some(v) = &mut self.value else { return Vec::new() };
        if !list {
            return vec![(None, v)];
        }
        match v.get_mut("items").and_then(Value::as_array_mut) {
            Some(items) => items.iter_mut().enumerate().map(|(i, item)| (Some(i), item)).collect(),
            None => Vec::new(),
        }
    }

    /// The identities of the document's resources.
    pub fn resource_ids(&self) -> Vec<ResourceId> {
        self.resources().into_iter().map(|(item, v)| ResourceId::of(self.number, item, v)).collect()
    }
}

/// The template named by a `# Source:` comment in `header`, else by Helm 4's annotation.
pub fn template_of(header: &str, value: Option<&Value>) -> Option<String> {
    header.lines().find_map(|l| l.trim().strip_prefix("# Source:").map(|s| s.trim().to_string())).or_else(|| {
        let v = value?;
        object::annotations(v).get(HELM4_FILENAME)?.as_str().map(str::to_string)
    })
}
