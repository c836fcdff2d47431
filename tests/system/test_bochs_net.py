#!/usr/bin/env python3
"""Full-system test of the hypervisor's network under Bochs: two instances, each
with an e1000, wired through tools/netrelay.py (which captures the link).

  python3 tests/system/test_bochs_net.py --iso build/hv.iso --workdir build/systest-net

Checks: `net up` from the console on both; a verified TCP echo A->B and B->A
(lwIP over our e1000 driver, every byte checked by the client); the capture
holds the traffic; bad `net` commands get `error:`; a burst of random and
truncated Ethernet frames injected into B's NIC changes nothing (B still answers,
its guests still run, a second echo passes); both power off cleanly.
Prints PASS/FAIL lines and `N passed, N failed`; exit 0 only if all passed.
"""
import os
import random
import re
import socket
import time

import systest
from systest import ConsoleTimeout


def echo(con, t, name, dst, nbytes):
    mark = con.mark()
    ok, _ = con.command("net echo %s %d" % (dst, nbytes), timeout=30)
    if not t.check(name + " started", ok, str(con.last_final)):
        return
    try:
        m = con.wait_for(r"^\[hv\] net echo: (.*)$", timeout=180, since=mark)
        res = m.group(1)
        t.check(name, res.endswith(" ok") and res.startswith("%d bytes verified" % nbytes), res)
    except ConsoleTimeout as e:
        t.check(name, False, str(e)[:300])


def checks(t):
    pair = t.pair()
    cons = pair.cons
    ca, cb = pair.start()

    ok, reply = ca.command("net status", timeout=30)
    t.check(
        "net status before configuration says down",
        ok and any("net: down" in ln for ln in reply),
        " | ".join(reply),
    )
    for c, ip in ((ca, "192.0.2.1/24"), (cb, "192.0.2.2/24")):
        mark = c.mark()
        ok, _ = c.command("net up " + ip, timeout=30)
        good = ok
        try:
            c.wait_for(
                r"^\[hv\] net: e1000 52:54:00:00:00:0. at %s, link up" % re.escape(ip), timeout=30, since=mark
            )
        except ConsoleTimeout:
            good = False
        t.check("net up %s" % ip, good, str(c.last_final))
    ok, _ = ca.command("net up 192.0.2.9/24", timeout=30)
    t.check("a second net up is refused", not ok and "already up" in str(ca.last_final), str(ca.last_final))
    for bad in (
        "net up 300.1.1.1/24",
        "net up 192.0.2.1/40",
        "net echo 192.0.2.2",
        "net echo nowhere 10",
        "net echo 192.0.2.2 0",
        "net frob",
    ):
        ok, _ = ca.command(bad, timeout=30)
        t.check(
            "bad command '%s' answered with error:" % bad,
            not ok and str(ca.last_final).startswith("error: "),
            str(ca.last_final),
        )

    echo(ca, t, "echo A->B 1 MiB verified", "192.0.2.2", 1 << 20)
    echo(cb, t, "echo B->A 256 KiB verified", "192.0.2.1", 256 << 10)
    cap = os.path.getsize(pair.pcap)
    t.check(
        "the link capture holds the traffic",
        cap > (1 << 20) and pair.relay.frames["a2b"] > 700,
        "%d bytes, frames %s" % (cap, pair.relay.frames),
    )

    def rx_count():
        ok, reply = cb.command("net status", timeout=30)
        m = [re.search(r"rx_frames=(\d+) .*rx_errors=(\d+)", ln) for ln in reply]
        m = [x for x in m if x]
        return int(m[0].group(1)) + int(m[0].group(2)) if ok and m else -1

    # Hostile frames straight into B's NIC: random, truncated, oversized-looking.
    before = rx_count()
    rnd = random.Random(7)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(300):
        n = rnd.choice([1, 6, 13, 14, 15, 42, 60, 61, 200, 1500, 1514])
        frame = bytes(rnd.getrandbits(8) for _ in range(n))
        if i % 3 == 0:  # aimed at B: its MAC, IPv4 ethertype, garbage after
            frame = (
                bytes.fromhex("5254000000 0b".replace(" ", ""))
                + frame[6:12].ljust(6, b"\0")
                + b"\x08\x00"
                + frame[14:]
            )
        s.sendto(frame, ("127.0.0.1", pair.ports[1]))
    s.close()
    time.sleep(3)  # Bochs takes in about one frame per emulated millisecond
    after = rx_count()
    # About 100 are addressed to B; the NIC's own address filter drops the rest.
    t.check(
        "B took in the hostile frames and still answers",
        before >= 0 and after - before >= 40,
        "NIC frames before %d, after %d" % (before, after),
    )
    echo(ca, t, "echo A->B after the hostile frames", "192.0.2.2", 128 << 10)
    try:
        mark = cb.mark()
        cb.wait_for(r"^\[vm1\] HB ", timeout=60, since=mark)
        t.check("B's guests still run", True)
    except ConsoleTimeout as e:
        t.check("B's guests still run", False, str(e)[:200])

    bad = [ln for c in cons for ln in c.lines_since(0) if "PANIC" in ln or "MEMCHECK FAIL" in ln]
    t.check("no PANIC or MEMCHECK FAIL on either console", not bad, "; ".join(bad[:3]))
    pair.power_off()


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=400)
