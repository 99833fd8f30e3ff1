//! Splits a text stream into documents without parsing it.
//!
//! A YAML stream splits at lines that start with `---` (followed by nothing, a space or a tab)
//! and after lines that start with `...`; a document marker at column 0 can never appear
//! inside content, so the split is exact. A JSON stream (first non-blank character `{` or
//! `[`, as kubectl and ArgoCD decide) splits into its top-level values.
//!
//! **Invariant:** concatenating the `text` of every chunk of a YAML stream gives back the input.

use std::ops::Range;

/// The longest input temper reads, in bytes: every place in an input fits in 32 bits.
pub const MAX_INPUT: usize = u32::MAX as usize;

/// One document's place in its input text: where it starts, and where its separator line and
/// its header end. A stream of small documents keeps a chunk per document until it is written:
/// as three ranges and a line it took 64 bytes, and as places in 32 bits from one start, 24.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    start: u32,
    /// Where the text, the separator line and the header end, as lengths from `start`.
    len: u32,
    separator_len: u32,
    header_len: u32,
    /// 1-based line where the text starts.
    line: u32,
    /// Whether this is a value of a JSON stream.
    json: bool,
}

impl Chunk {
    /// The chunk of `text` (the separator line, then the header, then the body), whose input
    /// is at most [`MAX_INPUT`] bytes long.
    fn new(text: Range<usize>, separator_end: usize, header_end: usize, line: usize, json: bool) -> Chunk {
        debug_assert!(text.start <= separator_end && separator_end <= header_end && header_end <= text.end);
        let place = |at: usize| u32::try_from(at).unwrap_or(u32::MAX);
        let start = place(text.start);
        let length = |end: usize| place(end).saturating_sub(start);
        Chunk {
            start,
            len: length(text.end),
            separator_len: length(separator_end),
            header_len: length(header_end),
            line: place(line),
            json,
        }
    }

    fn at(&self, length: u32) -> usize {
        self.start as usize + length as usize
    }

    /// The bytes written back when the document is untouched, separator line included.
    pub fn text(&self) -> Range<usize> {
        self.start as usize..self.at(self.len)
    }

    /// The separator line (`---` …), empty when the document has none.
    pub fn separator(&self) -> Range<usize> {
        self.start as usize..self.at(self.separator_len)
    }

    /// Blank and comment lines after the separator, kept when the body is re-emitted.
    pub fn header(&self) -> Range<usize> {
        self.at(self.separator_len)..self.at(self.header_len)
    }

    /// The body: the text after the header.
    pub fn body(&self) -> Range<usize> {
        self.at(self.header_len)..self.at(self.len)
    }

    /// 1-based line where the text starts.
    pub fn line(&self) -> usize {
        self.line as usize
    }

    /// Whether this is a value of a JSON stream.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Whether the chunk holds anything besides markers, blank lines and comments.
    pub fn has_content(&self, text: &str) -> bool {
        let after_marker = text[self.separator()].trim_start_matches("---").trim();
        self.json || self.header_len < self.len || !(after_marker.is_empty() || after_marker.starts_with('#'))
    }
}

/// Splits `text`; see the module docs for the rules.
pub fn split(text: &str) -> Vec<Chunk> {
    match text.trim_start().as_bytes().first() {
        Some(b'{' | b'[') => split_json(text),
        _ => split_yaml(text),
    }
}

fn split_yaml(text: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut separator = 0..0;
    let mut pos = 0;
    let mut line = 1;
    let finish = |chunks: &mut Vec<Chunk>, start: usize, end: usize, line: usize, separator: Range<usize>| {
        if end > start {
            // A chunk's separator line starts it, and its header follows that line.
            debug_assert_eq!(separator.start, start);
            let header = header_of(text, separator.end, end);
            chunks.push(Chunk::new(start..end, separator.end, header.end, line, false));
        }
    };
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let content = text[pos..end].trim_end_matches(['\n', '\r']);
        if is_marker(content, "---") {
            finish(&mut chunks, start, pos, start_line, separator.clone());
            start = pos;
            start_line = line;
            separator = pos..end;
        } else if is_marker(content, "...") {
            finish(&mut chunks, start, end, start_line, separator.clone());
            start = end;
            start_line = line + 1;
            separator = end..end;
        }
        pos = end;
        line += 1;
    }
    finish(&mut chunks, start, text.len(), start_line, separator);
    chunks
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// The blank and comment lines that open a document's body.
fn header_of(text: &str, from: usize, to: usize) -> Range<usize> {
    let mut pos = from;
    while pos < to {
        let end = text[pos..to].find('\n').map_or(to, |i| pos + i + 1);
        let line = text[pos..end].trim();
        if !(line.is_empty() || line.starts_with('#') || is_marker(line, "...")) {
            break;
        }
        pos = end;
    }
    from..pos
}

fn split_json(text: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    let mut prev_end = 0;
    loop {
        let value_start = prev_end + (text[prev_end..].len() - text[prev_end..].trim_start().len());
        if value_start >= text.len() {
            break;
        }
        let end = match stream.next() {
            Some(Ok(_)) => stream.byte_offset(),
            // A broken value: hand the rest to the reader, which reports the JSON error.
            _ => text.len(),
        };
        let line = 1 + text[..value_start].matches('\n').count();
        chunks.push(Chunk::new(value_start..end, value_start, value_start, line, true));
        if end >= text.len() {
            break;
        }
        prev_end = end;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<&str> {
        split(input).into_iter().map(|c| &input[c.text()]).collect()
    }

    #[test]
    fn helm_3_stream() {
        let input = "---\n# Source: c/templates/a.yaml\na: 1\n---\n# Source: c/templates/b.yaml\nb: 2\n";
        let chunks = split(input);
        assert_eq!(
            texts(input),
            ["---\n# Source: c/templates/a.yaml\na: 1\n", "---\n# Source: c/templates/b.yaml\nb: 2\n"]
        );
        assert_eq!(&input[chunks[1].header()], "# Source: c/templates/b.yaml\n");
        assert_eq!(chunks[1].line(), 4);
        assert_eq!(texts(input).concat(), input);
    }

    #[test]
    fn markers_need_a_boundary() {
        let input = "a: |\n  text\n----\nb: --- x\n--- \nc: 1\n...\nd: 2\n";
        assert_eq!(texts(input), ["a: |\n  text\n----\nb: --- x\n", "--- \nc: 1\n...\n", "d: 2\n"]);
    }

    #[test]
    fn crlf_and_empty_documents() {
        let input = "---\r\n---\r\na: 1\r\n---\r\n";
        assert_eq!(texts(input), ["---\r\n", "---\r\na: 1\r\n", "---\r\n"]);
    }

    #[test]
    fn json_streams() {
        let input = "{\"a\": 1}\n  {\"b\": [2]}\n";
        assert_eq!(texts(input), ["{\"a\": 1}", "{\"b\": [2]}"]);
    }
}
