"""docs/debugger.md shows real sessions: every example is replayed and must match.

A ```vyn block whose first line is `// NAME.vyn` is a program; a ```text block whose first
line starts with `(vyn) ` is a session with the last program above it: its `(vyn) `
lines are the commands, the other lines what they print. A ```console block starting
with `$ vyn debug` runs the command line (in a directory holding the programs).

After changing the debugger's output, rewrite the examples with
`PYTHONPATH=. python -m tests.test_debugger_docs` and read the diff.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler.lower import compile_file
from vyndbg.cli import main as vyn_main
from vyndbg.linemode import LineMode

DOC = Path(__file__).resolve().parent.parent / "docs" / "debugger.md"
PROMPT = "(vyn) "
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    kind: str            # "session" | "cli"
    body: str
    start: int           # offsets of the body in the document
    end: int
    program: str         # the program a session runs (its file name)


def parse(text: str) -> tuple[dict[str, str], list[Example]]:
    programs: dict[str, str] = {}
    examples = []
    current = ""
    for m in _FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        first = body.split("\n", 1)[0]
        if lang == "vyn" and first.startswith("// ") and first.endswith(".vyn"):
            current = first[3:]
            programs[current] = body
        elif lang == "text" and first.startswith(PROMPT):
            examples.append(Example("session", body, m.start(2), m.end(2), current))
        elif lang == "console" and first.startswith("$ vyn debug"):
            examples.append(Example("cli", body, m.start(2), m.end(2), current))
    return programs, examples


# Heap addresses change from run to run (the heap is an mmap'd arena): the examples show
# them as offsets from this base. Collection pauses are shown as 0.05 ms.
HEAP_BASE = 0x7ffff6a00000
_HEX = re.compile(r"0x[0-9a-f]+")
_PAUSE = re.compile(r"\b\d+\.\d\d ms\b")


# `info jit`: compile times change from run to run; the examples show 1.00 ms.
_COMPILE_MS = re.compile(r"^(\S+ +native \d(?: \(image\))? +\d+ )( *\d+\.\d\d)( )", re.M)


def normalize(text: str) -> str:
    text = _COMPILE_MS.sub(lambda m: m.group(1) + f"{'1.00':>{len(m.group(2))}}" + m.group(3),
                           text)
    text = re.sub(r"\(process \d+\)", "(process 4242)", text)
    text = re.sub(r"(child process |\[process )\d+", r"\g<1>4242", text)
    return _PAUSE.sub("0.05 ms", text)


def normalize_heap(text: str, heap: tuple[int, int] | None) -> str:
    """`text` with every address inside the heap `(base, size)` moved to HEAP_BASE, with
    as many digits as it had (`x/xg` pads to 16)."""
    if heap is None:
        return text
    base, size = heap

    def moved(m: re.Match) -> str:
        value = int(m.group(0), 16)
        if not base <= value < base + size:
            return m.group(0)
        return f"0x{HEAP_BASE + value - base:0{len(m.group(0)) - 2}x}"
    return _HEX.sub(moved, text)


def replay(programs: dict[str, str], example: Example) -> str:
    """What the example's commands print now (the example's new body)."""
    if example.kind == "cli":
        return _replay_cli(programs, example.body.split("\n", 1)[0])
    program = compile_file(example.program, programs[example.program]).program
    out = io.StringIO()
    lm = LineMode(program, path=example.program, out=out)
    heap = None
    try:
        for line in example.body.splitlines():
            if line.startswith(PROMPT):
                out.write(line + "\n")
                mark = out.tell()
                lm.execute(line[len(PROMPT):])
                if lm.session.vm is not None:
                    heap = (lm.session.vm.heap.base, lm.session.vm.heap.mapped_size)
                printed = out.getvalue()[mark:]
                if printed and not printed.endswith("\n"):
                    printed += "\n"      # `output`, `echo`: the next prompt on its own line
                out.seek(mark)
                out.truncate()
                out.write(normalize_heap(printed, heap))
    finally:
        lm.close()
    return normalize(out.getvalue())


def _replay_cli(programs: dict[str, str], command: str) -> str:
    out = io.StringIO()
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in programs.items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                vyn_main(shlex.split(command[2:])[1:])
        finally:
            os.chdir(here)
    return normalize(command + "\n" + out.getvalue())


PROGRAMS, EXAMPLES = parse(DOC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("example", EXAMPLES,
                         ids=[e.body.split("\n", 2)[0 if e.kind == "cli" else 1][:40]
                              for e in EXAMPLES])
def test_documented_session_is_what_the_debugger_prints(example):
    assert replay(PROGRAMS, example) == example.body


def test_documented_address_breakpoints_are_hit():
    """A documented `break *ADDRESS` stops there: the addresses in the commands are typed
    by hand, and move when the native code's layout does."""
    sessions = [e.body for e in EXAMPLES if "break *0x" in e.body]
    assert sessions
    for body in sessions:
        assert re.search(r"^Breakpoint \d+, 0x[0-9a-f]+ in ", body, re.MULTILINE), body


def test_every_command_has_an_example():
    from vyndbg.commands import COMMANDS, INFO_COMMANDS

    typed = {line[len(PROMPT):].split(" ")[0] for e in EXAMPLES for line in
             e.body.splitlines() if line.startswith(PROMPT)}
    typed |= {"info " + line[len(PROMPT):].split()[1] for e in EXAMPLES for line in
              e.body.splitlines() if line.startswith(PROMPT + "info ")}
    # `-ex CMD` of the command-line examples (native code needs `vyn debug --jit`).
    for e in EXAMPLES:
        if e.kind == "cli":
            words = shlex.split(e.body.split("\n", 1)[0])
            for i, w in enumerate(words[:-1]):
                if w == "-ex":
                    cmd = words[i + 1].split()
                    typed.add(cmd[0])
                    if cmd[0] == "info" and len(cmd) > 1:
                        typed.add("info " + cmd[1])
    missing = [c.name for c in COMMANDS if c.name not in typed and
               not typed.intersection(c.aliases)]
    missing += ["info " + c.name for c in INFO_COMMANDS if "info " + c.name not in typed
                and not typed.intersection("info " + a for a in c.aliases)]
    assert missing == []


def rewrite() -> None:
    """Replace every example's output with what the debugger prints now."""
    text = DOC.read_text(encoding="utf-8")
    programs, examples = parse(text)
    for example in reversed(examples):
        text = text[:example.start] + replay(programs, example) + text[example.end:]
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    rewrite()
    sys.exit(0)
