//! Fuzz target for the configuration loader: any text is added as an environment and as an
//! overlay on top of the built-in configuration, and whatever was added is resolved. Errors
//! are fine; panics are not.

#![no_main]

use libfuzzer_sys::fuzz_target;
use temper::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(builtin) = Config::builtin() else { return };
    let mut config = builtin.clone();
    if let Ok(name) = config.add_environment("fuzz.yaml", text) {
        let _ = config.resolve(&name);
    }
    let mut config = builtin;
    if config.add_overlay("fuzz.yaml", text).is_ok() {
        // Built-in environments may now pick up the replaced overlay.
        for env in ["dev", "staging", "prod"] {
            let _ = config.resolve(env);
        }
    }
});
