#!/usr/bin/env python3
"""Bounded spoofed-source SIP flood for the benchmark: OPTIONS over UDP/IPv6, each packet from a
random address of 2001:db8:3::/64 (documentation range), for at most --seconds and at most
--count packets, at up to --rate packets per second. Needs root (raw socket).

  spoof_flood.py --dst 2001:db8:1::1 --seconds 10 --rate 5000 --count 100000
"""

import argparse
import ipaddress
import random
import socket
import struct
import sys
import time

PREFIX = int(ipaddress.IPv6Address("2001:db8:3::"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def packet(src, dst, n):
    body = (f"OPTIONS sip:{ipaddress.IPv6Address(dst)} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP [{ipaddress.IPv6Address(src)}]:5060;branch=z9hG4bK-f{n}\r\n"
            f"From: <sip:flood@[{ipaddress.IPv6Address(src)}]>;tag=f{n}\r\n"
            f"To: <sip:{ipaddress.IPv6Address(dst)}>\r\nCall-ID: flood-{n}\r\n"
            f"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
    length = 8 + len(body)
    src_b, dst_b = src.to_bytes(16, "big"), dst.to_bytes(16, "big")
    udp = struct.pack("!HHHH", 5060, 5060, length, 0) + body
    pseudo = src_b + dst_b + struct.pack("!I3xB", length, 17)
    c = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip6 = struct.pack("!IHBB", 6 << 28, length, 17, 64) + src_b + dst_b
    return ip6 + udp


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dst", required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument("--count", type=int, default=100000)
    a = p.parse_args()
    dst = int(ipaddress.IPv6Address(a.dst))
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    rng = random.Random(4)
    start = time.monotonic()
    sent = errors = 0
    while sent < a.count:
        now = time.monotonic() - start
        if now >= a.seconds:
            break
        if sent > now * a.rate:  # pace: never ahead of the rate
            time.sleep(min(0.001, a.seconds - now))
            continue
        src = PREFIX | rng.getrandbits(64)
        try:
            s.sendto(packet(src, dst, sent), (a.dst, 0))
        except OSError:
            errors += 1
        sent += 1
    elapsed = time.monotonic() - start
    print(f"sent {sent} packets from random sources in {elapsed:.1f} s "
          f"({sent / elapsed:.0f}/s), {errors} send errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
