//! What looks like a credential: by the name it is given (the `env-secret-literals` rule reports
//! literal values under such names; diffs redact a wider set), and by its shape, wherever it
//! is (a URL's password, a credential flag's value, an `Authorization` value, a PEM block, a
//! well-known key prefix), for every text temper prints.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde_json::Value;

/// Names of variables that hold credentials (case-insensitive).
pub const NAME_PATTERN: &str = r"(?i)(passw(or)?d|secret|token|api[-_]?key|private[-_]?key|credential)";

/// Suffixes that make such a name a setting about a credential rather than the credential
/// itself (`TOKEN_FILE`, `PASSWORD_LENGTH`).
pub const IGNORE_PATTERN: &str =
    r"(?i)(_file|_path|_dir|_name|_ref|_url|_uri|_kind|_type|_mode|_enabled|_ttl|_timeout|_expiry|_length)$";

/// Names whose values diffs and reports never show: the rule's, and every name that says
/// pass, pwd, auth, key, dsn or cred (case-insensitive), less the same setting suffixes.
pub const REDACT_NAME_PATTERN: &str = r"(?i)(pass|pwd|auth|key|dsn|cred|secret|token)";

/// The two patterns, compiled.
#[derive(Debug, Clone)]
pub struct CredentialNames {
    pub name: Regex,
    pub ignore: Regex,
}

impl CredentialNames {
    /// Whether a variable called `name` holds a credential.
    pub fn matches(&self, name: &str) -> bool {
        self.name.is_match(name) && !self.ignore.is_match(name)
    }
}

impl CredentialNames {
    /// The wider names diffs and reports redact.
    #[allow(clippy::expect_used, reason = "constant patterns, covered by tests")]
    pub fn for_redaction() -> CredentialNames {
        CredentialNames {
            name: Regex::new(REDACT_NAME_PATTERN).expect("valid pattern"),
            ignore: Regex::new(IGNORE_PATTERN).expect("valid pattern"),
        }
    }
}

/// Credential shapes: each a pattern and the capture group that holds the secret (0: all).
/// Sources for the key prefixes: AWS access key ids (`AKIA`, `ASIA`), Stripe (`sk_live_`,
/// `sk_test_`, `rk_live_`), GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`,
/// `github_pat_`), Slack (`xoxb-`, `xoxp-`, ...), GitLab (`glpat-`), Google API keys (`AIza`),
/// as their issuers document them.
const SHAPES: &[(&str, usize)] = &[
    // scheme://user:password@host
    (r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^@/\s]+)@", 1),
    // --password=value, -token:value, PASSWORD=value, api_key: value
    (
        r"(?i)(?:^|[\s,;'\x22(\[{])-{0,2}[a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|token|secret|api[-_]?key|auth|credential|dsn)[a-z0-9_.-]*\s*[=:]\s*([^\s,;'\x22)\]}]+)",
        1,
    ),
    // Authorization: Bearer xyz, Basic xyz, Token xyz
    (r"(?i)(?-u:\b)(?:bearer|basic|token|digest)\s+([A-Za-z0-9._~+/=-]{8,})", 1),
    // PEM blocks
    (r"-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----", 0),
    // Well-known key prefixes
    (r"(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)", 0),
    (r"(?-u:\b)(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}", 0),
    (r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", 0),
    (r"(?-u:\b)xox[abprs]-[A-Za-z0-9-]{10,}", 0),
    (r"(?-u:\b)glpat-[A-Za-z0-9_-]{20,}", 0),
    (r"(?-u:\b)AIza[0-9A-Za-z_-]{35}", 0),
];

/// A flag that takes a credential as the next argument (`--password`, `-token`).
const CREDENTIAL_FLAG: &str =
    r"(?i)^-{1,2}[a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|token|secret|api[-_]?key|auth|credential|dsn)[a-z0-9_.-]*$";

struct Shapes {
    /// All the patterns at once: one pass says whether a text needs the slower look.
    any: RegexSet,
    patterns: Vec<(Regex, usize)>,
    flag: Regex,
}

#[allow(clippy::expect_used, reason = "constant patterns, covered by tests")]
fn shapes() -> &'static Shapes {
    static SHAPES_COMPILED: OnceLock<Shapes> = OnceLock::new();
    SHAPES_COMPILED.get_or_init(|| Shapes {
        any: RegexSet::new(SHAPES.iter().map(|(p, _)| p)).expect("valid patterns"),
        patterns: SHAPES.iter().map(|(p, g)| (Regex::new(p).expect("valid pattern"), *g)).collect(),
        flag: Regex::new(CREDENTIAL_FLAG).expect("valid pattern"),
    })
}

/// Compiles the shapes now rather than where they are first needed: every report searches its
/// messages for them, and a caller with a thread to spare (while the input is read) saves the
/// run that time.
pub fn compile_shapes() {
    shapes();
}

/// The byte ranges of `text` that hold a credential by its shape, sorted and disjoint.
pub fn shaped(text: &str) -> Vec<Range<usize>> {
    let shapes = shapes();
    // Most texts hold no credential: one pass of the set (a DFA; ASCII word boundaries keep
    // it one) answers for them, and only the rest pay for each pattern's captures.
    if !shapes.any.is_match(text) {
        return Vec::new();
    }
    let mut found: Vec<Range<usize>> = Vec::new();
    for (pattern, group) in &shapes.patterns {
        for captures in pattern.captures_iter(text) {
            if let Some(m) = captures.get(*group).filter(|m| !m.is_empty()) {
                found.push(m.range());
            }
        }
    }
    merge(found)
}

/// Sorts ranges and merges those that overlap or touch.
pub fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Whether `arg` is a flag whose next argument is a credential.
pub fn is_credential_flag(arg: &str) -> bool {
    shapes().flag.is_match(arg)
}

/// `text` with every credential-shaped part replaced by `(redacted)`: for messages, logs and
/// summaries, which never need to say whether a hidden value changed.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let ranges = shaped(text);
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(replace_ranges(text, &ranges, |_| "(redacted)".to_string()))
}

/// Hides every credential-shaped part of every string in `value` (keys included), as
/// [`redact_text`] does.
pub fn redact_value(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(hidden) = redact_text(text) {
                *text = hidden;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::Object(map) => {
            if map.keys().any(|k| !shaped(k).is_empty()) {
                *map = std::mem::take(map).into_iter().map(|(k, v)| (redact_text(&k).into_owned(), v)).collect();
            }
            map.values_mut().for_each(redact_value);
        }
        _ => {}
    }
}

/// `text` with each of `ranges` (sorted, disjoint) replaced by what `mask` makes of it.
pub fn replace_ranges(text: &str, ranges: &[Range<usize>], mask: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        out.push_str(&text[at..r.start]);
        out.push_str(&mask(&text[r.clone()]));
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

impl Default for CredentialNames {
    #[allow(clippy::expect_used, reason = "constant patterns, covered by tests")]
    fn default() -> CredentialNames {
        CredentialNames {
            name: Regex::new(NAME_PATTERN).expect("valid pattern"),
            ignore: Regex::new(IGNORE_PATTERN).expect("valid pattern"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` with its credential shapes hidden, as messages show it.
    #[track_caller]
    fn check(text: &str, expect: &str) {
        assert_eq!(redact_text(text), expect);
    }

    #[test]
    fn shapes_are_hidden_wherever_they_are() {
        check("postgres://app:s3cr3t-pw@db:5432/app", "postgres://app:(redacted)@db:5432/app");
        check("--password=hunter22 --user=app", "--password=(redacted) --user=app");
        check("AUTH_HEADER=Bearer abcdefgh12345678", "AUTH_HEADER=(redacted) (redacted)");
        check("Authorization: Basic dXNlcjpwYXNz", "Authorization: (redacted) (redacted)");
        check("id AKIAIOSFODNN7EXAMPLE here", "id (redacted) here");
        check("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "(redacted)");
        check("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "(redacted)");
        check("xoxb-123456789012-abcdefghij", "(redacted)");
        check("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "(redacted)");
        check("image: nginx:1.27 and http://example.com/path", "image: nginx:1.27 and http://example.com/path");
        check("port: 8080, host: db", "port: 8080, host: db");
        assert!(is_credential_flag("--password"));
        assert!(is_credential_flag("-token"));
        assert!(!is_credential_flag("--port"));
    }

    #[test]
    fn names_and_settings_about_them() {
        let names = CredentialNames::default();
        for name in ["DB_PASSWORD", "api_key", "GITHUB_TOKEN", "client-secret"] {
            assert!(names.matches(name), "{name}");
        }
        for name in ["TOKEN_FILE", "PASSWORD_LENGTH", "LOG_LEVEL"] {
            assert!(!names.matches(name), "{name}");
        }
    }
}
