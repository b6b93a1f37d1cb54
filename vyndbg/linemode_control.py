"""The line mode's commands for scripts and flow control: `call`, `printf`, `echo`,
`output`, `return`, `jump`, `rwatch`, `awatch` and `info program`. A mixin of
`LineMode` (vyndbg/linemode.py), which provides `session`, `render`, `write`, `ask`,
`evaluate`, `record`, `from_tty` and the stop reports.
"""

from __future__ import annotations

from vyndbg.commands import CommandError
from vyndbg.linemode_breakpoints import split_top_level, unescape
from vyndbg.model import StopReason, ValueInfo

_UNIT_TYPES = ("()", "Unit", "Void")
_INT_CONVERSIONS = "diouxXc"
_FLOAT_CONVERSIONS = "fFeEgG"


def format_spec(fmt: str) -> list[tuple[str, str]]:
    """The conversions of a printf format, as (spec without length modifiers, conversion):
    `%-5ld` -> ("%-5d", "d"); `%%` is not one."""
    out = []
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            i += 1
            continue
        j = i + 1
        while j < len(fmt) and fmt[j] in "-+ #0123456789.*":
            j += 1
        while j < len(fmt) and fmt[j] in "hlLqjzt":
            j += 1
        if j >= len(fmt):
            raise CommandError("Bad format string")
        conv = fmt[j]
        if conv != "%":
            spec = fmt[i:j + 1].rstrip(conv).rstrip("hlLqjzt") + conv
            out.append((spec, conv))
        i = j + 1
    return out


class ControlCommands:
    """Commands that call, print as scripts want, or change where the program goes."""

    # ------------------------------------------------------------------ values

    def _typed_text(self, expr: str) -> tuple[str, object, str]:
        """(type kind, raw value, text as `println` prints it) of an expression, for
        printf: history values by their text."""
        expr = expr.strip()
        if expr.startswith("$"):
            value = self.evaluate(expr)
            return _kind_of_name(value.type_name), None, _unquote(value)
        tv = self.session.evaluate_typed(self._with_history(expr) if "$" in expr else expr)
        vm = self.session.vm
        kind = vm.types[tv.tid].kind
        return kind, tv.value, vm.reader.format(tv.value, tv.tid)

    def printf_text(self, rest: str) -> str:
        """gdb's `printf "FORMAT", ARGS...` as text: C conversions with their flags, width
        and precision (%d %i %u %x %o %c %f %e %g %s %p %%), C escapes."""
        if not rest.strip():
            raise CommandError("Argument required (format-control string and values to print).")
        parts = split_top_level(rest.strip())
        fmt = parts[0]
        if len(fmt) < 2 or not fmt.startswith('"') or not fmt.endswith('"'):
            if fmt.startswith('"'):
                raise CommandError("Bad format string, non-terminated '\"'.")
            raise CommandError("Bad format string, missing '\"'.")
        fmt = unescape(fmt[1:-1])
        args = [a for a in parts[1:]]
        if any(not a for a in args):
            raise CommandError("Bad format string")
        specs = format_spec(fmt)
        if len(specs) != len(args):
            raise CommandError("Wrong number of arguments for specified format-string")
        values = []
        for (_spec, conv), arg in zip(specs, args, strict=True):
            kind, raw, text = self._typed_text(arg)
            values.append(_converted(conv, kind, raw, text))
        out = []
        it = iter(values)
        i = 0
        while i < len(fmt):
            if fmt[i] != "%":
                out.append(fmt[i])
                i += 1
                continue
            j = i + 1
            while j < len(fmt) and fmt[j] in "-+ #0123456789.*hlLqjzt":
                j += 1
            conv = fmt[j]
            if conv == "%":
                out.append("%")
            else:
                spec = "".join(c for c in fmt[i:j] if c not in "hlLqjzt") + conv
                value = next(it)
                if conv in "pP":
                    spec = spec[:-1] + "s"
                    value = f"0x{value:x}" if isinstance(value, int) else str(value)
                elif conv == "u":
                    spec = spec[:-1] + "d"
                    value = value % (1 << 64) if value < 0 else value
                out.append(spec % value)
            i = j + 1
        return "".join(out)

    def do_printf(self, rest: str) -> None:
        self.out.write(self.printf_text(rest))

    def do_echo(self, rest: str) -> None:
        text = rest.lstrip()
        if text.endswith("\\") and not text.endswith("\\\\"):
            text = text[:-1]
        self.out.write(unescape(text))

    def do_output(self, rest: str) -> None:
        fmt, rest = self._format_and_rest(rest)
        if not rest:
            raise CommandError("Argument required (expression to compute).")
        value = self.evaluate(rest)
        self.out.write(self.value_text(value, fmt))

    def do_call(self, rest: str) -> None:
        fmt, expr = self._format_and_rest(rest)
        if not expr:
            self.do_print(rest)
            return
        value = self.print_dereference(expr) if expr.startswith("*") else None
        if value is None:
            value = self.evaluate(expr)
        if value.type_name in _UNIT_TYPES:
            return                 # gdb: a call of a void function prints nothing
        number = self.record(value)
        self.write(f"${number} = {self.value_text(value, fmt)}")

    # ------------------------------------------------------------------ return and jump

    def do_return(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("No selected frame.")
        if self.from_tty and not self.ask(self.session.return_query()):
            raise CommandError("Not confirmed")
        expr = rest.strip() or None
        if expr is not None and "$" in expr:
            expr = self._with_history(expr)
        ev = self._wait(lambda: self.session.return_from(expr))
        if ev.reason is not StopReason.STEP:
            self.report(ev)
            return
        self._last_where = self._where_now()
        frame = ev.frame
        self.current_file = frame.location.file if frame.location else self.current_file
        if self.from_tty:
            # gdb's `frame` after a return: #0, with its pc when it is mid-line.
            self.write(self.render.backtrace_line(frame, self.session.mid_line_pc(frame)))
            self.show_source(frame.location)
        elif frame.location is not None:
            self._center = frame.location.line
            self._listed = None

    def do_jump(self, rest: str) -> None:
        if not rest.strip():
            raise CommandError("Argument required (starting address).")
        if not self.stopped:
            raise CommandError("The program is not being run.")
        _line, pc, _fn = self.session.jump_target(rest)
        if self.from_tty:
            self.write(f"Continuing at pc {pc}.")
        self._resume(lambda: self.session.jump(rest), "location")

    # ------------------------------------------------------------------ watchpoints

    def do_rwatch(self, rest: str) -> None:
        if not rest:
            raise CommandError("Argument required (expression to compute).")
        self.write(self.render.breakpoint_set(self.session.watch_access(rest,
                                                                        "read watchpoint")))

    def do_awatch(self, rest: str) -> None:
        if not rest:
            raise CommandError("Argument required (expression to compute).")
        self.write(self.render.breakpoint_set(self.session.watch_access(rest,
                                                                        "acc watchpoint")))

    # ------------------------------------------------------------------ info program

    def info_program(self, rest: str) -> None:
        if not self.stopped:
            self.write("The program being debugged is not being run.")
            return
        ev = self.last_report or self.session.state.last_stop
        frame = self.session.frames(1)[0] if self.session.frames(1) else None
        where = f"pc {frame.pc} {self.render.symbol(frame.function, frame.pc)}" \
            if frame is not None else "an unknown place"
        lines = [f"\tUsing the running image of child process {self.session.pid}.",
                 f"Program stopped at {where}.", self._stop_reason_text(ev)]
        if self.from_tty:
            lines.append('Type "info stack" or "info frame" for more information.')
        self.write(*lines)

    def _stop_reason_text(self, ev) -> str:
        if ev is None:
            return "It stopped after being stepped."
        if ev.reason in (StopReason.BREAKPOINT, StopReason.WATCHPOINT) and \
                ev.breakpoint is not None:
            if any(b.number == ev.breakpoint.number for b in self.session.breakpoints()):
                return f"It stopped at breakpoint {ev.breakpoint.number}."
            return "It stopped at a breakpoint that has since been deleted."
        if ev.reason is StopReason.FINISH or (ev.reason is StopReason.STEP and
                                              self.last_resume in ("advance", "until_loc")):
            return "It stopped at a breakpoint that has since been deleted."
        if ev.reason is StopReason.PANIC:
            return f"It stopped with a panic: {ev.message}."
        if ev.reason is StopReason.DEADLOCK:
            return "It stopped with a deadlock: every thread is blocked."
        if ev.reason is StopReason.INTERRUPT:
            return "It stopped with signal SIGINT, Interrupt."
        return "It stopped after being stepped."

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _format_and_rest(rest: str) -> tuple[str, str]:
        fmt = ""
        if rest.startswith("/"):
            fmt, _, rest = rest[1:].partition(" ")
            if len(fmt) != 1 or fmt not in "xdotcauz":
                raise CommandError(f'Undefined output format "{fmt}".')
        return fmt, rest.strip()


def _kind_of_name(name: str) -> str:
    return {"Int": "int", "Float": "float", "Bool": "bool", "Char": "char", "Rune": "rune",
            "String": "string"}.get(name, "other")


def _unquote(value: ValueInfo) -> str:
    text = value.text
    if value.type_name == "String" and len(text) >= 2 and text[0] == '"' == text[-1]:
        return text[1:-1].encode().decode("unicode_escape")
    if value.type_name in ("Char", "Rune") and len(text) >= 3 and text[0] == "'" == text[-1]:
        return text[1:-1].encode().decode("unicode_escape")
    return text


def _converted(conv: str, kind: str, raw, text: str):
    """The Python value `%` formats for conversion `conv` of a Vyn value."""
    if conv in "sS":
        return text
    number = raw
    if raw is None:            # a history value: its text
        try:
            number = int(text, 0) if kind in ("int", "bool") else float(text) \
                if kind == "float" else ord(text) if kind in ("char", "rune") and text else None
        except ValueError:
            number = None
        if kind == "bool":
            number = text == "true"
    if isinstance(number, bool):
        number = int(number)
    if conv in _INT_CONVERSIONS or conv in "pP":
        if kind in ("char", "rune") and conv == "c":
            return text if raw is None else chr(number)
        if isinstance(number, float):
            number = int(number)
        if not isinstance(number, int) or kind in ("string", "other"):
            if conv in "pP" and isinstance(raw, int):
                return raw
            raise CommandError("Value can't be converted to integer.")
        if conv == "c":
            return chr(number % 0x110000)
        return number
    if conv in _FLOAT_CONVERSIONS:
        if not isinstance(number, (int, float)) or kind in ("string", "other"):
            raise CommandError("Value can't be converted to float.")
        return float(number)
    raise CommandError(f"Format specifier `{conv}' not supported in printf")
