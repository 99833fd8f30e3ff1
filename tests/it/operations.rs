//! The operations rules end to end, with `examples/operations` (External Secrets Operator and
//! a `vault` ClusterSecretStore, kube-prometheus-stack, Velero): prod renders the quickstart and
//! the platform chart through the binary with no plaintext Secret left and every Secret
//! reference still answered; no planted secret value reaches stdout, stderr, the report, a
//! diff or the log; the objects temper writes validate against their CRDs' published schemas
//! (`tests/fixtures/crds`); and sync waves never hold back what a workload needs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;
use temper::compliance::{self, ResourceStamps, SecretValues};
use temper::object;
use temper::read::{self, Input};
use temper::{Config, Policy, Settings};

use crate::util::{TempDir, check_faithful, read_file, run_with_stdin, temper};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example_dir() -> PathBuf {
    root().join("examples/operations")
}

/// The example's prod.
fn example() -> Policy {
    Config::load(Some(&example_dir())).unwrap().resolve("prod").unwrap()
}

fn objects(text: &str) -> Vec<Value> {
    read::parse(&[Input::new("t", text)]).unwrap().iter().flat_map(|d| d.resources()).map(|(_, o)| o.clone()).collect()
}

type SecretKey = (Option<String>, String);

/// The Secrets a stream makes, with their keys (`None`: whatever the remote holds): v1
/// Secrets, ExternalSecrets and the secretObjects of SecretProviderClasses.
fn made_secrets(objects: &[Value]) -> HashMap<SecretKey, Option<BTreeSet<String>>> {
    let mut made = HashMap::new();
    for o in objects {
        let ns = object::namespace(o).map(str::to_string);
        let api = object::str_at(o, &["apiVersion"]).unwrap_or_default();
        match (api, object::kind(o)) {
            ("v1", "Secret") => {
                let keys = ["data", "stringData"]
                    .iter()
                    .flat_map(|f| o[f].as_object().into_iter().flat_map(|m| m.keys().cloned()));
                made.insert((ns, object::name(o).to_string()), Some(keys.collect()));
            }
            ("external-secrets.io/v1", "ExternalSecret") => {
                let name = object::str_at(o, &["spec", "target", "name"]).unwrap_or(object::name(o)).to_string();
                let keys: BTreeSet<String> = o["spec"]["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["secretKey"].as_str().map(str::to_string))
                    .collect();
                let any = o["spec"]["dataFrom"].as_array().is_some_and(|d| !d.is_empty());
                made.insert((ns, name), (!any).then_some(keys));
            }
            ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass") => {
                for so in o["spec"]["secretObjects"].as_array().into_iter().flatten() {
                    let keys = so["data"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|d| d["key"].as_str().map(str::to_string));
                    made.insert(
                        (ns.clone(), so["secretName"].as_str().unwrap_or_default().to_string()),
                        Some(keys.collect()),
                    );
                }
            }
            _ => {}
        }
    }
    made
}

/// The pod specs of a stream: (namespace, where, pod spec).
fn pod_specs(objects: &[Value]) -> Vec<(Option<String>, String, &Value)> {
    let templates = ["/spec/template/spec", "/spec/jobTemplate/spec/template/spec", "/spec"];
    objects
        .iter()
        .filter_map(|o| {
            let spec = templates.iter().find_map(|t| o.pointer(t).filter(|s| s.get("containers").is_some()))?;
            Some((object::namespace(o).map(str::to_string), format!("{}/{}", object::kind(o), object::name(o)), spec))
        })
        .collect()
}

/// Every Secret a pod spec refers to: (name, key).
fn secret_refs(spec: &Value) -> Vec<(String, Option<String>)> {
    let mut refs = Vec::new();
    let lists = ["initContainers", "containers"];
    for c in lists.iter().flat_map(|l| spec[l].as_array().into_iter().flatten()) {
        for e in c["env"].as_array().into_iter().flatten() {
            if let Some(name) = e.pointer("/valueFrom/secretKeyRef/name").and_then(Value::as_str) {
                let key = e.pointer("/valueFrom/secretKeyRef/key").and_then(Value::as_str).map(str::to_string);
                refs.push((name.to_string(), key));
            }
        }
        for e in c["envFrom"].as_array().into_iter().flatten() {
            refs.extend(e.pointer("/secretRef/name").and_then(Value::as_str).map(|n| (n.to_string(), None)));
        }
    }
    for v in spec["volumes"].as_array().into_iter().flatten() {
        refs.extend(v.pointer("/secret/secretName").and_then(Value::as_str).map(|n| (n.to_string(), None)));
    }
    for p in spec["imagePullSecrets"].as_array().into_iter().flatten() {
        refs.extend(p["name"].as_str().map(|n| (n.to_string(), None)));
    }
    refs
}

/// Asserts that every Secret reference the input answered, the output answers too, key
/// included, and that no v1 Secret with values is left.
#[track_caller]
fn every_reference_is_answered(what: &str, input: &str, output: &str) -> usize {
    let (before, after) = (objects(input), objects(output));
    let (had, has) = (made_secrets(&before), made_secrets(&after));
    for o in &after {
        let plaintext = object::kind(o) == "Secret"
            && ["data", "stringData"].iter().any(|f| o[f].as_object().is_some_and(|m| !m.is_empty()));
        assert!(!plaintext, "{what}: a plaintext Secret is left: {}", object::name(o));
    }
    let mut answered = 0;
    for (ns, at, spec) in pod_specs(&after) {
        for (name, key) in secret_refs(spec) {
            let id = (ns.clone(), name.clone());
            let Some(keys_before) = had.get(&id) else { continue };
            let keys_after = has
                .get(&id)
                .unwrap_or_else(|| panic!("{what}: {at} reads Secret {name}, which nothing makes any more"));
            if let (Some(key), Some(before), Some(after)) = (&key, keys_before, keys_after)
                && before.contains(key)
            {
                assert!(after.contains(key), "{what}: {at} reads key {key} of Secret {name}, which is no longer made");
            }
            answered += 1;
        }
    }
    answered
}

/// The two charts of the issue: the quickstart, and the platform chart with the release
/// namespace it is installed in.
fn charts() -> [(&'static str, Option<&'static str>); 2] {
    [("examples/quickstart/rendered.yaml", None), ("tests/fixtures/release/platform.yaml", Some("platform"))]
}

#[test]
fn prod_renders_both_charts_with_every_secret_from_the_secret_manager() {
    let tmp = TempDir::new("operations-render");
    for (file, namespace) in charts() {
        let input = read_file(&root().join(file));
        let report = tmp.path("report.json");
        let mut cmd = temper();
        cmd.args(["render", "--env", "prod", "--config"]).arg(example_dir()).arg("--report").arg(&report);
        cmd.args(namespace.map(|n| vec!["-n", n]).unwrap_or_default());
        let out = run_with_stdin(&mut cmd, input.as_bytes());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{file}: {stderr}");
        let output = String::from_utf8(out.stdout).unwrap();
        let answered = every_reference_is_answered(file, &input, &output);
        assert!(answered >= 3, "{file}: only {answered} Secret references were checked");
        // The checklist: one entry per replaced Secret, naming the store and the remote entries.
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let prerequisites = report["prerequisites"].as_array().unwrap();
        let replaced = objects(&output).iter().filter(|o| object::kind(o) == "ExternalSecret").count();
        assert_eq!(prerequisites.len(), replaced, "{file}");
        for p in prerequisites {
            assert_eq!(p["place"], "ClusterSecretStore vault", "{file}");
            let todo = format!("todo[external-secrets] {}", p["resource"]["kind"].as_str().unwrap());
            assert!(stderr.contains(&todo), "{file}: {stderr}");
        }
        for kind in ["ExternalSecret", "PrometheusRule", "Schedule"] {
            assert!(objects(&output).iter().any(|o| object::kind(o) == kind), "{file}: no {kind}");
        }
        // Rendering the output again changes nothing.
        let mut again = temper();
        again.args(["render", "--env", "prod", "--config"]).arg(example_dir());
        again.args(namespace.map(|n| vec!["-n", n]).unwrap_or_default());
        let second = run_with_stdin(&mut again, output.as_bytes());
        assert_eq!(second.status.code(), Some(0), "{file}: {}", String::from_utf8_lossy(&second.stderr));
        assert!(second.stdout == output.as_bytes(), "{file}: rendering the output again changed it");
    }
}

/// What `temper verify --stamped` does, for the example: a check of a stamped output gives the
/// results its render stamped.
#[test]
fn a_stamped_render_verifies_under_the_example() {
    let policy = example();
    for (file, namespace) in charts() {
        let input = read_file(&root().join(file));
        let release = namespace.map(str::to_string);
        let settings = Settings::render(release.clone()).with_compliance(SecretValues::Length).with_stamps(true);
        let outcome = temper::run(&[Input::new("chart", input.as_str())], &policy, &settings).unwrap();
        check_faithful(&input, &outcome);
        let inputs = [Input::new("stamped", outcome.output.as_str())];
        let stamped = compliance::read_stamps(
            read::parse(&inputs).unwrap().iter().flat_map(|d| ResourceStamps::of_document(d, &SecretValues::Length)),
        )
        .unwrap();
        let report = temper::run(&inputs, &policy, &Settings::check(release)).unwrap().report;
        stamped.verify(&policy, &report.violations, &report.exemptions).unwrap_or_else(|why| panic!("{file}: {why}"));
    }
}

/// The platform chart with planted values: in `stringData`, in `data` (base64), and in a
/// Secret only the CSI driver's configuration replaces.
fn planted() -> (String, Vec<String>) {
    let text = read_file(&root().join("tests/fixtures/release/platform.yaml"))
        .replace("never-printed-db-password", "planted-Zq81-db")
        .replace("never-printed-cache-password", "planted-Zq81-cache");
    let token = "planted-Zq81-token";
    // No secret value is ever shown: the planted prefix, and its base64 prefix, count too.
    let encoded = base64::engine::general_purpose::STANDARD.encode(token);
    let extra = format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: platform-registry, namespace: platform}}\ntype: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {encoded}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: platform-api, namespace: platform}}\ndata: {{token: {encoded}}}\n"
    );
    let text = text.replace(
        "          envFrom:\n            - configMapRef:\n                name: platform-config\n          env:\n            - name: DATABASE_PASSWORD",
        "          envFrom:\n            - configMapRef:\n                name: platform-config\n            - secretRef:\n                name: platform-api\n          env:\n            - name: DATABASE_PASSWORD",
    );
    let text = text.replace(
        "    spec:\n      containers:\n        - name: engine\n",
        "    spec:\n      imagePullSecrets:\n        - name: platform-registry\n      containers:\n        - name: engine\n",
    );
    let text = format!("{text}{extra}");
    assert!(text.contains("name: platform-api\n          env:"), "the planted stream lost a reader");
    assert!(text.contains("- name: platform-registry\n"), "the planted stream lost a reader");
    let mut values: Vec<String> = Vec::new();
    for plain in ["planted-Zq81-db", "planted-Zq81-cache", token, "planted-Zq81"] {
        values.push(plain.to_string());
        values.push(base64::engine::general_purpose::STANDARD.encode(plain).trim_end_matches('=').to_string());
    }
    (text, values)
}

#[test]
fn no_planted_secret_value_reaches_any_output() {
    let (input, values) = planted();
    let tmp = TempDir::new("operations-secrets");
    let file = tmp.write("platform.yaml", &input);
    // The example (External Secrets Operator), and the same with the CSI driver.
    let csi = tmp.root().join("csi");
    let example = std::fs::read_to_string(example_dir().join("environments/prod.yaml")).unwrap();
    let csi_env = example.replace(
        "        provider: external-secrets-operator\n        secretStoreRef: {kind: ClusterSecretStore, name: vault}\n        remoteKey: \"{namespace}/{secret}\"\n        remoteProperty: \"{key}\"\n",
        "        provider: csi\n        csi: {provider: azure, parameters: {keyvaultName: kv-prod, tenantId: 00000000-0000-0000-0000-000000000000}}\n        remoteKey: \"{namespace}-{secret}-{key}\"\n",
    );
    assert_ne!(csi_env, example, "the CSI variant did not replace the provider");
    tmp.write("csi/environments/prod.yaml", &csi_env);
    let mut texts: Vec<(String, String)> = Vec::new();
    for config in [example_dir(), csi] {
        let (report, log, diff) = (tmp.path("report.json"), tmp.path("temper.log"), tmp.path("diff.txt"));
        let mut cmd = temper();
        cmd.args(["render", "--env", "prod", "-n", "platform", "--config"]).arg(&config);
        cmd.arg("--report").arg(&report).arg("--log-file").arg(&log).arg("--diff").arg(&diff).arg("-f").arg(&file);
        let out = run_with_stdin(&mut cmd, b"");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let what = format!("render with {}", config.display());
        assert!(objects(&String::from_utf8_lossy(&out.stdout)).iter().all(|o| object::kind(o) != "Secret"), "{what}");
        texts.push((format!("{what}: stdout"), String::from_utf8_lossy(&out.stdout).into()));
        texts.push((format!("{what}: stderr"), String::from_utf8_lossy(&out.stderr).into()));
        for (name, path) in [("report", &report), ("log", &log), ("diff", &diff)] {
            texts.push((format!("{what}: {name}"), std::fs::read_to_string(path).unwrap()));
        }
        for format in temper::diff::Format::ALL {
            let mut cmd = temper();
            cmd.args(["diff", "-e", "prod", "-n", "platform", "--format", format.as_str(), "--config"])
                .arg(&config)
                .arg("-f")
                .arg(&file);
            let out = run_with_stdin(&mut cmd, b"");
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "diff {format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            texts.push((
                format!("diff {format} with {}", config.display()),
                String::from_utf8_lossy(&out.stdout).into(),
            ));
            texts.push((format!("diff {format} stderr"), String::from_utf8_lossy(&out.stderr).into()));
        }
        let mut cmd = temper();
        cmd.args(["promote", "--from", "staging", "--to", "prod", "--format", "json", "--config"])
            .arg(&config)
            .arg("-f")
            .arg(&file);
        let out = run_with_stdin(&mut cmd, b"");
        texts.push((
            "promote".into(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        ));
        for format in ["text", "json", "sarif"] {
            let mut cmd = temper();
            cmd.args(["check", "-e", "prod", "-n", "platform", "--format", format, "--config"])
                .arg(&config)
                .arg("-f")
                .arg(&file);
            let out = run_with_stdin(&mut cmd, b"");
            texts.push((
                format!("check {format}"),
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            ));
        }
    }
    let diff_json = texts.iter().find(|(w, _)| w.starts_with("diff json with")).map(|(_, t)| t.clone()).unwrap();
    let diff: Value = serde_json::from_str(&diff_json).unwrap();
    let attributed: Vec<(&str, &str)> = diff["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "external-secrets")
        .map(|r| {
            let id = r["id"].as_str().unwrap();
            (id.split(['.', '/']).next().unwrap_or_default(), r["changeType"].as_str().unwrap())
        })
        .collect();
    for side in [("Secret", "removed"), ("ExternalSecret", "added")] {
        assert!(attributed.contains(&side), "the diff does not attribute {side:?} to external-secrets: {attributed:?}");
    }
    for (what, text) in &texts {
        for value in &values {
            assert!(!text.contains(value.as_str()), "{what} shows the planted value {value}");
        }
    }
    assert!(texts.len() > 30, "only {} outputs were read", texts.len());
}

/// The schema of `version` in a CustomResourceDefinition, strict as `kubectl apply
/// --validate=strict` is: an object schema with `properties` and neither
/// `additionalProperties` nor `x-kubernetes-preserve-unknown-fields` takes no other field.
fn strict_schema(crd: &Value, version: &str) -> Value {
    let versions = crd["spec"]["versions"].as_array().unwrap();
    let v = versions.iter().find(|v| v["name"] == version).unwrap_or_else(|| panic!("no version {version}"));
    assert_eq!(v["served"], true, "{version} is not served");
    let mut schema = v["schema"]["openAPIV3Schema"].clone();
    fn strict(s: &mut Value) {
        match s {
            Value::Object(map) => {
                let closed = map.contains_key("properties")
                    && !map.contains_key("additionalProperties")
                    && map.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true));
                for v in map.values_mut() {
                    strict(v);
                }
                if closed {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strict),
            _ => {}
        }
    }
    strict(&mut schema);
    // `metadata` is the API server's, not the CRD's.
    if let Some(props) = schema["properties"].as_object_mut() {
        props.insert("metadata".into(), serde_json::json!({"type": "object"}));
    }
    schema
}

/// Every object of the kinds the operations rules write, from the rules' fixtures, the two
/// charts under the example, and the platform chart under each CSI provider.
fn written_objects() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut take = |what: &str, text: &str| {
        for o in objects(text) {
            out.push((what.to_string(), o));
        }
    };
    let policy = example();
    for (file, namespace) in charts() {
        let input = read_file(&root().join(file));
        let settings = Settings::render(namespace.map(str::to_string));
        take(file, &temper::run(&[Input::new("c", input.as_str())], &policy, &settings).unwrap().output);
    }
    let platform = read_file(&root().join("tests/fixtures/release/platform.yaml"));
    for (provider, parameters, key) in [
        ("azure", "{keyvaultName: kv, tenantId: t}", "{namespace}-{secret}-{key}"),
        ("aws", "{region: eu-west-1}", "{namespace}/{secret}/{key}"),
        ("gcp", "{}", "projects/p/secrets/{namespace}-{secret}-{key}/versions/latest"),
        ("vault", "{roleName: platform}", "secret/data/{namespace}/{secret}"),
    ] {
        let env = format!(
            "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {{name: csi-{provider}}}\nspec:\n  extends: prod\n  rules:\n    external-secrets: {{params: {{provider: csi, csi: {{provider: {provider}, parameters: {parameters}}}, remoteKey: '{key}', remoteProperty: null}}}}\n"
        );
        let mut config = Config::load(Some(&example_dir())).unwrap();
        let name = config.add_environment("csi.yaml", &env).unwrap();
        let policy = config.resolve(&name).unwrap();
        let outcome =
            temper::run(&[Input::new("c", platform.as_str())], &policy, &Settings::render(Some("platform".into())))
                .unwrap();
        take(&format!("platform with csi {provider}"), &outcome.output);
    }
    for folder in ["external-secrets", "sync-order", "monitoring", "backup-schedule"] {
        let dir = root().join("tests/fixtures/rules").join(folder);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let docs: Vec<&str> = text.split("\n---\n").collect();
            let n = docs.iter().take_while(|d| d.lines().any(|l| l.starts_with("apiVersion: temper.dev/"))).count();
            let mut config = Config::builtin().unwrap();
            let Some(env) = docs[..n].iter().map(|d| config.add_environment("fixture.yaml", d).unwrap()).last() else {
                continue;
            };
            let policy = config.resolve(&env).unwrap();
            let input = docs[n..].join("\n---\n");
            take(&path.display().to_string(), &crate::util::render(&policy, &input).unwrap().output);
        }
    }
    out
}

#[test]
fn written_objects_are_valid_for_their_crds_published_schemas() {
    let crds = root().join("tests/fixtures/crds");
    let mut validators: BTreeMap<(String, String), jsonschema::Validator> = BTreeMap::new();
    for entry in std::fs::read_dir(&crds).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let crd = objects(&std::fs::read_to_string(&path).unwrap()).remove(0);
        let group = crd["spec"]["group"].as_str().unwrap().to_string();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
        for v in crd["spec"]["versions"].as_array().unwrap().iter().filter(|v| v["served"] == true) {
            let version = v["name"].as_str().unwrap();
            let schema = strict_schema(&crd, version);
            let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            validators.insert((format!("{group}/{version}"), kind.clone()), validator);
        }
    }
    assert_eq!(validators.keys().map(|(_, k)| k.as_str()).collect::<BTreeSet<_>>().len(), 7, "{:?}", validators.keys());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (what, o) in written_objects() {
        let key = (object::str_at(&o, &["apiVersion"]).unwrap_or_default().to_string(), object::kind(&o).to_string());
        let Some(validator) = validators.get(&key) else {
            let ours = ["external-secrets.io", "secrets-store.csi.x-k8s.io", "monitoring.coreos.com", "velero.io"];
            assert!(!ours.contains(&object::group_of(&key.0)), "{what}: no schema for {key:?}");
            continue;
        };
        let errors: Vec<String> = validator.iter_errors(&o).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{what}: {} {} is not valid for its CRD: {errors:?}\n{o}", key.1, object::name(&o));
        *seen.entry(key.1).or_default() += 1;
    }
    for kind in [
        "ExternalSecret",
        "SecretProviderClass",
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
        "Schedule",
        "Backup",
    ] {
        assert!(seen.get(kind).copied().unwrap_or(0) >= 2, "only {seen:?} were validated");
    }
    // The strict schema does reject what Kubernetes would prune or refuse.
    let es = &validators[&("external-secrets.io/v1".to_string(), "ExternalSecret".to_string())];
    let typo = serde_json::json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "x"}, "spec": {"secretStoreRef": {"name": "v", "kind": "Vault"}, "data": [{"secretKey": "k", "remoteRef": {"kee": "x"}}]}});
    assert!(validator_errors(es, &typo) >= 2, "the schema accepts an unknown store kind and an unknown field");
}

fn validator_errors(validator: &jsonschema::Validator, instance: &Value) -> usize {
    validator.iter_errors(instance).count()
}

#[test]
fn the_example_is_the_builtin_prod_plus_where_things_live() {
    let builtin = Config::builtin().unwrap().resolve("prod").unwrap();
    let example = example();
    assert_eq!(example.chain, builtin.chain);
    let ops = ["external-secrets", "sync-order", "monitoring", "backup-schedule"];
    let (b, e) = (&builtin.resolved["spec"]["rules"], &example.resolved["spec"]["rules"]);
    for (rule, setting) in b.as_object().unwrap() {
        assert_eq!(setting["mode"], e[rule]["mode"], "{rule}: the example's mode differs from the built-in prod's");
        if !ops.contains(&rule.as_str()) {
            assert_eq!(setting["params"], e[rule]["params"], "{rule}: the example changes its parameters");
        }
    }
    for rule in ops {
        assert_eq!(e[rule]["mode"], "fix", "{rule}");
        assert_ne!(b[rule]["params"], e[rule]["params"], "{rule}: the example says nothing of where things live");
    }
    let exempted: Vec<&str> = example.exemptions.iter().flat_map(|x| x.rules.iter().map(|r| r.as_str())).collect();
    assert_eq!(exempted, ["env-secret-literals", "image-tag"], "the example exempts what is not a Secret only");
}

/// Waves by object, for the order-of-sync property: (namespace, kind, name) → wave.
fn waves(objects: &[Value]) -> HashMap<(Option<String>, String, String), i64> {
    let mut waves = HashMap::new();
    for o in objects {
        let Some(wave) = object::annotations(o).get("argocd.argoproj.io/sync-wave").and_then(Value::as_str) else {
            continue;
        };
        let wave: i64 = wave.parse().unwrap();
        let ns = object::namespace(o).map(str::to_string);
        let kind = object::kind(o);
        let name = object::name(o).to_string();
        match kind {
            "ExternalSecret" => {
                let target = object::str_at(o, &["spec", "target", "name"]).unwrap_or(&name).to_string();
                waves.insert((ns, "Secret".into(), target), wave);
            }
            "SecretProviderClass" => {
                for so in o["spec"]["secretObjects"].as_array().into_iter().flatten() {
                    waves.insert(
                        (ns.clone(), "Secret".into(), so["secretName"].as_str().unwrap_or_default().into()),
                        wave,
                    );
                }
            }
            _ => {
                waves.insert((ns, kind.to_string(), name), wave);
            }
        }
    }
    waves
}

#[test]
fn sync_waves_never_hold_back_what_a_workload_needs() {
    let policy = example();
    let mut cases: Vec<(String, String, Option<String>)> =
        charts().iter().map(|(f, ns)| (f.to_string(), read_file(&root().join(f)), ns.map(str::to_string))).collect();
    let fixtures = root().join("tests/fixtures/rules");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&fixtures).unwrap().map(|e| e.unwrap().path()).collect();
    folders.sort();
    for folder in folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let docs: Vec<&str> = text.split("\n---\n").filter(|d| !d.contains("apiVersion: temper.dev/")).collect();
            cases.push((path.display().to_string(), docs.join("\n---\n"), Some("shop".into())));
        }
    }
    let mut checked = 0;
    for (what, input, release) in cases {
        let outcome =
            temper::run(&[Input::new("case", input.as_str())], &policy, &Settings::render(release.clone())).unwrap();
        let out = objects(&outcome.output);
        let waves = waves(&out);
        let mut claim_users: HashMap<(Option<String>, String), Vec<i64>> = HashMap::new();
        for o in &out {
            let annotations = object::annotations(o);
            if annotations.contains_key("helm.sh/hook") || annotations.contains_key("argocd.argoproj.io/hook") {
                continue;
            }
            let Some(spec) =
                ["/spec/template/spec", "/spec/jobTemplate/spec/template/spec"].iter().find_map(|p| o.pointer(p))
            else {
                continue;
            };
            let ns = object::namespace(o).map(str::to_string).or_else(|| release.clone());
            let wave = object::annotations(o)
                .get("argocd.argoproj.io/sync-wave")
                .and_then(Value::as_str)
                .map_or(0, |w| w.parse().unwrap());
            let mut needs: Vec<(&str, String)> = secret_refs(spec).into_iter().map(|(n, _)| ("Secret", n)).collect();
            needs.extend(spec["serviceAccountName"].as_str().map(|n| ("ServiceAccount", n.to_string())));
            for c in ["initContainers", "containers"].iter().flat_map(|l| spec[l].as_array().into_iter().flatten()) {
                for e in c["envFrom"].as_array().into_iter().flatten() {
                    needs.extend(
                        e.pointer("/configMapRef/name").and_then(Value::as_str).map(|n| ("ConfigMap", n.to_string())),
                    );
                }
            }
            for v in spec["volumes"].as_array().into_iter().flatten() {
                needs
                    .extend(v.pointer("/configMap/name").and_then(Value::as_str).map(|n| ("ConfigMap", n.to_string())));
                if let Some(claim) = v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) {
                    needs.push(("PersistentVolumeClaim", claim.to_string()));
                    claim_users.entry((ns.clone(), claim.to_string())).or_default().push(wave);
                }
            }
            for (kind, name) in needs {
                let own_ns = object::namespace(o).map(str::to_string);
                if let Some(needed) = waves.get(&(own_ns, kind.to_string(), name.clone())) {
                    checked += 1;
                    assert!(
                        *needed <= wave,
                        "{what}: {} in wave {wave} needs {kind} {name}, in wave {needed}",
                        object::name(o)
                    );
                }
            }
        }
        // A claim comes with its first workload, not before (WaitForFirstConsumer) nor after.
        let explicit = waves_of_input(&input);
        for ((ns, claim), users) in claim_users {
            let key = (
                ns.clone().filter(|n| Some(n) != release.as_ref()).or(ns.clone()),
                "PersistentVolumeClaim".to_string(),
                claim.clone(),
            );
            let Some(wave) = waves.get(&key).or_else(|| waves.get(&(None, key.1.clone(), claim.clone()))) else {
                continue;
            };
            if explicit.contains(&claim) {
                continue;
            }
            assert_eq!(Some(wave), users.iter().min(), "{what}: claim {claim}");
        }
    }
    assert!(checked > 20, "only {checked} needs were checked");
}

/// The names of the objects that carry a wave in the input.
fn waves_of_input(input: &str) -> BTreeSet<String> {
    objects(input)
        .iter()
        .filter(|o| object::annotations(o).contains_key("argocd.argoproj.io/sync-wave"))
        .map(|o| object::name(o).to_string())
        .collect()
}

/// `temper init` writes the operations overlay with its settings commented out; uncommented,
/// they turn every operations rule on, and prod renders the platform chart.
#[test]
fn init_writes_a_commented_example_that_works_once_uncommented() {
    let dir = TempDir::new("operations-init");
    let out = temper().arg("init").arg(dir.root()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let path = dir.path("overlays/operations.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut uncommented = Vec::new();
    let mut settings = false;
    for line in text.lines() {
        settings |= line.starts_with("    # Where things live");
        let line = if let Some(rest) =
            line.strip_prefix("      # ").filter(|r| r.starts_with("waves:") || r.starts_with("labels:"))
        {
            format!("      {rest}")
        } else if let Some(rest) = line.strip_prefix("    #   ").filter(|_| settings) {
            format!("      {rest}")
        } else if let Some(rest) =
            line.strip_prefix("    # ").filter(|r| settings && r.ends_with(':') && !r.contains(' '))
        {
            format!("    {rest}")
        } else {
            line.to_string()
        };
        uncommented.push(line);
    }
    let uncommented = uncommented.join("\n") + "\n";
    for setting in [
        "waves:",
        "labels:",
        "external-secrets:",
        "provider: external-secrets-operator",
        "backup-schedule:",
        "storageLocation: default",
    ] {
        let commented =
            text.lines().any(|l| l.trim_start().strip_prefix('#').is_some_and(|r| r.trim_start().starts_with(setting)));
        assert!(commented, "the overlay has no commented `{setting}`");
        assert!(uncommented.lines().any(|l| l.trim_start().starts_with(setting)), "`{setting}` stayed commented");
    }
    std::fs::write(&path, uncommented).unwrap();
    let platform = root().join("tests/fixtures/release/platform.yaml");
    let out = run_with_stdin(
        temper()
            .args(["render", "--env", "prod", "-n", "platform", "--config"])
            .arg(dir.root())
            .arg("-f")
            .arg(&platform),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let output = String::from_utf8(out.stdout).unwrap();
    for kind in ["ExternalSecret", "PodMonitor", "PrometheusRule", "Schedule"] {
        assert!(objects(&output).iter().any(|o| object::kind(o) == kind), "no {kind} once uncommented");
    }
    assert!(output.contains("argocd.argoproj.io/sync-wave"), "no sync waves once uncommented");
}
