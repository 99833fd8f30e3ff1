//! The pipeline: read → patch → index → rules → flows → generate → check generated → write → report,
//! one stage function each, over the state of one run.
//!
//! Documents are parsed, patched, checked and written in parallel; each is prepared (patched,
//! its types checked, its input digests taken) and compacted as soon as it is read, so that no
//! stage holds every document's value. The index and the generated objects are built in
//! between, in one pass each. Every stage keeps document order, so output and report are the
//! same bytes whatever the number of threads. The compliance
//! statement (and, with `--stamp`, the stamps) is taken between checking and writing, when the
//! caller's settings ask for it.

use std::borrow::Cow;
use std::sync::Arc;

use rayon::prelude::*;

use crate::check;
use crate::compliance::{self, Entry, SecretValues, set_digest};
use crate::config::Policy;
use crate::error::Result;
use crate::exempt;
use crate::flows::{self, Network, Policies, Review};
use crate::generate::generate;
use crate::index::Index;
use crate::patch;
use crate::progress::Progress;
use crate::read::{self, Document, Input, Sealed};
use crate::record::{Change, Findings, Generated, Keeping, Listing, Packed};
use crate::report::Report;
use crate::rules::Stream;
use crate::write::{self, Written};

/// How to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The command the report names: `render` or `check`.
    pub command: &'static str,
    /// Where objects without `metadata.namespace` will be installed, when known.
    pub release_namespace: Option<String>,
    /// Apply fixes and write manifests (`render`), or only evaluate the input (`check`).
    pub fix: bool,
    /// Compute the compliance statement and hash, Secret values entering it this way.
    pub compliance: Option<SecretValues>,
    /// Stamp every output resource with the compliance annotations (needs `compliance`).
    pub stamp: bool,
    /// Refuse input with a mapping key set twice, as Kubernetes' strict field validation
    /// does; otherwise the report warns about it.
    pub strict: bool,
    /// Counters the run advances document by document, for a caller reporting progress.
    pub progress: Option<Arc<Progress>>,
    /// Keep the manifests written (`Outcome::output`). A review (diff, promote) shows none of
    /// them: it still writes them, so that it fails where the render would, and keeps nothing.
    pub keep_output: bool,
    /// Keep the manifests packed, a megabyte at a time (`write::PIECE`), for a caller that
    /// writes them out once ([`Outcome::write_output`]): a render's output may be many times
    /// its input, and is held until the run has succeeded.
    pub pack_output: bool,
    /// How to keep the changes recorded: whole (`Report::changes`: the JSON report,
    /// `render --diff` and a caller reading the outcome list them), as who changed what
    /// (`Report::attribution`: all a review's diff reads), or counted by document (all the
    /// summary and the write stage read).
    pub changes: Keeping,
    /// Which violations to keep whole: every one (`Report::violations`: the summary and every
    /// report format list them), or those that fail the run, the others counted (all a
    /// review's diff reads).
    pub violations: Listing,
}

impl Settings {
    /// Harden and write the manifests.
    pub fn render(release_namespace: Option<String>) -> Settings {
        Settings {
            command: "render",
            release_namespace,
            fix: true,
            compliance: None,
            stamp: false,
            strict: false,
            progress: None,
            keep_output: true,
            pack_output: false,
            changes: Keeping::Records,
            violations: Listing::Every,
        }
    }

    /// Evaluate the manifests as they are; write nothing.
    pub fn check(release_namespace: Option<String>) -> Settings {
        Settings {
            command: "check",
            release_namespace,
            fix: false,
            compliance: None,
            stamp: false,
            strict: false,
            progress: None,
            keep_output: true,
            pack_output: false,
            changes: Keeping::Records,
            violations: Listing::Every,
        }
    }

    /// Also compute the compliance statement, Secret values entering it as `secrets` says.
    pub fn with_compliance(self, secrets: SecretValues) -> Settings {
        Settings { compliance: Some(secrets), ..self }
    }

    /// Also stamp every output resource (`stamp` true), which needs the compliance statement.
    pub fn with_stamps(self, stamp: bool) -> Settings {
        Settings { stamp, ..self }
    }

    /// Refuse duplicate mapping keys (`strict` true) instead of warning about them.
    pub fn with_strict(self, strict: bool) -> Settings {
        Settings { strict, ..self }
    }

    /// Keep the manifests packed (see `pack_output`).
    pub fn packing_output(self) -> Settings {
        Settings { pack_output: true, ..self }
    }

    /// Write the manifests without keeping them (see `keep_output`), keep of the changes only
    /// who made them (see `changes`), and of the violations only those that fail the run (see
    /// `violations`): a review's diff reads the values from the two sides, and lists its
    /// blockers.
    pub fn for_review(self) -> Settings {
        Settings { keep_output: false, changes: Keeping::Attribution, violations: Listing::Blocking, ..self }
    }

    /// Keep the changes as `keeping` says (see `changes`).
    pub fn keeping_changes(self, keeping: Keeping) -> Settings {
        Settings { changes: keeping, ..self }
    }

    /// Advance `progress` as the run goes.
    pub fn with_progress(self, progress: Option<Arc<Progress>>) -> Settings {
        Settings { progress, ..self }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The manifests to write (empty for `check` and for a review, and when kept packed:
    /// [`Outcome::write_output`] and [`Outcome::output_text`] read them either way).
    pub output: String,
    /// With `Settings::pack_output`, the manifests, in packed pieces.
    packed_output: Vec<Packed>,
    pub report: Report,
    /// The documents after the run, sealed, for later stages (diffs, hashes).
    pub documents: Vec<Document<Sealed>>,
    /// The objects temper added, in output order.
    pub generated: Vec<Generated>,
}

/// Runs the whole pipeline over `inputs`. Each document is prepared as soon as it is read.
pub fn run(inputs: &[Input], policy: &Policy, settings: &Settings) -> Result<Outcome> {
    let prepared = read_and_prepare(inputs, policy, settings)?;
    run_prepared(inputs, prepared, policy, settings)
}

/// [`run`], dropping each input's text once every document is read and prepared, for a run that
/// reads no text after that: one that keeps no manifests (`check`, whose output is a report;
/// a review only checks them, [`write::verify`]). Each input keeps its name, for messages
/// ([`Input::without_text`]). A run that keeps its manifests copies untouched documents from
/// the text, so it holds the text packed instead ([`run_packing_text`]); a report that points
/// at lines (SARIF) reads it too, so its caller runs that.
pub fn run_forgetting_text(inputs: &mut [Input], policy: &Policy, settings: &Settings) -> Result<Outcome> {
    if settings.fix && settings.keep_output {
        return run_packing_text(inputs, policy, settings);
    }
    let prepared = read_and_prepare(inputs, policy, settings)?;
    for input in inputs.iter_mut() {
        *input = input.without_text();
    }
    run_prepared(inputs, prepared, policy, settings)
}

/// [`run`], holding each input's text packed while the stages between the read and the write
/// run: they read of the inputs only their names, and where hardening adds objects their peak
/// is the run's (packing took 1.5 to 2.3 MB off renders of 2 MB streams of many small
/// workloads, for a corpus render 1.05 times as long). The text is packed on a worker as
/// those stages start (the index, the first of them, runs on one thread), and unpacked for the
/// write, which copies untouched documents from it, and for the report, whose SARIF points at
/// its lines. Each input has its text again when this returns, whatever the outcome.
pub fn run_packing_text(inputs: &mut [Input], policy: &Policy, settings: &Settings) -> Result<Outcome> {
    let prepared = read_and_prepare(inputs, policy, settings)?;
    let names: Vec<Input> = inputs.iter().map(Input::without_text).collect();
    let (packed, stream) = rayon::join(
        || inputs.iter_mut().map(Input::pack_text).collect::<Vec<_>>(),
        || run_whole_stream(&names, prepared, policy, settings),
    );
    // Every input gets its text back before the first error is returned.
    let mut unpacked = Ok(());
    for (input, text) in inputs.iter_mut().zip(packed) {
        let given_back = input.unpack_text(text);
        unpacked = unpacked.and(given_back);
    }
    unpacked?;
    finish(inputs, stream?, policy, settings)
}

/// Stages 1 and 2 over `inputs`: each document is prepared as soon as it is read.
fn read_and_prepare(inputs: &[Input], policy: &Policy, settings: &Settings) -> Result<Vec<Prepared>> {
    let unobserved = Progress::default();
    let progress = settings.progress.as_deref().unwrap_or(&unobserved);
    read::parse_then(inputs, progress, |doc| prepare(inputs, doc, None, policy, settings))
}

/// Runs the pipeline over `docs`, the documents [`read::parse`] read from `inputs`, sealed
/// ([`Document::compact`]): a promotion renders one input in two environments and reads it
/// once. A run that keeps no output (a review) reads only the inputs' names, for messages
/// (`write::verify`), so `inputs` may be without their text ([`Input::without_text`]).
pub fn run_parsed(
    inputs: &[Input],
    docs: Vec<Document<Sealed>>,
    policy: &Policy,
    settings: &Settings,
) -> Result<Outcome> {
    let prepared = crate::par::collect(docs.into_par_iter().map(|doc| {
        let (doc, kept) = doc.reopen()?;
        Ok(prepare(inputs, doc, kept, policy, settings))
    }))?;
    run_prepared(inputs, prepared, policy, settings)
}

/// One document after the first stages: the digests of its resources as read, what the
/// overlays' patches changed, whether its types are those Kubernetes requires, and the
/// document itself, compacted to wait for the stages that read the stream as a whole.
struct Prepared {
    doc: Document<Sealed>,
    input_entries: Option<Vec<Entry>>,
    patched: Result<Vec<Change>>,
    typed: Result<()>,
}

/// Stage 2, patch (and the input's digests and the type check) on one document; `kept` is the
/// text it was kept as, if it was, which it keeps if no patch changes it.
fn prepare(
    inputs: &[Input],
    mut doc: Document,
    kept: Option<Sealed>,
    policy: &Policy,
    settings: &Settings,
) -> Prepared {
    let namespace = settings.release_namespace.as_deref();
    let input_entries = settings.compliance.as_ref().map(|secrets| compliance::document_entries(&doc, secrets));
    let patched = match settings.fix {
        true => patch::apply(inputs, &mut doc, &policy.patches, &policy.knowledge, namespace),
        false => Ok(Vec::new()),
    };
    let typed = match &patched {
        Ok(_) => check::types(inputs, &doc, &policy.knowledge),
        Err(_) => Ok(()),
    };
    let changed = patched.as_ref().is_ok_and(|changes| !changes.is_empty());
    Prepared { doc: doc.reseal(kept, changed, Document::compact), input_entries, patched, typed }
}

/// The stages after the first: an error of the first stages (a key set twice when `strict`,
/// then a patch that does not apply, then a type Kubernetes refuses) is that of the earliest
/// document, as if each stage had run over the whole stream before the next.
fn run_prepared(inputs: &[Input], prepared: Vec<Prepared>, policy: &Policy, settings: &Settings) -> Result<Outcome> {
    let stream = run_whole_stream(inputs, prepared, policy, settings)?;
    finish(inputs, stream, policy, settings)
}

/// What the stages that read the stream as a whole leave for the write and the report.
struct WholeStream {
    docs: Vec<Document<Sealed>>,
    generated: Vec<Generated>,
    reviews: Vec<Review>,
    findings: Findings,
    compliance: Option<compliance::Compliance>,
}

/// From the prepared documents to the compliance statement: every stage between the read and
/// the write. It reads of `inputs` only their names, for messages.
fn run_whole_stream(
    inputs: &[Input],
    prepared: Vec<Prepared>,
    policy: &Policy,
    settings: &Settings,
) -> Result<WholeStream> {
    let unobserved = Progress::default();
    let progress = settings.progress.as_deref().unwrap_or(&unobserved);
    let mut docs = Vec::with_capacity(prepared.len());
    let mut input_entries = settings.compliance.as_ref().map(|_| Vec::with_capacity(prepared.len()));
    let mut patched = Vec::with_capacity(prepared.len());
    let mut typed = Vec::with_capacity(prepared.len());
    for p in prepared {
        docs.push(p.doc);
        if let (Some(all), Some(entries)) = (input_entries.as_mut(), p.input_entries) {
            all.push(entries);
        }
        patched.push(p.patched);
        typed.push(p.typed);
    }
    if settings.strict {
        read::refuse_duplicates(inputs, &docs)?;
    }
    let mut findings = Findings::keeping(settings.changes).listing(settings.violations);
    for changes in patched {
        findings.add_changes(changes?);
    }
    typed.into_iter().collect::<Result<()>>()?;
    let input_digest = input_entries.as_ref().map(|e| set_digest(e.iter().flatten()));
    // Only the digests wait for the output's entries, not the identities' text.
    let input_entries = input_entries.map(compliance::digests_only);
    let Hardened { mut docs, mut generated, reviews } = harden(docs, policy, settings, &mut findings, progress)?;
    let compliance = match (&settings.compliance, input_digest, input_entries) {
        (Some(secrets), Some(input_digest), Some(input_entries)) => {
            let changed = findings.changed_documents();
            let outputs = compliance::entries(&docs, &generated, secrets, input_entries, &changed)?;
            let violations = findings.tally();
            let statement =
                compliance::statement(policy, &input_digest, &set_digest(&outputs), &violations, &findings.exemptions);
            if settings.stamp {
                let stamps = compliance::stamp(&mut docs, &mut generated, &outputs, &statement, policy, &input_digest)?;
                findings.add_changes(stamps);
            }
            Some(statement)
        }
        _ => None,
    };
    Ok(WholeStream { docs, generated, reviews, findings, compliance })
}

/// The write and the report.
fn finish(inputs: &[Input], stream: WholeStream, policy: &Policy, settings: &Settings) -> Result<Outcome> {
    let unobserved = Progress::default();
    let progress = settings.progress.as_deref().unwrap_or(&unobserved);
    let WholeStream { docs, generated, reviews, mut findings, compliance } = stream;
    findings.changes.sort_by_key(|c| c.resource.document());
    let changed = write::changed_documents(&docs, &findings.changed_documents());
    let written = if settings.fix {
        let (keep, pack) = (settings.keep_output, settings.pack_output);
        write::write(inputs, &docs, &changed, &generated, progress, keep, pack)?
    } else {
        Written::default()
    };
    let report = Report::new(settings.command, &policy.environment, inputs, &docs, findings, &generated, compliance)
        .with_flows(reviews);
    Ok(Outcome { output: written.text, packed_output: written.packed, report, documents: docs, generated })
}

impl Outcome {
    /// Writes the manifests to `out`, a packed piece at a time if they were kept packed.
    pub fn write_output(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        fn unpack(piece: &Packed) -> std::io::Result<Cow<'_, str>> {
            piece.text().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        }
        let mut pieces = self.packed_output.iter();
        let mut next = pieces.next().map(unpack);
        while let Some(text) = next.take() {
            let text = text?;
            let following = pieces.next();
            // The next piece is unpacked on a worker while this one is written, unless it is
            // long (a piece is a megabyte or one larger document): two such would be held at once.
            let ahead = following.filter(|piece| piece.text_len() <= 2 * write::PIECE);
            rayon::in_place_scope(|scope| {
                if let Some(piece) = ahead {
                    scope.spawn(|_| next = Some(unpack(piece)));
                }
                out.write_all(text.as_bytes())
            })?;
            if next.is_none() {
                drop(text);
                next = following.map(unpack);
            }
        }
        out.write_all(self.output.as_bytes())
    }

    /// The manifests as one text, unpacked if they were kept packed.
    pub fn output_text(&self) -> Result<Cow<'_, str>> {
        write::joined(&self.packed_output, &self.output)
    }
}

/// What hardening leaves for the stages after it.
struct Hardened {
    /// The documents, sealed by the rules.
    docs: Vec<Document<Sealed>>,
    generated: Vec<Generated>,
    reviews: Vec<Review>,
}

/// The index, the rules, the flows and generation: every stage that reads the stream as a
/// whole. What they build to do so (the index, the network, what the rules learnt about each
/// workload, the NetworkPolicies before and after) is dropped when this returns, before the
/// output is written; only the sealed documents, the generated objects and the reviewed flows
/// go on.
fn harden(
    docs: Vec<Document<Sealed>>,
    policy: &Policy,
    settings: &Settings,
    findings: &mut Findings,
    progress: &Progress,
) -> Result<Hardened> {
    let namespace = settings.release_namespace.as_deref();
    let waive =
        |obj: &serde_json::Value, id: &_, w: Option<&_>, ns: Option<&str>| exempt::waivers(policy, obj, w, id, ns).0;
    let mut index = Index::build(&docs, namespace, &policy.knowledge, &waive)?;
    // The network is read before the rules run: a rule may turn a Secret into an
    // ExternalSecret, and the Service names its values held are still what its readers use.
    let network = Network::gather(&docs, &index)?;
    let may_name_service = |host: &str| network.may_name_service(host);
    let (docs, facts) = check::documents(docs, policy, &index, settings.fix, findings, progress, &may_name_service)?;
    index.refresh_autoscalers(&docs)?;
    let inferred = network.infer(&facts, &index);
    let stream = Stream {
        workloads: &facts,
        index: &index,
        knowledge: &policy.knowledge,
        network: &network,
        inferred: &inferred,
        fix: settings.fix,
        refusals: policy.refusals,
    };
    let (generated, generation_findings) = generate(stream, policy, &docs);
    // What only inference and generation read goes before the policies are read: on a stream
    // of many small workloads the network and what was inferred of it are a tenth of the heap.
    // It goes before generation's findings join the run's too: that grows the run's lists,
    // which holds a list's old and new copy at once.
    drop(inferred);
    drop(network);
    findings.extend(generation_findings);
    check::generated(&generated, policy, &index, findings)?;
    // Only documents holding what policies are made of are read back.
    let mut before = Policies::default();
    read::visit_resources(&docs, |_, kind| Policies::reads_kind(kind), |_, _, _, obj| before.add(obj, &index))?;
    let mut after = before.clone();
    // Each generated object is read again one at a time, never all of them at once.
    for g in generated.iter().filter(|g| Policies::reads_kind(g.id().kind())) {
        after.add(&g.object()?, &index);
    }
    let reviews = flows::review(&findings.flows, &facts, &before, &after, &index);
    Ok(Hardened { docs, generated, reviews })
}
