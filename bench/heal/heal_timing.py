#!/usr/bin/env python3
"""Loss -> restored timing of pbxwalld's table healing, run inside the daemon's namespace.

  heal_timing.py DAEMON_PID TRIALS ADDR

For each scenario and trial it runs the damaging nft command and reads the nftables netlink
notifications (group NFNLGRP_NFTABLES): t0 is the NEWGEN closing the nft transaction that did
the damage, t1 the NEWGEN closing the next transaction committed by pbxwalld (the restore).
After each trial ADDR must be in blocked4 again. Prints median and max per scenario.
"""
import socket
import statistics
import struct
import subprocess
import sys
import time

NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NEWGEN = (10 << 8) | 15
NFTA_GEN_PROC_PID = 2

SCENARIOS = [
    ("nft flush ruleset", ["nft", "flush", "ruleset"]),
    ("nft delete table inet pbxwall", ["nft", "delete", "table", "inet", "pbxwall"]),
    ("nft flush set inet pbxwall blocked4", ["nft", "flush", "set", "inet", "pbxwall", "blocked4"]),
]


def generations(sock, deadline):
    """Yields (arrival time, committing pid) of each NEWGEN until the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            return
        now = time.monotonic()
        at = 0
        while at + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, at)
            if length < 16:
                break
            if kind == NEWGEN:
                pid = 0
                a = at + 16 + 4
                while a + 4 <= at + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype == NFTA_GEN_PROC_PID:
                        pid = struct.unpack_from(">I", data, a + 4)[0]
                    a += (alen + 3) & ~3
                yield now, pid
            at += (length + 3) & ~3


def in_blocked(addr):
    out = subprocess.run(["nft", "list", "set", "inet", "pbxwall", "blocked4"], capture_output=True, text=True)
    return out.returncode == 0 and addr in out.stdout


def main():
    daemon, trials, addr = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    failures = 0
    for name, command in SCENARIOS:
        samples = []
        for _ in range(trials):
            nft = subprocess.Popen(command)
            t0 = t1 = None
            for arrival, pid in generations(sock, time.monotonic() + 5):
                if t0 is None and pid == nft.pid:
                    t0 = arrival
                elif t0 is not None and pid == daemon:
                    t1 = arrival
                    break
            nft.wait()
            # The restore's own notifications may still be arriving: read them out.
            for _ in generations(sock, time.monotonic() + 0.2):
                pass
            if t0 is None or t1 is None or not in_blocked(addr):
                failures += 1
                continue
            samples.append((t1 - t0) * 1000)
        if samples:
            print(f"{name:40s} n={len(samples):3d}  median {statistics.median(samples):7.2f} ms"
                  f"  max {max(samples):7.2f} ms")
        else:
            print(f"{name:40s} no sample")
    if failures:
        print(f"{failures} trial(s) without a restore within 5 s")
        sys.exit(1)


if __name__ == "__main__":
    main()
