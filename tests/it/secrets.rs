//! No credential reaches any output: values of every credential shape are planted everywhere a
//! manifest holds a string, and every command that shows manifests to people (`diff`,
//! `promote`, `compare` and `render --diff` in every format, `check` in every format, the
//! `render` report, its summary, its log file and error messages) is searched for them.
//!
//! Each case draws fresh random secrets, so a pattern that only hides what a fixture happens to
//! contain fails here. Cases come from a fixed seed; `PROPTEST_RNG_SEED` explores another.

use std::path::Path;

use base64::Engine as _;
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::{Value, json};

use crate::util::{TempDir, temper};

const SEED: u64 = 0x5ec2_e75a_11ce_0b0e;

/// Random secret material: letters and digits, long enough never to occur by chance.
fn token(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z][A-Za-z0-9]{{{},{}}}", len.start() - 1, len.end() - 1))
        .expect("valid regex")
}

/// One stream's secrets: the random cores and the texts that plant them.
#[derive(Clone, Debug)]
struct Planted {
    /// Texts of a credential shape, each with the core that must never be shown.
    shaped: Vec<(String, String)>,
    /// Shaped texts that also fit a label value.
    label_shaped: Vec<(String, String)>,
    /// Env variables whose name says they hold a credential, with plain random values.
    named: Vec<(String, String)>,
    /// The value after a credential flag in `args`.
    after_flag: String,
    /// A Secret's `stringData` value and a Secret's decoded `data` value, both also copied
    /// into a ConfigMap and an annotation where nothing about them looks secret.
    string_data: String,
    data: String,
}

impl Planted {
    /// Every core that must never be shown, with what it is.
    fn cores(&self) -> Vec<(String, String)> {
        let mut cores: Vec<(String, String)> = Vec::new();
        for (text, core) in self.shaped.iter().chain(&self.label_shaped) {
            cores.push((format!("shape {text:?}"), core.clone()));
        }
        for (name, value) in &self.named {
            cores.push((format!("env {name}"), value.clone()));
        }
        cores.push(("value after --token".into(), self.after_flag.clone()));
        cores.push(("Secret stringData".into(), self.string_data.clone()));
        cores.push(("Secret data".into(), self.data.clone()));
        cores.push(("Secret data, encoded".into(), base64::engine::general_purpose::STANDARD.encode(&self.data)));
        cores
    }
}

fn planted() -> impl Strategy<Value = Planted> {
    let upper = proptest::string::string_regex("[A-Z0-9]{16}").expect("valid regex");
    let google = proptest::string::string_regex("[A-Za-z0-9]{35}").expect("valid regex");
    let hex = proptest::string::string_regex("[a-f0-9]{64}").expect("valid regex");
    (
        proptest::collection::vec(token(14..=22), 12),
        upper,
        google,
        proptest::collection::vec(token(12..=20), 6),
        (token(12..=20), token(12..=20), token(12..=20)),
        (proptest::collection::vec(token(14..=22), 21), hex),
    )
        .prop_map(|(t, aws, google, named, (after_flag, string_data, data), (u, hex))| {
            let joined = |parts: &[&String]| parts.iter().map(|p| p.as_str()).collect::<String>();
            let jwt = format!("eyJ{}.eyJ{}.{}", u[0], u[1], u[2]);
            let npm = joined(&[&u[3], &u[4], &u[5]]);
            let sendgrid = joined(&[&u[8], &u[9]]);
            let hugging_face = joined(&[&u[11], &u[12], &u[13]]);
            let shaped = vec![
                (format!("postgres://app:{}@db.internal:5432/app", t[0]), t[0].clone()),
                (format!("--password={}", t[1]), t[1].clone()),
                (format!("Bearer {}", t[2]), t[2].clone()),
                (format!("Basic {}", t[3]), t[3].clone()),
                (format!("-----BEGIN PRIVATE KEY-----\nMII{}\n-----END PRIVATE KEY-----", t[4]), t[4].clone()),
                (format!("redis://:{}@cache:6379/0", t[5]), t[5].clone()),
                (format!("api_key: {}", t[6]), t[6].clone()),
                // Quoted values, whatever they hold: JSON in a ConfigMap, YAML, INI.
                (format!(r#"{{"db": {{"password": "a {} b", "user": "app"}}}}"#, u[14]), u[14].clone()),
                (format!("token: 'its {}'", u[15]), u[15].clone()),
                (format!("Endpoint=sb://ns/;SharedAccessKey={}=;EntityPath=q", u[16]), u[16].clone()),
                (format!("https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig={}%3D", u[17]), u[17].clone()),
                (jwt.clone(), jwt),
                (format!("https://hooks.slack.com/services/T0/B0/{}", u[6]), u[6].clone()),
                (format!("https://discord.com/api/webhooks/1234/{}", u[7]), u[7].clone()),
                (format!("npm_{npm}"), npm),
                (format!("SG.{}{}.{sendgrid}", u[10], u[2]), sendgrid),
                (format!("hf_{hugging_face}"), hugging_face),
                (format!("sk-proj-{}{}", u[0], u[1]), format!("{}{}", u[0], u[1])),
                (format!("dop_v1_{hex}"), hex),
                (format!("jdbc:mysql://db:3306/app?user=app&password={}&ssl=true", u[18]), u[18].clone()),
                (format!("<settings><password>{}</password></settings>", u[19]), u[19].clone()),
                (format!("curl -u admin:{} https://example.com", u[20]), u[20].clone()),
                (format!("hvs.{}{}", u[9], u[10]), format!("{}{}", u[9], u[10])),
                (format!("glsa_{}{}_{}", u[12], u[13], u[11]), format!("{}{}", u[12], u[13])),
            ];
            let label_shaped = vec![
                (format!("AKIA{aws}"), aws.clone()),
                (format!("sk_live_{}", t[7]), t[7].clone()),
                (format!("ghp_{}{}", t[8], t[9]), format!("{}{}", t[8], t[9])),
                (format!("xoxb-{}", t[10]), t[10].clone()),
                (format!("glpat-{}{}", t[11], t[0]), format!("{}{}", t[11], t[0])),
                (format!("AIza{google}"), google.clone()),
            ];
            let names = ["DB_PASS", "db_pwd", "AUTH_HEADER", "SIGNING_KEY", "SENTRY_DSN", "AWS_CREDS"];
            let named = names.iter().zip(named).map(|(n, v)| (n.to_string(), v)).collect();
            Planted { shaped, label_shaped, named, after_flag, string_data, data }
        })
}

/// A stream holding `p` everywhere a manifest holds a string, and one plain value that
/// changes between streams and must stay visible.
fn stream(p: &Planted, visible: &str) -> String {
    let all_shaped: Vec<&(String, String)> = p.shaped.iter().chain(&p.label_shaped).collect();
    let texts: Vec<&str> = all_shaped.iter().map(|(t, _)| t.as_str()).collect();
    let mut env: Vec<Value> =
        texts.iter().enumerate().map(|(i, t)| json!({"name": format!("SETTING_{i}"), "value": t})).collect();
    env.extend(p.named.iter().map(|(n, v)| json!({"name": n, "value": v})));
    env.push(json!({"name": "COPIED", "value": p.string_data}));
    let mut args: Vec<Value> = texts.iter().map(|t| json!(t)).collect();
    args.extend([json!("--token"), json!(p.after_flag), json!("--verbose")]);
    let annotations: serde_json::Map<String, Value> =
        texts.iter().enumerate().map(|(i, t)| (format!("example.com/setting-{i}"), json!(t))).collect();
    let labels: serde_json::Map<String, Value> =
        p.label_shaped.iter().enumerate().map(|(i, (t, _))| (format!("key-{i}"), json!(t))).collect();
    let config_data: serde_json::Map<String, Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("setting-{i}"), json!(t)))
        .chain([
            ("copied".to_string(), json!(p.string_data)),
            ("decoded".to_string(), json!(p.data)),
            ("visible".to_string(), json!(visible)),
        ])
        .collect();
    let mut pod_labels = labels.clone();
    pod_labels.insert("app".into(), json!("web"));
    let docs = [
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": labels, "annotations": annotations},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": pod_labels, "annotations": {"example.com/dsn": texts[0], "example.com/copied": p.data}},
                    "spec": {"containers": [{
                        "name": "web", "image": "registry.example.com/web:1.2.3",
                        "command": ["/bin/web", texts[1]],
                        "args": args,
                        "env": env,
                    }]},
                },
            },
        }),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}, "data": config_data}),
        json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "shop"},
            "stringData": {"password": p.string_data},
            "data": {"token": base64::engine::general_purpose::STANDARD.encode(&p.data)},
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {"example.com/upstream": texts[0], "example.com/auth": texts[2]}},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        }),
        json!({
            "apiVersion": "example.com/v1", "kind": "Connection", "metadata": {"name": "db", "namespace": "shop"},
            "spec": {"settings": texts, "nested": {"deep": {"url": texts[0], "header": texts[2]}}},
        }),
    ];
    // Each document as one line of flow YAML; the leading `---` keeps the stream YAML (a
    // stream that starts with `{` is read as JSON, as kubectl reads it).
    docs.iter().map(|d| format!("---\n{}\n", serde_json::to_string(d).expect("json"))).collect()
}

/// A stream that fails on a type error whose value is a credential.
fn broken(p: &Planted) -> String {
    let doc = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "broken"},
        "spec": {"selector": {"matchLabels": {"app": "b"}}, "template": {"spec": {"containers": p.shaped[0].0}}},
    });
    serde_json::to_string(&doc).expect("json")
}

/// Everything one command printed, with a name for failure messages.
struct Seen {
    command: String,
    text: String,
}

fn run(dir: &Path, args: &[&str]) -> Seen {
    let log = dir.join("temper.log");
    let _ = std::fs::remove_file(&log);
    let out = temper().current_dir(dir).args(args).arg("--log-file").arg(&log).output().expect("temper runs");
    let code = out.status.code();
    // An error would leave nothing to search: every run here must get as far as its output.
    assert!(matches!(code, Some(0 | 1 | 3)), "{args:?} exited {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.push_str(&std::fs::read_to_string(&log).unwrap_or_default());
    Seen { command: args.join(" "), text }
}

/// Runs every command over the two streams and returns what each printed.
fn outputs(dir: &Path) -> Vec<Seen> {
    let mut seen = Vec::new();
    for format in ["unified", "markdown", "json", "json-patch", "brief"] {
        let f = ["--format", format, "--color", "always"];
        seen.push(run(dir, &[&["compare", "old.yaml", "new.yaml"][..], &f].concat()));
        seen.push(run(dir, &[&["compare", "old.yaml", "new.yaml", "--env", "prod"][..], &f].concat()));
        seen.push(run(dir, &[&["diff", "--env", "prod", "-f", "new.yaml"][..], &f].concat()));
        seen.push(run(dir, &[&["promote", "--from", "dev", "--to", "prod", "-f", "new.yaml"][..], &f].concat()));
        let path = format!("render-{format}.diff");
        let render =
            run(dir, &["render", "--env", "staging", "--diff", &path, "--diff-format", format, "-f", "new.yaml"]);
        let written = std::fs::read_to_string(dir.join(&path)).unwrap_or_default();
        assert!(!written.is_empty(), "render --diff {format} wrote nothing");
        // stdout holds the manifests themselves, which carry the secrets: only the diff counts.
        seen.push(Seen { command: render.command, text: written });
    }
    for format in ["text", "json", "sarif"] {
        seen.push(run(dir, &["check", "--env", "prod", "--format", format, "-f", "new.yaml"]));
    }
    let report = dir.join("report.json");
    run(dir, &["render", "--env", "prod", "--report", "report.json", "--no-enforce", "-f", "new.yaml"]);
    seen.push(Seen { command: "render --report".into(), text: std::fs::read_to_string(report).unwrap_or_default() });
    // Its stdout is the manifests, which carry the secrets: the summary and log are what count.
    let out = temper()
        .current_dir(dir)
        .args(["render", "--env", "prod", "--no-enforce", "-f", "new.yaml"])
        .output()
        .expect("runs");
    seen.push(Seen { command: "render (stderr)".into(), text: String::from_utf8_lossy(&out.stderr).into_owned() });
    let log = dir.join("broken.log");
    let out = temper()
        .current_dir(dir)
        .args(["check", "--env", "prod", "-f", "broken.yaml", "--log-file"])
        .arg(&log)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "a type error is an error");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&std::fs::read_to_string(&log).unwrap_or_default());
    seen.push(Seen { command: "check broken.yaml".into(), text });
    seen
}

#[test]
fn no_planted_credential_reaches_any_output() {
    let config = Config { cases: 6, rng_seed: RngSeed::Fixed(SEED), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let dir = TempDir::new("secrets");
    runner
        .run(&(planted(), planted()), |(old, new)| {
            dir.write("old.yaml", stream(&old, "visible-before-7f3a"));
            dir.write("new.yaml", stream(&new, "visible-after-7f3a"));
            dir.write("broken.yaml", broken(&new));
            let seen = outputs(dir.root());
            for s in &seen {
                for (what, core) in old.cores().iter().chain(&new.cores()) {
                    prop_assert!(
                        !s.text.contains(core.as_str()),
                        "`temper {}` shows the {what} ({core}):\n{}",
                        s.command,
                        s.text
                    );
                }
            }
            // Redaction hides credentials, not the review: plain changes stay visible, and a
            // hidden value that changed says so.
            let unified = &seen[0].text;
            prop_assert!(unified.contains("visible-after-7f3a"), "{unified}");
            prop_assert!(unified.contains("digest") && unified.contains(", changed)"), "{unified}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn show_secrets_still_shows_them() {
    let mut runner = TestRunner::new(Config { rng_seed: RngSeed::Fixed(SEED), ..Config::default() });
    let (old, new) =
        (planted().new_tree(&mut runner).unwrap().current(), planted().new_tree(&mut runner).unwrap().current());
    let dir = TempDir::new("show-secrets");
    dir.write("old.yaml", stream(&old, "a"));
    dir.write("new.yaml", stream(&new, "b"));
    let seen = run(dir.root(), &["compare", "old.yaml", "new.yaml", "--show-secrets", "--format", "unified"]);
    for (_, core) in new.cores() {
        assert!(seen.text.contains(&core), "{core} is hidden:\n{}", seen.text);
    }
}
