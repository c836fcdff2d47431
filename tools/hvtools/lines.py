"""Parsers for the lines the hypervisor, its test guest and tools/migsim print.

- parse_kv("a=1 b=x"): the `key=value` words of a line as a dict of strings
  (MIGSTAT, MIGGUARD, MIGSIM lines, the .times header).
- parse_kv_typed("a=1 t=300 ms b=x"): the same with numbers as int (or float) and a
  unit word after a value folded into the key ({"a": 1, "t_ms": 300, "b": "x"});
  typed() converts one value. The machine form of replies and events (hvctl --json).
- HB_RE: the test guest's heartbeat on a console, `[vmN] HB vm=G seq=S t_us=T
  writes=W sum=XXXXXXXX` (guest/work.c); groups: 1 console label N, 2 guest id
  G, 3 seq, 4 t_us, 5 writes, 6 sum. heartbeats() picks them out of lines.
- GUEST_START_RE: the guest's `GUEST start ... pages=P` line (data pages).
- MIGSTAT_RE / migstat(): the hypervisor's `[hv] MIGSTAT key=value ...` line;
  migstat_typed(): its typed dict (per-round lists as lists); MIGROUND_RE /
  miground(): the source's `[hv] MIGROUND ...` line per pre-copy round;
  MIG_*_RE: its `[hv] migrate: ...` progress lines (docs/migration.md, docs/console.md).
- Timestamped line logs (.times, written by console.Console(times_path=...)):
  TIMES_HEADER, times_header(), read_times().
"""

import platform
import re
import time

__all__ = [
    "parse_kv",
    "parse_kv_typed",
    "typed",
    "HB_RE",
    "GUEST_START_RE",
    "MIGSTAT_RE",
    "MIG_LINE_RE",
    "MIG_SRC_START_RE",
    "MIG_SRC_END_RE",
    "MIG_SRC_EARLY_END_RE",
    "MIG_DST_NEW_RE",
    "MIG_DST_END_RE",
    "MIGROUND_RE",
    "MIG_PROGRESS_RE",
    "MIG_THROTTLE_RE",
    "MIG_SET_RE",
    "MIG_IN_DOUBT_RE",
    "migstat",
    "migstat_typed",
    "miground",
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
MIGROUND_RE = re.compile(r"^\[hv\] (MIGROUND .*)$")
# `[hv] migrate: vm N round R: P pages left, dirty D pages/s, bandwidth B KiB/s, predicted
# downtime X ms, rtt Y ms, queued Q KiB, state S` (hv/core/mig_session.c, each round and
# at most once a second): groups vm, round, pages_left, dirty_pps, bandwidth_kib_s,
# predicted_ms, rtt_ms, queued_kib, state
MIG_PROGRESS_RE = re.compile(
    r"^\[hv\] migrate: vm (?P<vm>\d+) round (?P<round>\d+): (?P<pages_left>\d+) pages left, "
    r"dirty (?P<dirty_pps>\d+) pages/s, bandwidth (?P<bandwidth_kib_s>\d+) KiB/s, "
    r"predicted downtime (?P<predicted_ms>\d+) ms, rtt (?P<rtt_ms>\d+) ms, "
    r"queued (?P<queued_kib>\d+) KiB, state (?P<state>[\w-]+)"
)
MIG_THROTTLE_RE = re.compile(r"^\[hv\] migrate: vm (\d+) throttled to (\d+)% of its time slices")
MIG_SET_RE = re.compile(r"^\[hv\] migrate: vm (\d+): (\w+) set to (\S+) during the migration")
MIG_IN_DOUBT_RE = re.compile(r"^\[hv\] migrate: vm (\d+) is IN DOUBT\b")

# A unit word after `key=N` belongs to the value: `downtime_target=300 ms` is
# downtime_target_ms=300 (`migrate status`).
UNIT_SUFFIX = {"ms": "_ms", "us": "_us", "KiB": "_kib", "KiB/s": "_kib_s", "kHz": "_khz", "MiB": "_mib"}
_INT_RE = re.compile(r"^-?\d+$")
_FLOAT_RE = re.compile(r"^-?\d+\.\d+$")
_UNIT_VALUE_RE = re.compile(r"^(\d+)(KiB|MiB|ms|us|kHz)$")


def parse_kv(text):
    """Parse `key=value` words of a line into a dict (values as strings)."""
    out = {}
    for w in text.split():
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v
    return out


def typed(value):
    """A console value as JSON would have it: "42" -> 42, "-7" -> -7, "0.5" -> 0.5;
    anything else stays a string."""
    if _INT_RE.match(value):
        return int(value)
    if _FLOAT_RE.match(value):
        return float(value)
    return value


def parse_kv_typed(text, strings=("id", "mac", "ip")):
    """parse_kv with typed values: numbers become int (float), `N UNIT` and `NUNIT`
    fold the unit into the key (`downtime_target=300 ms` -> downtime_target_ms=300,
    `mem=4096KiB` -> mem_kib=4096, `bw_cap=0 KiB/s` -> bw_cap_kib_s=0). Keys in
    strings keep their text (ids are hex and may look decimal; addresses).
    Words without `=` are left out."""
    out = {}
    words = text.split()
    for i, w in enumerate(words):
        if "=" not in w:
            continue
        k, v = w.split("=", 1)
        if k in strings:
            out[k] = v
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        m = _UNIT_VALUE_RE.match(v)
        if m:
            out[k + UNIT_SUFFIX[m.group(2)]] = int(m.group(1))
        elif _INT_RE.match(v) and nxt in UNIT_SUFFIX:
            out[k + UNIT_SUFFIX[nxt]] = int(v)
        else:
            out[k] = typed(v)
    return out


ROUND_LISTS = ("round_pages", "round_bytes", "round_zero", "round_dirtied", "round_ns")


def migstat_typed(text):
    """The typed dict of a MIGSTAT line (with or without `[hv] `, or `source: ` /
    `destination: ` of `migrate info`): numbers as int, `id` as its hex text,
    `fail_state=-` as None, the per-round lists (round_*) as lists of int ([] for
    `-`). None when text holds no MIGSTAT record."""
    i = text.find("MIGSTAT ")
    if i < 0:
        return None
    kv = parse_kv_typed(text[i + len("MIGSTAT ") :], strings=("id",) + ROUND_LISTS)
    for k in ROUND_LISTS:
        if k in kv:
            v = kv[k]
            kv[k] = [] if v in ("", "-") else [int(x) for x in v.split(",") if x]
    if kv.get("fail_state") == "-":
        kv["fail_state"] = None
    return kv


def miground(line):
    """The typed dict of an `[hv] MIGROUND ...` line (None for other lines)."""
    m = MIGROUND_RE.match(line)
    if not m:
        return None
    return parse_kv_typed(m.group(1)[len("MIGROUND ") :], strings=("id",))


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
