//! Collecting the results of parallel work in stream order, with one copy of them.
//!
//! rayon collects an iterator of `Result`s (`collect::<Result<Vec<_>>>()`) into a list per
//! thread, then copies those into one list: at a stage that makes a record per document, two
//! copies of every record at once. Collected as a list of results, an indexed iterator fills
//! one list in place, and the records are taken out of it in place ([`collect`]).
//!
//! The error returned is the first in stream order, whichever thread met it first.

use rayon::prelude::*;

/// The items of `results` in order, or the first error among them.
pub fn collect<T: Send, E: Send>(results: impl IndexedParallelIterator<Item = Result<T, E>>) -> Result<Vec<T>, E> {
    let all: Vec<Result<T, E>> = results.collect();
    all.into_iter().collect()
}

/// [`collect`], keeping only the items that are `Some`.
pub fn collect_some<T: Send, E: Send>(
    results: impl IndexedParallelIterator<Item = Result<Option<T>, E>>,
) -> Result<Vec<T>, E> {
    let all: Vec<Result<Option<T>, E>> = results.collect();
    all.into_iter().filter_map(Result::transpose).collect()
}

#[cfg(test)]
mod tests {
    use rayon::prelude::*;

    #[test]
    fn results_come_in_order_and_the_first_error_in_order_wins() {
        let ok = super::collect((0..10_000usize).into_par_iter().map(Ok::<_, usize>));
        assert_eq!(ok, Ok((0..10_000).collect::<Vec<_>>()));
        let failing = |n: usize| if n % 1000 == 999 { Err(n) } else { Ok(n) };
        assert_eq!(super::collect((0..10_000usize).into_par_iter().map(failing)), Err(999));
        let odd = |n: usize| Ok::<_, usize>((n % 2 == 1).then_some(n));
        let kept = super::collect_some((0..10usize).into_par_iter().map(odd));
        assert_eq!(kept, Ok(vec![1, 3, 5, 7, 9]));
    }
}
