#!/usr/bin/env python3
"""Hosted integration tests of live migration through tools/migsim (TCP + secure channel):
1 a written 256 MiB guest arrives byte for byte; 2 the same over an impaired link;
3 faults at every protocol step; 4 a guest outrunning the link; 5 a hostile peer.
No assertion depends on timing; every run has a generous timeout only."""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import time

from simlib import Sim  # the script's directory is on sys.path

HERE = os.path.dirname(os.path.abspath(__file__))

FAILS = []
PASSES = []


def check(cond, what):
    if cond:
        PASSES.append(what)
    else:
        FAILS.append(what)
        print("    FAIL:", what)
    return cond


def show(tag, r):
    st = r.stat
    print(
        "    %s: result=%s rounds=%s pages=%s zero=%s downtime_ms=%s predicted_ms=%s total_ms=%s "
        "enc=%s throttle=%s"
        % (
            tag,
            r.final.get("result"),
            st.get("rounds"),
            st.get("pages"),
            st.get("zero"),
            st.get("downtime_us", "0") and "%.1f" % (int(st.get("downtime_us", 0)) / 1000),
            st.get("predicted_ms"),
            st.get("total_ms"),
            st.get("enc"),
            st.get("throttle_pct"),
        )
    )


def verify_arrival(rs, rd, label, min_rounds=1):
    check(rs.final.get("result") == "done", label + ": source result done")
    check(rd.final.get("result") == "done", label + ": destination result done")
    check(rs.final.get("guest") == "moved-scrubbed", label + ": source scrubbed (zero-checked)")
    h1, h2 = rs.final.get("hash"), rd.final.get("hash")
    check(h1 and h1 == h2 and h1 != "0" * 16, label + ": memory hash at stop == at arrival (%s)" % h1)
    check(rs.final.get("pattern") == "ok", label + ": page-counter pattern at stop")
    check(rd.final.get("pattern") == "ok", label + ": page-counter pattern at arrival")
    check(rs.final.get("edge") == rs.final.get("cursor"), label + ": source edge == vCPU cursor")
    check(rd.final.get("cursor_matches") == "1", label + ": state blob cursor matches memory edge")
    check(rd.final.get("alive_after") == "1", label + ": guest runs on the destination")
    check(rd.final.get("pattern_after") == "1", label + ": pattern holds after running there")
    check(rd.final.get("frozen_when_paused") == "1", label + ": memory stops changing once paused there")
    check(int(rs.stat.get("rounds", 0)) >= min_rounds, label + ": >= %d pre-copy rounds" % min_rounds)
    check(int(rs.stat.get("zero", 0)) > 0, label + ": zero pages sent as markers")


def t1_clean(sim):
    print("== 1: 256 MiB guest written during migration (encrypted), byte-for-byte")
    # As QEMU's test does: first make convergence impossible (a 1 ms target is below the
    # fixed handoff cost, set here to the hypervisor's 2 ms), so already-sent pages are
    # dirtied again round after round; the round limit then ends pre-copy and the
    # stop-and-copy carries the rest. The link is capped at 400 MB/s so that the engines
    # wait for it and the writer thread gets CPU in every round (2 cores here).
    rs, rd = sim.pair(
        [
            "--mem-mib",
            "256",
            "--dirty-mibps",
            "128",
            "--downtime-ms",
            "1",
            "--max-rounds",
            "4",
            "--fixed-us",
            "2000",
            "--bw-mbps",
            "400",
            "--verify",
            "--policy",
            "required",
        ],
        ["--mem-mib", "256", "--verify", "--run-after-ms", "300"],
    )
    show("src", rs)
    verify_arrival(rs, rd, "256MiB/enc", min_rounds=4)
    redirtied = [int(x) for x in rs.stat.get("round_dirtied", "0").split(",") if x.isdigit()]
    # Rounds shrink about tenfold each; on an idle machine the last one can be shorter than
    # the writer's interval between two pages and rightly find nothing dirtied again.
    check(
        redirtied and redirtied[0] > 0 and sum(1 for x in redirtied if x > 0) >= 3,
        "256MiB/enc: sent pages dirtied again in at least 3 of the pre-copy rounds %s" % redirtied,
    )
    check(rs.stat.get("forced_stop") == "1", "256MiB/enc: round limit ended pre-copy")
    check(rs.stat.get("enc") == "1", "256MiB/enc: channel encrypted")
    check(
        int(rs.stat.get("stop_prepared", 0)) > 0,
        "256MiB/enc: keystream for the stop-and-copy ready at the pause (%s frames)"
        % rs.stat.get("stop_prepared"),
    )
    print("== 1b: the same in plaintext (policy disabled both sides), 64 MiB")
    rs, rd = sim.pair(
        ["--mem-mib", "64", "--dirty-mibps", "64", "--downtime-ms", "10", "--verify", "--policy", "disabled"],
        ["--mem-mib", "64", "--verify", "--run-after-ms", "200", "--policy", "disabled"],
    )
    show("src", rs)
    verify_arrival(rs, rd, "64MiB/plain")
    check(rs.stat.get("enc") == "0", "64MiB/plain: channel not encrypted")
    check(rs.stat.get("stop_prepared") == "0", "64MiB/plain: no keystream to prepare")
    print("== 1d: keystream made on a second thread on both sides (--ks-thread 1), 64 MiB")
    rs, rd = sim.pair(
        ["--mem-mib", "64", "--dirty-mibps", "64", "--downtime-ms", "10", "--verify", "--ks-thread", "1"],
        ["--mem-mib", "64", "--verify", "--run-after-ms", "200", "--ks-thread", "1"],
    )
    show("src", rs)
    verify_arrival(rs, rd, "64MiB/ks-thread")
    check(rs.stat.get("enc") == "1", "64MiB/ks-thread: channel encrypted")
    check(
        float(rs.final.get("cpu_ks_thread_s", 0)) > 0 and float(rd.final.get("cpu_ks_thread_s", 0)) > 0,
        "64MiB/ks-thread: both keystream threads did work (%s / %s s)"
        % (rs.final.get("cpu_ks_thread_s"), rd.final.get("cpu_ks_thread_s")),
    )
    print("== 1c: mismatched PSK must fail, guest stays on the source")
    rs, rd = sim.pair(["--mem-mib", "16", "--retries", "0"], ["--mem-mib", "16"], src_psk=sim.wrong_psk_file)
    check(
        rs.final.get("result") == "handshake-failed",
        "wrong PSK: source handshake-failed (%s)" % rs.final.get("result"),
    )
    check(rs.final.get("guest") == "running", "wrong PSK: guest running on source")
    check(rd.final.get("mem") == "zero", "wrong PSK: destination holds nothing")


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def netns_setup():
    """Two namespaces joined by a veth pair, a rate limit (tbf) and 1 % random loss (nft, on input) on
    both ends. Returns (ns_src, ns_dst, dst_addr) or None when this host cannot do it."""
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tc") or not shutil.which("nft"):
        return None
    sfx = str(os.getpid() % 100000)
    a, b = "migA" + sfx, "migB" + sfx
    va, vb = "mva" + sfx, "mvb" + sfx
    cmds = [
        f"ip netns add {a}",
        f"ip netns add {b}",
        f"ip link add {va} type veth peer name {vb}",
        f"ip link set {va} netns {a}",
        f"ip link set {vb} netns {b}",
        f"ip -n {a} addr add 198.18.0.1/24 dev {va}",
        f"ip -n {b} addr add 198.18.0.2/24 dev {vb}",
        f"ip -n {a} link set {va} up",
        f"ip -n {b} link set {vb} up",
        f"ip -n {a} link set lo up",
        f"ip -n {b} link set lo up",
    ]
    for ns, dev in ((a, va), (b, vb)):
        cmds += [
            f"ip netns exec {ns} tc qdisc add dev {dev} root tbf rate 400mbit burst 256kb latency 20ms",
            f"ip netns exec {ns} nft add table inet imp",
            # Dropped on input: a drop on output is reported to the local TCP, not lost.
            f"ip netns exec {ns} nft 'add chain inet imp in {{ type filter hook input priority 0; }}'",
            f"ip netns exec {ns} nft add rule inet imp in iifname {dev} numgen random mod 100 '<' 1 drop",
        ]
    for c in cmds:
        r = sh(c)
        if r.returncode:
            print("    netns set-up failed at:", c, r.stderr.strip())
            netns_teardown((a, b, None))
            return None
    return a, b, "198.18.0.2"


def netns_teardown(ns):
    for n in ns[:2]:
        sh(f"ip netns del {n}")


def start_relay(ns, listen, to, delay=0.02):
    cmd = [
        sys.executable,
        os.path.join(HERE, "delay_relay.py"),
        "--listen",
        listen,
        "--to",
        to,
        "--delay",
        str(delay),
    ]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p.stdout.readline()  # "relay listening"
    return p


def t2_impaired(sim):
    ns = netns_setup()
    port = sim.next_port()
    rport = sim.next_port()
    sargs = [
        "--mem-mib",
        "64",
        "--dirty-mibps",
        "16",
        "--downtime-ms",
        "300",
        "--verify",
        "--stall-ms",
        "20000",
    ]
    dargs = ["--mem-mib", "64", "--verify", "--run-after-ms", "200", "--stall-ms", "20000"]
    if ns:
        print(
            "== 2: impaired link: network namespaces + veth, tbf 400 Mbit/s and 1 % random loss "
            "(nft, on input) on "
            "both ends, plus 20 ms each way by a userspace delay relay (sch_netem is not in this kernel)"
        )
        a, b, addr = ns
        try:
            d = sim.start_dst(dargs, port, ns=b)
            relay = start_relay(b, "0.0.0.0:%d" % rport, "127.0.0.1:%d" % port)
            s = sim.start_src(["--addr", addr] + sargs, rport, ns=a)
            rs = sim.finish(s, 240)
            rd = sim.finish(d, 30)
            relay.kill()
            snmp = sh(f"ip netns exec {a} cat /proc/net/snmp").stdout.splitlines()
            tcp = [ln.split() for ln in snmp if ln.startswith("Tcp:")]
            retrans = int(dict(zip(tcp[0], tcp[1])).get("RetransSegs", 0)) if len(tcp) == 2 else 0
            show("src", rs)
            print("    source namespace: %d TCP segments retransmitted (the loss was real)" % retrans)
            verify_arrival(rs, rd, "impaired")
            check(retrans > 0, "impaired: packets were lost and retransmitted")
        finally:
            netns_teardown(ns)
    else:
        print("== 2: impaired link (no namespaces here): userspace relay, 20 ms each way, 40 MB/s cap")
        d = sim.start_dst(dargs, port)
        relay = start_relay(None, "127.0.0.1:%d" % rport, "127.0.0.1:%d" % port)
        s = sim.start_src(sargs + ["--bw-mbps", "40"], rport)
        rs = sim.finish(s, 240)
        rd = sim.finish(d, 30)
        relay.kill()
        show("src", rs)
        verify_arrival(rs, rd, "impaired(relay)")


SRC_STATES = [
    "handshake",
    "announce",
    "wait-accept",
    "precopy",
    "round-end",
    "stop",
    "final",
    "state",
    "wait-ready",
    "commit",
    "wait-confirm",
]
DST_STATES = ["handshake", "wait-announce", "receive", "wait-commit", "resume", "confirm"]
LINK_ERRS = {"transport-error", "peer-closed"}


def judge_fault(mode, side, state, rs, rd):
    """The rules of docs/migration.md for one injected fault. Returns a list of failures."""
    bad = []
    fired = (rs if side == "src" else rd).fault is not None
    dst_has = rd.final.get("result") == "done"
    sg = rs.final.get("guest")
    src_alive = not (side == "src" and mode in ("kill", "stall"))
    dst_alive = not (side == "dst" and mode in ("kill", "stall"))
    if dst_has and sg == "running":
        bad.append("two runnable copies")
    if dst_alive and not dst_has:
        mems = [a.get("mem") for a in rd.attempts] + [rd.final.get("mem")]
        if any(m not in ("zero", "guest", None) for m in mems) or rd.final.get("mem") != "zero":
            bad.append("destination holds data after failure: %s" % mems)
    if src_alive:
        if rs.final.get("result") == "done":
            if not dst_has and dst_alive:
                bad.append("source done but destination not running")
        elif sg not in ("running", "paused-in-doubt"):
            bad.append("source guest %s" % sg)
        # A corrupt fault armed in wait-ready hits the next frame sent, which is COMMIT.
        first_doubt = "wait-ready" if mode == "corrupt" else "commit"
        if (
            sg == "paused-in-doubt"
            and side == "src"
            and SRC_STATES.index(state) < SRC_STATES.index(first_doubt)
        ):
            bad.append("in doubt before COMMIT")
    if not fired:
        return bad, False
    # Specific errors, as seen by the side that did not inject (or both for a cut).
    se = rs.final.get("result")
    de = rd.attempts[-1].get("attempt_failed") if rd.attempts else rd.final.get("result")
    other = se if side == "dst" else de
    other_alive = src_alive if side == "dst" else dst_alive
    if other_alive and not (dst_has or se == "done"):
        if mode in ("cut", "kill") and other not in LINK_ERRS | {"in-doubt", "handshake-failed"}:
            bad.append("%s: other side error %s" % (mode, other))
        if mode == "stall" and other not in ("peer-stalled", "in-doubt", "handshake-failed"):
            bad.append("stall: other side error %s" % other)
        if mode == "corrupt":
            errs = {se, de}
            names = {rs.final.get("detail_name"), (rd.attempts[-1] if rd.attempts else {}).get("detail_name")}
            if not ({"channel-rejected-frame", "handshake-failed"} & errs) and not (
                {"HVC_E_AUTH_TAG"} & names
            ):
                bad.append("corrupt: errors %s %s" % (errs, names))
    return bad, True


def t3_faults(sim, quick):
    print("== 3: faults at every protocol step (cut, kill, corrupt, stall) x (source, destination)")
    modes = ["cut", "kill", "corrupt", "stall"]
    reached = total = 0
    for mode in modes:
        for side, states in (("src", SRC_STATES), ("dst", DST_STATES)):
            for state in states:
                if quick and state not in ("precopy", "wait-confirm", "receive"):
                    continue
                f = ["--fault", "%s@%s" % (mode, state)]
                common = ["--mem-mib", "16", "--stall-ms", "1500", "--warmup-ms", "50"]
                sargs = (
                    common
                    + ["--dirty-mibps", "32", "--downtime-ms", "5", "--retries", "0"]
                    + (f if side == "src" else [])
                )
                dargs = common + (f if side == "dst" else [])
                rs, rd = sim.pair(sargs, dargs, timeout=60)
                bad, fired = judge_fault(mode, side, state, rs, rd)
                total += 1
                reached += fired
                se = rs.final.get("result")
                de = rd.attempts[-1].get("attempt_failed") if rd.attempts else rd.final.get("result")
                print(
                    "    %-7s %s@%-13s src=%-22s guest=%-16s dst=%-22s dst_mem=%-5s %s"
                    % (
                        mode,
                        side,
                        state,
                        se,
                        rs.final.get("guest"),
                        de,
                        rd.final.get("mem"),
                        "ok" if not bad else "; ".join(bad),
                    )
                    + ("" if fired else " (not reached)")
                )
                check(not bad, "fault %s@%s:%s" % (side, state, mode))
    check(reached >= total * 3 // 4, "faults: %d of %d injection points reached" % (reached, total))


def t4_outrun(sim):
    print("== 4: guest dirtying faster than the link (128 MiB/s vs 40 MB/s)")
    base = ["--mem-mib", "32", "--dirty-mibps", "128", "--bw-mbps", "40", "--downtime-ms", "100", "--verify"]
    rs, rd = sim.pair(
        base + ["--outrun", "throttle"], ["--mem-mib", "32", "--verify", "--run-after-ms", "200"], timeout=180
    )
    show("throttle", rs)
    verify_arrival(rs, rd, "outrun/throttle")
    check(
        int(rs.stat.get("throttle_pct", 0)) > 0,
        "outrun/throttle: vCPU throttled (%s %%)" % rs.stat.get("throttle_pct"),
    )
    check(int(rs.stat.get("rounds", 99)) < 30, "outrun/throttle: bounded rounds (%s)" % rs.stat.get("rounds"))
    # The capped link makes the source wait most of the time: it must sleep, not spin (a
    # poll for a writable socket while the cap's bucket was in debt returned at once:
    # ~980,000 turns of the loop for this run instead of ~300).
    frames = int(rs.final.get("bytes_out", 0)) // (64 * 4096) + 1
    loops = int(rs.final.get("loops", 10**9))
    check(
        loops <= 20 * frames + 2000,
        "outrun/throttle: the source waits on the capped link instead of spinning "
        "(%d turns of its loop for ~%d frames)" % (loops, frames),
    )
    rs, rd = sim.pair(base + ["--outrun", "abort"], ["--mem-mib", "32"], timeout=180)
    show("abort", rs)
    check(rs.final.get("result") == "not-converging", "outrun/abort: source reports not-converging")
    check(rs.final.get("guest") == "running", "outrun/abort: guest keeps running on the source")
    check(
        int(rs.stat.get("rounds", 99)) <= 4, "outrun/abort: gave up after %s rounds" % rs.stat.get("rounds")
    )
    check(rd.final.get("mem") == "zero", "outrun/abort: destination scrubbed")
    check(
        any(
            a.get("attempt_failed") == "peer-aborted" and a.get("detail_name") == "not-converging"
            for a in rd.attempts
        ),
        "outrun/abort: destination told why",
    )


def hostile_conn(addr, port, payload, hold=0.0):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(addr, 0))
        if payload:
            s.sendall(payload)
        time.sleep(hold)
        s.close()
    except OSError:
        pass


def t5_hostile(sim):
    print("== 5: hostile peer: junk handshakes and a flood of requests, then a real migration")
    port = sim.next_port()
    d = sim.start_dst(
        [
            "--mem-mib",
            "64",
            "--serve",
            "40",
            "--rate-burst",
            "3",
            "--rate-refill-ms",
            "60000",
            "--backoff-ms",
            "5000",
            "--verify",
            "--run-after-ms",
            "100",
        ],
        port,
    )
    junk = b"\x01\x01\x00\x00\x00\x00\x00\x2c" + b"\xff" * 60
    for _ in range(10):
        hostile_conn("127.0.0.3", port, junk, 0.05)
    # A real client with the wrong key, from another address: authentication fails, backoff.
    s = sim.start_src(
        ["--mem-mib", "64", "--bind", "127.0.0.5", "--retries", "0"], port, psk=sim.wrong_psk_file
    )
    sim.finish(s, 30)
    for _ in range(3):
        hostile_conn("127.0.0.5", port, junk, 0.05)
    # Thrashing with a valid key: start a migration, cut it, start again...
    for _ in range(5):
        s = sim.start_src(
            ["--mem-mib", "64", "--bind", "127.0.0.6", "--retries", "0", "--fault", "cut@precopy"], port
        )
        sim.finish(s, 30)
    # The legitimate source migrates; while it does, another request for the same guest.
    s = sim.start_src(
        ["--mem-mib", "64", "--bind", "127.0.0.2", "--bw-mbps", "20", "--dirty-mibps", "4", "--verify"], port
    )
    time.sleep(1.2)  # the migration takes about 3.5 s at 20 MB/s
    hostile_conn("127.0.0.4", port, b"", 0.3)
    rs = sim.finish(s, 60)
    rd = sim.finish(d, 30)
    g = rd.guard
    print("    " + " ".join("%s=%s" % kv for kv in g.items()))
    check(rs.final.get("result") == "done", "hostile: legitimate migration still succeeds")
    check(rs.final.get("hash") == rd.final.get("hash"), "hostile: memory intact")
    check(int(g.get("hs_failed", 0)) >= 2, "hostile: failed handshakes counted")
    check(int(g.get("backoff_refused", 0)) >= 1, "hostile: backoff refusals counted")
    check(int(g.get("rate_limited", 0)) >= 1, "hostile: rate limiting counted")
    check(int(g.get("busy_refused", 0)) >= 1, "hostile: second migration of the same guest refused")
    check(int(g.get("completed", 0)) == 1, "hostile: exactly one completed migration")
    check(int(g.get("failed", 0)) >= 3, "hostile: thrashing attempts ended as failures")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--migsim", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    sim = Sim(a.migsim)
    t0 = time.time()
    tests = [
        ("1", t1_clean),
        ("2", t2_impaired),
        ("3", lambda s: t3_faults(s, a.quick)),
        ("4", t4_outrun),
        ("5", t5_hostile),
    ]
    for name, fn in tests:
        if a.only and name not in a.only.split(","):
            continue
        t = time.time()
        fn(sim)
        print("   (%.1f s)" % (time.time() - t))
    print(
        "migrate sim tests: %d checks passed, %d failed, %.0f s" % (len(PASSES), len(FAILS), time.time() - t0)
    )
    if FAILS:
        for f in FAILS:
            print("  FAILED:", f)
        sys.exit(1)


if __name__ == "__main__":
    main()
