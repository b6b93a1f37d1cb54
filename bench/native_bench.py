"""The native tier against CPython and C (docs/native.md), in one run.

    python bench/native_bench.py [--repeat N]

Every row is a whole command (`vyn run ...` vs `python ...`: start-up, compile, JIT,
run), best wall time of N runs (default 3), unless it says otherwise. The `cache` column
says how `vyn run`'s build cache (docs/cli.md) is set for the row:
    off      VYN_CACHE=off: the front end compiles, the JIT compiles hot functions
    cold     an empty cache directory before every run: the first run of a program,
             which compiles as `off` does and then stores the image (bytecode + native
             code of the hot functions)
    cached   a cache directory filled by one run before timing: every timed run is a hit
             (no front end, no LLVM compile; the native code is loaded from the image)
    -        not a source file (an image from `vyn build`), or no cache involved

Rows:
    fib(32)          `vyn run fib32.vyn` vs `python fib32.py`, cache off, cold and
                     cached; target: at most 0.2x CPython's time
    fib(32) image    the same, from an image built with `vyn build -O2` (not timed)
    fib(32) script   cached, through the `vyn` command pip installed beside sys.executable
                     (pip's wrapper imports `re` first: about 4 ms more), if there is one
    fib(32) no .pyc  off, cold and cached again with PYTHONDONTWRITEBYTECODE=1 (below)
    hello            `vyn run hello.vyn` vs `python hello.py`: start-up alone, cache off
                     and cached (an image of bytecode alone: nothing got hot)
    binary-trees     bench/gc/binary_trees.vyn (depth 10) vs bench/gc/binary_trees.py,
                     cache off and cached; and at --depth (default 15; the Benchmarks Game
                     runs 21), cached, where the work outweighs start-up; target: faster
                     than CPython
    spectral-norm    `vyn run` n=300, 10 rounds vs `python` of the same algorithm, off
                     and cached
    steady state     spectral-norm n=1000: (time of 40 rounds - time of 10 rounds) / 30,
                     Vyn (cache off) against the same C built with `gcc -O2`; target:
                     within 1.5x of C
    compile time     per function of fib and spectral-norm, at tier 1 (-O0) and tier 2 (-O2)

`vyn` is `sys.executable -m vyndbg.cli`; CPython runs on the same interpreter. The
commands of a group (fib, hello, binary-trees, spectral-norm) take turns, one run each
per round, so that a busy machine slows them alike. The `cpu` columns are the best user +
system CPU time of the same runs (vyn's includes any threads LLVM starts), steadier than
wall time on a shared machine. Python's own bytecode cache is on for `vyn`
(PYTHONPYCACHEPREFIX: a temporary directory, filled before timing, as an installed vyn
has its .pyc files), except in the `no .pyc` rows, where every module of the toolchain is
compiled from source at every start. Every run's output is checked against the others'.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIB_VYN = """fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  println(fib(32))
}
"""
FIB_PY = """def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


print(fib(32))
"""

SN_VYN = """fn a(i: Int, j: Int) -> Float {
  1.0 / (((i + j) * (i + j + 1) / 2 + i + 1) as Float)
}

fn mul_av(v: Vec<Float>, out: Vec<Float>, n: Int) {
  var i = 0
  while i < n {
    var s = 0.0
    var j = 0
    while j < n {
      s += a(i, j) * v[j]
      j += 1
    }
    out[i] = s
    i += 1
  }
}

fn mul_atv(v: Vec<Float>, out: Vec<Float>, n: Int) {
  var i = 0
  while i < n {
    var s = 0.0
    var j = 0
    while j < n {
      s += a(j, i) * v[j]
      j += 1
    }
    out[i] = s
    i += 1
  }
}

fn mul_atav(v: Vec<Float>, out: Vec<Float>, tmp: Vec<Float>, n: Int) {
  mul_av(v, tmp, n)
  mul_atv(tmp, out, n)
}

fn main() {
  let n = @N@
  var u: Vec<Float> = vec![]
  var v: Vec<Float> = vec![]
  var tmp: Vec<Float> = vec![]
  var i = 0
  while i < n {
    u.push(1.0)
    v.push(0.0)
    tmp.push(0.0)
    i += 1
  }
  var k = 0
  while k < @K@ {
    mul_atav(u, v, tmp, n)
    mul_atav(v, u, tmp, n)
    k += 1
  }
  var vbv = 0.0
  var vv = 0.0
  i = 0
  while i < n {
    vbv += u[i] * v[i]
    vv += v[i] * v[i]
    i += 1
  }
  println("{}", (vbv / vv).sqrt())
}
"""
SN_PY = """def a(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


def mul_av(v, out, n):
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += a(i, j) * v[j]
        out[i] = s


def mul_atv(v, out, n):
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += a(j, i) * v[j]
        out[i] = s


def main():
    n = @N@
    u, v, tmp = [1.0] * n, [0.0] * n, [0.0] * n
    for _ in range(@K@):
        mul_av(u, tmp, n)
        mul_atv(tmp, v, n)
        mul_av(v, tmp, n)
        mul_atv(tmp, u, n)
    vbv = sum(u[i] * v[i] for i in range(n))
    vv = sum(v[i] * v[i] for i in range(n))
    print((vbv / vv) ** 0.5)


main()
"""
SN_C = """#include <math.h>
#include <stdio.h>
#include <stdlib.h>
static double a(long i, long j) { return 1.0 / (double)((i + j) * (i + j + 1) / 2 + i + 1); }
static void mul_av(const double *v, double *out, long n) {
  for (long i = 0; i < n; i++) { double s = 0; for (long j = 0; j < n; j++) s += a(i, j) * v[j];
    out[i] = s; }
}
static void mul_atv(const double *v, double *out, long n) {
  for (long i = 0; i < n; i++) { double s = 0; for (long j = 0; j < n; j++) s += a(j, i) * v[j];
    out[i] = s; }
}
int main(void) {
  long n = @N@;
  double *u = malloc(n * 8), *v = malloc(n * 8), *t = malloc(n * 8);
  for (long i = 0; i < n; i++) { u[i] = 1; v[i] = 0; t[i] = 0; }
  for (int k = 0; k < @K@; k++) { mul_av(u, t, n); mul_atv(t, v, n); mul_av(v, t, n);
    mul_atv(t, u, n); }
  double vbv = 0, vv = 0;
  for (long i = 0; i < n; i++) { vbv += u[i] * v[i]; vv += v[i] * v[i]; }
  printf("%.9f\\n", sqrt(vbv / vv));
  return 0;
}
"""


# `for ... in` over a Vec (ITER/NEXT in native code): 5 million elements visited.
VECSUM_VYN = """fn total(v: Vec<Int>) -> Int {
  var t = 0
  for x in v { t = t + x * 3 }
  t
}

fn main() {
  var v = Vec<Int>()
  for i in 0..<50000 { v.push(i) }
  var s = 0
  for k in 0..<100 { s += total(v) ^ k }
  println("{}", s)
}
"""

VECSUM_PY = """def total(v):
    t = 0
    for x in v:
        t = t + x * 3
    return t


def main():
    v = []
    for i in range(50000):
        v.append(i)
    s = 0
    for k in range(100):
        s += total(v) ^ k
    print(s)


main()
"""


def vyn(*args: str) -> list[str]:
    return [sys.executable, "-m", "vyndbg.cli", *args]


SCRIPT = os.path.join(os.path.dirname(sys.executable), "vyn")   # pip's console script


def environment(pyc: Path | None, cache: Path | str) -> dict[str, str]:
    """The environment of a timed command: PYTHONPATH, Python's bytecode cache in `pyc`
    (None: PYTHONDONTWRITEBYTECODE=1) and VYN_CACHE (a directory or "off")."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "VYN_CACHE")}
    env["PYTHONPATH"] = str(ROOT)
    env["VYN_CACHE"] = str(cache)
    if pyc is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(pyc)
    return env


@dataclass
class Cmd:
    """One timed command: `before()` runs (untimed) before each run; `warm`: run it once
    before timing (to fill a cache)."""

    command: list[str]
    env: dict[str, str] | None = None
    before: Callable[[], None] | None = None
    warm: bool = False


class Seconds(float):
    """A best wall time, with `cpu`: the best user + system CPU time of the same command
    (less disturbed than wall time when other processes share the machine)."""

    cpu: float = 0.0


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: Cmd, cwd: Path) -> tuple[float, float, str]:
    env = cmd.env if cmd.env is not None else {**os.environ, "PYTHONPATH": str(ROOT)}
    if cmd.before is not None:
        cmd.before()
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(cmd.command, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    cpu = _cpu_of_children() - cpu
    if done.returncode != 0:
        sys.exit(f"native_bench: {' '.join(cmd.command)} failed:\n{done.stderr}")
    return elapsed, cpu, done.stdout


def measure(cmds: list[Cmd], repeat: int, cwd: Path) -> list[tuple[Seconds, str]]:
    """The best wall time (and CPU time) of `repeat` runs of each command, and its output.
    The commands take turns (one run of each, `repeat` times), so that a machine busy for
    a while slows them all alike and the ratios stay fair."""
    for cmd in cmds:
        if cmd.warm:
            _run(cmd, cwd)
    times: list[list[float]] = [[] for _ in cmds]
    cpus: list[list[float]] = [[] for _ in cmds]
    outs: list[str] = [""] * len(cmds)
    for _ in range(repeat):
        for i, cmd in enumerate(cmds):
            t, c, outs[i] = _run(cmd, cwd)
            times[i].append(t)
            cpus[i].append(c)
    out = []
    for t, c, o in zip(times, cpus, outs, strict=True):
        best = Seconds(min(t))
        best.cpu = min(c)
        out.append((best, o))
    return out


class Vyn:
    """`vyn run` under the three cache settings, with one Python bytecode setup."""

    def __init__(self, d: Path, pyc: Path | None, tag: str):
        self.d, self.pyc = d, pyc
        self.cold_dir = d / f"cache-cold-{tag}"
        self.warm_dir = d / f"cache-warm-{tag}"

    def off(self, *args: str) -> Cmd:
        return Cmd(vyn("run", *args), environment(self.pyc, "off"))

    def cold(self, *args: str) -> Cmd:
        return Cmd(vyn("run", *args), environment(self.pyc, self.cold_dir),
                   before=lambda: shutil.rmtree(self.cold_dir, ignore_errors=True))

    def cached(self, *args: str, command: list[str] | None = None) -> Cmd:
        return Cmd((command or vyn())[:] + ["run", *args], environment(self.pyc, self.warm_dir),
                   warm=True)


def fill(template: str, n: int, k: int) -> str:
    return template.replace("@N@", str(n)).replace("@K@", str(k))


def compile_times() -> list[tuple[str, str, float, float]]:
    """(program, function, ms at -O0, ms at -O2) for each compiled function."""
    sys.path.insert(0, str(ROOT))
    from compiler import native
    from compiler.lower import compile_sources
    from runtime.jit import plain_builtins
    from vyndbg.cli import SourceFile

    rows = []
    native.compile_plans  # noqa: B018 - imported for its side effect of loading LLVM
    for name, text in (("fib", FIB_VYN), ("spectral-norm", fill(SN_VYN, 100, 1))):
        program = compile_sources([SourceFile(f"{name}.vyn", text)], lambda *a: None).program
        plans, _ = native.plan_functions(program, plain_builtins=plain_builtins())
        native.compile_plans(program, {min(plans): plans[min(plans)]}, opt=2)   # warm up
        for fi, plan in sorted(plans.items()):
            ms = []
            for opt in (0, 2):
                runs = [native.compile_plans(program, {fi: plan}, opt=opt).seconds
                        for _ in range(3)]
                ms.append(min(runs) * 1000)
            rows.append((name, program.functions[fi].name, ms[0], ms[1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--depth", type=int, default=15,
                        help="binary-trees' depth for the second row (default 15)")
    args = parser.parse_args()
    r = args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "fib32.vyn").write_text(FIB_VYN)
        (d / "fib32.py").write_text(FIB_PY)
        (d / "hello.vyn").write_text('fn main() {\n  println("hello")\n}\n')
        (d / "hello.py").write_text('print("hello")\n')
        for name in ("binary_trees.vyn", "binary_trees.py"):
            shutil.copy(ROOT / "bench" / "gc" / name, d / name)
        depth = args.depth
        (d / "bt_deep.vyn").write_text((d / "binary_trees.vyn").read_text().replace(
            "let n = 10", f"let n = {depth}"))
        (d / "bt_deep.py").write_text(f"import binary_trees\nbinary_trees.main({depth})\n")
        for n, k in ((300, 10), (1000, 10), (1000, 40)):
            (d / f"sn_{n}_{k}.vyn").write_text(fill(SN_VYN, n, k))
            (d / f"sn_{n}_{k}.c").write_text(fill(SN_C, n, k))
        (d / "sn_300_10.py").write_text(fill(SN_PY, 300, 10))
        (d / "vecsum.vyn").write_text(VECSUM_VYN)
        (d / "vecsum.py").write_text(VECSUM_PY)
        pyc = d / "pycache"
        v = Vyn(d, pyc, "pyc")
        nopyc = Vyn(d, None, "nopyc")
        subprocess.run(vyn("build", "-O2", "fib32.vyn", "-o", "fib32img"), cwd=d, check=True,
                       env=environment(pyc, "off"))          # also fills the .pyc cache
        measure([v.off("hello.vyn")], 1, d)
        rows = []        # (benchmark, cache, vyn seconds, baseline name, baseline seconds)
        python = Cmd([sys.executable, "fib32.py"])
        fib = [("fib(32)", "off", v.off("fib32.vyn")),
               ("fib(32)", "cold", v.cold("fib32.vyn")),
               ("fib(32)", "cached", v.cached("fib32.vyn")),
               ("fib(32) image", "-", Cmd(vyn("run", "fib32img"), environment(pyc, "off"))),
               *([("fib(32) script", "cached", v.cached("fib32.vyn", command=[SCRIPT]))]
                 if os.path.exists(SCRIPT) else []),
               ("fib(32) no .pyc", "off", nopyc.off("fib32.vyn")),
               ("fib(32) no .pyc", "cold", nopyc.cold("fib32.vyn")),
               ("fib(32) no .pyc", "cached", nopyc.cached("fib32.vyn"))]
        (t_py, out_p), *timed = measure([python] + [c for _, _, c in fib], r, d)
        assert out_p == "2178309\n", out_p
        for (name, cache, _), (t_vyn, out_v) in zip(fib, timed, strict=True):
            assert out_v == out_p, (name, cache, out_v)
            rows.append((name, cache, t_vyn, "CPython", t_py))
        (t_vyn, out_v), (t_hit, out_hit), (t_py, out_p) = measure(
            [v.off("hello.vyn"), v.cached("hello.vyn"), Cmd([sys.executable, "hello.py"])],
            r, d)
        assert out_v == out_hit == out_p == "hello\n", (out_v, out_hit, out_p)
        rows.append(("hello", "off", t_vyn, "CPython", t_py))
        rows.append(("hello", "cached", t_hit, "CPython", t_py))
        (t_py, out_p), (t_off, out_off), (t_hit, out_hit) = measure(
            [Cmd([sys.executable, "binary_trees.py"]), v.off("binary_trees.vyn"),
             v.cached("binary_trees.vyn")], r, d)
        assert out_off == out_hit == out_p, (out_off, out_hit, out_p)
        rows.append(("binary-trees 10", "off", t_off, "CPython", t_py))
        rows.append(("binary-trees 10", "cached", t_hit, "CPython", t_py))
        (t_py, out_p), (t_hit, out_hit) = measure(
            [Cmd([sys.executable, "bt_deep.py"]), v.cached("bt_deep.vyn")], r, d)
        assert out_hit == out_p, (out_hit, out_p)
        rows.append((f"binary-trees {depth}", "cached", t_hit, "CPython", t_py))
        (t_py, out_p), (t_off, out_off), (t_hit, out_hit) = measure(
            [Cmd([sys.executable, "sn_300_10.py"]), v.off("sn_300_10.vyn"),
             v.cached("sn_300_10.vyn")], r, d)
        for out_v in (out_off, out_hit):
            assert abs(float(out_v) - float(out_p)) < 1e-9, (out_v, out_p)
        rows.append(("spectral-norm 300", "off", t_off, "CPython", t_py))
        rows.append(("spectral-norm 300", "cached", t_hit, "CPython", t_py))
        (t_py, out_p), (t_off, out_off), (t_hit, out_hit), (t_int, out_int) = measure(
            [Cmd([sys.executable, "vecsum.py"]), v.off("vecsum.vyn"), v.cached("vecsum.vyn"),
             v.off("--jit=off", "vecsum.vyn")], r, d)
        assert out_off == out_hit == out_int == out_p, (out_off, out_hit, out_int, out_p)
        rows.append(("for x in Vec", "off", t_off, "CPython", t_py))
        rows.append(("for x in Vec", "cached", t_hit, "CPython", t_py))
        rows.append(("for x in Vec jit=off", "off", t_int, "CPython", t_py))
        gcc = shutil.which("gcc")
        steady = None
        if gcc:
            for k in (10, 40):
                subprocess.run([gcc, "-O2", f"sn_1000_{k}.c", "-o", f"sn_{k}", "-lm"], cwd=d,
                               check=True)
            (tv10, ov), (tv40, _), (tc10, oc), (tc40, _) = measure(
                [v.off("sn_1000_10.vyn"), v.off("sn_1000_40.vyn"), Cmd([str(d / "sn_10")]),
                 Cmd([str(d / "sn_40")])], r, d)
            assert abs(float(ov) - float(oc)) < 1e-8, (ov, oc)
            steady = ((tv40 - tv10) / 30, (tc40 - tc10) / 30)
    print(f"best of {r} runs, wall time; python: {sys.executable} ({sys.version.split()[0]})")
    print("cache: off = VYN_CACHE=off; cold = empty cache before each run (first run, "
          "stores); cached = every timed run a hit")
    print(f"{'benchmark':<20} {'cache':<7} {'vyn (s)':>9} {'baseline':>9} {'(s)':>8} "
          f"{'ratio':>7}   {'cpu: vyn':>8} {'base':>6} {'ratio':>6}")
    for name, cache, tv, base, tb in rows:
        print(f"{name:<20} {cache:<7} {tv:>9.3f} {base:>9} {tb:>8.3f} {tv / tb:>6.2f}x   "
              f"{tv.cpu:>8.3f} {tb.cpu:>6.3f} {tv.cpu / max(tb.cpu, 1e-9):>5.2f}x")
    if steady is not None:
        sv, sc = steady
        print(f"{'sn 1000 per round':<20} {'off':<7} {sv * 1000:>8.2f}m {'gcc -O2':>9} "
              f"{sc * 1000:>7.2f}m {sv / sc:>6.2f}x   (steady state: 40 rounds - 10 rounds)")
    else:
        print("steady state against C: skipped (gcc is not installed)")
    print()
    print(f"{'compile time':<14} {'function':<12} {'tier 1 (-O0)':>13} {'tier 2 (-O2)':>13}")
    for prog, fn, t0, t2 in compile_times():
        print(f"{prog:<14} {fn:<12} {t0:>10.1f} ms {t2:>10.1f} ms")


if __name__ == "__main__":
    main()
