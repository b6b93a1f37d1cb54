"""The native tier against CPython and C (docs/native.md), in one run.

    python bench/native_bench.py [--repeat N]

Rows (best wall time of N runs each, default 3):
    fib(32)          `vyn run fib32.vyn` (the whole command: start-up, compile, JIT, run)
                     vs `python fib32.py`; target: at most 0.2x CPython's time
    fib(32) image    the same, from an image built with `vyn build -O2` (not timed)
    spectral-norm    `vyn run` n=300, 10 rounds vs `python` of the same algorithm
    steady state     spectral-norm n=1000: (time of 40 rounds - time of 10 rounds) / 30,
                     Vyn against the same C built with `gcc -O2`; target: within 1.5x of C
    compile time     per function of fib and spectral-norm, at tier 1 (-O0) and tier 2 (-O2)

`vyn` is `sys.executable -m vyndbg.cli`; CPython runs on the same interpreter. Every
run's output is checked against the others'.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
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


def vyn(*args: str) -> list[str]:
    return [sys.executable, "-m", "vyndbg.cli", *args]


def best(command: list[str], repeat: int, cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"native_bench: {' '.join(command)} failed:\n{done.stderr}")
        out = done.stdout
    return min(times), out


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
    args = parser.parse_args()
    r = args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "fib32.vyn").write_text(FIB_VYN)
        (d / "fib32.py").write_text(FIB_PY)
        for n, k in ((300, 10), (1000, 10), (1000, 40)):
            (d / f"sn_{n}_{k}.vyn").write_text(fill(SN_VYN, n, k))
            (d / f"sn_{n}_{k}.c").write_text(fill(SN_C, n, k))
        (d / "sn_300_10.py").write_text(fill(SN_PY, 300, 10))
        subprocess.run(vyn("build", "-O2", "fib32.vyn", "-o", "fib32img"), cwd=d, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        rows = []
        t_vyn, out_v = best(vyn("run", "fib32.vyn"), r, d)
        t_py, out_p = best([sys.executable, "fib32.py"], r, d)
        assert out_v == out_p == "2178309\n", (out_v, out_p)
        rows.append(("fib(32)", t_vyn, "CPython", t_py))
        t_img, out_i = best(vyn("run", "fib32img"), r, d)
        assert out_i == out_p
        rows.append(("fib(32) image", t_img, "CPython", t_py))
        t_vyn, out_v = best(vyn("run", "sn_300_10.vyn"), r, d)
        t_py, out_p = best([sys.executable, "sn_300_10.py"], r, d)
        assert abs(float(out_v) - float(out_p)) < 1e-9, (out_v, out_p)
        rows.append(("spectral-norm 300", t_vyn, "CPython", t_py))
        gcc = shutil.which("gcc")
        steady = None
        if gcc:
            for k in (10, 40):
                subprocess.run([gcc, "-O2", f"sn_1000_{k}.c", "-o", f"sn_{k}", "-lm"], cwd=d,
                               check=True)
            tv10, ov = best(vyn("run", "sn_1000_10.vyn"), r, d)
            tv40, _ = best(vyn("run", "sn_1000_40.vyn"), r, d)
            tc10, oc = best([str(d / "sn_10")], r, d)
            tc40, _ = best([str(d / "sn_40")], r, d)
            assert abs(float(ov) - float(oc)) < 1e-8, (ov, oc)
            steady = ((tv40 - tv10) / 30, (tc40 - tc10) / 30)
    print(f"best of {r} runs, wall time; python: {sys.executable} ({sys.version.split()[0]})")
    print(f"{'benchmark':<20} {'vyn (s)':>9} {'baseline':>9} {'(s)':>8} {'ratio':>7}")
    for name, tv, base, tb in rows:
        print(f"{name:<20} {tv:>9.3f} {base:>9} {tb:>8.3f} {tv / tb:>6.2f}x")
    if steady is not None:
        sv, sc = steady
        print(f"{'sn 1000 per round':<20} {sv * 1000:>8.2f}m {'gcc -O2':>9} {sc * 1000:>7.2f}m "
              f"{sv / sc:>6.2f}x   (steady state: 40 rounds - 10 rounds)")
    else:
        print("steady state against C: skipped (gcc is not installed)")
    print()
    print(f"{'compile time':<14} {'function':<12} {'tier 1 (-O0)':>13} {'tier 2 (-O2)':>13}")
    for prog, fn, t0, t2 in compile_times():
        print(f"{prog:<14} {fn:<12} {t0:>10.1f} ms {t2:>10.1f} ms")


if __name__ == "__main__":
    main()
