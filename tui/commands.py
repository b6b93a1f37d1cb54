"""Console commands: the gdb line mode when it is there, a small stand-in when it is not.

The console accepts every line-mode command by handing the line to
`vyndbg.linemode.LineMode(session, out).execute(line)`. `BasicCommands` keeps the console
useful without it (run, continue, next, step, finish, break, delete, print, backtrace, ...),
printing what gdb prints for them.
"""

from __future__ import annotations

import shlex
from typing import Protocol, TextIO

from tui.model import BreakpointRow, frame_text, location_text
from vyndbg.model import DebugError, StopEvent, StopReason

# gdb's command words, for completion when the line mode does not list its own.
COMMAND_WORDS = (
    "advance", "backtrace", "break", "condition", "continue", "delete", "detach", "disable",
    "disassemble", "display", "down", "dprintf", "echo", "enable", "file", "finish", "frame",
    "help", "ignore", "info", "kill", "list", "next", "nexti", "print", "ptype", "quit",
    "run", "set", "show", "start", "step", "stepi", "tbreak", "undisplay", "until", "up",
    "watch", "whatis", "where", "x",
)
INFO_WORDS = ("args", "breakpoints", "display", "frame", "functions", "line", "locals",
              "program", "source", "watchpoints")
LOCATION_COMMANDS = frozenset({"break", "b", "tbreak", "until", "u", "advance", "list", "l",
                               "dprintf", "disassemble", "info line"})
EXPRESSION_COMMANDS = frozenset({"print", "p", "display", "watch", "whatis", "ptype",
                                 "set var", "call", "output"})


class CommandRunner(Protocol):
    def execute(self, line: str) -> object: ...


def make_runner(session, out: TextIO) -> CommandRunner:
    """The line mode over `session` writing to `out`, or BasicCommands without it."""
    try:
        from vyndbg.linemode import LineMode
    except ImportError:
        return BasicCommands(session, out)
    return LineMode(session, out)


def command_words(runner: CommandRunner) -> tuple[str, ...]:
    """The command names `runner` knows (for tab completion)."""
    for attr in ("command_names", "COMMANDS", "commands"):
        names = getattr(runner, attr, None)
        if callable(names):
            try:
                names = names()
            except TypeError:
                continue
        if isinstance(names, dict):
            names = list(names)
        if names and all(isinstance(n, str) for n in names):
            return tuple(sorted(set(names) | set(COMMAND_WORDS)))
    return COMMAND_WORDS


def describe_stop(ev: StopEvent, session) -> str:
    """What gdb prints when the program stops or ends."""
    if ev.reason is StopReason.EXITED:
        code = ev.exit_code or 0
        return "[Inferior 1 (process 1) exited normally]\n" if code == 0 else \
            f"[Inferior 1 (process 1) exited with code {code:02o}]\n"
    if ev.reason is StopReason.KILLED:
        return "[Inferior 1 (process 1) killed]\n"
    head = ""
    if ev.reason is StopReason.BREAKPOINT and ev.breakpoint is not None:
        head = f"\nBreakpoint {ev.breakpoint.number}, "
    elif ev.reason is StopReason.INTERRUPT:
        head = "\nProgram received signal SIGINT, Interrupt.\n"
    elif ev.reason is StopReason.PANIC:
        head = f"\nProgram panicked: {ev.message}\n"
    elif ev.reason is StopReason.FINISH and ev.returned is not None:
        head = f"Value returned: {ev.returned.text}\n"
    frame = ev.frame
    if frame is None or frame.location is None:
        return head
    text = ""
    try:
        rows = session.source_lines(frame.location.file, frame.location.line,
                                    frame.location.line)
        text = rows[0].text if rows else ""
    except (DebugError, KeyError):
        pass
    where = frame_text(frame).split(None, 1)[1] + "\n" if head or ev.function_changed else ""
    return f"{head}{where}{frame.location.line}\t{text}\n"


class BasicCommands:
    """A stand-in for the line mode: the commands a TUI user types most."""

    def __init__(self, session, out: TextIO):
        self.session = session
        self.out = out

    def command_names(self) -> tuple[str, ...]:
        return COMMAND_WORDS

    def execute(self, line: str) -> None:
        words = line.strip().split(None, 1)
        if not words:
            return
        cmd, rest = words[0], words[1] if len(words) > 1 else ""
        handler = getattr(self, f"do_{_ALIASES.get(cmd, cmd)}", None)
        if handler is None:
            raise DebugError(f'Undefined command: "{cmd}".  Try "help".')
        handler(rest.strip())

    def _write(self, text: str) -> None:
        self.out.write(text)

    def _stop(self, ev: StopEvent) -> None:
        self._write(describe_stop(ev, self.session))

    def do_run(self, rest: str) -> None:
        self._stop(self.session.run(shlex.split(rest) if rest else None))

    def do_start(self, rest: str) -> None:
        self._stop(self.session.start(shlex.split(rest) if rest else None))

    def do_continue(self, rest: str) -> None:
        self._stop(self.session.cont(int(rest) if rest else 1))

    def do_next(self, rest: str) -> None:
        self._stop(self.session.next(int(rest) if rest else 1))

    def do_step(self, rest: str) -> None:
        self._stop(self.session.step(int(rest) if rest else 1))

    def do_finish(self, rest: str) -> None:
        self._stop(self.session.finish())

    def do_until(self, rest: str) -> None:
        self._stop(self.session.until(rest or None))

    def do_advance(self, rest: str) -> None:
        self._stop(self.session.advance(rest))

    def do_kill(self, rest: str) -> None:
        self.session.kill()
        self._write("[Inferior 1 (process 1) killed]\n")

    def do_break(self, rest: str, temporary: bool = False) -> None:
        spec, _, cond = rest.partition(" if ")
        bp = self.session.break_at(spec.strip() or location_text(
            self.session.current_location()), cond.strip() or None, temporary)
        kind = "Temporary breakpoint" if temporary else "Breakpoint"
        self._write(f"{kind} {bp.number} at {location_text(bp.location)}.\n")

    def do_tbreak(self, rest: str) -> None:
        self.do_break(rest, temporary=True)

    def do_delete(self, rest: str) -> None:
        self.session.delete(_numbers(rest))

    def do_enable(self, rest: str) -> None:
        self.session.enable(_numbers(rest))

    def do_disable(self, rest: str) -> None:
        self.session.disable(_numbers(rest))

    def do_condition(self, rest: str) -> None:
        number, _, expr = rest.partition(" ")
        self.session.condition(int(number), expr.strip() or None)

    def do_watch(self, rest: str) -> None:
        bp = self.session.watch(rest)
        self._write(f"Watchpoint {bp.number}: {rest}\n")

    def do_print(self, rest: str) -> None:
        value = self.session.evaluate(rest)
        self._write(f"$1 = {value.text}\n")

    def do_backtrace(self, rest: str) -> None:
        for frame in self.session.frames():
            self._write(frame_text(frame) + "\n")

    def do_frame(self, rest: str) -> None:
        level = int(rest) if rest else self.session.selected
        self._write(frame_text(self.session.select_frame(level)) + "\n")

    def do_up(self, rest: str) -> None:
        self.do_frame(str(self.session.selected + (int(rest) if rest else 1)))

    def do_down(self, rest: str) -> None:
        self.do_frame(str(max(0, self.session.selected - (int(rest) if rest else 1))))

    def do_info(self, rest: str) -> None:
        what = rest.split(None, 1)[0] if rest else ""
        if "breakpoints".startswith(what) and what:
            for bp in self.session.breakpoints():
                row = BreakpointRow.of(bp)
                cond = f" if {row.condition}" if row.condition else ""
                self._write(f"{row.number:<4}{'y' if row.enabled else 'n'}  {row.what}"
                            f"{cond}  (hit {row.hits} times)\n")
        elif what in ("locals", "args"):
            variables = self.session.locals() if what == "locals" else self.session.args()
            if not variables:
                self._write(f"No {what}.\n" if what == "locals" else "No arguments.\n")
            for v in variables:
                self._write(f"{v.name} = {v.value.text}\n")
        else:
            raise DebugError(f'Undefined info command: "{rest}".  Try "help info".')

    def do_help(self, rest: str) -> None:
        self._write("Commands: " + ", ".join(sorted(
            n[3:] for n in dir(self) if n.startswith("do_"))) + "\n")


_ALIASES = {
    "r": "run", "c": "continue", "cont": "continue", "n": "next", "s": "step",
    "fin": "finish", "u": "until", "b": "break", "br": "break", "d": "delete", "p": "print",
    "bt": "backtrace", "where": "backtrace", "f": "frame", "i": "info", "k": "kill",
    "h": "help",
}


def _numbers(text: str) -> list[int] | None:
    if not text.strip():
        return None
    try:
        return [int(w) for w in text.split()]
    except ValueError:
        raise DebugError(f"Convenience variable must have integer value.\n"
                         f"Bad breakpoint argument: '{text}'") from None
