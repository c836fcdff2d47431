#!/usr/bin/env python3
"""Full-system test of live migration between two hypervisors, each in its own
Bochs (VT-x emulated), networked by e1000 NICs through tools/netrelay.py.

  python3 tests/system/test_bochs_migrate.py --iso build/hv-mig.iso --workdir build/systest-migrate

0. Idle connections from A that never speak: B's echo service serves two at a time
   and reaps them after 10 s; B's migration listener holds one pre-authentication
   slot per address and drops it after its 3 s budget (issue 13, finding 6).
1. With a different PSK on B, `migrate 1 B` is refused (the handshake fails),
   the guest keeps running on A with its heartbeats unbroken, and B holds no VM.
2. With the same PSK, the test guest migrates from A to B in the middle of its
   workload: on B its heartbeat continues with the next sequence number, the
   checksum in every heartbeat matches the guest model (no write lost), its
   memory self-check passes; A reports the guest migrated and scrubbed; both
   sides print a MIGSTAT line; the capture of the link holds no plaintext page
   of the guest (the canary-free check is issue 5's; here: the traffic was
   encrypted, enc=1).
   B ends the connection with a FIN after CONFIRM, not a reset (finding 8).
3. B sends the guest back nine times with a hostile state (finding 1): A refuses
   each, its free memory unchanged after every arrival (finding 2), nothing of the
   forged console line reaches A, and the guest keeps running on B.
Prints PASS/FAIL lines and `N passed, N failed`; exit 0 only if all passed.
"""
import re
import struct
import time

import systest
from hvtools.lines import parse_kv
from systest import ConsoleTimeout, data_pages, free_kib, heartbeats, model, seed_of, set_psk


PSK_A = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
PSK_WRONG = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"


def connection_end(pcap, port):
    """How the server side of the last connection to port ended, from the capture:
    (FIN segments, RST segments) sent from port."""
    with open(pcap, "rb") as f:
        data = f.read()
    frames, off = [], 24
    while off + 16 <= len(data):
        n = struct.unpack("<I", data[off + 8 : off + 12])[0]
        if off + 16 + n > len(data):
            break  # a record cut short (capture still being written)
        frames.append(data[off + 16 : off + 16 + n])
        off += 16 + n
    segs = []
    for fr in frames:
        if len(fr) < 54 or fr[12:14] != b"\x08\x00" or fr[23] != 6:
            continue
        tcp = 14 + (fr[14] & 15) * 4
        sport, dport = struct.unpack(">HH", fr[tcp : tcp + 4])
        segs.append((sport, dport, fr[tcp + 13]))
    syns = [sp for sp, dp, fl in segs if dp == port and fl & 0x12 == 0x02]
    if not syns:
        return None
    peer = syns[-1]
    fins = sum(1 for sp, dp, fl in segs if sp == port and dp == peer and fl & 0x01)
    rsts = sum(1 for sp, dp, fl in segs if sp == port and dp == peer and fl & 0x04)
    return fins, rsts


def live_bandwidth_cap(t, ca, mark_a):
    """Issue 16: `migrate set bw_cap_kib` during the migration applies at once: the
    first round runs under the 600 KiB/s cap, the rounds after the change under 250."""
    try:
        ca.wait_for(r"^\[hv\] MIGROUND .* round=0 ", timeout=180, since=mark_a)
        ok, reply = ca.command("migrate set bw_cap_kib 250", timeout=30)
        t.check(
            "migrate set bw_cap_kib during the migration is taken, and says it applies now",
            ok and any("applies to the migration under way now" in ln for ln in reply),
            " | ".join(reply),
        )
    except ConsoleTimeout as e:
        t.check("the first round ends", False, str(e)[:300])


def bandwidth_followed(t, ca, mark_a):
    mr = [parse_kv(ln) for ln in ca.lines_since(mark_a) if ln.startswith("[hv] MIGROUND ")]
    bw = [int(m["bw_Bps"]) // 1024 for m in mr]
    t.check(
        "the measured bandwidth follows the cap set during the migration (round 0 > 450 KiB/s, "
        "the last round < 330)",
        len(bw) >= 2 and bw[0] > 450 and bw[-1] < 330,
        "bandwidth per round: %s KiB/s" % bw,
    )


def machine_lines(t, ca, cb, mark_a, stat_a, stat_b):
    """Issue 16: one MIGROUND line per pre-copy round, a MIGSTAT line whole (per-round
    lists as long as its round count), the hypervisor's own cost in it, and `migrate
    info` returning the last migration's statistics on both sides."""
    src = parse_kv(stat_a[0]) if stat_a else {}
    dst = parse_kv(stat_b[0]) if stat_b else {}
    rounds = int(src.get("rounds", "0"))
    t.check(
        "MIGSTAT is whole: its per-round lists have one entry per round",
        rounds > 0
        and len(src.get("round_ns", "").split(",")) == rounds
        and len(src.get("round_pages", "").split(",")) == rounds,
        "rounds=%s round_ns=%s" % (rounds, src.get("round_ns")),
    )
    mr = [parse_kv(ln) for ln in ca.lines_since(mark_a) if ln.startswith("[hv] MIGROUND ")]
    t.check(
        "one MIGROUND line per pre-copy round, with the migration's id",
        len(mr) == rounds
        and [int(m["round"]) for m in mr] == list(range(rounds))
        and all(m.get("id") == src.get("id") for m in mr),
        "%d MIGROUND lines for %d rounds" % (len(mr), rounds),
    )
    t.check(
        "both sides count their own cost: busy cycles and wire bytes",
        all(
            int(x.get(k, "0")) > 0
            for x in (src, dst)
            for k in ("busy_cycles", "wire_bytes", "cycles_per_kib")
        ),
        "src %s/%s dst %s/%s"
        % (src.get("busy_cycles"), src.get("wire_bytes"), dst.get("busy_cycles"), dst.get("wire_bytes")),
    )
    ok, ra = ca.command("migrate info", timeout=30)
    ok2, rb = cb.command("migrate info", timeout=30)
    t.check(
        "migrate info gives the last migration's MIGSTAT on both sides",
        ok
        and ok2
        and any(ln.startswith("source: MIGSTAT id=%s " % src.get("id")) for ln in ra)
        and any(ln.startswith("destination: MIGSTAT id=%s " % dst.get("id")) for ln in rb),
        " | ".join(ra + rb)[:300],
    )


def counters(con, cmd, prefix):
    ok, reply = con.command(cmd, timeout=30)
    line = " ".join(ln for ln in reply if ln.startswith(prefix))
    return ok, {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}, line


def idle_hosts(t, ca, cb):
    """0. Idle connections that never speak (issue 13, finding 6): B's echo service
    serves two connections at a time and drops them after 10 s of silence; its
    migration listener keeps one pre-authentication slot per address (a second
    connection replaces the first) and drops it when the 3 s budget is spent."""
    ok, _ = ca.command("net hold 192.0.2.2 7000 3", timeout=30)
    t.check("A holds 3 idle connections to B's echo service", ok, str(ca.last_final))
    # A's first SYNs may wait for ARP and their retransmission: poll, well inside the
    # 10 s idle limit. (This also resolves A's ARP entry for B for what follows.)
    t_end, c = time.time() + 8, {}
    while time.time() < t_end and c.get("served_connections", 0) + c.get("refused_busy", 0) < 3:
        time.sleep(1)
        ok, c, line = counters(cb, "net status", "echo:")
    t.check(
        "B's echo service serves 2 at a time", ok and c.get("live") == 2 and c.get("refused_busy") == 1, line
    )
    t_end, c = time.time() + 90, {}
    while time.time() < t_end and c.get("reaped_idle", 0) < 2:
        time.sleep(3)
        ok, c, line = counters(cb, "net status", "echo:")
    t.check("B reaps the idle echo connections", c.get("reaped_idle") == 2 and c.get("live") == 0, line)
    mb = cb.mark()
    ok, _ = ca.command("net hold 192.0.2.2 7001 2", timeout=30)
    t.check("A holds 2 idle connections to B's migration port", ok, str(ca.last_final))
    try:
        cb.wait_for(
            r"^\[hv\] migrate: incoming connection from 192\.0\.2\.1 dropped before "
            r"authentication: handshake not finished in time",
            timeout=60,
            since=mb,
        )
        time.sleep(1)
        ok, c, line = counters(cb, "migrate status", "preauth:")
        ok2, h, hline = counters(ca, "net hold", "hold:")
        t.check(
            "B: one pre-authentication slot per address (the second replaced the first), "
            "dropped after its budget; A sees both ended by B",
            ok
            and c.get("replaced") == 1
            and c.get("expired") == 1
            and c.get("used") == 0
            and h.get("ended_by_peer") == 2,
            "%s | %s" % (line, hline),
        )
    except ConsoleTimeout as e:
        ok, c, line = counters(cb, "migrate status", "preauth:")
        ok2, h, hline = counters(ca, "net hold", "hold:")
        t.check(
            "B drops idle connections to its migration port",
            False,
            "%s | %s | %s" % (str(e)[:200], line, hline),
        )


def vmcs_line(con, vm):
    ok, reply = con.command("vm stats %s" % vm, timeout=30)
    line = [ln for ln in reply if ln.startswith("vmcs: ")]
    return parse_kv(line[0]) if ok and line else {}, (line[0] if line else " | ".join(reply))


def vmcs_scrubbed(t, ca, cb, label):
    """Issue 13, finding 8: the VMCS of the VM the guest left holds nothing of it (RSP,
    CR3, FS/GS bases at their reset values), while the running copy's does."""
    a, la = vmcs_line(ca, 1)
    b, lb = vmcs_line(cb, label)
    t.check(
        "A's scrubbed VMCS holds nothing of the guest (RSP, CR3, FS/GS bases 0; B's running copy: RSP set)",
        a.get("rsp") == "0x0"
        and a.get("cr3") == "0x0"
        and a.get("fs_base") == "0x0"
        and a.get("gs_base") == "0x0"
        and b.get("rsp") not in (None, "0x0"),
        "A: %s | B: %s" % (la, lb),
    )


def drop_confirm(port=7001):
    """A relay filter for a migration from B to A: once B's COMMIT frame (version 2, type
    0x48, encrypted, 8 bytes) has passed, every segment from A's migration port to B is
    dropped, so CONFIRM (and A's FIN) never arrive."""
    seen = {"commit": False, "dropped": 0}

    def fn(direction, frame):
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            return frame
        tcp = 14 + (frame[14] & 15) * 4
        sport, dport = struct.unpack(">HH", frame[tcp : tcp + 4])
        pay = frame[tcp + (frame[tcp + 12] >> 4) * 4 :]
        if direction == "b2a" and dport == port and pay[:8] == b"\x02\x48\x00\x01\x00\x00\x00\x08":
            seen["commit"] = True
        if direction == "a2b" and sport == port and seen["commit"]:
            seen["dropped"] += 1
            return None
        return frame

    return fn, seen


def in_doubt(t, pair, ca, cb, label):
    """4. CONFIRM lost (issue 13, finding 8): B sends the guest to A; after COMMIT the link
    drops everything A sends. A runs the guest; B waits, goes IN DOUBT, wipes the session
    keys at once (`migrate status`: keys=none) and, told by the operator, scrubs."""
    fn, seen = drop_confirm()
    ma, mb = ca.mark(), cb.mark()
    pair.relay.set_filter(fn)
    try:
        doubt = None
        for _ in range(10):
            mb = cb.mark()
            ok, reply = cb.command("migrate %s 192.0.2.1" % label, timeout=30)
            wait = re.search(r"retry in (\d+) ms", " ".join(reply))
            if not ok:
                time.sleep(min(int(wait.group(1)) / 1000.0, 20) + 0.3 if wait else 3)
                continue
            end = cb.wait_for(r"^\[hv\] migrate: source (FAILED|done)(.*)$", timeout=300, since=mb)
            if "in-doubt" in end.group(2):
                doubt = cb.wait_for(r"^\[hv\] migrate: vm %s is IN DOUBT.*$" % label, timeout=60, since=mb)
                break
            time.sleep(5)  # refused before COMMIT (A's admission guard): try again
        if doubt is None:
            raise ConsoleTimeout("the migration never reached COMMIT")
        da = ca.wait_for(r"^\[hv\] migrate: destination (done|FAILED)", timeout=60, since=ma)
        ok, reply = cb.command("migrate status", timeout=30)
        out = [ln for ln in reply if ln.startswith("outgoing: ")]
        t.check(
            "CONFIRM lost: B is in doubt with its session keys wiped at once, A runs the guest",
            seen["commit"]
            and seen["dropped"] > 0
            and "keys wiped" in doubt.group(0)
            and bool(out)
            and "keys=none" in out[0]
            and da.group(1) == "done",
            "%s | %s | dropped %d" % (doubt.group(0)[:120], out[0] if out else reply, seen["dropped"]),
        )
    except ConsoleTimeout as e:
        t.check("CONFIRM lost: B goes in doubt", False, str(e)[:300])
        return
    finally:
        pair.relay.set_filter(None)
    ok, _ = cb.command("migrate resolve scrub", timeout=30)
    new = re.search(r"becomes vm (\d+)", "\n".join(ca.lines_since(ma)))
    states = systest.vm_states(cb)
    try:
        s_now = int(heartbeats(ca, new.group(1))[-1].group(3)) if new else 0
        ca.wait_for(r"^\[vm%s\] HB vm=1 seq=%d\b" % (new.group(1), s_now + 1), timeout=60, since=ma)
        runs = True
    except (ConsoleTimeout, AttributeError, IndexError):
        runs = False
    t.check(
        "after 'migrate resolve scrub' B's copy is stopped and the guest runs on A",
        ok and states.get(int(label)) == "stopped" and runs,
        "B: %s, A runs the guest: %s" % (states, runs),
    )


HOSTILE_ROUNDS = 9  # one more than the eight VM slots the old destination never freed


def hostile_state(t, ca, cb, label):
    """3. B sends the guest back to A with a hostile state, nine times (issue 13,
    finding 1: what a peer holding the PSK could send, a console line past the bound
    carrying a forged event and an escape sequence; finding 2: every failed arrival
    returns its VM slot and memory). A refuses each state before READY, the guest
    keeps running on B, nothing of the line reaches A's console, and A's free memory
    is the same after every arrival."""
    before, frees, reasons = free_kib(ca), [], []
    ma0 = ca.mark()
    for _ in range(HOSTILE_ROUNDS):
        fl = None
        for _attempt in range(10):
            ok, _ = cb.command("migrate test hostile-state", timeout=30)
            ma, mb = ca.mark(), cb.mark()
            ok2, _ = cb.command("migrate %s 192.0.2.1" % label, timeout=30)
            if not (ok and ok2):
                break
            fl = cb.wait_for(r"^\[hv\] migrate: source (done|FAILED)(.*)$", timeout=300, since=mb)
            if fl.group(1) == "done" or "peer's reason" in fl.group(2):
                break
            time.sleep(4)  # A's admission guard: wait for a token, then try again
        if fl is None or fl.group(1) == "done":
            break
        reasons.append(fl.group(2).strip())
        ca.wait_for(r"^\[hv\] migrate: destination FAILED", timeout=60, since=ma)
        frees.append(free_kib(ca))
    t.check(
        "A refuses all %d hostile states (each after a full pre-copy, before READY)" % HOSTILE_ROUNDS,
        len(reasons) == HOSTILE_ROUNDS and all("peer's reason" in r for r in reasons),
        "; ".join(sorted(set(reasons)))[:300],
    )
    t.check(
        "A's free memory is the same after every refused arrival (slots and pages returned)",
        len(frees) == HOSTILE_ROUNDS and all(f == before for f in frees),
        "before %d KiB, after each: %s" % (before, frees),
    )
    s_now = int(heartbeats(cb, label)[-1].group(3))
    try:
        cb.wait_for(r"^\[vm%s\] HB vm=1 seq=%d\b" % (label, s_now + 1), timeout=60, since=0)
        t.check("the guest keeps running on B", True)
    except ConsoleTimeout as e:
        t.check("the guest keeps running on B", False, str(e)[:300])
    forged = [ln for ln in ca.lines_since(ma0) if ln.startswith("[hv] migrate: source done") or "\x1b" in ln]
    t.check("no forged line or escape sequence on A's console", not forged, "; ".join(forged[:2]))
    ok, reply = ca.command("vm list", timeout=30)
    running = [ln for ln in reply if ln.startswith("vm ") and "state=running" in ln]
    t.check("A holds no VM from the refused arrivals", ok and not running, " | ".join(reply))


def checks(t):
    pair = t.pair()
    cons = pair.cons
    ca, cb = pair.start()
    for c, ip in ((ca, "192.0.2.1/24"), (cb, "192.0.2.2/24")):
        ok, _ = c.command("net up " + ip, timeout=30)
        t.check("net up " + ip, ok, str(c.last_final))
    t.check("PSK typed on A's console (not echoed)", set_psk(ca, PSK_A))
    t.check("a different PSK typed on B's console", set_psk(cb, PSK_WRONG))
    echoed = [ln for c in cons for ln in c.lines_since(0) if "00112233" in ln or "ffeeddcc" in ln]
    t.check("the PSK never appears on either console", not echoed, "; ".join(echoed[:2]))
    ca.wait_for(r"^\[vm1\] HB vm=1 seq=4\b", timeout=60, since=0)
    idle_hosts(t, ca, cb)

    # 1. Wrong PSK: refused, guest stays on A.
    mark_a, mark_b = ca.mark(), cb.mark()
    ok, _ = ca.command("migrate 1 192.0.2.2", timeout=30)
    t.check("migrate 1 192.0.2.2 accepted by A's console", ok, str(ca.last_final))
    try:
        fl = ca.wait_for(r"^\[hv\] migrate: source FAILED: (.*)$", timeout=120, since=mark_a)
        t.check(
            "with a different PSK the migration fails on the handshake",
            "handshake" in fl.group(1).lower() or "channel" in fl.group(1).lower(),
            fl.group(1),
        )
    except ConsoleTimeout as e:
        t.check("with a different PSK the migration fails on the handshake", False, str(e)[:300])
    s_before = int(heartbeats(ca, "1")[-1].group(3))
    try:
        ca.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % (s_before + 2), timeout=60, since=mark_a)
        t.check(
            "after the refusal the guest keeps running on A",
            True,
            "seq %d, %d" % (s_before + 1, s_before + 2),
        )
    except ConsoleTimeout as e:
        t.check("after the refusal the guest keeps running on A", False, str(e)[:300])
    ok, reply = cb.command("vm list", timeout=30)
    b_vms = [ln for ln in reply if ln.startswith("vm ") and "state=running" in ln and "vm 1 " not in ln]
    t.check("B holds no migrated VM after the refusal", ok and not b_vms, " | ".join(reply))

    # 1b. Thrashing: the same hostile source keeps trying; B backs off and
    # rate-limits (A itself also waits out its own backoff, as a
    # well-behaved source does; a hostile one would not, B does not care).
    reached, held_back, t_end = 0, 0, time.time() + 120
    while reached < 5 and time.time() < t_end:
        ma = ca.mark()
        ok, reply = ca.command("migrate 1 192.0.2.2", timeout=30)
        wait = re.search(r"retry in (\d+) ms", " ".join(reply))
        if not ok and wait:
            held_back += 1  # A's own backoff: a well-behaved source waits
            time.sleep(min(int(wait.group(1)) / 1000.0, 20) + 0.3)
            continue
        try:
            ca.wait_for(r"^\[hv\] migrate: (source FAILED|vm 1: connection).*$", timeout=120, since=ma)
        except ConsoleTimeout:
            break
        reached += 1
    ok, reply = cb.command("migrate status", timeout=30)
    ctr = dict(re.findall(r"(\w+)=(\d+)", " ".join(ln for ln in reply if "MIGGUARD" in ln)))
    # Which side holds the retries back depends on timing (B's tokens refill while A
    # waits out its backoff); that one of them does is what must hold.
    refused_at_b = int(ctr.get("backoff_refused", 0)) + int(ctr.get("rate_limited", 0))
    t.check(
        "thrashing: B counts every failed handshake, and retries are held back (backoff at A, "
        "or backoff/rate limit at B)",
        int(ctr.get("hs_failed", 0)) >= 3 and held_back + refused_at_b >= 1,
        "held back at A %d; B: %s"
        % (held_back, " ".join("%s=%s" % kv for kv in sorted(ctr.items()) if kv[1] != "0")),
    )
    s_now = int(heartbeats(ca, "1")[-1].group(3))
    ca.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % (s_now + 1), timeout=60, since=0)
    t.check("through the hostile attempts the guest kept running on A", True)

    # 2. Same PSK: migrate in the middle of the workload.
    t.check("the right PSK typed on B's console", set_psk(cb, PSK_A))
    time.sleep(3)

    # 2a. Cancel in the middle of pre-copy: the guest stays on A, B scrubs. Start it
    # again until pre-copy really runs: B may still be backing off from the attempts above.
    started, t_end = False, time.time() + 180
    while not started and time.time() < t_end:
        ma, mb = ca.mark(), cb.mark()
        ok, reply = ca.command("migrate 1 192.0.2.2", timeout=30)
        wait = re.search(r"retry in (\d+) ms", " ".join(reply))
        if not ok:
            time.sleep(min(int(wait.group(1)) / 1000.0, 20) + 0.3 if wait else 3)
            continue
        m = ca.wait_for(
            r"^\[hv\] migrate: (vm 1 round \d+: .* state precopy|source FAILED|vm 1: connection).*$",
            timeout=120,
            since=ma,
        )
        started = "state precopy" in m.group(0)
        if not started:
            time.sleep(3)
    try:
        if not started:
            raise ConsoleTimeout("the migration to cancel never reached pre-copy")
        ok, _ = ca.command("migrate cancel", timeout=30)
        fl = ca.wait_for(r"^\[hv\] migrate: source FAILED: (.*)$", timeout=60, since=ma)
        t.check(
            "migrate cancel in pre-copy: the migration ends, cancelled",
            ok and "cancel" in fl.group(1),
            fl.group(1),
        )
        cb.wait_for(r"^\[hv\] migrate: incoming vm \d+ scrubbed and verified", timeout=60, since=mb)
        t.check("after the cancel B scrubs what it received", True)
    except ConsoleTimeout as e:
        t.check("migrate cancel in pre-copy", False, str(e)[:300])
    s_now = int(heartbeats(ca, "1")[-1].group(3))
    ca.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % (s_now + 1), timeout=60, since=0)
    t.check("after the cancel the guest keeps running on A", True)
    time.sleep(2)
    ok, _ = ca.command("migrate set bw_cap_kib 600", timeout=30)
    t.check("a bandwidth cap is set on A's console", ok, str(ca.last_final))
    ok, _ = ca.command("migrate peer lab-b 192.0.2.2", timeout=30)
    ok2, reply = ca.command("migrate status", timeout=30)
    t.check(
        "a named peer is set and listed",
        ok and ok2 and "peer: lab-b 192.0.2.2:7001" in reply,
        " | ".join(reply),
    )
    mark_a, mark_b = ca.mark(), cb.mark()
    ok, _ = ca.command("migrate 1 lab-b", timeout=30)
    t.check("migrate 1 lab-b (a named peer) started", ok, str(ca.last_final))
    live_bandwidth_cap(t, ca, mark_a)
    stat_a, stat_b = systest.migration_ends(t, ca, cb, mark_a, mark_b, timeout=300)
    t.check(
        "both sides emit a machine-readable MIGSTAT line with encryption on",
        bool(stat_a) and bool(stat_b) and " enc=1 " in stat_a[0] and " enc=1 " in stat_b[0],
        (stat_a[0][:160] if stat_a else "no src MIGSTAT"),
    )
    # Issue 13, finding 8: B queued CONFIRM last; a reset right after it could drop it.
    end = connection_end(pair.pcap, 7001)
    t.check(
        "B ends the migration's connection with a FIN after CONFIRM, not a reset",
        end is not None and end[0] >= 1 and end[1] == 0,
        "FIN/RST segments from B's port: %s" % (end,),
    )
    machine_lines(t, ca, cb, mark_a, stat_a, stat_b)
    bandwidth_followed(t, ca, mark_a)
    bw = re.search(r" bw_Bps=(\d+)", stat_a[0]) if stat_a else None
    t.check(
        "the migration kept to the 600 KiB/s cap",
        bool(bw) and int(bw.group(1)) <= 600 * 1024 * 11 // 10,
        "measured %s B/s" % (bw.group(1) if bw else "?"),
    )
    scrub = [
        ln for ln in ca.lines_since(mark_a) if "migrated away; memory and state scrubbed and verified" in ln
    ]
    t.check("A reports the guest migrated away and scrubbed", bool(scrub), scrub[0] if scrub else "")
    ok, reply = ca.command("vm list", timeout=30)
    v1 = [ln for ln in reply if ln.startswith("vm 1 ")]
    t.check("A's vm list: vm 1 stopped", bool(v1) and "state=stopped" in v1[0], v1[0] if v1 else "")

    newvm = re.search(r"becomes vm (\d+)", "\n".join(cb.lines_since(mark_b)))
    label = newvm.group(1) if newvm else "2"
    last_a = heartbeats(ca, "1")[-1]
    try:
        first = cb.wait_for(r"^\[vm%s\] HB vm=1 seq=(\d+)\b" % label, timeout=60, since=mark_b)
        cb.wait_for(
            r"^\[vm%s\] HB vm=1 seq=%d\b" % (label, int(first.group(1)) + 3), timeout=60, since=mark_b
        )
        cb.wait_for(r"^\[vm%s\] MEMCHECK ok pass=\d+" % label, timeout=120, since=mark_b)
    except ConsoleTimeout as e:
        t.check("the guest runs on B", False, str(e)[:300])
        raise
    t.check(
        "on B the heartbeat continues with the next sequence number",
        int(first.group(1)) == int(last_a.group(3)) + 1,
        "A's last seq %s, B's first seq %s" % (last_a.group(3), first.group(1)),
    )
    pages = data_pages(ca, 1)
    seed = seed_of(1)
    all_hb = heartbeats(ca, "1") + heartbeats(cb, label)
    bad = [m.group(0) for m in all_hb if m.group(6) != "%08x" % model.hb_sum(seed, pages, int(m.group(5)))]
    seqs = [int(m.group(3)) for m in all_hb]
    t.check(
        "heartbeat sequence unbroken across A and B",
        seqs == list(range(1, len(seqs) + 1)),
        "%d heartbeats" % len(seqs),
    )
    t.check(
        "every heartbeat checksum on A and B matches the guest model (no write lost)",
        not bad and len(all_hb) > 8,
        "; ".join(bad[:2]),
    )
    t.check("the memory self-check passes on B", True)
    vmcs_scrubbed(t, ca, cb, label)
    hostile_state(t, ca, cb, label)
    in_doubt(t, pair, ca, cb, label)
    bad_lines = [ln for c in cons for ln in c.lines_since(0) if "MEMCHECK FAIL" in ln or "PANIC" in ln]
    t.check("no MEMCHECK FAIL or PANIC anywhere", not bad_lines, "; ".join(bad_lines[:2]))
    pair.power_off()


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=900)
