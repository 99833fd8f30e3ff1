//! What a plain scalar means to Kubernetes: a port of go-yaml v2's `resolve` as vendored by
//! sigs.k8s.io/yaml (`goyaml.v2/resolve.go`), which Helm, kubectl and ArgoCD all use.
//!
//! The port is exact where it matters for manifests: the YAML 1.1 boolean and null spellings,
//! Go's `strconv.ParseInt(s, 0, 64)` (so `0755` is 493 and `0o17` is 15), underscores stripped
//! before numbers are parsed, the float regular expression, and unsigned integers up to
//! `u64::MAX`. Timestamps are not special: go-yaml v2 hands them to `interface{}` targets as
//! the original string, which is what a plain string already is.

/// The meaning of one untagged plain scalar.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// `.inf`, `-.inf` or `.nan`: go-yaml reads them, but `encoding/json` refuses to write them,
    /// so Kubernetes cannot decode a document that holds one.
    NonFinite,
    /// An integer literal beyond 64 bits that is not a decimal float (hex or octal): go-yaml v2
    /// keeps it as a `big.Int`, which JSON has no exact counterpart for in our model.
    BigInt,
    /// The YAML 1.1 merge key `<<`.
    Merge,
    /// The scalar is the string it spells.
    Str,
}

/// Resolves an untagged plain scalar the way go-yaml v2 does.
pub fn resolve_plain(text: &str) -> Resolved {
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            lookup(text).unwrap_or(Resolved::Str)
        }
        b'.' => lookup(text).unwrap_or_else(|| match text.parse::<f64>() {
            // Go's ParseFloat accepts what Rust's does for inputs starting with '.', except that
            // overflow is an error in Go, and an error means "not a float".
            Ok(f) if f.is_finite() => Resolved::Float(f),
            _ => Resolved::Str,
        }),
        b'+' | b'-' | b'0'..=b'9' => lookup(text).unwrap_or_else(|| resolve_number(text)),
        b'<' if text == "<<" => Resolved::Merge,
        _ => Resolved::Str,
    }
}

/// Resolves a scalar carrying one of the core tags go-yaml v2 resolves (`!!int`, `!!float`,
/// `!!bool`, `!!null`, `!!timestamp`). An error means go-yaml would refuse the document.
pub fn resolve_tagged(suffix: &str, text: &str) -> Result<Resolved, String> {
    let res = if suffix == "timestamp" { Resolved::Str } else { resolve_plain(text) };
    let ok = match (suffix, &res) {
        ("int", Resolved::Int(_) | Resolved::Uint(_) | Resolved::BigInt) => true,
        ("float", Resolved::Float(_) | Resolved::NonFinite) => true,
        ("float", Resolved::Int(n)) => return Ok(Resolved::Float(*n as f64)),
        ("float", Resolved::Uint(_)) => false,
        ("bool", Resolved::Bool(_)) => true,
        ("null", Resolved::Null) => true,
        ("timestamp", _) => true,
        _ => false,
    };
    if ok { Ok(res) } else { Err(format!("cannot decode `{text}` as a !!{suffix}")) }
}

fn lookup(text: &str) -> Option<Resolved> {
    Some(match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Resolved::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Resolved::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf"
        | "-.INF" => Resolved::NonFinite,
        "<<" => Resolved::Merge,
        _ => return None,
    })
}

fn resolve_number(text: &str) -> Resolved {
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    let int_err = match go_parse_int(&plain) {
        Ok(n) => return Resolved::Int(n),
        Err(_) => match go_parse_uint(&plain) {
            Ok(n) => return Resolved::Uint(n),
            Err(e) => e,
        },
    };
    if is_yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && f.is_finite()
    {
        return Resolved::Float(f);
    }
    if let Some(bits) = plain.strip_prefix("0b") {
        if let Ok(n) = parse_digits(bits, 2) {
            return i64::try_from(n).map_or(Resolved::Uint(n), Resolved::Int);
        }
    } else if let Some(bits) = plain.strip_prefix("-0b")
        && let Ok(n) = parse_digits(bits, 2)
        && n <= 1 << 63
    {
        return Resolved::Int((n as i64).wrapping_neg());
    }
    if int_err == IntError::Range && is_big_int(&plain) {
        return Resolved::BigInt;
    }
    Resolved::Str
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IntError {
    Syntax,
    Range,
}

/// Go's `strconv.ParseUint(s, 0, 64)` on a string without underscores.
fn go_parse_uint(s: &str) -> Result<u64, IntError> {
    if s.is_empty() {
        return Err(IntError::Syntax);
    }
    let b = s.as_bytes();
    let (base, digits) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &s[2..]),
            Some(b'o') if b.len() >= 3 => (8, &s[2..]),
            Some(b'x') if b.len() >= 3 => (16, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    parse_digits(digits, base)
}

/// Go's `strconv.ParseInt(s, 0, 64)` on a string without underscores.
fn go_parse_int(s: &str) -> Result<i64, IntError> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = go_parse_uint(rest)?;
    const CUTOFF: u64 = 1 << 63;
    match (neg, un) {
        (false, n) if n >= CUTOFF => Err(IntError::Range),
        (true, n) if n > CUTOFF => Err(IntError::Range),
        (true, n) => Ok((n as i64).wrapping_neg()),
        (false, n) => Ok(n as i64),
    }
}

/// Accumulates digits like Go's ParseUint loop: a bad digit is a syntax error, overflow is a
/// range error reported as soon as it happens.
fn parse_digits(digits: &str, base: u32) -> Result<u64, IntError> {
    let mut n: u64 = 0;
    for c in digits.bytes() {
        let d = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'a'..=b'z' => u32::from(c - b'a') + 10,
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return Err(IntError::Syntax),
        };
        if d >= base {
            return Err(IntError::Syntax);
        }
        n = n.checked_mul(u64::from(base)).and_then(|n| n.checked_add(u64::from(d))).ok_or(IntError::Range)?;
    }
    Ok(n)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `big.Int.SetString(s, 0)` succeeding (no underscores remain at this point).
fn is_big_int(s: &str) -> bool {
    let rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    let b = rest.as_bytes();
    let (base, digits) = if b.first() == Some(&b'0') && b.len() >= 2 {
        match b[1].to_ascii_lowercase() {
            b'b' => (2, &rest[2..]),
            b'o' => (8, &rest[2..]),
            b'x' => (16, &rest[2..]),
            _ => (8, &rest[1..]),
        }
    } else {
        (10, rest)
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(base))
}

#[cfg(test)]
mod tests {
    use super::Resolved::*;
    use super::*;

    #[track_caller]
    fn check(text: &str, expect: Resolved) {
        assert_eq!(resolve_plain(text), expect, "plain scalar {text:?}");
    }

    // Cases follow go-yaml v2's decode_test.go and resolve.go.
    #[test]
    fn yaml_1_1_booleans_and_nulls() {
        for t in ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"] {
            check(t, Bool(true));
        }
        for t in ["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"] {
            check(t, Bool(false));
        }
        for t in ["", "~", "null", "Null", "NULL"] {
            check(t, Null);
        }
        for t in ["yES", "oN", "nULL", "tRUE", "Yes!", "onn"] {
            check(t, Str);
        }
    }

    #[test]
    fn integers_follow_go_parse_int_base_zero() {
        check("0755", Int(493));
        check("0644", Int(420));
        check("0400", Int(256));
        check("012", Int(10));
        check("0o17", Int(15));
        check("0x1F", Int(31));
        check("0b101", Int(5));
        check("-0b101", Int(-5));
        check("+1", Int(1));
        check("-0", Int(0));
        check("00", Int(0));
        check("1_000", Int(1000));
        check("1__0", Int(10));
        check("0_7", Int(7));
        check("9223372036854775807", Int(i64::MAX));
        check("-9223372036854775808", Int(i64::MIN));
        check("9223372036854775808", Uint(1 << 63));
        check("18446744073709551615", Uint(u64::MAX));
    }

    #[test]
    fn floats_follow_the_yaml_style_regex() {
        check("08", Float(8.0));
        check("09", Float(9.0));
        check("1e3", Float(1000.0));
        check("1.10", Float(1.1));
        check("0.", Float(0.0));
        check(".5", Float(0.5));
        check("+.5", Float(0.5));
        check("-.5", Float(-0.5));
        check("6.02e23", Float(6.02e23));
        check("18446744073709551616", Float(18446744073709551616.0));
        check("-9223372036854775809", Float(-9223372036854775809.0));
        check("1e400", Str);
        check("1e", Str);
        check("1.5.0", Str);
        check("0x", Str);
        check("+", Str);
        check("1 2", Str);
        check("1:30", Str);
        check("12e3x", Str);
    }

    #[test]
    fn special_values() {
        check(".inf", NonFinite);
        check("-.Inf", NonFinite);
        check(".nan", NonFinite);
        check("<<", Merge);
        check("=", Str);
        check("2001-12-14", Str);
        check("2001-12-14T21:59:43.10-05:00", Str);
        check("0x1FFFFFFFFFFFFFFFFF", BigInt);
    }

    #[test]
    fn tagged_scalars() {
        assert_eq!(resolve_tagged("int", "0755"), Ok(Int(493)));
        assert_eq!(resolve_tagged("float", "1"), Ok(Float(1.0)));
        assert_eq!(resolve_tagged("bool", "on"), Ok(Bool(true)));
        assert!(resolve_tagged("int", "abc").is_err());
        assert!(resolve_tagged("bool", "1").is_err());
    }
}
