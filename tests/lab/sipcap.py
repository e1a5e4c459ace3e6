#!/usr/bin/env python3
"""Reads SIP out of small pcap files and tells who sent what.

Used by scripts/make-captures (to describe each capture in tests/data/captures/README.md)
and by the replay tests (to count the PBX's answers to a source before a given time).
It is a test tool for captures the lab makes, not a general decoder: classic pcap only
(Ethernet, Linux cooked v1/v2, raw IP), IPv4 and IPv6 without fragments, UDP datagrams and
TCP segments taken in capture order (the lab's TCP has no loss or reordering).

  sipcap.py summary CAPTURE [--pbx ADDR]...   per-source table (text, or --json)
  sipcap.py messages CAPTURE                  one line per SIP message
  sipcap.py window CAPTURE --src A --from T0 --to T1 [--label L] [--result R]
                                              one line: what A sent between two times
  sipcap.py extract CAPTURE --start TEXT [--src A] [--dst A] [--nth N] [--header TEXT] --out F
                                              writes the Nth matching message's bytes to F
"""

import argparse
import ipaddress
import json
import signal
import struct
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

SIP_PORTS = {5060, 5061}

# RFC 3261 compact header names.
COMPACT = {"f": "from", "t": "to", "i": "call-id", "v": "via", "m": "contact",
           "l": "content-length", "c": "content-type", "k": "supported", "s": "subject"}


class CaptureError(Exception):
    pass


def read_pcap(path):
    """Yields (seconds as float, linktype, frame bytes) for each record of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise CaptureError(f"{path}: too short for a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise CaptureError(f"{path}: not a classic pcap file (magic {magic.hex()})")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    offset = 24
    record = 0
    while offset < len(data):
        if offset + 16 > len(data):
            raise CaptureError(f"{path}: record {record} header truncated at byte {offset}")
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        if offset + caplen > len(data):
            raise CaptureError(f"{path}: record {record} data truncated at byte {offset}")
        yield sec + frac / (1e9 if nano else 1e6), linktype, data[offset:offset + caplen]
        offset += caplen
        record += 1


def network_layer(linktype, frame):
    """Returns (ethertype, bytes of the IP packet) or None for frames that carry no IP."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        ethertype = struct.unpack("!H", frame[12:14])[0]
        pos = 14
        while ethertype in (0x8100, 0x88A8) and len(frame) >= pos + 4:
            ethertype = struct.unpack("!H", frame[pos + 2:pos + 4])[0]
            pos += 4
        return ethertype, frame[pos:]
    if linktype == LINKTYPE_LINUX_SLL and len(frame) >= 16:
        return struct.unpack("!H", frame[14:16])[0], frame[16:]
    if linktype == LINKTYPE_LINUX_SLL2 and len(frame) >= 20:
        return struct.unpack("!H", frame[0:2])[0], frame[20:]
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6) and frame:
        return (0x0800 if frame[0] >> 4 == 4 else 0x86DD), frame
    return None


@dataclass
class Segment:
    t: float
    src: str
    dst: str
    sport: int
    dport: int
    transport: str
    payload: bytes


def transport_layer(t, ethertype, packet):
    """Returns a Segment for UDP or TCP over IPv4/IPv6, else None."""
    if ethertype == 0x0800 and len(packet) >= 20:
        ihl = (packet[0] & 0x0F) * 4
        total = struct.unpack("!H", packet[2:4])[0]
        frag = struct.unpack("!H", packet[6:8])[0]
        if frag & 0x3FFF:
            return None  # fragments: the lab's messages fit in one datagram
        proto = packet[9]
        src = str(ipaddress.IPv4Address(packet[12:16]))
        dst = str(ipaddress.IPv4Address(packet[16:20]))
        body = packet[ihl:min(total, len(packet))]
    elif ethertype == 0x86DD and len(packet) >= 40:
        proto = packet[6]
        length = struct.unpack("!H", packet[4:6])[0]
        src = str(ipaddress.IPv6Address(packet[8:24]))
        dst = str(ipaddress.IPv6Address(packet[24:40]))
        body = packet[40:40 + length]
    else:
        return None
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack("!HH", body[0:4])
        return Segment(t, src, dst, sport, dport, "udp", body[8:])
    if proto == 6 and len(body) >= 20:
        sport, dport = struct.unpack("!HH", body[0:4])
        offset = (body[12] >> 4) * 4
        return Segment(t, src, dst, sport, dport, "tcp", body[offset:])
    return None


@dataclass
class SipMessage:
    t: float
    src: str
    dst: str
    transport: str
    start_line: str
    headers: dict = field(default_factory=dict)  # lower-case long name -> first value
    raw: bytes = b""

    @property
    def is_request(self):
        return not self.start_line.startswith("SIP/2.0 ")

    @property
    def method(self):
        return self.start_line.split(" ", 1)[0] if self.is_request else None

    @property
    def status(self):
        return None if self.is_request else int(self.start_line.split(" ")[1])

    @property
    def cseq(self):
        parts = self.headers.get("cseq", "").split()
        return (int(parts[0]), parts[1]) if len(parts) == 2 and parts[0].isdigit() else (None, None)

    def header_user(self, name):
        value = self.headers.get(name, "")
        start = value.find("sip:")
        if start < 0:
            start = value.find("sips:")
            if start < 0:
                return None
            start += 1
        rest = value[start + 4:]
        at = rest.find("@")
        end = min((i for i in (rest.find(c) for c in ">;: ") if i >= 0), default=len(rest))
        return rest[:at] if 0 <= at < end else None

    @property
    def uri_user(self):
        if not self.is_request:
            return None
        uri = self.start_line.split(" ")[1]
        scheme_end = uri.find(":")
        at = uri.find("@")
        return uri[scheme_end + 1:at] if 0 <= scheme_end < at else None

    @property
    def target_user(self):
        """The user a request is about: To for REGISTER, the request-URI otherwise."""
        if self.method == "REGISTER":
            return self.header_user("to")
        return self.uri_user or self.header_user("to")

    @property
    def has_credentials(self):
        return "authorization" in self.headers or "proxy-authorization" in self.headers


def parse_sip(seg, raw):
    text = raw.decode("utf-8", "replace")
    head, _, _ = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        key = COMPACT.get(key, key)
        headers.setdefault(key, value.strip())
    return SipMessage(seg.t, seg.src, seg.dst, seg.transport, lines[0], headers, raw)


def split_stream(buffer):
    """Splits complete SIP messages off a TCP byte buffer; returns (messages, rest)."""
    messages = []
    while True:
        buffer = buffer.lstrip(b"\r\n")
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return messages, buffer
        head = buffer[:end].decode("utf-8", "replace")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() in ("content-length", "l"):
                length = int(value.strip() or 0)
        total = end + 4 + length
        if len(buffer) < total:
            return messages, buffer
        messages.append(buffer[:total])
        buffer = buffer[total:]


def sip_messages(path):
    """Yields every SIP message of a capture, UDP and TCP, in capture order."""
    streams = defaultdict(bytes)
    for t, linktype, frame in read_pcap(path):
        layer = network_layer(linktype, frame)
        if layer is None:
            continue
        seg = transport_layer(t, *layer)
        if seg is None or not seg.payload or not ({seg.sport, seg.dport} & SIP_PORTS):
            continue
        if seg.transport == "udp":
            chunks = [seg.payload]
        else:
            key = (seg.src, seg.sport, seg.dst, seg.dport)
            chunks, streams[key] = split_stream(streams[key] + seg.payload)
        for chunk in chunks:
            first_line = chunk.split(b"\r\n", 1)[0]
            if first_line.startswith(b"SIP/2.0 ") or first_line.endswith(b" SIP/2.0"):
                yield parse_sip(seg, chunk)


def guess_pbx(messages):
    """The addresses that received most requests: the PBX side of a lab capture."""
    counts = Counter(m.dst for m in messages if m.is_request)
    if not counts:
        return set()
    top = counts.most_common(1)[0][1]
    return {addr for addr, n in counts.items() if n * 10 >= top}


def summarize(messages, pbx):
    """Per source address (not a PBX address): what it asked and what the PBX answered."""
    sources = {}
    for m in messages:
        peer = m.src if m.is_request else m.dst
        if peer in pbx:
            continue
        s = sources.setdefault(peer, {
            "requests": 0, "methods": Counter(), "users": Counter(), "with_credentials": 0,
            "user_agents": Counter(), "answers": Counter(), "transports": Counter(),
            "first": m.t, "last": m.t, "first_request": None, "last_request": None})
        s["last"] = m.t
        if m.is_request:
            s["requests"] += 1
            if s["first_request"] is None:
                s["first_request"] = m.t
            s["last_request"] = m.t
            s["methods"][m.method] += 1
            s["transports"][m.transport] += 1
            user = m.target_user
            if user is not None:
                s["users"][user] += 1
            if m.has_credentials:
                s["with_credentials"] += 1
            ua = m.headers.get("user-agent")
            if ua:
                s["user_agents"][ua] += 1
        else:
            s["answers"][f"{m.status} {m.cseq[1]}"] += 1
    for s in sources.values():
        s["seconds"] = round(s["last"] - s["first"], 3)
        # Rate over the time between the first and the last request.
        span = (s["last_request"] - s["first_request"]) if s["requests"] > 1 else 0.0
        s["requests_per_second"] = round((s["requests"] - 1) / span, 1) if span > 0 else None
    return sources


def answers_before(messages, pbx, addr, until):
    """Answers the PBX sent to ADDR at or before time UNTIL (epoch seconds)."""
    return sum(1 for m in messages
               if not m.is_request and m.src in pbx and m.dst == addr and m.t <= until + 1e-6)


def users_text(users, limit=8):
    names = sorted(users, key=lambda u: (len(u), u))
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def print_summary(path, sources, pbx):
    print(f"{path}: PBX {', '.join(sorted(pbx))}")
    for addr, s in sorted(sources.items()):
        methods = ", ".join(f"{n} {m}" for m, n in sorted(s["methods"].items()))
        answers = ", ".join(f"{n}×{a}" for a, n in sorted(s["answers"].items()))
        rate = s["requests_per_second"]
        print(f"  {addr}: {s['requests']} requests ({methods}) over {s['seconds']} s"
              + (f", {rate}/s" if rate else "")
              + f"; {s['with_credentials']} with credentials"
              + f"; users {users_text(s['users'])}"
              + f"; User-Agent {', '.join(s['user_agents']) or '-'}"
              + f"; answers {answers or '-'}")


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_sum = sub.add_parser("summary", help="per-source table")
    p_sum.add_argument("capture")
    p_sum.add_argument("--pbx", action="append", default=[])
    p_sum.add_argument("--json", action="store_true")
    p_msg = sub.add_parser("messages", help="one line per SIP message")
    p_msg.add_argument("capture")
    p_ext = sub.add_parser("extract", help="write one message's bytes to a file")
    p_ext.add_argument("capture")
    p_ext.add_argument("--start", required=True, help="start line begins with this text")
    p_ext.add_argument("--src")
    p_ext.add_argument("--dst")
    p_ext.add_argument("--header", help="the message contains this text")
    p_ext.add_argument("--nth", type=int, default=1)
    p_ext.add_argument("--out", required=True)
    p_win = sub.add_parser("window", help="what one source sent between two times")
    p_win.add_argument("capture")
    p_win.add_argument("--src", required=True)
    p_win.add_argument("--from", dest="start", type=float, required=True)
    p_win.add_argument("--to", dest="end", type=float, required=True)
    p_win.add_argument("--label", default="")
    p_win.add_argument("--result", default="")
    args = parser.parse_args()
    try:
        messages = list(sip_messages(args.capture))
    except (OSError, CaptureError) as e:
        print(f"sipcap: {e}", file=sys.stderr)
        return 1
    if args.command == "window":
        inside = [m for m in messages if args.start <= m.t <= args.end
                  and (m.src == args.src or m.dst == args.src)]
        requests = [m for m in inside if m.is_request and m.src == args.src]
        answers = [m for m in inside if not m.is_request and m.dst == args.src]
        users = {m.target_user for m in requests if m.target_user}
        span = requests[-1].t - requests[0].t if len(requests) > 1 else 0.0
        rate = f"{len(requests) / span:.0f} requests/s" if span > 0 else "-"
        methods = Counter(m.method for m in requests)
        kinds = ", ".join(f"{n} {k}" for k, n in methods.most_common())
        print(f"{args.label}: {len(requests)} requests ({kinds}; {len(users)} usernames) "
              f"in {span:.2f} s, "
              f"{rate}; {len(answers)} answered by the PBX; {args.result}")
        return 0
    if args.command == "extract":
        found = [m for m in messages
                 if m.start_line.startswith(args.start)
                 and (args.src is None or m.src == args.src)
                 and (args.dst is None or m.dst == args.dst)
                 and (args.header is None or args.header.encode() in m.raw)]
        if len(found) < args.nth:
            print(f"sipcap: {args.capture}: only {len(found)} messages match", file=sys.stderr)
            return 1
        with open(args.out, "wb") as f:
            f.write(found[args.nth - 1].raw)
        return 0
    if args.command == "messages":
        for m in messages:
            print(f"{m.t:.6f} {m.transport} {m.src} -> {m.dst} {m.start_line}"
                  f" | CSeq {m.headers.get('cseq', '-')} | UA {m.headers.get('user-agent', '-')}")
        return 0
    pbx = set(args.pbx) or guess_pbx(messages)
    sources = summarize(messages, pbx)
    if args.json:
        print(json.dumps({"capture": args.capture, "pbx": sorted(pbx), "sources": sources},
                         indent=1, default=dict))
    else:
        print_summary(args.capture, sources, pbx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
