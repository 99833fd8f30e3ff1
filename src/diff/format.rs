//! Writing a [`Diff`]: unified (git-style), markdown (for pull-request comments), json,
//! json-patch (RFC 6902 per resource, after keyed list matching) and brief.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::flows::Verdict;
use crate::record::Json;

use super::{ChangeType, Diff, FieldChange, Op, ResourceDiff, SCHEMA, Shown};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Unified,
    Markdown,
    Json,
    JsonPatch,
    Brief,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Unified, Format::Markdown, Format::Json, Format::JsonPatch, Format::Brief];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Unified => "unified",
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::JsonPatch => "json-patch",
            Format::Brief => "brief",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| format!("unknown diff format `{s}`"))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to write it.
#[derive(Debug, Clone)]
pub struct Style {
    /// ANSI colours (unified only). A diff that kept its resources as text (`Sides::Text`)
    /// coloured them when it made them, as its `Options::color` said: give both the same.
    pub color: bool,
    /// Markdown size budget in characters; past it, resources are left out and listed.
    pub budget: usize,
    /// The command to suggest for the full diff when the markdown is truncated.
    pub full_command: String,
}

impl Default for Style {
    fn default() -> Style {
        Style { color: false, budget: 60_000, full_command: "the same command with --format unified".into() }
    }
}

pub fn render(diff: &Diff, format: Format, style: &Style) -> String {
    match format {
        Format::Unified => {
            let mut out = Vec::new();
            // Writing into memory cannot fail, and the unified format is text.
            let _ = unified(diff, style, &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
        Format::Markdown => markdown(diff, style),
        Format::Json => serde_json::to_string_pretty(diff).unwrap_or_default() + "\n",
        Format::JsonPatch => serde_json::to_string_pretty(&json_patch(diff)).unwrap_or_default() + "\n",
        Format::Brief => brief(diff),
    }
}

fn shown(r: &ResourceDiff) -> bool {
    r.change_type != ChangeType::Changed || !r.changes.is_empty()
}

fn describe(r: &ResourceDiff) -> String {
    let n = r.changes.len();
    let suppressed = if r.suppressed > 0 { format!(", {} suppressed", r.suppressed) } else { String::new() };
    match r.change_type {
        ChangeType::Added => match &r.rule {
            Some(rule) => format!("added by {rule}"),
            None => "added".into(),
        },
        ChangeType::Removed => "removed".into(),
        ChangeType::Renamed => format!(
            "renamed from {}, {n} change{}{suppressed}",
            r.renamed_from.as_ref().map(|k| k.to_string()).unwrap_or_default(),
            if n == 1 { "" } else { "s" }
        ),
        ChangeType::Changed => format!("{n} change{}{suppressed}", if n == 1 { "" } else { "s" }),
    }
}

fn brief(diff: &Diff) -> String {
    let mut out = String::new();
    for r in diff.resources.iter().filter(|r| shown(r)) {
        let verb = match r.change_type {
            ChangeType::Added => "added",
            ChangeType::Removed => "removed",
            ChangeType::Renamed => "renamed",
            ChangeType::Changed => "changed",
        };
        let _ = writeln!(out, "{verb:<8} {}: {}", r.id, describe(r));
    }
    for b in &diff.blockers {
        let _ = writeln!(out, "blocker  {}: {} {} ({})", b.resource, b.path, b.message(), b.rule);
    }
    if !diff.flows.is_empty() {
        let changed = diff.flows.iter().filter(|f| f.changed()).count();
        let denied = diff.flows.iter().filter(|f| f.after.as_ref().is_some_and(|v| !v.allowed())).count();
        let _ = writeln!(
            out,
            "flows    {} needed, {changed} treated differently, {denied} denied on {}",
            diff.flows.len(),
            diff.to.label
        );
    }
    let _ = writeln!(out, "{}", counts_line(diff));
    out
}

/// A side's verdict on a flow, for people.
fn verdict(v: &Option<Verdict>) -> String {
    v.as_ref().map_or_else(|| "not inferred".into(), Verdict::describe)
}

/// One line per flow: who may talk to whom, before and after.
fn flow_lines(diff: &Diff) -> Vec<String> {
    diff.flows
        .iter()
        .map(|f| {
            let (before, after) = (verdict(&f.before), verdict(&f.after));
            let status = if f.changed() { format!("{before} → {after}") } else { before };
            format!("{} → {} ({}): {status}; {}", f.from, f.to, f.ports, f.reason)
        })
        .collect()
}

fn counts_line(diff: &Diff) -> String {
    let c = &diff.counts;
    format!(
        "{} → {}: {} added, {} removed, {} changed, {} renamed, {} unchanged; suppressed: {}; secret values changed: {}{}",
        diff.from.label,
        diff.to.label,
        c.added,
        c.removed,
        c.changed,
        c.renamed,
        c.unchanged,
        c.suppressed,
        c.secrets_changed,
        if diff.blockers.is_empty() { String::new() } else { format!("; {} blocker(s)", diff.blockers.len()) }
    )
}

/// The line-level diff of one resource (of the sides labelled `from` and `to`) as YAML text,
/// with one comment line per field change naming its rule.
pub(super) fn resource_text(from: &str, to: &str, r: &ResourceDiff, color: bool) -> String {
    let mut out = String::new();
    write_resource(&mut out, from, to, r, color);
    out
}

/// [`resource_text`], written at the end of `out`.
fn write_resource(out: &mut String, from: &str, to: &str, r: &ResourceDiff, color: bool) {
    let paint = |code: &str, line: &str| if color { format!("\x1b[{code}m{line}\x1b[0m") } else { line.to_string() };
    let old_id = r.renamed_from.as_deref().unwrap_or(&r.id);
    out.push_str(&paint("1", &format!("diff --temper a/{from}/{old_id} b/{to}/{}", r.id)));
    out.push('\n');
    let a = if r.before.is_some() { format!("a/{from}/{old_id}") } else { "/dev/null".into() };
    let b = if r.after.is_some() { format!("b/{to}/{}", r.id) } else { "/dev/null".into() };
    out.push_str(&paint("1", &format!("--- {a}\n+++ {b}")));
    out.push('\n');
    // A whole resource added or removed is shown by its text; its one change says nothing more.
    for c in r.changes.iter().filter(|c| !c.pointer.is_root()) {
        out.push_str(&paint("33", &format!("# {}", change_line(c))));
        out.push('\n');
    }
    if let (ChangeType::Added, Some(rule)) = (r.change_type, &r.rule) {
        out.push_str(&paint("33", &format!("# generated by {rule}")));
        out.push('\n');
    }
    // A diff that kept the values (json-patch's) is diffed line by line here.
    let hunks = match &r.lines {
        // Only a corrupted record fails to unpack; the diff says so where the hunks would be.
        Some(lines) => lines.text().unwrap_or_else(|e| Cow::Owned(format!("# {e}\n"))),
        None => {
            let (before, after) = (r.before.as_ref().and_then(Shown::value), r.after.as_ref().and_then(Shown::value));
            Cow::Owned(super::line_hunks(before, after))
        }
    };
    for line in hunks.lines() {
        let code = match line.as_bytes().first() {
            Some(b'@') => "36",
            Some(b'-') => "31",
            Some(b'+') => "32",
            _ => "",
        };
        out.push_str(&if code.is_empty() { line.to_string() } else { paint(code, line) });
        out.push('\n');
    }
}

fn change_line(c: &FieldChange) -> String {
    let op = match c.op {
        Op::Add => "add",
        Op::Remove => "remove",
        Op::Replace => "replace",
        Op::Reorder => "reorder",
    };
    let value = |v: &Option<Json>| v.as_ref().and_then(|j| j.value().ok()).map(|v| short(&v)).unwrap_or_default();
    let what = match c.op {
        Op::Replace | Op::Reorder => format!(": {} → {}", value(&c.before), value(&c.after)),
        Op::Add => format!(": {}", value(&c.after)),
        Op::Remove => format!(" (was {})", value(&c.before)),
    };
    let rule = c.rule.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default();
    format!("{op} {}{what}{rule}", c.pointer)
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 { format!("{}…", text.chars().take(57).collect::<String>()) } else { text }
}

/// Writes `diff` as `format` to `out` as the text is made. The unified format of a large
/// stream is several times its input, and is never held whole this way; the others are made
/// whole first (markdown is held to its budget, and the JSON formats are written only once they
/// are complete), so that nothing but the write can fail once writing starts.
pub fn render_to(diff: &Diff, format: Format, style: &Style, out: &mut dyn io::Write) -> io::Result<()> {
    match format {
        Format::Unified => unified(diff, style, &mut io::BufWriter::with_capacity(1 << 16, out)),
        other => out.write_all(render(diff, other, style).as_bytes()),
    }
}

fn unified(diff: &Diff, style: &Style, out: &mut impl io::Write) -> io::Result<()> {
    // Each resource's lines were diffed when the diff was computed (in parallel); each is
    // written out here as it is made, with the text of one resource held at a time.
    let mut text = String::new();
    for r in diff.resources.iter().filter(|r| shown(r)) {
        text.clear();
        write_resource(&mut text, &diff.from.label, &diff.to.label, r, style.color);
        out.write_all(text.as_bytes())?;
    }
    // A diff that kept the texts (Sides::Text) made them as above, coloured as its options said.
    for kept in &diff.texts {
        // Only a corrupted record fails to unpack; the diff says so where the resource would be.
        let text = kept.text().unwrap_or_else(|e| Cow::Owned(format!("# {e}\n")));
        out.write_all(text.as_bytes())?;
    }
    let mut tail = String::new();
    if !diff.blockers.is_empty() {
        let _ = writeln!(tail, "# {} would fail:", diff.to.label);
        for b in &diff.blockers {
            let _ = writeln!(tail, "#   {} {}: {} ({})", b.resource, b.path, b.message(), b.rule);
        }
    }
    if !diff.flows.is_empty() {
        let _ = writeln!(tail, "# flows: who may talk to whom ({} → {})", diff.from.label, diff.to.label);
        for line in flow_lines(diff) {
            let _ = writeln!(tail, "#   {line}");
        }
    }
    let _ = writeln!(tail, "# {}", counts_line(diff));
    out.write_all(tail.as_bytes())?;
    out.flush()
}

fn markdown(diff: &Diff, style: &Style) -> String {
    let c = &diff.counts;
    let hash = |h: &Option<String>| h.as_deref().map(|h| format!("`{h}`")).unwrap_or_else(|| "—".into());
    let mut head = format!("## temper: `{}` → `{}`\n\n", diff.from.label, diff.to.label);
    let _ = writeln!(head, "| | `{}` | `{}` |\n|---|---|---|", diff.from.label, diff.to.label);
    let _ = writeln!(
        head,
        "| compliance hash | {} | {} |\n",
        hash(&diff.from.compliance_hash),
        hash(&diff.to.compliance_hash)
    );
    let _ = writeln!(head, "| added | removed | changed | renamed | unchanged | suppressed | secret values changed |");
    let _ = writeln!(head, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        head,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        c.added, c.removed, c.changed, c.renamed, c.unchanged, c.suppressed, c.secrets_changed
    );
    if !diff.blockers.is_empty() {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> **`{}` would fail**: {} violation(s) of enforced rules.",
            diff.to.label,
            diff.blockers.len()
        );
        for b in &diff.blockers {
            let _ =
                writeln!(head, "> - `{}` `{}`: {} (`{}`)", b.resource, b.path, b.message().replace('|', "\\|"), b.rule);
        }
        head.push('\n');
    }
    if !diff.flows.is_empty() {
        let denied = diff.flows.iter().filter(|f| f.after.as_ref().is_some_and(|v| !v.allowed())).count();
        let changed = diff.flows.iter().filter(|f| f.changed()).count();
        let _ = writeln!(
            head,
            "<details><summary>Flows: {} connections the release needs, {changed} treated differently, {denied} denied on <code>{}</code></summary>\n\n| from | to | ports | `{}` | `{}` | why |\n|---|---|---|---|---|---|",
            diff.flows.len(),
            diff.to.label,
            diff.from.label,
            diff.to.label
        );
        let cell = |t: &str| t.replace('|', "\\|");
        for f in &diff.flows {
            let _ = writeln!(
                head,
                "| `{}` | `{}` | {} | {} | {} | {} |",
                f.from,
                f.to,
                f.ports,
                cell(&verdict(&f.before)),
                cell(&verdict(&f.after)),
                cell(&f.reason)
            );
        }
        head.push_str("\n</details>\n\n");
    }
    // Sections are written in order until one does not fit; the resources after it are only
    // listed, so a diff of a whole stream writes no more than the budget.
    const FOOTER_ROOM: usize = 2_000;
    let mut out = head;
    let mut left_out = Vec::new();
    for r in diff.resources.iter().filter(|r| shown(r)) {
        if left_out.is_empty() {
            let body = resource_text(&diff.from.label, &diff.to.label, r, false).replace("```", "ʼʼʼ");
            let section = format!(
                "<details><summary><code>{}</code>: {}</summary>\n\n```diff\n{body}```\n\n</details>\n\n",
                r.id,
                describe(r)
            );
            if out.len() + section.len() + FOOTER_ROOM <= style.budget {
                out.push_str(&section);
                continue;
            }
        }
        left_out.push(r.id.to_string());
    }
    if !left_out.is_empty() {
        let listed: Vec<String> = left_out.iter().take(20).map(|id| format!("`{id}`")).collect();
        let more = if left_out.len() > 20 { format!(" and {} more", left_out.len() - 20) } else { String::new() };
        let _ = writeln!(
            out,
            "---\n**Truncated**: {} resource(s) not shown to stay within {} characters: {}{more}. Run {} for the full diff.",
            left_out.len(),
            style.budget,
            listed.join(", "),
            style.full_command
        );
    }
    out
}

/// RFC 6902 patches per resource. Changes are already in an order that applies: within a
/// list, removals (highest index first) come before additions (lowest first). A reordered
/// list becomes one `replace` of the whole list.
fn json_patch(diff: &Diff) -> Value {
    let resources: Vec<Value> = diff
        .resources
        .iter()
        .filter(|r| shown(r))
        .map(|r| {
            let patch = match r.change_type {
                ChangeType::Removed => Value::Null,
                ChangeType::Added => {
                    json!([{"op": "add", "path": "", "value": r.after.as_ref().and_then(Shown::value)}])
                }
                ChangeType::Changed | ChangeType::Renamed => {
                    let reordered: Vec<&FieldChange> = r.changes.iter().filter(|c| c.op == Op::Reorder).collect();
                    let ops: Vec<Value> = r
                        .changes
                        .iter()
                        .filter(|c| !reordered.iter().any(|o| c.op != Op::Reorder && c.pointer.starts_with(&o.pointer)))
                        .map(|c| match c.op {
                            Op::Add => json!({"op": "add", "path": c.pointer, "value": c.after}),
                            Op::Remove => json!({"op": "remove", "path": c.pointer}),
                            Op::Replace => json!({"op": "replace", "path": c.pointer, "value": c.after}),
                            Op::Reorder => {
                                let list = r
                                    .after
                                    .as_ref()
                                    .and_then(Shown::value)
                                    .and_then(|a| a.pointer(c.pointer.as_str()))
                                    .cloned();
                                json!({"op": "replace", "path": c.pointer, "value": list})
                            }
                        })
                        .collect();
                    Value::from(ops)
                }
            };
            let mut entry = json!({"id": r.id, "changeType": r.change_type, "patch": patch});
            if r.changes.iter().any(|c| c.redacted) {
                entry["redacted"] = json!(true);
            }
            entry
        })
        .collect();
    json!({"schemaVersion": SCHEMA, "format": "json-patch", "from": diff.from.label, "to": diff.to.label, "resources": resources})
}
