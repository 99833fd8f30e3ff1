//! The `temper` binary: parses arguments, runs a command, and maps the result to an exit code:
//! 0 success, 1 differences (diffs with `--exit-code`), 2 error (bad input, bad configuration,
//! usage), 3 policy violation, 4 verification failed (`temper verify`).
//!
//! **Invariant:** stdout carries only the command's output (manifests for `render`), written
//! once at the end of a successful run; messages go to stderr and the log file.

mod cli;

/// The static (musl) builds' allocator: musl's own takes one lock for every allocation.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::install_panic_hook();
    ExitCode::from(cli::main())
}
