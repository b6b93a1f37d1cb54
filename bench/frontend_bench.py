"""Front-end throughput: lex + parse + check a generated program of about 1 MB.

Prints MB/s for each phase and in total, best of N runs, and two references measured in
the same run on a Python program of the same size and shape: the standard library's
`tokenize` (a lexer written in Python, like ours) and CPython's own `compile()` (its
front end, in C).

Run: python bench/frontend_bench.py [SIZE_MB] [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import tokenize
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compiler.checker import check  # noqa: E402
from compiler.diagnostics import DiagnosticSink  # noqa: E402
from compiler.driver import check_sources  # noqa: E402
from compiler.gcpause import gc_paused  # noqa: E402
from compiler.lexer import lex  # noqa: E402
from compiler.parser import parse  # noqa: E402
from compiler.span import SourceFile  # noqa: E402

UNIT = """
template Pair{i}<T, U> {{
  var first: T
  var second: U
  fn swap(self: &mut Pair{i}<T, U>) {{
    let tmp = self.first
    self.first = self.second
    self.second = tmp
  }}
}}

enum Shape{i} {{
  Circle(Float),
  Rect(Float, Float)
}}

fn area{i}(s: Shape{i}) -> Float {{
  match s {{
    Circle(r) => 3.14159 * r * r
    Rect(w, h) => w * h
  }}
}}

fn work{i}(n: Int) -> Int {{
  var total = 0
  for i in 0..<n {{
    if i % 3 == 0 {{ total += i }} else {{ total -= 1 }}
  }}
  let v = vec![1, 2, 3].map(fn(x) -> Int {{ x * {i} }})
  let p = Pair{i}<Int, String>(first=total, second="s{i}")
  total + v.len() + p.first
}}
"""



# The same declarations in Python, for the references.
PY_UNIT = """
class Pair{i}:
    def __init__(self, first, second):
        self.first = first
        self.second = second

    def swap(self):
        tmp = self.first
        self.first = self.second
        self.second = tmp


def area{i}(s):
    match s:
        case ("circle", r):
            return 3.14159 * r * r
        case ("rect", w, h):
            return w * h


def work{i}(n):
    total = 0
    for i in range(0, n):
        if i % 3 == 0:
            total += i
        else:
            total -= 1
    v = list(map(lambda x: x * {i}, [1, 2, 3]))
    p = Pair{i}(first=total, second="s{i}")
    return total + len(v) + p.first
"""


def generate(size: int, unit: str = UNIT, main: str = "fn main() {\n  println(work0(10))\n}\n"
             ) -> str:
    """Copies of `unit` (numbered apart) up to `size` characters, then `main`."""
    parts = []
    n = 0
    i = 0
    while n < size:
        chunk = unit.format(i=i)
        parts.append(chunk)
        n += len(chunk)
        i += 1
    parts.append(main)
    return "".join(parts)


def best(fn, repeat: int) -> float:
    """The fastest of `repeat` timed calls of fn(), in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def vyn_front_end(src: SourceFile) -> tuple[float, float, float, float]:
    """Seconds to lex, to lex + parse, and to check, inside one collector pause as the
    driver runs them; and seconds for the driver's `check_sources` (all three phases, plus
    the collection that follows the pause)."""
    with gc_paused():
        t0 = time.perf_counter()
        lex(src, DiagnosticSink())
        t1 = time.perf_counter()
        sink = DiagnosticSink()
        module = parse(src, sink)     # lexes again: parse time is this minus lex time
        t2 = time.perf_counter()
        check([module], sink, {src.name: src})
        t3 = time.perf_counter()
        assert not sink.has_errors, sink.sorted()[:3]
        del module, sink
    t4 = time.perf_counter()
    result = check_sources([src])
    t5 = time.perf_counter()
    assert result.ok, result.diagnostics[:3]
    return t1 - t0, t2 - t1, t3 - t2, t5 - t4


def corpus_sources() -> list[SourceFile]:
    """The real programs in the repository (hand-written, with comments and blank lines)."""
    root = Path(__file__).resolve().parent.parent
    paths = sorted((root / "tests" / "programs").rglob("*.vyn")) + sorted(
        (root / "examples").glob("*.vyn"))
    return [SourceFile(str(p), p.read_text(encoding="utf-8")) for p in paths]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("size_mb", nargs="?", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    args = ap.parse_args()
    size = int(args.size_mb * 1_000_000)
    text = generate(size)
    mb = len(text.encode()) / 1e6
    src = SourceFile("big.vyn", text)
    runs = [vyn_front_end(src) for _ in range(args.repeat)]
    lex_s = min(r[0] for r in runs)
    lex_parse_s = min(r[1] for r in runs)
    check_s = min(r[2] for r in runs)
    total = min(r[3] for r in runs)

    corpus = corpus_sources()
    corpus_mb = sum(len(c.text.encode()) for c in corpus) / 1e6
    corpus_s = best(lambda: [check_sources([c]) for c in corpus], args.repeat)

    py_text = generate(size, PY_UNIT, "print(work0(10))\n")
    py_mb = len(py_text.encode()) / 1e6
    tok_s = best(lambda: sum(1 for _ in tokenize.generate_tokens(io.StringIO(py_text).readline)),
                 args.repeat)
    compile_s = best(lambda: compile(py_text, "big.py", "exec"), args.repeat)

    print(f"program: {mb:.2f} MB, {text.count(chr(10))} lines; best of {args.repeat} runs")
    print(f"{'phase':<8}{'seconds':>10}{'MB/s':>10}   (total: `vyn check`'s check_sources)")
    for name, s in (("lex", lex_s), ("parse", lex_parse_s - lex_s), ("check", check_s),
                    ("total", total)):
        print(f"{name:<8}{s:>10.3f}{mb / s:>10.2f}")
    print(f"{'corpus':<8}{corpus_s:>10.3f}{corpus_mb / corpus_s:>10.2f}   "
          f"({len(corpus)} files of tests/programs and examples, {corpus_mb * 1000:.0f} KB, "
          f"each checked alone)")
    print(f"\nreferences: the same program in Python, {py_mb:.2f} MB")
    print(f"{'':<34}{'MB/s':>8}{'vyn is':>12}")
    print(f"{'Python tokenize (Python) vs lex':<34}{py_mb / tok_s:>8.2f}"
          f"{(mb / lex_s) / (py_mb / tok_s):>11.2f}x")
    print(f"{'CPython compile() (C) vs total':<34}{py_mb / compile_s:>8.2f}"
          f"{(mb / total) / (py_mb / compile_s):>11.2f}x")


if __name__ == "__main__":
    main()
