#!/usr/bin/env python3
"""Summarise the KTAP output of KUnit suites found in a console log.

Prints one line per test case, "PASS suite.case" or "FAIL suite.case: ...",
and a FAIL line for every suite whose plan ("1..N") does not match the cases
seen, or which reported a failure at suite level. Exits 1 if anything failed
or if no suite was found at all.
"""
import re
import sys

TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
CASE = re.compile(r"^(\s*)(not ok|ok) (\d+) ([^#]+?)(?:\s+#\s*(.*))?$")
PLAN = re.compile(r"^(\s*)1\.\.(\d+)$")
SUBTEST = re.compile(r"^\s*# Subtest: (\S+)")


def main(path):
    lines = []
    with open(path, errors="replace") as f:
        for raw in f:
            lines.append(TS.sub("", raw.rstrip("\r\n")))
    out = []
    suite = None
    plan = None
    seen = 0
    failed = False
    suites = 0

    def close_suite():
        nonlocal failed
        if suite is not None and plan is not None and plan != seen:
            out.append(f"FAIL {suite}: plan 1..{plan} but {seen} cases reported")
            failed = True

    for line in lines:
        m = SUBTEST.match(line)
        if m:
            close_suite()
            suite, plan, seen = m.group(1), None, 0
            suites += 1
            continue
        if suite is None:
            continue
        m = PLAN.match(line)
        if m and len(m.group(1)) >= 4 and plan is None:
            plan = int(m.group(2))
            continue
        m = CASE.match(line)
        if not m:
            continue
        indent, status, _, name, directive = m.groups()
        name = name.strip()
        if len(indent) >= 4:
            seen += 1
            skip = directive is not None and directive.upper().startswith("SKIP")
            if status == "ok":
                out.append(f"PASS {suite}.{name}" + (" (skipped)" if skip else ""))
            else:
                out.append(f"FAIL {suite}.{name}: KUnit case failed")
                failed = True
        elif name == suite:
            if status != "ok":
                out.append(f"FAIL {suite}: suite failed")
                failed = True
            close_suite()
            suite = None
    close_suite()
    if suites == 0:
        out.append("FAIL kunit: no KTAP suite found on the console")
        failed = True
    print("\n".join(out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
