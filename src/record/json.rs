//! Values a record keeps for later, held as their compact JSON text.
//!
//! A `serde_json::Value` takes five to seven times the text of what it holds (an 80-byte node
//! per value, a 112-byte entry per mapping key, a heap block per string). What a run records
//! for the report and the diffs (the value a change set, the objects temper generated, the
//! documents the rules changed) is read again once or twice, so it is kept as text, packed
//! when it is long ([`Packed`]), and read back where it is needed.
//!
//! **Invariant:** [`Json::value`] returns exactly the value [`Json::of`] was given: serde_json
//! writes every number so that it reads back the same (`float_roundtrip`), reading has no
//! depth limit (a replaced input subtree may be nested as deep as the reader allows), and a
//! packed text unpacks to the very text it was.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use super::Packed;

/// A value kept as its compact JSON text.
#[derive(Clone, PartialEq, Eq)]
pub struct Json(Packed);

impl Json {
    pub fn of(value: &Value) -> Json {
        Json(Packed::new(value.to_string()))
    }

    /// The value, read back from its text, every mapping and list with room for exactly what
    /// it holds (as the reader builds them).
    pub fn value(&self) -> Result<Value, serde_json::Error> {
        let text = self.0.text().map_err(<serde_json::Error as de::Error>::custom)?;
        let mut reader = serde_json::Deserializer::from_str(&text);
        reader.disable_recursion_limit();
        let value = Exact.deserialize(&mut reader)?;
        reader.end()?;
        Ok(value)
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
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Serialized as the value itself, so that a report reads as it did when it held values.
impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().map_err(serde::ser::Error::custom)?.serialize(serializer)
    }
}

/// Reads a value as `Value`'s own `Deserialize` does, but builds each mapping once its entries
/// are all read, with room for exactly them: built entry by entry, a mapping keeps room for as
/// many entries as its table can hold (3, 7, 14...), which on objects of short fields is a
/// third of their memory.
#[derive(Clone, Copy)]
struct Exact;

impl<'de> DeserializeSeed<'de> for Exact {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<Value, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Exact {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = items.next_element_seed(Exact)? {
            out.push(item);
        }
        out.shrink_to_fit();
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut read: Vec<(String, Value)> = Vec::new();
        while let Some(key) = entries.next_key::<String>()? {
            read.push((key, entries.next_value_seed(Exact)?));
        }
        let mut map = Map::with_capacity(read.len());
        map.extend(read);
        Ok(Value::Object(map))
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

    /// A Deployment as hardening leaves it, `n` containers long, named after `name`.
    fn hardened(name: &str, n: usize) -> Value {
        let container = |i: usize| {
            json!({
            "name": format!("{name}-{i}"), "image": format!("registry.example.com/{name}:1.{i}"),
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "128Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": true, "runAsNonRoot": true}})
        };
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "team"},
               "spec": {"replicas": 2, "template": {"spec": {"containers": (0..n).map(container).collect::<Vec<_>>()}}}})
    }

    #[test]
    fn long_texts_are_packed_and_read_back_whatever_they_hold() {
        let typical = hardened("checkout", 2);
        let kept = Json::of(&typical);
        assert!(kept.0.is_packed() && kept.0.held() * 2 < typical.to_string().len(), "{} bytes", kept.0.held());
        check(typical);
        // Nothing like the dictionary, bytes of every width, and longer than LZ4's window.
        let unlike: String =
            (0..70_000u32).map(|i| char::from_u32(0x20 + (i * 7919) % 0xD000).unwrap_or('x')).collect();
        check(json!({"data": {"blob": unlike, "nul": "\u{0}", "quote": "\"", "emoji": "\u{1F600}"}}));
        check(hardened("many", 400));
        // Short texts are kept as they are.
        let short = json!({"drop": ["ALL"]});
        assert!(!Json::of(&short).0.is_packed());
        check(short);
    }

    #[test]
    fn equal_values_are_kept_as_equal_records() {
        let (a, b) = (Json::of(&hardened("a", 3)), Json::of(&hardened("a", 3)));
        assert_eq!(a, b);
        assert_ne!(a, Json::of(&hardened("b", 3)));
    }

    #[test]
    fn reads_back_lists_with_room_for_exactly_their_items() {
        // (A mapping's room is not visible through serde_json's `Map`.)
        let value = json!({"a": 1, "b": {"c": [1, 2, 3, {"d": [true, false, null, "e", 1.5]}]}});
        let back = Json::of(&value).value().unwrap();
        assert_eq!(back, value);
        assert_eq!(back["b"]["c"].as_array().map(Vec::capacity), Some(4));
        assert_eq!(back["b"]["c"][3]["d"].as_array().map(Vec::capacity), Some(5));
    }
}
