#!/usr/bin/env python3
"""Stands in for `pbxwall replay --json CAPTURE` to test check_replay.py itself.

FAKE_REPLAY (environment) chooses the output:
  good          blocks each friendly-scanner source at its first request, validates each
                source whose REGISTER got 200 (as its To user), flags each source whose
                credentials were refused 3 times without a 200
  late          as good, but blocks at each scanner's 10th request
  none          no decisions at all
  blocks-phone  as good, and also blocks every validated or flagged source
  wrong-summary as good, but the summary counts one answer too many before each block
  malformed     as good, but the summary reports 3 malformed messages
  garbage       a line that is not JSON
A correct checker passes `good` and fails all the others.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
import sipcap  # noqa: E402

PBX = {"203.0.113.1", "2001:db8:1::1"}


def decision(t, action, addr, user, rule, reason, until=None):
    return {"t": t, "action": action, "addr": addr, "user": user, "rule": rule,
            "reason": reason, "until": until}


def good_decisions(messages, block_at):
    out = []
    requests = {}
    refused = {}
    done = set()
    for m in messages:
        if m.is_request:
            n = requests[m.src] = requests.get(m.src, 0) + 1
            ua = m.headers.get("user-agent", "")
            if "friendly-scanner" in ua and n == block_at and (m.src, "block") not in done:
                done.add((m.src, "block"))
                out.append(decision(m.t, "block", m.src, "", "fingerprint",
                                    "User-Agent friendly-scanner", m.t + 900))
            continue
        peer = m.dst
        if m.cseq[1] != "REGISTER" or (peer, "block") in done:
            continue  # a blocked source gets no further decisions
        if m.status == 200 and (peer, "validate") not in done:
            done.add((peer, "validate"))
            out.append(decision(m.t, "validate", peer, m.header_user("to") or "",
                                "registration", "registered", m.t + 120))
        elif m.status == 401 and m.cseq[0] and m.cseq[0] % 2 == 0:
            # The phones' credentialed REGISTERs have even CSeq numbers (odd ones are the
            # unauthenticated first request of each round).
            n = refused[peer] = refused.get(peer, 0) + 1
            if n == 3 and (peer, "validate") not in done and (peer, "flag") not in done:
                done.add((peer, "flag"))
                out.append(decision(m.t, "flag", peer, m.header_user("to") or "",
                                    "misconfigured-device", "3 wrong passwords, slowly"))
    return out


def main():
    capture = sys.argv[-1]
    if sys.argv[1:3] != ["replay", "--json"]:
        print(f"fake_replay: unexpected arguments {sys.argv[1:]}", file=sys.stderr)
        return 2
    mode = os.environ.get("FAKE_REPLAY", "good")
    messages = list(sipcap.sip_messages(capture))
    if mode == "garbage":
        print("this is not json")
        return 0
    decisions = []
    if mode in ("good", "blocks-phone", "wrong-summary", "malformed"):
        decisions = good_decisions(messages, 1)
    elif mode == "late":
        decisions = good_decisions(messages, 10)
    if mode == "blocks-phone":
        decisions += [decision(d["t"], "block", d["addr"], d["user"], "flood", "fake")
                      for d in list(decisions) if d["action"] in ("validate", "flag")]
    sources = {}
    for d in decisions:
        print(json.dumps(d))
        if d["action"] == "block" and d["addr"] not in sources:
            answered = sipcap.answers_before(messages, PBX, d["addr"], d["t"])
            if mode == "wrong-summary":
                answered += 1
            sources[d["addr"]] = {"answered_before_block": answered, "state": "blocked"}
    summary = {"sources": sources}
    if mode == "malformed":
        summary["malformed"] = 3
    print(json.dumps({"summary": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
