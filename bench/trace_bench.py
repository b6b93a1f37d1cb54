"""What recording costs, how fast exports are, and how big trace files get.

    python bench/trace_bench.py [--repeat N] [--sample-every N] [--no-export]

Rows, in one run:
    fib(27) --trace         `vyn run --trace F bench/fib.vyn`   vs  `vyn run bench/fib.vyn`
    fib(27) --profile       `vyn run --profile F bench/fib.vyn` vs  the same
    export FORMAT           events (or samples) read per second by `vyn trace export`'s
                            code, in-process, from the fib(27) trace and profile
    on disk                 bytes per event of the trace and the profile

Each timing is the best wall time of N runs of a fresh process (default 5); the three
commands of a round run back to back, so load from elsewhere hits them alike. Every
run's output is checked. Targets (the issue): --trace at most 1.5x, --profile at most
1.05x.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
FIB_RESULT = "196418\n"


def vyn(*args: str) -> list[str]:
    return [sys.executable, "-m", "vyndbg.cli", *args]


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run of `command`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or done.stdout != FIB_RESULT:
        sys.exit(f"trace_bench: {' '.join(command)} exited {done.returncode} and printed "
                 f"{done.stdout!r}; stderr:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def has_jit() -> bool:
    """Whether `vyn run` has a native tier (`--jit`)."""
    done = subprocess.run(vyn("run", "--help"), cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return "--jit" in done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, metavar="N",
                        help="runs per command; the best time counts (default 5)")
    parser.add_argument("--sample-every", type=int, default=None, metavar="N",
                        help="--profile's rate (default: vyn's default)")
    parser.add_argument("--no-export", action="store_true", help="skip the export rows")
    args = parser.parse_args(argv)

    from traces.recorder import DEFAULT_SAMPLE_EVERY

    every = args.sample_every or DEFAULT_SAMPLE_EVERY
    tiers = [["--jit=off"], []] if has_jit() else [[]]
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "fib.vtrace")
        profile = os.path.join(tmp, "fib.vprof")
        rows = []
        for tier in tiers:
            label = {"": "", "--jit=off": " --jit=off"}["".join(tier)]
            rows.append((f"fib(27){label}", vyn("run", *tier, "bench/fib.vyn"), None))
            rows.append((f"fib(27){label} --trace",
                         vyn("run", *tier, "--trace", trace, "bench/fib.vyn"), len(rows) - 1))
            rows.append((f"fib(27){label} --profile ({every})",
                         vyn("run", *tier, "--profile", profile, "--sample-every", str(every),
                             "bench/fib.vyn"), len(rows) - 2))
        wall = [float("inf")] * len(rows)
        cpu = [float("inf")] * len(rows)
        for _ in range(args.repeat):
            for i, (_, command, _) in enumerate(rows):
                w, c = timed(command)
                wall[i] = min(wall[i], w)
                cpu[i] = min(cpu[i], c)
        print(f"best of {args.repeat} runs of `vyn run` (a fresh process each); "
              f"python {sys.version.split()[0]}")
        print(f"{'benchmark':36} {'wall (s)':>9} {'ratio':>7} {'cpu (s)':>9} {'ratio':>7}")
        for i, (label, _, base) in enumerate(rows):
            if base is None:
                print(f"{label:36} {wall[i]:9.3f} {'':>7} {cpu[i]:9.3f}")
            else:
                print(f"{label:36} {wall[i]:9.3f} {wall[i] / wall[base]:6.2f}x "
                      f"{cpu[i]:9.3f} {cpu[i] / cpu[base]:6.2f}x")
        print("ratio: against the same command without --trace/--profile; cpu: user + "
              "system time of the process (its writer thread included)")
        print("targets: --trace at most 1.5x, --profile at most 1.05x")
        print()
        _sizes(trace, profile)
        if not args.no_export:
            print()
            _exports(trace, profile, tmp)
    return 0


def _count(path: str) -> int:
    from traces.reader import TraceReader

    with TraceReader(path) as r:
        return sum(1 for _ in r.events())


def _sizes(trace: str, profile: str) -> None:
    for label, path in (("trace", trace), ("profile", profile)):
        n = _count(path)
        size = os.path.getsize(path)
        print(f"on disk, {label:8} {size:>12,} bytes  {n:>12,} events  "
              f"{size / n:6.2f} bytes/event")


def _exports(trace: str, profile: str, tmp: str) -> None:
    from traces.exporters import FORMATS
    from traces.reader import TraceReader

    print(f"{'export (in-process)':28} {'input':>8} {'events':>11} {'time (s)':>9} "
          f"{'events/s':>12} {'output':>12}")
    start = time.perf_counter()
    n = _count(trace)
    read = time.perf_counter() - start
    print(f"{'read only':28} {'trace':>8} {n:>11,} {read:9.3f} {n / read:12,.0f}")
    for name, fmt in FORMATS.items():
        for label, path in (("trace", trace), ("profile", profile)):
            out_path = os.path.join(tmp, f"out.{name}")
            with TraceReader(path) as reader:
                start = time.perf_counter()
                with open(out_path, "wb" if fmt.binary else "w", encoding=None if fmt.binary
                          else "utf-8") as out:
                    fmt.write(reader, out, "cpu")
                elapsed = time.perf_counter() - start
            events = _count(path)
            print(f"{'export ' + name:28} {label:>8} {events:>11,} {elapsed:9.3f} "
                  f"{events / elapsed:12,.0f} {os.path.getsize(out_path):>12,}")


if __name__ == "__main__":
    sys.exit(main())
