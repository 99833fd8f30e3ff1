#!/usr/bin/env bash
# Fuzzes temper with cargo-fuzz (libFuzzer): the stream reader and writer, the rule pipeline
# in every built-in environment, and the configuration loader.
#
#   scripts/fuzz.sh [SECONDS]     SECONDS in all, split evenly between the targets that build
#                                 (default 300)
#
# Stable Rust is enough: with `--sanitizer none` cargo-fuzz passes only stable `-C` flags
# (coverage instrumentation through LLVM's sancov pass), so neither nightly nor
# RUSTC_BOOTSTRAP is needed. AddressSanitizer would need nightly; the library the targets call
# has no unsafe code of its own, and what the fuzzers look for here are panics, wrong output,
# hangs and runaway memory.
#
# Seeds: each document of the shared corpus (TEMPER_CORPUS, else ../shared/corpus) becomes a
# seed of the read/write and pipeline targets, with the repository's stream fixtures; the
# configuration target starts from the built-in overlays and environments. Seeds and what the
# fuzzers learn stay in fuzz/corpus/ (ignored by git); crashes are written to fuzz/artifacts/
# and make this script fail. Keep each one as a regression test in tests/it and fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."

total="${1:-300}"
targets=(read_write pipeline config)

version=0.13.2
cargo_fuzz=tools/cargo-fuzz/bin/cargo-fuzz
if ! "$cargo_fuzz" --version 2>/dev/null | grep -q " $version\$"; then
  echo "fuzz.sh: installing cargo-fuzz $version into tools/cargo-fuzz (cargo install, from crates.io)"
  cargo install --quiet --locked cargo-fuzz --version "$version" --root tools/cargo-fuzz
fi

corpus="${TEMPER_CORPUS:-../shared/corpus}"
mkdir -p fuzz/corpus/read_write fuzz/corpus/pipeline fuzz/corpus/config
if [ -d "$corpus" ]; then
  echo "fuzz.sh: seeding from the documents of $corpus"
else
  echo "fuzz.sh: NO CORPUS at $corpus (set TEMPER_CORPUS); seeding from the repository's fixtures only"
fi
# One seed per document (at most 64 KiB, the inputs' length limit), named by content so that
# seeding again adds nothing twice.
python3 - "$corpus" tests/fixtures/stream fuzz/corpus/read_write fuzz/corpus/pipeline <<'EOF'
import hashlib, pathlib, re, sys
sources, targets = sys.argv[1:3], [pathlib.Path(t) for t in sys.argv[3:]]
files = [f for s in map(pathlib.Path, sources) if s.is_dir() for f in sorted(s.rglob("*")) if f.is_file() and f.suffix in (".yaml", ".yml", ".json")]
for f in files:
    data = f.read_bytes()
    docs = re.split(rb"(?m)^(?=---[ \t\r\n])", data) if not f.name.startswith("argocd-utf-16") else [data]
    for doc in [data] + docs:
        if 0 < len(doc) <= 65536:
            name = hashlib.sha1(doc).hexdigest()
            for t in targets:
                (t / name).write_bytes(doc)
EOF
cp environments/*.yaml overlays/*.yaml fuzz/corpus/config/
find examples -path '*/environments/*.yaml' -o -path '*/overlays/*.yaml' | xargs -r cp -t fuzz/corpus/config/

# A release build with debug assertions and overflow checks (fuzz/Cargo.toml), target by
# target, into fuzz/target (ignored by git, kept between runs). A target that does not build is
# named with the compiler's complaint and not run; the others still are, and the script fails.
status=0
built=()
not_built=()
for target in "${targets[@]}"; do
  if "$cargo_fuzz" fuzz build --sanitizer none "$target" >"fuzz/$target.build.log" 2>&1; then
    built+=("$target")
  else
    not_built+=("$target")
    status=1
    echo "fuzz.sh: $target DID NOT BUILD:" >&2
    grep -E "^(error|warning: unused)" -A 5 "fuzz/$target.build.log" | head -n 30 >&2 || tail -n 30 "fuzz/$target.build.log" >&2
  fi
done
if [ "${#built[@]}" -eq 0 ]; then
  echo "fuzz.sh: no target built; nothing was fuzzed" >&2
  exit 1
fi
per=$((total / ${#built[@]}))
[ "$per" -ge 1 ] || per=1

for target in "${built[@]}"; do
  echo "fuzz.sh: $target for ${per}s"
  # -timeout: an input that takes 10 s is a hang worth reporting; -rss_limit_mb likewise for
  # memory. -max_len matches the seeds' limit.
  if ! "$cargo_fuzz" fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$per" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"fuzz/$target.log" 2>&1; then
    status=1
    echo "fuzz.sh: $target FAILED; the input is in fuzz/artifacts/$target/:" >&2
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "fuzz/$target.log" | head -n 20 >&2 || tail -n 20 "fuzz/$target.log" >&2
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "fuzz/$target.log" | sed "s/^/fuzz.sh: $target /"
  fi
done
if [ "${#not_built[@]}" -gt 0 ]; then
  echo "fuzz.sh: fuzzed ${built[*]}; NOT BUILT, so not fuzzed: ${not_built[*]} (see fuzz/<target>.build.log)" >&2
fi
exit "$status"
