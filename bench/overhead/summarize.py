#!/usr/bin/env python3
"""Combines several outputs of bench_overhead (concatenated on stdin, or files) into one
markdown table: per configuration, the median over the runs of the run's median, each
run's median, and the median CPU time per node.

    summarize.py run1.md run2.md run3.md
"""

import fileinput
import re
import statistics

ROW = re.compile(r"\| (\w+) \| (\d+) \| ([^|]+) \| ([\d.]+) \| ([\d.]+) / ([\d.]+) \| ([\d.]+) \|")
BUSY = re.compile(r"CPUs (\d+)% busy")


def ns(value):
    """Two decimals below 1 ns (the plain loops), one above."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def main():
    runs, current = [], None
    for line in fileinput.input():
        if line.startswith("| shape |"):
            current = {"rows": {}, "busy": None}
            runs.append(current)
        elif (m := ROW.match(line)) and current is not None:
            key = (m.group(1), int(m.group(2)), m.group(3).strip())
            current["rows"][key] = (float(m.group(4)), float(m.group(7)))
        elif (m := BUSY.search(line)) and current is not None:
            current["busy"] = int(m.group(1))
    if not runs:
        raise SystemExit("summarize.py: no bench_overhead table in the input")
    def wall_median(key):
        return statistics.median(r["rows"][key][0] for r in runs if key in r["rows"])

    print("| shape | nodes | runner | ns per node (median of runs) | each run's median | CPU ns per node | × plain loop |")
    print("|-------|------:|--------|-----------------------------:|-------------------|----------------:|-------------:|")
    for key in runs[0]["rows"]:
        wall = [r["rows"][key][0] for r in runs if key in r["rows"]]
        cpu = [r["rows"][key][1] for r in runs if key in r["rows"]]
        each = " · ".join(ns(w) for w in wall)
        plain = (key[0], key[1], "plain loop")
        ratio = "" if key == plain or plain not in runs[0]["rows"] else f"{wall_median(key) / wall_median(plain):.0f}"
        print(f"| {key[0]} | {key[1]} | {key[2]} | {ns(statistics.median(wall))} | {each} | {ns(statistics.median(cpu))} | {ratio} |")
    busy = [r["busy"] for r in runs if r["busy"] is not None]
    print()
    print(f"{len(runs)} runs; other processes kept the CPUs {', '.join(f'{b}%' for b in busy)} busy during them.")


if __name__ == "__main__":
    main()
