//! What looks like a credential: by the name it is given (the `env-secret-literals` rule reports
//! literal values under such names; diffs redact a wider set), and by its shape, wherever it
//! is (a URL's password, an assignment or flag of a credential name, quoted or not, an
//! `Authorization` value, a PEM block, a JSON Web Token, a webhook URL, a well-known key
//! prefix), for every text temper prints. The shapes are data, each with its source and an
//! example (`shapes.yaml`).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde::Deserialize;
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

/// The credential shapes, as data with their sources ([`ShapeTable`]).
const SHAPES: &str = include_str!("shapes.yaml");

/// `shapes.yaml`: the words that make a name a credential's, the flag that takes one, and
/// the shapes.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, serde(deny_unknown_fields))]
struct ShapeTable {
    names: String,
    flag: String,
    shapes: Vec<Shape>,
}

/// One credential shape: a pattern and the capture groups that may hold the secret (the first
/// that matched is hidden; the whole match when none is given).
#[derive(Debug, Deserialize)]
#[cfg_attr(test, serde(deny_unknown_fields))]
struct Shape {
    pattern: String,
    #[serde(default)]
    secret: Vec<usize>,
    // Read by the tests only: the shape's name, where it is documented, and an example with
    // how it shows.
    #[cfg(test)]
    name: String,
    #[cfg(test)]
    source: String,
    #[cfg(test)]
    example: String,
    #[cfg(test)]
    shows: String,
}

impl ShapeTable {
    #[allow(clippy::expect_used, reason = "built-in data, covered by tests")]
    fn builtin() -> ShapeTable {
        serde_saphyr::from_str(SHAPES).expect("src/credential/shapes.yaml reads")
    }

    /// `pattern` with `{names}` spelt out.
    fn expand(&self, pattern: &str) -> String {
        pattern.replace("{names}", &self.names)
    }
}

struct Shapes {
    /// All the patterns at once: one pass says whether a text needs the slower look, and which
    /// patterns it needs.
    any: RegexSet,
    patterns: Vec<ShapePattern>,
    flag: Regex,
}

/// One shape's pattern, compiled on its own (for its captures) the first time a text matches
/// it: most runs meet few shapes or none, and each compiled pattern holds its own automata.
struct ShapePattern {
    pattern: String,
    /// The capture groups that may hold the secret; the whole match when empty.
    secret: Vec<usize>,
    compiled: OnceLock<Regex>,
}

impl ShapePattern {
    #[allow(clippy::expect_used, reason = "built-in patterns, covered by tests")]
    fn regex(&self) -> &Regex {
        self.compiled.get_or_init(|| Regex::new(&self.pattern).expect("valid pattern"))
    }
}

#[allow(clippy::expect_used, reason = "built-in patterns, covered by tests")]
fn shapes() -> &'static Shapes {
    static SHAPES_COMPILED: OnceLock<Shapes> = OnceLock::new();
    SHAPES_COMPILED.get_or_init(|| {
        let table = ShapeTable::builtin();
        let patterns: Vec<ShapePattern> = table
            .shapes
            .iter()
            .map(|shape| ShapePattern {
                pattern: table.expand(&shape.pattern),
                secret: shape.secret.clone(),
                compiled: OnceLock::new(),
            })
            .collect();
        Shapes {
            any: RegexSet::new(patterns.iter().map(|p| &p.pattern)).expect("valid patterns"),
            patterns,
            flag: Regex::new(&table.expand(&table.flag)).expect("valid pattern"),
        }
    })
}

/// Compiles the shapes' set now rather than where it is first needed: every report searches its
/// messages with it, and a caller with a thread to spare (while the input is read) saves the
/// run that time. A shape's own pattern waits for a text the set says it matches.
pub fn compile_shapes() {
    shapes();
}

/// The byte ranges of `text` that hold a credential by its shape, sorted and disjoint.
pub fn shaped(text: &str) -> Vec<Range<usize>> {
    let shapes = shapes();
    // Most texts hold no credential: one pass of the set (a DFA; ASCII word boundaries keep
    // it one) answers for them, and only the rest pay for the captures of the patterns the
    // set found.
    if !shapes.any.is_match(text) {
        return Vec::new();
    }
    let mut found: Vec<Range<usize>> = Vec::new();
    for shape in shapes.any.matches(text).iter().map(|i| &shapes.patterns[i]) {
        for captures in shape.regex().captures_iter(text) {
            let secret = match shape.secret.as_slice() {
                [] => captures.get(0),
                groups => groups.iter().find_map(|&group| captures.get(group)),
            };
            if let Some(m) = secret.filter(|m| !m.is_empty()) {
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
        check(
            "Endpoint=sb://ns/;SharedAccessKey=c2VjcmV0;EntityPath=q",
            "Endpoint=sb://ns/;SharedAccessKey=(redacted);EntityPath=q",
        );
        check(r#"{"auth": "dXNlcjpwYXNz", "author": ""}"#, r#"{"auth": "(redacted)", "author": ""}"#);
        check(r#"{"password": "a \"quoted\" word"}"#, r#"{"password": "(redacted)"}"#);
        check("password: 'it''s one'", "password: '(redacted)'");
        check(r#"{"imagePullSecrets": [], "token": {"a": 1}}"#, r#"{"imagePullSecrets": [], "token": {"a": 1}}"#);
        check("https://api.example.com/v1?access_token=s3cr3t", "https://api.example.com/v1?access_token=(redacted)");
        check("--user=admin:s3cr3t", "--user=admin:(redacted)");
        check("--user app --group web", "--user app --group web");
        check("mounted at /etc/secrets/<secret-name>/<key> here", "mounted at /etc/secrets/<secret-name>/<key> here");
        check("tasks-abcdefghijklmnopqrstuvwxyz0123456789", "tasks-abcdefghijklmnopqrstuvwxyz0123456789");
        assert!(is_credential_flag("--password"));
        assert!(is_credential_flag("-token"));
        assert!(is_credential_flag("--account-key"));
        assert!(is_credential_flag("--jwt"));
        assert!(!is_credential_flag("--port"));
    }

    /// Every shape in `shapes.yaml` says where it is documented, and hides the secret of its
    /// example, as the example's `shows` says, and nothing else.
    #[test]
    fn every_shape_hides_its_example() {
        let table = ShapeTable::builtin();
        assert!(table.shapes.len() >= 27, "{} shapes", table.shapes.len());
        for shape in &table.shapes {
            assert!(!shape.source.trim().is_empty(), "shape {} has no source", shape.name);
            assert_eq!(redact_text(&shape.example), shape.shows, "shape {}", shape.name);
            assert!(shape.shows.contains("(redacted)"), "shape {} hides nothing", shape.name);
            let alone = Regex::new(&table.expand(&shape.pattern)).unwrap();
            assert!(alone.is_match(&shape.example), "shape {} does not find its own example", shape.name);
        }
        let mut names: Vec<&str> = table.shapes.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), table.shapes.len(), "two shapes share a name");
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
