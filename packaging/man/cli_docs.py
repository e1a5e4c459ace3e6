#!/usr/bin/env python3
"""The man pages and the bash completion of pbxwall, generated from one source each, so that
they cannot drift from the programs and the configuration reference:

  - the commands and options come from the programs themselves: their CLI11 `--help`, read for
    the program and, recursively, for every subcommand;
  - the prose comes from the Markdown files beside this script (NAME.SECTION.md), in which
    `<!-- options -->`, `<!-- commands -->` and `<!-- include PATH -->` lines are replaced by
    the generated option and command lists and by another Markdown file (docs/configuration.md
    for pbxwall.toml(5)).

  cli_docs.py man SOURCE.md OUT [--program BINARY] [--version V]
  cli_docs.py completion OUT --program BINARY [--program BINARY2 ...]
  cli_docs.py tree BINARY           # the parsed --help tree as JSON (for the tests)
"""
import argparse
import json
import os
import re
import subprocess
import sys

# CLI11 prints an option's names and type in the first 30 columns, its description after.
DESCRIPTION_COLUMN = 30


def parse_help(text):
    """CLI11 help text -> {'description', 'usage', 'positionals', 'options', 'subcommands'};
    each entry is {'head', 'names', 'takes_value', 'description'}."""
    lines = text.splitlines()
    result = {"description": "", "usage": "", "positionals": [], "options": [], "subcommands": []}
    section = None
    entries = None
    intro = []
    for line in lines:
        if not line.strip():
            continue
        if line.startswith("Usage:"):
            result["usage"] = line[len("Usage:"):].strip()
            continue
        if not line.startswith(" ") and line.endswith(":"):
            section = line[:-1].strip().lower()
            entries = {"positionals": result["positionals"], "options": result["options"],
                       "subcommands": result["subcommands"]}.get(section)
            continue
        if section is None:
            intro.append(line.strip())
            continue
        if entries is None:
            continue
        if line.startswith(" " * DESCRIPTION_COLUMN) and entries:
            entry = entries[-1]
            entry["description"] = (entry["description"] + " " + line.strip()).strip()
            continue
        if not line.startswith("  ") or line[2] == " ":
            continue
        if len(line) <= DESCRIPTION_COLUMN or line[DESCRIPTION_COLUMN - 1] == " ":
            head, description = line[2:DESCRIPTION_COLUMN].strip(), line[DESCRIPTION_COLUMN:].strip()
        else:
            head, description = line.strip(), ""
        first, _, rest = head.partition(" ")
        entries.append({"head": head, "names": first.split(","), "takes_value": bool(rest.strip()),
                        "description": description})
    result["description"] = " ".join(intro)
    return result


def help_tree(program, path=()):
    """The parsed --help of `program path...`, with 'children' for each subcommand."""
    out = subprocess.run([program, *path, "--help"], capture_output=True, text=True, check=True).stdout
    node = parse_help(out)
    node["path"] = list(path)
    node["children"] = []
    for sub in node["subcommands"]:
        node["children"].append(help_tree(program, (*path, sub["names"][0])))
    return node


def walk(node):
    yield node
    for child in node["children"]:
        yield from walk(child)


# --- roff ---------------------------------------------------------------------------------

def roff_escape(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)


def roff_inline(text):
    """Markdown inline markup (code, bold, emphasis, links) to roff fonts."""
    out = []
    pos = 0
    pattern = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)|(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")
    for m in pattern.finditer(text):
        out.append(roff_escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + roff_escape(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + roff_escape(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append(roff_inline(m.group(3)))
        else:
            out.append("\\fI" + roff_escape(m.group(5)) + "\\fR")
        pos = m.end()
    out.append(roff_escape(text[pos:]))
    return "".join(out)


def roff_line(text):
    """A text line safe for roff: no leading control character."""
    if text.startswith((".", "'")):
        return "\\&" + text
    return text


def split_row(line):
    cells = line.strip().strip("|").split("|")
    return [c.strip() for c in cells]


def markdown_to_roff(markdown, heading_shift=0):
    """The Markdown subset of pbxwall's docs: headings, paragraphs, lists, tables, code."""
    out = []
    lines = markdown.splitlines()
    i = 0
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP")
            out.extend(roff_line(roff_inline(p)) for p in paragraph)
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                out.append(roff_line(roff_escape(lines[i])))
                i += 1
            out += [".fi", ".RE"]
            i += 1
            continue
        m = re.match(r"^(#+)\s+(.*)$", stripped)
        if m:
            flush()
            level = len(m.group(1)) + heading_shift
            title = roff_inline(m.group(2))
            out.append((".SH " if level <= 2 else ".SS ") + '"' + title + '"')
            i += 1
            continue
        if stripped.startswith("|"):
            flush()
            header = split_row(stripped)
            i += 1
            if i < len(lines) and re.match(r"^\|?[\s:|-]+\|?$", lines[i].strip()):
                i += 1
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = split_row(lines[i])
                out.append(".TP")
                out.append(roff_line(roff_inline(cells[0])))
                details = ["%s: %s" % (header[k], cells[k]) for k in range(1, len(cells) - 1)
                           if k < len(header) and cells[k]]
                text = "; ".join(details)
                last = cells[-1] if len(cells) > 1 else ""
                if text:
                    text += ". "
                if len(cells) > 2 and len(header) == len(cells) and len(cells) <= 3:
                    text = "%s: %s. " % (header[1], cells[1])
                out.append(roff_line(roff_inline(text + last)))
                i += 1
            continue
        m = re.match(r"^(?:[-*]|\d+\.)\s+(.*)$", stripped)
        if m and not line.startswith("    "):
            flush()
            item = [m.group(1)]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() and \
                    not re.match(r"^(?:[-*]|\d+\.)\s+", lines[i].strip()):
                item.append(lines[i].strip())
                i += 1
            bullet = "\\(bu" if stripped[0] in "-*" else stripped.split(".")[0] + "."
            out.append('.IP "%s" 4' % bullet)
            out.extend(roff_line(roff_inline(t)) for t in item)
            continue
        if not stripped:
            flush()
        else:
            paragraph.append(stripped)
        i += 1
    flush()
    return out


def options_roff(node):
    out = []
    for entry in node["positionals"] + node["options"]:
        out.append(".TP")
        names, _, rest = entry["head"].partition(" ")
        head = ", ".join("\\fB" + roff_escape(n) + "\\fR" for n in names.split(","))
        if rest:
            head += " \\fI" + roff_escape(rest) + "\\fR"
        out.append(roff_line(head))
        out.append(roff_line(roff_escape(entry["description"] or "(no description)")))
    return out


def commands_roff(tree):
    out = []
    for node in walk(tree):
        if not node["path"]:
            continue
        out.append('.SS "%s"' % roff_escape(" ".join(node["path"])))
        usage = node["usage"].split(" ", 1)
        out.append(".B " + roff_escape(" ".join([os.path.basename(usage[0])] + usage[1:])))
        out.append(".PP")
        out.append(roff_line(roff_escape(node["description"])))
        own = [e for e in node["positionals"] + node["options"] if e["names"][0] not in ("-h", "--help")]
        if own:
            out.append(".RS 4")
            out += options_roff({"positionals": [e for e in own if not e["names"][0].startswith("-")],
                                 "options": [e for e in own if e["names"][0].startswith("-")]})
            out.append(".RE")
    return out


def make_man(source, out_path, program=None, version=""):
    text = open(source, encoding="utf-8").read()
    name, section = re.match(r"^(.+)\.(\d)\.md$", os.path.basename(source)).groups()
    tree = None
    if program:
        tree = help_tree(program)
        tree["program"] = program
    lines = ['.\\" Generated by packaging/man/cli_docs.py from %s; do not edit.' % os.path.basename(source),
             '.TH "%s" "%s" "" "pbxwall %s" "pbxwall"' % (roff_escape(name.upper()), section, version)]
    body = []
    for line in text.splitlines():
        directive = re.match(r"^<!--\s*(options|commands|include)\s*(\S*)\s*-->$", line.strip())
        if not directive:
            body.append(line)
            continue
        lines += markdown_to_roff("\n".join(body))
        body = []
        kind, arg = directive.groups()
        if kind == "options":
            lines += options_roff(tree)
        elif kind == "commands":
            lines += commands_roff(tree)
        else:
            included = open(os.path.join(os.path.dirname(source), arg), encoding="utf-8").read()
            # The included file's own title (its first heading) is left out: the page has its own.
            included = re.sub(r"\A#\s[^\n]*\n", "", included.lstrip())
            lines += markdown_to_roff(included)
    lines += markdown_to_roff("\n".join(body))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


# --- bash completion ----------------------------------------------------------------------

ZONES = ["trusted", "local", "other", "internet", "reject"]


def value_kind(entry):
    """What an option's or positional's value is, from its name and description."""
    names = " ".join(entry["names"]).lower()
    description = entry["description"].lower()
    if "zone" in names:
        return "zone"
    if "service" in names:
        return "service"
    if any(w in names for w in ("dir", "root")):
        return "dir"
    if any(w in names for w in ("config", "file", "capture", "state", "pcap")) or "file" in description:
        return "file"
    return "none"


def make_completion(out_path, programs):
    out = ["# bash completion for pbxwall and pbxwalld.",
           "# Generated by packaging/man/cli_docs.py from the programs' --help; do not edit.",
           "", "_pbxwall_zones='%s'" % " ".join(ZONES), ""]
    out.append("# Built-in and custom services (listed with a * after the name), as the configuration in use defines them.")
    out.append("_pbxwall_services() {")
    out.append("  local config=/etc/pbxwall/pbxwall.toml i")
    out.append('  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do')
    out.append('    [[ ${COMP_WORDS[i]} == --config ]] && config=${COMP_WORDS[i + 1]}')
    out.append("  done")
    out.append('  "${COMP_WORDS[0]}" --config "$config" services 2>/dev/null | awk \'NR > 1 { sub(/[*]$/, "", $1) } NR > 1 && $1 ~ /^[a-z0-9_-]+$/ { print $1 }\'')
    out.append("}")
    out.append("")
    for program in programs:
        tree = help_tree(program)
        prog = os.path.basename(program)
        fn = "_" + prog.replace("-", "_")
        out.append("%s() {" % fn)
        out.append("  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} path=%s i w" % prog)
        out.append("  local -A subs=() opts=() kinds=() positional=()")
        for node in walk(tree):
            key = " ".join([prog] + node["path"])
            subs = " ".join(s["names"][0] for s in node["subcommands"] if not s["names"][0].startswith("__"))
            opts = " ".join(n for e in node["options"] for n in e["names"])
            out.append("  subs[%s]='%s'" % (json.dumps(key), subs))
            out.append("  opts[%s]='%s'" % (json.dumps(key), opts))
            for e in node["options"]:
                if e["takes_value"]:
                    for n in e["names"]:
                        out.append("  kinds[%s]=%s" % (json.dumps(key + " " + n), value_kind(e)))
            if node["positionals"]:
                out.append("  positional[%s]=%s" % (json.dumps(key), value_kind(node["positionals"][0])))
                # `list [zone]` also lists the daemon's blocked, validated and flagged hosts.
                if value_kind(node["positionals"][0]) == "zone" and "blocked" in node["positionals"][0]["description"]:
                    out.append("  positional[%s]=zone_or_list" % json.dumps(key))
        out.append('  for ((i = 1; i < COMP_CWORD; i++)); do')
        out.append('    w=${COMP_WORDS[i]}')
        out.append('    if [[ -n ${kinds["$path $w"]:-} || -n ${kinds["%s $w"]:-} ]]; then ((i++)); continue; fi' % prog + '')
        out.append('    local candidate="$path $w"')
        out.append('    [[ " ${subs[$path]} " == *" $w "* ]] && path=$candidate')
        out.append("  done")
        out.append('  local kind=${kinds["$path $prev"]:-${kinds["%s $prev"]:-}}' % prog + '')
        out.append('  if [[ -z $kind && $cur != -* && -z ${subs[$path]} && -n ${positional[$path]:-} ]]; then kind=${positional[$path]}; fi')
        out.append('  case $kind in')
        out.append('    zone) COMPREPLY=($(compgen -W "$_pbxwall_zones" -- "$cur")); return ;;')
        out.append('    zone_or_list) COMPREPLY=($(compgen -W "$_pbxwall_zones blocked validated flagged" -- "$cur")); return ;;')
        out.append('    service) COMPREPLY=($(compgen -W "$(_pbxwall_services)" -- "$cur")); return ;;')
        out.append('    file) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
        out.append('    dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;')
        out.append('    none) COMPREPLY=(); return ;;')
        out.append('  esac')
        out.append('  local words="${subs[$path]} ${opts[$path]}"')
        out.append('  [[ $path != %s ]] && words+=" ${opts[%s]}"  # global options are accepted after the command too' % (prog, prog) + '')
        out.append('  COMPREPLY=($(compgen -W "$words" -- "$cur"))')
        out.append("}")
        out.append("complete -F %s %s" % (fn, prog))
        out.append("")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    man = sub.add_parser("man")
    man.add_argument("source")
    man.add_argument("out")
    man.add_argument("--program")
    man.add_argument("--version", default="")
    comp = sub.add_parser("completion")
    comp.add_argument("out")
    comp.add_argument("--program", action="append", required=True)
    tree = sub.add_parser("tree")
    tree.add_argument("program")
    args = parser.parse_args()
    if args.what == "man":
        make_man(args.source, args.out, args.program, args.version)
    elif args.what == "completion":
        make_completion(args.out, args.program)
    else:
        json.dump(help_tree(args.program), sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
