"""The harness every full-system test stands on (tests/system/test_*.py).

A test file holds only its checks; the harness owns the command line, the
machines (Bochs, QEMU, the link relay, their consoles), the whole-run time
limit, teardown and the PASS/FAIL count (kvm-unit-tests' report() is the model):

    import systest

    def checks(t):
        inst, con = t.bochs()                      # boots --iso, waits for the console
        ok, reply = con.command("status", timeout=30)
        t.check("status answers ok", ok, str(con.last_final))

    if __name__ == "__main__":
        systest.main(checks, __doc__, timeout=300)

t.check(name, ok, detail) prints `PASS name: detail` or `FAIL name: detail`;
t.require() does the same and ends the test body when it fails. The last line
is `N passed, M failed`; the exit status is 0 only when something passed and
nothing failed. An exception out of the body is one failed check (`harness`),
so is the whole-run limit (--timeout plus a grace period, `run finished in
time`) or SIGTERM/SIGINT. Whatever the test started is stopped at the end,
always; on a failure the tails of the consoles' and emulators' logs are printed.

This module is also the one place that sets up the import path for the tests:
tools/ (the hvtools package) and guest/ (model.py, the test guest's reference
model).
"""

import argparse
import os
import re
import signal
import sys
import time
import traceback

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
for _d in ("tools", "guest"):
    sys.path.insert(0, os.path.join(TOP, _d))

import model  # noqa: E402
from hvtools import bochs as _bochs  # noqa: E402
from hvtools import qemu as _qemu  # noqa: E402
from hvtools.console import Console, ConsoleError, ConsoleTimeout  # noqa: E402
from hvtools.ctl import enter_psk  # noqa: E402
from hvtools.lines import GUEST_START_RE, HB_RE  # noqa: E402
from hvtools.lines import heartbeats as _heartbeats  # noqa: E402
from hvtools.ports import free_tcp_port, free_udp_pair  # noqa: E402
from hvtools.relay import Relay  # noqa: E402

__all__ = [
    "main",
    "SysTest",
    "Stop",
    "Pair",
    "HB",
    "START",
    "model",
    "seed_of",
    "heartbeats",
    "data_pages",
    "set_psk",
    "free_kib",
    "vm_states",
    "free_tcp_port",
    "free_udp_pair",
    "ConsoleError",
    "ConsoleTimeout",
]

HB = HB_RE
START = GUEST_START_RE
seed_of = model.seed_of
READY = r"\[hv\] console ready"


class Stop(Exception):
    """Ends the test body: a required check failed (already reported)."""


class HardTimeout(Exception):
    """The whole-run limit passed, or the test was told to stop."""


class SysTest:
    """One run of a system test: its arguments, its checks, what it started.

    image: "iso" (Bochs tests: --iso) or "esp" (QEMU tests: --esp); with no
    default_image/default_workdir those options are required. options(ap) adds
    a test's own options. limit(args) is the whole-run limit in seconds
    (default --timeout + 60: the emulators' own `timeout` and the checks'
    limits fire first). stamp=True prefixes each line with the elapsed time."""

    def __init__(
        self,
        doc,
        timeout,
        image="iso",
        default_image=None,
        default_workdir=None,
        options=None,
        limit=None,
        stamp=False,
        argv=None,
    ):
        ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        ap.add_argument("--" + image, default=default_image, required=default_image is None)
        ap.add_argument("--workdir", default=default_workdir, required=default_workdir is None)
        ap.add_argument("--timeout", type=int, default=timeout, help="run time limit, s (%d)" % timeout)
        if options:
            options(ap)
        self.args = ap.parse_args(argv)
        os.makedirs(self.args.workdir, exist_ok=True)
        self.limit = int(limit(self.args) if limit else self.args.timeout + 60)
        self.stamp = stamp
        self.passed = self.failed = 0
        self.t0 = time.monotonic()
        self.machines = []  # BochsInstance / QemuInstance, for the notes and tails at the end
        self.consoles = []
        self._cleanups = []  # run last first

    # ---- reporting -------------------------------------------------------
    def _print(self, text):
        if self.stamp:
            text = "[%6.1fs] %s" % (time.monotonic() - self.t0, text)
        print(text, flush=True)

    def check(self, name, ok, detail=""):
        """Report one check; returns ok."""
        ok = bool(ok)
        self._print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""))
        self.passed += ok
        self.failed += not ok
        return ok

    def require(self, name, ok, detail=""):
        """check(), and end the test body (Stop) when it failed."""
        if not self.check(name, ok, detail):
            raise Stop(name)
        return True

    def note(self, msg):
        self._print(("     %s" if self.stamp else "# %s") % msg)

    # ---- what the test starts ----------------------------------------------
    def defer(self, fn):
        """Run fn() at the end (last registered first)."""
        self._cleanups.append(fn)
        return fn

    def console(self, *a, **kw):
        """A Console (hvtools.console) closed at the end."""
        con = Console(*a, **kw)
        self.consoles.append(con)
        self.defer(con.close)
        return con

    def bochs(self, workdir=None, log="serial.log", ready=True, log_mode="ab", iso=None, **launch):
        """Boot iso (default --iso) under Bochs in workdir (default --workdir), connect
        its console (log: a file name in workdir, or a path) and, with ready, wait for
        `[hv] console ready`. Returns (instance, console)."""
        a = self.args
        wd = workdir or a.workdir
        launch.setdefault("timeout", a.timeout)
        inst = _bochs.launch(iso or a.iso, wd, name="bochs", **launch)
        self.machines.append(inst)
        self.defer(inst.stop)
        self.note(
            "bochs pid %d, serial 127.0.0.1:%d, workdir %s" % (inst.pid, inst.serial_port, inst.workdir)
        )
        log_path = log if os.path.dirname(log) else os.path.join(wd, log)
        con = inst.open_console(log_path=log_path, log_mode=log_mode, deadline=60)
        self.consoles.append(con)
        self.defer(con.close)
        if ready:
            con.wait_for(READY, timeout=120, since=0)
        return inst, con

    def qemu(self, esp, workdir, **start):
        """Start QEMU + OVMF on esp (hvtools.qemu.start_qemu; its COM1 on a
        free TCP port unless serial_port is given). Returns a QemuInstance."""
        start.setdefault("serial_port", free_tcp_port())
        inst = _qemu.QemuInstance(_qemu.start_qemu(esp, workdir, **start), start["serial_port"])
        self.machines.append(inst)
        self.defer(inst.stop)
        self.note("QEMU pid %d, COM1 on 127.0.0.1:%d, logs in %s" % (inst.pid, inst.serial_port, workdir))
        return inst

    def pair(self, workdir=None):
        """Two Bochs hypervisors on one link (Pair); call .start()."""
        return Pair(self, workdir)

    # ---- the run -------------------------------------------------------------
    def _on_signal(self, signum, frame):
        if signum == signal.SIGALRM:
            raise HardTimeout("whole-run limit of %d s reached" % self.limit)
        raise HardTimeout("signal %d" % signum)

    def _teardown(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        for m in self.machines:
            if not m.alive():
                self.note("pid %d had ended before the teardown: %s" % (m.pid, m.describe_exit()))
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - teardown goes on
                self.note("teardown: %s: %s" % (type(e).__name__, e))
        if not self.failed:
            return
        for m in self.machines:
            print("---- tail of %s ----\n%s" % (m.log_path, m.log_tail(25)))
            if hasattr(m, "stdout_tail"):
                print("---- tail of %s ----\n%s" % (m.stdout_path, m.stdout_tail(10)))
        for c in self.consoles:
            print("---- console %s ----\n%s" % (c.log_path or c.target, c.log_tail(20)))

    def run(self, body):
        """Run body(self) with the limit, the teardown and the count; returns the exit status."""
        for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        signal.alarm(self.limit)
        try:
            body(self)
        except Stop:
            pass
        except HardTimeout as e:
            self.check("run finished in time", False, str(e))
        except Exception as e:  # noqa: BLE001 - any harness error is a failure, with its reason
            if not isinstance(e, (ConsoleError, ConsoleTimeout, _bochs.BochsError, OSError)):
                traceback.print_exc()
            self.check("harness", False, "%s: %s" % (type(e).__name__, str(e)[:400]))
        finally:
            signal.alarm(0)
            self._teardown()
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


def main(body, doc, timeout, **kw):
    """SysTest(doc, timeout, **kw).run(body) as the process's exit status."""
    sys.exit(SysTest(doc, timeout, **kw).run(body))


class Pair:
    """Two Bochs hypervisors, A and B, each with an e1000 on one link through
    hvtools.relay (captured to WORKDIR/link.pcap). start() boots both; the
    harness stops them and the relay at the end."""

    MACS = ("52:54:00:00:00:0a", "52:54:00:00:00:0b")

    def __init__(self, t, workdir=None):
        self.t = t
        wd = self.wd = workdir or t.args.workdir
        os.makedirs(wd, exist_ok=True)
        self.ports = free_udp_pair()
        self.pcap = os.path.join(wd, "link.pcap")
        self.relay = Relay(*self.ports, pcap=self.pcap).start()
        t.defer(self.relay.stop)
        self.insts, self.cons = [], []

    def start(self, isos=(None, None), **launch):
        """Boots both (isos: A's and B's, default --iso), returns their consoles (A,
        B) once both are ready."""
        wd = self.wd
        for name, port, mac, iso in zip(("a", "b"), self.ports, self.MACS, isos):
            inst, con = self.t.bochs(
                os.path.join(wd, name),
                log=os.path.join(wd, name + ".serial"),
                ready=False,
                iso=iso,
                nic={"mac": mac, "ethdev": str(port)},
                **launch,
            )
            self.insts.append(inst)
            self.cons.append(con)
        for c in self.cons:
            c.wait_for(READY, timeout=120, since=0)
        return tuple(self.cons)

    def power_off(self, sides="AB"):
        """`poweroff` on each side still up; each must end its Bochs with status 0."""
        for i, name in enumerate("AB"):
            if name in sides:
                self.cons[i].send_line("poweroff")
                rc = self.insts[i].wait(timeout=60)
                self.t.check("%s powers off with status 0" % name, rc == 0, "status %s" % rc)


# ---- reading the test guest on a console ---------------------------------------
def heartbeats(con, vm_label=None, guest_id=None):
    """HB matches on a console, optionally only those of one [vmN] label or guest."""
    return _heartbeats(con.lines_since(0), vm_label, guest_id)


def data_pages(con, vm_label):
    """The data pages the guest announced at start (for guest/model.py's hb_sum)."""
    for line in con.lines_since(0):
        m = START.match(line)
        if m and m.group(1) == str(vm_label):
            return int(m.group(3))
    return None


def free_kib(con):
    """The hypervisor's free memory from `status` (memory: free=NKiB), -1 if unreadable."""
    ok, reply = con.command("status", timeout=30)
    m = [x for x in (re.match(r"memory: free=(\d+)KiB", ln) for ln in reply) if x]
    return int(m[0].group(1)) if ok and m else -1


def vm_states(con):
    """{id: state} from `vm list`."""
    ok, reply = con.command("vm list", timeout=30)
    return {int(x.group(1)): x.group(2) for x in (re.match(r"vm (\d+) state=(\w+)", ln) for ln in reply) if x}


def set_psk(con, psk):
    """Types the PSK on the line the console does not echo; True when it was set."""
    answer = enter_psk(con, psk, timeout=30)
    return bool(answer) and answer.startswith("PSK set")


def migration_ends(t, ca, cb, mark_a, mark_b, timeout):
    """Waits for the source's end on A and the destination's on B (checks "A: migration
    done", "B: migration done"); returns their MIGSTAT lines (source's, destination's).
    On a timeout it records "migration finished" as failed and raises ConsoleTimeout."""
    try:
        done = ca.wait_for(r"^\[hv\] migrate: source (done|FAILED)(.*)$", timeout=timeout, since=mark_a)
        t.check("A: migration done", done.group(1) == "done", done.group(0))
        dd = cb.wait_for(r"^\[hv\] migrate: destination (done|FAILED)(.*)$", timeout=60, since=mark_b)
        t.check("B: migration done", dd.group(1) == "done", dd.group(0))
    except ConsoleTimeout as e:
        t.check("migration finished", False, str(e)[:400])
        raise
    stat_a = [ln for ln in ca.lines_since(mark_a) if ln.startswith("[hv] MIGSTAT ") and "role=src" in ln]
    stat_b = [ln for ln in cb.lines_since(mark_b) if ln.startswith("[hv] MIGSTAT ") and "role=dst" in ln]
    return stat_a, stat_b
