#!/usr/bin/env bash
# Builds temper's release binaries: static Linux executables, stripped, one .tar.gz archive per
# target with SHA-256 checksums, in dist/ (ignored by git).
#
#   scripts/release.sh [TARGET...]
#       TARGET defaults to x86_64-unknown-linux-musl and aarch64-unknown-linux-musl.
#
# For each target built it writes
#   dist/temper-VERSION-TARGET/                 temper, README.md, completions/, man/
#   dist/temper-VERSION-TARGET.tar.gz           that directory (reproducible: sorted, owner 0,
#                                               the last commit's date, gzip -n)
#   dist/temper-VERSION-TARGET.tar.gz.sha256    its checksum, as `sha256sum -c` reads it
#   dist/image/linux/ARCH/temper                the binary again, where the ArgoCD sidecar image
#                                               (deploy/argocd/Dockerfile) copies it from
# and, for everything built, dist/SHA256SUMS.
#
# What the toolchain cannot build is named with the reason, and the other targets are still
# built; the script fails if any target asked for was not built, so that nothing is missing
# silently. If the musl target cannot be installed (rustup needs the network), x86_64 falls back
# to a static glibc build (x86_64-unknown-linux-gnu with +crt-static), and says so.
#
# Why a C compiler for aarch64: the psm crate (under serde-saphyr's stack growth) assembles a
# small file per architecture, so cross-building needs aarch64-linux-gnu-gcc (Debian and Ubuntu:
# gcc-aarch64-linux-gnu), which also links, and compiles jemalloc, temper's allocator; the musl
# C library itself comes with Rust's target.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "release.sh: no version in Cargo.toml" >&2; exit 1; }
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl); fi
mkdir -p dist
# Archives carry the date of the last commit, so the same commit gives the same bytes.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

built=()
not_built=()
instead=()

# Prints why TARGET cannot be built here, or nothing if it can; sets the build environment.
prepare() {
  local target=$1
  case "$target" in
    x86_64-unknown-linux-musl | aarch64-unknown-linux-musl | x86_64-unknown-linux-gnu) ;;
    *) echo "not a target this script knows how to build statically"; return ;;
  esac
  if [ "$target" = x86_64-unknown-linux-gnu ]; then
    # glibc, linked statically: no dynamic loader, no shared libraries. (temper uses none of
    # glibc's NSS functions, the part that cannot work statically.)
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"
  fi
  if ! rustc --print target-list | grep -qx "$target"; then
    echo "rustc $(rustc --version | cut -d' ' -f2) does not know the target"
    return
  fi
  local libdir
  libdir=$(rustc --print target-libdir --target "$target")
  if ! ls "$libdir"/libstd-*.rlib >/dev/null 2>&1; then
    if ! command -v rustup >/dev/null 2>&1; then
      echo "its standard library is not installed and there is no rustup to install it"
      return
    fi
    if ! rustup target add "$target" >/dev/null 2>&1; then
      echo "its standard library is not installed, and \`rustup target add $target\` failed (it downloads from the Rust distribution servers)"
      return
    fi
  fi
  # jemalloc (temper's allocator) is C: a musl cross compiler if there is one, else musl-gcc,
  # else the host's compiler on an x86_64 host (jemalloc's configure finds only what glibc's and
  # musl's headers declare alike, and it links against Rust's self-contained musl).
  if [ "$target" = x86_64-unknown-linux-musl ] && [ -z "${CC_x86_64_unknown_linux_musl:-}" ] \
    && ! command -v x86_64-linux-musl-gcc >/dev/null 2>&1; then
    if command -v musl-gcc >/dev/null 2>&1; then
      export CC_x86_64_unknown_linux_musl=musl-gcc
    elif [ "$(uname -m)" = x86_64 ] && command -v cc >/dev/null 2>&1; then
      export CC_x86_64_unknown_linux_musl=cc
    else
      echo "no C compiler for x86_64 musl (x86_64-linux-musl-gcc, musl-gcc, or cc on an x86_64 host), which jemalloc needs"
      return
    fi
  fi
  if [ "$target" = aarch64-unknown-linux-musl ] && [ "$(uname -m)" != aarch64 ]; then
    if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
      echo "no C compiler for aarch64 (aarch64-linux-gnu-gcc; Debian/Ubuntu package gcc-aarch64-linux-gnu), which the psm crate needs to assemble its stack-switching code"
      return
    fi
    export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
  fi
  if [ "$target" = aarch64-unknown-linux-musl ]; then
    # jemalloc fixes the page size when it is built and refuses to start on a kernel with larger
    # pages; arm64 kernels use 4, 16 or 64 KiB pages, so it is built for the largest.
    export JEMALLOC_SYS_WITH_LG_PAGE=16
  fi
}

# The Docker platform of a target's binary.
platform() {
  case "$1" in
    x86_64-*) echo linux/amd64 ;;
    aarch64-*) echo linux/arm64 ;;
  esac
}

for target in "${targets[@]}"; do
  why=$(prepare "$target")
  if [ -n "$why" ] && [ "$target" = x86_64-unknown-linux-musl ]; then
    echo "release.sh: CANNOT BUILD $target: $why"
    echo "release.sh: building x86_64-unknown-linux-gnu with a statically linked glibc instead"
    instead+=("x86_64-unknown-linux-gnu (static glibc) instead of $target: $why")
    target=x86_64-unknown-linux-gnu
    why=$(prepare "$target")
  fi
  if [ -n "$why" ]; then
    echo "release.sh: CANNOT BUILD $target: $why"
    not_built+=("$target: $why")
    continue
  fi
  prepare "$target" >/dev/null # again in this shell: $(...) ran it in a subshell
  echo "release.sh: building $target"
  # Stripped by the linker: no symbol table, no debug information.
  CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --locked --release --target "$target"
  binary="target/$target/release/temper"

  # Statically linked (no program interpreter, that is no dynamic loader, and no shared
  # libraries needed) and stripped (no symbol table), read from the ELF headers.
  if ! description=$(python3 - "$binary" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
    sys.exit("not a 64-bit little-endian ELF file")
machine, = struct.unpack_from("<H", data, 18)
phoff, shoff = struct.unpack_from("<QQ", data, 32)
phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
needed = 0
for i in range(phnum):
    kind, _, offset, _, _, size = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
    if kind == 3:
        sys.exit("it has a program interpreter: " + data[offset:offset + size].rstrip(b"\0").decode())
    if kind == 2:
        needed += sum(1 for at in range(offset, offset + size, 16) if struct.unpack_from("<q", data, at)[0] == 1)
if needed:
    sys.exit(f"it needs {needed} shared libraries")
if any(struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == 2 for i in range(shnum)):
    sys.exit("it has a symbol table: not stripped")
print({62: "x86-64", 183: "aarch64"}.get(machine, f"machine {machine}") + " ELF, statically linked, stripped")
PY
  ); then
    echo "release.sh: $binary is not a static, stripped executable" >&2
    exit 1
  fi

  name="temper-$version-$target"
  rm -rf "dist/$name" "dist/$name.tar.gz" "dist/$name.tar.gz.sha256"
  mkdir -p "dist/$name/completions" "dist/$name/man"
  install -m 0755 "$binary" "dist/$name/temper"
  install -m 0644 README.md "dist/$name/README.md"
  built+=("$target")
  echo "release.sh: $target: $description"
  platform=$(platform "$target")
  mkdir -p "dist/image/$platform"
  install -m 0755 "$binary" "dist/image/$platform/temper"
done

# Completions and man pages come from the command definitions, the same for every target: the
# first binary this machine can run writes them into every archive.
runner=""
for target in "${built[@]}"; do
  if "dist/temper-$version-$target/temper" --version >/dev/null 2>&1; then
    runner="dist/temper-$version-$target/temper"
    break
  fi
done
for target in "${built[@]}"; do
  name="temper-$version-$target"
  if [ -z "$runner" ]; then
    echo "release.sh: no built binary runs on this machine, so $name has no completions or man pages" >&2
    exit 1
  fi
  for shell in bash zsh fish; do
    "$runner" completions "$shell" >"dist/$name/completions/temper.$shell"
  done
  "$runner" man --dir "dist/$name/man"
  (
    cd dist
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=ustar -cf - "$name" |
      gzip -9 -n >"$name.tar.gz"
    sha256sum "$name.tar.gz" >"$name.tar.gz.sha256"
  )
  if "dist/$name/temper" --version >/dev/null 2>&1; then
    echo "release.sh: $name runs: $("dist/$name/temper" --version)"
  else
    echo "release.sh: $name is for another architecture; not run here"
  fi
done

if [ "${#built[@]}" -gt 0 ]; then
  (
    cd dist
    # Only what this run built: an archive left from an older run is not vouched for.
    for target in "${built[@]}"; do
      name="temper-$version-$target"
      sha256sum "$name.tar.gz" "$name/temper"
    done >SHA256SUMS
  )
  echo "release.sh: dist/SHA256SUMS:"
  sed 's/^/  /' dist/SHA256SUMS
fi
if [ "${#instead[@]}" -gt 0 ]; then
  echo "release.sh: BUILT INSTEAD:"
  printf '  %s\n' "${instead[@]}"
fi
if [ "${#not_built[@]}" -gt 0 ]; then
  echo "release.sh: NOT BUILT:"
  printf '  %s\n' "${not_built[@]}"
  exit 1
fi
