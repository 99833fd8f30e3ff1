#!/usr/bin/env bash
# Measures temper and prints markdown tables: the corpus in prod, the same input with every
# rule off (the pass-through floor), kustomize on the same stream, synthetic streams of about
# 1, 10 and 100 MB, 1 thread against 2, the review commands (diff, promote, check in every
# format, compare) against the render they review, and how every command grows with each
# dimension of the input (scripts/growth.py).
#
#   scripts/bench.sh [RUNS]      RUNS per figure, default 5
#
# Every time is the median of RUNS wall-clock runs; peak memory is the median of the runs'
# maximum resident set size (/usr/bin/time). Nothing here is a pass/fail test: the numbers go
# into BENCHMARKS.md by hand, with the machine they were taken on.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-5}"
corpus="${TEMPER_CORPUS:-../shared/corpus}"
if [ ! -x /usr/bin/time ]; then
  echo "bench.sh: /usr/bin/time (GNU time) is needed for peak memory; install it (Debian: apt-get install time)" >&2
  exit 1
fi

echo "bench.sh: building release" >&2
cargo build --release --locked --quiet
bin=target/release/temper
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The pass-through floor: an environment with every rule in the catalog off.
mkdir -p "$work/off/environments"
{
  printf 'apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: bench-off\n'
  printf 'spec:\n  description: Every rule off; temper only reads and writes.\n  rules:\n'
  # `temper explain` lists one rule per line after a header, up to the first blank line.
  "$bin" explain | awk 'NR > 1 && NF == 0 { exit } NR > 1 { printf "    %s: \"off\"\n", $1 }'
} >"$work/off/environments/bench-off.yaml"

rows=()
declare -A secs rss size

# run NAME INPUT NOTE CMD...: measures CMD (stdout discarded) RUNS times.
run() {
  local name=$1 input=$2 note=$3
  shift 3
  local times=() mems=() i start end
  for ((i = 0; i < runs; i++)); do
    start=$(date +%s%N)
    # `check` and `promote` exit 3 when enforced rules fail (the corpus fails prod's): that is
    # a measurement too. Any other status is a failure.
    local rc=0
    /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>"$work/stderr" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
      echo "bench.sh: $name failed (exit $rc):" >&2
      tail -n 5 "$work/stderr" >&2
      return 1
    fi
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
    mems+=("$(tail -n 1 "$work/rss")")
  done
  local mid=$(((runs + 1) / 2))
  local us kb bytes
  us=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "${mid}p")
  kb=$(printf '%s\n' "${mems[@]}" | sort -n | sed -n "${mid}p")
  bytes=$(stat -c %s "$input")
  secs[$name]=$(awk -v us="$us" 'BEGIN { printf "%.3f", us / 1e6 }')
  rss[$name]=$(awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }')
  size[$name]=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
  local per_mb ratio
  per_mb=$(awk -v us="$us" -v b="$bytes" 'BEGIN { printf "%.1f", (us / 1e3) / (b / 1048576) }')
  ratio=$(awk -v kb="$kb" -v b="$bytes" 'BEGIN { printf "%.1f", kb * 1024 / b }')
  rows+=("| $name | ${size[$name]} | ${secs[$name]} | $per_mb | ${rss[$name]} | ${ratio}× | $note |")
  echo "bench.sh: $name: ${secs[$name]} s, ${rss[$name]} MB" >&2
}

render=("$bin" render --no-enforce -q)

# (a), (b), (e): the corpus. Files are joined with `---` lines so that no document of one file
# runs into the next one's.
have_corpus=false
if [ -d "$corpus" ] && ls "$corpus"/*.yaml >/dev/null 2>&1; then
  have_corpus=true
  first=true
  for f in "$corpus"/*.yaml; do
    $first || echo '---'
    first=false
    cat "$f"
    [ -z "$(tail -c 1 "$f")" ] || echo
  done >"$work/corpus.yaml"
  run "corpus, prod" "$work/corpus.yaml" "every corpus file" "${render[@]}" --env prod -f "$work/corpus.yaml"
  # With every rule off temper changes nothing, so the floor writes its input back unchanged.
  if ! "${render[@]}" --config "$work/off" --env bench-off -f "$work/corpus.yaml" | cmp -s - "$work/corpus.yaml"; then
    echo "bench.sh: the pass-through floor did not write the corpus back unchanged" >&2
    exit 1
  fi
  run "corpus, every rule off" "$work/corpus.yaml" "pass-through floor" \
    "${render[@]}" --config "$work/off" --env bench-off -f "$work/corpus.yaml"
  run "corpus, prod, 1 thread" "$work/corpus.yaml" "" "${render[@]}" --env prod --threads 1 -f "$work/corpus.yaml"
  run "corpus, prod, 2 threads" "$work/corpus.yaml" "" "${render[@]}" --env prod --threads 2 -f "$work/corpus.yaml"
else
  echo "bench.sh: NO CORPUS at $corpus (set TEMPER_CORPUS): the corpus rows are skipped" >&2
fi

# (c) kustomize. It refuses a stream with two objects of the same identity (the corpus repeats
# some CRDs and examples) and YAML with duplicate keys, so it gets the part of the corpus it
# accepts: each file it can build on its own, then every object's first occurrence. temper is
# measured on those exact bytes too.
kustomize=()
if command -v kustomize >/dev/null 2>&1; then
  kustomize=(kustomize build)
elif command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  kustomize=(kubectl kustomize)
fi

# Keeps the first document of each (group, kind, namespace, name); reads block-style metadata only.
dedupe() {
  python3 -c '
import re, sys
parts = re.split(r"(?m)(^---[ \t]*(?:#.*)?\r?\n)", sys.stdin.read())
seen, out, sep = set(), [parts[0]], ""
def field(block, indent, key):
    m = re.search(r"(?m)^" + indent + key + r":[ \t]*[\"\x27]?([^\"\x27\s#]+)", block)
    return m.group(1) if m else ""
docs = [(parts[i], parts[i + 1]) for i in range(1, len(parts), 2)]
for sep, doc in docs:
    text = doc.replace("\r", "")
    api = re.search(r"(?m)^apiVersion:[ \t]*(\S+)", text)
    kind = re.search(r"(?m)^kind:[ \t]*(\S+)", text)
    meta = re.search(r"(?m)^metadata:[ \t]*\n((?:[ \t]+.*\n|[ \t]*\n)*)", text)
    if api and kind and meta:
        indent = re.match(r"[ \t]*", meta.group(1)).group(0)
        name = field(meta.group(1), indent, "name")
        key = (api.group(1).rpartition("/")[0], kind.group(1), field(meta.group(1), indent, "namespace") or "default", name)
        if name and key in seen:
            continue
        seen.add(key)
    out.append(sep + doc)
sys.stdout.write("".join(out))
'
}

kustomization() {
  local dir=$1
  cat >"$dir/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- stream.yaml
patches:
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          securityContext:
            runAsNonRoot: true
            seccompProfile:
              type: RuntimeDefault
- target:
    kind: StatefulSet
  patch: |-
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: any
    spec:
      template:
        spec:
          securityContext:
            runAsNonRoot: true
            seccompProfile:
              type: RuntimeDefault
EOF
}

kustomize_note=""
kustomize_row=""
if [ ${#kustomize[@]} -eq 0 ]; then
  kustomize_note="neither kustomize nor kubectl is on PATH: no kustomize comparison"
  echo "bench.sh: $kustomize_note" >&2
elif $have_corpus; then
  mkdir -p "$work/kz" "$work/one"
  kustomization "$work/kz"
  kustomization "$work/one"
  rejected=()
  first=true
  for f in "$corpus"/*.yaml; do
    { cat "$f"; [ -z "$(tail -c 1 "$f")" ] || echo; } | dedupe >"$work/one/stream.yaml"
    if ! "${kustomize[@]}" "$work/one" >/dev/null 2>&1; then
      rejected+=("$(basename "$f")")
      continue
    fi
    $first || echo '---'
    first=false
    cat "$work/one/stream.yaml"
  done | dedupe >"$work/kz/stream.yaml"
  if [ ${#rejected[@]} -gt 0 ]; then
    kustomize_note="without ${rejected[*]}, which ${kustomize[*]} rejects; repeated objects dropped"
  else
    kustomize_note="repeated objects dropped"
  fi
  run "kustomize subset, temper prod" "$work/kz/stream.yaml" "$kustomize_note" \
    "${render[@]}" --env prod -f "$work/kz/stream.yaml"
  kustomize_row="kustomize subset, ${kustomize[*]}"
  run "$kustomize_row" "$work/kz/stream.yaml" \
    "one resource, pod securityContext patch on Deployments and StatefulSets" "${kustomize[@]}" "$work/kz"
fi

# (f) the review commands against the render they review, on the corpus and a synthetic
# stream. Targets: diff and promote within 2x a render, check in every format within 1.5x.
review_inputs=()
$have_corpus && review_inputs+=("corpus:$work/corpus.yaml")
scripts/gen-manifests.py 10M >"$work/review-10.yaml"
review_inputs+=("synthetic 10 MB:$work/review-10.yaml")
review_rows=()
for entry in "${review_inputs[@]}"; do
  label=${entry%%:*}
  input=${entry#*:}
  run "$label, render" "$input" "review baseline" "${render[@]}" --env prod -f "$input"
  run "$label, diff" "$input" "" "$bin" diff --no-enforce -q --env prod -f "$input"
  run "$label, promote staging to prod" "$input" "" "$bin" promote -q --from staging --to prod -f "$input"
  for format in text json sarif; do
    run "$label, check $format" "$input" "" "$bin" check -q --env prod --format "$format" -f "$input"
  done
  # compare reads two streams: the input and its prod render (RSS / input is against the
  # first alone).
  "$bin" render -q --no-enforce --env prod -f "$input" >"$work/review-rendered.yaml"
  run "$label, compare with its render" "$input" "" "$bin" compare -q "$input" "$work/review-rendered.yaml"
  base=${secs[$label, render]}
  for cmd in diff "promote staging to prod" "check text" "check json" "check sarif" "compare with its render"; do
    review_rows+=("| $label | $cmd | ${secs[$label, $cmd]} | $(awk -v a="${secs[$label, $cmd]}" -v b="$base" 'BEGIN { printf "%.2f", a / b }')× | ${rss[$label, $cmd]} |")
  done
done

# (d) synthetic streams, and (e) threads on the largest realistic one.
for mb in 1 10 100; do
  scripts/gen-manifests.py "${mb}M" >"$work/synthetic-$mb.yaml"
  run "synthetic ${mb} MB, prod" "$work/synthetic-$mb.yaml" "scripts/gen-manifests.py ${mb}M" \
    "${render[@]}" --env prod -f "$work/synthetic-$mb.yaml"
done
run "synthetic 10 MB, prod, 1 thread" "$work/synthetic-10.yaml" "" \
  "${render[@]}" --env prod --threads 1 -f "$work/synthetic-10.yaml"
run "synthetic 10 MB, prod, 2 threads" "$work/synthetic-10.yaml" "" \
  "${render[@]}" --env prod --threads 2 -f "$work/synthetic-10.yaml"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "Machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores," \
  "$(free -g | awk '/^Mem:/ { print $2 }') GB, $(. /etc/os-release && echo "$PRETTY_NAME"), $(rustc --version)"
echo "Date: $(date -u +%Y-%m-%d), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg), $runs runs per figure"
echo
echo "| case | input MB | median s | ms per MB | peak RSS MB | RSS / input | notes |"
echo "|---|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| target | measured |"
echo "|---|---|"
if $have_corpus; then
  if [ -n "$kustomize_row" ]; then
    echo "| ≥ 15× faster than kustomize | $(ratio "${secs[$kustomize_row]}" "${secs[kustomize subset, temper prod]}")× |"
  else
    echo "| ≥ 15× faster than kustomize | not measured: $kustomize_note |"
  fi
  echo "| prod within 1.5× of the floor | $(ratio "${secs[corpus, prod]}" "${secs[corpus, every rule off]}")× |"
  echo "| 2 threads ≥ 1.5× faster than 1 (corpus) | $(ratio "${secs[corpus, prod, 1 thread]}" "${secs[corpus, prod, 2 threads]}")× |"
fi
echo "| 2 threads ≥ 1.5× faster than 1 (synthetic 10 MB) | $(ratio "${secs[synthetic 10 MB, prod, 1 thread]}" "${secs[synthetic 10 MB, prod, 2 threads]}")× |"
per() { awk -v s="${secs[$1]}" -v m="${size[$1]}" 'BEGIN { print s / m }'; }
p1=$(per "synthetic 1 MB, prod")
p10=$(per "synthetic 10 MB, prod")
p100=$(per "synthetic 100 MB, prod")
echo "| cost per MB flat within ±20% (1, 10, 100 MB) | $(awk -v a="$p1" -v b="$p10" -v c="$p100" 'BEGIN {
  m = (a + b + c) / 3; d = 0
  for (i = 1; i <= 3; i++) { x = (i == 1 ? a : i == 2 ? b : c); e = (x - m) / m; if (e < 0) e = -e; if (e > d) d = e }
  printf "%.0f, %.0f, %.0f ms per MB: %.0f%% from their mean", a * 1000, b * 1000, c * 1000, d * 100 }') |"
worst=0
for name in "${!rss[@]}"; do
  [ "$name" = "$kustomize_row" ] && continue
  worst=$(awk -v w="$worst" -v r="${rss[$name]}" -v s="${size[$name]}" 'BEGIN { x = r / s; print (x > w ? x : w) }')
done
echo "| peak memory < 10× input | at most $(awk -v w="$worst" 'BEGIN { printf "%.1f", w }')× (temper rows) |"
echo
echo "| input | command | median s | time / render | peak RSS MB |"
echo "|---|---|---:|---:|---:|"
printf '%s\n' "${review_rows[@]}"

# (g) growth: each dimension of scripts/gen-dimension.py doubled, every command (slow: about
# 15 minutes with 3 runs; BENCH_GROWTH=0 leaves it out).
if [ "${BENCH_GROWTH:-1}" != 0 ]; then
  echo
  scripts/growth.py "$bin" "$runs"
fi
