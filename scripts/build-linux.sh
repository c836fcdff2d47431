#!/usr/bin/env bash
# Builds the Linux guest kernel (bzImage) from Debian's linux-source-6.1 with
# guest/linux/tiny.config, cached outside the clone keyed by source version and config.
# Usage: build-linux.sh OUT_BZIMAGE   (prints the cache path it used)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-linux.sh OUT_BZIMAGE}
frag="$top/guest/linux/tiny.config"
tarball=/usr/src/linux-source-6.1.tar.xz
say() { printf 'build-linux: %s\n' "$*" >&2; }

[ -f "$tarball" ] || { say "missing $tarball: run ./scripts/setup.sh (package linux-source-6.1)"; exit 1; }
srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || echo unknown)
# The key: source version, the fragment, and this script (its commands shape the result).
key=$(cat "$frag" "$0" | sha256sum | cut -c1-16)
cache_root=${HV_LINUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hv-linux}
cache="$cache_root/6.1-$srcver-$key"

if [ ! -f "$cache/bzImage" ]; then
  say "building linux-source-6.1 $srcver (config $key) in $cache: about 5 minutes on 2 cores"
  rm -rf "$cache.tmp"
  mkdir -p "$cache.tmp"
  tar -C "$cache.tmp" -xf "$tarball"
  src="$cache.tmp/linux-source-6.1"
  make -C "$src" -s tinyconfig >/dev/null
  "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$frag" >/dev/null
  make -C "$src" -s olddefconfig >/dev/null
  # Every option the fragment sets must have survived Kconfig's dependencies.
  bad=0
  while read -r line; do
    case "$line" in
      CONFIG_*=*) grep -qx "$line" "$src/.config" || { say "option lost: $line"; bad=1; } ;;
      "# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}
        if grep -q "^$opt=" "$src/.config"; then say "option not unset: $opt"; bad=1; fi ;;
    esac
  done <"$frag"
  [ $bad = 0 ] || { say "config fragment does not hold"; exit 1; }
  make -C "$src" -s -j"$(nproc)" bzImage
  cp "$src/arch/x86/boot/bzImage" "$src/.config" "$cache.tmp/"
  # gen_init_cpio builds the initramfs; keep it, drop the tree.
  cp "$src/usr/gen_init_cpio" "$cache.tmp/"
  rm -rf "$src"
  rm -rf "$cache"
  mv "$cache.tmp" "$cache"
fi
mkdir -p "$(dirname "$out")"
cp "$cache/bzImage" "$out"
cp "$cache/.config" "$out.config"
cp "$cache/gen_init_cpio" "$(dirname "$out")/gen_init_cpio"
echo "$cache"
