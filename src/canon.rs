//! Meaning-level equality and the canonical JSON form of a value.
//!
//! Two documents mean the same to Kubernetes when their JSON is the same after key order and
//! number spelling are set aside: `1.0` and `1` are the same number once `encoding/json` writes
//! them. The canonical form is RFC 8785 (JCS) with one exception: integers are written exactly
//! in decimal, where JCS would round those above 2^53 through a double.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Whether Kubernetes would decode `a` and `b` to the same JSON.
pub fn same_meaning(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_meaning(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_meaning(v, w)),
        _ => a == b,
    }
}

fn same_number(x: &Number, y: &Number) -> bool {
    match (int_of(x), int_of(y)) {
        (Some(a), Some(b)) => a == b,
        _ => x.as_f64() == y.as_f64(),
    }
}

fn int_of(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// Writes the canonical JSON of `value` (sorted keys, no whitespace) into `out`.
pub fn write_canonical(value: &Value, out: &mut String) {
    write_canonical_in_pieces(value, out, &mut |_: &mut String| {});
}

/// How much canonical text [`write_canonical_in_pieces`] lets build up before handing it over.
pub const PIECE: usize = 64 * 1024;

/// Writes the canonical JSON of `value` into `out` as [`write_canonical`] does, handing `out`
/// to `take` whenever it holds more than [`PIECE`] bytes (between two items), so that a
/// caller that reads the text once (a digest) need not hold all of it.
pub fn write_canonical_in_pieces(value: &Value, out: &mut String, take: &mut dyn FnMut(&mut String)) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_in_pieces(item, out, take);
                if out.len() > PIECE {
                    take(out);
                }
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // RFC 8785 3.2.3: compare keys as UTF-16 code units.
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical_in_pieces(v, out, take);
                if out.len() > PIECE {
                    take(out);
                }
            }
            out.push('}');
        }
    }
}

/// The canonical JSON of `value` as a string.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// Writes the canonical JSON of the string `s` into `out`.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(n: &Number, out: &mut String) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        write_es_number(n.as_f64().unwrap_or(0.0), out);
    }
}

/// ECMAScript `Number.prototype.toString` for a finite double (RFC 8785 3.2.2.3).
fn write_es_number(f: f64, out: &mut String) {
    if f == 0.0 {
        out.push('0');
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    let (digits, exp) = shortest_digits(f.abs());
    let k = digits.len() as i32;
    let n = exp + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{}", if n - 1 < 0 { '-' } else { '+' }, (n - 1).abs());
    }
}

/// The shortest decimal digits that read back as `f` (positive, finite), and the decimal
/// exponent of the first digit. Rust's `{:e}` gives the shortest digits; where two candidates
/// are equally close to the exact value, ECMAScript wants the even one, so ties are redone
/// from the exact expansion.
fn shortest_digits(f: f64) -> (String, i32) {
    let split = |text: &str| {
        let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        (digits, exp.parse::<i32>().unwrap_or(0))
    };
    let (digits, exp) = split(&format!("{f:e}"));
    // Every double has an exact decimal expansion of at most 767 significant digits.
    let (exact, exact_exp) = split(&format!("{f:.800e}"));
    let k = digits.len();
    if exact_exp != exp || exact.len() <= k {
        return (digits, exp);
    }
    let (head, tail) = exact.split_at(k);
    let halfway = tail.starts_with('5') && tail[1..].bytes().all(|b| b == b'0');
    if !halfway {
        return (digits, exp);
    }
    let Some(up) = increment(head) else { return (digits, exp) };
    let reads_back = |d: &str| format!("{}.{}e{exp}", &d[..1], &d[1..]).parse::<f64>().ok() == Some(f);
    let even = |d: &str| d.bytes().last().is_some_and(|b| (b - b'0').is_multiple_of(2));
    let choice = [head.to_string(), up].into_iter().filter(|d| reads_back(d)).find(|d| even(d));
    (choice.map(|d| d.trim_end_matches('0').to_string()).filter(|d| !d.is_empty()).unwrap_or(digits), exp)
}

/// `digits` plus one in the last place, if that does not add a digit.
fn increment(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check_number(f: f64, expect: &str) {
        let mut out = String::new();
        write_es_number(f, &mut out);
        assert_eq!(out, expect, "{f:?}");
    }

    // Number vectors from RFC 8785 Appendix B and the cyberphone/json-canonicalization suite.
    #[test]
    fn rfc_8785_numbers() {
        check_number(0.0, "0");
        check_number(-0.0, "0");
        check_number(f64::from_bits(0x0000000000000001), "5e-324");
        check_number(f64::from_bits(0x8000000000000001), "-5e-324");
        check_number(f64::from_bits(0x7fefffffffffffff), "1.7976931348623157e+308");
        check_number(f64::from_bits(0x4340000000000000), "9007199254740992");
        check_number(f64::from_bits(0x4430000000000000), "295147905179352830000");
        check_number(f64::from_bits(0x44b52d02c7e14af5), "9.999999999999997e+22");
        check_number(f64::from_bits(0x44b52d02c7e14af6), "1e+23");
        check_number(f64::from_bits(0x44b52d02c7e14af7), "1.0000000000000001e+23");
        check_number(f64::from_bits(0x444b1ae4d6e2ef4e), "999999999999999700000");
        check_number(f64::from_bits(0x444b1ae4d6e2ef50), "1e+21");
        check_number(f64::from_bits(0x444b1ae4d6e2ef4f), "999999999999999900000");
        check_number(f64::from_bits(0x3eb0c6f7a0b5ed8c), "9.999999999999997e-7");
        check_number(f64::from_bits(0x3eb0c6f7a0b5ed8d), "0.000001");
        check_number(f64::from_bits(0x41b3de4355555553), "333333333.3333332");
        check_number(f64::from_bits(0x41b3de4355555554), "333333333.33333325");
        check_number(f64::from_bits(0x41b3de4355555555), "333333333.3333333");
        check_number(f64::from_bits(0x41b3de4355555556), "333333333.3333334");
        check_number(f64::from_bits(0x41b3de4355555557), "333333333.33333343");
        check_number(f64::from_bits(0xbecbf647612f3696), "-0.0000033333333333333333");
        check_number(f64::from_bits(0x43143ff3c1cb0959), "1424953923781206.2");
        check_number(f64::from_bits(0xffefffffffffffff), "-1.7976931348623157e+308");
        check_number(f64::from_bits(0xc340000000000000), "-9007199254740992");
        check_number(f64::from_bits(0xc3f0000000000000), "-18446744073709552000");
        check_number(1.0, "1");
        check_number(1e21, "1e+21");
        check_number(1e-7, "1e-7");
    }

    #[test]
    fn rfc_8785_key_order_is_utf16() {
        // RFC 8785 3.2.3 example: keys sort by UTF-16 code units, not code points.
        let value = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{80}": "Control", "\u{f6}": "Latin Small Letter O With Diaeresis"});
        let keys: Vec<String> = match serde_json::from_str::<Value>(&canonical(&value)).unwrap() {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => unreachable!(),
        };
        assert_eq!(keys, ["\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"]);
    }

    #[test]
    fn integers_stay_exact() {
        assert_eq!(
            canonical(&json!([9007199254740993u64, 18446744073709551615u64, -9223372036854775808i64])),
            "[9007199254740993,18446744073709551615,-9223372036854775808]"
        );
        assert_eq!(
            canonical(&json!({"b": "\u{1}\"", "a": [1.5, true, null]})),
            r#"{"a":[1.5,true,null],"b":"\u0001\""}"#
        );
    }

    #[test]
    fn meaning_ignores_key_order_and_number_spelling() {
        assert!(same_meaning(&json!({"a": 1, "b": 2.0}), &json!({"b": 2, "a": 1.0})));
        assert!(!same_meaning(&json!({"a": "1"}), &json!({"a": 1})));
        assert!(!same_meaning(&json!([1, 2]), &json!([2, 1])));
    }
}
