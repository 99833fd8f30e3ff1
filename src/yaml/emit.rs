//! Writes a `serde_json::Value` as a YAML document body that Kubernetes reads back unchanged.
//!
//! serde-saphyr's emitter does the writing: it quotes every string a YAML 1.1 reader would take
//! for something else, writes multi-line strings as literal blocks, and with
//! `folded_wrap_chars: usize::MAX` never folds long lines. We do not take that on trust: every
//! emitted body is read back with [`load`](super::load::load) and compared. If the YAML form
//! does not survive, the JSON form (valid YAML too) is tried; if neither does, emitting fails
//! rather than writing something that means something else.

use serde_json::Value;

use crate::canon::same_meaning;

use super::load::load;

/// Emits `value` as YAML text ending in a newline, verified to read back as `value`.
pub fn emit(value: &Value) -> Result<String, String> {
    let yaml = unverified(value)?;
    if reads_back(&yaml, value) {
        return Ok(yaml);
    }
    let mut json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    json.push('\n');
    if reads_back(&json, value) {
        return Ok(json);
    }
    Err("the emitted document does not read back with the same meaning".into())
}

/// Emits `value` as YAML for a person to read (a diff's text): the same writer as [`emit`],
/// without reading the text back, since nothing applies it. Where the writer fails, JSON.
pub fn display(value: &Value) -> String {
    unverified(value).unwrap_or_else(|_| value.to_string())
}

fn unverified(value: &Value) -> Result<String, String> {
    let options = serde_saphyr::ser_options! {
        folded_wrap_chars: usize::MAX,
        indent_step: 2,
        compact_list_indent: true,
    };
    serde_saphyr::to_string_with_options(value, options).map_err(|e| format!("cannot write YAML: {e}"))
}

fn reads_back(text: &str, value: &Value) -> bool {
    if super::load::reads_back_as(text, value) {
        return true;
    }
    match load(text) {
        Ok(loaded) => same_meaning(loaded.value.as_ref().unwrap_or(&Value::Null), value),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_look_alikes_stay_strings() {
        let value = json!({
            "on": "on", "y": "y", "octal": "0755", "float": "1e3", "eq": "=", "date": "2001-12-14",
            "merge": "<<", "null": "null", "empty": "", "num": 493, "bool": true, "big": 18446744073709551615u64,
            "under": "1__0", "long": "word ".repeat(100), "multi": "line one\nline two\n",
        });
        let text = emit(&value).unwrap();
        assert!(text.contains("octal: \"0755\""), "{text}");
        assert!(text.contains("multi: |\n"), "{text}");
        assert!(!text.contains(">-"), "{text}");
        assert_eq!(load(&text).unwrap().value.unwrap(), value);
        // What a diff shows is the text a render writes.
        assert_eq!(display(&value), text);
    }

    #[test]
    fn keys_that_would_change_meaning_are_quoted() {
        let value = json!({"on": 1, "1.0": 2, "0755": 3, "~": 4, "y": 5});
        let text = emit(&value).unwrap();
        assert_eq!(load(&text).unwrap().value.unwrap(), value, "{text}");
    }
}
