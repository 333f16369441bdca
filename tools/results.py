#!/usr/bin/env python3
"""rext4's test accounting: every check is a named result, and every run has
an expected list of names kept in tools/expected/RUN.txt.

Result lines (one per check, in results files and on stdout):
    PASS name
    FAIL name -- reason
    SKIP name -- reason
Names have the form "RUN: check" and never contain " -- ". Other lines
(INFO ...) are commentary and are not counted.

Subcommands:
  vm ...        turn one VM run's console log into result lines: the
                scenario's own results, its exit status, the console scan
                for detector reports, the kmemleak scan after rmmod, KUnit's
                KTAP (--ktap), negative controls (--expect-fail), and the
                expected-list check.
  expect RUN    read result lines on stdin, pass them through and add a FAIL
                for every expected name that is missing and every name that
                is not expected (the expected-list check alone).
  summary FILE  print "N passed, N failed[, N skipped]"; exit 1 on failures.
  names RUN FILE  print the check names of RUN found in a results file, in
                the expected-list format (to update tools/expected/ after a
                deliberate change; review the diff).

Expected lists: one check name per line (without the "RUN: " prefix);
blank lines and lines starting with '#' are ignored; a name prefixed with
"? " may be reported as SKIP, every other name is required to PASS.
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# REXT4_EXPECTED_DIR: lists generated for a run (tools/crash-chain.sh
# for chains longer than make test's).
EXPECTED_DIR = os.environ.get("REXT4_EXPECTED_DIR") or os.path.join(HERE, "expected")
SEP = " -- "

# Console reports that fail any run: BUG/WARNING/Oops, lockdep, KASAN,
# kmemleak, debugobjects, list debugging, hung tasks, soft lockups, RCU
# stalls, panics. (lockdep reports start with "WARNING:" or "BUG:"; the rest
# catch follow-ups and reports without that prefix.)
BAD = re.compile(
    r"BUG:|WARNING:|Oops|Call Trace|KASAN|UBSAN|"
    r"ODEBUG:|list_(add|del) corruption|INFO: lockdep is turned off|"
    r"possible circular locking|possible recursive locking|"
    r"inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|"
    r"blocked for more than|soft lockup|rcu_.* detected stalls|"
    r"Kernel panic|general protection fault|kernel BUG|RIP: "
)
# x86_64 module mapping area (arch/x86/include/asm/pgtable_64_types.h).
MODULES_VADDR = 0xFFFFFFFFA0000000
MODULES_END = 0xFFFFFFFFFF000000
TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"REXT4-RESULT (PASS|FAIL|SKIP) (.*)$")


def line(status, name, reason=None):
    name = name.replace(SEP, " - ")
    return f"{status} {name}" + (f"{SEP}{reason}" if reason else "")


def parse(result_line):
    """(status, name, reason) of a result line, or None."""
    m = re.match(r"^(PASS|FAIL|SKIP) (.*)$", result_line)
    if not m:
        return None
    name, _, reason = m.group(2).partition(SEP)
    return m.group(1), name.strip(), reason.strip()


def read_log(path):
    with open(path, errors="replace") as f:
        return [TS.sub("", raw.rstrip("\r\n").replace("\r", "")) for raw in f]


def load_expected(run):
    path = os.path.join(EXPECTED_DIR, f"{run}.txt")
    if not os.path.exists(path):
        return None, path
    required, optional = [], []
    with open(path) as f:
        for raw in f:
            s = raw.rstrip("\n")
            if not s.strip() or s.lstrip().startswith("#"):
                continue
            if s.startswith("? "):
                optional.append(s[2:])
            else:
                required.append(s)
    return (required, optional), path


def check_expected(run, lines):
    """The result lines with the expected-list check applied."""
    exp, path = load_expected(run)
    if exp is None:
        return lines + [line("FAIL", f"{run}: expected results", f"no list {os.path.relpath(path, os.path.dirname(HERE))}")]
    required, optional = exp
    out = []
    seen = {}
    prefix = f"{run}: "
    for ln in lines:
        p = parse(ln)
        if p is None:
            out.append(ln)
            continue
        status, name, reason = p
        check = name[len(prefix):] if name.startswith(prefix) else name
        if check in seen:
            out.append(line("FAIL", name, f"reported twice (first {seen[check]})"))
            continue
        seen[check] = status
        if check not in required and check not in optional:
            out.append(line("FAIL", name, f"unexpected result ({status}{SEP + reason if reason else ''}); "
                            f"not in {os.path.relpath(path, os.path.dirname(HERE))}"))
        elif status == "SKIP" and check in required:
            out.append(line("FAIL", name, f"required check skipped: {reason}"))
        else:
            out.append(ln)
    for check in required + optional:
        if check not in seen:
            out.append(line("FAIL", f"{prefix}{check}", "missing: expected result never reported"))
    return out


def ktap(lines, run):
    """One result per KUnit case; plans checked at top level and per suite."""
    out = []
    case_re = re.compile(r"^(\s*)(not ok|ok) (\d+) ([^#]+?)(?:\s+#\s*(.*))?$")
    plan_re = re.compile(r"^(\s*)1\.\.(\d+)$")
    # Each top-level "KTAP version 1" starts a document with its own plan
    # (the built-in executor prints "1..0" at boot, each module load its
    # own); every document's plan must match the suites it reports.
    docs = []  # [plan or None, suites seen]
    suite = None
    plan = None
    seen = 0
    in_ktap = False

    def close_suite():
        if suite is not None and plan != seen:
            out.append(line("FAIL", f"{run}: suite {suite} plan",
                            f"plan 1..{plan} but {seen} cases reported"))

    for ln in lines:
        if ln.strip() == "KTAP version 1" and not ln.startswith(" "):
            in_ktap = True
            docs.append([None, 0])
            continue
        if not in_ktap:
            continue
        m = re.match(r"^\s*# Subtest: (\S+)", ln)
        if m:
            suite, plan, seen = m.group(1), None, 0
            continue
        m = plan_re.match(ln)
        if m:
            if len(m.group(1)) == 0 and docs[-1][0] is None:
                docs[-1][0] = int(m.group(2))
            elif len(m.group(1)) >= 4 and suite is not None and plan is None:
                plan = int(m.group(2))
            continue
        m = case_re.match(ln)
        if not m:
            continue
        indent, status, _, name, directive = m.groups()
        name = name.strip()
        skip = directive is not None and directive.upper().startswith("SKIP")
        if len(indent) >= 4 and suite is not None:
            seen += 1
            full = f"{run}: {suite}.{name}"
            if skip:
                out.append(line("SKIP", full, directive))
            elif status == "ok":
                out.append(line("PASS", full))
            else:
                out.append(line("FAIL", full, "KUnit case failed"))
        elif len(indent) == 0:
            docs[-1][1] += 1
            if suite is not None and name == suite:
                close_suite()
                if status != "ok":
                    out.append(line("FAIL", f"{run}: suite {suite}", "suite reported failure"))
            suite = None
    bad = [f"plan 1..{p} but {n} suites reported" if p is not None else "no top-level plan"
           for p, n in docs if p != n]
    if not any(p for p, _ in docs):
        out.append(line("FAIL", f"{run}: KTAP plan", "no KTAP document with suites on the console"))
    elif bad:
        out.append(line("FAIL", f"{run}: KTAP plan", "; ".join(bad)))
    else:
        out.append(line("PASS", f"{run}: KTAP plan"))
    return out


def kmemleak(lines, run):
    """Leaks whose allocation backtrace runs through a rext4 module."""
    try:
        b = lines.index("REXT4-KMEMLEAK-BEGIN")
        e = lines.index("REXT4-KMEMLEAK-END", b)
    except ValueError:
        return [line("FAIL", f"{run}: kmemleak clean", "no kmemleak scan after the scenario "
                     "(init did not reach it, or the kernel lacks kmemleak)")]
    ranges = []
    for ln in lines:
        m = re.search(r"REXT4-MODULE (\S+) (\d+) .*? (0x[0-9a-f]+)\b", ln)
        if m:
            start = int(m.group(3), 16)
            ranges.append((m.group(1), start, start + int(m.group(2))))
    leaks = []
    cur = None
    for ln in lines[b + 1:e]:
        if ln.startswith("unreferenced object"):
            cur = {"head": ln, "frames": [], "bt": False}
            leaks.append(cur)
        elif cur is not None and ln.strip().startswith("backtrace"):
            cur["bt"] = True
        elif cur is not None and cur["bt"] and ln.startswith("    "):
            cur["frames"].append(ln.strip())
    ours = []
    for leak in leaks:
        owner = None
        for fr in leak["frames"]:
            m = re.search(r"\[(rext4\w*)\]", fr)
            if m:
                owner = f"{m.group(1)} ({fr})"
                break
            m = re.match(r"^(0x[0-9a-f]+)$", fr)
            if m:
                addr = int(m.group(1), 16)
                for mod, lo, hi in ranges:
                    if lo <= addr < hi:
                        owner = f"{mod} (+{addr - lo:#x}, unloaded)"
                        break
                # An address kallsyms cannot name in the x86_64 module area
                # belongs to an unloaded module, and the guest loads no
                # modules but rext4's (its init text is not in the
                # /proc/modules range, so this covers module_init code).
                if owner is None and MODULES_VADDR <= addr < MODULES_END and ranges:
                    owner = f"{'/'.join(sorted({r[0] for r in ranges}))} (unloaded, {fr})"

            if owner:
                break
        if owner:
            ours.append(f"{leak['head']} allocated by {owner}")
    out = [f"INFO {run}: kmemleak: {len(leaks)} unreferenced objects after the scenario, {len(ours)} from rext4"]
    if ours:
        out.append(line("FAIL", f"{run}: kmemleak clean", f"{len(ours)} leaks: " + "; ".join(ours[:3])))
    else:
        out.append(line("PASS", f"{run}: kmemleak clean"))
    return out


def vm(args):
    lines = read_log(args.log)
    run, sc = args.run, args.scenario
    out = []
    for ln in lines:
        m = re.search(r"REXT4-INFO (.*)$", ln)
        if m:
            info = m.group(1)
            if info.startswith(f"{sc}: "):
                info = f"{run}: " + info[len(sc) + 2:]
            out.append(f"INFO {info}")
            continue
        m = RESULT.search(ln)
        if not m:
            continue
        st, rest = m.group(1), m.group(2)
        if rest.startswith(f"{sc}: "):
            rest = f"{run}: " + rest[len(sc) + 2:]
        name, _, reason = rest.partition(SEP)
        out.append(line(st, name.strip(), reason.strip() or None))
    end = [ln for ln in lines if f"REXT4-SCENARIO-END {sc} " in ln]
    crashed = [ln for ln in lines if f"REXT4-CRASH-NOW {sc}" in ln]
    if args.crash:
        # A boot that ends by resetting the guest (qemu -no-reboot exits):
        # finished means the scenario reached its crash marker and the
        # guest went down there.
        if crashed and not end and args.qrc != 124:
            out.append(line("PASS", f"{run}: finished"))
        elif args.qrc == 124:
            out.append(line("FAIL", f"{run}: finished", f"timed out after {args.timeout}s"))
        else:
            out.append(line("FAIL", f"{run}: finished", "the scenario did not reach its crash marker "
                            "(REXT4-CRASH-NOW) or went on past it"))
    elif end:
        m = re.search(r"rc=(\d+)", end[-1])
        rc = int(m.group(1)) if m else None
        if rc == 0:
            out.append(line("PASS", f"{run}: finished"))
        else:
            out.append(line("FAIL", f"{run}: finished", f"scenario script exited with rc={rc if rc is not None else '?'}: "
                            "it stopped early"))
    elif args.qrc == 124:
        out.append(line("FAIL", f"{run}: finished", f"timed out after {args.timeout}s"))
    else:
        out.append(line("FAIL", f"{run}: finished", f"VM ended without the end marker (qemu rc {args.qrc})"))
    out.append(f"INFO {run}: {args.elapsed}s")
    bad = [ln for ln in lines if BAD.search(ln)]
    evidence = {"console clean": bad}
    if bad:
        out.append(line("FAIL", f"{run}: console clean", bad[0][:200]))
    else:
        out.append(line("PASS", f"{run}: console clean"))
    if not args.no_kmemleak:
        out += kmemleak(lines, run)
    if args.ktap:
        out += ktap(lines, run)
    # Negative controls: each LABEL|CHECK|REGEX says CHECK must fail with a
    # report matching REGEX; the check's own line is replaced by one result
    # per control, "RUN: LABEL detected".
    controls = [spec.split("|", 2) for spec in args.expect_fail]
    for spec in controls:
        if len(spec) != 3:
            out.append(line("FAIL", f"{run}: negative control", f"bad spec {'|'.join(spec)!r}"))
    controls = [c for c in controls if len(c) == 3]
    targeted = {f"{run}: {c[1]}" for c in controls}
    results = {}
    new = []
    for ln in out:
        p = parse(ln)
        if p and p[1] in targeted:
            results[p[1]] = p
        else:
            new.append(ln)
    for label, check, regex in controls:
        want = f"{run}: {check}"
        name = f"{run}: {label} detected"
        p = results.get(want)
        if p is None:
            new.append(line("FAIL", name, f"check '{check}' not run"))
            continue
        hits = [e for e in evidence.get(check, [p[2]]) if re.search(regex, e)]
        if p[0] == "FAIL" and hits:
            new.append(line("PASS", name))
            new.append(f"INFO {name}: {hits[0][:200]}")
        else:
            new.append(line("FAIL", name, f"no report matching /{regex}/ ({check}: {p[0]} {p[2][:150]})"))
    out = new
    print("\n".join(check_expected(run, out)))


def expect(args):
    lines = [ln.rstrip("\n") for ln in sys.stdin]
    print("\n".join(check_expected(args.run, lines)))


def summary(args):
    p = f = s = 0
    with open(args.file) as fh:
        for ln in fh:
            r = parse(ln.rstrip("\n"))
            if r is None:
                continue
            if r[0] == "PASS":
                p += 1
            elif r[0] == "FAIL":
                f += 1
            else:
                s += 1
    print(f"{p} passed, {f} failed" + (f", {s} skipped" if s else ""))
    return 1 if f or p == 0 else 0


def names(args):
    prefix = f"{args.run}: "
    with open(args.file) as fh:
        for ln in fh:
            r = parse(ln.rstrip("\n"))
            if (r and r[1].startswith(prefix) and r[1] != f"{prefix}expected results"
                    and not r[2].startswith("missing:")):
                skipped = r[0] == "SKIP" or r[2].startswith("unexpected result (SKIP")
                print(("? " if skipped else "") + r[1][len(prefix):])


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("vm")
    v.add_argument("--run", required=True)
    v.add_argument("--scenario", required=True)
    v.add_argument("--log", required=True)
    v.add_argument("--qrc", type=int, required=True)
    v.add_argument("--timeout", type=int, default=0)
    v.add_argument("--elapsed", type=int, default=0)
    v.add_argument("--ktap", action="store_true")
    v.add_argument("--no-kmemleak", action="store_true")
    v.add_argument("--crash", action="store_true",
                   help="the scenario ends by resetting the guest (REXT4-CRASH-NOW marker)")
    v.add_argument("--expect-fail", action="append", default=[],
                   help="LABEL|CHECK|REGEX: a negative control; CHECK must fail with a report matching REGEX")
    e = sub.add_parser("expect")
    e.add_argument("run")
    s = sub.add_parser("summary")
    s.add_argument("file")
    n = sub.add_parser("names")
    n.add_argument("run")
    n.add_argument("file")
    args = ap.parse_args()
    if args.cmd == "vm":
        vm(args)
    elif args.cmd == "expect":
        expect(args)
    elif args.cmd == "summary":
        return summary(args)
    elif args.cmd == "names":
        names(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
