#!/bin/sh
# Checks that wset_window (guest/wset_window.S) stores to memory only through
# its one target store between its two VMCALLs. Usage: check_window.sh OBJDUMP ELF
set -e
"$1" -d --no-show-raw-insn "$2" | awk '
/^[0-9a-f]+ <wset_window>:/ { inside = 1; next }
inside && /^$/ { inside = 0 }
!inside { next }
{
	line = $0; sub(/^[ \t]*[0-9a-f]+:[ \t]*/, "", line)
	if (line ~ /^vmcall/) { vmcalls++; next }
	if (vmcalls != 1) next
	n = split(line, f, /[ \t]+/); op = f[1]; args = f[2]
	# Parenthesised address parts become M, so the last operand is the destination.
	gsub(/\([^)]*\)/, "M", args)
	dst = args; sub(/.*,/, "", dst)
	if (op ~ /^(push|call|stos|movs|enter|int)/ || (dst ~ /M/ && op !~ /^(cmp|test)/)) {
		stores++; print "  store in window: " line
		if (!(op ~ /^mov/ && line ~ /^mov[l]?[ \t]+%e[a-z][a-z],0x8\(%e[a-z][a-z]\)$/)) bad++
	}
}
END {
	if (vmcalls != 2) { print "check_window: expected 2 vmcalls in wset_window, found " vmcalls + 0; exit 1 }
	if (stores != 1 || bad) { print "check_window: window must hold exactly one store, mov %reg,0x8(%reg)"; exit 1 }
	print "check_window: ok (2 vmcalls, one target store between them)"
}'
