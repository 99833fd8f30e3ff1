//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`, or a bare number), compared by value.

use serde_json::Value;

/// The value of a quantity in base units (cores, bytes), or `None` if Kubernetes would reject it.
pub fn parse(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_str(s),
        _ => None,
    }
}

fn parse_str(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number == "." {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    Some(number * multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn suffixes() {
        assert_eq!(parse(&json!("500m")), Some(0.5));
        assert_eq!(parse(&json!("2")), Some(2.0));
        assert_eq!(parse(&json!(0.25)), Some(0.25));
        assert_eq!(parse(&json!("128Mi")), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(parse(&json!("1G")), Some(1e9));
        assert_eq!(parse(&json!("2e3")), Some(2000.0));
        assert_eq!(parse(&json!("1.5Gi")), Some(1.5 * 1024f64.powi(3)));
        assert_eq!(parse(&json!("abc")), None);
        assert_eq!(parse(&json!("12Q")), None);
    }
}
