#!/usr/bin/env python3
"""What one source got out of the PBX in a lab capture, for the comparison benchmark.

  measure.py CAPTURE --src ADDR --from T0 --to T1 [--row OUTCOME]

Prints one JSON object: requests sent, requests the PBX answered, and `blocked_after`: the
seconds from the source's first request to the PBX's last answer to it, when requests kept
coming after that answer and none of them was answered (the protection cut it off); null
when the PBX answered to the end (no block seen).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lab"))
import sipcap  # noqa: E402  (the lab's capture reader)

# Requests after the last answer that must go unanswered before we call it a block: a tool's
# last request may simply be the last one (no answer yet), a block leaves many unanswered.
UNANSWERED_FOR_BLOCK = 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture")
    parser.add_argument("--src", required=True)
    parser.add_argument("--from", dest="start", type=float, required=True)
    parser.add_argument("--to", dest="end", type=float, required=True)
    parser.add_argument("--row", metavar="OUTCOME",
                        help="print a table cell instead: answered of sent; seconds; OUTCOME")
    args = parser.parse_args()
    try:
        messages = list(sipcap.sip_messages(args.capture))
    except (OSError, sipcap.CaptureError) as e:
        print(f"measure: {e}", file=sys.stderr)
        return 1
    inside = [m for m in messages if args.start <= m.t <= args.end]
    requests = [m for m in inside if m.is_request and m.src == args.src]
    answers = [m for m in inside if not m.is_request and m.dst == args.src]
    answered = {(m.headers.get("call-id"), m.cseq) for m in answers}
    n_answered = sum(1 for m in requests if (m.headers.get("call-id"), m.cseq) in answered)
    blocked_after = None
    if requests:
        last_answer = max((m.t for m in answers), default=None)
        after = [m for m in requests if last_answer is None or m.t > last_answer]
        if len(after) >= UNANSWERED_FOR_BLOCK:
            first = requests[0].t
            blocked_after = round((last_answer - first) if last_answer else 0.0, 3)
    if args.row is not None:
        cut = f"{blocked_after:.2f} s" if blocked_after is not None else "not blocked"
        print(f"{n_answered} of {len(requests)}; {cut}; {args.row}")
        return 0
    print(json.dumps({"src": args.src, "requests": len(requests), "answered": n_answered,
                      "answers": len(answers), "blocked_after": blocked_after}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
