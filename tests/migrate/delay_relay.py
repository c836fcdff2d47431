#!/usr/bin/env python3
"""Forwards one TCP connection, each byte delivered DELAY seconds after it arrived, in both
directions. Adds latency where sch_netem is unavailable (this kernel has none); loss and
rate limits are applied by the kernel (nft, tbf) on the veth segment in front of it."""
import argparse
import collections
import select
import socket
import threading
import time


def pump(a, b, delay):
    q = collections.deque()
    closed = False
    try:
        while not closed or q:
            now = time.time()
            while q and q[0][0] <= now:
                b.sendall(q.popleft()[1])
            wait = (q[0][0] - now) if q else 0.05
            r, _, _ = select.select([] if closed else [a], [], [], max(0.0, min(wait, 0.05)))
            if r:
                d = a.recv(1 << 18)
                if not d:
                    closed = True
                else:
                    q.append((time.time() + delay, d))
    except OSError:
        pass
    for s, how in ((b, socket.SHUT_WR),):
        try:
            s.shutdown(how)
        except OSError:
            pass


def relay(listen, to, delay):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(listen)
    ls.listen(1)
    print("relay listening", flush=True)
    c, _ = ls.accept()
    u = socket.create_connection(to)
    for s in (c, u):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ts = [
        threading.Thread(target=pump, args=(c, u, delay), daemon=True),
        threading.Thread(target=pump, args=(u, c, delay), daemon=True),
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def hp(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--delay", type=float, default=0.02)
    a = ap.parse_args()
    relay(hp(a.listen), hp(a.to), a.delay)
