//! Configuration: overlays and environments as data, and their resolution into a [`Policy`].
//!
//! The built-in files are embedded; `--config DIR` adds a user's `overlays/` and
//! `environments/`, whose files replace built-in ones of the same name and may extend them.
//! Resolving an environment walks its `extends` chain from the root: each environment applies
//! its overlays' rule parameters (in order), then its own rule settings. Later values win;
//! mappings merge key by key, and `null` is a value ("do not set"), not a deletion.
//!
//! **Invariant:** this module is the only reader of configuration files.

mod builtin;
mod schema;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::knowledge::{
    Classes, ClusterScoped, ImageWrites, Knowledge, Patterns, Signals, SingleWriterTable, SingleWriters, Store,
    WorkloadKinds, WritablePaths, workload_kind,
};
use crate::patch::Patch;
use crate::record::{Mode, RuleId, Severity};
use crate::rules::Rule;
use crate::target::Target;

pub use schema::API_VERSION;
use schema::{AllowDeny, EnvironmentFile, OverlayFile, Refusals, RuleSetting, SignalsSpec, SingleWritersSpec};

/// Where a configuration file came from, and what it says.
#[derive(Debug, Clone)]
struct Origin {
    /// How messages name it: `builtin:overlays/x.yaml`, or the path it was read from.
    file: String,
    /// Its place in a configuration directory: `overlays/x.yaml`, `environments/y.yaml`.
    path: String,
    text: String,
}

impl Origin {
    fn builtin(&self) -> bool {
        self.file.starts_with("builtin:")
    }
}

/// Every overlay and environment known: built-in, then the user's.
#[derive(Debug, Clone)]
pub struct Config {
    overlays: BTreeMap<String, (Origin, OverlayFile)>,
    environments: BTreeMap<String, (Origin, EnvironmentFile)>,
}

/// A resolved environment: what a run applies.
#[derive(Debug)]
pub struct Policy {
    pub environment: String,
    /// The `extends` chain, root first.
    pub chain: Vec<String>,
    /// Every rule not `off`, in catalog order.
    pub rules: Vec<ConfiguredRule>,
    pub patches: Vec<Patch>,
    pub exemptions: Vec<EnvExemption>,
    pub annotation_exemptions: bool,
    /// The severity of a fix temper refuses: a warning, unless the environment says `block`
    /// (then an enforced rule's refusal fails the run like any violation).
    pub refusals: Severity,
    /// What the environment knows about the world: workload kinds and classes, cluster-scoped
    /// kinds, single writers, writable paths.
    pub knowledge: Knowledge,
    /// The whole resolved environment as data: `temper env` prints it, the policy digest
    /// hashes it.
    pub resolved: Value,
}

/// A rule with its mode, built from its resolved parameters.
#[derive(Debug)]
pub struct ConfiguredRule {
    pub id: RuleId,
    pub mode: Mode,
    pub rule: Box<dyn Rule>,
}

/// An exemption listed by an environment.
#[derive(Debug, Clone)]
pub struct EnvExemption {
    pub rules: Vec<RuleId>,
    pub target: Target,
    pub reason: String,
    pub environment: String,
    /// Position in that environment's list.
    pub index: usize,
}

impl Config {
    /// The built-in configuration.
    pub fn builtin() -> Result<Config> {
        let mut config = Config { overlays: BTreeMap::new(), environments: BTreeMap::new() };
        for (path, text) in builtin::FILES {
            config.add(&format!("builtin:{path}"), path, path.starts_with("environments/"), text)?;
        }
        Ok(config)
    }

    /// The built-in configuration plus the user's directory, if given.
    pub fn load(user_dir: Option<&Path>) -> Result<Config> {
        let mut config = Config::builtin()?;
        let Some(dir) = user_dir else { return Ok(config) };
        if !dir.is_dir() {
            return Err(Error::config(dir.display().to_string(), "configuration directory does not exist"));
        }
        let mut found = false;
        for (sub, env) in [("overlays", false), ("environments", true)] {
            let path = dir.join(sub);
            if !path.is_dir() {
                continue;
            }
            found = true;
            let mut seen = BTreeMap::new();
            for file in crate::read::manifest_files(&path)? {
                let name = file.display().to_string();
                let text = std::fs::read_to_string(&file).map_err(|cause| Error::Read { path: file.clone(), cause })?;
                let path = format!("{sub}/{}", file.file_name().unwrap_or_default().to_string_lossy());
                let key = config.add(&name, &path, env, &text)?;
                if let Some(other) = seen.insert(key.clone(), name.clone()) {
                    return Err(Error::config(name, format!("`{key}` is also defined in {other}")));
                }
            }
        }
        if !found {
            return Err(Error::config(
                dir.display().to_string(),
                "has neither an overlays/ nor an environments/ directory",
            ));
        }
        Ok(config)
    }

    /// Adds an environment given as text (as if it were a file named `file`).
    pub fn add_environment(&mut self, file: &str, text: &str) -> Result<String> {
        self.add(file, &format!("environments/{}", base_name(file)), true, text)
    }

    /// Adds an overlay given as text (as if it were a file named `file`).
    pub fn add_overlay(&mut self, file: &str, text: &str) -> Result<String> {
        self.add(file, &format!("overlays/{}", base_name(file)), false, text)
    }

    /// The files of the configuration, as `temper init` writes them: each overlay and
    /// environment by its path in a configuration directory (`overlays/x.yaml`), with its
    /// text, sorted by path. A user's file replaces the built-in one it overrides (same kind
    /// and name), and a built-in file whose path a user's file takes is left out: it stays
    /// built in, and the user's file does not override it.
    pub fn files(&self) -> Vec<(String, String)> {
        let origins: Vec<&Origin> =
            self.overlays.values().map(|(o, _)| o).chain(self.environments.values().map(|(o, _)| o)).collect();
        let user: std::collections::HashSet<&str> =
            origins.iter().filter(|o| !o.builtin()).map(|o| o.path.as_str()).collect();
        let mut files: Vec<(String, String)> = origins
            .into_iter()
            .filter(|o| !o.builtin() || !user.contains(o.path.as_str()))
            .map(|o| (o.path.clone(), o.text.clone()))
            .collect();
        files.sort();
        files
    }

    /// Adds one file, replacing a built-in one of the same name. Returns its name.
    fn add(&mut self, file: &str, path: &str, environment: bool, text: &str) -> Result<String> {
        let origin = Origin { file: file.to_string(), path: path.to_string(), text: text.to_string() };
        let bad = |message: String| Error::config(file, message);
        let options = serde_saphyr::options! { legacy_octal_numbers: true };
        let check = |api_version: &str, kind: &str, want: &str| -> Result<()> {
            if api_version != API_VERSION {
                return Err(bad(format!("apiVersion must be {API_VERSION}, not `{api_version}`")));
            }
            if kind != want {
                return Err(bad(format!("kind must be {want} in this directory, not `{kind}`")));
            }
            Ok(())
        };
        let describe = |e: serde_saphyr::Error| bad(e.to_string().lines().next().unwrap_or_default().to_string());
        if environment {
            let parsed: EnvironmentFile = serde_saphyr::from_str_with_options(text, options).map_err(describe)?;
            check(&parsed.api_version, &parsed.kind, "Environment")?;
            let name = parsed.metadata.name.clone();
            self.environments.insert(name.clone(), (origin, parsed));
            Ok(name)
        } else {
            let parsed: OverlayFile = serde_saphyr::from_str_with_options(text, options).map_err(describe)?;
            check(&parsed.api_version, &parsed.kind, "Overlay")?;
            let name = parsed.metadata.name.clone();
            self.overlays.insert(name.clone(), (origin, parsed));
            Ok(name)
        }
    }

    /// Environments by name, with their descriptions and parents.
    pub fn environments(&self) -> impl Iterator<Item = (&str, Option<&str>, Option<&str>)> {
        self.environments
            .iter()
            .map(|(name, (_, f))| (name.as_str(), f.spec.extends.as_deref(), f.spec.description.as_deref()))
    }

    /// The environment marked `default: true` (a user's replaces the built-in one); with none
    /// marked, `prod` if there is one.
    pub fn default_environment(&self) -> Result<String> {
        let defaults: Vec<(&String, &Origin)> =
            self.environments.iter().filter(|(_, (_, f))| f.spec.default).map(|(n, (o, _))| (n, o)).collect();
        let user: Vec<_> = defaults.iter().filter(|(_, o)| !o.builtin()).collect();
        match (user.as_slice(), defaults.as_slice()) {
            ([(name, _)], _) => Ok(name.to_string()),
            ([], [(name, _)]) => Ok(name.to_string()),
            ([], []) if self.environments.contains_key("prod") => Ok("prod".into()),
            ([], []) => Err(Error::config("environments", "no environment is marked `default: true`; pass --env")),
            _ => Err(Error::config("environments", "more than one environment is marked `default: true`")),
        }
    }

    /// Whether an environment of this name exists.
    pub fn has_environment(&self, name: &str) -> bool {
        self.environments.contains_key(name)
    }

    /// Resolves `name`, which the user gave through `from` (`--env`, `TEMPER_ENV`, ...), into
    /// a policy: an unknown name is an error that says where it came from.
    pub fn resolve_from(&self, name: &str, from: &str) -> Result<Policy> {
        if !self.has_environment(name) {
            return Err(self.unknown_environment("environments", name, &format!(" (from {from})")));
        }
        self.resolve(name)
    }

    /// The error for an environment that does not exist, with the closest known name.
    fn unknown_environment(&self, file: &str, name: &str, from: &str) -> Error {
        let known: Vec<&str> = self.environments.keys().map(String::as_str).collect();
        let close = crate::suggest::did_you_mean(name, known.iter().copied());
        Error::config(
            file,
            format!("unknown environment `{name}`{from};{close} known environments: {}", known.join(", ")),
        )
    }

    /// Resolves `name` into a policy.
    pub fn resolve(&self, name: &str) -> Result<Policy> {
        let chain = self.chain(name)?;
        let mut modes: BTreeMap<RuleId, Mode> = BTreeMap::new();
        let mut params: BTreeMap<RuleId, Value> = BTreeMap::new();
        let mut overlays: Vec<String> = Vec::new();
        let mut annotation_exemptions = true;
        let mut refusals = Refusals::Warn;
        let mut exemptions = Vec::new();
        for env_name in &chain {
            let (origin, env) = &self.environments[env_name];
            let file = &origin.file;
            for overlay in &env.spec.overlays {
                let (o_origin, o) = self.overlays.get(overlay).ok_or_else(|| {
                    let known: Vec<&str> = self.overlays.keys().map(String::as_str).collect();
                    let close = crate::suggest::did_you_mean(overlay, known.iter().copied());
                    Error::config(
                        file,
                        format!("unknown overlay `{overlay}`;{close} known overlays: {}", known.join(", ")),
                    )
                })?;
                if overlays.contains(overlay) {
                    continue;
                }
                overlays.push(overlay.clone());
                for (id, value) in &o.spec.rules {
                    let rule =
                        parse_rule_id(id).map_err(|m| Error::config(&o_origin.file, format!("spec.rules: {m}")))?;
                    merge(params.entry(rule).or_insert_with(|| json!({})), value);
                }
            }
            if let Some(level) = &env.spec.pod_security_level {
                merge(
                    params.entry(RuleId::NamespacePodSecurity).or_insert_with(|| json!({})),
                    &json!({"enforce": level}),
                );
            }
            for (id, value) in &env.spec.rules {
                let rule = parse_rule_id(id).map_err(|m| Error::config(file, format!("spec.rules: {m}")))?;
                let setting =
                    RuleSetting::parse(value).map_err(|m| Error::config(file, format!("spec.rules.{id}: {m}")))?;
                if let Some(mode) = setting.mode {
                    modes.insert(rule, mode);
                }
                if let Some(p) = &setting.params {
                    merge(params.entry(rule).or_insert_with(|| json!({})), p);
                }
            }
            if let Some(a) = env.spec.annotation_exemptions {
                annotation_exemptions = a == AllowDeny::Allow;
            }
            if let Some(r) = env.spec.refusals {
                refusals = r;
            }
            for (index, ex) in env.spec.exemptions.iter().enumerate() {
                let at = format!("spec.exemptions[{index}]");
                if ex.reason.trim().is_empty() {
                    return Err(Error::config(file, format!("{at}: an exemption needs a reason")));
                }
                let rules = ex
                    .rules
                    .iter()
                    .map(|r| parse_rule_id(r))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|m| Error::config(file, format!("{at}.rules: {m}")))?;
                let target =
                    Target::compile(ex.target.clone()).map_err(|m| Error::config(file, format!("{at}.{m}")))?;
                exemptions.push((
                    ex.clone(),
                    EnvExemption { rules, target, reason: ex.reason.clone(), environment: env_name.clone(), index },
                ));
            }
        }
        let where_ = format!("environment `{name}` ({})", chain.join(" -> "));
        let mut rules = Vec::new();
        let mut resolved_rules = Map::new();
        for &id in RuleId::ALL {
            let mode = modes.get(&id).copied().unwrap_or_default();
            let (rule, resolved) = id
                .build(params.get(&id).unwrap_or(&json!({})))
                .map_err(|m| Error::config(&where_, format!("rule `{id}`: {m}")))?;
            resolved_rules.insert(id.as_str().into(), json!({"mode": mode, "params": resolved}));
            if mode != Mode::Off {
                rules.push(ConfiguredRule { id, mode, rule });
            }
        }
        let mut patches = Vec::new();
        let mut classes = Map::new();
        let mut kinds = Vec::new();
        let mut cluster_scoped = Vec::new();
        let mut single_writers = SingleWriterTable::default();
        let mut writable = Vec::new();
        let mut resolved_overlays = Vec::new();
        // Later overlays come first in the tables where the first match wins.
        for overlay in &overlays {
            let (origin, o) = &self.overlays[overlay];
            let bad = |field: &str, m: String| Error::config(&origin.file, format!("spec.{field}: {m}"));
            for scope in &o.spec.cluster_scoped {
                cluster_scoped.extend(scope.kinds.iter().map(|k| (scope.group.clone(), k.clone())));
            }
            if let Some(spec) = &o.spec.single_writers {
                merge_single_writers(&mut single_writers, spec).map_err(|m| bad("singleWriters", m))?;
            }
            for (i, w) in o.spec.writable_paths.iter().enumerate().rev() {
                Patterns::check(&w.image).map_err(|m| bad(&format!("writablePaths[{i}].image"), m))?;
                let entry = ImageWrites {
                    image: w.image.clone(),
                    paths: w.paths.clone(),
                    data_paths: w.data_paths.clone(),
                    not_read_only: (!w.read_only)
                        .then(|| w.reason.clone().unwrap_or_else(|| format!("see {}", w.source))),
                };
                writable.insert(0, entry);
            }
            for (i, spec) in o.spec.patches.iter().enumerate() {
                let patch = Patch::compile(overlay, i + 1, spec.clone())
                    .map_err(|m| Error::config(&origin.file, format!("spec.patches[{i}]: {m}")))?;
                patches.push(patch);
            }
            if let Some(c) = &o.spec.classes {
                classes.extend(c.clone());
            }
            for (i, w) in o.spec.workloads.iter().enumerate() {
                kinds.push(
                    workload_kind(w.group.clone(), &w.kind, &w.pod_template, w.replicas.as_deref())
                        .map_err(|m| Error::config(&origin.file, format!("spec.workloads[{i}]: {m}")))?,
                );
            }
            resolved_overlays.push(json!({"name": overlay, "spec": o.spec}));
        }
        let compiled_classes =
            compile_classes(&classes).map_err(|m| Error::config(&where_, format!("classes: {m}")))?;
        // Each table's patterns were checked where they were written; compiled together now,
        // one can only fail for its size.
        let single_writers =
            SingleWriters::new(single_writers).map_err(|m| Error::config(&where_, format!("singleWriters: {m}")))?;
        let writable_paths =
            WritablePaths::new(writable).map_err(|m| Error::config(&where_, format!("writablePaths: {m}")))?;
        let resolved = json!({
            "apiVersion": API_VERSION,
            "kind": "ResolvedEnvironment",
            "metadata": {"name": name},
            "spec": {
                "chain": chain,
                "annotationExemptions": if annotation_exemptions { "allow" } else { "deny" },
                "refusals": refusals,
                "overlays": resolved_overlays,
                "rules": resolved_rules,
                "exemptions": exemptions.iter().map(|(spec, ex)| json!({"environment": ex.environment, "exemption": spec})).collect::<Vec<_>>(),
            },
        });
        Ok(Policy {
            environment: name.to_string(),
            chain,
            rules,
            patches,
            exemptions: exemptions.into_iter().map(|(_, e)| e).collect(),
            annotation_exemptions,
            refusals: if refusals == Refusals::Block { Severity::Error } else { Severity::Warning },
            knowledge: Knowledge {
                kinds: WorkloadKinds::new(kinds),
                classes: compiled_classes,
                cluster_scoped: ClusterScoped::new(cluster_scoped),
                single_writers,
                writable_paths,
            },
            resolved,
        })
    }

    fn chain(&self, name: &str) -> Result<Vec<String>> {
        let mut chain = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(current) = next {
            if chain.contains(&current) {
                chain.push(current);
                return Err(Error::config("environments", format!("`extends` loops: {}", chain.join(" -> "))));
            }
            let (_, env) = self.environments.get(&current).ok_or_else(|| match chain.last() {
                // Named by a configuration file's `spec.extends`.
                Some(child) => {
                    let file = self.environments.get(child).map_or("environments", |(origin, _)| origin.file.as_str());
                    self.unknown_environment(file, &current, &format!(" (spec.extends of `{child}`)"))
                }
                None => self.unknown_environment("environments", &current, ""),
            })?;
            next = env.spec.extends.clone();
            chain.push(current);
        }
        chain.reverse();
        Ok(chain)
    }

    /// The built-in files, for `temper init`.
    pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
        builtin::FILES
    }
}

impl Policy {
    /// The mode of `rule` in this environment.
    pub fn mode(&self, rule: RuleId) -> Mode {
        self.rules.iter().find(|r| r.id == rule).map_or(Mode::Off, |r| r.mode)
    }
}

/// The last component of a `/`-separated file name.
fn base_name(file: &str) -> &str {
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

fn parse_rule_id(id: &str) -> std::result::Result<RuleId, String> {
    match id.parse::<RuleId>() {
        Ok(RuleId::OverlayPatch) => Err("`overlay-patch` is configured through overlay patches, not as a rule".into()),
        Ok(RuleId::ComplianceStamp) => {
            Err("`compliance-stamp` is set with `temper render --stamp`, not as a rule".into())
        }
        other => other,
    }
}

/// Deep-merges `over` into `base`: mappings key by key, anything else replaced (null included).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Checks every pattern of `patterns`, as compiling them would.
fn check_all(patterns: &[String]) -> std::result::Result<Vec<String>, String> {
    patterns.iter().try_for_each(|p| Patterns::check(p))?;
    Ok(patterns.to_vec())
}

/// Adds an overlay's single-writer table: its classes and exclusions replace earlier ones, its
/// stores come before earlier ones.
fn merge_single_writers(table: &mut SingleWriterTable, spec: &SingleWritersSpec) -> std::result::Result<(), String> {
    if let Some(classes) = &spec.classes {
        table.classes = classes
            .iter()
            .map(|(class, practice)| match practice.as_str() {
                Some(p) => Ok((class.clone(), p.to_string())),
                None => Err(format!("classes.{class}: the production practice must be a string")),
            })
            .collect::<std::result::Result<_, _>>()?;
    }
    if let Some(not_names) = &spec.not_names {
        table.not_names = check_all(not_names).map_err(|m| format!("notNames: {m}"))?;
    }
    let mut stores = Vec::new();
    for (i, s) in spec.stores.iter().enumerate() {
        let at = |m: String| format!("stores[{i}] ({}): {m}", s.name);
        let signals = s.replicated_when.clone().unwrap_or_default();
        stores.push(Store {
            name: s.name.clone(),
            names: check_all(&s.names).map_err(at)?,
            images: check_all(&s.images).map_err(at)?,
            replicated: compile_signals(&signals).map_err(at)?,
            why: s.why.clone(),
            practice: s.practice.clone(),
        });
    }
    stores.append(&mut table.stores);
    table.stores = stores;
    Ok(())
}

fn compile_signals(spec: &SignalsSpec) -> std::result::Result<Signals, String> {
    let env = spec
        .env
        .iter()
        .map(|e| {
            Patterns::check(&e.name)?;
            e.value.as_deref().map(Patterns::check).transpose()?;
            Ok((e.name.clone(), e.value.clone()))
        })
        .collect::<std::result::Result<_, String>>()?;
    Ok(Signals { env, args: check_all(&spec.args)?, containers: check_all(&spec.containers)? })
}

fn compile_classes(classes: &Map<String, Value>) -> std::result::Result<Classes, String> {
    let mut out = Vec::new();
    for (class, patterns) in classes {
        let patterns = patterns
            .as_array()
            .ok_or_else(|| format!("`{class}` must be a list of patterns"))?
            .iter()
            .map(|p| {
                let p = p.as_str().ok_or_else(|| format!("`{class}`: patterns are strings"))?;
                // Checked as `Patterns::check` does, but named by their class, as they always were.
                regex_syntax::Parser::new().parse(p).map_err(|e| format!("`{class}`: {e}"))?;
                Ok(p.to_string())
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        out.push((class.clone(), patterns));
    }
    Classes::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_environments_resolve() {
        let config = Config::builtin().unwrap();
        assert_eq!(config.default_environment().unwrap(), "prod");
        let prod = config.resolve("prod").unwrap();
        assert_eq!(prod.chain, ["dev", "staging", "prod"]);
        assert_eq!(prod.mode(RuleId::PodSecurityContext), Mode::Enforce);
        assert_eq!(prod.mode(RuleId::MinimumReplicas), Mode::Fix);
        assert_eq!(prod.mode(RuleId::ServiceAccountToken), Mode::Off);
        let staging = config.resolve("staging").unwrap();
        assert_eq!(staging.mode(RuleId::HostIsolation), Mode::Enforce);
        assert_eq!(staging.mode(RuleId::MinimumReplicas), Mode::Audit);
        assert_eq!(prod.resolved["spec"]["rules"]["namespace-pod-security"]["params"]["enforce"], json!("restricted"));
    }

    #[test]
    fn builtin_files_match_the_directories() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk = Vec::new();
        for dir in ["overlays", "environments"] {
            for f in crate::read::manifest_files(&root.join(dir)).unwrap() {
                on_disk.push(format!("{dir}/{}", f.file_name().unwrap().to_string_lossy()));
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = builtin::FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn merge_keeps_null_as_a_value() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "b": 1});
        merge(&mut base, &json!({"a": {"y": null}, "c": [1]}));
        assert_eq!(base, json!({"a": {"x": 1, "y": null}, "b": 1, "c": [1]}));
    }
}
