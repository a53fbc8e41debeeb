#!/usr/bin/env python3
"""Keeps docs/errors.md, the catalogue of error reasons, in step with the code.

Fails when a reason code used in services/ (outside tests/) is missing from
docs/errors.md, or when a reason listed in the first column of one of its
tables appears nowhere in services/ any more.

A reason is found in the sources as:
  - any "UPPER_SNAKE" string literal with at least one underscore;
  - an UPPER_SNAKE word in single quotes inside a Lua script ('DNC_TENANT|...');
  - a literal code prefix such as "HOLIDAY:" (DenialReason codes);
  - a one-word literal in a reason position: the reason argument of
    InvalidField, PermissionDenied, Unauthenticated, NotFound,
    FailedPrecondition, Aborted, Unavailable, AlreadyExists, WithReason,
    FromErrno, Reject, set_code or push_back ("OVERLOADED").
Environment variable names (DIALGRID_*) and the few literals in IGNORED are
not reasons.

Usage: check_reasons.py [--root DIR]   check the tree (default: this repo)
       check_reasons.py --self-test    check the checker on synthetic input
"""
import argparse
import os
import re
import sys

# UPPER_SNAKE literals in services/ that are not reasons, and why.
IGNORED = {
    "NO_LIST": "Lua error token of the contacts scripts, mapped to CONTACT_LIST_NOT_FOUND",
    "NOT_PLACED": "call outcome enum name compared inside a compliance Lua script",
    "ANSWERED_CONNECTED": "call outcome enum name compared inside a compliance Lua script",
    "LOGGED_OUT": "agent state name (StateName), in messages, not a reason",
    "NOT_READY": "agent state name (StateName), in messages, not a reason",
    "ON_CALL": "agent state name (StateName), in messages, not a reason",
    "WRAP_UP": "agent state name (StateName), in messages, not a reason",
    "NOT_AWAITING": "Lua reply token of dialing's put_call, mapped to CALL_NOT_AWAITING_DISPOSITION",
    "LINE_QUOTA": "Lua reply token of dialing's put_call, mapped to QUOTA_EXCEEDED (quota max_concurrent_lines)",
    "NO_ANSWER": "call outcome name, the contact's last_outcome as the dialer reports it",
    "NOT_DIALED": "the contact's last_outcome when the dialer gives a leased contact back",
    "NO_DISPOSITION": "the contact's last_outcome when a connected call gets no disposition",
    "NO_CALLABLE_NUMBER": "the contact's last_outcome (NOT_ALLOWED_...) when none of its numbers is callable",
    "DISPOSITION_TIMED_OUT": "a CallUpdated step name (dialing.proto), not a reason",
    "ABUSIVE_FLAGGED": "a CallUpdated step name (dialing.proto), not a reason",
    "OPTED_OUT": "a CallUpdated step name and the contact's last_outcome (the opt-out key), not a reason",
    "NO_CALLABLE_CONTACTS": "CampaignHopperChanged.reason value (dialing.proto), not an error",
    "CONTACTS_UNAVAILABLE": "CampaignHopperChanged.reason value (dialing.proto), not an error",
    "NOT_ALLOWED": "a CallUpdated step name (a refused preview) and that contact's last_outcome",
    "TIMED_OUT": "why a preview ended: the contact's last_outcome PREVIEW_TIMED_OUT",
    "NOT_ALLOWED_NO_DEBT": "the contact's last_outcome when a debt-collection campaign's contact names no debt",
}

SNAKE = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
WORD = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*"
PATTERNS = [
    re.compile(r'"(' + SNAKE + r')"'),
    re.compile(r"'(" + SNAKE + r")['|]"),
    re.compile(r'"(' + WORD + r'):'),
]
# Helper -> index of its reason argument.
REASON_ARG = {
    "InvalidField": 1, "PermissionDenied": 0, "Unauthenticated": 0, "NotFound": 0,
    "FailedPrecondition": 0, "Aborted": 0, "Unavailable": 0, "AlreadyExists": 0,
    "WithReason": 1, "FromErrno": 1, "Reject": 1, "set_code": 0, "push_back": 0,
}
CALL = re.compile(r"\b(" + "|".join(REASON_ARG) + r")\(")
LITERAL = re.compile(r'^\s*"(' + WORD + r')"\s*$')
DOC_ROW = re.compile(r"^\|\s*`(" + WORD + r")`\s*\|", re.M)
DOC_CODE = re.compile(r"`(" + WORD + r")`")


def call_args(text, start):
    """Top-level arguments of the call whose '(' is at text[start - 1]."""
    args, depth, cur, i, quote = [], 0, [], start, None
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\":
                cur.append(text[i + 1] if i + 1 < len(text) else "")
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            cur.append(c)
        elif c in "([{":
            depth += 1
            cur.append(c)
        elif c in ")]}":
            if depth == 0:
                args.append("".join(cur))
                return args
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            args.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    return args


def reasons_in(text):
    found = set()
    for p in PATTERNS:
        found.update(p.findall(text))
    for m in CALL.finditer(text):
        args = call_args(text, m.end())
        k = REASON_ARG[m.group(1)]
        if k < len(args):
            lit = LITERAL.match(args[k])
            if lit:
                found.add(lit.group(1))
    return {r for r in found if not r.startswith("DIALGRID_")}


def source_reasons(root):
    """reason -> first file:line that uses it, over services/ outside tests/."""
    where = {}
    services = os.path.join(root, "services")
    for d, dirs, files in os.walk(services):
        dirs[:] = sorted(x for x in dirs if x != "tests")
        for f in sorted(files):
            if not f.endswith((".cc", ".h")):
                continue
            path = os.path.join(d, f)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            for r in reasons_in(text):
                line = 1 + text.count("\n", 0, max(text.find(r), 0))
                where.setdefault(r, f"{os.path.relpath(path, root)}:{line}")
    return where


def check(where, doc):
    """Problems (strings) between the sources' reasons and the catalogue text."""
    problems = []
    documented = set(DOC_CODE.findall(doc))
    for r in sorted(set(where) - set(IGNORED)):
        if r not in documented:
            problems.append(f"{r} ({where[r]}) is not in docs/errors.md: add it to its service's table")
    for r in sorted(set(DOC_ROW.findall(doc))):
        if r not in where:
            problems.append(f"{r} is listed in docs/errors.md but no source under services/ uses it")
    for r in sorted(IGNORED):
        if r not in where:
            problems.append(f"{r} is in IGNORED of tools/check_reasons.py but no longer in the sources")
    return problems


def self_test():
    src = r'''
      return InvalidField("a.b", "FIELD_TOO_LONG", StrCat("x", f(1, 2)));
      return Unavailable("OVERLOADED", "full");
      return WithReason(absl::AbortedError(StrCat("a", "b")), "RELAY_BUSY");
      d.reasons.push_back(absl::StrCat("HOLIDAY:", id));
      ABSL_FLAG(std::string, listen, EnvOr("DIALGRID_LISTEN", ""), "");
      reasons[#reasons + 1] = 'DNC_TENANT|tenant|'
      if outcome == 'NOT_PLACED' then return {err = 'NO_LIST'} end
      // "Plain" words are not reasons: "SET", "HGET".
    '''
    got = reasons_in(src)
    want = {"FIELD_TOO_LONG", "OVERLOADED", "RELAY_BUSY", "HOLIDAY", "DNC_TENANT", "NOT_PLACED",
            "NO_LIST"}
    failures = []
    if got != want:
        failures.append(f"reasons_in: got {sorted(got)}, want {sorted(want)}")
    where = {r: "x.cc:1" for r in got | set(IGNORED)}
    doc = ("| `FIELD_TOO_LONG` | x |\n| `OVERLOADED` | x |\n| `RELAY_BUSY` | x |\n"
           "| `HOLIDAY` | x |\n| `GONE_REASON` | x |\nsee `DNC_TENANT`\n")
    problems = check(where, doc)
    if not any(p.startswith("GONE_REASON ") for p in problems):
        failures.append(f"a stale catalogue row was not reported: {problems}")
    if problems != ["GONE_REASON is listed in docs/errors.md but no source under services/ uses it"]:
        failures.append(f"unexpected problems: {problems}")
    where["NEW_REASON"] = "y.cc:7"
    if not any(p.startswith("NEW_REASON (y.cc:7)") for p in check(where, doc)):
        failures.append("an undocumented reason was not reported")
    for f in failures:
        print("self-test:", f)
    print("check_reasons self-test:", "FAILED" if failures else "ok")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    with open(os.path.join(args.root, "docs", "errors.md"), encoding="utf-8") as fh:
        doc = fh.read()
    where = source_reasons(args.root)
    problems = check(where, doc)
    for p in problems:
        print(p)
    print(f"{len(where)} reasons in services/, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
