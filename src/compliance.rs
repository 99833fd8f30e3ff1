//! The compliance hash (`temper.dev/compliance/v1`): a digest that proves which policy
//! produced a set of manifests from which input, and with what result. The definition, which
//! this module implements exactly, is `docs/compliance-hash.md`.
//!
//! It works on what a run produced (documents, generated objects, violations, exemptions) and
//! never runs one itself: the pipeline calls it between checking and writing, to build the
//! statement and, with `--stamp`, to stamp every output resource; `verify` re-runs a check and
//! hands its findings here.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::canon::{self, canonical};
use crate::config::Policy;
use crate::error::Result;
use crate::object::{self, KeyRef, ResourceId};
use crate::pointer::{self, Pointer};
use crate::read::{Document, Sealed};
use crate::record::{
    Change, ExemptionSource, ExemptionUse, Generated, Json, Mode, RuleId, Tallied, Tally, Tool, Violation,
};

pub const SCHEME: &str = "temper.dev/compliance/v1";
pub const PREDICATE_TYPE: &str = "https://temper.dev/compliance/v1";

/// The annotations `--stamp` adds to every output resource's top-level metadata.
pub const STAMP_ENVIRONMENT: &str = "temper.dev/environment";
pub const STAMP_HASH: &str = "temper.dev/compliance-hash";
pub const STAMP_POLICY: &str = "temper.dev/policy-digest";
pub const STAMP_INPUT: &str = "temper.dev/input-digest";
pub const STAMP_OBJECT: &str = "temper.dev/object-digest";
pub const STAMPS: [&str; 5] = [STAMP_ENVIRONMENT, STAMP_HASH, STAMP_POLICY, STAMP_INPUT, STAMP_OBJECT];

/// How Secret values enter the canonical form.
#[derive(Clone, Debug, Default)]
pub enum SecretValues {
    /// Each value is replaced by `{"$temper-redacted": <length in bytes>}`.
    #[default]
    Length,
    /// Each value is replaced by `{"$temper-hmac-sha256": <hex HMAC-SHA256 of the value>}`.
    Hmac(Vec<u8>),
}

/// `sha256:` and the hex digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256Sum(Sha256::digest(bytes).into()).to_string()
}

pub fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    let _ = write_hex(bytes, &mut text);
    text
}

/// Writes `bytes` as lowercase hex: the one writer of [`hex`] and of a [`Sha256Sum`]'s text.
fn write_hex(bytes: &[u8], out: &mut impl std::fmt::Write) -> std::fmt::Result {
    bytes.iter().try_for_each(|b| write!(out, "{b:02x}"))
}

/// The canonical form of one object: stamp annotations removed, then `metadata.annotations`
/// and then `metadata` removed if empty or null (Kubernetes reads absent, null and empty the
/// same, and stamping turns them into mappings), Secret `data`/`stringData` values replaced
/// per `secrets`.
pub fn canonical_object(obj: &Value, secrets: &SecretValues) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.retain(|k, _| !STAMPS.contains(&k.as_str()));
        }
        if meta.get("annotations").is_some_and(empty) {
            meta.remove("annotations");
        }
    }
    if obj.get("metadata").is_some_and(empty)
        && let Some(map) = obj.as_object_mut()
    {
        map.remove("metadata");
    }
    if object::group(&obj).is_empty() && object::kind(&obj) == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(values) = obj.get_mut(field).and_then(Value::as_object_mut) {
                for v in values.values_mut() {
                    *v = secret_marker(v, secrets);
                }
            }
        }
    }
    obj
}

fn secret_marker(value: &Value, secrets: &SecretValues) -> Value {
    let bytes = value.as_str().map_or_else(|| value.to_string(), str::to_string);
    match secrets {
        SecretValues::Length => json!({"$temper-redacted": bytes.len()}),
        SecretValues::Hmac(key) => {
            let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
                Ok(mac) => mac,
                // HMAC accepts keys of any length; this arm cannot be reached.
                Err(_) => return json!({"$temper-redacted": bytes.len()}),
            };
            mac.update(bytes.as_bytes());
            json!({"$temper-hmac-sha256": hex(&mac.finalize().into_bytes())})
        }
    }
}

fn empty(v: &Value) -> bool {
    v.is_null() || v.as_object().is_some_and(Map::is_empty)
}

/// The digest of one object's canonical form. The object is copied only where the canonical
/// form differs from it, and its canonical JSON is hashed as it is written, a piece at a time:
/// a copy and the text of a 6 MB object took 32 MB at once.
pub fn object_digest(obj: &Value, secrets: &SecretValues) -> Sha256Sum {
    let canonical = if is_canonical(obj) { Cow::Borrowed(obj) } else { Cow::Owned(canonical_object(obj, secrets)) };
    sha256_of_pieces(|text, take| canon::write_canonical_in_pieces(&canonical, text, take))
}

/// [`sha256`] of the text `write` makes, hashed a piece at a time: `write` hands the text it
/// has made so far to `take` (which hashes and clears it) whenever it holds more than
/// [`canon::PIECE`] bytes, so that the whole text is never held.
fn sha256_of_pieces(write: impl FnOnce(&mut String, &mut dyn FnMut(&mut String))) -> Sha256Sum {
    let mut hasher = Sha256::new();
    let mut text = String::new();
    write(&mut text, &mut |piece: &mut String| {
        hasher.update(piece.as_bytes());
        piece.clear();
    });
    hasher.update(text.as_bytes());
    Sha256Sum(hasher.finalize().into())
}

/// A SHA-256 digest, written `sha256:` and its lowercase hex. Kept as its bytes: a run keeps
/// a digest per object of its input and of its output for the compliance statement, and as
/// text each took 104 bytes where these take 32. Bytes order as their hex does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Sum(pub [u8; 32]);

impl std::fmt::Display for Sha256Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sha256:")?;
        write_hex(&self.0, f)
    }
}

/// Whether `obj` is its own canonical form ([`canonical_object`] would change nothing): it
/// has a `metadata` mapping that is not empty, no stamp, no empty or null annotations, and it
/// is not a Secret.
fn is_canonical(obj: &Value) -> bool {
    let metadata_kept = match obj.get("metadata") {
        None => true,
        Some(Value::Null) => false,
        Some(Value::Object(meta)) => {
            !meta.is_empty()
                && match meta.get("annotations") {
                    None => true,
                    Some(Value::Null) => false,
                    Some(Value::Object(a)) => !a.is_empty() && !STAMPS.iter().any(|s| a.contains_key(*s)),
                    Some(_) => true,
                }
        }
        Some(_) => true,
    };
    metadata_kept && !(object::group(obj).is_empty() && object::kind(obj) == "Secret")
}

/// One resource's entry in a set digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub id: String,
    pub digest: Sha256Sum,
}

impl Entry {
    pub fn of(obj: &Value, secrets: &SecretValues) -> Entry {
        Entry { id: KeyRef::of(obj).to_string(), digest: object_digest(obj, secrets) }
    }
}

/// The digest of a set of resources: SHA-256 of the canonical JSON list of
/// `{"id", "sha256"}` sorted by id (then digest).
///
/// The list's text is made and hashed a piece at a time, entry by entry, and no entry is
/// copied: built whole as a value and then as text, the list of a stream of many small
/// objects took several times the memory of the entries.
pub fn set_digest<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    let mut sorted: Vec<&Entry> = entries.into_iter().collect();
    sorted.sort();
    sha256_of_pieces(|text, take| {
        text.push('[');
        for (i, entry) in sorted.into_iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            // The object `{"id", "sha256"}` with its keys in canonical order.
            text.push_str("{\"id\":");
            canon::write_string(&entry.id, text);
            // `sha256:` and hex need no escaping in a JSON string.
            let _ = write!(text, ",\"sha256\":\"{}\"}}", entry.digest);
            if text.len() > canon::PIECE {
                take(text);
            }
        }
        text.push(']');
    })
    .to_string()
}

/// The digest of the resolved environment: every rule's mode and parameters, the overlays
/// with their patches, the exemptions.
pub fn policy_digest(policy: &Policy) -> String {
    sha256(canonical(&policy.resolved).as_bytes())
}

/// The digest entries of every resource of `doc`.
pub fn document_entries(doc: &Document, secrets: &SecretValues) -> Vec<Entry> {
    doc.resources().into_iter().map(|(_, obj)| Entry::of(obj, secrets)).collect()
}

/// Of each document's entries ([`document_entries`]), the digests: all a run keeps of its
/// input's entries once the input's set digest is taken, until the output's reuse them
/// ([`entries`]). A stream of small documents has an entry each, and its identity's text
/// took most of it.
pub fn digests_only(entries: Vec<Vec<Entry>>) -> Vec<Box<[Sha256Sum]>> {
    entries.into_iter().map(|e| e.into_iter().map(|entry| entry.digest).collect()).collect()
}

/// The digest entries of every resource of `docs`, then of `generated`, in stream order.
/// `before` holds the digests of each document's resources before the run changed any of
/// them ([`digests_only`]); those of a document not in `changed` are taken from it, with the
/// identities the document keeps, rather than computed again.
///
/// Invariant: every change the run makes to a document is recorded, so a document with no
/// recorded change digests as it did, and has the identities it had.
pub fn entries(
    docs: &[Document<Sealed>],
    generated: &[Generated],
    secrets: &SecretValues,
    before: Vec<Box<[Sha256Sum]>>,
    changed: &HashSet<usize>,
) -> Result<Vec<Entry>> {
    let entries: Vec<Vec<Entry>> = crate::par::collect(docs.par_iter().zip(before).map(|(d, before)| {
        // The identities of an unchanged document, read without opening it.
        let kept_ids = (!changed.contains(&d.number)).then(|| match &d.value {
            None => Vec::new(),
            Some(Sealed::Text { id, .. }) => vec![id.key_ref().to_string()],
            Some(Sealed::Value(value)) => crate::read::resources_of(Some(&**value))
                .into_iter()
                .map(|(_, obj)| KeyRef::of(obj).to_string())
                .collect(),
        });
        match kept_ids {
            Some(ids) if ids.len() == before.len() => {
                Ok(ids.into_iter().zip(before.iter()).map(|(id, &digest)| Entry { id, digest }).collect())
            }
            _ => Ok(d.open()?.resources().into_iter().map(|(_, obj)| Entry::of(obj, secrets)).collect()),
        }
    }))?;
    let mut out: Vec<Entry> = entries.into_iter().flatten().collect();
    let generated: Vec<Entry> =
        crate::par::collect(generated.par_iter().map(|g| Ok(Entry::of(&g.object()?, secrets))))?;
    out.extend(generated);
    Ok(out)
}

/// The compliance statement and its hash, as the report carries them.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compliance {
    pub compliance_hash: String,
    pub statement: Value,
    /// Recorded beside the statement, not inside it: a new temper version that produces the
    /// same result proves the same thing.
    pub tool: Tool,
}

/// Builds the statement from the digests and the run's findings.
pub fn statement(
    policy: &Policy,
    input_digest: &str,
    outputs_digest: &str,
    violations: &Tally,
    exemptions: &[ExemptionUse],
) -> Compliance {
    let mut rules = BTreeMap::new();
    for rule in &policy.rules {
        let Tallied { failing, exempted } = violations.of_rule(rule.id);
        let result = match (failing, exempted) {
            (0, 0) => "pass",
            (0, _) => "exempt",
            _ => "fail",
        };
        let enforced = rule.mode == Mode::Enforce;
        rules.insert(
            rule.id.as_str().to_string(),
            json!({"mode": rule.mode, "result": result, "violations": failing, "exempted": exempted, "enforced": enforced}),
        );
    }
    let mut exemptions: Vec<Value> = exemptions
        .iter()
        .filter(|e| e.refused.is_none())
        .map(|e| {
            let source = match &e.source {
                ExemptionSource::Annotation => "annotation".to_string(),
                ExemptionSource::Environment { environment, index } => format!("environment {environment} #{index}"),
            };
            json!({"rule": e.rule, "resource": e.resource.key().to_string(), "source": source, "reason": e.reason, "violations": e.violations})
        })
        .collect();
    exemptions.sort_by_key(canonical);
    let statement = json!({
        "scheme": SCHEME,
        "environment": policy.environment,
        "policyDigest": policy_digest(policy),
        "inputDigest": input_digest,
        "outputsDigest": outputs_digest,
        "rules": Value::Object(rules.into_iter().collect::<Map<String, Value>>()),
        "exemptions": exemptions,
    });
    let compliance_hash = sha256(canonical(&statement).as_bytes());
    Compliance { compliance_hash, statement, tool: Tool::this() }
}

/// Adds the compliance annotations to every output resource (`outputs` are their entries, in
/// stream order) and returns the changes made to input documents.
pub fn stamp(
    docs: &mut [Document<Sealed>],
    generated: &mut [Generated],
    outputs: &[Entry],
    compliance: &Compliance,
    policy: &Policy,
    input_digest: &str,
) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    let mut digests = outputs.iter();
    let policy_digest = policy_digest(policy);
    let put = |number: usize, item: Option<usize>, obj: &mut Value, digest: &str, changes: &mut Vec<Change>| {
        let id = ResourceId::of(number, item, obj);
        let values = [
            (STAMP_ENVIRONMENT, policy.environment.as_str()),
            (STAMP_HASH, compliance.compliance_hash.as_str()),
            (STAMP_POLICY, policy_digest.as_str()),
            (STAMP_INPUT, input_digest),
            (STAMP_OBJECT, digest),
        ];
        for (key, value) in values {
            let ptr = Pointer::root().key("metadata").key("annotations").key(key);
            let value = Value::from(value);
            let kept = Json::of(&value);
            if let Ok(before) = pointer::insert(obj, &ptr, value) {
                changes.push(Change::set(RuleId::ComplianceStamp, id.clone(), ptr, kept, before.as_ref()));
            }
        }
    };
    for doc in docs.iter_mut() {
        let number = doc.number;
        doc.edit(|item, obj| {
            let digest = digests.next().map(|e| e.digest.to_string()).unwrap_or_default();
            put(number, item, obj, &digest, &mut changes);
        })?;
    }
    // Generated objects are not input documents: their stamps are part of them, not changes.
    for g in generated.iter_mut() {
        let digest = digests.next().map(|e| e.digest.to_string()).unwrap_or_default();
        let mut object = g.object()?;
        put(0, None, &mut object, &digest, &mut Vec::new());
        g.replace(&object);
    }
    Ok(changes)
}

/// An in-toto Statement v1 over the emitted bytes, ready for `cosign attest-blob`.
pub fn attestation(subject_name: &str, output: &[u8], compliance: &Compliance) -> Value {
    let digest = hex(&Sha256::digest(output));
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject_name, "digest": {"sha256": digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "complianceHash": compliance.compliance_hash,
            "statement": compliance.statement,
            "tool": compliance.tool,
        },
    })
}

/// What a stamped stream says of itself: the stamps every resource shares, and the entries
/// of its resources.
#[derive(Clone, Debug)]
pub struct Stamped {
    pub environment: String,
    pub hash: String,
    pub policy_digest: String,
    pub input_digest: String,
    pub outputs: Vec<Entry>,
}

/// What one resource of a stamped stream says of itself, read from it alone, so that a stamped
/// stream is read a document at a time ([`read_stamps`] checks these in order): its entry in the
/// set digest (whose id names it), the four stamps every resource of one render carries (`None`
/// if any stamp is missing; shared texts, since every resource repeats them), and the object
/// digest stamped on it when it is not the object's own.
pub struct ResourceStamps {
    entry: Entry,
    stamps: Option<[Arc<str>; 4]>,
    modified: Option<String>,
}

impl ResourceStamps {
    pub fn of(obj: &Value, secrets: &SecretValues) -> ResourceStamps {
        let annotations = object::annotations(obj);
        let get = |k: &str| annotations.get(k).and_then(Value::as_str);
        let entry = Entry::of(obj, secrets);
        match STAMPS.map(get) {
            [Some(env), Some(hash), Some(policy), Some(input), Some(object)] => ResourceStamps {
                stamps: Some([env, hash, policy, input].map(crate::intern::text)),
                modified: (entry.digest.to_string() != object).then(|| object.to_string()),
                entry,
            },
            _ => ResourceStamps { entry, stamps: None, modified: None },
        }
    }

    /// The stamps of every resource of `doc`, in order.
    pub fn of_document(doc: &Document, secrets: &SecretValues) -> Vec<ResourceStamps> {
        doc.resources().into_iter().map(|(_, obj)| ResourceStamps::of(obj, secrets)).collect()
    }
}

/// Reads the stamps of a stamped stream, its resources' in order, and checks every resource
/// against its own object digest; see `docs/compliance-hash.md`, section 5. `Err` says why the
/// stream fails: the first resource that is not stamped, carries another render's stamps, or
/// was modified.
pub fn read_stamps(resources: impl IntoIterator<Item = ResourceStamps>) -> Result<Stamped, String> {
    let mut stamps: Option<[Arc<str>; 4]> = None;
    let mut outputs = Vec::new();
    for resource in resources {
        let id = &resource.entry.id;
        let Some(these) = resource.stamps else {
            return Err(format!("{id} is not stamped"));
        };
        match &stamps {
            None => stamps = Some(these),
            Some(first) if *first != these => return Err(format!("{id} carries the stamps of another render")),
            Some(_) => {}
        }
        if let Some(object) = resource.modified {
            return Err(format!(
                "{id} was modified after stamping (its object digest is {}, stamped {object})",
                resource.entry.digest
            ));
        }
        outputs.push(resource.entry);
    }
    let [environment, hash, policy_digest, input_digest] =
        stamps.ok_or_else(|| "the stream holds no resources".to_string())?.map(|s| s.to_string());
    Ok(Stamped { environment, hash, policy_digest, input_digest, outputs })
}

impl Stamped {
    /// Why `policy` (the stamped environment as configured now) cannot have produced the stamps,
    /// if it cannot.
    pub fn policy_changed(&self, policy: &Policy) -> Option<String> {
        let current = policy_digest(policy);
        (current != self.policy_digest).then(|| {
            format!(
                "the policy of environment `{}` changed since stamping (stamped {}, now {current})",
                self.environment, self.policy_digest
            )
        })
    }

    /// Recomputes the stamped hash from a check of the stream under `policy` (its violations
    /// and exemptions). `Err` says why it differs.
    pub fn verify(&self, policy: &Policy, violations: &[Violation], exemptions: &[ExemptionUse]) -> Result<(), String> {
        let tally = Tally::of(violations);
        let recomputed = statement(policy, &self.input_digest, &set_digest(&self.outputs), &tally, exemptions);
        if recomputed.compliance_hash == self.hash {
            return Ok(());
        }
        Err(format!(
            "re-evaluating environment `{}` gives {} instead of the stamped {}; rule results now: {}",
            self.environment, recomputed.compliance_hash, self.hash, recomputed.statement["rules"]
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_hashed_as_its_canonical_form_whether_or_not_it_is_copied() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a": "b"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": null}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"annotations": {STAMP_HASH: "sha256:x"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": "odd"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": null}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "odd"}),
            json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "c2VjcmV0"}}),
            // Long enough to be hashed in several pieces.
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                   "data": (0..20_000).map(|i| (format!("key-{i}"), json!("x".repeat(i % 50)))).collect::<Map<_, _>>()}),
        ];
        let mut borrowed = 0;
        for obj in objects {
            let copied = canonical_object(&obj, &SecretValues::Length);
            if is_canonical(&obj) {
                assert_eq!(copied, obj, "said to be canonical");
                borrowed += 1;
            }
            assert_eq!(
                object_digest(&obj, &SecretValues::Length).to_string(),
                sha256(canonical(&copied).as_bytes()),
                "{obj}"
            );
        }
        assert_eq!(borrowed, 6, "hashed without a copy: the plain, annotated, odd, bare and large objects");
    }

    #[test]
    fn stamps_and_secret_values_do_not_enter_the_hash() {
        let plain = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "c2VjcmV0"}});
        let stamped = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "annotations": {STAMP_HASH: "sha256:x", STAMP_OBJECT: "sha256:y"}}, "data": {"k": "c2VjcmV0"}});
        assert_eq!(object_digest(&plain, &SecretValues::Length), object_digest(&stamped, &SecretValues::Length));
        let same_length =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "b3RoZXIh"}});
        assert_eq!(object_digest(&plain, &SecretValues::Length), object_digest(&same_length, &SecretValues::Length));
        let key = SecretValues::Hmac(b"k".to_vec());
        assert_ne!(object_digest(&plain, &key), object_digest(&same_length, &key));
    }

    /// A digest kept as bytes is written as it was as text, and orders as its text does.
    #[test]
    fn digest_bytes_write_and_order_as_their_text() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
        let text = sha256(canonical(&canonical_object(&obj, &SecretValues::Length)).as_bytes());
        assert_eq!(object_digest(&obj, &SecretValues::Length).to_string(), text);
        assert_eq!(Entry::of(&obj, &SecretValues::Length).digest.to_string(), text);
        let sums = [[0u8; 32], [9; 32], [10; 32], [15; 32], [16; 32], [160; 32], [255; 32]].map(Sha256Sum);
        for a in sums {
            for b in sums {
                assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()), "{a} {b}");
            }
        }
    }

    #[test]
    fn set_digests_ignore_order() {
        let a = Entry { id: "a".into(), digest: Sha256Sum([1; 32]) };
        let b = Entry { id: "b".into(), digest: Sha256Sum([2; 32]) };
        assert_eq!(set_digest(&[a.clone(), b.clone()]), set_digest(&[b, a]));
    }

    #[test]
    fn a_set_digest_is_the_digest_of_the_canonical_list_of_its_sorted_entries() {
        // Ids that need escaping, one long enough that the text is hashed in several pieces.
        let long = "x".repeat(canon::PIECE + 10);
        let ids = [
            "apps/Deployment/shop/b",
            "v1/Secret/\"quoted\"/é\u{1}",
            "v1/ConfigMap//a",
            long.as_str(),
            "v1/ConfigMap//a",
        ];
        let entries: Vec<Entry> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Entry { id: id.to_string(), digest: Sha256Sum([i as u8 * 17; 32]) })
            .collect();
        // Sorted as their texts: a digest's bytes order as its hex.
        let mut sorted: Vec<(String, String)> = entries.iter().map(|e| (e.id.clone(), e.digest.to_string())).collect();
        sorted.sort();
        let list: Vec<Value> = sorted.iter().map(|(id, digest)| json!({"id": id, "sha256": digest})).collect();
        assert_eq!(set_digest(&entries), sha256(canonical(&Value::from(list)).as_bytes()));
        assert_eq!(set_digest(&[]), sha256(b"[]"));
    }
}
