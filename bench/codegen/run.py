#!/usr/bin/env python3
"""loom-codegen's time per translation unit against `clang++ -fsyntax-only` on the same file.

    python3 bench/codegen/run.py BUILD_DIR [RUNS [SUBSTRING...]]

BUILD_DIR is a configured and built Loom build tree (its compile_commands.json lists the
wrappers loom_generate compiles, <target>/<source>.loom.cpp). For each wrapper, both
commands parse the same file with the same flags (and -DLOOM_CODEGEN, so the generated
code being produced is not included); each runs RUNS times (default 5), one after the
other, and the median wall time is reported. SUBSTRINGs keep only the wrappers whose path
contains one of them. Bar (issue 4): codegen at most 1.5x.
"""
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def syntax_only_command(entry):
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    out = ["clang++"]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a == entry["file"]:
            continue
        out.append(a)
    return out + ["-fsyntax-only", "-DLOOM_CODEGEN=1", entry["file"]]


def median_seconds(command, cwd, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    codegen = os.path.join(build, "codegen", "loom-codegen")
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = [e for e in json.load(f) if e["file"].endswith(".loom.cpp")]
    if len(sys.argv) > 3:
        entries = [e for e in entries if any(s in e["file"] for s in sys.argv[3:])]
    if not entries:
        sys.exit("no loom_generate wrappers in " + build + "/compile_commands.json")
    print(f"{'translation unit':58} {'codegen s':>9} {'clang++ s':>9} {'ratio':>6}")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for e in sorted(entries, key=lambda e: e["file"]):
            gen = [codegen, e["file"], "-p", build, "--output", os.path.join(tmp, "g.inc"),
                   "--manifest", os.path.join(tmp, "g.json")]
            t_gen = median_seconds(gen, e["directory"], runs)
            t_clang = median_seconds(syntax_only_command(e), e["directory"], runs)
            ratios.append(t_gen / t_clang)
            name = os.path.relpath(e["file"], build)
            print(f"{name[-58:]:58} {t_gen:9.2f} {t_clang:9.2f} {t_gen / t_clang:6.2f}")
    print(f"median ratio {statistics.median(ratios):.2f}, max {max(ratios):.2f} (runs per command: {runs})")


if __name__ == "__main__":
    main()
