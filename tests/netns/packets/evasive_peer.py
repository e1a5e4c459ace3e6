#!/usr/bin/env python3
"""SIP datagrams that break the grammar the way a PBX forgives, for the evasion test.

  evasive_peer.py send KIND SRC DST TAG    one OPTIONS from SRC:5060 to DST:5060 whose
                                           friendly-scanner User-Agent hides behind KIND:
    big            a 5,000-byte header before it (past the old 4,096-byte copy)
    unterminated   headers without the empty line after them
    long-length    Content-Length: 500 with a 5-byte body
    cseq-method    CSeq method INVITE on an OPTIONS
    second-agent   a harmless User-Agent before it
    ipv6-uri       request-URI sip:100@2001:db8:1::1 without brackets
  Kamailio answers every one of these.
"""
import socket
import sys


def options(kind, src, dst, tag):
    uri = "sip:100@2001:db8:1::1" if kind == "ipv6-uri" else f"sip:100@{dst}"
    cseq = "INVITE" if kind == "cseq-method" else "OPTIONS"
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{tag}",
        f"From: <sip:100@{dst}>;tag={tag}",
        f"To: <sip:100@{dst}>",
        f"Call-ID: {tag}@{src}",
        f"CSeq: 1 {cseq}",
        "Max-Forwards: 70",
    ]
    if kind == "big":
        lines.append("X-Padding: " + "a" * 5000)
    if kind == "second-agent":
        lines.append("User-Agent: Yealink SIP-T46S 66.86.0.15")
    lines.append("User-Agent: friendly-scanner")
    if kind == "long-length":
        return ("\r\n".join(lines + ["Content-Length: 500", "", "hello"])).encode()
    if kind == "unterminated":
        return ("\r\n".join(lines + ["Content-Length: 0"]) + "\r\n").encode()
    return ("\r\n".join(lines + ["Content-Length: 0", "", ""])).encode()


def main():
    kind, src, dst, tag = sys.argv[2:6]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 5060))
    s.sendto(options(kind, src, dst, tag), (dst, 5060))


if __name__ == "__main__":
    main()
