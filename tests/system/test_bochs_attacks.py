#!/usr/bin/env python3
"""Attacks on live migration, against the real hypervisor in two Bochs instances
wired through tools/netrelay.py (which captures, tampers with and cuts the link).

  python3 tests/system/test_bochs_attacks.py --iso build/hv-mig.iso --workdir build/systest-attacks
  python3 tests/system/test_bochs_attacks.py --guest linux --iso build/hv-linux-mig.iso \
      --workdir build/systest-attacks-linux

With --guest linux every guest that moves is a running Linux (the tiny 6.1 kernel with
the hbinit workload, which keeps the same canary): Bochs gets 256 MiB per side and the
downtime target is 1000 ms (docs/demo.md says why).

The test guests keep a secret canary in memory ("HVCANARY-...-SECRET", made by
the guest from its seed, guest/model.py: canary()). Checks:
 1. snooping: with encryption required the link capture of a whole migration
    holds no copy of the canary; with the policy disabled on both sides it does
    (so the check can fail); that second destination behaves as a CPU without
    PML (`debug hide-pml`) and must run the arriving guest with A/D tracking;
 2. downgrade: a peer that only accepts plaintext cannot make a source that
    requires encryption send in the clear: the handshake refuses;
 3. tampering: one data segment rewritten on the link (TCP checksum fixed, so
    only the channel's tag can notice) aborts the migration; the guest keeps
    running on A with its heartbeats unbroken, B scrubs what it received and
    gives the arrival's slot and memory back;
 4. smash-and-grab: B killed in the middle of a migration: the guest keeps
    running on A;
 5. readable remains: after a successful migration the canary appears nowhere in
    A's memory outside live guests (`debug scan`), and on B only inside the
    guest that now runs there.
Prints PASS/FAIL lines and `N passed, N failed`; exit 0 only if all passed.
"""
import os
import re
import struct
import sys
import time

import systest
from systest import HB, ConsoleTimeout, free_kib, model, seed_of, set_psk, vm_states


MIG_PORT = 7001


def masked_hex(secret):
    return bytes(b ^ 0x5A for b in secret).hex()


def tcp_segment(frame):
    """(ip header offset, tcp header offset, payload offset, payload length, dport) or None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00":
        return None
    ip = 14
    ihl = (frame[ip] & 15) * 4
    if frame[ip + 9] != 6:
        return None
    total = struct.unpack(">H", frame[ip + 2 : ip + 4])[0]
    tcp = ip + ihl
    doff = (frame[tcp + 12] >> 4) * 4
    pay = tcp + doff
    plen = ip + total - pay
    dport = struct.unpack(">H", frame[tcp + 2 : tcp + 4])[0]
    return ip, tcp, pay, plen, dport


def tcp_checksum(frame, ip, tcp, seg_len):
    src, dst = frame[ip + 12 : ip + 16], frame[ip + 16 : ip + 20]
    data = src + dst + struct.pack(">BBH", 0, 6, seg_len) + frame[tcp : tcp + seg_len]
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Tamper:
    """Rewrites one byte in the payload of the Nth large A->B segment to the
    migration port and fixes the TCP checksum: only the channel can notice."""

    def __init__(self, nth):
        self.nth, self.seen, self.done = nth, 0, False

    def __call__(self, direction, frame):
        if self.done or direction != "a2b":
            return frame
        t = tcp_segment(frame)
        if not t or t[4] != MIG_PORT or t[3] < 1000:
            return frame
        self.seen += 1
        if self.seen < self.nth:
            return frame
        ip, tcp, pay, plen, _ = t
        f = bytearray(frame)
        f[pay + plen // 2] ^= 0x01
        f[tcp + 16 : tcp + 18] = b"\0\0"
        seg_len = struct.unpack(">H", bytes(f[ip + 2 : ip + 4]))[0] - (tcp - ip)
        f[tcp + 16 : tcp + 18] = struct.pack(">H", tcp_checksum(bytes(f), ip, tcp, seg_len))
        self.done = True
        return bytes(f)


def pcap_slice(path, start):
    with open(path, "rb") as f:
        f.seek(start)
        return f.read()


def migrate(ca, cb, vm, timeout=300):
    """Runs `migrate vm B`; returns (source result line, destination line or None)."""
    ma, mb = ca.mark(), cb.mark()
    ok, _ = ca.command("migrate %d 192.0.2.2" % vm, timeout=30)
    if not ok:
        return "refused by the console: %s" % ca.last_final, None
    src = ca.wait_for(
        r"^\[hv\] migrate: (source done|source FAILED|vm %d: connection).*$" % vm, timeout=timeout, since=ma
    ).group(0)
    dst = None
    try:
        dst = cb.wait_for(r"^\[hv\] migrate: destination (done|FAILED).*$", timeout=30, since=mb).group(0)
    except ConsoleTimeout:
        pass
    return src, dst


def keeps_running(con, vm_label, timeout=60):
    seqs = [
        int(m.group(3)) for ln in con.lines_since(0) for m in [HB.match(ln)] if m and m.group(1) == vm_label
    ]
    last = seqs[-1] if seqs else 0
    con.wait_for(r"^\[vm%s\] HB vm=\d+ seq=%d\b" % (vm_label, last + 2), timeout=timeout, since=0)
    seqs = [
        int(m.group(3)) for ln in con.lines_since(0) for m in [HB.match(ln)] if m and m.group(1) == vm_label
    ]
    return (
        seqs == list(range(1, len(seqs) + 1)),
        "seq %d..%d unbroken" % (seqs[0], seqs[-1]) if seqs else "none",
    )


GUEST = "work"


def new_guest(con):
    ok, reply = con.command("vm create " + GUEST, timeout=60)
    vm = int(re.match(r"created vm (\d+)", reply[0]).group(1))
    mark = con.mark()
    con.command("vm start %d" % vm, timeout=30)
    con.wait_for(r"^\[vm%d\] HB vm=%d seq=3\b" % (vm, vm), timeout=180, since=mark)
    return vm


def checks(t):
    pair = t.pair()
    cons, pcap, relay = pair.cons, pair.pcap, pair.relay
    psk = os.urandom(32).hex()
    ca, cb = pair.start(**({"megs": 256} if GUEST == "linux" else {}))
    cb.command("vm stop 1", timeout=30)  # B starts empty: every guest there came by migration
    if GUEST == "linux":
        ca.command("migrate set downtime_ms 1000", timeout=30)
    for c, ip in ((ca, "192.0.2.1/24"), (cb, "192.0.2.2/24")):
        c.command("net up " + ip, timeout=30)
        set_psk(c, psk)
    ca.wait_for(r"^\[vm1\] HB vm=1 seq=3\b", timeout=180, since=0)

    # 1a. Snooping, encryption required (the default).
    c1 = model.canary(seed_of(1))
    off = os.path.getsize(pcap)
    src, dst = migrate(ca, cb, 1)
    t.check("encrypted migration of vm 1 succeeds", "source done" in src and dst and "done" in dst, src)
    wire = pcap_slice(pcap, off)
    t.check(
        "snooping: the capture of the encrypted migration holds no canary",
        len(wire) > 3_000_000 and c1 not in wire,
        "%d bytes captured, canary %s" % (len(wire), "FOUND" if c1 in wire else "absent"),
    )

    # 5. Readable remains after success.
    ok, reply = ca.command("debug scan " + masked_hex(c1), timeout=120)
    line = next((ln for ln in reply if ln.startswith("scan: ") and "pages scanned" in ln), "")
    t.check(
        "A's memory holds the canary nowhere outside live guests after the migration",
        ok and " 0 matches outside live guests" in line and " 0 inside live guests" in line,
        " | ".join(reply),
    )
    ok, reply = cb.command("debug scan " + masked_hex(c1), timeout=120)
    line = next((ln for ln in reply if "pages scanned" in ln), "")
    m = re.search(r"(\d+) matches outside live guests, (\d+) inside", line)
    t.check(
        "B holds the canary only inside the guest that runs there",
        ok and m and m.group(1) == "0" and int(m.group(2)) > 0,
        " | ".join(reply),
    )

    # 1b. Snooping with the policy disabled on both: the canary is on the wire. B now acts
    # as a CPU without PML, A's guest tracks by PML: B must take it with A/D tracking.
    for c in cons:
        c.command("migrate set mig_policy disabled", timeout=30)
    ok_hide, _ = cb.command("debug hide-pml", timeout=30)
    vm2 = new_guest(ca)
    c2 = model.canary(seed_of(vm2))
    off = os.path.getsize(pcap)
    src, dst = migrate(ca, cb, vm2)
    wire = pcap_slice(pcap, off)
    t.check("plaintext migration (policy disabled on both) succeeds", "source done" in src, src)
    t.check(
        "with encryption disabled the capture does hold the canary (the check can fail)",
        c2 in wire,
        "%d bytes captured" % len(wire),
    )
    arrived = [re.search(r"becomes vm (\d+)$", ln) for ln in cb.lines_since(0)]
    arrived = [x.group(1) for x in arrived if x]
    ok, reply = cb.command("vm list", timeout=30)
    row = [ln for ln in reply if arrived and ln.startswith("vm %s " % arrived[-1])]
    running, why = False, "no arrival on B"
    if arrived:
        hb_b = [m for m in (HB.match(ln) for ln in cb.lines_since(0)) if m and m.group(1) == arrived[-1]]
        last = int(hb_b[-1].group(3)) if hb_b else 0
        try:
            cb.wait_for(r"^\[vm%s\] HB vm=\d+ seq=%d\b" % (arrived[-1], last + 2), timeout=60, since=0)
            running, why = True, "heartbeats on B up to seq %d" % (last + 2)
        except ConsoleTimeout as e:
            why = str(e)[:200]
    t.check(
        "a destination without PML takes a guest that tracked by PML: it runs there, tracked by A/D",
        ok_hide and row and "state=running" in row[0] and "track=ad" in row[0] and running,
        "%s; %s" % (row[0] if row else " | ".join(reply), why),
    )

    # 2. Downgrade: A requires encryption, B only accepts plaintext.
    ca.command("migrate set mig_policy required", timeout=30)
    vm3 = new_guest(ca)
    src, dst = migrate(ca, cb, vm3)
    t.check(
        "downgrade refused: a source requiring encryption will not talk to a plaintext-only peer",
        "FAILED" in src,
        src,
    )
    ok, why = keeps_running(ca, str(vm3))
    t.check("after the refused downgrade vm %d keeps running on A" % vm3, ok, why)
    cb.command("migrate set mig_policy required", timeout=30)
    time.sleep(3)  # failed handshakes put the peer in backoff for a while

    # 3. Tampering: one rewritten data segment.
    free_b0, ids_b0 = free_kib(cb), vm_states(cb)
    tamper = Tamper(nth=200)
    relay.set_filter(tamper)
    src, dst = migrate(ca, cb, vm3)
    relay.set_filter(None)
    t.check(
        "tampering: one rewritten segment aborts the migration",
        tamper.done and "FAILED" in src,
        "tampered=%s; %s" % (tamper.done, src),
    )
    t.check(
        "tampering: the destination fails and scrubs what it received",
        bool(dst)
        and "FAILED" in dst
        and any(re.search(r"incoming vm \d+ scrubbed and verified", ln) for ln in cb.lines_since(0)),
        str(dst),
    )
    ok, why = keeps_running(ca, str(vm3))
    t.check("after the tampering vm %d keeps running on A, heartbeats unbroken" % vm3, ok, why)
    free_b1, ids_b1 = free_kib(cb), vm_states(cb)
    t.check(
        "tampering: B gives the failed arrival's slot and every page back",
        free_b1 == free_b0 > 0 and ids_b1 == ids_b0,
        "free %d -> %d KiB; vm list %s -> %s" % (free_b0, free_b1, ids_b0, ids_b1),
    )

    # 4. Smash-and-grab: B dies in the middle.
    time.sleep(3)
    ma = ca.mark()
    killer = {"n": 0}

    def count_then_cut(direction, frame):
        killer["n"] += direction == "a2b"
        return frame

    relay.set_filter(count_then_cut)
    ok, _ = ca.command("migrate %d 192.0.2.2" % vm3, timeout=30)
    deadline = time.time() + 120
    while killer["n"] < 400 and time.time() < deadline:
        time.sleep(0.05)
    pair.insts[1].stop()  # B is gone, mid-migration
    relay.set_filter(None)
    try:
        fl = ca.wait_for(r"^\[hv\] migrate: source FAILED: (.*)$", timeout=240, since=ma)
        t.check("B killed mid-migration: A's migration fails", True, fl.group(1))
    except ConsoleTimeout as e:
        t.check("B killed mid-migration: A's migration fails", False, str(e)[:300])
    ok, why = keeps_running(ca, str(vm3))
    t.check("B killed mid-migration: vm %d keeps running on A" % vm3, ok, why)
    bad = [ln for ln in ca.lines_since(0) if "MEMCHECK FAIL" in ln or "PANIC" in ln]
    t.check("no MEMCHECK FAIL or PANIC on A", not bad, "; ".join(bad[:2]))
    pair.power_off(sides="A")


def options(ap):
    ap.add_argument("--guest", choices=["work", "linux"], default="work", help="the guest kind that moves")


def main():
    global GUEST
    t = systest.SysTest(__doc__, 1500, options=options)
    GUEST = t.args.guest
    sys.exit(t.run(checks))


if __name__ == "__main__":
    main()
