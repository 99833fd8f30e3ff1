//! Stages 4 and 6, rules and check generated: every rule of the environment on every resource
//! of the stream (fixing where the mode allows), then on every object temper generated (never
//! fixing), through one checking function.
//!
//! Documents are checked in parallel and their findings joined in document order. While a
//! workload is at hand, its facts for the generating rules are taken too.
//!
//! **Invariant:** a render reports the violations a check of its own output would: generated
//! objects go through the same rules, exemptions included, as input resources.

use rayon::prelude::*;
use serde_json::Value;

use crate::config::Policy;
use crate::error::{Error, Result};
use crate::exempt;
use crate::index::Index;
use crate::knowledge::Knowledge;
use crate::object::ResourceId;
use crate::pointer;
use crate::progress::Progress;
use crate::read::{Document, Input, Sealed};
use crate::record::{ExemptionUse, Findings, Generated};
use crate::rules::{Cx, Subject};
use crate::workload::{self, Workload, WorkloadFacts};

/// Checks that every workload's fields that rules read have the types Kubernetes requires, so
/// that none passes silently; fails at the first resource of `doc` that does not, naming the
/// path.
pub fn types(inputs: &[Input], doc: &Document, knowledge: &Knowledge) -> Result<()> {
    let first = doc.resources().into_iter().find_map(|(item, obj)| {
        let id = ResourceId::of(doc.number, item, obj);
        let (path, problem) = workload::check_types(obj, &id, knowledge).err()?;
        let within = item.map(|i| format!("items[{i}]: ")).unwrap_or_default();
        Some(Error::Document { place: doc.place(inputs).into(), message: format!("{within}`{path}` {problem}") })
    });
    first.map_or(Ok(()), Err)
}

/// Runs the rules over every resource of `docs`, fixing when `fix` is set, advancing
/// `progress` document by document, and seals each document again as soon as its rules are
/// done (the rules are the last stage that changes a document; one they changed is kept as
/// text, one they left alone as it was). Returns the sealed documents and the facts about
/// every workload, as the rules left it, keeping of the host names its pods refer to those
/// that `may_name_service`.
pub fn documents(
    docs: Vec<Document<Sealed>>,
    policy: &Policy,
    index: &Index,
    fix: bool,
    findings: &mut Findings,
    progress: &Progress,
    may_name_service: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Vec<Document<Sealed>>, Vec<WorkloadFacts>)> {
    let keeping = findings.keeps();
    let mut facts = Vec::new();
    // Each document is checked and sealed again in its own slot: the stream is never held in
    // two lists (an `Option` of a document is the size of a document, and the slots are made
    // from the documents' list in place).
    let mut slots: Vec<Option<Document<Sealed>>> = docs.into_iter().map(Some).collect();
    // A batch at a time: what the rules found in each document is held apart only until its
    // batch is done, then moved into the run's (whose lists grow as they are filled), so the
    // run never holds a stream's findings twice, nor a slot per document for them.
    for batch in slots.chunks_mut(CHECKED_TOGETHER) {
        // Filled in place, in document order, for the reason `par::collect` is used elsewhere.
        let mut checked: Vec<Result<Checked>> = Vec::with_capacity(batch.len());
        batch
            .par_iter_mut()
            .map(|slot| {
                // Each slot holds its document until its own check takes it, once.
                let Some(doc) = slot.take() else { return Ok(Checked::default()) };
                let (mut doc, kept) = doc.reopen()?;
                let (mut found, facts, id) =
                    document(&mut doc, kept.as_ref().and_then(Sealed::id), policy, index, fix, may_name_service);
                if doc.number > 0 {
                    progress.checked_one();
                }
                let changed = !found.changes.is_empty();
                // A run that counts its changes, or keeps only who made them, holds no record
                // of them, not even until every document is checked.
                found.reduce_kept_changes(keeping);
                *slot = Some(doc.reseal(kept, changed, |doc| doc.seal_like(changed, id.as_ref())));
                Ok((found, facts))
            })
            .collect_into_vec(&mut checked);
        for result in checked {
            let (doc_findings, doc_facts) = result?;
            findings.append(doc_findings);
            facts.extend(doc_facts);
        }
    }
    facts.shrink_to_fit();
    // Every slot is filled again: a document that could not be read back returned above. The
    // list is taken over in place, not grown again beside the slots.
    #[allow(clippy::filter_map_identity)] // `flatten` would not collect in place.
    let checked_docs = slots.into_iter().filter_map(|doc| doc).collect();
    Ok((checked_docs, facts))
}

/// How many documents the rules stage checks together: enough to keep both threads busy, few
/// enough that their findings, held apart until the batch is done, are a small part of a run's.
const CHECKED_TOGETHER: usize = 1024;

/// What checking one document found: its findings and the facts about its workloads.
type Checked = (Findings, Vec<WorkloadFacts>);

/// Runs the rules over every generated object without changing it, as a check of the output
/// would. In parallel: a large stream gets thousands of generated objects.
pub fn generated(generated: &[Generated], policy: &Policy, index: &Index, findings: &mut Findings) -> Result<()> {
    let checked: Vec<Findings> = crate::par::collect(generated.par_iter().map(|g| {
        let mut found = Findings::default();
        let mut object = g.object()?;
        // A generated object's facts are not kept: no host name is either.
        resource(&mut object, g.id().clone(), policy, index, false, &mut found, &|_| false);
        Ok(found)
    }))?;
    findings.extend_all(checked);
    Ok(())
}

/// Runs the rules over every resource of `doc`; `kept_id` is the identity its object was
/// kept with, shared by the records about it if the object still has it. Returns the findings,
/// the workloads' facts (keeping the host names that `may_name_service`) and the identity of a
/// document that is not a List, as the rules found it.
fn document(
    doc: &mut Document,
    kept_id: Option<&ResourceId>,
    policy: &Policy,
    index: &Index,
    fix: bool,
    may_name_service: &dyn Fn(&str) -> bool,
) -> (Findings, Vec<WorkloadFacts>, Option<ResourceId>) {
    let mut findings = Findings::default();
    let number = doc.number;
    let mut single = None;
    let mut facts = doc
        .resources_mut()
        .into_iter()
        .filter_map(|(item, obj)| {
            let id = ResourceId::of_like(kept_id, number, item, obj);
            if item.is_none() {
                single = Some(id.clone());
            }
            let changes = findings.changes.len();
            let facts = resource(obj, id, policy, index, fix, &mut findings, may_name_service);
            // An item of a List stays a value when the document is sealed.
            if item.is_some() && findings.changes.len() > changes {
                pointer::shrink(obj);
            }
            facts
        })
        .collect::<Vec<_>>();
    // Most documents hold one workload or none, and a collect makes room for four: the lists
    // wait until every document is checked.
    facts.shrink_to_fit();
    (findings, facts, single)
}

/// Runs every rule on one resource; returns its facts when it is a workload, keeping the host
/// names that `may_name_service`.
fn resource(
    obj: &mut Value,
    id: ResourceId,
    policy: &Policy,
    index: &Index,
    fix: bool,
    findings: &mut Findings,
    may_name_service: &dyn Fn(&str) -> bool,
) -> Option<WorkloadFacts> {
    let namespace = index.namespace_of(obj);
    let workload = Workload::of(obj, &id, &policy.knowledge);
    let (waivers, refused) = exempt::waivers(policy, obj, workload.as_ref(), &id, namespace.as_deref());
    findings.exemptions.extend(refused);
    let knowledge = &policy.knowledge;
    let subject = Subject { id: &id, workload: workload.as_ref(), index, knowledge, fix, refusals: policy.refusals };
    for rule in &policy.rules {
        let waiver = waivers.get(rule.id);
        let mut cx = Cx::new(subject, rule.id, rule.mode, waiver, findings);
        rule.rule.check(&mut cx, obj);
        let waived = cx.waived();
        if let (Some(w), true) = (waiver, waived > 0) {
            findings.exemptions.push(ExemptionUse::used(rule.id, &id, w, waived));
        }
    }
    // A cluster-scoped object has no namespace to generate namespaced objects in.
    let workload = workload.filter(|_| !index.is_cluster_scoped(id.group(), id.kind()))?;
    Some(WorkloadFacts::of(obj, id, workload, namespace, waivers, may_name_service))
}
