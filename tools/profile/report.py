#!/usr/bin/env python3
"""Names the addresses sampled by ipsample.py.

report.py SAMPLES KALLSYMS [N] [FUNCS]: the N (default 30) functions with
the most samples, then, for the functions in FUNCS (comma-separated,
default memset,memcpy), which callers the samples came from (the return
address on top of the stack, right for functions that keep no frame).
"""
import bisect
import collections
import sys


def load_symbols(path):
    syms = []
    for line in open(path, errors="replace"):
        p = line.split()
        if len(p) >= 3 and p[1] in "tTwW":
            try:
                syms.append((int(p[0], 16), " ".join(p[2:])))
            except ValueError:
                pass
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def main():
    addrs, names = load_symbols(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    funcs = (sys.argv[4] if len(sys.argv) > 4 else "memset,memcpy").split(",")

    def name(a):
        i = bisect.bisect_right(addrs, a) - 1
        return names[i] if i >= 0 else "?"

    flat, callers = collections.Counter(), collections.Counter()
    total = 0
    for line in open(sys.argv[1]):
        ip, n, ret = line.split()
        n = int(n)
        total += n
        f = name(int(ip, 16))
        flat[f] += n
        if f.split()[0] in funcs:
            callers[f.split()[0] + " <- " + name(int(ret, 16))] += n
    print("%d samples" % total)
    for f, n in flat.most_common(top):
        print("%6.2f%% %6d  %s" % (100.0 * n / max(total, 1), n, f[:110]))
    print()
    for f, n in callers.most_common(15):
        print("%6.2f%% %6d  %s" % (100.0 * n / max(total, 1), n, f[:110]))


main()
