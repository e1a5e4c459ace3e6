#!/usr/bin/env python3
"""Runs `pbxwall replay --json` over one real capture and checks the decisions.

    check_replay.py --pbxwall PATH --capture FILE.pcap --expect expectations.json

The expectations file maps a name (by default the capture's file name without .pcap; --name
for a variant such as "svcrack:no-fingerprints") to:
  "attackers":  {addr: max answers}   each must be blocked (a scanner, or a phone guessing too
                                      fast), and the PBX must have sent it at most that many
                                      answers up to the block (counted in the capture itself,
                                      at the time of the first block decision)
  "max_requests": {addr: n}           and it must have sent at most n requests up to and
                                      including the one that got it blocked
  "validated":  {addr: user}          each must get a validate decision for that user
  "flagged":    {addr: user}          each must get a flag decision for that user
  "never_blocked": [addr, ...]        no block decision may name these
  "alarm": {"network": cidr,          many sources attacking one extension, from this network:
            "max_requests": n,        the first block among them is the alarm; every source
            "max_before": m}          that starts after it must be blocked after at most n
                                      requests, and at most m sources may send requests before
                                      the alarm (those raise it and need not be blocked)
Any address blocked that is not an expected attacker fails the check too, so a replay that
blocks everything cannot pass; so does a summary whose answered_before_block, packets (SIP
messages) or PBX addresses differ from the capture, or that reports malformed messages or
decoding errors. Prints what it measured either way.
"""

import argparse
import ipaddress
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
import sipcap  # noqa: E402

PBX = {"203.0.113.1", "2001:db8:1::1"}


def run_replay(pbxwall, capture, extra):
    cmd = [pbxwall, "replay", "--json", *extra, capture]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {proc.returncode}\n{proc.stderr}")
    decisions, summary = [], None
    for number, line in enumerate(proc.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise SystemExit(f"FAIL: replay output line {number} is not JSON ({e}): {line}")
        if "summary" in obj:
            summary = obj["summary"]
        elif "action" in obj:
            for key in ("t", "action", "addr", "user", "rule", "reason", "until"):
                if key not in obj:
                    raise SystemExit(f"FAIL: replay output line {number} has no '{key}': {line}")
            decisions.append(obj)
        else:
            raise SystemExit(f"FAIL: replay output line {number} is neither a decision nor "
                             f"the summary: {line}")
    if summary is None:
        raise SystemExit("FAIL: replay printed no summary line")
    return decisions, summary


def canonical(addr):
    """Addresses as sipcap prints them (the replay may write IPv6 in another case)."""
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr


def check(name, expect, decisions, summary, messages):
    failures = []
    blocks = {}
    for d in decisions:
        if d["action"] == "block":
            blocks.setdefault(canonical(d["addr"]), d)

    for addr, max_answers in expect.get("attackers", {}).items():
        block = blocks.get(addr)
        requests = sum(1 for m in messages if m.is_request and m.src == addr)
        if block is None:
            failures.append(f"attacker {addr} ({requests} requests) was never blocked")
            continue
        answered = sipcap.answers_before(messages, PBX, addr, float(block["t"]))
        sent = sum(1 for m in messages
                   if m.is_request and m.src == addr and m.t <= float(block["t"]) + 1e-6)
        print(f"  {addr}: blocked at request {sent} of {requests}, after {answered} PBX "
              f"answers (allowed {max_answers}); rule {block['rule']}: {block['reason']}")
        sources = summary.get("sources") if isinstance(summary, dict) else None
        entry = sources.get(addr) if isinstance(sources, dict) else None
        reported = entry.get("answered_before_block") if isinstance(entry, dict) else None
        if reported is not None and reported != answered:
            failures.append(f"the replay's summary says {addr} got {reported} answers before "
                            f"its block; the capture has {answered}")
        if answered > max_answers:
            failures.append(f"attacker {addr} got {answered} answers before its block "
                            f"(at most {max_answers} allowed)")
        max_requests = expect.get("max_requests", {}).get(addr)
        if max_requests is not None and sent > max_requests:
            failures.append(f"attacker {addr} sent {sent} requests up to its block "
                            f"(at most {max_requests} allowed)")

    alarm = expect.get("alarm")
    alarm_sources = set()
    if alarm:
        network = ipaddress.ip_network(alarm["network"])
        firsts = {}
        for m in messages:
            if m.is_request and m.src not in PBX and ipaddress.ip_address(m.src) in network:
                firsts.setdefault(m.src, m.t)
        alarm_sources = set(firsts)
        alarm_blocks = [float(d["t"]) for a, d in blocks.items() if a in alarm_sources]
        if not alarm_blocks:
            failures.append(f"none of the {len(firsts)} sources in {network} was blocked")
        else:
            alarm_t = min(alarm_blocks)
            before = [a for a, t in firsts.items() if t <= alarm_t + 1e-6]
            after = [a for a, t in firsts.items() if t > alarm_t + 1e-6]
            if len(before) > alarm["max_before"]:
                failures.append(f"{len(before)} sources in {network} sent requests before the "
                                f"first block (at most {alarm['max_before']} allowed)")
            worst = 0
            for addr in after:
                block = blocks.get(addr)
                if block is None:
                    failures.append(f"{addr} started after the alarm and was never blocked")
                    continue
                sent = sum(1 for m in messages if m.is_request and m.src == addr
                           and m.t <= float(block["t"]) + 1e-6)
                worst = max(worst, sent)
                if sent > alarm["max_requests"]:
                    failures.append(f"{addr} started after the alarm and sent {sent} requests "
                                    f"up to its block (at most {alarm['max_requests']} allowed)")
            print(f"  {network}: {len(before)} sources before the alarm, {len(after)} after it, "
                  f"each blocked after at most {worst} requests")

    for kind, action in (("validated", "validate"), ("flagged", "flag")):
        for addr, user in expect.get(kind, {}).items():
            found = [d for d in decisions
                     if d["action"] == action and canonical(d["addr"]) == addr]
            if not found:
                failures.append(f"{addr} got no {action} decision")
            elif not any(d["user"] == user for d in found):
                users = sorted({d["user"] for d in found})
                failures.append(f"{addr} got {action} for user(s) {users}, expected {user}")
            else:
                first = next(d for d in found if d["user"] == user)
                print(f"  {addr}: {action} user {user} at t={first['t']} "
                      f"({len(found)} {action} decisions): {first['reason']}")

    # The decoding, where the summary reports on it: every message of these captures is
    # well-formed SIP, and the PBX is 203.0.113.1 and/or 2001:db8:1::1.
    if isinstance(summary, dict):
        for key in ("malformed", "decode_errors"):
            if summary.get(key):
                failures.append(f"the replay reports {summary[key]} {key}; the capture has none")
        if "packets" in summary and summary["packets"] != len(messages):
            failures.append(f"the replay decoded {summary['packets']} SIP messages; the "
                            f"capture has {len(messages)}")
        pbx = summary.get("pbx")
        if isinstance(pbx, list) and (not pbx or {canonical(a) for a in pbx} - PBX):
            failures.append(f"the replay took {pbx} for the PBX")

    protected = set(expect.get("never_blocked", [])) | PBX
    for addr in sorted(protected):
        if addr in blocks:
            d = blocks[addr]
            failures.append(f"{addr} must never be blocked but was, by rule {d['rule']}: "
                            f"{d['reason']}")
    unexpected = set(blocks) - set(expect.get("attackers", {})) - protected - alarm_sources
    for addr in sorted(unexpected):
        failures.append(f"{addr} was blocked but is no attacker in {name}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbxwall", required=True)
    parser.add_argument("--capture", required=True)
    parser.add_argument("--expect", required=True)
    parser.add_argument("--name", help="expectations entry (default: capture file name)")
    parser.add_argument("replay_args", nargs="*",
                        help="more arguments for pbxwall replay (after --)")
    args = parser.parse_args()

    name = args.name or os.path.basename(args.capture).removesuffix(".pcap")
    with open(args.expect, encoding="utf-8") as f:
        all_expectations = json.load(f)
    if name not in all_expectations:
        raise SystemExit(f"FAIL: {args.expect} has no entry '{name}'")
    expect = all_expectations[name]

    messages = list(sipcap.sip_messages(args.capture))
    decisions, summary = run_replay(args.pbxwall, args.capture, args.replay_args)
    print(f"{name}: {len(messages)} SIP messages, {len(decisions)} decisions")
    failures = check(name, expect, decisions, summary, messages)
    print("  summary: " + json.dumps(summary, sort_keys=True)[:2000])
    if failures:
        for failure in failures:
            print(f"FAIL: {name}: {failure}")
        return 1
    print(f"PASS: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
