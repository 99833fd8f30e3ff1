//! Fuzz target for the rule pipeline: any text is rendered in every built-in environment. A
//! render that succeeds must produce output that reads back, and rendering that output again
//! must change nothing. Errors are fine; panics are not.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use temper::read::Input;
use temper::{Config, Policy, Settings};

fn policies() -> &'static [Policy] {
    static POLICIES: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let config = Config::builtin().expect("the built-in configuration loads");
        ["dev", "staging", "prod"]
            .iter()
            .map(|env| config.resolve(env).expect("built-in environments resolve"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let settings = Settings::render(None);
    for policy in policies() {
        let Ok(outcome) = temper::run(&[Input::new("fuzz", text)], policy, &settings) else { continue };
        let again = temper::run(&[Input::new("out", outcome.output.as_str())], policy, &settings)
            .unwrap_or_else(|e| panic!("{}: the output does not render: {e}\n{}", policy.environment, outcome.output));
        assert!(
            again.output == outcome.output,
            "{}: rendering the output changed it\n{}",
            policy.environment,
            outcome.output
        );
    }
});
