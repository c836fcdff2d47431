"""Helpers for the migsim integration tests and benchmark: run a destination and a source,
parse their MIGSIM / MIGSTAT / MIGGUARD lines."""
import os
import random
import select
import subprocess
import tempfile
import time

PSK = "6d6967736d2d746573742d70736b2d30313233343536373839616263646566"  # test key only
WRONG_PSK = "00" * 32


def kv(line):
    out = {}
    for tok in line.split()[1:]:
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


class Result:
    def __init__(self, text, rc):
        self.text = text
        self.rc = rc
        self.sim = [kv(ln) for ln in text.splitlines() if ln.startswith("MIGSIM ")]
        self.stats = [kv(ln) for ln in text.splitlines() if ln.startswith("MIGSTAT ")]
        guards = [kv(ln) for ln in text.splitlines() if ln.startswith("MIGGUARD ")]
        self.guard = guards[-1] if guards else {}
        finals = [s for s in self.sim if "result" in s]
        self.final = finals[-1] if finals else {}
        self.fault = next((s for s in self.sim if "fault" in s), None)
        self.attempts = [s for s in self.sim if "attempt_failed" in s]

    @property
    def stat(self):
        return self.stats[-1] if self.stats else {}


class Sim:
    def __init__(self, migsim, netns_src=None, netns_dst=None):
        self.migsim = migsim
        self.dir = tempfile.mkdtemp(prefix="migsim-")
        self.psk_file = os.path.join(self.dir, "psk")
        self.wrong_psk_file = os.path.join(self.dir, "wrong")
        with open(self.psk_file, "w") as f:
            f.write(PSK + "\n")
        with open(self.wrong_psk_file, "w") as f:
            f.write(WRONG_PSK + "\n")
        self.port = random.randint(20000, 40000)
        self.netns_src = netns_src
        self.netns_dst = netns_dst

    def next_port(self):
        self.port += 1
        return self.port

    def _cmd(self, ns, args):
        base = [self.migsim] + args
        return (["ip", "netns", "exec", ns] + base) if ns else base

    def start_dst(self, args, port, ns=None, psk=None):
        cmd = self._cmd(
            ns or self.netns_dst,
            ["--role", "dst", "--port", str(port), "--psk-file", psk or self.psk_file] + args,
        )
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Wait for the listening line so the source never races the bind.
        buf = ""
        deadline = time.time() + 20
        while "MIGSIM listening" not in buf and time.time() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                line = p.stdout.readline()
                if not line:
                    break
                buf += line
        p._early = buf
        return p

    def start_src(self, args, port, ns=None, psk=None):
        cmd = self._cmd(
            ns or self.netns_src,
            ["--role", "src", "--port", str(port), "--psk-file", psk or self.psk_file] + args,
        )
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def finish(p, timeout):
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        return Result(getattr(p, "_early", "") + (out or ""), p.returncode)

    def pair(self, src_args, dst_args, timeout=120, src_psk=None, dst_addr_args=None):
        port = self.next_port()
        d = self.start_dst(dst_args, port)
        s = self.start_src(src_args, port, psk=src_psk)
        rs = self.finish(s, timeout)
        # A stalled destination never ends by itself: give it time, then stop it.
        rd = self.finish(d, 15)
        return rs, rd
