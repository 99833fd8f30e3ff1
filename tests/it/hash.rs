//! The compliance hash: it ignores formatting, follows meaning, does not depend on threads,
//! and stamped streams verify until someone edits them.

use serde_json::{Map, Value, json};
use temper::compliance::{self, ResourceStamps, SecretValues};
use temper::read::{self, Input};
use temper::{Config, Policy, Settings};

use crate::util::{policy, valid_corpus};

fn hash_on(threads: usize, policy: &Policy, text: &str) -> String {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let settings = Settings::render(None).with_compliance(SecretValues::Length);
    let outcome = pool.install(|| temper::run(&[Input::new("h", text)], policy, &settings)).unwrap();
    outcome.report.compliance.unwrap().compliance_hash
}

fn hash(policy: &Policy, text: &str) -> String {
    hash_on(2, policy, text)
}

fn values(text: &str) -> Vec<Value> {
    read::parse(&[Input::new("v", text)]).unwrap().into_iter().filter_map(|d| d.value).collect()
}

/// Keys in reverse order, all the way down.
fn reverse_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().rev().map(|(k, v)| (k.clone(), reverse_keys(v))).collect::<Map<_, _>>())
        }
        Value::Array(a) => Value::Array(a.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

/// The same documents written differently: keys reversed, flow style with double quotes,
/// anchors expanded, comments added, CRLF line endings.
fn reformat(text: &str) -> String {
    values(text)
        .iter()
        .map(|v| format!("# reformatted\r\n---\r\n{}\r\n", serde_json::to_string(&reverse_keys(v)).unwrap()))
        .collect()
}

/// The `n`-th document's resource (in a List, its first item).
fn resource_mut(docs: &mut [Value], n: usize) -> &mut Value {
    match docs[n].get("items").and_then(Value::as_array).is_some_and(|i| !i.is_empty()) {
        true => &mut docs[n]["items"][0],
        false => &mut docs[n],
    }
}

/// Sets `key: value` among the resource's labels, creating what is missing.
fn set_label(resource: &mut Value, key: &str, value: &str) {
    if !resource["metadata"].is_object() {
        resource["metadata"] = json!({});
    }
    if !resource["metadata"]["labels"].is_object() {
        resource["metadata"]["labels"] = json!({});
    }
    resource["metadata"]["labels"][key] = json!(value);
}

fn emit_all(docs: &[Value]) -> String {
    docs.iter().map(|v| format!("---\n{}", temper::yaml::emit(v).unwrap())).collect()
}

/// One semantic edit: a label added to the first resource (List wrappers are not resources).
fn edit(text: &str) -> String {
    let mut docs = values(text);
    let first = docs
        .iter()
        .position(|d| {
            !d["kind"].as_str().unwrap().ends_with("List") || d["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .unwrap();
    set_label(resource_mut(&mut docs, first), "temper-test-edit", "1");
    emit_all(&docs)
}

#[test]
fn corpus_hashes_ignore_formatting_follow_meaning_and_threads() {
    let policy = policy("prod");
    for (name, text) in valid_corpus() {
        let original = hash_on(1, &policy, &text);
        assert_eq!(original, hash_on(2, &policy, &text), "{name}: hash depends on the thread count");
        assert_eq!(original, hash(&policy, &reformat(&text)), "{name}: hash depends on formatting");
        assert_ne!(original, hash(&policy, &edit(&text)), "{name}: a semantic edit did not change the hash");
    }
}

#[test]
fn scalars_hash_by_meaning() {
    let policy = policy("dev");
    let cm = |data: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n{data}");
    let base = hash(&policy, &cm("  mode: '0755'\n  flag: 'on'\n"));
    assert_eq!(base, hash(&policy, &cm("  mode: \"0755\"\n  flag: \"on\"\n")), "quoting style");
    assert_ne!(base, hash(&policy, &cm("  mode: 0755\n  flag: 'on'\n")), "an octal integer is not a string");
    assert_ne!(base, hash(&policy, &cm("  mode: '0755'\n  flag: on\n")), "a YAML 1.1 boolean is not a string");
    let pod = |mode: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: c, image: 'x:1'}}]\n  volumes: [{{name: v, configMap: {{name: c, defaultMode: {mode}}}}}]\n"
        )
    };
    assert_eq!(hash(&policy, &pod("0644")), hash(&policy, &pod("420")), "0644 is 420");
    assert_eq!(hash(&policy, &pod("420.0")), hash(&policy, &pod("420")), "420.0 is 420 once decoded");
    assert_ne!(
        hash(&policy, &pod("9007199254740993")),
        hash(&policy, &pod("9007199254740992")),
        "big integers are exact"
    );
    let anchors = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: &l {a: b}}\ndata: *l\n";
    let expanded = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: b}}\ndata: {a: b}\n";
    assert_eq!(hash(&policy, anchors), hash(&policy, expanded), "anchors");
}

#[test]
fn secret_values_enter_the_hash_only_through_hmac() {
    let policy = policy("dev");
    let secret =
        |v: &str| format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData: {{password: {v}}}\n");
    assert_eq!(hash(&policy, &secret("aaaa")), hash(&policy, &secret("bbbb")));
    assert_ne!(hash(&policy, &secret("aaaa")), hash(&policy, &secret("bbbbb")));
    let hmac = |v: &str| {
        let settings = Settings::render(None).with_compliance(SecretValues::Hmac(b"key".to_vec()));
        temper::run(&[Input::new("h", secret(v))], &policy, &settings)
            .unwrap()
            .report
            .compliance
            .unwrap()
            .compliance_hash
    };
    assert_ne!(hmac("aaaa"), hmac("bbbb"));
}

fn stamped(policy: &Policy, text: &str) -> String {
    let settings = Settings::render(None).with_compliance(SecretValues::Length).with_stamps(true);
    temper::run(&[Input::new("s", text)], policy, &settings).unwrap().output
}

/// What `temper verify --stamped` does: the stamps, then a check under the stamped
/// environment. `Ok` holds the environment; `Err` why the stream does not verify.
fn verify(text: &str) -> Result<String, String> {
    let inputs = [Input::new("stamped", text)];
    let stamped = compliance::read_stamps(
        read::parse(&inputs).unwrap().iter().flat_map(|d| ResourceStamps::of_document(d, &SecretValues::Length)),
    )?;
    let policy = Config::builtin().unwrap().resolve(&stamped.environment).unwrap();
    if let Some(why) = stamped.policy_changed(&policy) {
        return Err(why);
    }
    let report = temper::run(&inputs, &policy, &Settings::check(None)).unwrap().report;
    stamped.verify(&policy, &report.violations, &report.exemptions)?;
    Ok(stamped.environment)
}

#[test]
fn stamped_corpus_verifies_and_an_edit_is_named() {
    let policy = policy("prod");
    for (name, text) in valid_corpus() {
        let out = stamped(&policy, &text);
        match verify(&out) {
            Ok(environment) => assert_eq!(environment, "prod"),
            Err(why) => panic!("{name}: a fresh stamp does not verify: {why}"),
        }
        // Edit one field of one resource in the middle of the stream (in a List, of an item).
        let mut docs = values(&out);
        let middle = docs.len() / 2;
        let resource = resource_mut(&mut docs, middle);
        let target = temper::object::Key::of(resource).to_string();
        set_label(resource, "edited", "yes");
        let edited = emit_all(&docs);
        match verify(&edited) {
            Err(why) => assert!(why.starts_with(&format!("{target} was modified")), "{name}: {why}"),
            Ok(_) => panic!("{name}: an edited stream verified"),
        }
    }
}

#[test]
fn verify_reports_unstamped_and_mixed_streams() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
    assert_eq!(verify(input), Err("ConfigMap/a is not stamped".into()));
    assert_eq!(verify("# only a comment\n"), Err("the stream holds no resources".into()));
    let one = stamped(&policy("prod"), input);
    let other = stamped(&policy("dev"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
    assert_eq!(verify(&format!("{one}---\n{other}")), Err("ConfigMap/b carries the stamps of another render".into()));
}

/// A review keeps whole only the violations that fail it and counts the others
/// (`Settings::for_review`): its compliance hash, its counts and its blockers are the render's,
/// on every corpus file in every environment, and where exemptions cover violations.
#[test]
fn a_review_hashes_counts_and_blocks_as_its_render() {
    let text = std::fs::read_to_string(crate::rules::fixtures().join("exemptions/exemptions.yaml")).unwrap();
    let (config, exempted) = crate::rules::split_config(&text);
    let mut cases: Vec<(String, Policy, String)> =
        vec![("exemptions.yaml".into(), crate::util::policy_from(config[0]), exempted)];
    for env in ["dev", "staging", "prod"] {
        cases.extend(valid_corpus().into_iter().map(|(name, text)| (format!("{env}: {name}"), policy(env), text)));
    }
    let (mut hidden, mut exemptions) = (0, 0);
    for (name, policy, text) in &cases {
        let settings = Settings::render(None).with_compliance(SecretValues::Length);
        let run = |settings: &Settings| temper::run(&[Input::new(name, text)], policy, settings).unwrap();
        let (render, review) = (run(&settings), run(&settings.clone().for_review()));
        let (render, review) = (&render.report, &review.report);
        let hash = |r: &temper::report::Report| r.compliance.as_ref().map(|c| c.compliance_hash.clone());
        assert!(hash(render).is_some() && hash(render) == hash(review), "{name}: the review's hash differs");
        let json = |v: serde_json::Result<Value>| v.unwrap();
        let counts = |r: &temper::report::Report| json(serde_json::to_value(&r.counts));
        assert_eq!(counts(review), counts(render), "{name}: the review counts otherwise");
        let (kept, blockers) =
            (json(serde_json::to_value(&review.violations)), json(serde_json::to_value(render.blockers())));
        assert_eq!(kept, blockers, "{name}: the review keeps other violations");
        hidden += render.violations.len() - review.violations.len();
        exemptions += review.counts.exempted;
    }
    // What this test is about happened: violations counted and not kept, exempted ones among them.
    assert!(hidden > 0 && exemptions > 0, "{hidden} violations counted only, {exemptions} exempted");
}
