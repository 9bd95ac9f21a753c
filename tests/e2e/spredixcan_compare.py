#!/usr/bin/python3
"""Compare S-PrediXcan CSVs numerically, row by gene key (standard library only).

usage: spredixcan_compare.py EXPECTED ACTUAL [--ignore-extra-columns] [--stats FILE]
Passes when both have the same genes and, for every column of EXPECTED, each value matches:
NA with NA, text exactly, numbers within |a-b| <= 1e-9*|a| + 1e-14 (a = expected).
ACTUAL may have more columns (e.g. `status`) only with --ignore-extra-columns.
--stats FILE appends "expected_path column max_abs max_rel" lines (for the report).
"""
import csv
import math
import sys


def load(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = {}
        for line in r:
            if not line:
                continue
            rows[line[0]] = dict(zip(header, line))
    return header, rows


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    extra_ok = "--ignore-extra-columns" in argv
    stats_file = None
    if "--stats" in argv:
        stats_file = argv[argv.index("--stats") + 1]
        args = [a for a in args if a != stats_file]
    exp_path, act_path = args[0], args[1]
    eh, er = load(exp_path)
    ah, ar = load(act_path)
    problems = []
    missing_cols = [c for c in eh if c not in ah]
    if missing_cols:
        problems.append("columns missing: %s" % missing_cols)
    if not extra_ok and [c for c in ah if c not in eh]:
        problems.append("extra columns: %s" % [c for c in ah if c not in eh])
    if ah[: len(eh)] != eh and not missing_cols:
        problems.append("column order differs: %s vs %s" % (ah, eh))
    if set(er) != set(ar):
        problems.append("genes differ: only expected %s, only actual %s" % (sorted(set(er) - set(ar))[:5],
                                                                           sorted(set(ar) - set(er))[:5]))
    worst = {}
    for g in sorted(set(er) & set(ar)):
        for c in eh:
            if c not in ah:
                continue
            e, a = er[g][c], ar[g][c]
            if e == a:
                ne = num(e)
                if ne is not None and not math.isnan(ne):
                    worst.setdefault(c, [0.0, 0.0])
                continue
            ne, na = num(e), num(a)
            if ne is None or na is None or math.isnan(ne) or math.isnan(na):
                problems.append("%s %s: expected %s, got %s" % (g, c, e, a))
                continue
            d = abs(ne - na)
            w = worst.setdefault(c, [0.0, 0.0])
            w[0] = max(w[0], d)
            if ne != 0:
                w[1] = max(w[1], d / abs(ne))
            if d > 1e-9 * abs(ne) + 1e-14:
                problems.append("%s %s: expected %s, got %s (diff %.3g)" % (g, c, e, a, d))
    if stats_file:
        with open(stats_file, "a") as f:
            for c, (da, dr) in sorted(worst.items()):
                f.write("%s %s %.3g %.3g\n" % (exp_path, c, da, dr))
    if problems:
        print("MISMATCH %s vs %s:" % (exp_path, act_path))
        for p in problems[:20]:
            print("   ", p)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
