#!/usr/bin/env python3
"""Reference model of the test guest's deterministic output (guest/pattern.c), for
system tests: expected HB sums, WSET page sets, page contents. --check compares it
with known answers from the hosted build (test_pattern --vectors) on stdin."""
import sys

M32 = 0xFFFFFFFF
DATA_PFN = 0x100  # first data page: GPA 0x100000


def pat_hash(a, b):
    x = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77) ^ 0x7F4A7C15) & M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def pat_word(pfn, gen, i):
    """Dword i of data page pfn at generation gen."""
    if i == 0:
        return pfn
    if i == 1:
        return gen
    return pat_hash(pfn, gen) ^ ((i * 0x9E3779B1) & M32)


def lcg_next(x):
    return (x * 1664525 + 1013904223) & M32


def pick(x, n):
    return (x * n) >> 32


def sum_update(s, pfn, gen):
    return ((s ^ pat_hash(pfn, gen)) * 0x01000193) & M32


class Work:
    """WORK mode's rewrite sequence: advance(n) does n page rewrites; .sum then
    matches the guest's HB sum= at writes=.writes."""

    def __init__(self, seed, data_pages):
        self.x, self.n, self.gen = seed & M32, data_pages, [0] * data_pages
        self.writes, self.sum = 0, 0

    def advance(self, n):
        for _ in range(n):
            self.x = lcg_next(self.x)
            idx = pick(self.x, self.n)
            self.gen[idx] += 1
            self.sum = sum_update(self.sum, DATA_PFN + idx, self.gen[idx])
            self.writes += 1
        return self.sum


def seed_of(vm_id):
    """The seed hv/core/vm.c gives the test guest of VM vm_id."""
    return (0x9E3779B9 * vm_id) & M32


def canary(seed):
    """The secret the guest makes from its seed and keeps at 0x1e000 (guest/main.c)."""
    h0 = pat_hash(seed, 0xC0FFEE11)
    h1 = pat_hash(h0, 0x05EC12E7)
    return ("HVCANARY-%08x%08x-SECRET" % (h0, h1)).encode()


def hb_sum(seed, data_pages, writes):
    return Work(seed, data_pages).advance(writes)


def wset(seed, k, data_pages, n, first_pfn=DATA_PFN):
    """The ascending pfn list the guest announces as WSET k=<k>."""
    x, out = pat_hash(seed & M32, k), []
    while len(out) < n:
        x = lcg_next(x)
        pfn = first_pfn + pick(x, data_pages)
        if pfn not in out:
            out.append(pfn)
    return sorted(out)


def check(lines):
    bad = 0
    for line in lines:
        f = line.split()
        if not f:
            continue
        v = [int(s) for s in f[1:]]
        if f[0] == "hash":
            ok = pat_hash(v[0], v[1]) == v[2]
        elif f[0] == "word":
            ok = pat_word(v[0], v[1], v[2]) == v[3]
        elif f[0] == "sum":
            ok = hb_sum(v[0], v[1], v[2]) == v[3]
        elif f[0] == "wset":
            ok = wset(v[0], v[1], v[2], v[3]) == v[4:]
        else:
            ok = False
        if not ok:
            print("model.py: mismatch: " + line.strip())
            bad += 1
    print("model.py: " + ("FAILED" if bad else "ok"))
    return bad == 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if check(sys.stdin) else 1)
    print(__doc__)
