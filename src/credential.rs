//! What looks like a credential. The `env-secret-literals` rule reports literal values under
//! such names, and diffs redact them; both read the patterns from here.

use regex::Regex;

/// Names of variables that hold credentials (case-insensitive).
pub const NAME_PATTERN: &str = r"(?i)(passw(or)?d|secret|token|api[-_]?key|private[-_]?key|credential)";

/// Suffixes that make such a name a setting about a credential rather than the credential
/// itself (`TOKEN_FILE`, `PASSWORD_LENGTH`).
pub const IGNORE_PATTERN: &str =
    r"(?i)(_file|_path|_dir|_name|_ref|_url|_uri|_kind|_type|_mode|_enabled|_ttl|_timeout|_expiry|_length)$";

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
