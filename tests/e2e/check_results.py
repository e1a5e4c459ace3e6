#!/usr/bin/env python3
"""Checks the facts measured by tests/lab/protected-run (KEY=VALUE lines) against what the
protected lab must show; prints one FAIL line per broken expectation and exits 1 if any.
With pbx=asterisk (the run on Asterisk) more holds: svwar and svcrack get at most one answer,
no password is found, phone T (TCP) and phone I (IAX2) are validated and never blocked,
phone T's grant opens the UCP port while it is registered and goes when it unregisters, the
IAX2 phone with a wrong secret is never accepted nor blocked. The enumerator and the cracker
with a phone User-Agent are reported (NOTE lines), and held to at most PHONE_UA_MAX_ANSWERED
answers where PHONE_UA_ASSERTED names them; the cracker never finds the password.

  check_results.py RESULTS
"""

import sys

ATTACKERS = {"svmap": "192_0_2_66", "svwar": "192_0_2_67", "svcrack": "192_0_2_68",
             "svwar over IPv6": "2001_db8_3__66",
             "enumerator with a phone User-Agent": "192_0_2_69",
             "cracker with a phone User-Agent": "192_0_2_70"}
PHONE_A, PHONE_B = "198_51_100_10", "198_51_100_11"
MAX_ANSWERED = 5  # requests per tool the PBX may answer before the block takes hold
ASTERISK_MAX_ANSWERED = 1  # svwar and svcrack on Asterisk: its first answer at most
PHONE_I, PHONE_T, PHONE_X = "198_51_100_12", "198_51_100_13", "198_51_100_14"
ENUMERATOR, CRACKER = "192_0_2_69", "192_0_2_70"
# The tools that look like phones (sipp with a desk phone's User-Agent, so no fingerprint
# applies): what each PBX run holds them to. On Asterisk pbxwalld knows the extensions from
# the PBX's configuration, which defeats its uniform 401 to unknown usernames.
PHONE_UA_MAX_ANSWERED = {"enumerator": 5, "cracker": 6}
PHONE_UA_ASSERTED = {"kamailio": ("enumerator",), "asterisk": ("enumerator", "cracker")}


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
    equals("set_after_kill", 1, "after kill -9 the kernel sets no longer held every block")
    if "blocked_at_kill" in r:
        n = number("blocked_at_kill")
        if n is not None:
            expect(n >= 2, f"only {n} block(s) before the kill (svmap's and svwar's expected)")
    equals("listed_after_restart", 1, "after the restart `list blocked` did not show the svwar attacker")
    equals("set_after_restart", 1, "after the restart the kernel set did not hold the svwar attacker")
    equals("other_table_identical", 1, "the unrelated nftables table changed")
    if r.get("pbx") == "asterisk":
        for key in ("svwar", "svcrack", "svwar_ipv6"):
            at_most(f"{key}_answered", ASTERISK_MAX_ANSWERED, f"{key} on Asterisk")
        equals("phonet_validated", 1, "phone T (TCP) was not validated")
        equals(f"blocked_{PHONE_T}", 0, "phone T (TCP) was blocked")
        equals("phonet_ucp_before", 0, "the UCP port was open to phone T before it registered")
        equals("phonet_grant", 1, "phone T had no grant while registered")
        equals("phonet_ucp_validated", 1, "phone T could not reach the UCP port while registered")
        equals("phonet_forgotten", 1, "phone T was not forgotten after unregistering")
        equals("phonet_grant_after", 0, "phone T's grant stayed after it unregistered")
        equals("phonet_ucp_after", 0, "phone T reached the UCP port after it unregistered")
        equals("phonei_validated", 1, "phone I (IAX2) was not validated")
        equals(f"blocked_{PHONE_I}", 0, "phone I (IAX2) was blocked")
        equals("phonei_unanswered", 0, "phone I (IAX2) had registrations without an answer")
        n = number("phonei_regack")
        if n is not None:
            expect(n >= 3, f"phone I (IAX2) was acknowledged only {n} times")
        equals("phonex_regack", 0, "phone X (IAX2) was accepted with a wrong secret")
        equals(f"blocked_{PHONE_X}", 0, "phone X (IAX2, wrong secret) was blocked")
    for key in PHONE_UA_ASSERTED.get(r.get("pbx", "kamailio"), ()):
        at_most(f"{key}_answered", PHONE_UA_MAX_ANSWERED[key], f"the {key} with a phone User-Agent")
    if "cracker_found" in r:
        equals("cracker_found", 0, "the cracker with a phone User-Agent found the password")
    return failures


def notes(r):
    """What the run measured without holding it to a limit."""
    lines = []
    for key, what in (("enumerator", "the enumerator"), ("cracker", "the cracker")):
        if f"{key}_answered" in r:
            blocked = r.get(f"blocked_{ENUMERATOR if key == 'enumerator' else CRACKER}", "?")
            lines.append(f"{what} with a phone User-Agent: {r[f'{key}_answered']} answered by the "
                         f"PBX, blocked={blocked}" + (f", found the password={r['cracker_found']}"
                                                      if key == "cracker" else ""))
    if "phonex_flagged" in r:
        lines.append(f"phone X (IAX2, wrong secret): {r.get('phonex_regrej', '?')} refusals, "
                     f"flagged={r['phonex_flagged']}")
    return lines


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
    for text in notes(results):
        print(f"NOTE: {text}")
    for text in failures:
        print(f"FAIL: {text}")
    if not failures:
        print(f"{sys.argv[1]}: every expectation holds")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
