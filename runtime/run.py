"""`run_program`: run a compiled program as `vyn run` does, with exit codes of SEMANTICS.md."""

from __future__ import annotations

from typing import TextIO

from compiler.bytecode import Program
from runtime.errors import Interrupted, Unsupported, VynPanic
from runtime.heap_errors import HeapError

EXIT_OK, EXIT_USAGE, EXIT_PANIC, EXIT_INTERRUPTED = 0, 2, 101, 130


def backtrace_lines(frames: list) -> list[str]:
    """`  at NAME (FILE:LINE)` per frame, innermost first."""
    out = []
    for fn, pc in frames:
        if fn.name == "<globals>":
            continue
        row = fn.line_at(pc)
        line = row.line if row is not None else fn.line
        out.append(f"  at {fn.name} ({fn.file}:{line})")
    return out


def run_program(program: Program, argv: list[str], *, stdout: TextIO, stderr: TextIO,
                heap_limit: int | None = None, max_depth: int | None = None) -> int:
    """Run `program`'s main; returns the exit code (0, 101 after a panic, 2 when the
    program needs an unsupported feature, 130 when interrupted)."""
    from runtime.vm import VM

    try:
        vm = VM(program, stdout=stdout, stderr=stderr, heap_limit=heap_limit,
                max_depth=max_depth, argv=argv)
    except HeapError as e:
        stderr.write(f"vyn: cannot start the program: {e}\n")
        return EXIT_USAGE
    try:
        vm.run_main()
    except VynPanic as p:
        stdout.flush()
        stderr.write(f"panic: {p.message}\n")
        for line in backtrace_lines(p.frames):
            stderr.write(line + "\n")
        return EXIT_PANIC
    except Unsupported as u:
        stdout.flush()
        stderr.write(f"vyn: this program uses {u.what}, which `vyn run` does not support "
                     "yet.\n")
        return EXIT_USAGE
    except (Interrupted, KeyboardInterrupt):
        stdout.flush()
        stderr.write("vyn: interrupted\n")
        return EXIT_INTERRUPTED
    finally:
        stdout.flush()
    return EXIT_OK
