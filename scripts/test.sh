#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
# Needs only the Rust toolchain and python3; anything else the tests use is installed by
# scripts/tools.sh (helm, hadolint) and scripts/fuzz.sh (cargo-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

corpus="${TEMPER_CORPUS:-../shared/corpus}"
if [ -d "$corpus" ]; then
  echo "test.sh: corpus found at $corpus; corpus conformance tests run"
else
  echo "test.sh: NO CORPUS at $corpus; corpus conformance tests do not run (set TEMPER_CORPUS to run them)"
fi

scripts/tools.sh

echo "test.sh: formatting and lints"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml --all -- --check
cargo clippy --locked --all-targets -- -D warnings

echo "test.sh: release binaries"
# The x86_64 static binary and its Helm 4 plugin archive, which the packaging tests check.
# (scripts/release.sh alone builds aarch64 too; it needs a cross C compiler and as long again.)
# The plugin's sourceURL is a placeholder here: the tests check the archive's layout.
scripts/release.sh x86_64-unknown-linux-musl
scripts/helm-plugin-package.sh --source-url "${TEMPER_SOURCE_URL:-https://github.com/example/temper}"

echo "test.sh: tests"
# Snapshots are never written here: a missing or changed snapshot fails the run.
export INSTA_UPDATE=no
cargo test --locked --all-targets
cargo test --locked --doc

echo "test.sh: fuzzing, 60 seconds in all"
# A short run on every target, from the corpus's documents: it catches what a change breaks
# in the reader, the pipeline or the configuration loader. Longer runs: scripts/fuzz.sh 3600.
scripts/fuzz.sh 60
