//! Pod Security as the admission controller reads it, against the Kyverno policy library's good
//! and bad pods for five controls (`tests/fixtures/pss/`, see its README): every good pod passes
//! temper's check of that control, every bad pod fails it, and a render leaves nothing fixable
//! behind beside a privileged container.

use std::collections::HashSet;
use std::path::Path;

use temper::Settings;
use temper::read::Input;
use temper::record::Violation;

use crate::util::{policy, read_file};

/// The resources of a fixture file, each with whether the control finds a violation in it.
fn verdicts(file: &str, finds: impl Fn(&Violation) -> bool) -> (usize, HashSet<usize>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pss").join(file);
    let text = read_file(&path);
    let outcome = temper::run(&[Input::new(file, text.as_str())], &policy("prod"), &Settings::check(None)).unwrap();
    let failing = outcome.report.violations.iter().filter(|v| finds(v)).map(|v| v.resource.document()).collect();
    (outcome.report.counts.resources, failing)
}

/// Checks a control: no good resource is found in violation, every bad one is.
#[track_caller]
fn control(name: &str, finds: impl Fn(&Violation) -> bool + Copy) {
    let (good, failing) = verdicts(&format!("{name}-good.yaml"), finds);
    assert!(good > 5, "{name}: only {good} good resources");
    assert!(failing.is_empty(), "{name}: good resources reported: documents {failing:?}");
    let (bad, failing) = verdicts(&format!("{name}-bad.yaml"), finds);
    assert_eq!(failing.len(), bad, "{name}: only {} of {bad} bad resources reported", failing.len());
}

fn rule(v: &Violation, id: &str) -> bool {
    v.rule.as_str() == id
}

#[test]
fn run_as_non_root_on_the_pod_or_on_every_container() {
    control("require-run-as-nonroot", |v| {
        rule(v, "pod-security-context") && v.path.as_str().ends_with("/runAsNonRoot")
    });
}

#[test]
fn seccomp_baseline_forbids_unconfined() {
    control("restrict-seccomp", |v| rule(v, "pod-security-context") && v.message().contains("Unconfined"));
}

#[test]
fn seccomp_restricted_needs_a_profile_on_the_pod_or_on_every_container() {
    control("restrict-seccomp-strict", |v| {
        rule(v, "pod-security-context") && v.path.as_str().contains("/seccompProfile")
    });
}

#[test]
fn apparmor_allows_only_the_default_and_local_profiles() {
    control("restrict-apparmor-profiles", |v| rule(v, "host-isolation") && v.message().contains("AppArmor"));
}

#[test]
fn privileged_containers_are_found() {
    control("disallow-privileged-containers", |v| rule(v, "host-isolation") && v.message().contains("privileged"));
}

#[test]
fn beside_a_privileged_container_the_others_are_hardened() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pss/disallow-privileged-containers-bad.yaml");
    let text = read_file(&path);
    let prod = policy("prod");
    let rendered = temper::run(&[Input::new("bad", text.as_str())], &prod, &Settings::render(None)).unwrap();
    let checked = temper::run(&[Input::new("out", rendered.output.as_str())], &prod, &Settings::check(None)).unwrap();
    let left: Vec<&Violation> = checked
        .report
        .violations
        .iter()
        .filter(|v| rule(v, "pod-security-context") && !v.message().contains("privileged"))
        .collect();
    assert!(left.is_empty(), "fixable pod-security-context violations left: {left:#?}");
}
