//! The known name closest to a mistyped one, for errors that say "did you mean `prod`?".
//!
//! Closeness is the optimal string alignment distance (insertions, deletions, substitutions
//! and swaps of two neighbours, each counting one), allowing one edit per three characters
//! and at least one; a known name that begins the given one, or that the given one begins
//! (`production` for `prod`, `pod-security` for `pod-security-context`), is close too.

/// The known name closest to `name`, if one is close enough.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let chars: Vec<char> = name.chars().collect();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in known {
        if candidate == name {
            return None;
        }
        let other: Vec<char> = candidate.chars().collect();
        let distance = distance(&chars, &other);
        let allowed = (chars.len().max(other.len()) / 3).max(1);
        let prefix = chars.len().min(other.len()) >= 3 && (name.starts_with(candidate) || candidate.starts_with(name));
        let score = if prefix { distance.min(allowed) } else { distance };
        if score <= allowed && best.is_none_or(|(b, _)| score < b) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, name)| name)
}

/// `" did you mean `x`?"` when a known name is close to `name`, else nothing.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, known).map(|c| format!(" did you mean `{c}`?")).unwrap_or_default()
}

/// Optimal string alignment distance.
fn distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best =
                (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVS: [&str; 3] = ["dev", "prod", "staging"];

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(closest("prdo", ENVS), Some("prod"));
        assert_eq!(closest("prd", ENVS), Some("prod"));
        assert_eq!(closest("staing", ENVS), Some("staging"));
        assert_eq!(closest("production", ENVS), Some("prod"));
        assert_eq!(closest("Dev", ENVS), Some("dev"));
        assert_eq!(closest("pod-securty-context", ["pod-security-context", "probes"]), Some("pod-security-context"));
    }

    #[test]
    fn far_names_are_not() {
        assert_eq!(closest("qa", ENVS), None);
        assert_eq!(closest("x", ENVS), None);
        assert_eq!(closest("", ENVS), None);
        assert_eq!(closest("no-such-rule", ["probes", "image-tag"]), None);
        assert_eq!(did_you_mean("qa", ENVS), "");
        assert_eq!(did_you_mean("prdo", ENVS), " did you mean `prod`?");
    }

    #[test]
    fn distances() {
        let d = |a: &str, b: &str| distance(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(d("prdo", "prod"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("same", "same"), 0);
    }
}
