//! The `temper` binary: parses arguments, runs a command, and maps the result to an exit code:
//! 0 success, 1 differences (diffs with `--exit-code`), 2 error (bad input, bad configuration,
//! usage), 3 policy violation, 4 verification failed (`temper verify`).
//!
//! **Invariant:** stdout carries only the command's output (manifests for `render`), written
//! once at the end of a successful run; messages go to stderr and the log file.

mod cli;

/// Every build's allocator: jemalloc, set below to give freed pages back to the system at once.
/// glibc's allocator and mimalloc keep them, and peaked at 1.3 to 1.9 times this build's memory
/// on the synthetic streams (BENCHMARKS.md, "Sixth pass").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts: freed pages go back to the system at once rather
/// than after ten seconds (`dirty_decay_ms`, `muzzy_decay_ms`), which is longer than most runs.
/// jemalloc reads a C string through this symbol (its name carries the prefix
/// tikv-jemalloc-sys gives every jemalloc symbol).
#[cfg(not(target_env = "msvc"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_OPTIONS: &[u8; 34] = b"dirty_decay_ms:0,muzzy_decay_ms:0\0";

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::install_panic_hook();
    ExitCode::from(cli::main())
}
