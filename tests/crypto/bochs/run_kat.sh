#!/bin/sh
# Boots the crypto known-answer kernel under Bochs with a given CPU model and checks
# its COM1 report. Usage: run_kat.sh ISO OUTDIR CPU_MODEL [TIMEOUT_S]
set -u
iso=$1 out=$2 model=$3 limit=${4:-600}
mkdir -p "$out"
serial="$out/serial-$model.txt"
rm -f "$serial"
# Debian's Bochs 2.7 has no "nogui" display and a built-in debugger that stops at t=0
# (see tools/bochs.py): RFB display with timeout=0, and an rc file that continues.
cat > "$out/bochsrc-$model" <<EOT
megs: 256
cpu: model=$model, count=1, ips=100000000, reset_on_triple_fault=0
clock: sync=none, time0=local
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$iso, status=inserted
boot: cdrom
floppy_bootsig_check: disabled=1
com1: enabled=1, mode=file, dev=$serial
display_library: rfb, options="timeout=0"
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
speaker: enabled=0
mouse: enabled=0
magic_break: enabled=1
log: $out/bochs-$model.log
panic: action=fatal
error: action=report
info: action=ignore
EOT
printf 'continue\nquit\n' > "$out/bochs-rc"
timeout "$limit" bochs -q -f "$out/bochsrc-$model" -rc "$out/bochs-rc" </dev/null >/dev/null 2>&1
cat "$serial" 2>/dev/null | tr -d "\r"; echo
grep -q "KAT RESULT PASS" "$serial" 2>/dev/null
