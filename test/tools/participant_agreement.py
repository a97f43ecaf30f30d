#!/usr/bin/python3
"""Participant agreement: activity capture against an independent RFC 5322 parser.

For every message under each DIR, the set of (role, address) pairs that activity capture reads from
From, To, Cc and Bcc (printed by the C++ tool crm_capture_participants) is compared with the set
Python's own email package finds: the message parsed with email.policy.default, each of those
header fields' values handed to email.utils.getaddresses. The run fails when the two agree on
fewer than --min of all the messages (default 0.98). Standard library only. A DIR that does
not exist is left out with a message (the public data set may be absent).

Both sides are compared in the same canonical form, the one the participant trigger stores:
trimmed, ASCII-lower-cased, and a quoted local part whose content needs no quotes written
without them ("j..b"@x.com and j..b@x.com are the same mailbox, RFC 5321 section 4.1.2). From
Python's side only entries with text on both sides of an '@' are addresses (getaddresses returns
the words of "undisclosed-recipients:;" or of an unquoted "Doe, Jane" as entries too).

Exit status: 0 when the agreement is at least --min, 1 below it, 77 (skipped, for ctest) when
no DIR exists, 2 on a usage or tool error.
"""
import argparse
import email
import email.policy
import email.utils
import os
import re
import subprocess
import sys

ROLES = (("From", "from"), ("To", "to"), ("Cc", "cc"), ("Bcc", "bcc"))
# Files in the data folders that are not messages: licences and provenance notes.
NOT_MESSAGES = re.compile(r"^(LICENSE.*|.*-LICENSE|SOURCE\.txt|\.gitattributes)$")
# A local part that needs no quotes: atext (RFC 5322, with RFC 6532's UTF-8) and dots.
UNQUOTED_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\U0010ffff]+")
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def canonical(address):
    address = address.strip(" \t\r\n").translate(ASCII_LOWER)
    at = address.rfind("@")
    if at <= 0 or at == len(address) - 1:
        return None
    local, domain = address[:at], address[at + 1:]
    if len(local) >= 2 and local[0] == '"' and local[-1] == '"':
        inner = re.sub(r"\\(.)", r"\1", local[1:-1])
        if UNQUOTED_LOCAL.fullmatch(inner):
            local = inner
    return local + "@" + domain


def python_participants(raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    roles = {header.lower(): role for header, role in ROLES}
    values = {role: [] for _, role in ROLES}
    for name, value in message.raw_items():
        role = roles.get(name.lower())
        if role is None:
            continue
        try:
            values[role].append(str(message.policy.header_fetch_parse(name, value)))
        except Exception:  # the default policy's header parser gave up: the field as written
            values[role].append(value)
    found = set()
    for role, texts in values.items():
        for _, address in email.utils.getaddresses(texts):
            address = canonical(address)
            if address is not None:
                found.add((role, address))
    return found


def unescape(field):
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m.group(1), m.group(1)), field)


def capture_participants(tool, paths):
    result = subprocess.run([tool], input="".join(p + "\n" for p in paths).encode(),
                            stdout=subprocess.PIPE, check=True)
    found = {}
    for line in result.stdout.decode("utf-8", "surrogateescape").splitlines():
        fields = line.split("\t")
        pairs = set()
        for field in fields[1:]:
            role, _, address = unescape(field).partition(" ")
            pairs.add((role, canonical(address) or address))
        found[unescape(fields[0])] = pairs
    return found


def message_files(directory):
    paths = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if not NOT_MESSAGES.match(name):
                paths.append(os.path.join(root, name))
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tool", help="the crm_capture_participants executable")
    parser.add_argument("dirs", nargs="+", metavar="dir",
                        help="a folder of raw messages, searched recursively")
    parser.add_argument("--min", type=float, default=0.98, help="least agreement that passes")
    parser.add_argument("--show", type=int, default=20, help="disagreements to print")
    args = parser.parse_args()

    paths = []
    for directory in args.dirs:
        if not os.path.isdir(directory):
            print(f"# left out: no messages at {directory} (the public data set is absent?)")
            continue
        found = message_files(directory)
        print(f"# {len(found)} messages under {directory}")
        paths += found
    if not paths:
        print("skipped: none of the folders holds messages")
        return 77
    ours = capture_participants(args.tool, paths)
    disagreements = []
    for path in paths:
        with open(path, "rb") as f:
            theirs = python_participants(f.read())
        mine = ours.get(path, set())
        if mine != theirs:
            disagreements.append((path, sorted(mine - theirs), sorted(theirs - mine)))

    agreed = len(paths) - len(disagreements)
    rate = agreed / len(paths)
    for path, only_ours, only_python in disagreements[: args.show]:
        print(f"# {path}")
        for role, address in only_ours:
            print(f"#   capture only: {role} {address}")
        for role, address in only_python:
            print(f"#   python only:  {role} {address}")
    if len(disagreements) > args.show:
        print(f"# ... and {len(disagreements) - args.show} more (--show N)")
    verdict = "ok" if rate >= args.min else "FAILED"
    print(f"participant agreement: {agreed} of {len(paths)} messages ({100 * rate:.1f}%), "
          f"at least {100 * args.min:.1f}% needed: {verdict}")
    return 0 if rate >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
