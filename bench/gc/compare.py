"""binary-trees at a given depth: whole `vyn run` commands against CPython's
bench/gc/binary_trees.py, best of N (the same run, alternating).

    python bench/gc/compare.py --depth 10 --depth 15 --repeat 3 [--jit=off] [--cache DIR]
                               [--tree DIR]...

The depth is substituted into a copy of binary_trees.vyn in a temporary directory (the
build cache keys on the file's name and text, so a warm --cache DIR is hit after the
first run, which is not timed). Python's .pyc cache is used: PYTHONDONTWRITEBYTECODE is
removed from the environment and PYTHONPYCACHEPREFIX set (default /tmp/vyn-pyc).

`--tree DIR` (repeatable) also times the toolchain in DIR (a copy of the sources, e.g. an
older version: `python -m vyndbg.cli` run in DIR), with its own cache directory, in the
same rounds: before/after comparisons on the same machine load."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def best(cmd: list[str], env: dict, repeat: int, cwd: str | None = None
         ) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(repeat):
        start = time.perf_counter()
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, cwd=cwd)
        times.append(time.perf_counter() - start)
        out = p.stdout
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, action="append")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jit", default=None)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "vyn-bench-cache"))
    ap.add_argument("--pycache", default=os.path.join(tempfile.gettempdir(), "vyn-pyc"))
    ap.add_argument("--tree", action="append", default=[])
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = args.pycache
    env["VYN_CACHE"] = args.cache
    vyn = [sys.executable, "-m", "vyndbg.cli"] if not os.path.exists(
        os.path.join(os.path.dirname(sys.executable), "vyn")) else [
        os.path.join(os.path.dirname(sys.executable), "vyn")]
    src = open(os.path.join(HERE, "binary_trees.vyn")).read()
    tmp = os.path.join(tempfile.gettempdir(), "vyn-bench-bt")
    os.makedirs(tmp, exist_ok=True)
    for depth in args.depth or [10]:
        path = os.path.join(tmp, f"binary_trees_{depth}.vyn")
        with open(path, "w") as f:
            f.write(src.replace("let n = 10", f"let n = {depth}"))
        jit = [f"--jit={args.jit}"] if args.jit else []
        cmd = [*vyn, "run", *jit, path]
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)  # warm
        py = [sys.executable, "-c",
              f"import sys; sys.path.insert(0, {HERE!r}); import binary_trees; "
              f"binary_trees.main({depth})"]
        subprocess.run(py, env=env, stdout=subprocess.DEVNULL, check=True)
        trees = []
        for tree in args.tree:
            tenv = dict(env, VYN_CACHE=args.cache + "-" + os.path.basename(tree.rstrip("/")))
            tcmd = [sys.executable, "-m", "vyndbg.cli", "run", *jit, path]
            subprocess.run(tcmd, env=tenv, stdout=subprocess.DEVNULL, check=True, cwd=tree)
            trees.append((tree, tcmd, tenv))
        tv, ov = best(cmd, env, args.repeat)
        tp, op = best(py, env, args.repeat)
        same = "same output" if ov == op else "OUTPUT DIFFERS"
        label = f"depth {depth}{' jit=' + args.jit if args.jit else ''}"
        print(f"{label}: vyn {tv:.3f} s, CPython {tp:.3f} s, ratio {tv / tp:.2f}x ({same})",
              flush=True)
        for tree, tcmd, tenv in trees:
            tt, ot = best(tcmd, tenv, args.repeat, cwd=tree)
            same = "same output" if ot == op else "OUTPUT DIFFERS"
            print(f"{label}: {tree}: vyn {tt:.3f} s, ratio {tt / tp:.2f}x ({same})",
                  flush=True)


if __name__ == "__main__":
    main()
