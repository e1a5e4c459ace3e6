#!/usr/bin/env python3
"""SIP datagrams for the queue tests, run inside a namespace.

  sip_peer.py send SRC DST METHOD USER_AGENT TAG   one request from SRC to DST:5060
  sip_peer.py listen ADDR OUT SECONDS              receive on ADDR:5060 for at most SECONDS,
                                                   appending "SRC METHOD TAG" per datagram to OUT
"""
import socket
import sys
import time


def request(method, src, dst, user_agent, tag):
    user = "300"
    return (
        f"{method} sip:{user}@{dst} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{tag}\r\n"
        f"From: <sip:{user}@{dst}>;tag={tag}\r\n"
        f"To: <sip:{user}@{dst}>\r\n"
        f"Call-ID: {tag}@{src}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:{user}@{src}:5060>\r\n"
        f"User-Agent: {user_agent}\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def main():
    if sys.argv[1] == "send":
        src, dst, method, user_agent, tag = sys.argv[2:7]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 5060))
        s.sendto(request(method, src, dst, user_agent, tag), (dst, 5060))
        return
    addr, out, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 5060))
    end = time.monotonic() + seconds
    with open(out, "a", buffering=1) as f:
        while (left := end - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data, peer = s.recvfrom(65535)
            except socket.timeout:
                break
            text = data.decode(errors="replace")
            method = text.split(" ", 1)[0]
            tag = text.split("Call-ID: ", 1)[1].split("@", 1)[0] if "Call-ID: " in text else "-"
            f.write(f"{peer[0]} {method} {tag}\n")


if __name__ == "__main__":
    main()
