"""What the full-system tests share: PASS/FAIL accounting, the relay's ports,
PSK entry on a console, and reading the test guest's heartbeats."""
import os
import random
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "guest"))

HB = re.compile(r"^\[vm(\d+)\] HB vm=(\d+) seq=(\d+) t_us=(\d+) writes=(\d+) sum=([0-9a-f]{8})")
START = re.compile(r"^\[vm(\d+)\] GUEST start vm=(\d+) mode=work mem=\d+KiB pages=(\d+)")


class Result:
    """Prints one PASS/FAIL line per check and the closing `N passed, N failed`."""

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        ok = bool(ok)
        print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)
        self.passed += ok
        self.failed += not ok
        return ok

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def free_udp_pairs():
    """Two Bochs `ethmod=socket` ports P and P+10, with P, P+1, P+10, P+11 free."""
    for _ in range(200):
        p = random.randrange(24000, 30000, 2)
        socks = []
        try:
            for q in (p, p + 1, p + 10, p + 11):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", q))
                socks.append(s)
            return p, p + 10
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP ports for the relay")


def set_psk(con, psk):
    """Types the PSK on the line the console does not echo."""
    mark = con.mark()
    ok, _ = con.command("migrate psk", timeout=30)
    if not ok:
        return False
    con.send_line(psk)
    con.wait_for(r"^PSK set \(\d+ bytes\)", timeout=30, since=mark)
    return True


def seed_of(vm_id):
    """The seed hv/core/vm.c gives the test guest of VM vm_id."""
    return (0x9E3779B9 * vm_id) & 0xFFFFFFFF


def heartbeats(con, vm_label=None, guest_id=None):
    """HB matches on a console, optionally only those of one [vmN] label or guest."""
    out = []
    for line in con.lines_since(0):
        m = HB.match(line)
        if m and (vm_label is None or m.group(1) == str(vm_label)) and \
                (guest_id is None or m.group(2) == str(guest_id)):
            out.append(m)
    return out


def data_pages(con, vm_label):
    """The data pages the guest announced at start (for guest/model.py's hb_sum)."""
    for line in con.lines_since(0):
        m = START.match(line)
        if m and m.group(1) == str(vm_label):
            return int(m.group(3))
    return None


class Pair:
    """Two Bochs hypervisors, A and B, each with an e1000 on one link through
    tools/netrelay.py (captured to WORKDIR/link.pcap). Use start(), then
    power_off() at the end of a run, harness_failure() in `except`, close() in
    `finally`."""

    MACS = ("52:54:00:00:00:0a", "52:54:00:00:00:0b")

    def __init__(self, iso, workdir, timeout):
        import bochs
        import netrelay
        self._bochs = bochs
        self.iso, self.workdir, self.timeout = iso, workdir, timeout
        self.ports = free_udp_pairs()
        self.pcap = os.path.join(workdir, "link.pcap")
        self.relay = netrelay.Relay(*self.ports, pcap=self.pcap).start()
        self.insts, self.cons = [], []

    def start(self):
        """Boots both, returns their consoles (A, B) once both are ready."""
        for name, port, mac in zip(("a", "b"), self.ports, self.MACS):
            inst = self._bochs.launch(self.iso, os.path.join(self.workdir, name), name="bochs",
                                      timeout=self.timeout, nic={"mac": mac, "ethdev": str(port)})
            self.insts.append(inst)
            self.cons.append(inst.open_console(log_path=os.path.join(self.workdir, name + ".serial"),
                                               deadline=60))
        for c in self.cons:
            c.wait_for(r"\[hv\] console ready", timeout=120, since=0)
        return tuple(self.cons)

    def power_off(self, r, sides="AB"):
        """`poweroff` on each side still up; each must end its Bochs with status 0."""
        for i, name in enumerate("AB"):
            if name in sides:
                self.cons[i].send_line("poweroff")
                rc = self.insts[i].wait(timeout=60)
                r.check("%s powers off with status 0" % name, rc == 0, "status %s" % rc)

    def harness_failure(self, r, e, lines=15):
        r.check("harness", False, "%s: %s" % (type(e).__name__, str(e)[:400]))
        for c in self.cons:
            print(c.log_tail(lines))

    def close(self):
        for c in self.cons:
            c.close()
        for inst in self.insts:
            inst.stop()
        self.relay.stop()


def parse_args(doc, timeout):
    """--iso, --workdir (created), --timeout: what every Bochs system test takes."""
    import argparse
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iso", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--timeout", type=int, default=timeout)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    return a


def boot_one(a):
    """One Bochs hypervisor; returns (instance, console) once its console is ready.
    The instance is returned even when the console fails, so callers can stop it."""
    import bochs
    inst = bochs.launch(a.iso, a.workdir, name="bochs", timeout=a.timeout)
    con = inst.open_console(log_path=os.path.join(a.workdir, "serial.log"), deadline=60)
    con.wait_for(r"\[hv\] console ready", timeout=120, since=0)
    return inst, con
