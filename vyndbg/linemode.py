"""The gdb-compatible line mode: reads gdb commands, drives a `Session`, prints what gdb
prints.

`LineMode.execute(line)` runs one command and writes its output to the `out` stream
(errors to `err`, by default the same stream), so tests drive it with an io.StringIO.
The engine decides and computes; this module only parses command lines, asks the engine
and renders its records through `Renderer` (vyndbg/render_gdb.py). The breakpoint
commands live in vyndbg/linemode_breakpoints.py, those that read the program's state
without resuming it in vyndbg/linemode_inspect.py; the prompt, readline and batch runs in
vyndbg/prompt.py.
"""

from __future__ import annotations

import re
import shlex
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from compiler.bytecode import Program
from vyndbg import commands as cmds
from vyndbg.commands import CommandError
from vyndbg.engine import Session
from vyndbg.linemode_breakpoints import BreakpointCommands, ignore_message, parse_count
from vyndbg.linemode_control import ControlCommands
from vyndbg.linemode_heap import HeapCommands
from vyndbg.linemode_inspect import InspectCommands
from vyndbg.linemode_native import NativeCommands
from vyndbg.linemode_threads import ThreadCommands
from vyndbg.model import DebugError, Output, StopEvent, StopReason
from vyndbg.render_gdb import Renderer

_WORD = re.compile(r"\s*([A-Za-z_][\w-]*)(.*)", re.S)
_UNIT_TYPES = ("()", "Unit", "Void")


class LineMode(BreakpointCommands, InspectCommands, ThreadCommands, HeapCommands,
               ControlCommands, NativeCommands):
    """gdb's command language over one debugging session.

    Args:
        program: the compiled program to debug.
        path: the program's name as the user gave it (shown by `run`).
        args: the program's arguments (argv[1:]).
        out: where command output and the program's standard output go.
        err: where error messages and the program's standard error go (default: out).
        interactive: ask before killing or restarting a program, as gdb does at a
            terminal (batch runs and tests answer yes).
        ask: reads a yes/no answer when interactive (default: input()).
        batch: as `gdb -batch`: commands run as from a script (no `Starting program:`,
            `Continuing.`, `Run till exit from ...`), and a question is printed with its
            automatic answer (`(y or n) [answered Y; input not from terminal]`).
        heap_limit, max_depth: the program's limits, as for `vyn run`.
        gc_trace, gc_stress: as `vyn run --gc-trace` and `--gc-stress` (the trace goes
            to `err`, in order with the program's output).
        session: the engine to ask instead of a new `Session` (a `vyndbg.core.CoreSession`
            over a post-mortem dump); `program` may then be None.
    """

    def __init__(self, program: Program, *, path: str = "", args: list[str] | None = None,
                 out: TextIO | None = None, err: TextIO | None = None,
                 interactive: bool = False, ask: Callable[[str], str] | None = None,
                 heap_limit: int | None = None, max_depth: int | None = None,
                 gc_trace: bool = False, gc_stress: bool = False, batch: bool = False,
                 events=None, session=None, jit=None):
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else self.out
        self.render = Renderer()
        self.program = program
        # `session`: another source of the engine's answers (vyndbg/core.py: a dump).
        self.session = session if session is not None else Session(
            program, on_output=self._program_output, heap_limit=heap_limit,
            max_depth=max_depth, gc_trace=gc_trace, gc_stress=gc_stress, events=events,
            jit=jit)
        self.render.show_tiers = getattr(self.session, "jit_mode", "off") != "off"
        self.path = path or self.session.default_file()
        self.args = list(args or [])
        self.interactive = interactive
        self.confirm = True          # `set confirm`: questions are asked (or answered)
        self._ask = ask or input
        self.batch = batch
        self.from_tty = not batch    # gdb's from_tty: the command was typed, not scripted
        self.last_report: StopEvent | None = None   # the stop `info program` describes
        self.last_resume = ""        # the command that made it (advance, finish, ...)
        self.failed = False          # the last command raised an error
        self.quit_code: int | None = None   # set by `quit`
        self.history: list = []      # the value history: $1 is history[0]
        self.displays: dict[int, tuple[str, bool]] = {}   # number -> (expression, enabled)
        self._next_display = 1
        self.dprintf_text: dict[int, str] = {}
        self._last_where: tuple[int, int, int] | None = None   # (thread, function, depth)
        self._init_listing()
        self._init_heap_commands()

    # ------------------------------------------------------------------ plumbing

    def write(self, *lines: str) -> None:
        for line in lines:
            self.out.write(line + "\n")

    def error(self, message: str) -> None:
        self.out.flush()
        self.err.write(message + "\n")
        self.err.flush()

    def _program_output(self, out: Output) -> None:
        if out.stream == "stderr":
            self.out.flush()
            self.err.write(out.text)
            self.err.flush()
        else:
            self.out.write(out.text)

    def ask(self, question: str) -> bool:
        """gdb's `query`: yes without asking with `set confirm off`; asked when
        interactive; otherwise yes, printed as gdb -batch prints it."""
        if not self.confirm:
            return True
        if not self.interactive:
            if self.batch:
                self.write(f"{question}(y or n) [answered Y; input not from terminal]")
            return True
        while True:
            try:
                answer = self._ask(f"{question}(y or n) ").strip().lower()
            except EOFError:
                self.write("EOF [answered Y; input not from terminal]")
                return True
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self.write("Please answer y or n.")

    def lookup(self, line: str) -> tuple[cmds.Command, str]:
        """The command a line names and the rest of the line (its arguments)."""
        m = _WORD.match(line)
        if not m:
            word = line.strip().split()[0] if line.strip() else line
            raise CommandError(f'Undefined command: "{word}".  Try "help".')
        return cmds.lookup(cmds.COMMANDS, m.group(1)), m.group(2)

    def execute(self, line: str, from_tty: bool | None = None) -> None:
        """Run one command line; errors are printed (as gdb words them), not raised.
        from_tty: whether it was typed (gdb's messages for a user), or came from a script
        (`-x FILE`, `--batch -ex`); default: not in batch mode."""
        self.failed = False
        saved = self.from_tty
        if from_tty is not None:
            self.from_tty = from_tty
        try:
            self.run_command(line)
        except DebugError as e:
            self.failed = True
            self.error(str(e))
        finally:
            self.from_tty = saved

    def run_command(self, line: str) -> None:
        """Run one command line; errors are raised (DebugError), not printed."""
        text = line.strip()
        if not text or text.startswith("#"):
            return
        cmd, rest = self.lookup(text)
        getattr(self, cmd.method)(rest.strip())

    @property
    def stopped(self) -> bool:
        return self.session.state.state == "stopped"

    # ------------------------------------------------------------------ resuming

    def _wait(self, call: Callable[[], StopEvent]) -> StopEvent:
        """Run a blocking engine call; Ctrl-C (KeyboardInterrupt) meanwhile interrupts the
        program, which then stops where it is (the call returns an INTERRUPT stop)."""
        box: dict = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["event"] = call()
            except BaseException as e:  # noqa: BLE001 - handed back to the caller below
                box["error"] = e
            finally:
                done.set()

        # An Event, not Thread.join: a KeyboardInterrupt inside join() can leave the
        # thread looking finished while it still runs (CPython gh-90882 in 3.11).
        threading.Thread(target=work, name="vyn-debug-command", daemon=True).start()
        while True:
            try:
                if done.wait(0.1):
                    break
            except KeyboardInterrupt:
                self.session.interrupt()
        if "error" in box:
            raise box["error"]
        return box["event"]

    def _where_now(self) -> tuple[int, int, int] | None:
        """(thread, function index, depth) of the selected thread's innermost frame."""
        if not self.stopped:
            return None
        try:
            frame = self.session.frames(1)[0]
        except (DebugError, IndexError):
            return None
        return self.session.selected_thread, frame.function_index, self.session.depth()

    def _resume(self, call: Callable[[], StopEvent], style: str = "line") -> StopEvent:
        """Resume the program with `call` and report the stop.

        style: "line" (stepping: the frame line only when the frame changed),
            "location" (always the frame line), "insn" (stepi: the pc too, mid-line).
        """
        before = self._where_now()
        ev = self._wait(call)
        self.report(ev, style, before)
        return ev

    def report(self, ev: StopEvent, style: str = "location",
               before: tuple[int, int, int] | None = None) -> None:
        """Print a stop (or the end of the program) as gdb does."""
        r = self.render
        pid = self.session.pid
        self.last_report = ev
        if ev.reason is StopReason.EXITED:
            self.out.flush()
            self.write(r.exited(pid, ev.exit_code))
            self._last_where = None
            return
        if ev.reason is StopReason.KILLED:
            self.write(r.killed(pid))
            return
        frame = ev.frame
        show_frame = True
        thread = None
        if ev.fiber is not None:
            if ev.fiber_changed:
                self.write(r.switching(ev.fiber))
            if self.session.fiber_count() > 1:
                thread = r.thread_prefix(ev.fiber)
        if ev.reason is StopReason.BREAKPOINT and ev.breakpoint is not None:
            # A breakpoint by address may be mid-line: gdb names the address then.
            at = self._mid_line_pc(frame.pc) if ev.breakpoint.address is not None else None
            self.write(*r.breakpoint_hit(ev.breakpoint, frame, thread, at))
            show_frame = False
        elif ev.reason is StopReason.WATCHPOINT and ev.breakpoint is not None:
            self.write(*r.watchpoint_hit(ev.breakpoint, ev.old_value, ev.new_value, thread))
            for bp, old, new in ev.also:
                self.write(*r.watchpoint_hit(bp, old, new, thread))
        elif ev.reason is StopReason.PANIC:
            self.write(*r.panic(ev.message, thread))
        elif ev.reason is StopReason.DEADLOCK:
            self.write("", *ev.report.rstrip("\n").split("\n"))
        elif ev.reason is StopReason.INTERRUPT:
            self.write(*r.interrupted(thread))
        elif ev.reason is StopReason.STEP and style != "location":
            if ev.new_frame is not None:
                show_frame = ev.new_frame
            else:
                where = (self.session.selected_thread, frame.function_index,
                         self.session.depth())
                show_frame = before is None or where != before
        # In the middle of a line, gdb shows the address: the pc here.
        pc = self._mid_line_pc(frame.pc)
        if style != "insn" and not show_frame:
            pc = None
        if show_frame:
            self.write(r.frame_line(frame, pc))
        self.show_source(frame.location, pc if not show_frame else None)
        if ev.reason is StopReason.FINISH and ev.returned is not None and \
                ev.returned.type_name not in _UNIT_TYPES:
            number = self.record(ev.returned)
            self.write(f"Value returned is ${number} = {self.value_text(ev.returned)}")
        self._last_where = self._where_now()
        self.show_displays()

    def _mid_line_pc(self, pc: int) -> int | None:
        """`pc` when it is not where a statement starts in the selected frame (gdb then
        prints the address)."""
        try:
            frame = self.session.selected_frame()
        except DebugError:
            return None
        return self.session.mid_line_pc(frame) if frame.pc == pc else None

    # ------------------------------------------------------------------ running

    def do_run(self, rest: str) -> None:
        if self.session.running and self.from_tty and not self.ask(
                "The program being debugged has been started already.\n"
                "Start it from the beginning? "):
            raise CommandError("Program not restarted.")
        self._start_program(rest)

    def _start_program(self, rest: str) -> None:
        if rest:
            try:
                self.args = shlex.split(rest)
            except ValueError as e:
                raise CommandError(f"Invalid arguments: {e}.") from None
        if self.from_tty:
            self.write(" ".join(["Starting program:", self.path, *self.args]))
        self.out.flush()
        self.last_resume = "run"
        self._resume(lambda: self.session.run([self.path, *self.args]), "location")

    def do_start(self, rest: str) -> None:
        entry = self.program.entry
        if entry < 0:
            raise CommandError('No symbol table is loaded.  Use the "file" command.')
        if self.session.running and self.from_tty and not self.ask(
                "The program being debugged has been started already.\n"
                "Start it from the beginning? "):
            raise CommandError("Program not restarted.")
        bp = self.session.break_at(self.program.functions[entry].name, temporary=True)
        self.write(self.render.breakpoint_set(bp))
        self._start_program(rest)

    def do_continue(self, rest: str) -> None:
        count = parse_count(rest)
        if not self.stopped:
            raise CommandError("The program is not being run.")
        last = self.session.state.last_stop
        if not self.from_tty:
            pass                  # gdb -batch: neither the ignore count nor "Continuing."
        elif count > 1 and last is not None and last.breakpoint is not None and \
                last.reason is StopReason.BREAKPOINT:
            self.write(ignore_message(last.breakpoint.number, count - 1) + "  Continuing.")
        else:
            self.write("Continuing.")
        self.last_resume = "continue"
        self._resume(lambda: self.session.cont(count), "location")

    def do_next(self, rest: str) -> None:
        count = parse_count(rest)
        self.last_resume = "next"
        self._resume(lambda: self.session.next(count))

    def do_step(self, rest: str) -> None:
        count = parse_count(rest)
        self._resume(lambda: self.session.step(count))

    def do_stepi(self, rest: str) -> None:
        count = parse_count(rest)
        self._resume(lambda: self.session.stepi(count), "insn")

    def do_nexti(self, rest: str) -> None:
        count = parse_count(rest)
        self._resume(lambda: self.session.nexti(count), "insn")

    def do_until(self, rest: str) -> None:
        self.last_resume = "until_loc" if rest else "until"
        if rest:
            self._resume(lambda: self.session.until(rest), "location")
        else:
            self._resume(lambda: self.session.until())

    def do_advance(self, rest: str) -> None:
        if not rest:
            raise CommandError("Argument required (a location).")
        self.last_resume = "advance"
        self._resume(lambda: self.session.advance(rest), "location")

    def do_finish(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("The program is not being run.")
        frames = self.session.frames()
        frame = self.session.selected_frame()
        if frames and frame.level >= frames[-1].level:
            raise CommandError('"finish" not meaningful in the outermost frame.')
        if self.from_tty:
            self.write(self.render.run_till_exit(frame, self.session.mid_line_pc(frame)))
        self.last_resume = "finish"
        self._resume(self.session.finish, "location")

    def do_kill(self, rest: str) -> None:
        if not self.session.running:
            raise CommandError("The program is not being run.")
        if not self.ask("Kill the program being debugged? "):
            raise CommandError("Not confirmed.")
        self.session.kill()
        self._last_where = None
        self.write(self.render.killed(self.session.pid))

    def do_quit(self, rest: str) -> None:
        code = parse_count(rest, 0)
        if self.session.running and not self.ask(
                f"A debugging session is active.\n\n\tInferior 1 [process "
                f"{self.session.pid}] will be killed.\n\nQuit anyway? "):
            raise CommandError("Not confirmed.")
        self.close()
        self.quit_code = code

    def close(self) -> None:
        """Kill the program if it is running (the end of a session)."""
        if self.session.running:
            self.session.kill()

    # ------------------------------------------------------------------ help

    def do_help(self, rest: str) -> None:
        if not rest:
            width = max(len(c.name) for c in cmds.COMMANDS)
            self.write("List of commands:", "")
            for c in sorted(cmds.COMMANDS, key=lambda c: c.name):
                alias = f" ({', '.join(c.aliases)})" if c.aliases else ""
                self.write(f"{c.name:<{width}} -- {c.summary}{alias}")
            self.write("", 'Type "help" followed by command name for full documentation.',
                       "Command name abbreviations are allowed if unambiguous.")
            return
        words = rest.split()
        cmd = cmds.lookup(cmds.COMMANDS, words[0])
        if cmd.name == "info" and len(words) > 1:
            sub = cmds.lookup(cmds.INFO_COMMANDS, words[1], "info ")
            self.write(sub.help_text)
            return
        self.write(cmd.help_text)
        if cmd.name == "info":
            self.write("", "List of info subcommands:", "")
            for c in cmds.INFO_COMMANDS:
                self.write(f"info {c.name} -- {c.summary}")
        if cmd.aliases:
            self.write("", f"Aliases: {', '.join(cmd.aliases)}")

    # ------------------------------------------------------------------ completion

    def complete(self, line: str, text: str) -> list[str]:
        """Tab completion: the words that can replace `text`, the word being typed at the
        end of `line` (command names, `info` subcommands, function names, variables)."""
        words = line.split()
        if not words or (len(words) == 1 and not line.endswith(" ")):
            return sorted(c.name for c in cmds.COMMANDS if c.name.startswith(text))
        try:
            cmd = cmds.lookup(cmds.COMMANDS, words[0])
        except CommandError:
            return []
        kind = cmd.completes
        if kind == "info":
            if len(words) == 1 or (len(words) == 2 and not line.endswith(" ")):
                return [c.name for c in cmds.INFO_COMMANDS if c.name.startswith(text)]
            try:
                kind = cmds.lookup(cmds.INFO_COMMANDS, words[1], "info ").completes
            except CommandError:
                return []
        if kind == "command":
            return sorted(c.name for c in cmds.COMMANDS if c.name.startswith(text))
        found: set[str] = set()
        if kind in ("location", "expression"):
            found.update(f.name for f in self.session.functions())
        if kind == "location":
            found.update(self.program.sources)
        if kind == "expression" and self.stopped:
            try:
                found.update(v.name for v in self.session.locals())
                found.update(v.name for v in self.session.args())
            except DebugError:
                pass
        return sorted(w for w in found if w.startswith(text))
