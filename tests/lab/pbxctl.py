#!/usr/bin/env python3
"""Talks to pbxwalld's control socket for the lab scripts.

  pbxctl.py request SOCKET JSON           prints the daemon's one-line JSON reply
  pbxctl.py follow SOCKET --seconds N     prints each decision as a sentence as it happens

`follow` streams the daemon's events ({"cmd":"events","follow":true}); when the daemon goes
away (a restart, a kill -9) it says so, reconnects as soon as the socket is back and first
prints what it missed ({"cmd":"events","after_id":last}), so nothing is lost or repeated.
It ends after N seconds at most. The same module names the people in the lab (`--names`).
"""

import argparse
import json
import os
import socket
import sys
import time


def connect(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def request(path, req, timeout=5.0):
    """Sends one request, returns the parsed reply (a dict)."""
    with connect(path, timeout) as s:
        s.sendall((json.dumps(req) + "\n").encode())
        data = b""
        while b"\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\n", 1)[0]
    if not line:
        raise OSError(f"{path}: no reply")
    return json.loads(line)


RULE_WORDS = {
    "fingerprint": "an attack tool recognised by what it sends",
    "user-enumeration": "tried extension after extension",
    "password-guessing": "guessed passwords",
    "call-probing": "tried calls without authenticating",
    "flood": "sent more requests than any phone does",
    "registration": "registered with the right password",
    "registration-expired": "its registration ran out",
    "misconfigured-device": "keeps failing at a phone's pace",
    "manual": "by the administrator",
}


def sentence(event, names):
    addr = event.get("addr", "?")
    who = f"{names[addr]} ({addr})" if addr in names else addr
    user = f" user {event['user']}" if event.get("user") else ""
    why = RULE_WORDS.get(event.get("rule", ""), event.get("rule", ""))
    reason = event.get("reason", "")
    action = event.get("action", "?")
    if action == "block":
        return f"BLOCKED    {who}: {why} — {reason}"
    if action == "validate":
        return f"VALIDATED  {who}{user}: {why}; its traffic now skips inspection"
    if action == "flag":
        return f"FLAGGED    {who}{user}: {why}, not blocked — {reason}"
    if action == "forget":
        # The PBX's own word (AMI) carries its reason: "contact ... removed by the PBX".
        if event.get("rule") == "registration" and reason:
            why = reason
        return f"FORGOTTEN  {who}{user}: {why}"
    if action == "unblock":
        return f"UNBLOCKED  {who}: {reason}"
    return f"{action.upper():10} {who}{user}: {reason}"


def stamp():
    return time.strftime("%H:%M:%S", time.gmtime())


def follow(path, seconds, names, raw_file):
    deadline = time.monotonic() + seconds
    last_id = 0
    connected_once = False
    announced_down = False
    raw = open(raw_file, "a", encoding="utf-8") if raw_file else None

    def emit(event):
        nonlocal last_id
        if event.get("id", 0) <= last_id:
            return
        last_id = event["id"]
        print(f"[{stamp()}] {sentence(event, names)}", flush=True)
        if raw:
            raw.write(json.dumps(event) + "\n")
            raw.flush()

    while time.monotonic() < deadline:
        try:
            s = connect(path, 2.0)
        except OSError:
            if connected_once and not announced_down:
                print(f"[{stamp()}] pbxwalld is not answering on its control socket", flush=True)
                announced_down = True
            time.sleep(0.2)
            continue
        try:
            if connected_once and announced_down:
                print(f"[{stamp()}] pbxwalld is back", flush=True)
            announced_down = False
            connected_once = True
            # Join the stream, then fetch what was stored before joining (the stream only
            # carries events published after it was joined); ids make overlaps harmless.
            s.sendall((json.dumps({"cmd": "events", "follow": True}) + "\n").encode())
            buffer = b""
            joined = False
            while time.monotonic() < deadline:
                s.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    msg = json.loads(line)
                    if joined:
                        if "action" in msg:
                            emit(msg)
                        continue
                    if not msg.get("ok", False):
                        raise OSError(msg.get("error", "events refused"))
                    joined = True
                    stored = request(path, {"cmd": "events", "after_id": last_id, "limit": 10000})
                    for e in stored.get("items", []):
                        emit(e)
        except (OSError, ValueError):
            pass
        finally:
            s.close()
    if raw:
        raw.close()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_req = sub.add_parser("request")
    p_req.add_argument("socket")
    p_req.add_argument("json")
    p_fol = sub.add_parser("follow")
    p_fol.add_argument("socket")
    p_fol.add_argument("--seconds", type=float, required=True)
    p_fol.add_argument("--names", default="", help="ADDR=NAME,... for the sentences")
    p_fol.add_argument("--raw", help="also append each event as JSON to this file")
    args = parser.parse_args()
    if args.command == "request":
        try:
            reply = request(args.socket, json.loads(args.json))
        except (OSError, ValueError) as e:
            print(f"pbxctl: {args.socket}: {e}", file=sys.stderr)
            return 1
        print(json.dumps(reply))
        return 0 if reply.get("ok") else 1
    names = dict(pair.split("=", 1) for pair in args.names.split(",") if "=" in pair)
    return follow(args.socket, args.seconds, names, args.raw)


if __name__ == "__main__":
    sys.exit(main())
