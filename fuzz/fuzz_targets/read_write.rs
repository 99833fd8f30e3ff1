//! Fuzz target for the stream reader and writer: any bytes are decoded, split and read; a
//! stream that reads is written back with every document re-emitted, and what is written must
//! read back with the same meaning. Errors are fine; panics and wrong output are not.

#![no_main]

use libfuzzer_sys::fuzz_target;
use temper::canon::same_meaning;
use temper::progress::Progress;
use temper::read::{self, Input};
use temper::write::joined;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = read::decode("fuzz", data.to_vec()) else { return };
    let inputs = [Input::new("fuzz", text)];
    let Ok(docs) = read::parse(&inputs) else { return };
    // Untouched, every document goes out as it came (a JSON document may be rewritten as YAML,
    // which may fail); re-emitted, it must mean what it meant, or emitting must refuse.
    // Kept whole or packed (as a render keeps it), the output must be the same text.
    for (changed, pack) in [(false, false), (true, false), (false, true), (true, true)] {
        // Sealed as the pipeline seals them: as text when changed, read back to be re-emitted.
        let sealed: Vec<_> = docs.iter().map(|d| d.clone().seal(changed)).collect();
        let changes = vec![changed; docs.len()];
        match temper::write::write(&inputs, &sealed, &changes, &[], &Progress::default(), true, pack) {
            Ok(out) => same_documents(&docs, &joined(&out.packed, &out.text).unwrap_or_else(|e| panic!("{e}"))),
            Err(e) => assert!(changed || docs.iter().any(|d| d.chunk.json()), "untouched YAML failed to write: {e}"),
        }
    }
});

fn same_documents(docs: &[read::Document], out: &str) {
    let again =
        read::parse(&[Input::new("out", out)]).unwrap_or_else(|e| panic!("the output does not read: {e}\n{out}"));
    let (before, after) = (values(docs), values(&again));
    assert_eq!(before.len(), after.len(), "document count changed\n{out}");
    for (b, a) in before.iter().zip(&after) {
        assert!(same_meaning(b, a), "meaning changed\nbefore: {b}\nafter: {a}\n{out}");
    }
}

fn values(docs: &[read::Document]) -> Vec<serde_json::Value> {
    docs.iter().filter_map(|d| d.value.clone()).collect()
}
