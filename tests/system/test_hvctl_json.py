#!/usr/bin/env python3
"""`hvctl --json` against two real hypervisors (Bochs, hv-mig.iso), each console held
by a serial mux (hvtools.mux) so that hvctl and the test share it.

  python3 tests/system/test_hvctl_json.py --iso build/hv-mig.iso --workdir build/systest-hvctl-json

j1. `hvctl --json help` parses, and every command it lists is either run below
    through `hvctl --json` or skipped for a reason written here (poweroff, the PSK
    line, commands that would change the guests or the machine): a command this test
    does not know is a FAIL, so a new console command is not left untested.
j2. Every command run prints exactly one line, a JSON object with event=reply,
    command, ok, lines (and error when not ok), exit status 0 for ok and 1 for an
    error, and the fields docs/console.md documents for it, with values equal to
    the numbers in its own reply lines (read here with plain regexes).
j3. `hvctl --json migrate-psk` (key on stdin) sets the PSK on both sides: psk_bytes 32,
    the key nowhere in the output.
j4. `hvctl --json migrate 1 192.0.2.2` (A to B, 600 KiB/s cap): the reply, progress
    events, a state change to precopy, one round event per `[hv] MIGROUND` line on A's
    console with the same numbers, and a final result object: status completed, and
    total-time, downtime, expected-downtime, ram.transferred/duplicate/normal/
    dirty-sync-count/mbps and every MIGSTAT field under "hv" equal to A's MIGSTAT
    line; exit status 0. While it runs, `hvctl --json migrate status` shows the
    outgoing migration on A and the incoming one on B.
j5. `hvctl --json migrate info` on A and B: the MIGSTAT lines of both sides, parsed.
j6. The guest goes back (B to A) with `hvctl migrate` (no --json) on a pseudo-terminal:
    the progress line is updated in place (CR + ESC [K, several updates on one line),
    the summary follows; exit status 0.
Prints PASS/FAIL lines and `N passed, N failed`; exit 0 only if all passed.
"""
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import systest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from kvref import typed_kv  # noqa: E402
from hvtools import bochs  # noqa: E402
from hvtools.mux import SerialMux  # noqa: E402
from hvtools.relay import Relay  # noqa: E402
from systest import free_udp_pair  # noqa: E402

HVCTL = os.path.join(systest.TOP, "tools", "hvctl")
PSK = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
IPS = ("192.0.2.1", "192.0.2.2")
MACS = ("52:54:00:00:00:0a", "52:54:00:00:00:0b")
KV = re.compile(r"(\w+)=(\S*)")

# help's commands not run through hvctl --json here, and why
SKIP = {
    "vm create": "creates a VM (tested by test_bochs_linux)",
    "vm start": "changes the guests",
    "vm stop": "stops and scrubs the guest the migration needs",
    "vm destroy": "frees a VM",
    "vm move": "moves the guest (test_bochs_move)",
    "vm console": "interactive: takes the console until Ctrl-]",
    "migrate": "run as the followed migration (j4)",
    "migrate test": "would make the migration fail on purpose",
    "migrate psk": "the key line: run as hvctl migrate-psk (j3)",
    "debug scan": "scans all RAM (minutes under Bochs)",
    "debug hide-pml": "changes dirty tracking for the rest of the run",
    "poweroff": "ends the machine (done last, by the test's console)",
}


def concrete(syntax):
    """The command line this test runs for a help line's syntax, or None (SKIP)."""
    w = syntax.split()
    key2 = " ".join(w[:2])
    if key2 in SKIP or (len(w) >= 2 and w[0] == "migrate" and w[1] in ("ID", "test", "psk")):
        return None
    if key2 in ("vm stats", "vm dirty", "vm pause", "vm resume"):
        return "%s 1" % key2
    if key2 == "vm track":
        return "vm track 1 pml"
    if key2 == "net up":
        return "net up 192.0.2.1/24"
    if key2 == "net echo":
        return "net echo 192.0.2.2 2000"
    if key2 == "net hold":
        return "net hold"
    if key2 == "migrate peer":
        return "migrate peer lab-b 192.0.2.2"
    if key2 == "migrate set":
        return "migrate set bw_cap_kib 600"
    if key2 == "migrate resolve":
        return "migrate resolve resume"
    if w[0] in SKIP and len(w) == 1:
        return None
    return syntax if all(x.islower() or x in ("|",) for x in w) else "?"


def hvctl(t, sock, words, stdin=None, timeout=120):
    cmd = [sys.executable, HVCTL, "--mux", sock, "--timeout", "60", "--json"] + words
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, [], "timeout"
    return p.returncode, p.stdout.splitlines(), p.stderr


def one_object(t, name, rc, out, err):
    """j2's common part: one line, a JSON object with the reply's fields."""
    objs = []
    for ln in out:
        try:
            objs.append(json.loads(ln))
        except ValueError:
            objs.append(None)
    o = objs[0] if len(objs) == 1 else None
    ok = (
        isinstance(o, dict)
        and o.get("event") == "reply"
        and o.get("command") == name
        and isinstance(o.get("ok"), bool)
        and isinstance(o.get("lines"), list)
        and (o["ok"] or isinstance(o.get("error"), str))
        and rc == (0 if o["ok"] else 1)
    )
    t.check(
        "j2 hvctl --json %s: one JSON reply object (ok=%s, exit %s)" % (name, o and o.get("ok"), rc),
        ok,
        "" if ok else ("%r | %s" % (out[:3], err[-300:])),
    )
    return o if ok else None


def fields(t, name, o):
    """j2: the documented fields of each command, equal to its lines."""
    if o is None or not o["ok"]:
        return
    ln = o["lines"]
    w = name.split()
    good, why = True, ""
    if name == "status":
        mem = next(KV.findall(x) for x in ln if x.startswith("memory:"))
        up = next(int(x.split()[1]) for x in ln if x.startswith("uptime:"))
        good = (
            o["vmx"]["available"] == ("vmx: available" in ln)
            and o["memory"] == {k + "_kib": int(v[:-3]) for k, v in mem}
            and o["uptime_ms"] == up
            and isinstance(o["tsc_khz"], int)
            and o["dirty_tracking"] in ("pml", "ad", "none")
            and o["missing"] == [x[len("missing: ") :] for x in ln if x.startswith("missing: ")]
            and o["cpu"]["vendor"]
        )
    elif name == "vm list":
        want = [(int(re.match(r"vm (\d+)", x).group(1)), dict(KV.findall(x))) for x in ln]
        good = len(o["vms"]) == len(want) and all(
            v["id"] == i and v["state"] == kv["state"] and v["exits"] == int(kv["exits"])
            for v, (i, kv) in zip(o["vms"], want)
        )
    elif w[:2] == ["vm", "stats"]:
        ex = [x.split() for x in ln if x.startswith("exit ")]
        good = o["vm"] == 1 and o["exits"] == int(re.search(r"exits=(\d+)", ln[0]).group(1))
        good = good and [(e["reason"], e["name"], e["count"]) for e in o["exit_reasons"]] == [
            (int(a[1]), a[2], int(a[3])) for a in ex
        ]
        vm_line = [dict(KV.findall(x)) for x in ln if x.startswith("vmcs: ")]
        good = good and bool(vm_line) and o.get("vmcs") == vm_line[0]
    elif w[:2] == ["vm", "dirty"]:
        d = o["dirty"]
        good = d["vm"] == 1 and d["count"] == len(d["pages"]) and d["method"] in ("pml", "ad")
    elif name == "net status":
        kv = {x.split(":")[0]: dict(KV.findall(x)) for x in ln}
        good = (
            o["net"]["up"]
            and o["net"]["ip"] == kv["net"]["ip"]
            and all(o[s][k] == int(v) for s in ("nic", "tcp") for k, v in kv[s].items())
            and o["echo"]["live"] == int(kv["echo"]["live"])
        )
    elif name == "migrate status":
        kv = {x.split(":")[0]: dict(KV.findall(x)) for x in ln}
        s = o["settings"]
        good = (
            s["psk"] == kv["migrate"]["psk"]
            and s["port"] == int(kv["migrate"]["port"])
            and s["downtime_target_ms"] == int(kv["migrate"]["downtime_target"])
            and all(o["counters"][k] == int(v) for k, v in kv["counters"].items())
            and all(o["preauth"][k] == int(v) for k, v in kv["preauth"].items())
            and len(o["peers"]) == sum(1 for x in ln if x.startswith("peer: "))
        )
    elif name == "migrate info":
        good = set(o) >= {"source", "destination"}
    elif name == "help":
        good = len(o["commands"]) >= 20
    elif name == "net hold":
        kv = dict(KV.findall(ln[0])) if ln else {}
        good = all(o["hold"][k] == int(v) for k, v in kv.items())
    why = json.dumps(o)[:300]
    t.check("j2 %s: the documented fields, equal to its lines" % name, good, "" if good else why)


def start_pair(t):
    a = t.args
    wd = os.path.abspath(a.workdir)
    ports = free_udp_pair()
    relay = Relay(*ports, pcap=os.path.join(wd, "link.pcap")).start()
    t.defer(relay.stop)
    socks, cons, insts, muxes = [], [], [], []
    for name, port, mac in zip("ab", ports, MACS):
        log = os.path.join(wd, name + ".serial")
        if os.path.exists(log):
            os.unlink(log)
        inst = bochs.launch(
            a.iso,
            os.path.join(wd, name),
            name="bochs",
            timeout=a.timeout,
            nic={"mac": mac, "ethdev": str(port)},
        )
        t.machines.append(inst)
        t.defer(inst.stop)
        # Bochs' RDRAND/RDSEED: two instances started in the same second gave both
        # sides the same random stream, and a handshake then failed with `handshake
        # nonce reflected` (the peer's nonce equal to its own); start them apart
        time.sleep(2.5 if name == "a" else 0)
        sock = os.path.join(wd, name + ".sock")
        mux = SerialMux("127.0.0.1", inst.serial_port, sock, log, connect_deadline=60)
        mux.connect()
        mux.start()
        t.defer(mux.stop)
        socks.append(sock)
        insts.append(inst)
        muxes.append(mux)
    for name, mux in zip("AB", muxes):
        t.require(
            "%s boots to [hv] console ready" % name,
            mux.console_ready.wait(240) and not mux.done.is_set(),
            mux.reason or "",
        )
    for name, sock in zip("ab", socks):
        cons.append(t.console(mux=sock, log_path=os.path.join(wd, name + ".console.log"), log_mode="wb"))
    return socks, cons, insts


def follow_json(t, sock, words, on_round=None, timeout=400):
    """Runs hvctl --json migrate ...; returns (status, objects, stderr). on_round(obj)
    is called at the first round event (while the migration goes on). The output is
    kept in WORKDIR/hvctl-migrate.jsonl."""
    cmd = [sys.executable, HVCTL, "--mux", sock, "--timeout", "60", "--migrate-timeout", "300", "--json"]
    p = subprocess.Popen(cmd + words, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    objs, called, bad = [], False, []
    end = time.monotonic() + timeout
    keep = open(os.path.join(t.args.workdir, "hvctl-migrate.jsonl"), "w")
    t.defer(keep.close)
    for ln in p.stdout:
        keep.write(ln)
        try:
            o = json.loads(ln)
        except ValueError:
            bad.append(ln)
            continue
        objs.append(o)
        if o.get("event") == "round" and on_round and not called:
            called = True
            on_round(o)
        if time.monotonic() > end:
            p.kill()
            break
    rc = p.wait(timeout=30)
    err = p.stderr.read()
    t.check("j4 every line hvctl --json migrate printed is a JSON object", not bad, "; ".join(bad[:2]))
    return rc, objs, err


def check_migration(t, ca, mark, rc, objs):
    t.check(
        "j4 the first object is the command's reply, ok",
        objs[:1] and objs[0].get("ok") is True,
        str(objs[:1]),
    )
    t.check("j4 hvctl --json migrate exits with status 0", rc == 0, "status %s" % rc)
    prog = [o for o in objs if o.get("event") == "progress"]
    t.check(
        "j4 progress events, each with its line's numbers",
        len(prog) >= 2
        and all(
            o["hv"]["pages_left"] == int(re.search(r" (\d+) pages left", o["line"]).group(1))
            and o["ram"]["dirty-pages-rate"] == int(re.search(r"dirty (\d+) pages/s", o["line"]).group(1))
            and o["state"] == o["line"].rsplit(" ", 1)[1]
            for o in prog
        ),
        "%d progress events" % len(prog),
    )
    seq = [o for o in objs if o.get("event") in ("progress", "round")]
    t.check(
        "j4 progress events' total-time goes on from the last round event's",
        all(
            o["total-time"] >= max([0] + [r["total-time"] for r in seq[:i] if r["event"] == "round"])
            for i, o in enumerate(seq)
            if o["event"] == "progress"
        ),
        str([o["total-time"] for o in seq]),
    )
    states = [o["to"] for o in objs if o.get("event") == "state"]
    t.check(
        "j4 state events: setup, then precopy", "precopy" in states and states[0] == "handshake", str(states)
    )
    lines = ca.lines_since(mark)
    mr = [typed_kv(x) for x in lines if x.startswith("[hv] MIGROUND ") and " role=src " in x]
    rounds = [o for o in objs if o.get("event") == "round"]
    t.check(
        "j4 one round event per MIGROUND line, with its numbers",
        len(rounds) == len(mr) >= 1
        and all(
            o["hv"] == k
            and o["round"] == k["round"]
            and o["ram"]["transferred"] == k["sent_bytes"]
            and o["ram"]["remaining"] == k["remaining_pages"] * 4096
            and o["total-time"] == k["elapsed_ms"]
            and o["expected-downtime"] == k["predicted_ms"]
            for o, k in zip(rounds, mr)
        ),
        "%d round events, %d MIGROUND lines" % (len(rounds), len(mr)),
    )
    st = [x for x in lines if x.startswith("[hv] MIGSTAT ") and " role=src " in x]
    res = objs[-1] if objs else {}
    k = typed_kv(st[-1]) if st else {}
    ram = res.get("ram", {})
    good = (
        res.get("event") == "result"
        and res.get("status") == "completed"
        and k.get("result") == "done"
        and res.get("total-time") == k["total_ms"]
        and res.get("downtime") == k["downtime_ms"]
        and res.get("expected-downtime") == k["predicted_ms"]
        and ram.get("transferred") == k["bytes"]
        and ram.get("duplicate") == k["zero"]
        and ram.get("normal") == k["pages"] - k["zero"]
        and ram.get("dirty-sync-count") == k["rounds"]
        and ram.get("remaining") == 0
        and abs(ram.get("mbps", -1) - k["bw_Bps"] * 8 / 1e6) < 0.001
        and {kk: vv for kk, vv in res.get("hv", {}).items() if kk != "in_doubt"} == k
        and res.get("migstat") == st[-1]
    )
    t.check(
        "j4 the final object: completed, its numbers equal to A's MIGSTAT line",
        good,
        "%s | %s" % (json.dumps(res)[:300], st[-1][:200] if st else "no MIGSTAT"),
    )
    return k


def pty_follow(t, sock, words, timeout=300):
    """j6: hvctl (no --json) with its stdout on a pty; returns (status, bytes)."""
    master, slave = pty.openpty()
    cmd = [sys.executable, HVCTL, "--mux", sock, "--timeout", "60", "--migrate-timeout", "240"] + words
    p = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 1.0)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    return rc, data


def checks(t):
    socks, (ca, cb), insts = start_pair(t)
    sa, sb = socks

    # j1 + j2
    rc, out, err = hvctl(t, sa, ["help"])
    h = one_object(t, "help", rc, out, err)
    cmds = [c["syntax"] for c in (h or {}).get("commands", [])]
    plan, unknown = [], []
    for s in cmds:
        c = concrete(s)
        if c == "?":
            unknown.append(s)
        elif c:
            plan.append(c)
    t.check(
        "j1 every command help lists is run here or skipped for a stated reason",
        bool(cmds) and not unknown,
        "unknown: %s" % unknown if unknown else "%d run, %d skipped" % (len(plan), len(cmds) - len(plan)),
    )
    # the network first (A's `net up` is in the plan; B's is set up here)
    rc, out, err = hvctl(t, sb, ["net", "up", "192.0.2.2/24"])
    one_object(t, "net up 192.0.2.2/24", rc, out, err)
    order = sorted(plan, key=lambda c: (not c.startswith("net up"), c.startswith("vm pause")))
    if "vm pause 1" in order:  # pause then resume, so the guest runs on
        order.remove("vm pause 1")
        order.insert(order.index("vm resume 1"), "vm pause 1")
    for c in order:
        rc, out, err = hvctl(t, sa, c.split())
        fields(t, c, one_object(t, c, rc, out, err))

    # j3: the PSK on both sides
    for name, sock in (("A", sa), ("B", sb)):
        rc, out, err = hvctl(t, sock, ["migrate-psk"], stdin=PSK + "\n")
        o = json.loads(out[0]) if len(out) == 1 else {}
        t.check(
            "j3 hvctl --json migrate-psk on %s: psk_bytes 32, the key nowhere in the output" % name,
            rc == 0 and o.get("ok") is True and o.get("psk_bytes") == 32 and PSK not in "".join(out) + err,
            "%s %s" % (rc, out[:1]),
        )
    ca.wait_for(r"^\[vm1\] HB vm=1 seq=4\b", timeout=120, since=0)

    # j4: the followed migration, with migrate status while it runs
    seen = {}

    def during(_o):
        for name, sock in (("A", sa), ("B", sb)):
            rc, out, err = hvctl(t, sock, ["migrate", "status"])
            seen[name] = json.loads(out[0]) if len(out) == 1 else {}

    mark_a, mark_b = ca.mark(), cb.mark()
    rc, objs, err = follow_json(t, sa, ["migrate", "1", IPS[1]], on_round=during)
    check_migration(t, ca, mark_a, rc, objs)
    og, inc = seen.get("A", {}).get("outgoing"), seen.get("B", {}).get("incoming")
    t.check(
        "j4 migrate status during the migration: outgoing vm 1 on A, incoming on B",
        bool(og) and og.get("vm") == 1 and og.get("state") and bool(inc) and inc.get("vm", 0) > 0,
        "A outgoing %s, B incoming %s" % (og, inc),
    )
    dd = cb.wait_for(r"^\[hv\] migrate: destination (done|FAILED)", timeout=60, since=mark_b)
    t.check("j4 B: destination done", dd.group(1) == "done", dd.group(0))

    # j5: migrate info, both sides
    src = [x for x in ca.lines_since(mark_a) if x.startswith("[hv] MIGSTAT ") and " role=src " in x]
    dst = [x for x in cb.lines_since(mark_b) if x.startswith("[hv] MIGSTAT ") and " role=dst " in x]
    for name, sock, key, line in (("A", sa, "source", src), ("B", sb, "destination", dst)):
        rc, out, err = hvctl(t, sock, ["migrate", "info"])
        o = one_object(t, "migrate info", rc, out, err) or {}
        t.check(
            "j5 migrate info on %s: %s equals its MIGSTAT line" % (name, key),
            bool(line) and o.get(key) == typed_kv(line[-1]),
            json.dumps(o.get(key))[:200],
        )

    # j6: back from B to A, on a pseudo-terminal
    newvm = re.search(r"becomes vm (\d+)", "\n".join(cb.lines_since(mark_b)))
    label = newvm.group(1) if newvm else "2"
    cb.wait_for(r"^\[vm%s\] HB vm=1 seq=\d+" % label, timeout=60, since=mark_b)
    hvctl(t, sb, ["migrate", "set", "bw_cap_kib", "600"])
    for attempt in range(5):  # a failed handshake: wait for the guard's token, again
        rc, data = pty_follow(t, sb, ["migrate", label, IPS[0]])
        with open(os.path.join(t.args.workdir, "hvctl-migrate-tty.out"), "wb") as f:
            f.write(data)
        text = data.decode("utf-8", "replace").replace("\r\n", "\n")
        if rc == 0 or "handshake" not in text:
            break
        t.note("j6 attempt %d: the handshake failed; again in 5 s" % (attempt + 1))
        time.sleep(5)
    rows = text.split("\n")
    inplace = max((r.count("\r\x1b[K") for r in rows), default=0)
    t.check(
        "j6 on a terminal the progress line is updated in place (CR + ESC [K, several times on one line)",
        inplace >= 2,
        "most updates on one line: %d" % inplace,
    )
    t.check(
        "j6 the summary follows, exit status 0",
        rc == 0 and "---- summary" in text and "result done" in text,
        "status %s; tail %r" % (rc, text[-300:]),
    )
    for i, name in enumerate("AB"):
        (ca, cb)[i].send_line("poweroff")
        rc = insts[i].wait(timeout=60)
        t.check("%s powers off with status 0" % name, rc == 0, "status %s" % rc)


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=900)
