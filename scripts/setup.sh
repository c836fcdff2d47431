#!/usr/bin/env bash
# Installs the Debian packages the build and tests need and fetches the Debian
# sources of lwIP and intel-ipsec-mb into third_party/ (ignored by git). Idempotent.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
tp="$top/third_party"
stamp="$tp/.setup-done-v2"

PKGS="build-essential nasm gnu-efi ovmf qemu-system-x86 qemu-utils bochs bochsbios vgabios \
bochs-term grub-pc-bin grub-common xorriso mtools libcmocka-dev libssl-dev clang lld \
llvm python3 dpkg-dev iproute2 nftables gnuplot-nox clang-format black flake8 libclang-rt-14-dev"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot install packages"
  sudo_cmd="sudo"
fi

if [ -f "$stamp" ] && [ -z "${SETUP_FORCE:-}" ]; then
  missing=""
  for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -z "$missing" ] && [ -d "$tp/lwip" ] && [ -d "$tp/ipsec-mb" ]; then
    exit 0
  fi
fi

# deb-src entry derived from the machine's own Debian sources, so no host name
# is ever written into this repository.
srcfile=/etc/apt/sources.list.d/hv-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && \
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      | $sudo_cmd tee "$srcfile" >/dev/null || die "cannot write $srcfile"
  elif grep -qs '^deb ' /etc/apt/sources.list; then
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
      | $sudo_cmd tee /etc/apt/sources.list.d/hv-deb-src.list >/dev/null \
      || die "cannot write deb-src list"
  else
    die "no Debian sources file found to derive a deb-src entry from"
  fi
  say "added a deb-src entry derived from the existing Debian sources"
fi

say "apt-get update"
$sudo_cmd apt-get update -qq || die "apt-get update (is the Debian mirror reachable?)"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  say "installing:$missing"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $missing \
    >/dev/null || die "apt-get install$missing"
fi

mkdir -p "$tp"
fetch_src() { # name dir
  local name=$1 dir=$2
  [ -d "$tp/$dir" ] && return 0
  local tmp; tmp=$(mktemp -d "$tp/.fetch.XXXXXX")
  say "apt-get source $name"
  (cd "$tmp" && apt-get source -qq "$name" >/dev/null 2>&1) || { rm -rf "$tmp"; die "apt-get source $name (deb-src reachable?)"; }
  local d; d=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)
  [ -n "$d" ] || { rm -rf "$tmp"; die "apt-get source $name produced no directory"; }
  mv "$d" "$tp/$dir" && rm -rf "$tmp"
}
fetch_src lwip lwip
fetch_src intel-ipsec-mb ipsec-mb
touch "$stamp"
say "done"
