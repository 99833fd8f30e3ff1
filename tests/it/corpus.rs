//! Conformance on real manifests written by others (`../shared/corpus`, see its SOURCES.md):
//! every file, every built-in environment, with enforcement off.

use temper::read::{self, Input};

use crate::util::{INVALID_CORPUS, check_faithful, corpus_dir, corpus_files, policy, read_file, render, render_on};

#[test]
fn every_corpus_file_renders_faithfully_in_every_environment() {
    let Some(dir) = corpus_dir() else { return };
    let files = corpus_files(&dir);
    assert!(files.len() >= 30, "expected the whole corpus, found {} files", files.len());
    for env in ["dev", "staging", "prod"] {
        let policy = policy(env);
        for file in &files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let text = read_file(file);
            let outcome = render(&policy, &text);
            if let Some((_, expected)) = INVALID_CORPUS.iter().find(|(f, _)| *f == name) {
                let err = outcome.expect_err(&name).to_string();
                assert!(err.contains(expected), "{env} {name}: unexpected error {err}");
                continue;
            }
            let outcome = outcome.unwrap_or_else(|e| panic!("{env} {name}: {e}"));
            check_faithful(&text, &outcome);
            assert!(!outcome.output.trim().is_empty(), "{env} {name}: empty output for non-empty input");

            let again = render(&policy, &outcome.output).unwrap_or_else(|e| panic!("{env} {name} (second pass): {e}"));
            assert!(again.output == outcome.output, "{env} {name}: rendering the output again changed it");
            assert!(
                again.report.changes.is_empty() && again.report.generated.is_empty(),
                "{env} {name}: second pass changed something"
            );
        }
    }
}

#[test]
fn corpus_output_is_identical_with_one_and_two_threads() {
    let Some(dir) = corpus_dir() else { return };
    // Files are joined with `---` lines: several corpus files start without one, and their first
    // document would otherwise run into the previous file's last.
    let mut all = String::new();
    for file in corpus_files(&dir).iter().filter(|f| !f.to_string_lossy().contains("tricky")) {
        if !all.is_empty() {
            all.push_str("---\n");
        }
        all.push_str(&read_file(file));
        if !all.ends_with('\n') {
            all.push('\n');
        }
    }
    let policy = policy("prod");
    let one = render_on(1, &policy, &all).unwrap();
    let two = render_on(2, &policy, &all).unwrap();
    assert!(one.output == two.output, "output differs between 1 and 2 threads");
    assert_eq!(serde_json::to_string(&one.report).unwrap(), serde_json::to_string(&two.report).unwrap());
    check_faithful(&all, &two);
}

/// Rendered manifests hold Go template markup in their values (Prometheus rules, Grafana
/// dashboards, Istio's injection templates, which even use `.Values`): no corpus file is
/// taken for an unrendered Helm template.
#[test]
fn no_corpus_file_is_taken_for_an_unrendered_template() {
    let Some(dir) = corpus_dir() else { return };
    let mut with_markup = Vec::new();
    for file in corpus_files(&dir) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = read_file(&file);
        if text.contains("{{") {
            with_markup.push(name.clone());
        }
        if let Err(e @ temper::Error::Unrendered { .. }) = read::parse(&[Input::new(name.as_str(), text)]) {
            panic!("{name} is taken for an unrendered template: {e}");
        }
    }
    assert!(with_markup.len() >= 3, "the corpus should hold template markup in rendered values: {with_markup:?}");
}
