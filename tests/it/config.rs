//! Configuration files: user directories, resolution, and the error for every mistake.

use temper::Config;

use crate::util::{TempDir, render, run_with_stdin, temper, transcript};

const ENV_HEAD: &str = "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: mine}\n";

#[track_caller]
fn env_error(spec: &str) -> String {
    let mut config = Config::builtin().unwrap();
    let text = format!("{ENV_HEAD}spec:\n{spec}");
    match config.add_environment("environments/mine.yaml", &text) {
        Err(e) => e.to_string(),
        Ok(name) => config.resolve(&name).map(|_| ()).unwrap_err().to_string(),
    }
}

#[track_caller]
fn overlay_error(text: &str) -> String {
    let mut config = Config::builtin().unwrap();
    let name = match config.add_overlay("overlays/bad.yaml", text) {
        Err(e) => return e.to_string(),
        Ok(name) => name,
    };
    let env = format!("{ENV_HEAD}spec:\n  overlays: [{name}]\n");
    let env = config.add_environment("environments/mine.yaml", &env).unwrap();
    config.resolve(&env).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn configuration_errors_name_the_file_and_the_field() {
    let errors = [
        ("unknown rule id", env_error("  rules: {pod-securty-context: fix}\n")),
        ("overlay-patch is not a rule setting", env_error("  rules: {overlay-patch: fix}\n")),
        ("invalid mode", env_error("  rules: {probes: loud}\n")),
        ("unknown parameter", env_error("  rules: {pod-security-context: {mode: fix, params: {runAsUsr: 1}}}\n")),
        ("wrong parameter type", env_error("  rules: {pod-security-context: {params: {runAsUser: many}}}\n")),
        ("unknown key in a rule setting", env_error("  rules: {probes: {mode: audit, level: high}}\n")),
        ("unknown spec key", env_error("  extend: prod\n")),
        ("unknown parent", env_error("  extends: production\n")),
        ("unknown overlay", env_error("  overlays: [hardening]\n")),
        ("exemption without a reason", env_error("  exemptions: [{rules: [probes], reason: ''}]\n")),
        ("exemption naming an unknown rule", env_error("  exemptions: [{rules: [prob], reason: x}]\n")),
        ("bad name pattern", env_error("  exemptions: [{rules: [probes], target: {name: '('}, reason: x}]\n")),
        (
            "bad label selector",
            env_error("  exemptions: [{rules: [probes], target: {labelSelector: 'a in b'}, reason: x}]\n"),
        ),
        ("wrong kind", overlay_error("apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: bad}\n")),
        ("wrong apiVersion", overlay_error("apiVersion: temper.dev/v1\nkind: Overlay\nmetadata: {name: bad}\n")),
        (
            "two patch kinds",
            overlay_error(
                "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: bad}\nspec:\n  patches:\n  - {mergePatch: {a: 1}, containerPatch: {b: 1}}\n",
            ),
        ),
        (
            "not a JSON patch",
            overlay_error(
                "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: bad}\nspec:\n  patches:\n  - jsonPatch: [{op: frobnicate, path: /a}]\n",
            ),
        ),
        (
            "bad class pattern",
            overlay_error(
                "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: bad}\nspec:\n  classes: {database: ['[']}\n",
            ),
        ),
        (
            "bad writable image pattern",
            overlay_error(
                "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: bad}\nspec:\n  writablePaths: [{image: '^x(', paths: [/tmp], source: docs}]\n",
            ),
        ),
        (
            "bad single-writer signal pattern",
            overlay_error(
                "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: bad}\nspec:\n  singleWriters:\n    stores: [{name: Db, images: ['^db'], replicatedWhen: {env: [{name: '^X$', value: '[a'}]}, practice: p}]\n",
            ),
        ),
        (
            "bad workload pointer",
            overlay_error(
                "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: bad}\nspec:\n  workloads: [{kind: X, podTemplate: spec.template}]\n",
            ),
        ),
        ("YAML syntax", overlay_error("apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: bad\n")),
    ];
    let text: String = errors.iter().map(|(what, err)| format!("{what}:\n  {err}\n")).collect();
    insta::assert_snapshot!(text);
}

#[test]
fn extends_loops_are_reported() {
    let mut config = Config::builtin().unwrap();
    config
        .add_environment(
            "a.yaml",
            "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: a}\nspec: {extends: b}\n",
        )
        .unwrap();
    config
        .add_environment(
            "b.yaml",
            "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: b}\nspec: {extends: a}\n",
        )
        .unwrap();
    assert_eq!(config.resolve("a").unwrap_err().to_string(), "environments: `extends` loops: a -> b -> a");
}

#[test]
fn user_files_override_builtin_ones_and_extend_them() {
    let mut config = Config::builtin().unwrap();
    // Replace the built-in overlay of the same name, then extend built-in prod.
    config
        .add_overlay(
            "overlays/pod-security.yaml",
            "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: pod-security}\nspec:\n  rules:\n    pod-security-context: {runAsUser: 10001}\n",
        )
        .unwrap();
    config
        .add_environment(
            "environments/prod-eu.yaml",
            "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: prod-eu}\nspec:\n  extends: prod\n  default: true\n  rules: {probes: enforce}\n",
        )
        .unwrap();
    assert_eq!(config.default_environment().unwrap(), "prod-eu");
    let policy = config.resolve("prod-eu").unwrap();
    assert_eq!(policy.chain, ["dev", "staging", "prod", "prod-eu"]);
    assert_eq!(policy.resolved["spec"]["rules"]["pod-security-context"]["params"]["runAsUser"], 10001);
    assert_eq!(policy.resolved["spec"]["rules"]["pod-security-context"]["params"]["runAsGroup"], 4000);
    assert_eq!(policy.resolved["spec"]["rules"]["probes"]["mode"], "enforce");
}

/// An environment whose overlay replaces a key no ConfigMap has, so its patch cannot apply.
fn strict_patch_policy() -> temper::Policy {
    let mut config = Config::builtin().unwrap();
    config
        .add_overlay(
            "overlays/strict.yaml",
            "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: strict}\nspec:\n  patches:\n  - target: {kind: ConfigMap}\n    jsonPatch: [{op: replace, path: /data/missing, value: x}]\n",
        )
        .unwrap();
    config.add_environment("e.yaml", &format!("{ENV_HEAD}spec: {{overlays: [strict]}}\n")).unwrap();
    config.resolve("mine").unwrap()
}

#[test]
fn a_json_patch_that_cannot_apply_fails_the_run_unless_optional() {
    let policy = strict_patch_policy();
    let input = "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n";
    let err = render(&policy, input).unwrap_err().to_string();
    assert_eq!(
        err,
        "<test>:1: document 1 (ConfigMap/settings from app/templates/cm.yaml): overlay `strict` patch 1: operation '/0' failed at path '/data/missing': path is invalid"
    );
}

#[test]
fn a_patch_error_anywhere_comes_before_a_type_error_in_an_earlier_document() {
    // Each document is patched and type-checked as soon as it is read; the error reported is
    // still the one a patch stage over the whole stream, then a type check, would report.
    let policy = strict_patch_policy();
    let broken =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec: \"containers:\"\n";
    let settings = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n";
    let err = render(&policy, &format!("{broken}---\n{settings}")).unwrap_err().to_string();
    assert!(err.starts_with("<test>:7: document 2 (ConfigMap/settings): overlay `strict` patch 1"), "{err}");
    let err = render(&policy, &format!("{settings}---\n{broken}")).unwrap_err().to_string();
    assert!(err.starts_with("<test>:1: document 1 (ConfigMap/settings): overlay `strict` patch 1"), "{err}");
    // Without the patch, the type error is reported.
    let err = render(&policy, broken).unwrap_err().to_string();
    assert!(err.contains("`/spec/template/spec` must be a mapping, not a string"), "{err}");
}

#[test]
fn broken_config_directories_exit_2() {
    let out = run_with_stdin(temper().args(["render", "--config", "/nonexistent/temper-config"]), b"");
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(transcript(&out));
    let dir = TempDir::new("config-broken");
    dir.write(
        "environments/prod.yaml",
        "apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: prod}\nspec:\n  rules: {probes: often}\n",
    );
    let out = run_with_stdin(temper().args(["render", "--config"]).arg(dir.root()), b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("environments/prod.yaml: spec.rules.probes: `often` is not a mode"), "{stderr}");
}

/// The operations rules are off until their parameters say where things live, and every
/// parameter that cannot work is an error naming the rule and the field.
#[test]
fn operations_rules_say_what_is_misconfigured() {
    let rule = |rule: &str, params: &str| env_error(&format!("  rules: {{{rule}: {{mode: fix, params: {params}}}}}\n"));
    let errors = [
        ("external-secrets: no store", rule("external-secrets", "{provider: external-secrets-operator}")),
        (
            "external-secrets: a store of an unknown kind",
            rule("external-secrets", "{provider: external-secrets-operator, secretStoreRef: {kind: Vault, name: v}}"),
        ),
        ("external-secrets: unknown provider", rule("external-secrets", "{provider: sops}")),
        ("external-secrets: csi without its provider", rule("external-secrets", "{provider: csi}")),
        (
            "external-secrets: unknown csi provider",
            rule("external-secrets", "{provider: csi, csi: {provider: keepass}}"),
        ),
        (
            "external-secrets: a placeholder that does not exist",
            rule(
                "external-secrets",
                "{provider: external-secrets-operator, secretStoreRef: {name: v}, remoteKey: '{nmespace}/{secret}'}",
            ),
        ),
        (
            "external-secrets: gcp needs resource names",
            rule("external-secrets", "{provider: csi, csi: {provider: gcp}}"),
        ),
        (
            "external-secrets: temper writes objects",
            rule("external-secrets", "{provider: csi, csi: {provider: azure, parameters: {objects: x}}}"),
        ),
        (
            "external-secrets: properties are for ESO and vault",
            rule("external-secrets", "{provider: csi, csi: {provider: aws}, remoteProperty: '{key}'}"),
        ),
        ("sync-order: waves out of order", rule("sync-order", "{waves: {data: 5, application: 0}}")),
        ("sync-order: an unknown layer", rule("sync-order", "{waves: {platform: 1}}")),
        ("sync-order: a kind that is not one", rule("sync-order", "{layers: {infrastructure: {kinds: [apps/]}}}")),
        ("monitoring: an interval that is not one", rule("monitoring", "{labels: {}, interval: soon}")),
        (
            "monitoring: an alert without a duration",
            rule("monitoring", "{alerts: [{alert: A, expr: up == 0, for: a while, severity: warning}]}"),
        ),
        (
            "backup-schedule: not a cron expression",
            rule("backup-schedule", "{storageLocation: default, schedule: daily}"),
        ),
        ("backup-schedule: a ttl in days", rule("backup-schedule", "{storageLocation: default, ttl: 30d}")),
        ("backup-schedule: one name for every namespace", rule("backup-schedule", "{name: daily}")),
        ("backup-schedule: an unknown method", rule("backup-schedule", "{volumeBackup: restic}")),
        ("namespace-layout: an unknown parameter", rule("namespace-layout", "{classes: [database]}")),
    ];
    let text: String = errors.iter().map(|(what, err)| format!("{what}:\n  {err}\n")).collect();
    insta::assert_snapshot!(text);
}

/// With the built-in configuration the operations rules change nothing and report nothing,
/// in every environment: they wait for their parameters.
#[test]
fn operations_rules_wait_for_their_parameters() {
    let input =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/release/platform.yaml")).unwrap();
    for env in ["dev", "staging", "prod"] {
        let policy = Config::builtin().unwrap().resolve(env).unwrap();
        let outcome = temper::run(
            &[temper::read::Input::new("platform", input.as_str())],
            &policy,
            &temper::Settings::render(Some("platform".into())),
        )
        .unwrap();
        let ops = ["external-secrets", "sync-order", "monitoring", "backup-schedule"];
        let touched: Vec<String> = outcome
            .report
            .changes
            .iter()
            .map(|c| c.rule.to_string())
            .chain(outcome.report.violations.iter().map(|v| v.rule.to_string()))
            .chain(outcome.report.generated.iter().map(|g| g.rule.to_string()))
            .filter(|r| ops.contains(&r.as_str()))
            .collect();
        assert!(touched.is_empty(), "{env}: {touched:?}");
        assert!(outcome.report.prerequisites.is_empty(), "{env}");
    }
}
