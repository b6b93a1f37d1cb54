"""Front-end throughput: lex + parse + check a generated program of about 1 MB.

Prints MB/s for each phase and in total. Run: python bench/frontend_bench.py [SIZE_MB]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compiler.checker import check  # noqa: E402
from compiler.diagnostics import DiagnosticSink  # noqa: E402
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


def generate(size: int) -> str:
    parts = []
    n = 0
    i = 0
    while n < size:
        chunk = UNIT.format(i=i)
        parts.append(chunk)
        n += len(chunk)
        i += 1
    parts.append("fn main() {\n  println(work0(10))\n}\n")
    return "".join(parts)


def main() -> None:
    size_mb = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    text = generate(int(size_mb * 1_000_000))
    mb = len(text.encode()) / 1e6
    src = SourceFile("big.vyn", text)
    t0 = time.perf_counter()
    sink = DiagnosticSink()
    lex(src, sink)
    t1 = time.perf_counter()
    sink = DiagnosticSink()
    module = parse(src, sink)     # lexes again: parse time below is lex + parse
    t2 = time.perf_counter()
    check([module], sink, {src.name: src})
    t3 = time.perf_counter()
    assert not sink.has_errors, sink.sorted()[:3]
    lex_s, parse_s, check_s = t1 - t0, (t2 - t1) - (t1 - t0), t3 - t2
    total = t3 - t1
    print(f"program: {mb:.2f} MB, {text.count(chr(10))} lines")
    print(f"{'phase':<8}{'seconds':>10}{'MB/s':>10}")
    for name, s in (("lex", lex_s), ("parse", parse_s), ("check", check_s),
                    ("total", total)):
        print(f"{name:<8}{s:>10.3f}{mb / s:>10.2f}")


if __name__ == "__main__":
    main()
