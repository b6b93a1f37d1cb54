"""The collector at work, in one run: binary-trees against CPython, the fraction of run
time spent collecting, the median and longest pause, and peak memory of two programs that
must live in a small heap.

    python bench/gc_bench.py [--repeat N]

Rows:
    binary-trees (depth 10)   `bench/gc/binary_trees.vyn` vs `bench/gc/binary_trees.py`
    2M short-lived objects     `bench/gc/short_lived.vyn` under --heap-limit 16m
    scoped loop, 1M iterations `bench/gc/scoped_loop.vyn` under --heap-limit 4m

Each Vyn program runs in a fresh child process (this script with --child), compiled
first (compile time not counted), so that peak RSS (ru_maxrss) is its own; the CPython
baseline runs in a child process too. Every run's output is checked.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
GC = BENCH / "gc"

TREES_OUT = ("stretch tree of depth 11\t check: 4095\n"
             "1024\t trees of depth 4\t check: 31744\n"
             "256\t trees of depth 6\t check: 32512\n"
             "64\t trees of depth 8\t check: 32704\n"
             "16\t trees of depth 10\t check: 32752\n"
             "long lived tree of depth 10\t check: 2047\n")
PROGRAMS = [
    ("binary-trees (depth 10)", "binary_trees.vyn", None, TREES_OUT),
    ("2M short-lived objects, 16m heap", "short_lived.vyn", 16 << 20, "2000000\n"),
    ("scoped loop 1M, 4m heap", "scoped_loop.vyn", 4 << 20, "2999997\n"),
]


def child(path: str, limit: int | None) -> None:
    """Run one Vyn program in this process and print its measurements as JSON."""
    sys.path.insert(0, str(ROOT))
    from compiler.lower import compile_file
    from runtime.vm import VM

    program = compile_file(path, Path(path).read_text()).program
    out = io.StringIO()
    vm = VM(program, stdout=out, stderr=sys.stderr, heap_limit=limit)
    start = time.perf_counter()
    vm.run_main()
    seconds = time.perf_counter() - start
    pauses = vm.gc_pauses or [0.0]
    print(json.dumps({
        "seconds": seconds, "gc_seconds": vm.gc_seconds, "collections": len(vm.gc_pauses),
        "median_pause": statistics.median(pauses), "max_pause": max(pauses),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "stdout": out.getvalue(),
    }))


def run_child(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"gc_bench: {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def python_trees(repeat: int) -> float:
    """CPython's binary-trees, timed inside its process (start-up excluded), best of
    `repeat`."""
    code = ("import contextlib, io, sys, time; sys.path.insert(0, sys.argv[1]); "
            "import binary_trees as b; out = io.StringIO(); t = time.perf_counter()\n"
            "with contextlib.redirect_stdout(out): b.main()\n"
            "print(time.perf_counter() - t); print(out.getvalue() == sys.argv[2])")
    best = float("inf")
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", code, str(GC), TREES_OUT],
                              capture_output=True, text=True)
        seconds, ok = done.stdout.split()
        if ok != "True":
            sys.exit("gc_bench: binary_trees.py printed something else")
        best = min(best, float(seconds))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("PROGRAM", "LIMIT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, limit = args.child
        child(path, int(limit) or None)
        return
    print(f"best of {args.repeat} runs; python: {sys.executable}")
    print(f"{'program':34} {'vyn (s)':>8} {'gc %':>6} {'GCs':>5} {'median':>8} "
          f"{'max':>8} {'peak RSS':>9}")
    rows = {}
    for name, file, limit, expected in PROGRAMS:
        best = None
        for _ in range(args.repeat):
            r = run_child([str(GC / file), str(limit or 0)])
            if r["stdout"] != expected:
                sys.exit(f"gc_bench: {file} printed {r['stdout']!r}")
            if best is None or r["seconds"] < best["seconds"]:
                best = r
        rows[name] = best
        print(f"{name:34} {best['seconds']:8.2f} {100 * best['gc_seconds'] / best['seconds']:6.1f}"
              f" {best['collections']:5d} {best['median_pause'] * 1000:6.1f}ms "
              f"{best['max_pause'] * 1000:6.1f}ms {best['maxrss_kb'] / 1024:7.1f}MB")
    py = python_trees(args.repeat)
    vyn = rows["binary-trees (depth 10)"]["seconds"]
    print(f"\nbinary-trees: vyn {vyn:.2f} s, CPython {py:.3f} s: vyn/CPython = {vyn / py:.1f}x")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
