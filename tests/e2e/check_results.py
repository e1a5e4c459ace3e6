#!/usr/bin/env python3
"""Checks the facts measured by tests/lab/protected-run (KEY=VALUE lines) against what the
protected lab must show; prints one FAIL line per broken expectation and exits 1 if any.

  check_results.py RESULTS
"""

import sys

ATTACKERS = {"svmap": "192_0_2_66", "svwar": "192_0_2_67", "svcrack": "192_0_2_68",
             "svwar over IPv6": "2001_db8_3__66"}
PHONE_A, PHONE_B = "198_51_100_10", "198_51_100_11"
MAX_ANSWERED = 5  # requests per tool the PBX may answer before the block takes hold


def check(r):
    failures = []

    def expect(condition, text):
        if not condition:
            failures.append(text)

    def number(key):
        value = r.get(key)
        if value is None or not value.lstrip("-").isdigit():
            failures.append(f"{key}: missing or not a number ({value!r})")
            return None
        return int(value)

    def at_most(key, limit, what):
        n = number(key)
        if n is not None:
            expect(n <= limit, f"{what}: {n} answered by the PBX (at most {limit} allowed)")

    def equals(key, want, what):
        n = number(key)
        if n is not None:
            expect(n == want, f"{what} ({key}={n}, expected {want})")

    at_most("svmap_answered", 1, "svmap")
    for key in ("svwar", "svcrack", "svwar_ipv6"):
        at_most(f"{key}_answered", MAX_ANSWERED, key)
    equals("svwar_while_down_answered", 0, "svwar got answers while pbxwalld was down")
    for key in ("svwar_found", "svwar_while_down_found", "svwar_ipv6_found"):
        if key not in r:
            failures.append(f"{key}: missing")
        else:
            expect(r[key] == "", f"{key.removesuffix('_found')} found extensions {r[key]}")
    equals("svcrack_found", 0, "svcrack found the password")
    for tool, addr in ATTACKERS.items():
        equals(f"blocked_{addr}", 1, f"the {tool} attacker was not blocked")
    equals("phonea_validated", 1, "phone A was not validated")
    equals(f"blocked_{PHONE_A}", 0, "phone A was blocked")
    equals("phonea_unanswered", 0, "phone A had REGISTERs without an answer")
    equals("phonea_403", 0, "phone A was refused")
    n = number("phonea_200")
    if n is not None:
        expect(n >= 4, f"phone A was accepted only {n} times (it registers every 30 s)")
    equals("phoneb_flagged", 1, "phone B was not flagged")
    equals(f"blocked_{PHONE_B}", 0, "phone B was blocked")
    equals("phoneb_200", 0, "phone B was accepted with a wrong password")
    equals("set_after_kill", 1, "after kill -9 the kernel set no longer held the svwar attacker")
    equals("listed_after_restart", 1, "after the restart `list blocked` did not show the svwar attacker")
    equals("set_after_restart", 1, "after the restart the kernel set did not hold the svwar attacker")
    equals("other_table_identical", 1, "the unrelated nftables table changed")
    return failures


def main():
    if len(sys.argv) != 2:
        print("usage: check_results.py RESULTS", file=sys.stderr)
        return 2
    results = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if "=" not in line:
                print(f"FAIL: {sys.argv[1]}:{lineno}: not KEY=VALUE: {line!r}")
                return 1
            key, value = line.split("=", 1)
            results[key] = value
    failures = check(results)
    for text in failures:
        print(f"FAIL: {text}")
    if not failures:
        print(f"{sys.argv[1]}: every expectation holds")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
