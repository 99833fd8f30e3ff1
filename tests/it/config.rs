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

#[test]
fn a_json_patch_that_cannot_apply_fails_the_run_unless_optional() {
    let mut config = Config::builtin().unwrap();
    config
        .add_overlay(
            "overlays/strict.yaml",
            "apiVersion: temper.dev/v1alpha1\nkind: Overlay\nmetadata: {name: strict}\nspec:\n  patches:\n  - target: {kind: ConfigMap}\n    jsonPatch: [{op: replace, path: /data/missing, value: x}]\n",
        )
        .unwrap();
    config.add_environment("e.yaml", &format!("{ENV_HEAD}spec: {{overlays: [strict]}}\n")).unwrap();
    let policy = config.resolve("mine").unwrap();
    let input = "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n";
    let err = render(&policy, input).unwrap_err().to_string();
    assert_eq!(
        err,
        "<test>:1: document 1 (ConfigMap/settings from app/templates/cm.yaml): overlay `strict` patch 1: operation '/0' failed at path '/data/missing': path is invalid"
    );
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
