//! Never breaks a release: properties of what hardening changes on purpose, checked on every
//! corpus file, every rule fixture, the release fixtures and the quickstart, in every built-in
//! environment and in `examples/operations`' prod, with the release namespace unknown and known.
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
/// The example's prod, with the operations rules on.
const OPERATIONS: &str = "prod (examples/operations)";
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
        let mut policies: Vec<(&'static str, Policy)> = ENVIRONMENTS.iter().map(|e| (*e, policy(e))).collect();
        // And prod with the operations rules on, as examples/operations configures them.
        let operations = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/operations");
        policies.push((OPERATIONS, temper::Config::load(Some(&operations)).unwrap().resolve("prod").unwrap()));
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
    // The index reads the documents as the pipeline keeps them: compacted, many as text.
    let sealed: Vec<_> = docs.iter().cloned().map(read::Document::compact).collect();
    let index = Index::scopes(&sealed, None, scopes).unwrap();
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
                cluster: index.place_of(&object::ResourceId::of(0, None, obj)) == Place::Cluster,
                namespace: object::namespace(obj).map(str::to_string),
                name: object::name(obj).to_string(),
                kind,
                one_per_namespace,
            }
        })
        .collect()
}

type Id<'a> = (&'a str, &'a str, &'a str, &'a str);
type Counts<'a> = (HashMap<Id<'a>, usize>, HashMap<(&'a str, &'a str), usize>);

/// Identities, and objects that must be one per namespace, counted when the release namespace
/// is `release`.
fn counts<'a>(objects: &'a [Placed], release: &'a str) -> Counts<'a> {
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

/// The Deployments of a stream, by namespace (`None`: the release namespace) and name.
fn deployments(text: &str) -> HashMap<(Option<String>, String), Value> {
    let docs = read::parse(&[Input::new("case", text)]).unwrap();
    docs.iter()
        .flat_map(|d| d.resources())
        .filter(|(_, o)| object::kind(o) == "Deployment" && object::str_at(o, &["apiVersion"]) == Some("apps/v1"))
        .map(|(_, o)| ((object::namespace(o).map(str::to_string), object::name(o).to_string()), o.clone()))
        .collect()
}

/// Why the test thinks a Deployment cannot run twice, judged from Kubernetes semantics alone
/// (and a short list of well-known single-writer images), not from temper's tables.
fn cannot_run_twice(deployment: &Value, claims: &HashMap<(Option<String>, String), Vec<String>>) -> Option<String> {
    let ns = object::namespace(deployment).map(str::to_string);
    if object::str_at(deployment, &["spec", "strategy", "type"]) == Some("Recreate") {
        return Some("strategy Recreate".into());
    }
    let spec = &deployment["spec"]["template"]["spec"];
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        if let Some(claim) = object::str_at(volume, &["persistentVolumeClaim", "claimName"]) {
            match claims.get(&(ns.clone(), claim.to_string())) {
                None => return Some(format!("undefined claim {claim}")),
                Some(modes) if modes.iter().any(|m| m == "ReadWriteOnce" || m == "ReadWriteOncePod") => {
                    return Some(format!("ReadWriteOnce claim {claim}"));
                }
                Some(_) => {}
            }
        }
    }
    let stores = regex::Regex::new(
        r"(^|/)(postgres|mysql|mariadb|mongo|redis|valkey|keydb|rabbitmq|etcd|zookeeper|minio|volume-nfs)(:|@|$)",
    )
    .unwrap();
    let replicated =
        regex::Regex::new(r"(?i)REPLICATION_MODE|REPLICA_SET|INITIAL_CLUSTER|ZOO_SERVERS|DISTRIBUTED").unwrap();
    let containers = spec["containers"].as_array().into_iter().flatten();
    let env_names: Vec<&str> = containers
        .clone()
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .filter_map(|e| e["name"].as_str())
        .collect();
    let args: Vec<&str> = containers
        .clone()
        .flat_map(|c| c["args"].as_array().into_iter().flatten().chain(c["command"].as_array().into_iter().flatten()))
        .filter_map(Value::as_str)
        .collect();
    for image in containers.filter_map(|c| c["image"].as_str()) {
        let bare = image.rsplit_once('/').map_or(image, |(_, last)| last);
        let replicated = env_names.iter().any(|n| replicated.is_match(n))
            || args
                .iter()
                .any(|a| a.starts_with("--replicaof") || a.contains("{0...") || a.contains("--initial-cluster"));
        if stores.is_match(&format!("/{bare}")) && !replicated {
            return Some(format!("single-writer image {image}"));
        }
    }
    None
}

fn claims(text: &str) -> HashMap<(Option<String>, String), Vec<String>> {
    let docs = read::parse(&[Input::new("case", text)]).unwrap();
    docs.iter()
        .flat_map(|d| d.resources())
        .filter(|(_, o)| object::kind(o) == "PersistentVolumeClaim")
        .map(|(_, o)| {
            let modes = o["spec"]["accessModes"].as_array().into_iter().flatten().filter_map(Value::as_str);
            (
                (object::namespace(o).map(str::to_string), object::name(o).to_string()),
                modes.map(str::to_string).collect(),
            )
        })
        .collect()
}

fn replicas(deployment: &Value) -> i64 {
    deployment["spec"]["replicas"].as_i64().unwrap_or(1)
}

/// Whether a PodDisruptionBudget in the same namespace selects the Deployment's pods.
fn budgets_over<'a>(budgets: &'a [Value], deployment: &Value) -> Vec<&'a Value> {
    let labels = deployment["spec"]["template"]["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    budgets
        .iter()
        .filter(|b| object::namespace(b) == object::namespace(deployment))
        .filter(|b| {
            temper::select::Selector::from_label_selector(&b["spec"]["selector"]).is_some_and(|s| s.matches(&labels))
        })
        .collect()
}

/// The `minReplicas` of every autoscaler targeting a Deployment, by the Deployment.
fn autoscaler_minimums(text: &str) -> HashMap<(Option<String>, String), i64> {
    let docs = read::parse(&[Input::new("case", text)]).unwrap();
    docs.iter()
        .flat_map(|d| d.resources())
        .filter(|(_, o)| object::kind(o) == "HorizontalPodAutoscaler")
        .filter(|(_, o)| o["spec"]["scaleTargetRef"]["kind"] == "Deployment")
        .filter_map(|(_, o)| {
            let target = o["spec"]["scaleTargetRef"]["name"].as_str()?;
            let key = (object::namespace(o).map(str::to_string), target.to_string());
            Some((key, o["spec"]["minReplicas"].as_i64().unwrap_or(1)))
        })
        .collect()
}

fn budgets(text: &str) -> Vec<Value> {
    let docs = read::parse(&[Input::new("case", text)]).unwrap();
    docs.iter()
        .flat_map(|d| d.resources())
        .filter(|(_, o)| object::kind(o) == "PodDisruptionBudget")
        .map(|(_, o)| o.clone())
        .collect()
}

#[test]
fn what_cannot_run_twice_is_never_scaled_and_gets_no_budget() {
    let mut seen = 0;
    for run in runs() {
        let claims = claims(&run.input);
        let before = deployments(&run.input);
        let after = deployments(&run.output);
        let added_budgets: Vec<Value> = budgets(&run.output)
            .into_iter()
            .filter(|b| object::labels(b).contains_key("app.kubernetes.io/created-by"))
            .collect();
        for (key, deployment) in &before {
            let Some(why) = cannot_run_twice(deployment, &claims) else { continue };
            seen += 1;
            let out = &after[key];
            assert!(
                replicas(out) <= replicas(deployment).max(1),
                "{}: {key:?} ({why}) was scaled to {}",
                run.what(),
                replicas(out)
            );
            assert!(budgets_over(&added_budgets, out).is_empty(), "{}: {key:?} ({why}) got a budget", run.what());
        }
        // Every one temper left alone is reported, with the reason.
        for v in run.report.violations.iter().filter(|v| v.refused && v.rule.as_str() == "minimum-replicas") {
            assert!(v.message().contains("production practice"), "{}: {}", run.what(), v.message());
        }
    }
    assert!(seen > 30, "only {seen} workloads that cannot run twice were seen");
}

#[test]
fn a_budget_always_lets_a_drain_evict_one_pod() {
    let mut seen = 0;
    for run in runs() {
        let all = budgets(&run.output);
        let autoscalers = autoscaler_minimums(&run.output);
        for deployment in deployments(&run.output).values() {
            let over = budgets_over(&all, deployment);
            assert!(
                over.len() <= 1 || budgets_over(&budgets(&run.input), deployment).len() > 1,
                "{}: two budgets over {}",
                run.what(),
                object::name(deployment)
            );
            for budget in over.into_iter().filter(|b| object::labels(b).contains_key("app.kubernetes.io/created-by")) {
                seen += 1;
                // An autoscaler in the stream owns the count: it never goes below its minimum.
                let key = (object::namespace(deployment).map(str::to_string), object::name(deployment).to_string());
                let replicas = autoscalers.get(&key).copied().unwrap_or_else(|| replicas(deployment));
                let min_available = match &budget["spec"]["minAvailable"] {
                    Value::Number(n) => n.as_i64().unwrap(),
                    Value::String(p) => (p.trim_end_matches('%').parse::<i64>().unwrap() * replicas + 99) / 100,
                    _ => 0,
                };
                assert!(
                    min_available < replicas,
                    "{}: {} asks for {min_available} of {replicas} pods",
                    run.what(),
                    object::name(budget)
                );
            }
        }
    }
    assert!(seen > 30, "only {seen} generated budgets were seen");
}

/// The objects of a stream, with their namespace (`None`: the release namespace).
fn objects(text: &str) -> Vec<Value> {
    let docs = read::parse(&[Input::new("case", text)]).unwrap();
    docs.iter().flat_map(|d| d.resources()).map(|(_, o)| o.clone()).collect()
}

fn generated(obj: &Value) -> bool {
    object::labels(obj).contains_key("app.kubernetes.io/created-by")
}

#[test]
fn every_quota_temper_adds_comes_with_a_limit_range() {
    let mut seen = 0;
    for run in runs() {
        let out = objects(&run.output);
        let limit_ranges: BTreeSet<Option<&str>> =
            out.iter().filter(|o| object::kind(o) == "LimitRange").map(object::namespace).collect();
        for quota in out.iter().filter(|o| object::kind(o) == "ResourceQuota" && generated(o)) {
            seen += 1;
            assert!(
                limit_ranges.contains(&object::namespace(quota)),
                "{}: quota {:?} without a LimitRange beside it",
                run.what(),
                object::namespace(quota)
            );
        }
    }
    assert!(seen > 30, "only {seen} generated quotas were seen");
}

/// The containers of every pod template in a stream: (where, container).
fn containers_of(objects: &[Value]) -> Vec<(String, &Value)> {
    let templates = ["/spec/template/spec", "/spec/jobTemplate/spec/template/spec", "/spec"];
    let mut out = Vec::new();
    for obj in objects {
        let Some(spec) = templates.iter().find_map(|t| obj.pointer(t).filter(|s| s.get("containers").is_some())) else {
            continue;
        };
        for c in spec["containers"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default();
            out.push((format!("{}/{}/{name}", object::kind(obj), object::name(obj)), c));
        }
    }
    out
}

#[test]
fn read_only_roots_keep_where_known_images_write_and_nobody_loses_their_uid() {
    // Where two well-known images write, from their own documentation (nginx: "Running nginx in
    // read-only mode"; postgres: the image's socket directory), judged here, not by temper.
    let writes = [("nginx:", "/var/cache/nginx"), ("postgres:", "/var/run/postgresql")];
    let mut seen = 0;
    for run in runs() {
        let before = objects(&run.input);
        let after = objects(&run.output);
        let before = containers_of(&before);
        for ((at, out), (_, input)) in containers_of(&after).into_iter().zip(before) {
            // A UID a container sets for itself is kept.
            if let Some(uid) = input["securityContext"]["runAsUser"].as_i64() {
                assert_eq!(out["securityContext"]["runAsUser"].as_i64(), Some(uid), "{}: {at}", run.what());
            }
            let made_read_only = input["securityContext"]["readOnlyRootFilesystem"].is_null()
                && out["securityContext"]["readOnlyRootFilesystem"] == true;
            if !made_read_only {
                continue;
            }
            let image = out["image"].as_str().unwrap_or_default();
            let mounts: Vec<&str> = out["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["mountPath"].as_str())
                .map(|m| m.trim_end_matches('/'))
                .collect();
            assert!(mounts.contains(&"/tmp"), "{}: {at} is read-only without /tmp", run.what());
            for (name, path) in writes {
                // The official images: `name`, `library/name` or `docker.io/library/name`.
                let official = image.trim_start_matches("docker.io/").trim_start_matches("library/");
                if official.starts_with(name) {
                    seen += 1;
                    let covered = mounts.iter().any(|m| path == *m || path.starts_with(&format!("{m}/")));
                    assert!(covered, "{}: {at} ({image}) is read-only with nothing at {path}", run.what());
                }
            }
        }
    }
    assert!(seen > 5, "only {seen} read-only nginx and postgres containers were seen");
}

#[test]
fn every_connection_the_input_allows_is_still_allowed() {
    let mut seen: HashMap<&'static str, usize> = HashMap::new();
    for run in runs() {
        for review in &run.report.flows {
            let kind = match &review.flow.from {
                temper::record::Source::ApiServer => "the API server",
                temper::record::Source::Outside => "outside the cluster",
                temper::record::Source::Workload { .. } => "a workload",
                temper::record::Source::Namespace { .. } => "a namespace",
                _ => "unplaced",
            };
            *seen.entry(kind).or_default() += 1;
            assert!(
                !review.before.allowed() || review.after.allowed(),
                "{}: {} -> {} ({}) was {} and is now {}: {}",
                run.what(),
                review.flow.from.describe(),
                review.flow.to,
                review.flow.describe_ports(),
                review.before.describe(),
                review.after.describe(),
                review.flow.reason
            );
        }
    }
    // Webhooks and aggregated APIs (ingress-nginx, cert-manager, istiod, linkerd,
    // prometheus-adapter), load balancers (ingress-nginx, istio's gateway), in-release clients.
    for (kind, at_least) in
        [("the API server", 20), ("outside the cluster", 10), ("a workload", 50), ("a namespace", 10)]
    {
        let n = seen.get(kind).copied().unwrap_or(0);
        assert!(n >= at_least, "only {n} flows from {kind}: {seen:?}");
    }
    assert_eq!(seen.get("unplaced"), None, "flows left unplaced: {seen:?}");
}

#[test]
fn the_platform_chart_keeps_every_connection_it_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = read_file(&root.join("tests/fixtures/release/platform.yaml"));
    let outcome = temper::run(
        &[Input::new("platform", text.as_str())],
        &policy("prod"),
        &Settings::render(Some("platform".into())),
    )
    .unwrap();
    let flows: Vec<(String, String, String)> = outcome
        .report
        .flows
        .iter()
        .map(|r| {
            assert!(r.after.allowed(), "{} -> {} is {}", r.flow.from.describe(), r.flow.to, r.after.describe());
            (r.flow.from.describe(), r.flow.to.name.to_string(), r.flow.describe_ports())
        })
        .collect();
    let needed = [
        ("the API server", "platform-ingress-nginx-controller", "webhook/TCP"),
        ("outside the cluster", "platform-ingress-nginx-controller", "http/TCP, https/TCP"),
        ("Deployment/platform/platform-ingress-nginx-controller", "platform-web", "http/TCP"),
        ("Deployment/platform/platform-web", "platform-engine", "http/TCP"),
        ("Deployment/platform/platform-engine", "platform-postgresql", "postgresql/TCP"),
        ("Deployment/platform/platform-engine", "platform-keydb", "keydb/TCP"),
        ("Job/platform-migrate", "platform-postgresql", "postgresql/TCP"),
        ("CronJob/platform/platform-report", "platform-engine", "http/TCP"),
        ("namespace monitoring", "platform-engine", "9090/TCP"),
    ];
    for (from, to, ports) in needed {
        assert!(
            flows.iter().any(|(f, t, p)| f == from && t == to && p == ports),
            "{from} -> {to} ({ports}) was not inferred; flows: {flows:#?}"
        );
    }
}
