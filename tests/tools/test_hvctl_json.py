#!/usr/bin/env python3
"""Hosted test of `hvctl --json` (no emulator, a few seconds): recorded console output
of real hypervisors (tests/tools/fixtures/hvctl-json/) through the reply parsers, the
migration event parser and, end to end, tools/hvctl talking to a stand-in console
that answers with those recordings (tests/tools/fakehv.py).

  python3 tests/tools/test_hvctl_json.py [--tools DIR]

r. Replies (hvtools.jsonout.reply_object on each recorded reply): every object has
   event=reply, command, ok, lines (the reply's lines) and error when not ok, and
   the fields docs/console.md documents for status, vm list, vm stats, vm dirty,
   net status, net hold, migrate status, migrate info, help, migrate set (live),
   vm move and a refused migrate, with values equal to what the lines say (read
   here with plain regexes, not with hvtools).
e. Events (hvtools.progress.MigrationEvents on a recorded migration, 10 rounds, a
   live bandwidth change, throttling): one progress event per progress line, one
   round event per MIGROUND line, state changes handshake -> precopy -> stop, the
   throttle and parameter events, each with its line's numbers; the final object's
   numbers equal the MIGSTAT line's (QEMU names and "hv"); every event has the
   documented fields and survives a JSON round trip. A cancelled migration, a
   failed handshake, a refused state (peer-aborted) and a connection that fails
   before the engine runs end with the right status and error-desc; a destination's
   MIGSTAT (role=dst) that comes meanwhile is not taken for the migration's.
h. tools/hvctl --json against the stand-in: each recorded command prints exactly
   its parsed reply (one line, exit 0 or 1); `migrate 1 lab-b` prints the reply, the
   same events as e. and the final object (exit 0); the cancelled one exits 1; no
   console at all is one object with ok false (exit 2); Ctrl-C while following ends
   with a result object carrying the error and the status so far (exit 130).

--tools DIR runs another copy of tools/ (to show that the test fails on a broken one).
Prints PASS/FAIL lines and `N passed, N failed`; exit status 0 only if all passed.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

from kvref import typed_kv  # noqa: E402
from toolcheck import check, finish, hvctl_argv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(HERE, "fixtures", "hvctl-json")
KV = re.compile(r"(\w+)=(\S*)")
PROGRESS = re.compile(
    r"^\[hv\] migrate: vm (\d+) round (\d+): (\d+) pages left, dirty (\d+) pages/s, bandwidth (\d+) KiB/s, "
    r"predicted downtime (\d+) ms, rtt (\d+) ms, queued (\d+) KiB, state (\S+)$"
)

# the documented fields of each event (docs/console.md, "Machine-readable output")
EVENT_FIELDS = {
    "reply": {"event", "command", "ok", "lines"},
    "progress": {
        "event",
        "vm",
        "command",
        "round",
        "state",
        "status",
        "total-time",
        "expected-downtime",
        "downtime-limit",
        "cpu-throttle-percentage",
        "ram",
        "hv",
        "line",
    },
    "round": {
        "event",
        "vm",
        "command",
        "round",
        "status",
        "total-time",
        "expected-downtime",
        "downtime-limit",
        "cpu-throttle-percentage",
        "ram",
        "hv",
        "line",
    },
    "state": {"event", "vm", "command", "from", "to", "status", "previous-status", "round"},
    "throttle": {"event", "vm", "command", "cpu-throttle-percentage", "hv", "line"},
    "parameter": {"event", "vm", "command", "parameter", "value", "line"},
    "log": {"event", "vm", "command", "line"},
    "result": {"event", "vm", "command", "status", "hv", "migstat", "summary", "destination"},
}
RAM_PROGRESS = {
    "transferred",
    "remaining",
    "total",
    "dirty-pages-rate",
    "mbps",
    "dirty-sync-count",
    "page-size",
}
RAM_ROUND = RAM_PROGRESS | {"duplicate", "normal", "normal-bytes"}
RAM_RESULT = RAM_ROUND | {"precopy-bytes", "downtime-bytes"}
RESULT_DONE = {"total-time", "setup-time", "downtime", "expected-downtime", "downtime-limit", "ram"}


def guarded(name, fn, *a):
    """fn(*a); an exception is one FAIL (the parser broke on a recorded line), not a crash."""
    try:
        return fn(*a)
    except Exception as e:  # noqa: BLE001 - any error is a failure, with its reason
        check("%s ran to its end" % name, False, "%s: %s" % (type(e).__name__, e))
        return None


def ints(text):
    return {k: int(v) for k, v in KV.findall(text) if re.fullmatch(r"-?\d+", v)}


# ---- r: replies ------------------------------------------------------------------------
def replies(jo, recorded):
    objs = {}
    for cmd, ok, lines, final in recorded:
        o = jo.reply_object(cmd, ok, lines, final)
        objs.setdefault(cmd, []).append((o, lines, final))
    common = all(
        o["event"] == "reply"
        and o["command"] == cmd
        and o["ok"] is (final == "ok")
        and o["lines"] == lines
        and (("error" in o) == (final != "ok"))
        and (final == "ok" or o["error"] == final[len("error: ") :])
        and json.loads(jo.dumps(o)) == o
        for cmd, v in objs.items()
        for o, lines, final in v
    )
    check("r0 every reply object: event, command, ok, lines, error (when not ok), JSON", common)

    o, ln, _ = objs["status"][0]
    mem = re.findall(r"(\w+)=(\d+)KiB", next(x for x in ln if x.startswith("memory:")))
    check(
        "r1 status: cpu, vmx, dirty_tracking, memory, tsc_khz, boot, uptime_ms, missing",
        o["cpu"] == {"vendor": "GenuineIntel", "family": 6, "model": 85, "stepping": 4}
        and o["vmx"] == {"available": True}
        and o["dirty_tracking"] == "pml"
        and o["memory"] == {k + "_kib": int(v) for k, v in mem}
        and len(mem) == 2
        and o["tsc_khz"] == int(re.search(r"tsc: (\d+) kHz", "\n".join(ln)).group(1))
        and o["uptime_ms"] == int(re.search(r"uptime: (\d+) ms", "\n".join(ln)).group(1))
        and o["boot"] == "multiboot2"
        and o["missing"] == [],
        json.dumps(o),
    )
    good = True
    for o, ln, _ in objs["vm list"]:
        want = [
            dict(
                id=int(m.group(1)),
                state=m.group(2),
                mode=m.group(3),
                mem_kib=int(m.group(4)),
                exits=int(m.group(6)),
            )
            for m in (
                re.match(r"vm (\d+) state=(\S+) mode=(\S+) mem=(\d+)KiB track=(\S+) exits=(\d+)", x)
                for x in ln
            )
        ]
        got = [{k: v[k] for k in ("id", "state", "mode", "mem_kib", "exits")} for v in o["vms"]]
        good = good and got == want and all(v["track"] == "pml" for v in o["vms"])
    check("r2 vm list: one object per VM (id, state, mode, mem_kib, track, exits)", good, json.dumps(o))

    o, ln, _ = objs["vm stats 1"][0]
    ex = [x.split() for x in ln if x.startswith("exit ")]
    msr = [x.split() for x in ln if x.startswith("msr 0x")]
    check(
        "r3 vm stats: vm, exits, exit_reasons, interrupts, timer, msr_gp",
        o["vm"] == 1
        and o["exits"] == int(ln[0].split("=")[1])
        and [(e["reason"], e["name"], e["count"]) for e in o["exit_reasons"]]
        == [(int(a[1]), a[2], int(a[3])) for a in ex]
        and o["interrupts"] == ints(next(x for x in ln if x.startswith("interrupts ")))
        and o["timer"]["mode"] == "tsc-deadline"
        and o["timer"]["next_in_us"] == int(re.search(r"next_in_us=(-?\d+)", "\n".join(ln)).group(1))
        and o["timer"]["masked"] is False
        and [(m["msr"], m["count"]) for m in o["msr_gp"]] == [(a[1], int(a[3])) for a in msr],
        json.dumps(o),
    )
    o, ln, _ = objs["net status"][0]
    sec = {x.split(":")[0]: x for x in ln}
    check(
        "r4 net status: net (up, driver, mac, ip, link), nic, tcp, echo",
        o["net"]
        == {"up": True, "driver": "e1000", "mac": "52:54:00:00:00:0b", "ip": "192.0.2.2/24", "link": "up"}
        and o["nic"] == ints(sec["nic"])
        and o["tcp"] == ints(sec["tcp"])
        and {k: v for k, v in o["echo"].items() if k != "client"} == ints(sec["echo"])
        and o["echo"]["client"] == "idle",
        json.dumps(o),
    )
    good, detail = True, ""
    for o, ln, _ in objs["migrate status"]:
        sec = {x.split(":")[0]: x for x in ln}
        m = re.search(r"downtime_target=(\d+) ms .* bw_cap=(\d+) KiB/s", sec["migrate"])
        peers = [re.match(r"peer: (\S+) (\S+):(\d+)", x).groups() for x in ln if x.startswith("peer: ")]
        good = good and (
            o["settings"]["psk"] == "set"
            and o["settings"]["policy"] == "required"
            and o["settings"]["port"] == 7001
            and o["settings"]["downtime_target_ms"] == int(m.group(1))
            and o["settings"]["bw_cap_kib_s"] == int(m.group(2))
            and o["preauth"] == ints(sec["preauth"])
            and o["counters"] == ints(sec["counters"])
            and [(p["name"], p["address"], str(p["port"])) for p in o["peers"]] == peers
            and o["outgoing"] is None
            and o["incoming"] is None
        )
        detail = json.dumps(o)
    check("r5 migrate status: settings, preauth, counters (MIGGUARD), peers, outgoing/incoming", good, detail)
    # the lines of a migration under way (their format: hv/core/mig_session.c)
    o = jo.reply_object(
        "migrate status",
        True,
        ["outgoing: vm 1 precopy round 3 pages_left 78", "incoming: receive vm 2"],
        "ok",
    )
    check(
        "r5b migrate status under way: outgoing {vm, state, round, pages_left}, incoming {state, vm}",
        o["outgoing"] == {"vm": 1, "state": "precopy", "round": 3, "pages_left": 78}
        and o["incoming"] == {"state": "receive", "vm": 2},
        json.dumps(o),
    )
    good = True
    for o, ln, _ in objs["migrate info"]:
        for side in ("source", "destination"):
            line = next(x for x in ln if x.startswith(side + ": "))
            want = None if line.endswith(": none") else typed_kv(line.split(": ", 1)[1])
            good = good and o[side] == want
    check(
        "r6 migrate info: source and destination, the MIGSTAT fields (round_* as lists) or null",
        good and len(objs["migrate info"]) == 2,
    )
    o, ln, _ = objs["help"][0]
    heads = [x for x in ln if not x.startswith(" ")]
    check(
        "r7 help: commands [{syntax, summary}], continuation lines joined",
        len(o["commands"]) == len(heads)
        and [c["syntax"] for c in o["commands"]] == [re.split(r"\s{2,}", x)[0] for x in heads]
        and "bzImage" in o["commands"][3]["summary"]
        and o["commands"][0] == {"syntax": "help", "summary": "this list"},
        json.dumps(o)[:400],
    )
    d = [o["dirty"] for o, ln, _ in objs["vm dirty 3"]]
    want = [re.search(r"pages=(\S*)", ln[0]).group(1) for o, ln, _ in objs["vm dirty 3"]]
    check(
        "r8 vm dirty: dirty {vm, method, count, pages: [...]}",
        [x["pages"] for x in d] == [[int(p) for p in w.split(",") if p] for w in want]
        and all(x["count"] == len(x["pages"]) and x["vm"] == 3 and x["method"] == "pml" for x in d),
        json.dumps(d),
    )
    o, ln, _ = objs["net hold"][0]
    check(
        "r9 net hold: hold {opened, connected, open, ended_by_peer}", o["hold"] == ints(ln[0]), json.dumps(o)
    )
    o, ln, final = objs["migrate 1 192.0.2.2"][0]
    check(
        "r10 a refused migrate: ok false, error, retry_in_ms",
        o["ok"] is False
        and o["error"] == "migrate: peer-backing-off"
        and o["retry_in_ms"] == int(re.search(r"retry in (\d+) ms", ln[0]).group(1)),
        json.dumps(o),
    )
    o, ln, _ = objs["migrate set bw_cap_kib 250"][0]
    check(
        "r11 migrate set during a migration: live {parameter, value, applies}",
        o["live"] == {"parameter": "bw_cap_kib", "value": 250, "applies": "now"},
        json.dumps(o),
    )
    o, ln, _ = objs["vm move 1"][0]
    check("r12 vm move: moved {from, to}", o["moved"] == {"from": 1, "to": 4}, json.dumps(o))
    errs = [o for cmd in ("frobnicate the widgets", "vm pause 99", "vm start x") for o, _, _ in objs[cmd]]
    check(
        "r13 errors: ok false, error without `error: `, no parsed fields",
        len(errs) == 3
        and all(
            o["ok"] is False
            and not o["error"].startswith("error")
            and set(o) == EVENT_FIELDS["reply"] | {"error"}
            for o in errs
        ),
        json.dumps(errs),
    )
    return objs


# ---- e: events -------------------------------------------------------------------------
def stream_lines(fx, path):
    """The cleaned lines of a recorded migration from its command's echo on."""
    lines = fx.log_lines(path)
    i = next(i for i, x in enumerate(lines) if re.match(r"^hv> migrate \d+ \S+$", x))
    return lines[i][4:], lines[i + 1 :]


def run_events(pr, cmd, lines, total_pages=None, target_ms=None):
    ev = pr.MigrationEvents(int(cmd.split()[1]), cmd, total_pages=total_pages, target_ms=target_ms)
    out = []
    for x in lines:
        out.extend(ev.feed(x))
    out.append(ev.result())
    return out


def fields_ok(e):
    ev = e.get("event")
    need = EVENT_FIELDS.get(ev)
    if need is None or not need <= set(e):
        return False
    if ev == "progress" and not RAM_PROGRESS <= set(e["ram"]):
        return False
    if ev == "round" and not RAM_ROUND <= set(e["ram"]):
        return False
    if ev == "result" and e["status"] == "completed":
        return RESULT_DONE <= set(e) and RAM_RESULT <= set(e["ram"])
    if ev == "result" and e["status"] != "completed":
        return "error-desc" in e
    return True


def events(jo, pr, fx):
    cmd, lines = stream_lines(fx, os.path.join(FIX, "migrate-done.serial"))
    evs = run_events(pr, cmd, lines)
    text = [x[4:] if x.startswith("hv> ") else x for x in lines]
    check(
        "e0 every event has the documented fields and survives a JSON round trip",
        all(fields_ok(e) and json.loads(jo.dumps(e)) == e for e in evs),
        [e for e in evs if not fields_ok(e)][:1],
    )
    prog_lines = [PROGRESS.match(x) for x in text if PROGRESS.match(x)]
    prog = [e for e in evs if e["event"] == "progress"]
    good = len(prog) == len(prog_lines) > 10
    for e, m in zip(prog, prog_lines):
        vm, rnd, left, dirty, bw, pred, rtt, queued, state = m.groups()
        good = good and (
            e["vm"] == int(vm)
            and e["round"] == int(rnd)
            and e["state"] == state
            and e["hv"]["pages_left"] == int(left)
            and e["hv"]["dirty_pps"] == int(dirty)
            and e["hv"]["bandwidth_kib_s"] == int(bw)
            and e["hv"]["rtt_ms"] == int(rtt)
            and e["hv"]["queued_kib"] == int(queued)
            and e["expected-downtime"] == int(pred)
            and e["ram"]["dirty-pages-rate"] == int(dirty)
            and e["ram"]["remaining"] == (None if state == "handshake" else int(left) * 4096)
            and abs(e["ram"]["mbps"] - int(bw) * 1024 * 8 / 1e6) < 0.001
            and e["ram"]["dirty-sync-count"] == int(rnd)
            and e["line"] == m.group(0)
        )
    check(
        "e1 one progress event per progress line, with its numbers",
        good,
        "%d events, %d lines" % (len(prog), len(prog_lines)),
    )
    # the estimate between round ends: the last MIGROUND's sent_bytes plus this round's
    # pages sent (its dirty set, the last MIGROUND's remaining_pages, less pages left)
    # at the bytes a page took so far
    bad = []
    for e in prog:
        before = [typed_kv(x) for x in text[: text.index(e["line"])] if x.startswith("[hv] MIGROUND ")]
        if not before or before[-1]["round"] != e["round"] - 1:
            continue
        sent, pages = before[-1]["sent_bytes"], sum(r["pages"] for r in before)
        done = before[-1]["remaining_pages"] - e["hv"]["pages_left"]
        if not (
            e["hv"]["round_pages_sent"] == done
            and e["ram"]["transferred"] == sent
            and e["hv"]["transferred_estimate"] == sent + round(done * sent / pages)
        ):
            bad.append(e["line"])
    check(
        "e1b between round ends: transferred exact at the last round end, the estimate from its bytes/page",
        not bad and any(e["hv"]["round_pages_sent"] for e in prog),
        bad[:2],
    )

    mr_lines = [x for x in text if x.startswith("[hv] MIGROUND ")]
    rounds = [e for e in evs if e["event"] == "round"]
    good = len(rounds) == len(mr_lines) == 10
    zero = pages = 0
    for e, x in zip(rounds, mr_lines):
        k = typed_kv(x)
        zero += k["zero"]
        pages += k["pages"]
        good = good and (
            e["hv"] == k
            and e["round"] == k["round"]
            and e["total-time"] == k["elapsed_ms"]
            and e["expected-downtime"] == k["predicted_ms"]
            and e["downtime-limit"] == k["target_ms"]
            and e["cpu-throttle-percentage"] == k["throttle_pct"]
            and e["ram"]["transferred"] == k["sent_bytes"]
            and e["ram"]["remaining"] == k["remaining_pages"] * 4096
            and e["ram"]["total"] == k["total_pages"] * 4096
            and e["ram"]["duplicate"] == zero
            and e["ram"]["normal"] == pages - zero
            and e["ram"]["dirty-pages-rate"] == k["dirty_pps"]
            and e["ram"]["dirty-sync-count"] == k["round"] + 1
            and abs(e["ram"]["mbps"] - k["bw_Bps"] * 8 / 1e6) < 0.001
        )
    check("e2 one round event per MIGROUND line, with its numbers (cumulative duplicate/normal)", good)
    st = [(e["from"], e["to"], e["status"]) for e in evs if e["event"] == "state"]
    check(
        "e3 state events: handshake (setup) -> precopy (active) -> stop (device)",
        st
        == [(None, "handshake", "setup"), ("handshake", "precopy", "active"), ("precopy", "stop", "device")],
        st,
    )
    thr = [e["cpu-throttle-percentage"] for e in evs if e["event"] == "throttle"]
    want = [100 - int(m) for m in re.findall(r"throttled to (\d+)% of its time slices", "\n".join(text))]
    check(
        "e4 throttle events: cpu-throttle-percentage = 100 - the slices' share",
        thr == want and len(want) == 5,
        thr,
    )
    par = [(e["parameter"], e["value"]) for e in evs if e["event"] == "parameter"]
    check("e5 parameter event: bw_cap_kib set to 250 during the migration", par == [("bw_cap_kib", 250)], par)

    res = evs[-1]
    stat = next(x for x in text if x.startswith("[hv] MIGSTAT ") and " role=src " in x)
    k = typed_kv(stat)
    r0 = typed_kv(mr_lines[0])
    ram = res["ram"]
    check(
        "e6 the final object equals the source's MIGSTAT line",
        res["event"] == "result"
        and res["status"] == "completed"
        and res["total-time"] == k["total_ms"]
        and res["downtime"] == k["downtime_ms"]
        and res["expected-downtime"] == k["predicted_ms"]
        and res["downtime-limit"] == k["target_ms"]
        and res["cpu-throttle-percentage"] == k["throttle_pct"]
        and res["setup-time"] == r0["elapsed_ms"] - r0["round_ms"]
        and ram["transferred"] == k["bytes"]
        and ram["remaining"] == 0
        and ram["total"] == r0["total_pages"] * 4096
        and ram["duplicate"] == k["zero"]
        and ram["normal"] == k["pages"] - k["zero"]
        and ram["normal-bytes"] == (k["pages"] - k["zero"]) * 4096
        and ram["dirty-pages-rate"] == k["dirty_pps"]
        and ram["dirty-sync-count"] == k["rounds"]
        and abs(ram["mbps"] - k["bw_Bps"] * 8 / 1e6) < 0.001
        and ram["precopy-bytes"] == sum(k["round_bytes"])
        and ram["downtime-bytes"] == k["bytes"] - sum(k["round_bytes"])
        and {x: y for x, y in res["hv"].items() if x != "in_doubt"} == k
        and res["hv"]["in_doubt"] is False
        and res["migstat"] == stat
        and res["summary"].startswith("[hv] migrate: source done: downtime %d ms" % k["downtime_ms"])
        and "error-desc" not in res,
        jo.dumps(res)[:600],
    )

    def final_of(name, total=None):
        c, ls = stream_lines(fx, os.path.join(FIX, name))
        return run_events(pr, c, ls, total)

    r = final_of("migrate-cancelled.serial")[-1]
    check(
        "e7 a cancelled migration: status cancelled, error-desc, no downtime",
        r["status"] == "cancelled"
        and r["error-desc"] == "cancelled (detail 0)"
        and r["downtime"] is None
        and r["hv"]["result"] == "cancelled"
        and r["ram"]["transferred"] == 1468352
        and r["ram"]["remaining"] == 424 * 4096,
        jo.dumps(r)[:400],
    )
    r = final_of("migrate-handshake-failed.serial")[-1]
    check(
        "e8 a failed handshake: status failed, error-desc from the FAILED line",
        r["status"] == "failed"
        and r["error-desc"] == "handshake-failed (channel: transport error)"
        and r["hv"]["fail_state"] == "handshake"
        and r["ram"]["remaining"] is None,
        jo.dumps(r)[:400],
    )
    evs3 = final_of("migrate-peer-aborted.serial")
    r = evs3[-1]
    check(
        "e9 a state the destination refused (vm 3): failed, the peer's reason, 3 round events",
        r["status"] == "failed"
        and r["vm"] == 3
        and "peer's reason: load-state-failed" in r["error-desc"]
        and sum(1 for e in evs3 if e["event"] == "round") == 3
        and r["hv"]["rounds"] == 3,
        jo.dumps(r)[:400],
    )
    # a connection that fails before the engine runs (its lines: hv/core/mig_session.c)
    ev = pr.MigrationEvents(1, "migrate 1 192.0.2.9")
    for x in (
        "[hv] migrate: vm 1 to 192.0.2.9:7001: connecting",
        "[hv] migrate: vm 1: connection to the peer failed (lwIP error -13); the guest keeps running here",
    ):
        ev.feed(x)
    r = ev.result()
    check(
        "e10 a connection that fails before the engine: failed, error-desc, no MIGSTAT",
        ev.ended
        and r["status"] == "failed"
        and r["error-desc"].startswith("connection to the peer failed (lwIP error -13)")
        and r["migstat"] is None,
        jo.dumps(r),
    )
    # an incoming migration (recorded on the same console) that ends while this one
    # runs, and one that ends between this one's MIGSTAT and its `source done` line:
    # neither its MIGSTAT (role=dst, another id) nor its lines are this migration's
    inc = [x for x in fx.log_lines(os.path.join(FIX, "incoming-failed.serial")) if x.startswith("[hv] ")]
    i = next(i for i, x in enumerate(lines) if "MIGROUND" in x and " round=5 " in x)
    j = next(i for i, x in enumerate(lines) if x.startswith("[hv] MIGSTAT ") and " role=src " in x)
    evs2 = run_events(pr, cmd, lines[:i] + inc + lines[i : j + 1] + inc + lines[j + 1 :])
    r = evs2[-1]
    check(
        "e11 an incoming migration's lines and MIGSTAT (role=dst) meanwhile are not this migration's",
        len(inc) == 7
        and r["migstat"] == stat
        and r["hv"]["role"] == "src"
        and r["total-time"] == k["total_ms"]
        and [e for e in evs2 if e.get("line") in inc] == [],
        jo.dumps(r)[:300],
    )
    return cmd, evs


# ---- h: hvctl end to end -------------------------------------------------------------
def hvctl(tools, port, words, stdin=None, timeout=60):
    cmd = [sys.executable, os.path.join(tools, "hvctl"), "--timeout", "10"]
    if port:
        cmd += ["--connect", "127.0.0.1:%d" % port]
    p = subprocess.run(
        cmd + words,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL if stdin is None else None,
        input=stdin,
        env=dict(os.environ, HVCTL_MUX="", HVCTL_CONNECT="", HVCTL_SERIAL=""),
    )
    return p.returncode, p.stdout.splitlines(), p.stderr


def end_to_end(tools, jo, pr, fx, recorded, cmd):
    hv = fx.FakeHv([os.path.join(FIX, "replies.serial")], [os.path.join(FIX, "migrate-done.serial")])
    port = hv.start()
    try:
        good, bad = True, []
        seen = set()
        for c, ok, lines, final in recorded:
            if c in seen or c.startswith("migrate 1 "):
                continue
            seen.add(c)
            rc, out, err = hvctl(tools, port, ["--json"] + c.split())
            want = jo.reply_object(c, ok, lines, final)
            if not (len(out) == 1 and json.loads(out[0]) == want and rc == (0 if ok else 1)):
                good = False
                bad.append((c, rc, out[:1], err[-200:]))
        check(
            "h1 hvctl --json CMD prints its parsed reply, one line, exit 0/1 (%d commands)" % len(seen),
            good,
            bad,
        )
        rc, out, err = hvctl(tools, port, ["--json", "migrate", "1", "lab-b"])
        objs = [json.loads(x) for x in out]

        def strip(e):  # hvctl's own clock in progress and state events
            e = dict(e)
            if e["event"] in ("progress", "state"):
                e.pop("total-time", None)
            return e

        # what hvctl learns before the start: the guest's size (`vm list`: 4096 KiB) and
        # the downtime target (`migrate status`), as the stand-in answers them
        pre = {c: ln for c, ok, ln, f in reversed(recorded)}
        kib = int(re.search(r"^vm 1 .*mem=(\d+)KiB", pre["vm list"][0]).group(1))
        target = int(re.search(r"downtime_target=(\d+) ms", pre["migrate status"][0]).group(1))
        ref = run_events(
            pr, cmd, stream_lines(fx, os.path.join(FIX, "migrate-done.serial"))[1], kib // 4, target
        )
        check(
            "h2 hvctl --json migrate 1 lab-b: the reply, then the events and the final object of e., exit 0",
            rc == 0
            and objs[0] == {"event": "reply", "command": "migrate 1 lab-b", "ok": True, "lines": []}
            and [strip(e) for e in objs[1:]] == [strip(e) for e in ref]
            and objs[-1]["status"] == "completed"
            and all(e["ram"]["total"] == kib * 1024 for e in objs if e["event"] == "progress")
            and all(e["downtime-limit"] == target for e in objs if e["event"] == "progress"),
            "status %s, %d objects; %s" % (rc, len(objs), err[-300:]),
        )
        check(
            "h3 hvctl --json migrate: progress events' total-time goes on from the last round event's",
            all(
                isinstance(e["total-time"], int) and e["total-time"] >= last
                for last, e in (
                    (max([0] + [r["total-time"] for r in objs[:i] if r["event"] == "round"]), e)
                    for i, e in enumerate(objs)
                )
                if e["event"] == "progress"
            ),
            [e["total-time"] for e in objs if e["event"] in ("progress", "round")],
        )
    finally:
        hv.stop()
    hv = fx.FakeHv([os.path.join(FIX, "replies.serial")], [os.path.join(FIX, "migrate-cancelled.serial")])
    port = hv.start()
    try:
        rc, out, err = hvctl(tools, port, ["--json", "migrate", "1", "192.0.2.2"])
        last = json.loads(out[-1]) if out else {}
        check(
            "h4 a cancelled migration: the last object says cancelled, exit 1",
            rc == 1 and last.get("event") == "result" and last.get("status") == "cancelled",
            "status %s, %s" % (rc, out[-1:]),
        )
    finally:
        hv.stop()
    rc, out, err = hvctl(tools, None, ["--json", "status"])
    o = json.loads(out[0]) if len(out) == 1 else {}
    check(
        "h5 no console: one object, ok false, error, exit 2",
        rc == 2
        and o.get("ok") is False
        and o.get("command") == "status"
        and "no console" in o.get("error", ""),
        "status %s, %s" % (rc, out),
    )
    # Ctrl-C while following: the migration goes on; the last object says so
    hv = fx.FakeHv(
        [os.path.join(FIX, "replies.serial")], [os.path.join(FIX, "migrate-done.serial")], line_delay=0.05
    )
    port = hv.start()
    try:
        argv = hvctl_argv(tools, port, "--json")
        p = subprocess.Popen(
            argv + ["migrate", "1", "lab-b"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        first = p.stdout.readline()
        time.sleep(2.0)
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=30)
        objs = [json.loads(x) for x in [first] + rest.splitlines() if x.strip()]
        last = objs[-1] if objs else {}
        check(
            "h6 Ctrl-C while following: exit 130, the last object a result with error, the status so far",
            p.returncode == 130
            and last.get("event") == "result"
            and "stopped following" in last.get("error", "")
            and last.get("status") in ("setup", "active", "device")
            and any(o.get("event") == "progress" for o in objs),
            "status %s, last %s" % (p.returncode, json.dumps(last)[:300]),
        )
    finally:
        hv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tools", default=os.path.join(TOP, "tools"), help="the tools/ to test")
    a = ap.parse_args()
    tools = os.path.abspath(a.tools)
    sys.path.insert(0, tools)
    import fakehv as fx
    from hvtools import jsonout as jo
    from hvtools import progress as pr

    recorded = fx.recorded_replies(os.path.join(FIX, "replies.serial"))
    guarded("r", replies, jo, recorded)
    guarded("e", events, jo, pr, fx)
    guarded("h", end_to_end, tools, jo, pr, fx, recorded, "migrate 1 lab-b")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
