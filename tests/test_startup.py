"""What `vyn run` loads before `main` runs: nothing it does not use (checked in fresh
processes through sys.modules), and the start-up shortcuts change no behaviour. No timings
are asserted (bench/native_bench.py measures them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HOT = """fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  println(fib(20))
}
"""

# Never needed by `vyn run`: the debugger and its UIs, the emulator and disassembler, the
# trace tooling (without --trace/--profile).
NOT_FOR_RUN = ("textual", "unicorn", "capstone", "tui", "vyndbg.engine", "vyndbg.linemode",
               "traces.recorder", "traces.reader")


def modules_after_run(tmp_path: Path, args: list[str], cache: str) -> tuple[str, set[str]]:
    script = (
        "import sys\n"
        "from vyndbg.cli import main\n"
        f"code = main({args!r})\n"
        "print('MODULES', code, ' '.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VYN_CACHE": cache}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out, _, modules = done.stdout.rpartition("MODULES ")
    code, *names = modules.split()
    assert code == "0", done.stderr
    return out, set(names)


@pytest.mark.parametrize("jit", ["--jit=auto", "--jit=off", "--jit=eager"])
def test_run_imports_no_debugger_emulator_or_ui(tmp_path, jit):
    pytest.importorskip("llvmlite")
    (tmp_path / "fib.vyn").write_text(HOT, encoding="utf-8")
    for cache in ("off", str(tmp_path / "cache"), str(tmp_path / "cache")):  # off, miss, hit
        out, modules = modules_after_run(tmp_path, ["run", jit, "fib.vyn"], cache)
        assert out == "6765\n"
        assert not [m for m in NOT_FOR_RUN if m in modules], (jit, cache)
        if jit == "--jit=off":
            assert "llvmlite" not in modules


def test_a_program_that_never_gets_hot_runs_without_llvm_or_pyelftools(tmp_path):
    (tmp_path / "hello.vyn").write_text('fn main() {\n  println("hi")\n}\n', encoding="utf-8")
    for cache in ("off", str(tmp_path / "cache")):
        out, modules = modules_after_run(tmp_path, ["run", "hello.vyn"], cache)
        assert out == "hi\n"
        heavy = [m for m in ("llvmlite", "elftools", *NOT_FOR_RUN) if m in modules]
        assert not heavy, (cache, heavy)
        # No diagnostics: the renderer (json, unicodedata) is not loaded either.
        assert "compiler.render" not in modules


def test_the_lexers_identifier_classes_are_the_documented_sets():
    """compiler/lexer.py writes its identifier classes as complements within ASCII (fast
    to compile); they must hold exactly the code points of the plain spelling."""
    from compiler import lexer

    for fast, plain in ((lexer._ID_START, r"[A-Za-z_\u0080-\U0010ffff]"),
                        (lexer._ID_CONTINUE, r"[A-Za-z0-9_\u0080-\U0010ffff]"),
                        (lexer._AFTER_INT, r"[0-9_.eExXbBoOA-Za-z\u0080-\U0010ffff]")):
        a, b = re.compile(fast), re.compile(plain)
        # Every ASCII character, the edges of every range, and a sample of the rest.
        probes = set(range(0x100)) | {0xD7FF, 0xD800, 0xDFFF, 0xE000, 0xFFFF, 0x10000,
                                      0x10FFFF} | set(range(0x100, 0x110000, 997))
        assert [c for c in sorted(probes)
                if bool(a.fullmatch(chr(c))) != bool(b.fullmatch(chr(c)))] == [], plain
