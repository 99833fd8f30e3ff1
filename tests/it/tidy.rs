//! The project's conventions, checked like code: every module opens with a `//!` paragraph,
//! every rule has its documentation sections, a fixture folder and snapshots, and no snapshot
//! outlives the test or fixture that made it.

use std::path::{Path, PathBuf};

use temper::record::RuleId;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Rust files of `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_module_opens_with_its_doc() {
    let mut files = vec![root().join("build.rs")];
    for dir in ["src", "tests/it", "fuzz/fuzz_targets"] {
        files.extend(rust_files(&root().join(dir)));
    }
    assert!(files.len() > 60, "only {} files found", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(missing.is_empty(), "these files do not open with a `//!` paragraph: {missing:?}");
}

#[test]
fn every_rule_doc_has_the_template_sections() {
    for &rule in RuleId::ALL.iter().chain([&RuleId::OverlayPatch, &RuleId::ComplianceStamp]) {
        let doc = rule.doc();
        for section in ["## What it does", "## Example"] {
            assert!(doc.contains(section), "{rule}: missing `{section}`");
        }
        if rule.configurable() {
            for section in ["## Why", "## Parameters"] {
                assert!(doc.contains(section), "{rule}: missing `{section}`");
            }
        }
        // What a fix refuses to do because it would break a workload, or why it never has to.
        if rule.configurable() && rule.fixes() {
            assert!(doc.contains("## Refuses"), "{rule}: a rule with a fix says what it refuses (`## Refuses`)");
        }
        assert!(!rule.summary().is_empty(), "{rule}: no summary line");
    }
}

#[test]
fn every_rule_has_fixtures_and_every_fixture_a_snapshot() {
    let fixtures = root().join("tests/fixtures/rules");
    let snapshots = root().join("tests/it/snapshots");
    for &rule in RuleId::ALL.iter().chain([&RuleId::OverlayPatch]) {
        let dir = fixtures.join(rule.as_str());
        assert!(dir.is_dir(), "{rule}: no fixture folder tests/fixtures/rules/{rule}/");
    }
    for folder in std::fs::read_dir(&fixtures).unwrap() {
        let folder = folder.unwrap().path();
        let name = folder.file_name().unwrap().to_string_lossy().to_string();
        let cases: Vec<PathBuf> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(!cases.is_empty(), "{name}: an empty fixture folder");
        for case in cases {
            let file = case.file_name().unwrap().to_string_lossy().to_string();
            let snapshot = snapshots.join(format!("it__rules__rule_fixtures@{name}__{file}.snap"));
            assert!(snapshot.is_file(), "{name}/{file}: no snapshot (run the tests and review it with cargo insta)");
        }
    }
}

#[test]
fn no_snapshot_is_unreferenced() {
    let fixtures = root().join("tests/fixtures");
    let mut unreferenced = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/it/snapshots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".snap") else {
            unreferenced.push(format!("{name} (not a snapshot: a pending .snap.new?)"));
            continue;
        };
        let (module, test) = stem.strip_prefix("it__").and_then(|s| s.split_once("__")).unwrap();
        let referenced = if let Some(case) = test.strip_prefix("rule_fixtures@") {
            let (folder, file) = case.split_once("__").unwrap();
            fixtures.join("rules").join(folder).join(file).is_file()
        } else if let Some(file) = test.strip_prefix("stream_fixtures@") {
            fixtures.join("stream").join(file).is_file()
        } else if module == "diff" && fixtures.join("diff").join(diff_case(test)).is_dir() {
            true
        } else {
            // A snapshot named after its test function, with `-N` for the N-th in one test.
            let function = test.rsplit_once('-').filter(|(_, n)| n.parse::<u32>().is_ok()).map_or(test, |(f, _)| f);
            let source = std::fs::read_to_string(root().join(format!("tests/it/{module}.rs"))).unwrap_or_default();
            source.contains(&format!("fn {function}("))
        };
        if !referenced {
            unreferenced.push(name);
        }
    }
    assert!(unreferenced.is_empty(), "snapshots no test makes any more: {unreferenced:?}");
}

/// The diff fixture a snapshot `<case>-<format>` belongs to.
fn diff_case(test: &str) -> &str {
    temper::diff::Format::ALL.iter().find_map(|f| test.strip_suffix(&format!("-{}", f.as_str()))).unwrap_or(test)
}
