"""Time `vyn run` against CPython on the same work, in one run, and print a table.

    python bench/run_bench.py [--repeat N] [--no-image]

Rows (best wall time of N runs each, default 3):
    fib(27)        `vyn run bench/fib.vyn`          vs  `python bench/fib.py`
    fib(27) image  `vyn run <built image of fib>`   vs  `python bench/fib.py`
    hello          `vyn run bench/hello.vyn`        vs  `python -c pass`
    hello image    `vyn run <built image of hello>` vs  `python -c pass`

`vyn` is `sys.executable -m vyndbg.cli` with the repository on PYTHONPATH, and the
CPython baseline runs on the same interpreter, so the ratio is the VM's cost over plain
Python for the same algorithm. The image rows build the images first (`vyn build`, not
timed) and show what skipping the compiler saves. Every run's output is checked.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FIB_RESULT = "196418\n"
HELLO_RESULT = "Hello, Vyn!\n"


def vyn(*args: str) -> list[str]:
    return [sys.executable, "-m", "vyndbg.cli", *args]


def best_time(command: list[str], expected_stdout: str, repeat: int) -> float:
    """The shortest wall time of `repeat` runs of `command`; each must print
    `expected_stdout` and exit 0."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        if done.returncode != 0 or done.stdout != expected_stdout:
            sys.exit(f"run_bench: {' '.join(command)} exited {done.returncode} and printed "
                     f"{done.stdout!r} (expected {expected_stdout!r}); stderr:\n{done.stderr}")
        best = min(best, elapsed)
    return best


def build(source: Path, out_dir: Path) -> Path:
    image = out_dir / source.stem
    done = subprocess.run(vyn("build", str(source), "-o", str(image)), cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)
    if done.returncode != 0:
        sys.exit(f"run_bench: vyn build {source} failed:\n{done.stderr}")
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="runs per command; the best time counts (default 3)")
    parser.add_argument("--no-image", action="store_true",
                        help="skip the rows that build and run images (no llvmlite needed)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    python_fib = [sys.executable, str(BENCH / "fib.py")]
    python_pass = [sys.executable, "-c", "pass"]
    rows: list[tuple[str, list[str], list[str], str]] = [
        ("fib(27)", vyn("run", "bench/fib.vyn"), python_fib, FIB_RESULT),
        ("hello", vyn("run", "bench/hello.vyn"), python_pass, HELLO_RESULT),
    ]
    with tempfile.TemporaryDirectory(prefix="vyn-bench-") as tmp:
        if not args.no_image:
            fib_image = build(BENCH / "fib.vyn", Path(tmp))
            hello_image = build(BENCH / "hello.vyn", Path(tmp))
            rows.insert(1, ("fib(27) image", vyn("run", str(fib_image)), python_fib,
                            FIB_RESULT))
            rows.append(("hello image", vyn("run", str(hello_image)), python_pass,
                         HELLO_RESULT))

        print(f"best of {args.repeat} runs, wall time; python: {sys.executable} "
              f"({sys.version.split()[0]})")
        print(f"{'benchmark':<15} {'vyn (s)':>9} {'python (s)':>11} {'ratio':>8}")
        for name, vyn_command, python_command, expected in rows:
            # The two sides of a row run back to back, so they share the machine's state.
            vyn_time = best_time(vyn_command, expected, args.repeat)
            python_time = best_time(python_command, expected if python_command is python_fib
                                    else "", args.repeat)
            ratio = vyn_time / python_time if python_time > 0 else float("inf")
            print(f"{name:<15} {vyn_time:>9.3f} {python_time:>11.3f} {ratio:>7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
