//! `temper check`: evaluate an environment's rules on manifests as they are.

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use temper::Settings;
use temper::pointer::Pointer;
use temper::report::Report;
use temper::rules::{RuleId, Severity};

use super::{ConfigArgs, EXIT_OK, EXIT_VIOLATION, InputArgs, ProcessArgs, write_stdout};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    args.process.apply()?;
    let policy = args.config.policy()?;
    let inputs = args.input.read()?;
    let settings = Settings { release_namespace: args.input.namespace.clone(), fix: false, ..Settings::default() };
    let outcome = temper::run(&inputs, &policy, &settings)?;
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    let report = &outcome.report;
    let text = match args.format {
        Format::Text => report.summary(),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
        Format::Sarif => serde_json::to_string_pretty(&sarif(report, &inputs, &outcome.documents))? + "\n",
    };
    write_stdout(text.as_bytes())?;
    super::log(&report.summary());
    Ok(if report.fails() { EXIT_VIOLATION } else { EXIT_OK })
}

/// SARIF 2.1.0, as GitHub code scanning accepts it: one rule per temper rule, one result
/// per violation with the file and line it points at.
fn sarif(report: &Report, inputs: &[temper::Input], docs: &[temper::read::Document]) -> Value {
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
                    let offset = temper::yaml::locate(body, &within).unwrap_or(1);
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
