//! Generates one integration test per folder of `tests/fixtures/rules/`, so that one rule's
//! fixtures run on their own (`cargo test --test it rules::pod_security_context`) and a new
//! folder is a new test without touching any test code.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let fixtures = Path::new("tests/fixtures/rules");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    let mut folders: Vec<String> = std::fs::read_dir(fixtures)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    folders.sort();
    let mut tests = String::new();
    for folder in &folders {
        let name = folder.replace('-', "_");
        let _ = writeln!(tests, "#[test]\nfn {name}() {{\n    check_folder({folder:?});\n}}\n");
    }
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out).join("rule_fixture_tests.rs"), tests) {
        println!("cargo:warning=cannot write the rule fixture tests: {e}");
    }
}
