#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
# Needs only the Rust toolchain and python3; anything else the tests use is installed by
# scripts/tools.sh (helm, hadolint) and scripts/fuzz.sh (cargo-fuzz), into tools/ (ignored by
# git and kept between runs, like target/ and fuzz/target/).
#
# Stages, timed; the durations are printed at the end, also when a stage fails:
#   tools, formatting and lints, release binaries (scripts/release.sh for x86_64 and the Helm
#   plugin archive, which tests/it/packaging.rs checks), tests, fuzzing (60 seconds in all).
set -euo pipefail
cd "$(dirname "$0")/.."

durations=()
stage_name=""
stage_start=0
suite_start=$SECONDS

stage() {
  end_stage
  stage_name=$1
  stage_start=$SECONDS
  echo "test.sh: $stage_name"
}

end_stage() {
  if [ -n "$stage_name" ]; then
    durations+=("$(printf '%-24s %4d s' "$stage_name" $((SECONDS - stage_start)))")
    stage_name=""
  fi
}

report() {
  local status=$?
  local failed=$stage_name
  end_stage
  echo "test.sh: stage durations:"
  printf '  %s\n' "${durations[@]}"
  printf '  %-24s %4d s\n' "total" $((SECONDS - suite_start))
  if [ "$status" -ne 0 ]; then
    echo "test.sh: FAILED in stage: ${failed:-?} (exit $status)"
  fi
}
trap report EXIT

corpus="${TEMPER_CORPUS:-../shared/corpus}"
if [ -d "$corpus" ]; then
  echo "test.sh: corpus found at $corpus; corpus conformance tests run"
else
  echo "test.sh: NO CORPUS at $corpus; corpus conformance tests do not run (set TEMPER_CORPUS to run them)"
fi

stage "tools"
scripts/tools.sh

stage "formatting and lints"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# The fuzz targets are a workspace of their own, which the line above does not build: lint
# them here, so that a library change they no longer compile against fails in minutes, not in
# the fuzzing stage at the end.
cargo clippy --locked --manifest-path fuzz/Cargo.toml --bins -- -D warnings

stage "release binaries"
# The x86_64 static binary and its Helm 4 plugin archive, which the packaging tests check.
# (scripts/release.sh alone builds aarch64 too; it needs a cross C compiler and as long again.)
# The plugin's sourceURL is a placeholder here: the tests check the archive's layout.
scripts/release.sh x86_64-unknown-linux-musl
scripts/helm-plugin-package.sh --source-url "${TEMPER_SOURCE_URL:-https://github.com/example/temper}"

stage "tests"
# Snapshots are never written here: a missing or changed snapshot fails the run.
export INSTA_UPDATE=no
cargo test --locked --all-targets
cargo test --locked --doc

stage "fuzzing"
# A short run on every target, from the corpus's documents: it catches what a change breaks
# in the reader, the pipeline or the configuration loader. Longer runs: scripts/fuzz.sh 3600.
scripts/fuzz.sh 60
