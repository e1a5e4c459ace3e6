#!/usr/bin/env python3
"""The generated man pages and bash completion cover the programs and the configuration
reference: every command and option of `pbxwall --help` (recursively) and `pbxwalld --help` is
in pbxwall(8) and pbxwalld(8) and is completed by bash; every key of docs/configuration.md is in
pbxwall.toml(5); the pages are valid roff; both programs print the project version, which
debian/changelog repeats."""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_docs  # noqa: E402

failures = []


def expect(condition, message):
    if not condition:
        failures.append(message)


def roff_text(path):
    return open(path, encoding="utf-8").read().replace("\\-", "-").replace("\\e", "\\")


def complete(completion, words, env=None):
    """COMPREPLY of bash completing the last of `words` (an empty string: a new word)."""
    script = (
        "source %s\n"
        "COMP_WORDS=(%s)\nCOMP_CWORD=%d\n"
        "_%s\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n"
    ) % (completion, " ".join("'%s'" % w for w in words), len(words) - 1, os.path.basename(words[0]))
    out = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=env)
    expect(out.returncode == 0, "completion of %r failed: %s" % (words, out.stderr))
    return set(out.stdout.split())


def config_keys(markdown):
    """The keys in the first column of docs/configuration.md's `| Key | ...` tables, and the
    section names of its `## [section]` headings."""
    keys = set()
    in_key_table = False
    for line in markdown.splitlines():
        s = line.strip()
        if s.startswith("## "):
            keys.update(re.findall(r"`\[\[?([^\]`]+)\]\]?`", s))
        if not s.startswith("|"):
            in_key_table = False
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if cells[0] == "Key":
            in_key_table = True
            continue
        if in_key_table and not set(cells[0]) <= set("-: "):
            keys.update(re.findall(r"`([^`]+)`", cells[0]))
    return keys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pbxwall", required=True)
    p.add_argument("--pbxwalld", required=True)
    p.add_argument("--man-dir", required=True)
    p.add_argument("--docs", required=True)
    p.add_argument("--source-dir", required=True)
    p.add_argument("--version", required=True)
    a = p.parse_args()

    # The version, from one place.
    for program in (a.pbxwall, a.pbxwalld):
        out = subprocess.run([program, "--version"], capture_output=True, text=True)
        expect(out.returncode == 0 and out.stdout.strip() == "%s %s" % (os.path.basename(program), a.version),
               "%s --version printed %r, not its name and %s" % (program, out.stdout, a.version))
    changelog = os.path.join(a.source_dir, "debian", "changelog")
    head = open(changelog, encoding="utf-8").readline()
    m = re.match(r"^pbxwall \(([^)]+)\)", head)
    expect(m and re.split(r"[-+~]", m.group(1))[0] == a.version,
           "debian/changelog's version %r is not the project version %s" % (head.strip(), a.version))

    completion = os.path.join(a.man_dir, "pbxwall.bash-completion")
    for program, page in ((a.pbxwall, "pbxwall.8"), (a.pbxwalld, "pbxwalld.8")):
        path = os.path.join(a.man_dir, page)
        text = roff_text(path)
        tree = cli_docs.help_tree(program)
        name = os.path.basename(program)
        for node in cli_docs.walk(tree):
            key = " ".join(node["path"])
            if node["path"]:
                expect('.SS "%s"' % key in text, "%s: no section for the command '%s'" % (page, key))
                expect(node["description"] in text, "%s: the description of '%s' is missing" % (page, key))
            for entry in node["options"] + node["positionals"]:
                for n in entry["names"]:
                    expect("\\fB%s\\fR" % n in text, "%s: '%s' has no entry for %s" % (page, key or name, n))
            # Completion: the subcommands after the command, the options after a dash.
            subs = {s["names"][0] for s in node["subcommands"]}
            if subs:
                got = complete(completion, [name, *node["path"], ""])
                expect(subs <= got, "completion of '%s ': missing %s" % (key, sorted(subs - got)))
            opts = {n for e in node["options"] for n in e["names"] if n.startswith("--")}
            got = complete(completion, [name, *node["path"], "--"])
            expect(opts <= got, "completion of '%s --': missing %s" % (key, sorted(opts - got)))
            short = {n for e in node["options"] for n in e["names"] if not n.startswith("--")}
            got = complete(completion, [name, *node["path"], "-"])
            expect(short <= got, "completion of '%s -': missing %s" % (key, sorted(short - got)))
            # The same read from the raw --help, not through cli_docs' parser: every "--name" at
            # the start of an option line and every name of the Subcommands list is completed.
            raw = subprocess.run([program, *node["path"], "--help"], capture_output=True, text=True).stdout
            raw_opts = set(re.findall(r"^  (?:-\w,)?(--[a-z][\w-]*)", raw, re.M))
            got = complete(completion, [name, *node["path"], "--"])
            expect(raw_opts and raw_opts <= got,
                   "completion of '%s --': missing %s of --help" % (key, sorted(raw_opts - got)))
            raw_subs = set(re.findall(r"^  ([a-z][\w-]*) ", raw.partition("\nSubcommands:\n")[2], re.M))
            if raw_subs:
                got = complete(completion, [name, *node["path"], ""])
                expect(raw_subs <= got, "completion of '%s ': missing %s of --help" % (key, sorted(raw_subs - got)))
        # roff that groff reads without a warning.
        groff = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True, text=True)
        expect(groff.returncode == 0 and not groff.stderr.strip(), "%s: groff warns: %s" % (page, groff.stderr))
        expect(re.search(r"^\.SH \"NAME\"\n(?:\.PP\n)?%s \\- " % re.escape(name), open(path).read(), re.M),
               "%s: the NAME section is not 'NAME \\- summary'" % page)

    zones = {"trusted", "local", "other", "internet", "reject"}
    got = complete(completion, ["pbxwall", "trust", "192.0.2.7", "--zone", ""])
    expect(zones <= got, "completion of 'trust ADDR --zone': %s, not the zones" % sorted(got))
    got = complete(completion, ["pbxwall", "list", ""])
    expect(zones | {"blocked", "validated", "flagged"} <= got, "completion of 'list': %s" % sorted(got))
    got = complete(completion, ["pbxwall", "list", "int"])
    expect(got == {"internet"}, "completion of 'list int': %s" % sorted(got))
    got = complete(completion, ["pbxwall", "zones", ""])
    expect(got == zones, "completion of 'zones': %s, not the zones" % sorted(got))
    # A global option's value is skipped: the command after it is completed.
    got = complete(completion, ["pbxwall", "--config", "/etc/pbxwall/other.toml", "ch"])
    expect(got == {"check"}, "completion of '--config FILE ch': %s" % sorted(got))
    got = complete(completion, ["pbxwall", "--config", "/etc/pbxwall/other.toml", "trust", "192.0.2.7", "--zone", "re"])
    expect(got == {"reject"}, "completion of '--config FILE trust ADDR --zone re': %s" % sorted(got))
    # Service names, from the configuration the command line names.
    example = os.path.join(a.source_dir, "packaging", "pbxwall.toml")
    env = dict(os.environ, PATH=os.path.dirname(a.pbxwall) + os.pathsep + os.environ.get("PATH", ""))
    services = subprocess.run(["bash", "--norc", "-c", "source %s; COMP_WORDS=(pbxwall --config %s services ''); "
                               "_pbxwall_services" % (completion, example)], capture_output=True, text=True, env=env)
    names = set(services.stdout.split())
    expect({"ssh", "sip", "iax", "rtp"} <= names, "service names completed: %s" % sorted(names))
    # `services [service]`: the names of the configuration on the command line, a custom one too.
    custom = os.path.join(a.man_dir, "completion-test.toml")
    with open(custom, "w", encoding="utf-8") as f:
        f.write(open(example, encoding="utf-8").read())
        f.write('\n[[custom_services]]\nname = "crm"\nports = ["tcp/8443"]\nzones = ["local"]\n')
    got = complete(completion, ["pbxwall", "--config", custom, "services", ""], env)
    expect({"ssh", "sip", "iax", "rtp", "crm"} <= got, "completion of 'services': %s" % sorted(got))
    got = complete(completion, ["pbxwall", "--config", custom, "services", "cr"], env)
    expect(got == {"crm"}, "completion of 'services cr': %s" % sorted(got))
    os.unlink(custom)

    toml_page = os.path.join(a.man_dir, "pbxwall.toml.5")
    text = roff_text(toml_page)
    keys = config_keys(open(a.docs, encoding="utf-8").read())
    expect(len(keys) > 30, "only %d keys found in %s" % (len(keys), a.docs))
    for k in sorted(keys):
        expect("\\fB%s\\fR" % k in text or "\\fB[%s]\\fR" % k in text or "\\fB[[%s]]\\fR" % k in text,
               "pbxwall.toml.5: the key '%s' of %s is missing" % (k, os.path.basename(a.docs)))
    groff = subprocess.run(["groff", "-man", "-ww", "-z", toml_page], capture_output=True, text=True)
    expect(groff.returncode == 0 and not groff.stderr.strip(), "pbxwall.toml.5: groff warns: %s" % groff.stderr)

    for f in failures:
        print("FAIL:", f)
    print("cli_docs: %d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
