//! Property-based tests: manifests generated from a model of what they mean, written out in
//! many YAML styles, rendered in every built-in environment.
//!
//! The model is a tree of Kubernetes values (workloads with random containers, volumes,
//! security contexts and resources; Services, ConfigMaps, Namespaces and a custom resource),
//! with string values drawn from YAML 1.1 look-alikes (`on`, `0755`, `1e3`, `=`, dates, big
//! integers...). A writer turns the model into text, choosing for every node from a list of
//! choice bytes: block or flow style, plain, single-quoted, double-quoted, tagged or literal
//! block scalars, other spellings of the same boolean or integer (`on`, `0x1F`, `0755`),
//! anchors, aliases and merge keys, comments, indentation, separators and CRLF. Every spelling it
//! picks must mean the model's value to a YAML 1.1 reader, which the first property checks.
//!
//! For every case and every environment: nothing panics; the render succeeds, unless the model
//! holds a non-string label or annotation, which must fail with a message saying so; the
//! read/write contract holds (`check_faithful`); rendering the output again changes nothing;
//! 1 and 2 threads give the same bytes and report; and a second styling of the same model has
//! the same compliance hash.
//!
//! Cases come from a fixed seed, so a failure reproduces on every run, and proptest prints the
//! shrunk model and choices. `PROPTEST_RNG_SEED` explores another seed; `PROPTEST_CASES` runs
//! more cases than the default 64.

use std::sync::OnceLock;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed};
use rayon::ThreadPool;
use serde_json::Value;
use temper::compliance::SecretValues;
use temper::read::{self, Input};
use temper::{Outcome, Policy, Settings};

use crate::util::{check_faithful, policy};

const SEED: u64 = 0x7e3d_2b1a_5c4f_9e80;
const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

fn config() -> Config {
    let base = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() { base.cases } else { 64 },
        rng_seed: match base.rng_seed {
            RngSeed::Random => RngSeed::Fixed(SEED),
            seed => seed,
        },
        // The seed reproduces failures; no regression files are written into the tree.
        failure_persistence: None,
        ..base
    }
}

// ---------------------------------------------------------------------------------------------
// The model.

/// A value as Kubernetes reads it. Mapping keys are unique.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    fn meaning(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(n) => Value::from(*n),
            Node::Float(f) => Value::from(*f),
            Node::Str(s) => Value::from(s.as_str()),
            Node::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.meaning())).collect()),
            Node::Seq(items) => Value::Array(items.iter().map(Node::meaning).collect()),
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn str(s: &str) -> Node {
    Node::Str(s.to_string())
}

/// A mapping from the entries that are present.
fn map(entries: Vec<(&str, Option<Node>)>) -> Node {
    Node::Map(entries.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect())
}

/// Strings a YAML 1.1 reader takes for something else when they are not quoted, and strings
/// that need quoting for other reasons.
const LOOK_ALIKES: &[&str] = &[
    "on",
    "off",
    "yes",
    "No",
    "y",
    "N",
    "true",
    "False",
    "null",
    "~",
    "",
    "0755",
    "0o17",
    "0x1F",
    "0b101",
    "1e3",
    "1_000",
    "+1",
    "-1",
    "1.5",
    ".5",
    ".inf",
    "-.Inf",
    ".nan",
    "=",
    "<<",
    "2001-12-14",
    "2001-12-14T21:59:43.10-05:00",
    "12:30",
    "12345678901234567890",
    "123456789012345678901234567890",
    "- item",
    "a: b",
    "# hash",
    "x #y",
    "[x]",
    "{y}",
    "*ref",
    "&a",
    "!tag",
    "%x",
    "@x",
    "`x",
    "|",
    "> folded",
    "'single'",
    "\"double\"",
    "back\\slash",
    "tab\there",
    "multi\nline\n",
    "two\nlines",
    "ends\n\n",
    " lead",
    "trail ",
    "héllo wörld",
    "日本語",
    "emoji 🚀",
    "---",
    "...",
];

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,7}"
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => word(),
        4 => select(LOOK_ALIKES).prop_map(str::to_string),
        1 => "[ -~]{0,12}",
        1 => "\\PC{0,8}",
        1 => "[a-z =#:]{1,8}(\n[a-z =#:]{0,8}){1,3}\n{0,2}",
    ]
}

fn label_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(&["app", "app.kubernetes.io/name", "app.kubernetes.io/instance", "tier"][..]).prop_map(str::to_string),
        1 => select(&["on", "y", "0755", "true", "null", "1.5", "a b"][..]).prop_map(str::to_string),
        1 => word(),
    ]
}

fn labels() -> impl Strategy<Value = Node> {
    btree_map(label_key(), text(), 1..4)
        .prop_map(|m| Node::Map(m.into_iter().map(|(k, v)| (k, Node::Str(v))).collect()))
}

/// Annotations: strings, and rarely a boolean or integer, which Kubernetes refuses.
fn annotations() -> impl Strategy<Value = Node> {
    let value = prop_oneof![
        30 => text().prop_map(Node::Str),
        1 => any::<bool>().prop_map(Node::Bool),
        1 => (0..1000i64).prop_map(Node::Int),
    ];
    btree_map(label_key(), value, 0..3).prop_map(|m| Node::Map(m.into_iter().collect()))
}

fn metadata() -> impl Strategy<Value = Node> {
    (word(), option::of(select(&["default", "team-a", "kube-system"][..])), labels(), option::of(annotations()))
        .prop_map(|(name, ns, labels, annotations)| {
            map(vec![
                ("name", Some(Node::Str(name))),
                ("namespace", ns.map(str)),
                ("labels", Some(labels)),
                ("annotations", annotations),
            ])
        })
}

fn quantity(cpu: bool) -> impl Strategy<Value = Node> {
    let strings: &'static [&'static str] =
        if cpu { &["100m", "250m", "1", "2", "0.5"] } else { &["64Mi", "1Gi", "512M", "1e9", "128974848"] };
    prop_oneof![
        3 => select(strings).prop_map(str),
        1 => (1..8i64).prop_map(Node::Int),
        1 => select(&[0.5, 0.25, 1.5][..]).prop_map(Node::Float),
    ]
}

fn resources() -> impl Strategy<Value = Node> {
    let pair = || (option::of(quantity(true)), option::of(quantity(false)));
    (option::of(pair()), option::of(pair())).prop_map(|(requests, limits)| {
        let side = |p: Option<(Option<Node>, Option<Node>)>| {
            p.map(|(cpu, memory)| map(vec![("cpu", cpu), ("memory", memory)]))
        };
        map(vec![("requests", side(requests)), ("limits", side(limits))])
    })
}

fn capabilities() -> impl Strategy<Value = Node> {
    let caps = || vec(select(&["ALL", "NET_ADMIN", "NET_BIND_SERVICE", "SYS_TIME"][..]).prop_map(str), 0..3);
    (option::of(caps()), option::of(caps()))
        .prop_map(|(add, drop)| map(vec![("add", add.map(Node::Seq)), ("drop", drop.map(Node::Seq))]))
}

fn container_security_context() -> impl Strategy<Value = Node> {
    (
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(0..70000i64),
        option::of(capabilities()),
    )
        .prop_map(|(non_root, privileged, escalation, read_only, user, caps)| {
            map(vec![
                ("runAsNonRoot", non_root.map(Node::Bool)),
                ("privileged", privileged.map(Node::Bool)),
                ("allowPrivilegeEscalation", escalation.map(Node::Bool)),
                ("readOnlyRootFilesystem", read_only.map(Node::Bool)),
                ("runAsUser", user.map(Node::Int)),
                ("capabilities", caps),
            ])
        })
}

fn pod_security_context() -> impl Strategy<Value = Node> {
    (option::of(any::<bool>()), option::of(0..70000i64), option::of(select(&["RuntimeDefault", "Unconfined"][..])))
        .prop_map(|(non_root, user, seccomp)| {
            map(vec![
                ("runAsNonRoot", non_root.map(Node::Bool)),
                ("runAsUser", user.map(Node::Int)),
                ("seccompProfile", seccomp.map(|t| map(vec![("type", Some(str(t)))]))),
            ])
        })
}

fn env_var() -> impl Strategy<Value = Node> {
    let name = prop_oneof![
        select(&["PASSWORD", "API_TOKEN", "LOG_LEVEL", "MODE", "on"][..]).prop_map(str::to_string),
        "[A-Z][A-Z0-9_]{0,6}"
    ];
    let value = prop_oneof![
        3 => text().prop_map(|t| Some(Node::Str(t))),
        1 => Just(None),
    ];
    (name, value).prop_map(|(name, value)| {
        let from = map(vec![("fieldRef", Some(map(vec![("fieldPath", Some(str("metadata.namespace")))])))]);
        map(vec![
            ("name", Some(Node::Str(name))),
            ("valueFrom", if value.is_none() { Some(from) } else { None }),
            ("value", value),
        ])
    })
}

fn image() -> impl Strategy<Value = String> {
    select(
        &[
            "nginx",
            "nginx:latest",
            "nginx:1.25.3",
            "registry.example.com:5000/team/app:v2",
            "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "busybox:1.36",
        ][..],
    )
    .prop_map(str::to_string)
}

fn container() -> impl Strategy<Value = Node> {
    (
        word(),
        image(),
        option::of(select(&["Always", "IfNotPresent", "Never"][..])),
        vec((1..65536i64, option::of(select(&["TCP", "UDP"][..]))), 0..3),
        vec(env_var(), 0..3),
        option::of(resources()),
        option::of(container_security_context()),
        option::of(select(&["data", "config", "tmp"][..])),
        any::<bool>(),
    )
        .prop_map(|(name, image, pull, ports, env, resources, security, mount, probes)| {
            let ports = ports
                .into_iter()
                .map(|(port, proto)| map(vec![("containerPort", Some(Node::Int(port))), ("protocol", proto.map(str))]))
                .collect::<Vec<_>>();
            let probe = map(vec![("tcpSocket", Some(map(vec![("port", Some(Node::Int(8080)))])))]);
            map(vec![
                ("name", Some(Node::Str(name))),
                ("image", Some(Node::Str(image))),
                ("imagePullPolicy", pull.map(str)),
                ("ports", (!ports.is_empty()).then_some(Node::Seq(ports))),
                ("env", (!env.is_empty()).then_some(Node::Seq(env))),
                ("resources", resources),
                ("securityContext", security),
                (
                    "volumeMounts",
                    mount.map(|m| {
                        Node::Seq(vec![map(vec![("name", Some(str(m))), ("mountPath", Some(str("/mnt/x")))])])
                    }),
                ),
                ("readinessProbe", probes.then(|| probe.clone())),
                ("livenessProbe", probes.then_some(probe)),
            ])
        })
}

fn volume() -> impl Strategy<Value = Node> {
    let source = prop_oneof![
        Just(("emptyDir", Node::Map(Vec::new()))),
        word().prop_map(|n| ("configMap", map(vec![("name", Some(Node::Str(n)))]))),
        word().prop_map(|n| (
            "secret",
            map(vec![("secretName", Some(Node::Str(n))), ("defaultMode", Some(Node::Int(0o400)))])
        )),
        Just(("hostPath", map(vec![("path", Some(str("/var/run/docker.sock")))]))),
    ];
    (select(&["data", "config", "tmp"][..]), source)
        .prop_map(|(name, (kind, source))| map(vec![("name", Some(str(name))), (kind, Some(source))]))
}

fn pod_spec() -> impl Strategy<Value = Node> {
    (
        vec(container(), 1..3),
        option::of(container()),
        vec(volume(), 0..3),
        option::of(pod_security_context()),
        option::of(any::<bool>()),
        option::of(select(&["default", "app"][..])),
        option::of(any::<bool>()),
    )
        .prop_map(|(containers, init, volumes, security, host_network, account, automount)| {
            let mut names = std::collections::BTreeSet::new();
            let volumes: Vec<Node> = volumes
                .into_iter()
                .filter(|v| names.insert(v.get("name").map(Node::meaning).unwrap_or_default().to_string()))
                .collect();
            map(vec![
                ("containers", Some(Node::Seq(containers))),
                ("initContainers", init.map(|c| Node::Seq(vec![c]))),
                ("volumes", (!volumes.is_empty()).then_some(Node::Seq(volumes))),
                ("securityContext", security),
                ("hostNetwork", host_network.map(Node::Bool)),
                ("serviceAccountName", account.map(str)),
                ("automountServiceAccountToken", automount.map(Node::Bool)),
            ])
        })
}

fn workload() -> impl Strategy<Value = Node> {
    let kind = select(&["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"][..]);
    (kind, metadata(), pod_spec(), option::of(0..5i64), option::of((label_key(), text()))).prop_map(
        |(kind, meta, pod, replicas, extra)| {
            let labels = meta.get("labels").cloned().unwrap_or(Node::Map(Vec::new()));
            let mut template_labels = labels.clone();
            if let (Node::Map(entries), Some((k, v))) = (&mut template_labels, extra)
                && !entries.iter().any(|(key, _)| *key == k)
            {
                entries.push((k, Node::Str(v)));
            }
            let template = |pod: Node| {
                map(vec![("metadata", Some(map(vec![("labels", Some(template_labels.clone()))]))), ("spec", Some(pod))])
            };
            let selector = map(vec![("matchLabels", Some(labels))]);
            let (api, spec) = match kind {
                "Pod" => ("v1", pod),
                "Job" => ("batch/v1", map(vec![("template", Some(template(pod)))])),
                "CronJob" => (
                    "batch/v1",
                    map(vec![
                        ("schedule", Some(str("*/5 * * * *"))),
                        ("jobTemplate", Some(map(vec![("spec", Some(map(vec![("template", Some(template(pod)))])))]))),
                    ]),
                ),
                _ => (
                    "apps/v1",
                    map(vec![
                        ("replicas", if kind == "DaemonSet" { None } else { replicas.map(Node::Int) }),
                        ("serviceName", (kind == "StatefulSet").then(|| str("svc"))),
                        ("selector", Some(selector)),
                        ("template", Some(template(pod))),
                    ]),
                ),
            };
            map(vec![
                ("apiVersion", Some(str(api))),
                ("kind", Some(str(kind))),
                ("metadata", Some(meta)),
                ("spec", Some(spec)),
            ])
        },
    )
}

fn service() -> impl Strategy<Value = Node> {
    (metadata(), 1..65536i64).prop_map(|(meta, port)| {
        let selector = meta.get("labels").cloned();
        map(vec![
            ("apiVersion", Some(str("v1"))),
            ("kind", Some(str("Service"))),
            ("metadata", Some(meta)),
            (
                "spec",
                Some(map(vec![
                    ("selector", selector),
                    ("ports", Some(Node::Seq(vec![map(vec![("port", Some(Node::Int(port)))])]))),
                ])),
            ),
        ])
    })
}

fn config_map() -> impl Strategy<Value = Node> {
    (metadata(), btree_map(prop_oneof![word(), label_key()], text(), 0..5)).prop_map(|(meta, data)| {
        map(vec![
            ("apiVersion", Some(str("v1"))),
            ("kind", Some(str("ConfigMap"))),
            ("metadata", Some(meta)),
            ("data", Some(Node::Map(data.into_iter().map(|(k, v)| (k, Node::Str(v))).collect()))),
        ])
    })
}

fn namespace() -> impl Strategy<Value = Node> {
    (select(&["default", "team-a", "kube-system"][..]), labels()).prop_map(|(name, labels)| {
        map(vec![
            ("apiVersion", Some(str("v1"))),
            ("kind", Some(str("Namespace"))),
            ("metadata", Some(map(vec![("name", Some(str(name))), ("labels", Some(labels))]))),
        ])
    })
}

/// Free-form data of every scalar type, as a custom resource's spec holds.
fn free_form() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        Just(Node::Null),
        any::<bool>().prop_map(Node::Bool),
        any::<i64>().prop_map(Node::Int),
        select(&[0.5, 1000.0, -2.25, 1e-3, 6.02e23][..]).prop_map(Node::Float),
        text().prop_map(Node::Str),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Node::Seq),
            btree_map(prop_oneof![word(), label_key()], inner, 0..4).prop_map(|m| Node::Map(m.into_iter().collect())),
        ]
    })
}

fn custom_resource() -> impl Strategy<Value = Node> {
    (metadata(), free_form()).prop_map(|(meta, spec)| {
        map(vec![
            ("apiVersion", Some(str("example.com/v1"))),
            ("kind", Some(str("Widget"))),
            ("metadata", Some(meta)),
            ("spec", Some(spec)),
        ])
    })
}

fn document() -> impl Strategy<Value = Node> {
    prop_oneof![
        6 => workload(),
        2 => service(),
        2 => config_map(),
        1 => namespace(),
        1 => custom_resource(),
    ]
}

/// Whether Kubernetes refuses the document for its metadata (labels and annotations must be
/// strings), which temper must report as an error.
fn refused(doc: &Node) -> bool {
    let meta = doc.get("metadata");
    ["labels", "annotations"].iter().any(|field| match meta.and_then(|m| m.get(field)) {
        Some(Node::Map(entries)) => entries.iter().any(|(_, v)| !matches!(v, Node::Str(_))),
        _ => false,
    })
}

// ---------------------------------------------------------------------------------------------
// The writer.

/// Writes the model as YAML, taking every stylistic decision from `choices`.
struct Writer<'a> {
    choices: &'a [u8],
    next: usize,
    /// Anchored nodes and their names, so later equal nodes can be aliases or merges.
    anchors: Vec<(Node, String)>,
    step: usize,
    compact_seqs: bool,
}

impl Writer<'_> {
    fn pick(&mut self, n: usize) -> usize {
        if self.choices.is_empty() {
            return 0;
        }
        let c = self.choices[self.next % self.choices.len()];
        self.next += 1;
        c as usize % n
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.pick(one_in) == one_in - 1
    }

    fn stream(&mut self, docs: &[Node], crlf: bool) -> String {
        let mut out = String::new();
        for (i, doc) in docs.iter().enumerate() {
            self.anchors.clear();
            self.step = [2, 2, 4, 3][self.pick(4)];
            self.compact_seqs = self.chance(2);
            if self.chance(4) {
                out.push_str("# a comment before the separator\n");
            }
            let flow = self.chance(8);
            // A stream whose first character is `{` is a JSON stream to kubectl (and to temper),
            // so a flow-style first document needs something before it.
            if i > 0 || (flow && out.is_empty()) || self.chance(2) {
                out.push_str(["---\n", "--- # separator comment\n", "---   \n"][self.pick(3)]);
            }
            if self.chance(2) {
                out.push_str(&format!("# Source: chart/templates/doc-{i}.yaml\n"));
            }
            if flow {
                // The whole document in flow style, on one line.
                let body = self.flow(doc);
                out.push_str(&body);
                out.push('\n');
            } else {
                self.block_map_entries(doc, 0, &mut out);
            }
            if self.chance(10) {
                out.push_str("...\n");
            }
        }
        if crlf { out.replace('\n', "\r\n") } else { out }
    }

    /// A key, always a string.
    fn key(&mut self, key: &str) -> String {
        if plain_string_ok(key) && self.pick(4) != 0 {
            key.to_string()
        } else if single_quote_ok(key) && self.chance(2) {
            single_quoted(key)
        } else {
            double_quoted(key)
        }
    }

    /// A scalar on one line, fit for flow and block context alike.
    fn scalar(&mut self, node: &Node) -> String {
        match node {
            Node::Null => ["null", "~", "Null", "NULL"][self.pick(4)].to_string(),
            Node::Bool(true) => ["true", "True", "TRUE", "yes", "Yes", "on", "ON", "y", "Y"][self.pick(9)].to_string(),
            Node::Bool(false) => ["false", "False", "no", "NO", "off", "Off", "n", "N"][self.pick(8)].to_string(),
            Node::Int(n) => match self.pick(8) {
                0 if *n > 0 => format!("0{n:o}"),
                1 if *n >= 0 => format!("0x{n:x}"),
                2 if *n >= 0 => format!("0o{n:o}"),
                3 if *n >= 0 => format!("+{n}"),
                4 if *n >= 10 => {
                    let digits = n.to_string();
                    format!("{}_{}", &digits[..1], &digits[1..])
                }
                5 => format!("!!int \"{n}\""),
                _ => n.to_string(),
            },
            Node::Float(f) => match self.pick(3) {
                0 => format!("{f:e}"),
                1 => format!("!!float '{f:?}'"),
                _ => format!("{f:?}"),
            },
            Node::Str(s) => {
                let options = [plain_string_ok(s), single_quote_ok(s), true, plain_spelling(s) && !s.is_empty()];
                let mut pick = self.pick(4);
                while !options[pick] {
                    pick = (pick + 1) % 4;
                }
                match pick {
                    0 => s.clone(),
                    1 => single_quoted(s),
                    2 => double_quoted(s),
                    _ => format!("!!str {s}"),
                }
            }
            Node::Map(_) | Node::Seq(_) => self.flow_body(node),
        }
    }

    /// A node in flow style, with anchors and aliases where the choices say.
    fn flow(&mut self, node: &Node) -> String {
        if let Some(alias) = self.alias(node) {
            return alias;
        }
        let anchor = self.anchor(node).map(|a| format!("&{a} ")).unwrap_or_default();
        let body = self.flow_body(node);
        format!("{anchor}{body}")
    }

    /// A node in flow style, without an anchor or alias of its own.
    fn flow_body(&mut self, node: &Node) -> String {
        match node {
            Node::Map(entries) => {
                let (merge, rest) = self.merge(entries);
                let mut parts: Vec<String> = merge.into_iter().map(|m| format!("<<: *{m}")).collect();
                for (k, v) in rest {
                    let key = self.key(k);
                    let value = self.flow(v);
                    parts.push(format!("{key}: {value}"));
                }
                format!("{{{}}}", parts.join(", "))
            }
            Node::Seq(items) => {
                let parts: Vec<String> = items.iter().map(|i| self.flow(i)).collect();
                format!("[{}]", parts.join(", "))
            }
            scalar => self.scalar(scalar),
        }
    }

    /// `*name` if an equal node was anchored and the choices say to use it.
    fn alias(&mut self, node: &Node) -> Option<String> {
        let name = self.anchors.iter().find(|(n, _)| n == node).map(|(_, a)| a.clone())?;
        (self.pick(3) != 0).then(|| format!("*{name}"))
    }

    /// A new anchor name for `node`, if the choices say so. Only nodes worth sharing get one.
    fn anchor(&mut self, node: &Node) -> Option<String> {
        let worth = match node {
            Node::Map(e) => !e.is_empty(),
            Node::Seq(i) => !i.is_empty(),
            Node::Str(s) => s.len() > 3,
            _ => false,
        };
        if !worth || !self.chance(4) {
            return None;
        }
        let name = format!("a{}", self.anchors.len());
        self.anchors.push((node.clone(), name.clone()));
        Some(name)
    }

    /// An anchored mapping whose entries all appear in `entries`, to merge with `<<`, and the
    /// entries left to write.
    fn merge<'e>(&mut self, entries: &'e [(String, Node)]) -> (Option<String>, Vec<&'e (String, Node)>) {
        let found = self.anchors.iter().find_map(|(n, a)| match n {
            // A strict subset: a mapping never merges itself while it is being written.
            Node::Map(base)
                if !base.is_empty() && base.len() < entries.len() && base.iter().all(|e| entries.contains(e)) =>
            {
                Some((a.clone(), base.clone()))
            }
            _ => None,
        });
        match found {
            Some((name, base)) if self.chance(2) => {
                (Some(name), entries.iter().filter(|e| !base.contains(e)).collect())
            }
            _ => (None, entries.iter().collect()),
        }
    }

    /// The entries of a mapping in block style at `indent`.
    fn block_map_entries(&mut self, node: &Node, indent: usize, out: &mut String) {
        let Node::Map(entries) = node else {
            out.push_str(&format!("{}{}\n", " ".repeat(indent), self.flow(node)));
            return;
        };
        let pad = " ".repeat(indent);
        let (merge, rest) = self.merge(entries);
        if let Some(m) = merge {
            out.push_str(&format!("{pad}<<: *{m}\n"));
        }
        for (k, v) in rest {
            if self.chance(8) {
                let about = if plain_string_ok(k) { k.as_str() } else { "the next key" };
                out.push_str(&format!("{pad}# about {about}\n"));
            }
            let key = self.key(k);
            out.push_str(&format!("{pad}{key}:"));
            self.block_value(v, indent, out);
        }
    }

    /// The value after `key:`, from the colon on, ending with a newline.
    fn block_value(&mut self, v: &Node, indent: usize, out: &mut String) {
        if let Some(alias) = self.alias(v) {
            out.push_str(&format!(" {alias}\n"));
            return;
        }
        match v {
            Node::Map(e) if !e.is_empty() && !self.chance(5) => {
                let anchor = self.anchor(v).map(|a| format!(" &{a}")).unwrap_or_default();
                out.push_str(&format!("{anchor}\n"));
                self.block_map_entries(v, indent + self.step, out);
            }
            Node::Seq(i) if !i.is_empty() && !self.chance(5) => {
                let anchor = self.anchor(v).map(|a| format!(" &{a}")).unwrap_or_default();
                out.push_str(&format!("{anchor}\n"));
                let at = if self.compact_seqs { indent } else { indent + self.step };
                self.block_seq(v, at, out);
            }
            Node::Str(s) if literal_ok(s) && self.chance(2) => {
                let chomp = if s.ends_with("\n\n") {
                    "+"
                } else if s.ends_with('\n') {
                    ""
                } else {
                    "-"
                };
                out.push_str(&format!(" |{chomp}\n"));
                let pad = " ".repeat(indent + self.step);
                for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        out.push_str(&format!("{pad}{line}\n"));
                    }
                }
            }
            Node::Null if self.chance(3) => out.push('\n'),
            _ => {
                let anchor = self.anchor(v).map(|a| format!("&{a} ")).unwrap_or_default();
                let value = self.scalar(v);
                let comment = if self.chance(6) { " # trailing comment" } else { "" };
                out.push_str(&format!(" {anchor}{value}{comment}\n"));
            }
        }
    }

    /// The items of a sequence in block style, `-` at `indent`.
    fn block_seq(&mut self, node: &Node, indent: usize, out: &mut String) {
        let Node::Seq(items) = node else { return };
        let pad = " ".repeat(indent);
        for item in items {
            if let Some(alias) = self.alias(item) {
                out.push_str(&format!("{pad}- {alias}\n"));
                continue;
            }
            match item {
                Node::Map(e) if !e.is_empty() && !self.chance(6) => match self.anchor(item) {
                    Some(a) => {
                        out.push_str(&format!("{pad}- &{a}\n"));
                        self.block_map_entries(item, indent + 2, out);
                    }
                    None => {
                        // `- key: value`, the rest of the mapping under the first key.
                        let mut body = String::new();
                        self.block_map_entries(item, indent + 2, &mut body);
                        out.push_str(&format!("{pad}- {}", &body[indent + 2..]));
                    }
                },
                Node::Seq(i) if !i.is_empty() && !self.chance(3) => {
                    out.push_str(&format!("{pad}-\n"));
                    self.block_seq(item, indent + 2, out);
                }
                _ => {
                    let value = self.flow(item);
                    out.push_str(&format!("{pad}- {value}\n"));
                }
            }
        }
    }
}

const KEYWORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL",
];

/// Whether `s` reads back as itself when written plain: it starts with a letter, holds nothing
/// YAML gives a meaning to, and is not a YAML 1.1 boolean or null.
fn plain_string_ok(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && !KEYWORDS.contains(&s)
}

/// Whether `s` can be written as a plain scalar at all (whatever it then means); with a
/// `!!str` tag it is the string it spells.
fn plain_spelling(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c))
}

fn special(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{85}')
}

fn single_quote_ok(s: &str) -> bool {
    !s.chars().any(special) && !s.starts_with(' ') && !s.ends_with(' ')
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if special(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` can be a literal block scalar: several lines, the first not indented, no line
/// of only spaces, nothing special.
fn literal_ok(s: &str) -> bool {
    let body = s.trim_end_matches('\n');
    s.contains('\n')
        && !body.is_empty()
        && !body.starts_with([' ', '\t'])
        && !s.chars().any(|c| special(c) && c != '\n')
        && body.split('\n').all(|l| l.is_empty() || !l.trim().is_empty())
        && !body.split('\n').any(|l| l.ends_with(' '))
}

// ---------------------------------------------------------------------------------------------
// The properties.

fn pool(threads: usize) -> &'static ThreadPool {
    static POOLS: [OnceLock<ThreadPool>; 2] = [OnceLock::new(), OnceLock::new()];
    POOLS[threads - 1].get_or_init(|| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap())
}

fn policies() -> &'static [(&'static str, Policy)] {
    static POLICIES: OnceLock<Vec<(&'static str, Policy)>> = OnceLock::new();
    POLICIES.get_or_init(|| ENVIRONMENTS.iter().map(|env| (*env, policy(env))).collect())
}

fn run(threads: usize, policy: &Policy, text: &str) -> temper::Result<Outcome> {
    let settings = Settings::render(None).with_compliance(SecretValues::Length);
    pool(threads).install(|| temper::run(&[Input::new("<prop>", text)], policy, &settings))
}

fn report_json(outcome: &Outcome) -> String {
    serde_json::to_string(&outcome.report).unwrap()
}

/// Every property for one model and two stylings of it.
fn check(docs: &[Node], style_a: &[u8], style_b: &[u8], crlf: bool) {
    let write = |choices: &[u8], crlf: bool| {
        let mut w = Writer { choices, next: 0, anchors: Vec::new(), step: 2, compact_seqs: false };
        w.stream(docs, crlf)
    };
    let text_a = write(style_a, crlf);
    let text_b = write(style_b, !crlf);

    // The writer is right: both texts read as the model, as Kubernetes reads them.
    let parse = |text: &str| {
        read::parse(&[Input::new("<prop>", text)])
            .map(|docs| docs.into_iter().filter_map(|d| d.value).collect::<Vec<Value>>())
    };
    let refuses = docs.iter().any(refused);
    for text in [&text_a, &text_b] {
        match parse(text) {
            Ok(values) => {
                assert_eq!(values.len(), docs.len(), "document count\n{text}");
                for (value, doc) in values.iter().zip(docs) {
                    assert!(
                        temper::canon::same_meaning(value, &doc.meaning()),
                        "the text does not read as the model\n--- text:\n{text}\n--- read: {value}\n--- model: {}",
                        doc.meaning()
                    );
                }
            }
            Err(e) => assert!(refuses, "a valid model failed to read: {e}\n{text}"),
        }
    }

    for (env, policy) in policies() {
        let two = run(2, policy, &text_a);
        let b = run(2, policy, &text_b);
        let two = match two {
            Err(e) => {
                let message = e.to_string();
                assert!(refuses, "{env}: render failed: {message}\n{text_a}");
                assert!(message.contains("document") && message.contains("must be a string"), "{env}: {message}");
                assert!(b.is_err(), "{env}: one styling fails and the other does not");
                continue;
            }
            Ok(outcome) => outcome,
        };
        assert!(!refuses, "{env}: a label or annotation that is not a string was accepted\n{text_a}");
        check_faithful(&text_a, &two);

        let one = run(1, policy, &text_a).unwrap();
        assert!(one.output == two.output, "{env}: 1 and 2 threads give different output\n{text_a}");
        assert_eq!(report_json(&one), report_json(&two), "{env}: 1 and 2 threads give different reports");

        let again =
            run(2, policy, &two.output).unwrap_or_else(|e| panic!("{env}: the output fails: {e}\n{}", two.output));
        assert!(again.output == two.output, "{env}: rendering the output changed it\n{}", two.output);
        assert!(again.report.changes.is_empty() && again.report.generated.is_empty(), "{env}: second pass changed");

        let b = b.unwrap_or_else(|e| panic!("{env}: the second styling fails: {e}\n{text_b}"));
        let hash = |o: &Outcome| o.report.compliance.as_ref().map(|c| c.compliance_hash.clone()).unwrap();
        assert_eq!(hash(&two), hash(&b), "{env}: the compliance hash depends on formatting\n{text_a}\n=====\n{text_b}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn generated_manifests_render_faithfully_in_every_environment(
        docs in vec(document(), 1..4),
        style_a in vec(any::<u8>(), 0..64),
        style_b in vec(any::<u8>(), 0..64),
        crlf in any::<bool>(),
    ) {
        check(&docs, &style_a, &style_b, crlf);
    }
}

/// The writer's spellings, checked one by one against what they must mean, so that a failure
/// of the property above is temper's and not the writer's.
#[test]
fn every_spelling_the_writer_uses_means_what_the_model_says() {
    let nodes = [
        Node::Null,
        Node::Bool(true),
        Node::Bool(false),
        Node::Int(493),
        Node::Int(-7),
        Node::Int(0),
        Node::Float(0.5),
        Node::Float(6.02e23),
    ]
    .into_iter()
    .chain(LOOK_ALIKES.iter().map(|s| str(s)));
    for node in nodes {
        for choice in 0..=255u8 {
            let docs = [map(vec![
                ("apiVersion", Some(str("v1"))),
                ("kind", Some(str("ConfigMap"))),
                ("metadata", Some(map(vec![("name", Some(str("x")))]))),
                ("spec", Some(map(vec![("value", Some(node.clone())), ("list", Some(Node::Seq(vec![node.clone()])))]))),
            ])];
            let choices = [choice, choice.wrapping_mul(7), choice.wrapping_add(3)];
            let mut w = Writer { choices: &choices, next: 0, anchors: Vec::new(), step: 2, compact_seqs: false };
            let text = w.stream(&docs, false);
            let read =
                read::parse(&[Input::new("<spelling>", text.as_str())]).unwrap_or_else(|e| panic!("{e}\n{text}"));
            let value = read.iter().find_map(|d| d.value.clone()).unwrap();
            assert!(temper::canon::same_meaning(&value, &docs[0].meaning()), "{text}\nread as {value}");
        }
    }
}
