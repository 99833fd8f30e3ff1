//! Values a record keeps for later, held as their compact JSON text.
//!
//! A `serde_json::Value` takes five to seven times the text of what it holds (an 80-byte node
//! per value, a 112-byte entry per mapping key, a heap block per string). What a run records
//! for the report and the diffs (the value a change set, the objects temper generated) is
//! read again once or twice, so it is kept as text and read back where it is needed.
//!
//! **Invariant:** [`Json::value`] returns exactly the value [`Json::of`] was given: serde_json
//! writes every number so that it reads back the same (`float_roundtrip`), and reading has no
//! depth limit (a replaced input subtree may be nested as deep as the reader allows).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// A value kept as its compact JSON text.
#[derive(Clone, PartialEq, Eq)]
pub struct Json(Box<str>);

impl Json {
    pub fn of(value: &Value) -> Json {
        Json(value.to_string().into_boxed_str())
    }

    /// The value, read back from its text.
    pub fn value(&self) -> Result<Value, serde_json::Error> {
        let mut reader = serde_json::Deserializer::from_str(&self.0);
        reader.disable_recursion_limit();
        Value::deserialize(&mut reader)
    }

    /// The string it holds, if it is one.
    pub fn string(&self) -> Option<String> {
        match self.value() {
            Ok(Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// The compact JSON text, as `Value`'s `Display` writes it.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serialized as the value itself, so that a report reads as it did when it held values.
impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().map_err(serde::ser::Error::custom)?.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(value: Value) {
        let kept = Json::of(&value);
        assert_eq!(kept.value().unwrap(), value);
        assert_eq!(kept.to_string(), value.to_string());
        assert_eq!(serde_json::to_string_pretty(&kept).unwrap(), serde_json::to_string_pretty(&value).unwrap());
    }

    #[test]
    fn reads_back_what_it_was_given() {
        check(json!(null));
        check(json!("a \"quoted\" \u{1F600} string\n"));
        check(json!({"z": 1, "a": [true, -0.0, 1.5e300, 0.1, 18446744073709551615u64, -9223372036854775808i64]}));
        check(json!({"b": {"a": {}}, "a": []}));
        let mut deep = json!("leaf");
        for _ in 0..600 {
            deep = json!([deep]);
        }
        check(deep);
    }
}
