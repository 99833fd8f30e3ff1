//! How far a run has got: counters the stages advance document by document, for a caller
//! that reports progress on a long run. Advancing one is an atomic addition; nothing here
//! prints or waits, and a run's output never depends on it.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The counters of one run.
#[derive(Debug, Default)]
pub struct Progress {
    documents: AtomicUsize,
    read: AtomicUsize,
    checked: AtomicUsize,
    written: AtomicUsize,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Documents with content in the stream, once it is split (0 before).
    pub documents: usize,
    /// Documents parsed.
    pub read: usize,
    /// Documents the rules have run on.
    pub checked: usize,
    /// Documents in the output (`render` only).
    pub written: usize,
}

impl Progress {
    pub fn counts(&self) -> Counts {
        Counts {
            documents: self.documents.load(Ordering::Relaxed),
            read: self.read.load(Ordering::Relaxed),
            checked: self.checked.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn split(&self, documents: usize) {
        self.documents.store(documents, Ordering::Relaxed);
    }

    pub(crate) fn read_one(&self) {
        self.read.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn checked_one(&self) {
        self.checked.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn written_one(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
    }
}
