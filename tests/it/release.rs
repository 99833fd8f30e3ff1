//! Never breaks a release: properties of what hardening changes on purpose, checked on every
//! corpus file, every rule fixture, the release fixtures and the quickstart, in every built-in
//! environment, with the release namespace unknown and known.
//!
//! Each property reads the outputs the way the cluster will: objects without a namespace land
//! in the release namespace, which is tried as each namespace the stream names, `default` and
//! a fresh one.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use rayon::prelude::*;
use serde_json::Value;
use temper::index::{Index, Place};
use temper::object;
use temper::read::{self, Document, Input};
use temper::report::Report;
use temper::{Policy, Settings};

use crate::util::{policy, read_file, valid_corpus};

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];
const FRESH: &str = "temper-fresh-namespace";

/// One input, rendered in one environment with one release namespace (or none).
struct Run {
    case: String,
    env: &'static str,
    release: Option<String>,
    input: std::sync::Arc<String>,
    output: String,
    report: Report,
}

impl Run {
    fn what(&self) -> String {
        format!("{} in {} (release namespace {})", self.case, self.env, self.release.as_deref().unwrap_or("unknown"))
    }
}

/// The inputs: the corpus, the inputs of the rule fixtures (without their own environments),
/// the release fixtures and the quickstart.
fn cases() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = valid_corpus();
    let mut fixtures: Vec<_> = walk(&root.join("tests/fixtures/rules"));
    fixtures.extend(walk(&root.join("tests/fixtures/release")));
    fixtures.sort();
    for path in fixtures {
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<&str> = text.split("\n---\n").filter(|d| !d.contains("apiVersion: temper.dev/")).collect();
        let name = path.strip_prefix(root).unwrap().display().to_string();
        cases.push((name, docs.join("\n---\n")));
    }
    cases
        .push(("examples/quickstart/rendered.yaml".into(), read_file(&root.join("examples/quickstart/rendered.yaml"))));
    cases
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out
}

/// The namespaces a stream names.
fn named_namespaces(docs: &[Document]) -> BTreeSet<String> {
    docs.iter().flat_map(|d| d.resources()).filter_map(|(_, obj)| object::namespace(obj).map(str::to_string)).collect()
}

/// Every case in every environment: once with the release namespace unknown, once with each
/// of a fresh namespace and the first namespace the stream names. Rendered once,
/// in parallel, for every property.
fn runs() -> &'static [Run] {
    static RUNS: OnceLock<Vec<Run>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let policies: Vec<(&'static str, Policy)> = ENVIRONMENTS.iter().map(|e| (*e, policy(e))).collect();
        let mut jobs = Vec::new();
        for (case, text) in cases() {
            let text = std::sync::Arc::new(text);
            let docs = read::parse(&[Input::new("case", text.as_str())]).unwrap();
            let mut releases = vec![None, Some(FRESH.to_string())];
            releases.extend(named_namespaces(&docs).into_iter().next().map(Some));
            for (env, _) in &policies {
                for release in &releases {
                    jobs.push((case.clone(), *env, release.clone(), text.clone()));
                }
            }
        }
        jobs.into_par_iter()
            .map(|(case, env, release, input)| {
                let policy = &policies.iter().find(|(e, _)| *e == env).unwrap().1;
                let settings = Settings::render(release.clone());
                let outcome = temper::run(&[Input::new("case", input.as_str())], policy, &settings)
                    .unwrap_or_else(|e| panic!("{case} in {env}: {e}"));
                Run { case, env, release, input, output: outcome.output, report: outcome.report }
            })
            .collect()
    })
}

/// What the identity property needs of one object: who it is, and where it lands.
struct Placed {
    group: String,
    kind: String,
    /// `None` for a namespaced object without a namespace (the release namespace).
    namespace: Option<String>,
    cluster: bool,
    name: String,
    /// `ResourceQuota`, `LimitRange` or a default-deny ingress policy: one per namespace.
    one_per_namespace: Option<&'static str>,
}

/// Every object of `text`, placed.
fn placed(text: &str) -> Vec<Placed> {
    static SCOPES: OnceLock<temper::knowledge::ClusterScoped> = OnceLock::new();
    let scopes = SCOPES.get_or_init(|| policy("prod").knowledge.cluster_scoped);
    let docs = read::parse(&[Input::new("out", text)]).unwrap();
    let index = Index::build(&docs, None, scopes);
    docs.iter()
        .flat_map(|d| d.resources())
        .map(|(_, obj)| {
            let kind = object::kind(obj).to_string();
            let one_per_namespace = match kind.as_str() {
                "ResourceQuota" => Some("ResourceQuota"),
                "LimitRange" => Some("LimitRange"),
                "NetworkPolicy" if default_deny_ingress(obj) => Some("default-deny ingress NetworkPolicy"),
                _ => None,
            };
            Placed {
                group: object::group_of(object::str_at(obj, &["apiVersion"]).unwrap_or_default()).to_string(),
                cluster: index.place_of(obj) == Place::Cluster,
                namespace: object::namespace(obj).map(str::to_string),
                name: object::name(obj).to_string(),
                kind,
                one_per_namespace,
            }
        })
        .collect()
}

type Id<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Identities, and objects that must be one per namespace, counted when the release namespace
/// is `release`.
fn counts<'a>(objects: &'a [Placed], release: &'a str) -> (HashMap<Id<'a>, usize>, HashMap<(&'a str, &'a str), usize>) {
    let mut ids = HashMap::new();
    let mut per_namespace = HashMap::new();
    for o in objects {
        let ns = if o.cluster { "" } else { o.namespace.as_deref().unwrap_or(release) };
        *ids.entry((o.group.as_str(), o.kind.as_str(), ns, o.name.as_str())).or_insert(0) += 1;
        if let Some(what) = o.one_per_namespace {
            *per_namespace.entry((what, ns)).or_insert(0) += 1;
        }
    }
    (ids, per_namespace)
}

fn default_deny_ingress(policy: &Value) -> bool {
    let spec = &policy["spec"];
    let all_pods = spec["podSelector"].as_object().is_some_and(|m| m.is_empty());
    let ingress_type = spec["policyTypes"].as_array().is_none_or(|t| t.iter().any(|t| t == "Ingress"));
    all_pods && ingress_type && spec["ingress"].as_array().is_none_or(Vec::is_empty)
}

#[test]
fn no_two_objects_share_an_identity_in_any_release_namespace() {
    let runs = runs();
    assert!(runs.len() > 100, "only {} runs", runs.len());
    runs.par_iter().for_each(|run| {
        let before = placed(&run.input);
        let after = placed(&run.output);
        let mut candidates: BTreeSet<&str> = before.iter().filter_map(|o| o.namespace.as_deref()).collect();
        candidates.extend(["default", FRESH]);
        if let Some(release) = &run.release {
            candidates = BTreeSet::from([release.as_str()]);
        }
        for release in candidates {
            let (ids_before, one_before) = counts(&before, release);
            let (ids_after, one_after) = counts(&after, release);
            for (id, n) in &ids_after {
                let allowed = ids_before.get(id).copied().unwrap_or(0).max(1);
                assert!(*n <= allowed, "{}: {n} objects {id:?} if the release namespace is {release}", run.what());
            }
            for (what, n) in &one_after {
                let allowed = one_before.get(what).copied().unwrap_or(0).max(1);
                assert!(*n <= allowed, "{}: {n} of {what:?} if the release namespace is {release}", run.what());
            }
        }
    });
}
