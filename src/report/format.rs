//! Writing a [`Report`]: the text summary, JSON (`temper.dev/report/v1`) and SARIF 2.1.0 (for
//! GitHub code scanning). Adding a report format is a variant here and its tests.
//!
//! SARIF results point at a line: every violation of a document is located in one pass over
//! its text, and a document rendered from a chart template that is a plain file in the
//! repository (line for line the same, but for `{{ ... }}` substitutions) points into the
//! template instead of the rendered input.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::pointer::Pointer;
use crate::read::{Document, Input};
use crate::record::{RuleId, Severity, Violation};
use crate::yaml;

use super::Report;

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Text, Format::Json, Format::Sarif];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| format!("unknown report format `{s}`"))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where SARIF results may point besides the input: the directories chart templates are
/// looked up in (`# Source: chart/templates/x.yaml` is read as `ROOT/chart/templates/x.yaml`),
/// in order. An empty string is the working directory.
#[derive(Debug, Clone)]
pub struct Sources {
    pub roots: Vec<PathBuf>,
}

impl Default for Sources {
    /// The working directory.
    fn default() -> Sources {
        Sources { roots: vec![PathBuf::new()] }
    }
}

/// The report in `format`. SARIF locates each violation in `inputs`, through the documents
/// of the run that made the report, or in the chart template a document was rendered from
/// when it can be found in the working directory.
pub fn render<O: Sync>(
    report: &Report,
    format: Format,
    inputs: &[Input],
    docs: &[Document<O>],
) -> std::io::Result<String> {
    render_with(report, format, inputs, docs, &Sources::default())
}

/// [`render`], looking chart templates up in `sources`.
pub fn render_with<O: Sync>(
    report: &Report,
    format: Format,
    inputs: &[Input],
    docs: &[Document<O>],
    sources: &Sources,
) -> std::io::Result<String> {
    let mut text = Vec::new();
    write_with(report, format, inputs, docs, sources, &mut text)?;
    String::from_utf8(text).map_err(std::io::Error::other)
}

/// Writes [`render_with`]'s text to `out` as it is made. A JSON or SARIF report of a large
/// stream can be many times the stream (a result per violation), and is never held whole.
pub fn write_with<O: Sync>(
    report: &Report,
    format: Format,
    inputs: &[Input],
    docs: &[Document<O>],
    sources: &Sources,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Text => out.write_all(report.summary().as_bytes()),
        Format::Json => write_pretty(report, out),
        Format::Sarif => write_pretty(&sarif(report, inputs, docs, sources), out),
    }
}

/// `value` as indented JSON and a line end, written to `out` as it is made.
pub fn write_pretty(value: &impl Serialize, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Where each violation points: a file (a SARIF URI) and a 1-based line. Every document is
/// read once for all its violations, and each template file once.
///
/// Violations are found by their place in the report and their paths borrowed from it, not
/// copied: a stream of many small workloads has a hundred thousand violations, and a copy of
/// each path with it took more than the rest of the log's making.
fn locations<O: Sync>(report: &Report, inputs: &[Input], docs: &[Document<O>], sources: &Sources) -> Locations {
    let by_number: HashMap<usize, &Document<O>> = docs.iter().filter(|d| d.number > 0).map(|d| (d.number, d)).collect();
    // (document number, place in the report), by document and then in the report's order.
    // Findings about no document of the stream (a namespace's) are dropped with their run below.
    let mut wanted: Vec<(usize, usize)> =
        report.violations.iter().enumerate().map(|(i, v)| (v.resource.document(), i)).collect();
    wanted.sort_unstable();
    // Each input's URI is made once and shared by its violations: a document can have
    // thousands, and a copy of the URI each took more than the rest of its location.
    let mut uris: Vec<Arc<str>> = inputs.iter().map(|i| Arc::from(uri_of(&i.origin))).collect();
    if uris.is_empty() {
        uris.push(Arc::from("stdin"));
    }
    // Findings about a namespace rather than a document point at the start of the input.
    let mut out = Locations::new(uris, report.violations.len());
    let mut templates = Templates::default();
    // Each document with the places of its violations.
    let found: Vec<Found<O>> =
        wanted.chunk_by(|a, b| a.0 == b.0).filter_map(|run| Some((*by_number.get(&run[0].0)?, run))).collect();
    // Template files are read once each, in document order; documents are located in
    // parallel, a batch at a time, so that only a batch's lines wait to be placed.
    let mapped: Vec<Option<(usize, Mapped)>> = found
        .iter()
        .map(|(doc, _)| {
            let (uri, mapped) = doc.template().and_then(|t| templates.map(t, doc, inputs, sources))?;
            Some((out.uri(uri), mapped))
        })
        .collect();
    const BATCH: usize = 1024;
    for (batch, mapped) in found.chunks(BATCH).zip(mapped.chunks(BATCH)) {
        let located: Vec<Vec<Option<usize>>> = batch
            .par_iter()
            .map(|(doc, run)| {
                let pointers: Vec<Cow<Pointer>> = run.iter().map(|&(_, i)| within(&report.violations[i])).collect();
                yaml::locate_all(doc.text(inputs), &pointers)
            })
            .collect();
        for (((doc, run), template), lines) in batch.iter().zip(mapped).zip(located) {
            for (&(_, i), offset) in run.iter().zip(lines) {
                // The line within the document's text, separator included.
                let offset = offset.unwrap_or(1);
                match template {
                    Some((uri, mapped)) => out.set(i, *uri, mapped.line(offset)),
                    None => out.set(i, doc.input, doc.chunk.line() + offset - 1),
                }
            }
        }
    }
    out
}

/// Each violation's artifact URI and line, in the report's order: the URIs in a table, and
/// for each violation its URI's place in the table and its line, in 8 bytes. A stream of many
/// small workloads has a hundred thousand violations; an `(Arc<str>, usize)` each took 24
/// bytes, and 1.4 MB at the peak of SARIF on the 2,000 `selectors`.
struct Locations {
    uris: Vec<Arc<str>>,
    at: Vec<(u32, u32)>,
    /// Places or lines too large for 32 bits (an input of more than four billion lines), by
    /// violation; their entry in `at` is not read.
    far: HashMap<usize, (usize, usize)>,
}

impl Locations {
    /// `count` violations, each at line 1 of the first URI until it is set.
    fn new(uris: Vec<Arc<str>>, count: usize) -> Locations {
        Locations { uris, at: vec![(0, 1); count], far: HashMap::new() }
    }

    /// The place of `uri` in the table, added to it.
    fn uri(&mut self, uri: Arc<str>) -> usize {
        self.uris.push(uri);
        self.uris.len() - 1
    }

    fn set(&mut self, violation: usize, uri: usize, line: usize) {
        match (u32::try_from(uri), u32::try_from(line)) {
            (Ok(uri), Ok(line)) => self.at[violation] = (uri, line),
            _ => {
                self.far.insert(violation, (uri, line));
            }
        }
    }

    /// The URI and line of the `violation`th violation.
    fn get(&self, violation: usize) -> (&str, usize) {
        let (uri, line) = match self.far.get(&violation) {
            Some(&far) => far,
            None => (self.at[violation].0 as usize, self.at[violation].1 as usize),
        };
        (&self.uris[uri], line)
    }
}

/// A document, with its violations' places in the report (see [`locations`]).
type Found<'a, O> = (&'a Document<O>, &'a [(usize, usize)]);

/// The path of `v` within its document's text: an item of a List is under `/items/N`.
fn within(v: &Violation) -> Cow<'_, Pointer> {
    match v.resource.item() {
        Some(item) => Cow::Owned(Pointer::root().key("items").index(item).join(&v.path)),
        None => Cow::Borrowed(&v.path),
    }
}

/// A document lined up with its chart template: body line `k` (1-based, the first line after
/// the document's separator and leading comments) is template line `start + k - 1`.
struct Mapped {
    start: usize,
    /// Lines of the document's text before its body: the separator and leading comments.
    header: usize,
}

impl Mapped {
    /// The template line of line `offset` of the document's text.
    fn line(&self, offset: usize) -> usize {
        self.start + offset.saturating_sub(self.header + 1)
    }
}

/// Chart template files, each read once.
#[derive(Default)]
struct Templates {
    files: HashMap<PathBuf, Option<String>>,
}

/// Template files larger than this are not read.
const MAX_TEMPLATE_BYTES: u64 = 8 << 20;

impl Templates {
    /// Lines `doc` up with its template `name`, when the template is a file under one of the
    /// source roots and one of its documents has the rendered body's lines, each the same
    /// text, or the same text around a `{{ ... }}` substitution (see [`same_line`]). A
    /// template whose documents would match more than once, or whose control lines
    /// (`{{- if }}`, `{{ include }}` alone on a line) render to other lines, is not lined up.
    /// Gives the template's URI with the lines.
    fn map<O>(
        &mut self,
        name: &str,
        doc: &Document<O>,
        inputs: &[Input],
        sources: &Sources,
    ) -> Option<(Arc<str>, Mapped)> {
        let relative = Path::new(name);
        let plain = relative.components().all(|c| matches!(c, Component::Normal(_)));
        if name.is_empty() || !plain {
            return None;
        }
        let text = &inputs[doc.input].text;
        let header = text[doc.chunk.text().start..doc.chunk.header().end].lines().count();
        let body: Vec<&str> = trim_blank_end(text[doc.chunk.body()].lines().collect());
        if body.is_empty() {
            return None;
        }
        for root in &sources.roots {
            let path = root.join(relative);
            let file = self.files.entry(path.clone()).or_insert_with(|| read_template(&path));
            let Some(file) = file else { continue };
            let mut starts = regions(file).filter(|(_, lines)| {
                lines.len() == body.len() && lines.iter().zip(&body).all(|(t, r)| same_line(t, r))
            });
            let (Some((start, _)), None) = (starts.next(), starts.next()) else { continue };
            return Some((Arc::from(uri_of(&path.display().to_string())), Mapped { start, header }));
        }
        None
    }
}

fn read_template(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_TEMPLATE_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// A template file's documents as the splitter cuts a stream: at `---` lines, each without
/// its leading blank and comment lines and its trailing blank lines, with the 1-based line of
/// its first line.
fn regions(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    let mut regions: Vec<(usize, Vec<&str>)> = vec![(1, Vec::new())];
    for (i, line) in text.lines().enumerate() {
        let marker = line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        match regions.last_mut() {
            Some(_) if marker => regions.push((i + 2, Vec::new())),
            Some((start, lines)) => {
                let skip = lines.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#'));
                if skip {
                    *start = i + 2;
                } else {
                    lines.push(line);
                }
            }
            None => {}
        }
    }
    regions.into_iter().map(|(start, lines)| (start, trim_blank_end(lines)))
}

fn trim_blank_end(mut lines: Vec<&str>) -> Vec<&str> {
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// Whether template line `template` renders as `rendered`: the same text (trailing spaces
/// aside), or text around `{{ ... }}` markup with the same literal start (which must hold more
/// than indentation, so a line that is only markup never matches) and the same literal end.
fn same_line(template: &str, rendered: &str) -> bool {
    let (template, rendered) = (template.trim_end(), rendered.trim_end());
    if template == rendered {
        return true;
    }
    let (Some(open), Some(close)) = (template.find("{{"), template.rfind("}}")) else { return false };
    let (head, tail) = (&template[..open], &template[close + 2..]);
    !head.trim().is_empty()
        && rendered.len() >= head.len() + tail.len()
        && rendered.starts_with(head)
        && rendered.ends_with(tail)
}

/// SARIF 2.1.0, as GitHub code scanning accepts it: one rule per temper rule, one result
/// per violation with the file and line it points at: the chart template's when the document
/// lines up with it (see [`Templates::map`]), else the input's.
fn sarif<'a, O: Sync>(report: &'a Report, inputs: &[Input], docs: &[Document<O>], sources: &Sources) -> Sarif<'a> {
    let rules: Vec<Value> = RuleId::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.as_str(),
                "name": r.as_str(),
                "shortDescription": {"text": r.summary()},
                "fullDescription": {"text": r.summary()},
                "help": {"text": r.doc(), "markdown": r.doc()},
                "defaultConfiguration": {"level": "warning"},
                "properties": {"tags": ["kubernetes", "security"]},
            })
        })
        .collect();
    let results = Results { report, locations: locations(report, inputs, docs, sources) };
    Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            tool: json!({"driver": {
                "name": "temper",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }}),
            automation_details: json!({"id": format!("temper/{}/", report.environment)}),
            results,
        }],
    }
}

// SARIF 2.1.0 records, their fields in the order the log writes them.

#[derive(Serialize)]
struct Sarif<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Value,
    automation_details: Value,
    results: Results<'a>,
}

/// The results of a log, made a batch at a time (in parallel) as the log is written: a result
/// per violation, straight from its record (without a JSON value per result), and never all of
/// them at once (a stream of many small workloads has a hundred thousand findings, and their
/// results are many times its input).
struct Results<'a> {
    report: &'a Report,
    locations: Locations,
}

impl Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A batch's results are held until written: 1,024 of them take about 0.7 MB, where
        // 4,096 took 2.8 MB at the peak of SARIF on a stream of many small workloads.
        const BATCH: usize = 1024;
        let batches = self.report.violations.chunks(BATCH).enumerate();
        serializer.collect_seq(batches.flat_map(|(batch, violations)| {
            let first = batch * BATCH;
            let result = |(i, v)| {
                let (uri, line) = self.locations.get(first + i);
                sarif_result(v, uri, line)
            };
            violations.par_iter().enumerate().map(result).collect::<Vec<_>>()
        }))
    }
}

fn sarif_result<'a>(v: &'a Violation, uri: &'a str, line: usize) -> SarifResult<'a> {
    let level = match (v.severity, v.exempted()) {
        (_, Some(_)) => "note",
        (Severity::Error, None) => "error",
        (Severity::Warning, None) => "warning",
    };
    let fingerprint =
        crate::compliance::hex(&Sha256::digest(format!("{}|{}|{}", v.rule, v.resource, v.path).as_bytes()));
    SarifResult {
        rule_id: v.rule.as_str(),
        rule_index: RuleId::ALL.iter().position(|r| *r == v.rule).unwrap_or(0),
        level,
        message: Text { text: format!("{}: {} ({})", v.resource, v.message(), v.path) },
        locations: [Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri },
                region: Region { start_line: line },
            },
            logical_locations: [LogicalLocation {
                fully_qualified_name: format!("{}{}", v.resource, v.path),
                kind: "resource",
            }],
        }],
        partial_fingerprints: Fingerprints { temper_violation: fingerprint },
        suppressions: v.exempted().map(|reason| [Suppression { kind: "external", justification: reason }]),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [Location<'a>; 1],
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[Suppression<'a>; 1]>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
    logical_locations: [LogicalLocation; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "temperViolation/v1")]
    temper_violation: String,
}

#[derive(Serialize)]
struct Suppression<'a> {
    kind: &'static str,
    justification: &'a str,
}

/// A SARIF artifact URI for an input: a relative path as given, `stdin` for standard input.
fn uri_of(origin: &str) -> String {
    if origin == "<stdin>" {
        return "stdin".into();
    }
    origin.trim_start_matches("./").replace('\\', "/").replace(' ', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_give_back_every_uri_and_line_set() {
        let uris: Vec<Arc<str>> = vec![Arc::from("a.yaml"), Arc::from("b.yaml")];
        let mut at = Locations::new(uris, 4);
        let template = at.uri(Arc::from("templates/web.yaml"));
        let far = usize::try_from(u64::from(u32::MAX) + 7).unwrap_or(usize::MAX);
        at.set(1, 1, 42);
        at.set(2, template, far);
        at.set(3, 0, 9);
        assert_eq!(at.get(0), ("a.yaml", 1), "a violation of no document points at the first input");
        assert_eq!(at.get(1), ("b.yaml", 42));
        assert_eq!(at.get(2), ("templates/web.yaml", far), "a line past 32 bits is kept whole");
        assert_eq!(at.get(3), ("a.yaml", 9));
    }
}
