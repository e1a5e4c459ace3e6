#!/usr/bin/env python3
"""SIP over UDP for the spoofing-guard test, run inside a namespace.

  spoof_peer.py register SRC PBX USER PASSWORD EXPIRES
      a phone: REGISTER from SRC:5060, answers the 401 with digest credentials (MD5,
      qop=auth); prints the final status code, exits 0 on 200
  spoof_peer.py forge SRC PBX METHOD USER_AGENT TAG
      one request "from" SRC:5060 through a raw socket (IP_HDRINCL): the source address is
      forged, whatever the sender's own address is
  spoof_peer.py listen ADDR OUT SECONDS
      receives on ADDR:5060 for at most SECONDS, appending "STATUS CALLID" per answer to OUT
"""
import hashlib
import os
import re
import socket
import struct
import sys
import time

from spoofed_tcp import checksum  # the Internet checksum of the forged headers


def request(method, src, pbx, user, user_agent, call_id, cseq, expires=None, auth=""):
    lines = [
        f"{method} sip:{pbx} SIP/2.0" if method == "REGISTER" else f"{method} sip:{user}@{pbx} SIP/2.0",
        f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{call_id}-{cseq}",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{pbx}>;tag={call_id}",
        f"To: <sip:{user}@{pbx}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{user}@{src}:5060>",
        f"User-Agent: {user_agent}",
    ]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if auth:
        lines.append(auth)
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def status_of(data):
    m = re.match(rb"SIP/2\.0 (\d{3})", data)
    return int(m.group(1)) if m else 0


def header(data, name):
    m = re.search(rb"(?im)^" + name.encode() + rb":\s*(.*?)\r?$", data)
    return m.group(1).decode(errors="replace") if m else ""


def digest(challenge, user, password, method, uri):
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    h = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1, ha2 = h(f"{user}:{params['realm']}:{password}"), h(f"{method}:{uri}")
    cnonce, nc = os.urandom(4).hex(), "00000001"
    if "qop" in params:
        response = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        extra = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
    else:
        response = h(f"{ha1}:{params['nonce']}:{ha2}")
        extra = ""
    return (f'Authorization: Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
            f'uri="{uri}", response="{response}", algorithm=MD5{extra}')


def transact(sock, data, pbx, call_id):
    """Sends a request (retransmitted twice) and returns its final answer, or b"" after 3 s."""
    for _ in range(3):
        sock.sendto(data, (pbx, 5060))
        end = time.monotonic() + 1.0
        while (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                answer, _ = sock.recvfrom(65535)
            except socket.timeout:
                break
            if header(answer, "Call-ID") == call_id and status_of(answer) >= 200:
                return answer
    return b""


def register(src, pbx, user, password, expires):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((src, 5060))
    call_id = f"phone-{os.getpid()}-{expires}"
    answer = transact(sock, request("REGISTER", src, pbx, user, "LabPhone/1.0", call_id, 1, expires), pbx, call_id)
    if status_of(answer) == 401:
        auth = digest(header(answer, "WWW-Authenticate"), user, password, "REGISTER", f"sip:{pbx}")
        answer = transact(sock, request("REGISTER", src, pbx, user, "LabPhone/1.0", call_id, 2, expires, auth),
                          pbx, call_id)
    print(status_of(answer))
    return 0 if status_of(answer) == 200 else 1


def forge(src, pbx, method, user_agent, tag):
    payload = request(method, src, pbx, "100", user_agent, tag, 1, 60 if method == "REGISTER" else None)
    udp = struct.pack("!HHHH", 5060, 5060, 8 + len(payload), 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(pbx) + struct.pack("!BBH", 0, 17, len(udp) + len(payload))
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp + payload) or 0xFFFF)
    total = 20 + len(udp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(pbx))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + udp + payload, (pbx, 0))
    return 0


def listen(addr, out, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 5060))
    end = time.monotonic() + seconds
    with open(out, "a", buffering=1) as f:
        while (left := end - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                break
            f.write(f"{status_of(data)} {header(data, 'Call-ID')}\n")
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "register":
        return register(args[0], args[1], args[2], args[3], int(args[4]))
    if cmd == "forge":
        return forge(*args[:5])
    if cmd == "listen":
        return listen(args[0], args[1], float(args[2]))
    sys.exit(f"spoof_peer.py: unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
