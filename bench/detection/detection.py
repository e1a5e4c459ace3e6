#!/usr/bin/env python3
"""Requests before the block, per capture and per attacker, with the fingerprints on and off.

    bench/detection/detection.py --pbxwall build/src/cli/pbxwall [--captures DIR]

For every capture in tests/data/captures (and any *.pcap under tests/data), runs
`pbxwall replay --json` three times: default settings, fingerprints off
(tests/replay/no-fingerprints.toml), and fingerprints off with the lab PBX's accounts known
(tests/replay/no-fingerprints-accounts.toml). Prints one Markdown row per source that sent
requests: for a blocked source the requests it had sent up to and including the one that got it
blocked, and the rule; for a source never blocked its outcome (validated, flagged, or open).
"""

import argparse
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
import sipcap  # noqa: E402

MODES = [
    ("fingerprints on", []),
    ("fingerprints off", ["--config", os.path.join(ROOT, "tests", "replay", "no-fingerprints.toml")]),
    ("off + PBX accounts", ["--config", os.path.join(ROOT, "tests", "replay", "no-fingerprints-accounts.toml")]),
]


def replay(pbxwall, capture, extra):
    proc = subprocess.run([pbxwall, "replay", "--json", *extra, capture], capture_output=True, text=True,
                          timeout=300, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"pbxwall replay {capture} failed: {proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]


def outcome(messages, decisions, addr):
    block = next((d for d in decisions if d.get("action") == "block" and sipcap.ipaddress.ip_address(d["addr"]) == addr), None)
    if block:
        sent = sum(1 for m in messages if m.is_request and m.src == str(addr) and m.t <= float(block["t"]) + 1e-6)
        return f"blocked at request {sent} ({block['rule']})"
    mine = [d for d in decisions if d.get("addr") and sipcap.ipaddress.ip_address(d["addr"]) == addr]
    if any(d["action"] == "validate" for d in mine):
        return "validated, never blocked"
    if any(d["action"] == "flag" for d in mine):
        return "flagged, never blocked"
    return "open"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbxwall", required=True)
    parser.add_argument("--captures", default=os.path.join(ROOT, "tests", "data"))
    args = parser.parse_args()
    captures = sorted(set(glob.glob(os.path.join(args.captures, "**", "*.pcap"), recursive=True)))
    print("| capture | source | requests | " + " | ".join(name for name, _ in MODES) + " |")
    print("|---|---|---|" + "---|" * len(MODES))
    for capture in captures:
        messages = list(sipcap.sip_messages(capture))
        pbx = sipcap.guess_pbx(messages) | {"203.0.113.1", "2001:db8:1::1"}
        runs = [replay(args.pbxwall, capture, extra) for _, extra in MODES]
        sources = sorted({m.src for m in messages if m.is_request and m.src not in pbx},
                         key=lambda a: (sipcap.ipaddress.ip_address(a).version, sipcap.ipaddress.ip_address(a)))
        for src in sources:
            addr = sipcap.ipaddress.ip_address(src)
            total = sum(1 for m in messages if m.is_request and m.src == src)
            cells = [outcome(messages, decisions, addr) for decisions in runs]
            print(f"| {os.path.basename(capture)} | {src} | {total} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
