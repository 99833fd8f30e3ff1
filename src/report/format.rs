//! Writing a [`Report`]: the text summary, JSON (`temper.dev/report/v1`) and SARIF 2.1.0 (for
//! GitHub code scanning). Adding a report format is a variant here and its tests.

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::pointer::Pointer;
use crate::read::{Document, Input};
use crate::record::{RuleId, Severity};
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

/// The report in `format`. SARIF locates each violation in `inputs`, through the documents
/// of the run that made the report.
pub fn render(report: &Report, format: Format, inputs: &[Input], docs: &[Document]) -> String {
    match format {
        Format::Text => report.summary(),
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Sarif => serde_json::to_string_pretty(&sarif(report, inputs, docs)).unwrap_or_default() + "\n",
    }
}

/// SARIF 2.1.0, as GitHub code scanning accepts it: one rule per temper rule, one result
/// per violation with the file and line it points at.
fn sarif(report: &Report, inputs: &[Input], docs: &[Document]) -> Value {
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
    let results: Vec<Value> = report
        .violations
        .iter()
        .map(|v| {
            let doc = docs.iter().find(|d| d.number == v.resource.document);
            let (uri, line) = match doc {
                Some(d) => {
                    let within = match v.resource.item {
                        Some(i) => Pointer::root().key("items").index(i).join(&v.path),
                        None => v.path.clone(),
                    };
                    let body = d.text(inputs);
                    let offset = yaml::locate(body, &within).unwrap_or(1);
                    (uri_of(&inputs[d.input].origin), d.chunk.line + offset - 1)
                }
                // Findings about a namespace rather than a document point at the start of the input.
                None => (inputs.first().map_or_else(|| "stdin".to_string(), |i| uri_of(&i.origin)), 1),
            };
            let level = match (v.severity, &v.exempted) {
                (_, Some(_)) => "note",
                (Severity::Error, None) => "error",
                (Severity::Warning, None) => "warning",
            };
            let fingerprint = Sha256::digest(format!("{}|{}|{}", v.rule, v.resource, v.path).as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            let mut result = json!({
                "ruleId": v.rule.as_str(),
                "ruleIndex": RuleId::ALL.iter().position(|r| *r == v.rule).unwrap_or(0),
                "level": level,
                "message": {"text": format!("{}: {} ({})", v.resource, v.message, v.path)},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}},
                    "logicalLocations": [{"fullyQualifiedName": format!("{}{}", v.resource, v.path), "kind": "resource"}],
                }],
                "partialFingerprints": {"temperViolation/v1": fingerprint},
            });
            if let Some(reason) = &v.exempted {
                result["suppressions"] = json!([{"kind": "external", "justification": reason}]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "temper",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": {"id": format!("temper/{}/", report.environment)},
            "results": results,
        }],
    })
}

/// A SARIF artifact URI for an input: a relative path as given, `stdin` for standard input.
fn uri_of(origin: &str) -> String {
    if origin == "<stdin>" {
        return "stdin".into();
    }
    origin.trim_start_matches("./").replace('\\', "/").replace(' ', "%20")
}
