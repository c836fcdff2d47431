"""Parsers for the lines the hypervisor, its test guest and tools/migsim print.

- parse_kv("a=1 b=x"): the `key=value` words of a line as a dict of strings
  (MIGSTAT, MIGGUARD, MIGSIM lines, the .times header).
- HB_RE: the test guest's heartbeat on a console, `[vmN] HB vm=G seq=S t_us=T
  writes=W sum=XXXXXXXX` (guest/work.c); groups: 1 console label N, 2 guest id
  G, 3 seq, 4 t_us, 5 writes, 6 sum. heartbeats() picks them out of lines.
- GUEST_START_RE: the guest's `GUEST start ... pages=P` line (data pages).
- MIGSTAT_RE / migstat(): the hypervisor's `[hv] MIGSTAT key=value ...` line;
  MIG_*_RE: its `[hv] migrate: ...` progress lines (docs/migration.md).
- Timestamped line logs (.times, written by console.Console(times_path=...)):
  TIMES_HEADER, times_header(), read_times().
"""

import platform
import re
import time

__all__ = [
    "parse_kv",
    "HB_RE",
    "GUEST_START_RE",
    "MIGSTAT_RE",
    "MIG_LINE_RE",
    "MIG_SRC_START_RE",
    "MIG_SRC_END_RE",
    "MIG_SRC_EARLY_END_RE",
    "MIG_DST_NEW_RE",
    "MIG_DST_END_RE",
    "migstat",
    "heartbeats",
    "TIMES_HEADER",
    "times_header",
    "read_times",
]

HB_RE = re.compile(r"^\[vm(\d+)\] HB vm=(\d+) seq=(\d+) t_us=(\d+) writes=(\d+) sum=([0-9a-f]{8})")
GUEST_START_RE = re.compile(r"^\[vm(\d+)\] GUEST start vm=(\d+) mode=work mem=\d+KiB pages=(\d+)")
MIGSTAT_RE = re.compile(r"^\[hv\] (MIGSTAT .*)$")
MIG_LINE_RE = re.compile(r"^\[hv\] migrate: ")
MIG_SRC_START_RE = re.compile(r"^\[hv\] migrate: vm (\d+) to (\S+): connecting")
MIG_SRC_END_RE = re.compile(r"^\[hv\] migrate: source (done|FAILED)\b(.*)$")
# a migration that ends before the engine runs (no MIGSTAT, no `source FAILED` line)
MIG_SRC_EARLY_END_RE = re.compile(
    r"^\[hv\] migrate: vm (\d+): (connection to the peer failed|engine set-up failed)"
)
MIG_DST_NEW_RE = re.compile(r"^\[hv\] migrate: incoming guest of .* becomes vm (\d+)")
MIG_DST_END_RE = re.compile(r"^\[hv\] migrate: destination (done|FAILED)\b(.*)$")


def parse_kv(text):
    """Parse `key=value` words of a line into a dict (values as strings)."""
    out = {}
    for w in text.split():
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v
    return out


def migstat(line, role=None):
    """The key=value dict of an `[hv] MIGSTAT ...` line (None for other lines,
    or when role is given and the line's role= differs)."""
    m = MIGSTAT_RE.match(line)
    if not m:
        return None
    kv = parse_kv(m.group(1))
    if role is not None and kv.get("role") != role:
        return None
    return kv


def heartbeats(lines, label=None, guest=None):
    """HB_RE matches among lines, optionally only of one `[vmN]` label or guest id."""
    out = []
    for line in lines:
        m = HB_RE.match(line)
        if m and (label is None or m.group(1) == str(label)) and (guest is None or m.group(2) == str(guest)):
            out.append(m)
    return out


TIMES_HEADER = "# hvconsole times v1"


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def times_header(target=""):
    """Header of a timestamped line log: which clock the numbers are on.
    Two logs' times can be compared only if clock and boot_id are equal
    (CLOCK_MONOTONIC of the same running kernel)."""
    return "%s clock=CLOCK_MONOTONIC boot_id=%s host=%s target=%s\n# at_open monotonic=%.6f wall_utc=%s\n" % (
        TIMES_HEADER,
        _boot_id(),
        platform.node() or "unknown",
        str(target).replace(" ", "_") or "-",
        time.monotonic(),
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


def read_times(path):
    """Read a timestamped line log: (header, [(host_time_s, text), ...]).
    header is the key=value dict of the last TIMES_HEADER line (a log
    appended to by several sessions has one per session); text is as the
    console cleaned it (prompts included)."""
    header, entries = {}, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                if line.startswith(TIMES_HEADER):
                    header = parse_kv(line[len(TIMES_HEADER) :])
                continue
            t, sep, text = line.partition("\t")
            if not sep:
                continue
            try:
                entries.append((float(t), text))
            except ValueError:
                continue
    return header, entries
