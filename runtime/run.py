"""`run_program`: run a compiled program as `vyn run` does, with exit codes of SEMANTICS.md."""

from __future__ import annotations

# The C module behind `signal`, whose wrapper imports enum (about 3 ms at every start).
import _signal as signal
from collections.abc import Callable

from compiler.bytecode import Program
from runtime.errors import Interrupted, Unsupported, VynPanic
from runtime.heap_errors import HeapError

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import TextIO

EXIT_OK, EXIT_USAGE, EXIT_PANIC, EXIT_INTERRUPTED = 0, 2, 101, 130


SHOWN_REPEATS = 3      # a recursion's repeated frames shown before the rest are counted
MAX_PERIOD = 8         # the longest cycle of frames recognised as one recursion


def backtrace_lines(frames: list) -> list[str]:
    """`  at NAME (FILE:LINE)` per frame, innermost first. A recursion is collapsed: a
    frame (or a cycle of up to MAX_PERIOD frames) repeated at least three times more than
    SHOWN_REPEATS is shown SHOWN_REPEATS times, then counted:
    `  ... 19,990 more frames of down (deep.vyn:3) ...` (or `... of the 2 frames above
    ...` for a cycle), so a stack overflow is a screenful."""
    lines = []
    for fn, pc in frames:
        if fn.name == "<globals>":
            continue
        row = fn.line_at(pc)
        line = row.line if row is not None else fn.line
        lines.append(f"{fn.name} ({fn.file}:{line})")
    out = []
    i = 0
    n = len(lines)
    while i < n:
        period, repeats = _cycle_at(lines, i)
        if repeats >= SHOWN_REPEATS + 3:
            for k in range(SHOWN_REPEATS * period):
                out.append(f"  at {lines[i + k]}")
            rest = (repeats - SHOWN_REPEATS) * period
            what = lines[i] if period == 1 else f"the {period} frames above"
            out.append(f"  ... {rest:,} more frames of {what} ...")
            i += repeats * period
        else:
            out.append(f"  at {lines[i]}")
            i += 1
    return out


def _cycle_at(lines: list[str], i: int) -> tuple[int, int]:
    """The shortest cycle starting at `i` and how many times it repeats in a row."""
    for period in range(1, MAX_PERIOD + 1):
        block = lines[i:i + period]
        if len(block) < period:
            break
        repeats = 1
        j = i + period
        while lines[j:j + period] == block:
            repeats += 1
            j += period
        if repeats >= SHOWN_REPEATS + 3:
            return period, repeats
    return 1, 1


def panic_text(p: VynPanic) -> str:
    """What a panic prints on stderr (SEMANTICS "Failure"): the message, the fiber when it
    is not main, and its backtrace; for a deadlock, every blocked fiber with its own."""
    lines = [f"panic: {p.message}"]
    blocked = getattr(p, "blocked", None)
    if blocked is not None:
        for b in blocked:
            f = b.fiber
            lines.append(f"fiber {f.id} ({f.name}), blocked {f.wait.what if f.wait else ''}:")
            lines.extend(backtrace_lines(b.frames))
        return "\n".join(lines) + "\n"
    fiber = getattr(p, "fiber", None)
    if fiber is not None and fiber.kind != "main":
        lines.append(f"  in {fiber.name}")
    lines.extend(backtrace_lines(p.frames))
    return "\n".join(lines) + "\n"


def _interrupt_by_flag(vm):
    """Ctrl-C sets the VM's interrupt flag, which the scheduler checks at every slice end
    and native code at its reduction polls, instead of raising KeyboardInterrupt wherever
    Python happens to be (inside a native code's helper callback, ctypes would swallow
    it). A second Ctrl-C raises at once. Returns the previous handler (None off the main
    thread, where Python delivers no signals)."""
    def on_sigint(signum, frame):
        if vm.interrupt[0]:
            raise KeyboardInterrupt
        vm.interrupt[0] = True

    try:
        return signal.signal(signal.SIGINT, on_sigint)
    except ValueError:         # not the main thread (and threading is not imported for it)
        return None


def _dump(path: str, vm, p: VynPanic, ring, stderr: TextIO) -> None:
    """Write the post-mortem dump; a file that cannot be written is one line on stderr."""
    from runtime.dump import write_dump

    try:
        write_dump(path, vm, p, ring)
    except OSError as e:
        stderr.write(f"vyn: cannot write the dump {path}: {e.strerror or e}\n")
        return
    stderr.write(f"vyn: post-mortem dump written to {path}\n")


def run_program(program: Program, argv: list[str], *, stdout: TextIO, stderr: TextIO,
                heap_limit: int | None = None, max_depth: int | None = None,
                gc_stress: bool = False, gc_trace: bool = False,
                events: Callable | None = None, jit=None,
                dump_on_panic: str | None = None,
                after_run: Callable | None = None) -> int:
    """Run `program`'s main; returns the exit code (0, 101 after a panic, 2 when the
    program needs an unsupported feature, 130 when interrupted). `events`, if given, is
    called with the VM before it runs and returns the EventSink to attach (a trace
    recorder; runtime/events.py). `jit`: the native tier's `runtime.jit.JitOptions` (None:
    bytecode only). `dump_on_panic`: a file for the post-mortem dump a panic writes
    (runtime/dump.py), with the last events kept in a ring. `after_run`, if given, is
    called with the VM once `main` has finished (whatever the outcome), before the JIT
    is closed: the build cache (runtime/build_cache.py) notes there which functions got
    native code."""
    from runtime.vm import VM

    try:
        vm = VM(program, stdout=stdout, stderr=stderr, heap_limit=heap_limit,
                max_depth=max_depth, argv=argv, gc_stress=gc_stress,
                gc_trace=stderr if gc_trace else None)
    except HeapError as e:
        stderr.write(f"vyn: cannot start the program: {e}\n")
        return EXIT_USAGE
    ring = None
    if dump_on_panic is not None:
        from runtime.dump import RingSink

        ring = RingSink(vm, events(vm) if events is not None else None)
        vm.attach_events(ring)
    elif events is not None:
        vm.attach_events(events(vm))
    if jit is not None and jit.mode != "off":
        from runtime.jit import attach

        vm.jit = attach(vm, jit)
        if vm.jit is not None:
            vm.natives = vm.jit.natives
    previous = _interrupt_by_flag(vm)
    try:
        vm.run_main()
    except VynPanic as p:
        stdout.flush()
        stderr.write(panic_text(p))
        if dump_on_panic is not None:
            _dump(dump_on_panic, vm, p, ring, stderr)
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
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        stdout.flush()
        if after_run is not None:
            after_run(vm)
        if vm.jit is not None:
            if jit.stats is not None:
                vm.jit.write_stats(jit.stats)
            vm.jit.close()
    return EXIT_OK
