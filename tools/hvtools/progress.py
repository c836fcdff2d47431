"""A migration as a stream of events, and the ways hvctl shows it.

MigrationEvents turns the source console's lines (docs/console.md, "Migration event
lines"; docs/migration.md section 7) into events, the objects `hvctl --json migrate ID
PEER` prints one per line (their fields, sources and units: docs/console.md, "Machine-
readable output: hvctl --json"). Field names follow QEMU's query-migrate where one
exists (status, total-time, setup-time, downtime, expected-downtime, ram.*); the
hypervisor's own numbers are under "hv".

    ev = MigrationEvents(vm=1, command="migrate 1 lab-b", total_pages=1024)
    for t, line in lines:            # cleaned console lines, t: host seconds or None
        for e in ev.feed(line, t):
            ...                       # progress, round, state, throttle, parameter, log
        if ev.ended: break
    final = ev.result()              # the final object: status, times, ram, hv (MIGSTAT)

Events: "progress" (each `[hv] migrate: vm N round R: ...` line), "round" (each
`[hv] MIGROUND`), "state" (the progress lines' state word changed), "throttle",
"parameter" (`migrate set` during the migration), "log" (any other `[hv] migrate:` line
of this migration), and at the end "result".

The sinks show them: JsonSink (one JSON object per line), TtySink (one line kept up to
date in place with CR and clear-to-end-of-line, for a terminal), PlainSink (one plain
line per event, no CR and no escape codes, for a pipe or a log). sink_for(out, json)
picks one.
"""

import re
import shutil
import sys

from .jsonout import dumps
from .lines import (
    MIG_IN_DOUBT_RE,
    MIG_LINE_RE,
    MIG_PROGRESS_RE,
    MIG_SET_RE,
    MIG_SRC_EARLY_END_RE,
    MIG_SRC_END_RE,
    MIG_SRC_START_RE,
    MIG_THROTTLE_RE,
    MIGSTAT_RE,
    miground,
    migstat_typed,
    typed,
)

__all__ = [
    "PAGE_SIZE",
    "STATUS_OF_STATE",
    "status_of",
    "MigrationEvents",
    "JsonSink",
    "TtySink",
    "PlainSink",
    "sink_for",
    "progress_text",
    "compact_text",
]

PAGE_SIZE = 4096

# The source engine's states (hv/migrate/engine_source.c) as QEMU's MigrationStatus.
STATUS_OF_STATE = {
    "connecting": "setup",
    "init": "setup",
    "handshake": "setup",
    "announce": "setup",
    "wait-accept": "setup",
    "precopy": "active",
    "round-end": "active",
    "stop": "device",
    "final": "device",
    "state": "device",
    "wait-ready": "device",
    "commit": "device",
    "wait-confirm": "device",
    "scrub": "completed",
    "done": "completed",
    "failed": "failed",
    "in-doubt": "failed",
}


def status_of(state):
    return STATUS_OF_STATE.get(state, "active")


def _mbps(bytes_per_s):
    """QEMU's ram.mbps: megabits per second."""
    return round(bytes_per_s * 8 / 1e6, 3)


class MigrationEvents:
    """The event parser of one outgoing migration (see the module's doc).

    vm: the migrating VM's id (lines of other VMs are ignored); command: the console
    command (in every event); total_pages, target_ms: the guest's size in pages and
    the downtime target when known before the first MIGROUND (hvctl reads them from
    `vm list` and `migrate status`); t0: host seconds when the command was sent
    (total-time of progress events before the first round ends; None: left out)."""

    def __init__(self, vm, command=None, total_pages=None, t0=None, target_ms=None):
        self.vm = int(vm)
        self.command = command
        self.t0 = t0
        self.total_pages = total_pages
        self.target_ms = target_ms
        self.state = None
        self.round = 0
        self.round_start_pages = total_pages  # pages to send in the current round
        self.pages_left = None
        self.sent_bytes = 0  # MIGROUND sent_bytes of the last round ended
        self.zero = 0  # sums over the MIGROUND lines seen
        self.pages = 0
        self.rounds = []  # the MIGROUND dicts
        self.mig_id = None
        self.throttle_pct = 0
        self.last_progress = None
        self.migstat = None  # typed MIGSTAT of this migration (role=src)
        self.migstat_line = None
        self.end_line = None  # `[hv] migrate: source done|FAILED ...`
        self.early_end = None  # `[hv] migrate: vm N: connection to the peer failed ...`
        self.in_doubt = False
        self.t_last = None
        self.anchor = None  # (MIGROUND elapsed_ms, host time of its line)

    # ---- state ---------------------------------------------------------------------
    @property
    def ended(self):
        """The source's end line (or an early end) was seen."""
        return self.end_line is not None or self.early_end is not None

    @property
    def succeeded(self):
        return self.end_line is not None and MIG_SRC_END_RE.match(self.end_line).group(1) == "done"

    def _base(self, event):
        e = {"event": event, "vm": self.vm}
        if self.command:
            e["command"] = self.command
        return e

    def _elapsed_ms(self, t):
        """total-time of a progress or state event at host time t: the hypervisor's
        elapsed_ms of the last round event plus the host time since its line came
        (before the first round: the host time since the command), so that it goes on
        from the round events' numbers. None without host times."""
        if t is None:
            return None
        if self.anchor is not None:
            return self.anchor[0] + int(round((t - self.anchor[1]) * 1000))
        if self.t0 is None:
            return None
        return int(round((t - self.t0) * 1000))

    # ---- lines ---------------------------------------------------------------------
    def feed(self, line, t=None):
        """Events for one cleaned console line (prompts stripped or not)."""
        while line.startswith("hv> "):
            line = line[4:]
        if t is not None:
            self.t_last = t
        m = MIG_PROGRESS_RE.match(line)
        if m and int(m.group("vm")) == self.vm:
            return self._progress(m, line, t)
        r = miground(line)
        if r is not None and r.get("role") == "src" and r.get("vm") == self.vm:
            return self._round(r, line)
        m = MIGSTAT_RE.match(line)
        if m:
            st = migstat_typed(m.group(1))
            if st.get("role") == "src" and not self.ended and (self.mig_id in (None, st.get("id"))):
                self.migstat, self.migstat_line = st, m.group(1)
            return []
        if not MIG_LINE_RE.match(line):
            return []
        m = MIG_SRC_END_RE.match(line)
        if m:
            if self.ended:
                return []
            self.end_line = line
            return [dict(self._base("log"), line=line)]
        m = MIG_SRC_EARLY_END_RE.match(line)
        if m and int(m.group(1)) == self.vm:
            if not self.ended:
                self.early_end = line
            return [dict(self._base("log"), line=line)]
        m = MIG_THROTTLE_RE.match(line)
        if m and int(m.group(1)) == self.vm:
            self.throttle_pct = 100 - int(m.group(2))
            e = self._base("throttle")
            e.update({"cpu-throttle-percentage": self.throttle_pct, "hv": {"slices_pct": int(m.group(2))}})
            e["line"] = line
            return [e]
        m = MIG_SET_RE.match(line)
        if m and int(m.group(1)) == self.vm:
            if m.group(2) == "downtime_ms" and m.group(3).isdigit():
                self.target_ms = int(m.group(3))
            e = self._base("parameter")
            e.update({"parameter": m.group(2), "value": typed(m.group(3)), "line": line})
            return [e]
        m = MIG_IN_DOUBT_RE.match(line)
        if m and int(m.group(1)) == self.vm:
            self.in_doubt = True
        m = MIG_SRC_START_RE.match(line)
        if m and int(m.group(1)) != self.vm:
            return []
        if ("incoming" not in line and re.search(r"\bvm %d\b" % self.vm, line)) or line.startswith(
            "[hv] migrate: test: "
        ):
            return [dict(self._base("log"), line=line)]
        return []

    def _progress(self, m, line, t):
        g = {k: (v if k == "state" else int(v)) for k, v in m.groupdict().items()}
        out = []
        rnd, state, left = g["round"], g["state"], g["pages_left"]
        if rnd != self.round:
            # a new round: it sends what the last one left dirty
            self.round = rnd
            if self.rounds and self.rounds[-1]["round"] == rnd - 1:
                self.round_start_pages = self.rounds[-1].get("remaining_pages")
            else:
                self.round_start_pages = None
        if state != self.state:
            e = self._base("state")
            e.update(
                {
                    "from": self.state,
                    "to": state,
                    "status": status_of(state),
                    "previous-status": status_of(self.state) if self.state else None,
                    "round": rnd,
                }
            )
            el = self._elapsed_ms(t)
            if el is not None:
                e["total-time"] = el
            out.append(e)
            self.state = state
        self.pages_left = left
        started = status_of(state) != "setup"
        done_in_round = None
        if started and self.round_start_pages is not None:
            done_in_round = max(0, self.round_start_pages - left)
        # the bytes a page took so far (zero pages go as markers), a whole page before
        # the first round's end
        per_page = self.sent_bytes / self.pages if self.pages else PAGE_SIZE
        estimate = self.sent_bytes + int(round((done_in_round or 0) * per_page))
        total = self.total_pages * PAGE_SIZE if self.total_pages else None
        e = self._base("progress")
        e.update(
            {
                "round": rnd,
                "state": state,
                "status": status_of(state),
                "total-time": self._elapsed_ms(t),
                "expected-downtime": g["predicted_ms"],
                "downtime-limit": self.target_ms,
                "cpu-throttle-percentage": self.throttle_pct,
                "ram": {
                    "transferred": self.sent_bytes,
                    "remaining": left * PAGE_SIZE if started else None,
                    "total": total,
                    "dirty-pages-rate": g["dirty_pps"],
                    "mbps": _mbps(g["bandwidth_kib_s"] * 1024),
                    "dirty-sync-count": rnd,
                    "page-size": PAGE_SIZE,
                },
                "hv": {
                    "pages_left": left,
                    "dirty_pps": g["dirty_pps"],
                    "bandwidth_kib_s": g["bandwidth_kib_s"],
                    "predicted_ms": g["predicted_ms"],
                    "rtt_ms": g["rtt_ms"],
                    "queued_kib": g["queued_kib"],
                    "round_pages_sent": done_in_round,
                    "transferred_estimate": estimate,
                    "percent": self._percent(left, started),
                },
                "line": line,
            }
        )
        self.last_progress = e
        out.append(e)
        return out

    def _percent(self, left, started):
        """Of the guest's pages, those not left to send (QEMU's (total - remaining) /
        total, as `virsh migrate --verbose` shows): 0 before pre-copy starts, None
        while the guest's size is unknown."""
        if not started:
            return 0.0
        if not self.total_pages:
            return None
        return round(100.0 * max(0, self.total_pages - left) / self.total_pages, 1)

    def _round(self, r, line):
        self.rounds.append(r)
        self.mig_id = r.get("id", self.mig_id)
        self.sent_bytes = r.get("sent_bytes", self.sent_bytes)
        self.zero += r.get("zero", 0)
        self.pages += r.get("pages", 0)
        if r.get("total_pages"):
            self.total_pages = r["total_pages"]
        if "target_ms" in r:
            self.target_ms = r["target_ms"]
        self.throttle_pct = r.get("throttle_pct", self.throttle_pct)
        if self.t_last is not None and isinstance(r.get("elapsed_ms"), int):
            self.anchor = (r["elapsed_ms"], self.t_last)
        e = self._base("round")
        e.update(
            {
                "round": r.get("round"),
                "status": "active",
                "total-time": r.get("elapsed_ms"),
                "expected-downtime": r.get("predicted_ms"),
                "downtime-limit": r.get("target_ms"),
                "cpu-throttle-percentage": r.get("throttle_pct"),
                "ram": {
                    "transferred": r.get("sent_bytes"),
                    "remaining": r.get("remaining_pages", 0) * PAGE_SIZE,
                    "total": r.get("total_pages", 0) * PAGE_SIZE,
                    "duplicate": self.zero,
                    "normal": self.pages - self.zero,
                    "normal-bytes": (self.pages - self.zero) * PAGE_SIZE,
                    "dirty-pages-rate": r.get("dirty_pps"),
                    "mbps": _mbps(r.get("bw_Bps", 0)),
                    "dirty-sync-count": r.get("round", 0) + 1,
                    "page-size": PAGE_SIZE,
                },
                "hv": r,
                "line": line,
            }
        )
        return [e]

    # ---- the end -------------------------------------------------------------------
    def result(self, error=None):
        """The final object: the whole statistics from the source's MIGSTAT (and what
        the last lines said). error: hvctl's own reason when it stopped following
        before the end (a timeout, a lost connection)."""
        e = self._base("result")
        st = self.migstat
        if st is not None:
            res = st.get("result")
            status = "completed" if res == "done" else "cancelled" if res == "cancelled" else "failed"
        elif self.succeeded:
            status = "completed"
        elif self.ended:
            status = "failed"
        else:
            status = status_of(self.state) if self.state else "setup"
        e["status"] = status
        if st is not None:
            rounds = st.get("round_bytes") or []
            pre = sum(rounds)
            setup = None
            if self.rounds and self.rounds[0].get("round") == 0:
                setup = self.rounds[0].get("elapsed_ms", 0) - self.rounds[0].get("round_ms", 0)
            total = self.total_pages * PAGE_SIZE if self.total_pages else None
            e.update(
                {
                    "total-time": st.get("total_ms"),
                    "setup-time": setup,
                    "downtime": st.get("downtime_ms") if res == "done" else None,
                    "expected-downtime": st.get("predicted_ms"),
                    "downtime-limit": st.get("target_ms"),
                    "cpu-throttle-percentage": st.get("throttle_pct"),
                    "ram": {
                        "transferred": st.get("bytes"),
                        "remaining": (
                            0
                            if res == "done"
                            else (
                                self.pages_left * PAGE_SIZE
                                if self.pages_left is not None and self.state != "handshake"
                                else None
                            )
                        ),
                        "total": total,
                        "duplicate": st.get("zero"),
                        "normal": st.get("pages", 0) - st.get("zero", 0),
                        "normal-bytes": (st.get("pages", 0) - st.get("zero", 0)) * PAGE_SIZE,
                        "dirty-pages-rate": st.get("dirty_pps"),
                        "mbps": _mbps(st.get("bw_Bps", 0)),
                        "dirty-sync-count": st.get("rounds"),
                        "page-size": PAGE_SIZE,
                        "precopy-bytes": pre,
                        "downtime-bytes": st.get("bytes", 0) - pre,
                    },
                }
            )
        if status != "completed":
            desc = None
            if self.end_line:
                desc = self.end_line.split("FAILED: ", 1)[-1]
            elif self.early_end:
                desc = self.early_end.split(": ", 2)[-1]
            elif error:
                desc = error
            e["error-desc"] = desc
        hv = dict(st) if st is not None else {}
        hv["in_doubt"] = self.in_doubt
        e["hv"] = hv
        e["migstat"] = ("[hv] " + self.migstat_line) if self.migstat_line else None
        e["summary"] = self.end_line or self.early_end
        e["destination"] = None  # hvctl reads the source's console only
        if error:
            e["error"] = error
        return e


# ---- showing it ----------------------------------------------------------------------
def _mib(b):
    return b / (1 << 20)


def _numbers(e):
    """(sent bytes, percent or None, bandwidth KiB/s, dirty pages/s) of a progress or
    round event."""
    ram, hv = e.get("ram", {}), e.get("hv", {})
    if e["event"] == "round":
        pct = None
        if ram.get("total"):
            pct = 100.0 * (ram["total"] - ram.get("remaining", 0)) / ram["total"]
        return ram.get("transferred") or 0, pct, (hv.get("bw_Bps") or 0) / 1024, hv.get("dirty_pps")
    return (
        hv.get("transferred_estimate") or 0,
        hv.get("percent"),
        hv.get("bandwidth_kib_s"),
        hv.get("dirty_pps"),
    )


def _estimated(e):
    """`~` where the bytes shown include pages of the round under way (an estimate)."""
    return "~" if e["event"] == "progress" and (e.get("hv", {}).get("round_pages_sent") or 0) > 0 else ""


def progress_text(e):
    """The human line of a progress or round event: round, MiB sent / MiB of the
    guest and the percentage copied, bandwidth, dirty rate, predicted / target
    downtime, elapsed time. MiB sent is exact at round ends; between them it is
    marked `~`: the last round end's count plus this round's pages sent so far at
    the bytes a page took until then (a whole page in round 0, whose zero pages go
    as small markers: the count can drop back when the round ends)."""
    ram = e.get("ram", {})
    sent, pct, bw, dirty = _numbers(e)
    if e["event"] == "round":
        parts = ["round %s done" % e.get("round")]
    else:
        parts = ["round %s %s" % (e.get("round"), e.get("state"))]
    if ram.get("total"):
        parts.append(
            "%s%.2f MiB sent / %.2f MiB guest%s"
            % (_estimated(e), _mib(sent), _mib(ram["total"]), (", %.0f%%" % pct) if pct is not None else "")
        )
    else:
        parts.append("%s%.2f MiB sent" % (_estimated(e), _mib(sent)))
    parts.append("%.0f KiB/s" % (bw or 0))
    parts.append("dirty %s pages/s" % (dirty if dirty is not None else "?"))
    lim = e.get("downtime-limit")
    parts.append(
        "downtime %s/%s ms (predicted/target)"
        % (e.get("expected-downtime", "?"), lim if lim is not None else "?")
    )
    if e.get("total-time") is not None:
        parts.append("%.1f s" % (e["total-time"] / 1000.0))
    return " | ".join(parts)


def compact_text(e):
    """progress_text in at most ~75 columns (an 80-column terminal's status line):
    `r3 precopy ~4.67/4.00 MiB 99% 430 KiB/s dirty 41/s down 798/300 ms 11.8 s`."""
    ram = e.get("ram", {})
    sent, pct, bw, dirty = _numbers(e)
    lim = e.get("downtime-limit")
    text = "r%s %s %s%.2f/%s MiB%s %.0f KiB/s dirty %s/s down %s/%s ms" % (
        e.get("round"),
        e.get("state") or "done",
        _estimated(e),
        _mib(sent),
        ("%.2f" % _mib(ram["total"])) if ram.get("total") else "?",
        (" %.0f%%" % pct) if pct is not None else "",
        bw or 0,
        dirty if dirty is not None else "?",
        e.get("expected-downtime", "?"),
        lim if lim is not None else "?",
    )
    if e.get("total-time") is not None:
        text += " %.1f s" % (e["total-time"] / 1000.0)
    return text


class JsonSink:
    """Every event as one JSON object per line."""

    def __init__(self, out):
        self.out = out

    def event(self, e):
        self.out.write(dumps(e) + "\n")
        self.out.flush()

    def message(self, text):
        pass  # JSON mode: only JSON on stdout

    def close(self):
        pass


class PlainSink:
    """One plain line per event: the console's own line for progress, throttle,
    parameter and log events (what hvctl always printed), a line of its own for a
    round's end and a state change. No CR, no escape codes."""

    def __init__(self, out):
        self.out = out

    def event(self, e):
        ev = e["event"]
        if ev in ("progress", "throttle", "parameter", "log"):
            text = e["line"]
        elif ev == "round":
            text = "hvctl: " + progress_text(e)
        elif ev == "state":
            text = "hvctl: state %s -> %s (%s)" % (e["from"] or "-", e["to"], e["status"])
        else:
            return
        self.out.write(text + "\n")
        self.out.flush()

    def message(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def close(self):
        pass


class TtySink:
    """One status line updated in place (CR, the text, ESC [K: clear to the end of
    the line): progress_text, or compact_text where that does not fit, cut to the
    terminal's width less one column so that it never wraps; events worth
    keeping (state changes, throttling, parameters, round ends, other lines) are
    printed above it as lines of their own."""

    CLEAR = "\r\x1b[K"

    def __init__(self, out, width=None):
        self.out = out
        self.width = width
        self.status = ""

    def _cols(self):
        if self.width:
            return self.width
        try:
            return shutil.get_terminal_size((100, 24)).columns
        except (OSError, ValueError):
            return 100

    def _draw(self):
        text = self.status[: max(10, self._cols() - 1)]
        self.out.write(self.CLEAR + text)
        self.out.flush()

    def _above(self, text):
        self.out.write(self.CLEAR + text + "\n")
        if self.status:
            self._draw()
        else:
            self.out.flush()

    def event(self, e):
        ev = e["event"]
        if ev == "progress":
            self.status = "vm %s: %s" % (e["vm"], progress_text(e))
            if len(self.status) > self._cols() - 1:
                self.status = compact_text(e)
            self._draw()
        elif ev == "round":
            self._above("vm %s: %s" % (e["vm"], progress_text(e)))
        elif ev == "state":
            self._above("vm %s: state %s -> %s (%s)" % (e["vm"], e["from"] or "-", e["to"], e["status"]))
        elif ev in ("throttle", "parameter", "log"):
            self._above(e["line"])

    def message(self, text):
        self._above(text)

    def close(self):
        """Ends the status line (it stays on the screen, with the last numbers)."""
        if self.status:
            self.out.write("\n")
            self.out.flush()
            self.status = ""


def sink_for(out=None, json_mode=False):
    out = out or sys.stdout
    if json_mode:
        return JsonSink(out)
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    return TtySink(out) if tty else PlainSink(out)
