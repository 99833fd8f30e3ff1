//! Shared copies of text that records repeat: the pointers of changes and violations, the
//! rules a diff names. A stream of small workloads records a change per field it fixes, and
//! most of a hundred thousand records repeat a few hundred texts.
//!
//! Each thread keeps its own set (no lock on the rules' parallel path), of up to [`KEPT`]
//! texts, and starts again when it has as many: the pointers into the items of a long list
//! need not all be kept. Sharing changes no value, so output never depends on it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;
use std::thread::LocalKey;

/// How many texts a thread keeps.
pub const KEPT: usize = 4096;

thread_local! {
    static TEXTS: RefCell<HashSet<Arc<str>>> = RefCell::new(HashSet::new());
    /// Texts held as a shared `Box<str>`, a handle of one machine word (the pointers).
    static BOXED: RefCell<HashSet<Arc<Box<str>>>> = RefCell::new(HashSet::new());
}

/// `text`, sharing the copy this thread kept of it if it kept one; else `text` itself, kept.
pub fn share(text: Arc<str>) -> Arc<str> {
    share_in(&TEXTS, text)
}

/// [`share`] for text held as a shared `Box<str>`.
pub fn share_boxed(text: Arc<Box<str>>) -> Arc<Box<str>> {
    share_in(&BOXED, text)
}

/// `value`, sharing the copy this thread kept of it in `set` if it kept one; else `value`
/// itself, kept.
fn share_in<T: ?Sized + Eq + std::hash::Hash>(
    set: &'static LocalKey<RefCell<HashSet<Arc<T>>>>,
    value: Arc<T>,
) -> Arc<T> {
    set.with_borrow_mut(|kept| {
        if let Some(known) = kept.get(&*value) {
            return Arc::clone(known);
        }
        remember(kept, &value);
        value
    })
}

/// Keeps `value` (a handle to a shared copy) in a thread's set of shared copies, which starts
/// again when it holds [`KEPT`]: the one policy of every such set.
pub fn remember<T: Clone + Eq + std::hash::Hash>(kept: &mut HashSet<T>, value: &T) {
    if kept.len() >= KEPT {
        kept.clear();
    }
    kept.insert(value.clone());
}

/// `value` as the copy `kept` (a thread's set of shared copies, such as identities' types or
/// violations' words) holds of it, kept there first if it held none.
pub fn shared<T: Eq + std::hash::Hash>(kept: &mut HashSet<Arc<T>>, value: T) -> Arc<T> {
    if let Some(known) = kept.get(&value) {
        return Arc::clone(known);
    }
    let value = Arc::new(value);
    remember(kept, &value);
    value
}

/// [`share`] for borrowed text: copied only if this thread kept no copy of it.
pub fn text(text: &str) -> Arc<str> {
    TEXTS.with_borrow(|kept| kept.get(text).cloned()).unwrap_or_else(|| share(Arc::from(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_shared_and_other_text_is_not() {
        let first = text("container-security-context");
        let again = share(Arc::from("container-security-context"));
        assert!(Arc::ptr_eq(&first, &again));
        assert!(Arc::ptr_eq(&first, &text("container-security-context")));
        let other = text("probes");
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(&*other, "probes");
    }

    #[test]
    fn a_set_of_shared_values_gives_back_its_copy_and_starts_again_when_full() {
        let mut kept = HashSet::new();
        let first = shared(&mut kept, (1, "a"));
        assert!(Arc::ptr_eq(&first, &shared(&mut kept, (1, "a"))));
        assert!(!Arc::ptr_eq(&first, &shared(&mut kept, (2, "a"))));
        for n in 0..KEPT {
            shared(&mut kept, (n + 10, "b"));
        }
        assert!(kept.len() <= KEPT);
        assert_eq!(*shared(&mut kept, (1, "a")), (1, "a"));
    }
}
