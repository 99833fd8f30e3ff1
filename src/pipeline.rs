//! The pipeline: read → patch → index → rules → generate → write → report.
//!
//! Documents are parsed, patched, checked and written in parallel; the index and the
//! generated objects are built in between, in one pass each. Every stage keeps document order,
//! so output and report are the same bytes whatever the number of threads.

use rayon::prelude::*;
use serde_json::Value;

use crate::compliance::{self, Compliance, Entry, SecretValues, set_digest};
use crate::config::Policy;
use crate::error::{Error, Result};
use crate::exempt;
use crate::generate::generate;
use crate::index::Index;
use crate::object::{self, ResourceId};
use crate::pointer::Pointer;
use crate::read::{self, Document, Input};
use crate::report::Report;
use crate::rules::{
    Change, Cx, ExemptionUse, Findings, Generated, Op, RuleId, Workload, WorkloadFacts, containers, insert,
};
use crate::write::write;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Where objects without `metadata.namespace` will be installed, when known.
    pub release_namespace: Option<String>,
    /// Apply fixes and write manifests (`render`), or only evaluate the input (`check`).
    pub fix: bool,
    /// Compute the compliance statement and hash, Secret values entering it this way.
    pub compliance: Option<SecretValues>,
    /// Stamp every output resource with the compliance annotations (needs `compliance`).
    pub stamp: bool,
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The manifests to write (empty for `check`).
    pub output: String,
    pub report: Report,
    /// The documents after the run, for later stages (diffs, hashes).
    pub documents: Vec<Document>,
    /// The objects temper added, in output order.
    pub generated: Vec<Generated>,
}

/// Runs the whole pipeline over `inputs`.
pub fn run(inputs: &[Input], policy: &Policy, settings: &Settings) -> Result<Outcome> {
    let mut docs = read::parse(inputs)?;
    let ns = settings.release_namespace.as_deref();
    let input_entries = settings.compliance.as_ref().map(|secrets| entries(&docs, &[], secrets));
    let mut findings = Findings::default();
    if settings.fix && !policy.patches.is_empty() {
        let patched: Vec<Result<Findings>> =
            docs.par_iter_mut().map(|d| patch_document(inputs, d, policy, ns)).collect();
        for f in patched {
            findings.extend(f?);
        }
    }
    let index = Index::build(&docs, ns);
    let checked: Vec<(Findings, Vec<WorkloadFacts>)> =
        docs.par_iter_mut().map(|d| check_document(d, policy, &index, settings.fix)).collect();
    let mut facts = Vec::new();
    for (f, wf) in checked {
        findings.extend(f);
        facts.extend(wf);
    }
    // Generation sees the stream as the rules left it (raised HPA minimums included).
    let index = Index::build(&docs, ns);
    for f in &mut facts {
        if let Some(hpa) = index.hpa_for(&f.namespace, &f.workload.kind, &f.id.name) {
            f.replicas = Some(hpa.min_replicas.unwrap_or(1));
        }
    }
    let (mut generated, gen_findings) = generate(policy, &facts, &index, &docs, settings.fix);
    findings.extend(gen_findings);
    // The rules hold for what temper adds too: check (never fix) every generated object, so a
    // render reports the same violations a check of its output would.
    // In parallel, like input documents: a large stream gets thousands of generated objects.
    let generated_findings: Vec<Findings> = generated
        .par_iter()
        .map(|g| {
            let mut findings = Findings::default();
            let id = ResourceId::of(0, None, &g.object);
            let mut object = g.object.clone();
            for rule in &policy.rules {
                let mut cx = Cx::new(rule.id, rule.mode, false, &id, None, &index, None, &mut findings);
                rule.rule.check(&mut cx, &mut object);
            }
            findings
        })
        .collect();
    for f in generated_findings {
        findings.extend(f);
    }
    findings.changes.sort_by_key(|c| c.resource.document);
    let command = if settings.fix { "render" } else { "check" };
    let mut report = Report::new(command, &policy.environment, inputs, &docs, findings, &generated);
    if let (Some(secrets), Some(input_entries)) = (&settings.compliance, &input_entries) {
        let outputs = entries(&docs, &generated, secrets);
        let compliance = compliance::statement(policy, &set_digest(input_entries), &set_digest(&outputs), &report);
        if settings.stamp {
            let stamps = stamp(&mut docs, &mut generated, &outputs, &compliance, policy, &set_digest(input_entries));
            report.counts.changes += stamps.len();
            report.changes.extend(stamps);
            report.changes.sort_by_key(|c| c.resource.document);
            report.counts.changed_documents =
                report.changes.iter().map(|c| c.resource.document).collect::<std::collections::HashSet<_>>().len();
        }
        report.compliance = Some(compliance);
    }
    let output = if settings.fix {
        let mut changed = vec![false; docs.len()];
        let by_number: std::collections::HashMap<usize, usize> =
            docs.iter().enumerate().filter(|(_, d)| d.number > 0).map(|(i, d)| (d.number, i)).collect();
        for c in &report.changes {
            if let Some(&i) = by_number.get(&c.resource.document) {
                changed[i] = true;
            }
        }
        write(inputs, &docs, &changed, &generated)?
    } else {
        String::new()
    };
    Ok(Outcome { output, report, documents: docs, generated })
}

/// The digest entries of every resource of `docs`, then of `generated`, in stream order.
fn entries(docs: &[Document], generated: &[Generated], secrets: &SecretValues) -> Vec<Entry> {
    let mut out: Vec<Entry> = docs
        .par_iter()
        .flat_map_iter(|d| d.resources().into_iter().map(|(_, obj)| Entry::of(obj, secrets)).collect::<Vec<_>>())
        .collect();
    out.extend(generated.iter().map(|g| Entry::of(&g.object, secrets)));
    out
}

/// Adds the compliance annotations to every output resource and returns the changes.
fn stamp(
    docs: &mut [Document],
    generated: &mut [Generated],
    outputs: &[Entry],
    compliance: &Compliance,
    policy: &Policy,
    input_digest: &str,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut digests = outputs.iter();
    let policy_digest = compliance::policy_digest(policy);
    let put = |number: usize, item: Option<usize>, obj: &mut Value, digest: &str, changes: &mut Vec<Change>| {
        let id = ResourceId::of(number, item, obj);
        let values = [
            (compliance::STAMP_ENVIRONMENT, policy.environment.as_str()),
            (compliance::STAMP_HASH, compliance.compliance_hash.as_str()),
            (compliance::STAMP_POLICY, policy_digest.as_str()),
            (compliance::STAMP_INPUT, input_digest),
            (compliance::STAMP_OBJECT, digest),
        ];
        for (key, value) in values {
            let ptr = Pointer::root().key("metadata").key("annotations").key(key);
            let value = Value::from(value);
            if let Ok(before) = insert(obj, &ptr, value.clone()) {
                changes.push(Change {
                    rule: RuleId::ComplianceStamp,
                    resource: id.clone(),
                    pointer: ptr,
                    op: if before.is_some() { Op::Replace } else { Op::Add },
                    before,
                    value,
                    overlay: None,
                });
            }
        }
    };
    for doc in docs.iter_mut() {
        let number = doc.number;
        for (item, obj) in doc.resources_mut() {
            let digest = digests.next().map(|e| e.digest.clone()).unwrap_or_default();
            put(number, item, obj, &digest, &mut changes);
        }
    }
    for g in generated.iter_mut() {
        let digest = digests.next().map(|e| e.digest.clone()).unwrap_or_default();
        let mut ignored = Vec::new();
        put(0, None, &mut g.object, &digest, &mut ignored);
    }
    changes
}

fn patch_document(inputs: &[Input], doc: &mut Document, policy: &Policy, ns: Option<&str>) -> Result<Findings> {
    let mut findings = Findings::default();
    let mut failure = None;
    let number = doc.number;
    for (item, obj) in doc.resources_mut() {
        for patch in &policy.patches {
            let id = ResourceId::of(number, item, obj);
            let namespace = object::namespace(obj).or(ns).map(str::to_string);
            if !patch.target.matches(&id, obj, namespace.as_deref()) {
                continue;
            }
            let workload = Workload::of(obj, &id, &policy.kinds, &policy.classes);
            match patch.apply(obj, &id, workload.as_ref()) {
                Ok(changes) => findings.changes.extend(changes),
                Err(message) => {
                    failure = Some((patch.overlay.clone(), patch.number, message));
                    break;
                }
            }
        }
        if failure.is_some() {
            break;
        }
    }
    match failure {
        Some((overlay, patch, message)) => {
            Err(Error::Patch { place: doc.place(inputs).into(), overlay, patch, message })
        }
        None => Ok(findings),
    }
}

fn check_document(doc: &mut Document, policy: &Policy, index: &Index, fix: bool) -> (Findings, Vec<WorkloadFacts>) {
    let mut findings = Findings::default();
    let mut facts = Vec::new();
    let number = doc.number;
    for (item, obj) in doc.resources_mut() {
        let id = ResourceId::of(number, item, obj);
        let namespace = index.namespace_of(obj);
        let workload = Workload::of(obj, &id, &policy.kinds, &policy.classes);
        let (waivers, refused) = exempt::waivers(policy, obj, workload.as_ref(), &id, namespace.as_deref());
        findings.exemptions.extend(refused);
        for rule in &policy.rules {
            let waiver = waivers.iter().find(|(r, _)| *r == rule.id).map(|(_, w)| w);
            let mut cx = Cx::new(rule.id, rule.mode, fix, &id, workload.as_ref(), index, waiver, &mut findings);
            rule.rule.check(&mut cx, obj);
            let waived = cx.waived();
            if let (Some(w), true) = (waiver, waived > 0) {
                findings.exemptions.push(ExemptionUse {
                    rule: Some(rule.id),
                    resource: id.clone(),
                    source: w.source.clone(),
                    reason: w.reason.clone(),
                    violations: waived,
                    refused: None,
                });
            }
        }
        if let Some(workload) = workload {
            let ports = containers(obj, &workload.spec, false)
                .iter()
                .filter(|s| s.list == "containers")
                .filter_map(|s| s.get(obj)?.get("ports")?.as_array().cloned())
                .flatten()
                .filter_map(|p| {
                    let port = p.get("containerPort").filter(|v| !v.is_null())?.clone();
                    let proto = object::str_at(&p, &["protocol"]).unwrap_or("TCP").to_string();
                    Some((port, proto))
                })
                .collect();
            let host_network = obj.pointer(workload.spec.key("hostNetwork").as_str()) == Some(&Value::Bool(true));
            facts.push(WorkloadFacts {
                explicit_namespace: object::namespace(obj).is_some(),
                namespace,
                replicas: workload.replicas(obj),
                ports,
                host_network,
                waivers,
                workload,
                id,
            });
        }
    }
    (findings, facts)
}
