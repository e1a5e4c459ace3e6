#!/usr/bin/env python3
"""Real TCP and UDP probes for the namespace tests.

  probe.py serve SECONDS PORT...        listen on every address (IPv4 and IPv6) on each
                                        port ("tcp/22", "udp/5060"), answer each TCP
                                        connection with a banner and each UDP datagram with
                                        a reply; print "ready" once listening; exit after
                                        SECONDS at the latest.
  probe.py probe HOST TIMEOUT PORT...   try every port at once; print "tcp/22 open" or
                                        "tcp/22 closed" per port, in the order given.

A port is open only when the service answered (banner or reply), so a drop, a reject and a
missing listener all read as closed.
"""
import concurrent.futures
import selectors
import socket
import sys
import time

BANNER = b"pbxwall-probe\n"


def parse(spec):
    proto, port = spec.split("/")
    return proto, int(port)


def serve(seconds, specs):
    sel = selectors.DefaultSelector()
    for spec in specs:
        proto, port = parse(spec)
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        if proto == "tcp":
            s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, proto)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                if key.data == "tcp":
                    conn, _ = s.accept()
                    conn.setblocking(True)
                    conn.settimeout(1)
                    conn.sendall(BANNER)
                    conn.close()
                else:
                    data, peer = s.recvfrom(2048)
                    s.sendto(b"reply:" + data, peer)
            except OSError:
                pass


def probe_one(host, timeout, spec):
    proto, port = parse(spec)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family, kind)
    s.settimeout(timeout)
    try:
        if proto == "tcp":
            s.connect((host, port))
            got = s.recv(len(BANNER))
            return got == BANNER
        s.sendto(b"probe", (host, port))
        data, _ = s.recvfrom(2048)
        return data == b"reply:probe"
    except OSError:
        return False
    finally:
        s.close()


def probe(host, timeout, specs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(specs)) as pool:
        results = list(pool.map(lambda spec: probe_one(host, timeout, spec), specs))
    for spec, ok in zip(specs, results):
        print(f"{spec} {'open' if ok else 'closed'}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(float(sys.argv[2]), sys.argv[3:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "probe":
        probe(sys.argv[2], float(sys.argv[3]), sys.argv[4:])
    else:
        sys.exit(__doc__)
