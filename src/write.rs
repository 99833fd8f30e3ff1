//! Stage 7, write: the output stream.
//!
//! **Invariant:** a document no rule changed is written back byte for byte. A changed document
//! keeps its separator and leading comment lines (`# Source:`), then its body is re-emitted;
//! its line endings follow the original. Generated objects follow, each after a `---` line.
//! **Invariant:** the output is built whole in memory; nothing is written until the run
//! has succeeded.

use std::borrow::Cow;
use std::collections::HashSet;

use rayon::prelude::*;
use serde_json::Value;

use crate::canon::same_meaning;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::read::{Document, Input};
use crate::record::{Change, Generated};
use crate::yaml;

/// Assembles the output: every document `changes` touched is re-emitted, the others are
/// copied, and the generated objects follow. `progress` counts the documents written.
pub fn write(
    inputs: &[Input],
    docs: &[Document],
    changes: &[Change],
    generated: &[Generated],
    progress: &Progress,
) -> Result<String> {
    let changed_numbers: HashSet<usize> = changes.iter().map(|c| c.resource.document).collect();
    let changed: Vec<bool> = docs.iter().map(|d| d.number > 0 && changed_numbers.contains(&d.number)).collect();
    write_counted(inputs, docs, &changed, generated, progress)
}

/// Assembles the output with `docs[i]` re-emitted where `changed[i]` is set, copied otherwise.
pub fn write_documents(
    inputs: &[Input],
    docs: &[Document],
    changed: &[bool],
    generated: &[Generated],
) -> Result<String> {
    write_counted(inputs, docs, changed, generated, &Progress::default())
}

fn write_counted(
    inputs: &[Input],
    docs: &[Document],
    changed: &[bool],
    generated: &[Generated],
    progress: &Progress,
) -> Result<String> {
    let pieces: Vec<Result<Piece>> = docs
        .par_iter()
        .zip(changed.par_iter())
        .map(|(doc, &changed)| {
            let piece = piece(inputs, doc, changed);
            if doc.number > 0 {
                progress.written_one();
            }
            piece
        })
        .collect();
    let mut pieces = pieces.into_iter().collect::<Result<Vec<Piece>>>()?;
    // Generated objects are emitted (and verified) in parallel too: a large stream gets
    // thousands of them, and emitting them in turn was the largest sequential step of a run.
    let generated: Vec<Result<Piece>> = generated
        .par_iter()
        .map(|g| {
            let body = yaml::emit(&g.object).map_err(|message| Error::Document {
                place: Box::default(),
                message: format!("cannot write a generated {}: {message}", crate::object::kind(&g.object)),
            })?;
            Ok(Piece { text: format!("---\n{body}").into(), separated: true, json: false })
        })
        .collect();
    for piece in generated {
        pieces.push(piece?);
    }
    let total: usize = pieces.iter().map(|p| p.text.len() + 5).sum();
    let mut out = String::with_capacity(total);
    let only_one = pieces.len() == 1;
    for (i, piece) in pieces.iter().enumerate() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !piece.separated && (i > 0 || (piece.json && !only_one)) {
            // Every document but a lone first one gets a `---` line. A JSON first document
            // followed by others would make ArgoCD read the whole stream as JSON.
            out.push_str("---\n");
        }
        out.push_str(&piece.text);
    }
    Ok(out)
}

struct Piece<'a> {
    /// Borrowed from the input for a document written back as it came.
    text: Cow<'a, str>,
    /// Whether `text` starts with its own `---` line.
    separated: bool,
    json: bool,
}

fn piece<'a>(inputs: &'a [Input], doc: &Document, changed: bool) -> Result<Piece<'a>> {
    let text = &inputs[doc.input].text;
    let raw = &text[doc.chunk.text.clone()];
    let separated = !doc.chunk.separator.is_empty();
    let value = match &doc.value {
        Some(v) if changed => v,
        Some(v) if doc.chunk.json => return json_piece(raw, v),
        _ => return Ok(Piece { text: Cow::Borrowed(raw), separated, json: false }),
    };
    if let Some(why) = &doc.frozen {
        return Err(Error::Document {
            place: doc.place(inputs).into(),
            message: format!("cannot re-emit this document without changing its meaning ({why})"),
        });
    }
    let body = yaml::emit(value).map_err(|message| Error::Document { place: doc.place(inputs).into(), message })?;
    let separator_line = &text[doc.chunk.separator.clone()];
    let bare = separator_line.trim_start_matches("---").trim();
    let separator = match separator_line {
        "" => String::new(),
        s if bare.is_empty() || bare.starts_with('#') => s.to_string(),
        _ => "---\n".into(),
    };
    let header = &text[doc.chunk.header.clone()];
    let crlf = raw.contains("\r\n");
    let body = if crlf { body.replace('\n', "\r\n") } else { body };
    Ok(Piece { text: format!("{separator}{header}{body}").into(), separated, json: false })
}

/// An untouched JSON document goes out as it came if a YAML reader sees the same object in it
/// (JSON is nearly always valid YAML); otherwise it is re-emitted as YAML.
fn json_piece<'a>(raw: &'a str, value: &Value) -> Result<Piece<'a>> {
    let reads_same = yaml::load(raw).is_ok_and(|l| l.value.as_ref().is_some_and(|v| same_meaning(v, value)));
    let text = if reads_same {
        Cow::Borrowed(raw)
    } else {
        yaml::emit(value).map_err(|message| Error::Document { place: Box::default(), message })?.into()
    };
    Ok(Piece { text, separated: false, json: true })
}
