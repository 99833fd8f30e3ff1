//! Stage 1, read: inputs → decoded text → documents split and parsed, in parallel.
//!
//! **Invariant:** documents keep input order; the error reported for a bad stream is the one
//! in the earliest document, whatever the thread count.

mod decode;
mod document;
mod split;
mod template;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{DocPlace, Error, Result};
use crate::object;
use crate::progress::Progress;
use crate::record::{PIECE, Packed};
use crate::yaml;

pub use decode::decode;
pub use document::{Document, Named, Opened, Sealed, map_resources, resources_of, visit_resources};
pub use split::{Chunk, MAX_INPUT, split};

/// One input's decoded text and how to name it.
#[derive(Debug, Clone)]
pub struct Input {
    pub origin: String,
    pub text: String,
}

impl Input {
    pub fn new(origin: impl Into<String>, text: impl Into<String>) -> Input {
        Input { origin: origin.into(), text: text.into() }
    }

    /// The input's name without its text: all a review's render reads of its inputs once
    /// their documents are read ([`crate::run_parsed`]).
    pub fn without_text(&self) -> Input {
        Input { origin: self.origin.clone(), text: String::new() }
    }
}

/// An input's text held packed ([`Input::pack_text`]), a [`PIECE`] at a time.
pub struct PackedText(Vec<Packed>);

impl Input {
    /// Takes the input's text and packs it, its pieces in parallel, leaving the input with its
    /// name only until [`Input::unpack_text`] gives the text back: for the stages that read the
    /// stream as a whole and no input text, whose peak would otherwise hold it.
    pub fn pack_text(&mut self) -> PackedText {
        let text = std::mem::take(&mut self.text);
        let mut pieces = Vec::with_capacity(text.len() / PIECE + 1);
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let (piece, after) = rest.split_at(rest.floor_char_boundary(PIECE.min(rest.len())).max(1));
            pieces.push(piece);
            rest = after;
        }
        PackedText(pieces.into_par_iter().map(Packed::of).collect())
    }

    /// Gives back the text [`Input::pack_text`] took, unpacked straight into the room it takes.
    pub fn unpack_text(&mut self, packed: PackedText) -> Result<()> {
        let unreadable = || Error::Read {
            path: self.origin.clone().into(),
            cause: std::io::Error::new(std::io::ErrorKind::InvalidData, "its text, held packed, does not unpack"),
        };
        let mut bytes = vec![0; packed.0.iter().map(Packed::text_len).sum()];
        let mut rooms = Vec::with_capacity(packed.0.len());
        let mut rest = bytes.as_mut_slice();
        for piece in &packed.0 {
            let (room, after) = rest.split_at_mut(piece.text_len());
            rooms.push((piece, room));
            rest = after;
        }
        rooms.into_par_iter().try_for_each(|(piece, room)| piece.unpack_into(room)).map_err(|_| unreadable())?;
        drop(packed);
        self.text = String::from_utf8(bytes).map_err(|_| unreadable())?;
        Ok(())
    }
}

/// Reads `-f` arguments in order: `-` is stdin, a directory is its `*.yaml`, `*.yml` and
/// `*.json` files in sorted order. No arguments means stdin. A directory holding a
/// `Chart.yaml` is a Helm chart, whose templates are not manifests: it is refused.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    if paths.is_empty() {
        return Ok(vec![read_stdin()?]);
    }
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(read_stdin()?);
        } else if path.is_dir() {
            if path.join("Chart.yaml").is_file() {
                return Err(Error::ChartDirectory { path: path.clone() });
            }
            for file in manifest_files(path)? {
                inputs.push(read_file(&file)?);
            }
        } else {
            inputs.push(read_file(path)?);
        }
    }
    Ok(inputs)
}

/// The manifest files directly inside `dir`, sorted by name.
pub fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let read_err = |cause| Error::Read { path: dir.to_path_buf(), cause };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let is_manifest =
            path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if is_manifest && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_file(path: &Path) -> Result<Input> {
    let bytes = std::fs::read(path).map_err(|cause| Error::Read { path: path.to_path_buf(), cause })?;
    let origin = path.display().to_string();
    let text = decode(&origin, bytes)?;
    Ok(Input { origin, text })
}

fn read_stdin() -> Result<Input> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).map_err(|cause| Error::Read { path: PathBuf::from("<stdin>"), cause })?;
    let text = decode("<stdin>", bytes)?;
    Ok(Input { origin: "<stdin>".into(), text })
}

/// Splits and parses every input into documents.
pub fn parse(inputs: &[Input]) -> Result<Vec<Document>> {
    parse_then(inputs, &Progress::default(), |doc| doc)
}

/// [`parse`], advancing `progress` as documents are split and read, and handing each document
/// to `then` as soon as it is read, in parallel: a document is kept as `then` leaves it, never
/// all of them as read. The error of the earliest document that does not read comes first,
/// whatever `then` returns.
pub fn parse_then<T: Send>(
    inputs: &[Input],
    progress: &Progress,
    then: impl Fn(Document) -> T + Sync + Send,
) -> Result<Vec<T>> {
    let mut chunks = Vec::new();
    let mut number = 0;
    for (idx, input) in inputs.iter().enumerate() {
        if input.text.len() > MAX_INPUT {
            let cause = std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "it is longer than 4 GiB, the most temper reads in one input; give the stream as several files",
            );
            return Err(Error::Read { path: input.origin.clone().into(), cause });
        }
        for chunk in split(&input.text) {
            let has_content = chunk.has_content(&input.text);
            number += usize::from(has_content);
            chunks.push((idx, chunk, if has_content { number } else { 0 }));
        }
    }
    progress.split(number);
    crate::par::collect(chunks.into_par_iter().map(|(idx, chunk, number)| {
        let doc = parse_one(inputs, idx, chunk, number);
        if number > 0 {
            progress.read_one();
        }
        doc.map(&then)
    }))
}

/// `doc` read again from its text, as [`parse`] first read it.
pub fn parse_again<O>(inputs: &[Input], doc: &Document<O>) -> Result<Document> {
    parse_one(inputs, doc.input, doc.chunk.clone(), doc.number)
}

fn parse_one(inputs: &[Input], idx: usize, chunk: Chunk, number: usize) -> Result<Document> {
    let text = &inputs[idx].text;
    let body = &text[chunk.text()];
    let place = |line: usize, column: Option<usize>| DocPlace {
        origin: inputs[idx].origin.clone(),
        number,
        line,
        column,
        object: guess_object(body),
        template: document::template_of(&text[chunk.header()], None),
    };
    let (value, frozen, mut duplicates) = if number == 0 {
        (None, None, Vec::new())
    } else if chunk.json() {
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| {
            unrendered_in_text(body, chunk.line(), &place).unwrap_or_else(|| Error::Document {
                place: place(chunk.line() + e.line().saturating_sub(1), Some(e.column())).into(),
                message: format!("invalid JSON: {e}"),
            })
        })?;
        (Some(value), None, Vec::new())
    } else {
        let loaded = yaml::load(body).map_err(|e| Error::Document {
            place: place(chunk.line() + e.line - 1, Some(e.column)).into(),
            message: e.message,
        });
        let loaded = loaded.map_err(|e| unrendered_in_text(body, chunk.line(), &place).unwrap_or(e))?;
        (loaded.value, loaded.frozen, loaded.duplicates)
    };
    for d in &mut duplicates {
        d.line += chunk.line() - 1;
        d.first_line += chunk.line() - 1;
    }
    duplicates.sort_by_key(|d| d.line);
    if let Some(value) = &value
        && body.contains("{{")
        && let Some((at, text)) = template::in_value(value)
    {
        let line = chunk.line() + yaml::locate(body, &at).unwrap_or(1) - 1;
        return Err(Error::Unrendered { place: place(line, None).into(), text });
    }
    let template = document::template_of(&text[chunk.header()], value.as_ref());
    let doc = Document::read(idx, chunk, number, value, frozen, template, duplicates);
    if let Some(value) = &doc.value {
        let invalid = |message: String| Error::Document { place: doc.place(inputs).into(), message };
        object::validate(value).map_err(invalid)?;
        if object::is_list(value) {
            for (i, item) in doc.resources() {
                object::validate(item).map_err(|m| invalid(format!("items[{}]: {m}", i.unwrap_or(0))))?;
            }
        }
    }
    Ok(doc)
}

/// Refuses the first mapping key set twice, in stream order: Kubernetes' strict field
/// validation rejects such an object, and a run that asks to be strict stops on it.
pub fn refuse_duplicates<O: Named>(inputs: &[Input], docs: &[Document<O>]) -> Result<()> {
    let Some((doc, d)) = docs.iter().find_map(|doc| doc.duplicates().first().map(|d| (doc, d))) else {
        return Ok(());
    };
    let place = DocPlace { line: d.line, ..doc.place(inputs) };
    Err(Error::Document {
        place: place.into(),
        message: format!(
            "duplicate key `{}` (first set at line {}); Kubernetes' strict field validation rejects it",
            d.path, d.first_line
        ),
    })
}

/// The error for a document that does not parse because it is an unrendered Helm template.
fn unrendered_in_text(
    body: &str,
    first_line: usize,
    place: &dyn Fn(usize, Option<usize>) -> DocPlace,
) -> Option<Error> {
    let (line, text) = template::in_text(body)?;
    Some(Error::Unrendered { place: place(first_line + line - 1, None).into(), text })
}

/// `Kind/name` read off the raw lines of a document that does not parse, for the message.
fn guess_object(body: &str) -> Option<String> {
    let mut kind = None;
    let mut name = None;
    let mut in_metadata = false;
    for line in body.lines() {
        if let Some(k) = line.strip_prefix("kind:") {
            kind = Some(bare_scalar(k));
        }
        if !line.starts_with(' ') {
            in_metadata = strip_comment(line).trim_end() == "metadata:";
            if let Some(flow) = line.strip_prefix("metadata:").and_then(|r| r.split_once("name:")) {
                name = Some(bare_scalar(flow.1.split([',', '}']).next().unwrap_or_default()));
            }
        } else if in_metadata
            && name.is_none()
            && let Some(n) = line.trim_start().strip_prefix("name:")
        {
            name = Some(bare_scalar(n));
        }
    }
    Some(format!("{}/{}", kind.filter(|k| !k.is_empty())?, name.unwrap_or_default()))
}

/// A one-line scalar without its comment, anchor, tag and quotes: `&a !!str "web" # c` → `web`.
fn bare_scalar(text: &str) -> String {
    let mut rest = strip_comment(text).trim();
    while let Some(prop) = rest.strip_prefix(['&', '!']) {
        rest = prop.split_once([' ', '\t']).map_or("", |(_, r)| r).trim_start();
    }
    rest.trim_matches(['"', '\'']).to_string()
}

/// `text` up to a ` #` comment.
fn strip_comment(text: &str) -> &str {
    text.find(" #").or_else(|| text.find("\t#")).map_or(text, |i| &text[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_only_documents_with_content() {
        let inputs =
            [Input::new("in", "---\n# comment only\n---\napiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n")];
        let docs = parse(&inputs).unwrap();
        let numbers: Vec<usize> = docs.iter().map(|d| d.number).collect();
        assert_eq!(numbers, [0, 1, 2]);
    }

    #[test]
    fn objects_are_guessed_past_comments_anchors_and_tags() {
        let body = "kind: &k !!str \"Deployment\" # trailing\nmetadata: # about\n  name: 'web' # the name\nspec: [\n";
        assert_eq!(guess_object(body).as_deref(), Some("Deployment/web"));
        assert_eq!(guess_object("kind: Pod\nmetadata: {name: !!str db, labels: {}}\n").as_deref(), Some("Pod/db"));
        assert_eq!(guess_object("kind: # nothing\n"), None);
    }

    #[test]
    fn the_first_bad_document_is_reported() {
        let mut text = String::new();
        for i in 0..50 {
            text.push_str(&format!("---\napiVersion: v1\nkind: A\nmetadata: {{name: a{i}}}\n"));
        }
        text.push_str("---\nkind: [\n---\n: :\n");
        let err = parse(&[Input::new("in", text)]).unwrap_err().to_string();
        assert!(err.starts_with("in:202:"), "{err}");
        assert!(err.contains("document 51"), "{err}");
    }
}
