//! A table's patterns, compiled together. Every table of knowledge asks which of its entries a
//! text matches first, or whether any does. Compiled one by one, a pattern took 8 to 15 KB
//! whatever its length (the regex engine's fixed tables): the built-in tables' 125 patterns
//! took 1.9 MB of every run, more than the rest of the configuration together. Compiled as one
//! set per table, they take about a fifth of that, and a text is matched against a table in
//! one pass instead of one per pattern (BENCHMARKS.md, "Seventeenth pass").
//!
//! A set is compiled as `regex::RegexSet` compiles one, less its one-pass engine: that engine
//! serves searches for groups, which a set never asks for, and took half of the sets' memory
//! (BENCHMARKS.md, "Nineteenth pass"). Which patterns match a text is the same.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternID, PatternSet};

/// The regex engine's limit on one compiled pattern; a set gets this much per pattern, so a
/// table compiles whenever each of its patterns would alone.
const SIZE_LIMIT_PER_PATTERN: usize = 10 << 20;

/// Patterns, each belonging to an entry of its table (its owner, the entry's index).
#[derive(Clone, Debug, Default)]
pub struct Patterns {
    /// `None` for no pattern at all.
    set: Option<Arc<Regex>>,
    owners: Vec<usize>,
}

impl Patterns {
    /// Whether `pattern` compiles, and if not why, in the words compiling it alone would give
    /// (the regex engine reports the same parser's errors), without compiling it: a table is
    /// compiled once it is complete, and a pattern's error names where it was written.
    pub fn check(pattern: &str) -> Result<(), String> {
        regex_syntax::Parser::new().parse(pattern).map(drop).map_err(|e| format!("`{pattern}`: {e}"))
    }

    /// Compiles `patterns`, each with its owner. A set is compiled once per process: `promote`
    /// resolves two environments from the same tables.
    pub fn new<'a>(patterns: impl IntoIterator<Item = (usize, &'a str)>) -> Result<Patterns, String> {
        static COMPILED: LazyLock<Mutex<HashMap<Vec<String>, Arc<Regex>>>> = LazyLock::new(Mutex::default);
        let (owners, texts): (Vec<usize>, Vec<String>) =
            patterns.into_iter().map(|(owner, text)| (owner, text.to_string())).unzip();
        if texts.is_empty() {
            return Ok(Patterns::default());
        }
        let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(set) = compiled.get(&texts) {
            return Ok(Patterns { set: Some(set.clone()), owners });
        }
        // `regex::RegexSet`'s settings for text, and its size limit's meaning.
        let config = meta::Config::new()
            .match_kind(MatchKind::All)
            .utf8_empty(true)
            .which_captures(WhichCaptures::None)
            .nfa_size_limit(Some(SIZE_LIMIT_PER_PATTERN.saturating_mul(texts.len())))
            .onepass(false);
        let set = meta::Builder::new()
            .configure(config)
            .syntax(syntax::Config::new().utf8(true))
            .build_many(&texts)
            .map_err(|e| match texts.iter().find_map(|t| Patterns::check(t).err()) {
                Some(message) => message,
                None => e.to_string(),
            })?;
        let set = Arc::new(set);
        compiled.insert(texts, set.clone());
        Ok(Patterns { set: Some(set), owners })
    }

    /// Whether any pattern matches `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.set.as_ref().is_some_and(|set| set.is_match(text))
    }

    /// The first owner, in table order, with a pattern matching `text`.
    pub fn first(&self, text: &str) -> Option<usize> {
        self.matches(text).map(|(_, owner)| owner).min()
    }

    /// Every pattern matching `text`: its place in the table's patterns, and its owner.
    pub fn matches(&self, text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
        let mut found = PatternSet::new(self.owners.len());
        if let Some(set) = &self.set {
            set.which_overlapping_matches(&Input::new(text), &mut found);
        }
        let matched = move |place: usize| PatternID::new(place).is_ok_and(|p| found.contains(p));
        self.owners.iter().enumerate().filter(move |(place, _)| matched(*place)).map(|(place, owner)| (place, *owner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_answers_as_its_patterns_would_one_by_one() {
        let table = [(0, "^nginx(:|@|$)"), (1, "^bitnami/(redis|valkey)(:|@|$)"), (1, "^valkey/valkey"), (2, "^redis")];
        let patterns = Patterns::new(table).unwrap();
        for text in ["nginx:1.27", "bitnami/valkey:8", "valkey/valkey:8", "redis:7", "nginxinc/x", ""] {
            let first = table.iter().find(|(_, p)| regex::Regex::new(p).unwrap().is_match(text)).map(|(o, _)| *o);
            assert_eq!(patterns.first(text), first, "{text}");
            assert_eq!(patterns.is_match(text), first.is_some(), "{text}");
        }
        assert_eq!(patterns.matches("bitnami/redis:7").collect::<Vec<_>>(), [(1, 1)]);
        assert_eq!(Patterns::default().first("x"), None);
        let none = Patterns::new(std::iter::empty()).unwrap();
        assert!(!none.is_match("") && none.matches("x").next().is_none());
        // Every pattern that matches is found, not only the first (overlapping matches).
        let overlapping = Patterns::new([(0, "a"), (1, "ab"), (2, "^b"), (3, "b$")]).unwrap();
        assert_eq!(overlapping.matches("xab").collect::<Vec<_>>(), [(0, 0), (1, 1), (3, 3)]);
    }

    #[test]
    fn a_bad_pattern_is_named_with_the_engine_s_own_words() {
        // Compiled from a variable, as configuration's patterns are (a literal would be
        // checked by the linter before the test could run).
        let bad = String::from("a(b");
        let alone = regex::Regex::new(&bad).unwrap_err().to_string();
        assert_eq!(Patterns::check("a(b"), Err(format!("`a(b`: {alone}")));
        assert_eq!(Patterns::new([(0, "x"), (1, "a(b")]).unwrap_err(), format!("`a(b`: {alone}"));
        assert_eq!(Patterns::check("^x(:|@|$)"), Ok(()));
    }
}
