#!/usr/bin/env bash
# Packages the Helm 4 post-renderer plugin (examples/helm-plugin/) with a temper binary inside,
# as an archive `helm plugin install` takes, into dist/helm-plugin/ (ignored by git).
#
#   scripts/helm-plugin-package.sh [--source-url URL] [TARGET...]
#       TARGET: targets scripts/release.sh has built (default: those its last run built, as
#       listed in dist/SHA256SUMS).
#       URL: the plugin's sourceURL, where its source lives [default: $TEMPER_SOURCE_URL, else
#       `repository` in Cargo.toml, else the git remote `origin`].
#
# The archive is what Helm 4's own `helm plugin package` writes (pkg/cmd/plugin_package.go,
# internal/plugin/sign.go CreatePluginTarball), and what its installer
# (internal/plugin/installer) expects:
#   - named NAME-VERSION*.tgz: the installer takes the plugin's directory name from the file
#     name, cutting at the first `-<digit>`; here temper-VERSION-OS-ARCH.tgz, one per platform;
#   - a gzipped tar whose entries all sit in a directory named after the plugin, `temper/`;
#   - only directories and regular files: the installer refuses symbolic links and anything
#     else, and paths with `..` or `:`.
# It holds temper/plugin.yaml and temper/bin/temper. plugin.yaml is the example's, plus
# `sourceURL` and a first platformCommand entry for the archive's own os and arch that runs the
# bundled binary (${HELM_PLUGIN_DIR}/bin/temper); on any other platform the example's entries
# still apply (temper from PATH). Helm 4 verifies a signature (NAME.tgz.prov) by default; these
# archives are not signed, so they install with --verify=false, checked against their .sha256.
set -euo pipefail
cd "$(dirname "$0")/.."

source_url="${TEMPER_SOURCE_URL:-}"
targets=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --source-url)
      source_url="${2:?--source-url needs a URL}"
      shift 2
      ;;
    --source-url=*)
      source_url="${1#--source-url=}"
      shift
      ;;
    -*)
      echo "helm-plugin-package.sh: unknown option $1" >&2
      exit 2
      ;;
    *)
      targets+=("$1")
      shift
      ;;
  esac
done
if [ -z "$source_url" ]; then
  source_url=$(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
fi
if [ -z "$source_url" ]; then
  source_url=$(git remote get-url origin 2>/dev/null || true)
fi
if [ -z "$source_url" ]; then
  echo "helm-plugin-package.sh: no source URL: give --source-url URL (or TEMPER_SOURCE_URL), or set repository in Cargo.toml" >&2
  exit 2
fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [ "${#targets[@]}" -eq 0 ] && [ -f dist/SHA256SUMS ]; then
  # What the last scripts/release.sh run built, from the binaries its SHA256SUMS lists.
  while read -r _ file; do
    case "$file" in
      "temper-$version-"*/temper) target=${file#"temper-$version-"} && targets+=("${target%/temper}") ;;
    esac
  done <dist/SHA256SUMS
fi
if [ "${#targets[@]}" -eq 0 ]; then
  echo "helm-plugin-package.sh: no temper $version binaries in dist/SHA256SUMS: run scripts/release.sh first" >&2
  exit 1
fi

example=examples/helm-plugin/plugin.yaml
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
mkdir -p dist/helm-plugin
for target in "${targets[@]}"; do
  binary="dist/temper-$version-$target/temper"
  if [ ! -f "$binary" ]; then
    echo "helm-plugin-package.sh: no $binary: run scripts/release.sh $target first" >&2
    exit 1
  fi
  # Helm's names for the platform (Go's GOOS and GOARCH).
  case "$target" in
    x86_64-*-linux-*) os=linux arch=amd64 ;;
    aarch64-*-linux-*) os=linux arch=arm64 ;;
    *)
      echo "helm-plugin-package.sh: no Helm platform for $target" >&2
      exit 1
      ;;
  esac
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/temper/bin"
  install -m 0755 "$binary" "$work/temper/bin/temper"
  python3 - "$example" "$work/temper/plugin.yaml" "$source_url" "$os" "$arch" <<'PY'
import sys
example, out, url, os_, arch = sys.argv[1:]
lines = open(example).read().splitlines(keepends=True)
def index(line):
    if line not in lines:
        sys.exit(f"{example}: no line {line.strip()!r} to extend")
    return lines.index(line) + 1
# Runs the bundled binary on this archive's platform; the example's entries stay for the others.
at = index("  platformCommand:\n")
lines[at:at] = [f"    - os: {os_}\n", f"      arch: {arch}\n", "      command: ${HELM_PLUGIN_DIR}/bin/temper\n"]
at = index("runtime: subprocess\n")
lines[at:at] = [f"sourceURL: {url}\n"]
open(out, "w").write("".join(lines))
PY
  chmod 0644 "$work/temper/plugin.yaml"
  name="temper-$version-$os-$arch.tgz"
  tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=ustar -cf - temper |
    gzip -9 -n >"dist/helm-plugin/$name"
  (cd dist/helm-plugin && sha256sum "$name" >"$name.sha256")
  rm -rf "$work"
  trap - EXIT
  echo "helm-plugin-package.sh: dist/helm-plugin/$name ($target, sourceURL $source_url)"
done
