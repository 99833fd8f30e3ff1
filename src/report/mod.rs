//! Stage 8, report: what the run did and found, counted once at the end of the run; as JSON
//! (`--report`) and as a short summary for stderr.

mod format;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use crate::compliance::Compliance;
use crate::flows::Review;
use crate::object::ResourceId;
use crate::pointer::Pointer;
use crate::read::{Document, Input, Sealed};
use crate::record::{
    Attribution, Change, ExemptionUse, Findings, Generated, Prerequisite, RuleId, Severity, Tool, Violation,
};

pub use format::{Format, Sources, render, render_with, write_pretty, write_with};

pub const SCHEMA_VERSION: &str = "temper.dev/report/v1";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: Tool,
    pub environment: String,
    /// `render` or `check`.
    pub command: &'static str,
    pub counts: Counts,
    pub documents: Vec<DocumentInfo>,
    /// The changes, when the run kept them as records (([`crate::record::Keeping::Records`])).
    pub changes: Vec<Change>,
    /// The changes, when the run kept only who made them ([`crate::record::Keeping::Attribution`]): for a
    /// review, whose diff reads no more of them.
    #[serde(skip)]
    pub attribution: Option<Attribution>,
    pub generated: Vec<GeneratedInfo>,
    /// Every violation, or for a review only those that fail it (`Settings::for_review`; the
    /// counts count them all).
    pub violations: Vec<Violation>,
    pub exemptions: Vec<ExemptionUse>,
    /// What is wrong with the input without being a rule's finding: mapping keys set twice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// The compliance statement and hash, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    /// The connections the release needs, with what the stream's NetworkPolicies allowed and
    /// what the output's allow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Review>,
    /// What the operator must provide for the output to work (the secret manager entries an
    /// ExternalSecret reads, ...): names only, never a value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub documents: usize,
    pub resources: usize,
    pub changed_documents: usize,
    pub changes: usize,
    pub generated: usize,
    pub violations: usize,
    /// Violations of enforced rules, not exempted: any makes the run fail.
    pub errors: usize,
    pub warnings: usize,
    pub exempted: usize,
}

/// Where a document came from, so findings can point at it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentInfo {
    pub number: usize,
    /// Shared by the documents of one input: a stream of small objects lists thousands.
    pub origin: Arc<str>,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// Something wrong with the input that is neither a change nor a rule's violation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// What is wrong: `duplicate-key`.
    pub kind: &'static str,
    pub document: usize,
    pub origin: String,
    /// 1-based line in the input.
    pub line: usize,
    /// Where in the document, as a JSON pointer.
    pub path: Pointer,
    pub message: String,
}

impl Warning {
    /// A warning for every mapping key set twice in `docs`, in stream order.
    pub fn duplicates<O>(inputs: &[Input], docs: &[Document<O>]) -> Vec<Warning> {
        docs.iter()
            .flat_map(|doc| {
                doc.duplicates().iter().map(|d| Warning {
                    kind: "duplicate-key",
                    document: doc.number,
                    origin: inputs[doc.input].origin.clone(),
                    line: d.line,
                    path: d.path.clone(),
                    message: format!(
                        "key `{}` is set twice (first at line {}): the last value wins, and Kubernetes' strict field validation rejects the object",
                        d.path, d.first_line
                    ),
                })
            })
            .collect()
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "warning[{}] {}:{}: document {}: {}", self.kind, self.origin, self.line, self.document, self.message)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedInfo {
    pub rule: RuleId,
    pub resource: ResourceId,
}

impl Report {
    /// The report of a run of `command` in `environment` that recorded `findings`.
    pub fn new(
        command: &'static str,
        environment: &str,
        inputs: &[Input],
        docs: &[Document<Sealed>],
        mut findings: Findings,
        generated: &[Generated],
        compliance: Option<Compliance>,
    ) -> Report {
        let origins: Vec<Arc<str>> = inputs.iter().map(|input| Arc::from(input.origin.as_str())).collect();
        let documents: Vec<DocumentInfo> = docs
            .iter()
            .filter(|d| d.value.is_some())
            .map(|d| DocumentInfo {
                number: d.number,
                origin: Arc::clone(&origins[d.input]),
                line: d.chunk.line(),
                template: d.template().map(str::to_string),
            })
            .collect();
        let changed = findings.changed_documents();
        // A review keeps whole only the violations that block (`Listing::Blocking`), and counts
        // the others: none of them blocks.
        let unlisted = findings.unlisted();
        let errors = findings.violations.iter().filter(|v| v.blocks()).count();
        let exempted = findings.violations.iter().filter(|v| v.exempted().is_some()).count() + unlisted.exempted;
        let found = findings.violations.len() + unlisted.failing + unlisted.exempted;
        let counts = Counts {
            documents: documents.len(),
            resources: docs.iter().map(Document::resource_count).sum(),
            changed_documents: changed.len(),
            changes: findings.change_count(),
            generated: generated.len(),
            violations: found,
            errors,
            warnings: found - errors - exempted,
            exempted,
        };
        let generated = generated.iter().map(|g| GeneratedInfo { rule: g.rule, resource: g.id().clone() }).collect();
        let attribution = findings.take_attribution();
        let Findings { changes, mut violations, exemptions, .. } = findings;
        // Reports are read by people and pasted into reviews: what a message quotes never
        // shows a credential (what a change replaced was hidden when it was recorded:
        // `record::replaced`).
        for violation in &mut violations {
            if let std::borrow::Cow::Owned(hidden) = crate::credential::redact_text(violation.message()) {
                violation.set_message(&hidden);
            }
        }
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::this(),
            environment: environment.to_string(),
            command,
            counts,
            documents,
            changes,
            attribution,
            generated,
            violations,
            exemptions,
            warnings: Warning::duplicates(inputs, docs),
            compliance,
            flows: Vec::new(),
            prerequisites: findings.prerequisites,
        }
    }

    /// The report with the reviewed flows of the run.
    pub fn with_flows(self, flows: Vec<Review>) -> Report {
        Report { flows, ..self }
    }

    /// Whether an enforced rule is violated without an exemption.
    pub fn fails(&self) -> bool {
        self.counts.errors > 0
    }

    /// Drops what only the report's own formats list (the documents, the generated objects,
    /// the exemptions, the warnings and the prerequisites) for a review, whose diff reads of
    /// its render's report the changes, the violations, the flows and the compliance statement:
    /// a stream of small objects lists a document and a generated object per object.
    pub fn drop_listings(&mut self) {
        self.documents = Vec::new();
        self.generated = Vec::new();
        self.exemptions = Vec::new();
        self.warnings = Vec::new();
        self.prerequisites = Vec::new();
    }

    /// The violations that fail the run.
    pub fn blockers(&self) -> Vec<Violation> {
        self.violations.iter().filter(|v| v.blocks()).cloned().collect()
    }

    /// The human summary: one line of counts, then one line per violation and refused
    /// exemption, then one line per prerequisite (`todo`), then the warnings about the input.
    pub fn summary(&self) -> String {
        self.summary_with(usize::MAX)
    }

    /// The summary listing at most `max_violations` violations, then, for the rest, one line
    /// per rule with how many more it has (in the order the rules first appear among them).
    pub fn summary_with(&self, max_violations: usize) -> String {
        let c = &self.counts;
        let mut out = format!(
            "temper: {}: {} documents, {} changed, {} generated, {} changes; {} violations ({} errors, {} warnings, {} exempted)\n",
            self.environment,
            c.documents,
            c.changed_documents,
            c.generated,
            c.changes,
            c.violations,
            c.errors,
            c.warnings,
            c.exempted
        );
        let templates: HashMap<usize, &DocumentInfo> = self.documents.iter().map(|d| (d.number, d)).collect();
        for v in self.violations.iter().take(max_violations) {
            let level = match (v.severity, v.exempted()) {
                (_, Some(_)) => "exempt",
                (Severity::Error, None) => "error",
                // A fix temper would not make because it would break something.
                (Severity::Warning, None) if v.refused => "refused",
                (Severity::Warning, None) => "warning",
            };
            let _ = writeln!(
                out,
                "{level}[{}] {}: {}: {}",
                v.rule,
                self.describe(&v.resource, &templates),
                v.path,
                v.message()
            );
        }
        let rest = self.violations.get(max_violations..).unwrap_or_default();
        if !rest.is_empty() {
            let mut by_rule: Vec<(RuleId, usize)> = Vec::new();
            for v in rest {
                match by_rule.iter_mut().find(|(rule, _)| *rule == v.rule) {
                    Some((_, n)) => *n += 1,
                    None => by_rule.push((v.rule, 1)),
                }
            }
            let _ = writeln!(
                out,
                "temper: {} more violations not listed (--max-violations {max_violations}); the JSON report has them all:",
                rest.len()
            );
            for (rule, n) in by_rule {
                let _ = writeln!(out, "more[{rule}] {n} more");
            }
        }
        for e in self.exemptions.iter().filter(|e| e.refused.is_some()) {
            let rule = e.rule.map_or("?".to_string(), |r| r.to_string());
            let why = e.refused.as_deref().unwrap_or_default();
            let _ = writeln!(
                out,
                "warning[exemption] {}: exemption from {rule} not honoured: {why}",
                self.describe(&e.resource, &templates)
            );
        }
        for p in &self.prerequisites {
            let _ = writeln!(
                out,
                "todo[{}] {}: create in {}: {}",
                p.rule,
                self.describe(&p.resource, &templates),
                p.place,
                p.items.join("; ")
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "{w}");
        }
        out
    }

    fn describe(&self, id: &ResourceId, docs: &HashMap<usize, &DocumentInfo>) -> String {
        let mut text = id.to_string();
        if let Some(doc) = docs.get(&id.document()) {
            let from = doc.template.clone().unwrap_or_else(|| format!("{}:{}", doc.origin, doc.line));
            let _ = write!(text, " ({from})");
        }
        text
    }
}
