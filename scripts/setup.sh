#!/usr/bin/env bash
# Installs the Debian packages the build and tests need and fetches the Debian
# sources of lwIP, intel-ipsec-mb and BearSSL into third_party/ (ignored by git), checking
# their versions. Idempotent. `setup.sh --check` only checks (make setup-check, part of make test).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
tp="$top/third_party"
stamp="$tp/.setup-done-v3"

# Supported: Debian 12 (bookworm), where every version below was measured. Elsewhere
# setup goes on with a warning.
SUPPORTED_DEBIAN=12

# Exactly what the build and the tests use; --check proves it (each program and file
# below, from a package listed here, and every package listed here needed by one of them).
PKGS="build-essential nasm gnu-efi ovmf qemu-system-x86 bochs bochsbios vgabios bochs-term \
grub-pc-bin grub-common xorriso libcmocka-dev libssl-dev clang libclang-rt-14-dev llvm \
clang-format black flake8 python3 python3-serial dpkg-dev iproute2 nftables gnuplot-nox \
linux-source-6.1 bc flex bison libelf-dev xz-utils"

# program or file : package : what uses it
USES="
gcc:build-essential:every C build
ld:build-essential:hypervisor, KAT kernel and UEFI loader links
objcopy:build-essential:test guest binary, BOOTX64.EFI
nasm:nasm:ipsec-mb's assembly
/usr/include/efi/efi.h:gnu-efi:the UEFI loader
/usr/share/OVMF/OVMF_CODE_4M.fd:ovmf:QEMU+OVMF tests
qemu-system-x86_64:qemu-system-x86:QEMU+OVMF tests
bochs:bochs:every VT-x test
/usr/share/bochs/BIOS-bochs-latest:bochsbios:Bochs' BIOS
/usr/share/vgabios/vgabios.bin:vgabios:Bochs' VGA BIOS
/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so:bochs-term:the GUI package bochs requires (the smallest; the tests use its built-in rfb)
/usr/lib/grub/i386-pc/modinfo.sh:grub-pc-bin:the ISOs' BIOS GRUB
grub-mkrescue:grub-common:the ISOs
xorriso:xorriso:the ISOs
/usr/include/cmocka.h:libcmocka-dev:unit tests
/usr/include/openssl/evp.h:libssl-dev:crypto cross-checks and benchmark
clang:clang:libFuzzer builds
/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev:libFuzzer runtime
llvm-symbolizer:llvm:sanitizer reports with file and line
clang-format:clang-format:make lint (C)
black:black:make lint (Python)
flake8:flake8:make lint (Python)
python3:python3:tools and system tests
/usr/lib/python3/dist-packages/serial/__init__.py:python3-serial:pyserial for hvctl, hvconsole and serial_mux on real serial lines (--serial, --serial-url) and test_serial_pty
dpkg-source:dpkg-dev:apt-get source
ip:iproute2:simulator tests on an impaired link
nft:nftables:simulator tests on an impaired link
gnuplot:gnuplot-nox:the cutover figure
/usr/src/linux-source-6.1.tar.xz:linux-source-6.1:the Linux guest's kernel (scripts/build-linux.sh)
bc:bc:the kernel build
flex:flex:the kernel build (Kconfig, dtc)
bison:bison:the kernel build (Kconfig)
/usr/include/libelf.h:libelf-dev:the kernel build (objtool)
xz:xz-utils:unpacking linux-source-6.1
readelf:build-essential:checking the Linux guest's /init is static
"

# The Debian sources fetched, and the versions this tree is built and measured against.
LWIP_VERSION=2.1.3
IPSEC_MB_VERSION=1.3.0
# BearSSL: X25519 only (crypto/x25519.c); its source has no version macro, so the upstream
# part of the Debian version in its changelog is checked (Debian 12: 0.6+dfsg.1-3).
BEARSSL_VERSION=0.6

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# --check: every program and file the build and tests use is there, from a package setup
# installs, and every package setup installs is used. Installs nothing.
check() {
  local bad=0 n=0 path pkg why listed
  while IFS=: read -r path pkg why; do
    [ -n "$path" ] || continue
    n=$((n + 1))
    case " $PKGS " in *" $pkg "*) ;; *) say "check: $path comes from $pkg, which setup does not install"; bad=1 ;; esac
    if [ "${path#/}" != "$path" ]; then
      [ -e "$path" ] || { say "check: missing $path (package $pkg: $why)"; bad=1; }
    else
      # (system programs such as nft live in sbin, which a user's PATH may lack)
      command -v "$path" >/dev/null 2>&1 || [ -x "/usr/sbin/$path" ] || [ -x "/sbin/$path" ] ||
        { say "check: missing program $path (package $pkg: $why)"; bad=1; }
    fi
  done <<EOF2
$USES
EOF2
  for pkg in $PKGS; do
    listed=$(printf '%s\n' "$USES" | awk -F: -v p="$pkg" '$2 == p { print; exit }')
    [ -n "$listed" ] || { say "check: setup installs $pkg but nothing uses it"; bad=1; }
  done
  [ $bad = 0 ] || { say "check: FAILED (run ./scripts/setup.sh)"; return 1; }
  say "check: $n programs and files present, each from one of the $(echo $PKGS | wc -w) packages setup installs, each package used"
}

# The fetched sources must be the versions this tree was built and measured against.
check_versions() {
  local h v
  h="$tp/lwip/src/include/lwip/init.h"
  # (lwIP's headers have CRLF line ends)
  v=$(tr -d '\r' <"$h" 2>/dev/null | awk '/define LWIP_VERSION_(MAJOR|MINOR|REVISION)[ \t]/ { printf "%s%s", sep, $3; sep="." }')
  [ "$v" = "$LWIP_VERSION" ] || die "third_party/lwip is lwIP ${v:-unknown}, this tree needs $LWIP_VERSION (Debian $SUPPORTED_DEBIAN's); remove third_party/ and rerun on a supported release"
  h="$tp/ipsec-mb/lib/intel-ipsec-mb.h"
  v=$(tr -d '\r' <"$h" 2>/dev/null | sed -n 's/^#define IMB_VERSION_STR "\(.*\)"/\1/p')
  [ "$v" = "$IPSEC_MB_VERSION" ] || die "third_party/ipsec-mb is ${v:-unknown}, this tree needs $IPSEC_MB_VERSION (Debian $SUPPORTED_DEBIAN's); remove third_party/ and rerun on a supported release"
  h="$tp/bearssl/debian/changelog"
  v=$(sed -n '1s/^bearssl (\([^)+~-]*\).*/\1/p' "$h" 2>/dev/null)
  [ "$v" = "$BEARSSL_VERSION" ] ||
    die "third_party/bearssl is BearSSL ${v:-unknown}, this tree needs $BEARSSL_VERSION (Debian $SUPPORTED_DEBIAN's); remove third_party/ and rerun on a supported release"
}

if [ "${1:-}" = "--check" ]; then
  check
  exit $?
fi

release=$(. /etc/os-release 2>/dev/null && echo "${ID:-?} ${VERSION_ID:-?}")
[ "$release" = "debian $SUPPORTED_DEBIAN" ] || say "warning: supported is Debian $SUPPORTED_DEBIAN (bookworm); this is ${release}: going on"

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot install packages"
  sudo_cmd="sudo"
fi

if [ -f "$stamp" ] && [ -z "${SETUP_FORCE:-}" ]; then
  missing=""
  for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -z "$missing" ] && [ -d "$tp/lwip" ] && [ -d "$tp/ipsec-mb" ] && [ -d "$tp/bearssl" ]; then
    check_versions
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
fetch_src bearssl bearssl
check_versions
check || die "installed packages do not provide what the build uses"
touch "$stamp"
say "done"
