//! Stage 7, write: the output stream.
//!
//! **Invariant:** a document no rule changed is written back byte for byte. A changed document
//! keeps its separator and leading comment lines (`# Source:`), then its body is re-emitted;
//! its line endings follow the original. Generated objects follow, each after a `---` line.
//! **Invariant:** the output is built whole in memory; nothing is written until the run
//! has succeeded. Where the caller asks, it is held in packed pieces ([`Written::packed`]),
//! unpacked one at a time as they are written (the next, if it is short, while one is written).

use std::borrow::Cow;
use std::collections::HashSet;

use rayon::prelude::*;
use serde_json::Value;

use crate::canon::same_meaning;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::read::{Document, Input, Sealed};
use crate::record::{Generated, Packed};
use crate::yaml;

/// Which of `docs` a recorded change touched (`numbers`, [`crate::record::Findings::changed_documents`]):
/// those are re-emitted, the others copied.
pub fn changed_documents<O>(docs: &[Document<O>], numbers: &HashSet<usize>) -> Vec<bool> {
    docs.iter().map(|d| d.number > 0 && numbers.contains(&d.number)).collect()
}

/// Assembles the output: `docs[i]` is re-emitted where `changed[i]` is set (see
/// [`changed_documents`]), copied otherwise, and the generated objects follow. `progress`
/// counts the documents written. Unless `keep`, the output is only checked ([`verify`]) and
/// the output returned is empty. With `pack`, the output is kept packed, a piece of about
/// [`PIECE`] bytes at a time.
pub fn write(
    inputs: &[Input],
    docs: &[Document<Sealed>],
    changed: &[bool],
    generated: &[Generated],
    progress: &Progress,
    keep: bool,
    pack: bool,
) -> Result<Written> {
    if !keep {
        return verify(inputs, docs, changed, generated, progress).map(|()| Written::default());
    }
    // Documents are emitted in parallel a batch at a time, and each batch is appended to the
    // output before the next is emitted: holding every emitted document until the end would
    // keep the output twice at the peak.
    let input_len: usize = inputs.iter().map(|i| i.text.len()).sum();
    let capacity = if pack { 0 } else { input_len };
    let mut out = Output::new(capacity, pack, docs.len() + generated.len());
    let mut start = 0;
    while start < docs.len() {
        let end = batch_end(inputs, docs, start);
        let (batch, batch_changed) = (&docs[start..end], &changed[start..end]);
        let pieces = out.alongside(|| {
            batch
                .par_iter()
                .zip(batch_changed.par_iter())
                .map(|(doc, &changed)| {
                    let piece = piece(inputs, doc, changed);
                    if doc.number > 0 {
                        progress.written_one();
                    }
                    piece
                })
                .collect::<Vec<Result<Piece>>>()
        });
        out.extend(pieces)?;
        start = end;
    }
    // Generated objects are emitted (and verified) in parallel too: a large stream gets
    // thousands of them, and emitting them in turn was the largest sequential step of a run.
    for batch in generated.chunks(BATCH) {
        let pieces = out.alongside(|| batch.par_iter().map(generated_piece).collect::<Vec<Result<Piece>>>());
        out.extend(pieces)?;
    }
    Ok(out.finish())
}

/// What writing the output would find wrong, found without writing it, for a run that keeps
/// no output (a review): every document a rule changed is re-emitted and read back, as is
/// every generated object; an untouched JSON document's value is emitted too, since it goes
/// out re-emitted if a YAML reader would see another object in it, and the error is that of
/// [`json_piece`] (without the text, a value that cannot be emitted fails the check even if its
/// text would have gone out as it came: a value read from JSON that no YAML reader reads the
/// same from YAML or JSON text). The first error in stream order is returned, generated
/// objects after the documents, as [`write`] meets them.
///
/// **Invariant:** reads no input text, only the inputs' names: `promote` drops the text once
/// the documents are read, and renders both environments without it.
fn verify(
    inputs: &[Input],
    docs: &[Document<Sealed>],
    changed: &[bool],
    generated: &[Generated],
    progress: &Progress,
) -> Result<()> {
    let check = |(doc, &changed): (&Document<Sealed>, &bool)| -> Result<()> {
        if doc.number > 0 {
            progress.written_one();
        }
        if goes_out_as_it_came(doc, changed) {
            return Ok(());
        }
        match doc.open()?.value() {
            Some(value) if changed => reemitted(inputs, doc, value).map(drop),
            Some(value) => json_reemitted(value).map(drop),
            None => Ok(()),
        }
    };
    crate::par::collect(docs.par_iter().zip(changed.par_iter()).map(check))?;
    crate::par::collect(generated.par_iter().map(|g| generated_piece(g).map(drop)))?;
    Ok(())
}

/// The output is packed a piece of this many bytes (or a little more) at a time.
pub use crate::record::PIECE;

/// The manifests written, in order: the packed pieces, then `text` (with `pack`, empty).
#[derive(Debug, Default)]
pub struct Written {
    pub packed: Vec<Packed>,
    pub text: String,
}

/// How many documents are emitted in parallel before they are appended to the output: enough
/// to keep every thread busy, few enough that a batch is small beside the whole output.
const BATCH: usize = 512;

/// Where the batch of documents that starts at `start` ends: after [`BATCH`] documents, or
/// once they hold a [`PIECE`] of input text. A batch is emitted while the piece of output before
/// it is packed ([`Output::alongside`]), so a batch about a piece long keeps both threads of a
/// small machine busy, and the output waiting to be packed is never much more than a piece.
fn batch_end(inputs: &[Input], docs: &[Document<Sealed>], start: usize) -> usize {
    let mut bytes = 0;
    for (i, doc) in docs.iter().enumerate().skip(start).take(BATCH) {
        bytes += doc.text(inputs).len();
        if bytes >= PIECE {
            return i + 1;
        }
    }
    docs.len().min(start + BATCH)
}

/// The output being assembled, piece by piece in stream order.
struct Output<'a> {
    /// The output, unless it is packed.
    text: String,
    /// Whether the output is packed a [`PIECE`] at a time, into `packed`.
    pack: bool,
    /// When packed: the parts of the piece being gathered (documents, many borrowed from the
    /// input, and the lines between them), and their length. They are joined into one text
    /// where the piece is packed, alongside the next batch, rather than copied here.
    parts: Vec<Cow<'a, str>>,
    parts_len: usize,
    packed: Vec<Packed>,
    /// A piece set aside to be packed next, while the next batch is emitted.
    pending: Option<Vec<Cow<'a, str>>>,
    /// Whether the piece set aside or packed last ended a line.
    packed_ends_line: bool,
    pieces: usize,
    /// How many pieces there are in all.
    total: usize,
}

impl<'a> Output<'a> {
    fn new(capacity: usize, pack: bool, total: usize) -> Output<'a> {
        Output {
            text: String::with_capacity(capacity),
            pack,
            parts: Vec::new(),
            parts_len: 0,
            packed: Vec::new(),
            pending: None,
            packed_ends_line: true,
            pieces: 0,
            total,
        }
    }

    /// Appends a batch's pieces in order, stopping at the first that could not be emitted.
    fn extend(&mut self, pieces: Vec<Result<Piece<'a>>>) -> Result<()> {
        for piece in pieces {
            self.push(piece?);
        }
        Ok(())
    }

    fn push(&mut self, piece: Piece<'a>) {
        let ends_line = match (self.pack, self.parts.last()) {
            (true, Some(last)) => last.ends_with('\n'),
            (false, _) if !self.text.is_empty() => self.text.ends_with('\n'),
            _ => self.packed_ends_line,
        };
        let line_end = if self.pieces > 0 && !ends_line { "\n" } else { "" };
        // Every document but a lone first one gets a `---` line, a JSON first document too
        // when others follow: it would make ArgoCD read the whole stream as JSON.
        let first_alone = self.pieces == 0 && (!piece.json || self.total == 1);
        let separator = if !piece.separated && !first_alone { "---\n" } else { "" };
        self.pieces += 1;
        if self.pack {
            for between in [line_end, separator].into_iter().filter(|s| !s.is_empty()) {
                self.parts_len += between.len();
                self.parts.push(Cow::Borrowed(between));
            }
            self.parts_len += piece.text.len();
            self.parts.push(piece.text);
            if self.parts_len >= PIECE {
                self.set_aside();
            }
            return;
        }
        // Room grows by a quarter at a time rather than doubling: the output is the largest
        // single value of a run, and a large block grows in place (the allocator remaps it).
        let more = piece.text.len() + 5;
        if self.text.capacity() - self.text.len() < more {
            self.text.reserve_exact(more.max(self.text.len() / 4));
        }
        self.text.push_str(line_end);
        self.text.push_str(separator);
        self.text.push_str(&piece.text);
    }

    /// Runs `work` (the emission of the next batch) while the piece set aside is packed: packing
    /// is the one part of the write that would otherwise run on one thread.
    fn alongside<T: Send>(&mut self, work: impl FnOnce() -> T + Send) -> T {
        let pending = self.pending.take();
        let (packed, done) = rayon::join(|| pending.map(pack), work);
        self.packed.extend(packed);
        done
    }

    /// Sets the parts gathered so far aside as the next piece to pack, packing the one set aside
    /// before it if there is one.
    fn set_aside(&mut self) {
        self.packed_ends_line = self.parts.last().is_none_or(|p| p.ends_with('\n'));
        self.parts_len = 0;
        let parts = std::mem::take(&mut self.parts);
        if let Some(older) = self.pending.replace(parts) {
            self.packed.push(pack(older));
        }
    }

    /// The output, its last pieces packed too if it is kept packed.
    fn finish(mut self) -> Written {
        if !self.parts.is_empty() {
            self.set_aside();
        }
        self.packed.extend(self.pending.take().map(pack));
        Written { packed: self.packed, text: self.text }
    }
}

/// `parts` joined into one text, packed.
fn pack(parts: Vec<Cow<'_, str>>) -> Packed {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(&part);
    }
    Packed::new(text)
}

/// The manifests `packed` then `text` hold ([`Written`]), as one text.
pub fn joined<'a>(packed: &[Packed], text: &'a str) -> Result<Cow<'a, str>> {
    if packed.is_empty() {
        return Ok(Cow::Borrowed(text));
    }
    let mut whole = String::new();
    for piece in packed {
        whole.push_str(&piece.text().map_err(unreadable)?);
    }
    whole.push_str(text);
    Ok(Cow::Owned(whole))
}

/// The error of a packed piece of the output that does not unpack.
fn unreadable(e: crate::record::Unreadable) -> Error {
    Error::Write { what: "the output".into(), cause: std::io::Error::new(std::io::ErrorKind::InvalidData, e) }
}

struct Piece<'a> {
    /// Borrowed from the input for a document written back as it came.
    text: Cow<'a, str>,
    /// Whether `text` starts with its own `---` line.
    separated: bool,
    json: bool,
}

fn generated_piece(g: &Generated) -> Result<Piece<'static>> {
    let body = yaml::emit(&g.object()?).map_err(|message| Error::Generated {
        object: g.id().to_string(),
        message: format!("cannot write it: {message}"),
    })?;
    let mut text = String::with_capacity(4 + body.len());
    text.extend(["---\n", &body]);
    Ok(Piece { text: text.into(), separated: true, json: false })
}

fn piece<'a>(inputs: &'a [Input], doc: &Document<Sealed>, changed: bool) -> Result<Piece<'a>> {
    let text = &inputs[doc.input].text;
    let raw = &text[doc.chunk.text()];
    let separated = !doc.chunk.separator().is_empty();
    let as_it_came = Piece { text: Cow::Borrowed(raw), separated, json: false };
    if goes_out_as_it_came(doc, changed) {
        return Ok(as_it_came);
    }
    // The value is dropped once it is emitted, before its body is copied into the piece: a
    // document's value takes several times its text, and held through the copy it set the
    // peak of a run over one long document.
    let body = {
        let opened = doc.open()?;
        match opened.value() {
            Some(value) if changed => reemitted(inputs, doc, value)?,
            Some(value) => return json_piece(raw, value),
            None => return Ok(as_it_came),
        }
    };
    let separator_line = &text[doc.chunk.separator()];
    let bare = separator_line.trim_start_matches("---").trim();
    let separator = match separator_line {
        "" => String::new(),
        s if bare.is_empty() || bare.starts_with('#') => s.to_string(),
        _ => "---\n".into(),
    };
    let header = &text[doc.chunk.header()];
    let crlf = raw.contains("\r\n");
    let body = if crlf { body.replace('\n', "\r\n") } else { body };
    // Made with room for exactly its text: a piece waits in the output until it is packed.
    let mut text = String::with_capacity(separator.len() + header.len() + body.len());
    text.extend([separator.as_str(), header, &body]);
    Ok(Piece { text: text.into(), separated, json: false })
}

/// Whether `doc` goes out as it came without its value being read: an untouched YAML document.
/// Many are kept as text between stages (`Document::compact`), and reading one back here was
/// work for nothing.
fn goes_out_as_it_came(doc: &Document<Sealed>, changed: bool) -> bool {
    !changed && !doc.chunk.json()
}

/// The body of a changed document, `value`, re-emitted: refused if the document holds what
/// cannot be re-emitted with the same meaning.
fn reemitted(inputs: &[Input], doc: &Document<Sealed>, value: &Value) -> Result<String> {
    if let Some(why) = doc.frozen() {
        return Err(Error::Document {
            place: doc.place(inputs).into(),
            message: format!("cannot re-emit this document without changing its meaning ({why})"),
        });
    }
    yaml::emit(value).map_err(|message| Error::Document { place: doc.place(inputs).into(), message })
}

/// An untouched JSON document goes out as it came if a YAML reader sees the same object in it
/// (JSON is nearly always valid YAML); otherwise it is re-emitted as YAML.
fn json_piece<'a>(raw: &'a str, value: &Value) -> Result<Piece<'a>> {
    let reads_same = yaml::load(raw).is_ok_and(|l| l.value.as_ref().is_some_and(|v| same_meaning(v, value)));
    let text = if reads_same { Cow::Borrowed(raw) } else { json_reemitted(value)?.into() };
    Ok(Piece { text, separated: false, json: true })
}

/// An untouched JSON document's `value`, re-emitted as YAML.
fn json_reemitted(value: &Value) -> Result<String> {
    yaml::emit(value).map_err(|message| Error::Document { place: Box::default(), message })
}
