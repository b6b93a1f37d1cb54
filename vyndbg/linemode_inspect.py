"""The line mode's commands that look without resuming: frames, values, source listings,
`info ...`. A mixin of `LineMode` (vyndbg/linemode.py), which provides `session`,
`render`, `write` and the value history.
"""

from __future__ import annotations

import os
import re

from vyndbg import commands as cmds
from vyndbg import linemode_settings as settings
from vyndbg import locations
from vyndbg.commands import CommandError
from vyndbg.linemode_native import CODE_POINTER, DATA_POINTER
from vyndbg.model import DebugError, Location, SourceLine, ValueInfo

# `$`, `$$`, `$N`, `$$N`: value history references in an expression; `$pc`,
# `$_exitcode`: convenience variables.
_HISTORY = re.compile(r"\$(\$?)(\d*)(?![A-Za-z_])")
_CONVENIENCE = re.compile(r"\$([A-Za-z_]\w*)")
_LITERAL_TYPES = ("Int", "Float", "Bool", "String", "Char", "Rune", "Byte")
_FORMATS = "xdotcau"
# Settings gdb scripts set that have no meaning here and no `show` worth having.
_IGNORED_SETTINGS = ("logging",)


class InspectCommands:
    """Frames, values, listings and `info`: the commands that never resume the program."""

    # ------------------------------------------------------------------ value history

    def record(self, value: ValueInfo) -> int:
        """Add a value to the history; returns its number N (for `$N`)."""
        self.history.append(value)
        return len(self.history)

    def history_value(self, dollars: str, digits: str) -> tuple[int, ValueInfo]:
        """`$` (dollars "", digits ""), `$N`, `$$`, `$$N`, as gdb's access_value_history."""
        if dollars:
            num = -(int(digits) if digits else 1)
        else:
            num = int(digits) if digits else 0
        absnum = num if num > 0 else num + len(self.history)
        if absnum <= 0:
            if num == 0:
                raise CommandError("The history is empty.")
            raise CommandError(f"History does not go back to $${-num}.")
        if absnum > len(self.history):
            raise CommandError(f"History has not yet reached ${absnum}.")
        return absnum, self.history[absnum - 1]

    def _with_history(self, expr: str) -> str:
        """`expr` with history references replaced by the values' literal text."""
        out, i, quote = [], 0, ""
        while i < len(expr):
            c = expr[i]
            if quote:
                if c == "\\":
                    out.append(expr[i:i + 2])
                    i += 2
                    continue
                if c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == "$":
                m = _CONVENIENCE.match(expr, i)
                if m:
                    value = self.convenience(m.group(1))
                    if value.type_name in (CODE_POINTER, DATA_POINTER):
                        value = ValueInfo("Int", str(value.address))
                else:
                    m = _HISTORY.match(expr, i)
                    n, value = self.history_value(m.group(1), m.group(2))
                    if value.type_name not in _LITERAL_TYPES:
                        raise CommandError(f"History value ${n} of type {value.type_name} "
                                           "cannot be used in an expression.")
                out.append(f"({value.text})")
                i = m.end()
                continue
            out.append(c)
            i += 1
        return "".join(out)

    def convenience(self, name: str) -> ValueInfo:
        """`$pc` (the selected frame's pc: a bytecode pc, or in a native frame the machine
        address), the registers of a native frame, and `$_exitcode` (the last run's exit
        code)."""
        register = self.register_convenience(name)
        if register is not None:
            return register
        if name == "pc":
            if not self.stopped:
                raise CommandError("No registers.")
            return ValueInfo("Int", str(self.session.selected_frame().pc))
        if name == "_exitcode" and self.session.state.exit_code is not None:
            return ValueInfo("Int", str(self.session.state.exit_code))
        value = self.convenience_address(name)
        if value is not None:
            return value
        raise CommandError(f"Convenience variable ${name} is void.")

    def evaluate(self, expr: str) -> ValueInfo:
        """Evaluate in the selected frame; `$N` alone is the history value itself."""
        m = _HISTORY.fullmatch(expr.strip())
        if m:
            return self.history_value(m.group(1), m.group(2))[1]
        m = _CONVENIENCE.fullmatch(expr.strip())
        if m:
            return self.convenience(m.group(1))
        if "$" in expr:
            expr = self._with_history(expr)
        return self.session.evaluate(expr)

    # ------------------------------------------------------------------ print and friends

    def do_print(self, rest: str) -> None:
        fmt = ""
        if rest.startswith("/"):
            fmt, _, rest = rest[1:].partition(" ")
            rest = rest.strip()
            if len(fmt) != 1 or fmt not in _FORMATS:
                raise CommandError(f'Undefined output format "{fmt}".')
        if not rest:
            value = self.history_value("", "")[1]
        else:
            # `print *ADDR`, `print *(TYPE *) ADDR`: the object at an address.
            value = self.print_dereference(rest) if rest.startswith("*") else None
            if value is None:
                value = self.evaluate(rest)
        number = self.record(value)
        self.write(f"${number} = {self.value_text(value, fmt)}")

    def value_text(self, value: ValueInfo, fmt: str = "") -> str:
        """A value as `print` shows it: in format FMT, laid out on several lines with
        `set print pretty on`, else on one."""
        if fmt:
            return self.session.format_value(value, fmt)
        if self.print_pretty:
            return self.session.pretty_text(value)
        return value.text

    def do_ptype(self, rest: str) -> None:
        if not rest:
            raise CommandError("Argument required (expression to compute).")
        register = self._register_type(rest)
        self.write(self.render.type_text(
            register or self.session.ptype(self._with_history(rest))))

    def do_whatis(self, rest: str) -> None:
        if not rest:
            raise CommandError("Argument required (expression to compute).")
        register = self._register_type(rest)
        self.write(self.render.type_text(
            register or self.session.whatis(self._with_history(rest))))

    def _register_type(self, expr: str) -> str | None:
        """`ptype $pc` / `whatis $sp` in a native frame: gdb's types of those registers
        (in expressions they are numbers)."""
        m = _CONVENIENCE.fullmatch(expr.strip())
        if m is None:
            return None
        value = self.register_convenience(m.group(1))
        return value.type_name if value is not None and value.type_name in (
            CODE_POINTER, DATA_POINTER) else None

    def do_set(self, rest: str) -> None:
        word, _, tail = rest.partition(" ")
        if word in ("var", "variable"):
            self._assign(tail)
            return
        if word in _IGNORED_SETTINGS:
            return
        words = rest.split()
        if not words:
            raise CommandError("Argument required (expression to compute).")
        exact = {s.name.split(" ")[0] for s in settings.SETTINGS} | {"p", "pr"}
        if words[0] not in exact and _assignment(rest) is not None:
            self._assign(rest)
            return
        try:
            setting, after = settings.find(words, "set")
        except CommandError:
            if _assignment(rest) is not None:
                self._assign(rest)
                return
            raise
        if setting is None:
            raise CommandError(f'"set {after[0]}" must be followed by the name of a '
                               f'{after[0]} subcommand.')
        text = rest.split(None, len(words) - len(after))[-1] if after else ""
        setting.set(self, setting.parse(text))

    def do_show(self, rest: str) -> None:
        words = rest.split()
        if not words:
            for s in settings.SETTINGS:
                self.write(f"{s.name}:  {s.text(self)}")
            return
        setting, after = settings.find(words, "show")
        if setting is None:
            for s in settings.in_group(after[0]):
                self.write(f"{s.name.split(' ', 1)[1]}:  {s.text(self)}")
            return
        self.write(setting.text(self))

    def _assign(self, text: str) -> None:
        parts = _assignment(text)
        if parts is None:
            raise CommandError("A syntax error in expression, near `'.")
        target, expr = parts
        self.session.set_var(target, self._with_history(expr))

    # ------------------------------------------------------------------ displays

    def do_display(self, rest: str) -> None:
        if not rest:
            self.show_displays()
            return
        number = self._next_display
        if self.stopped:
            value = self.evaluate(rest)
            self.write(self.render.display(number, rest, value, self.value_text(value)))
        self._next_display += 1
        self.displays[number] = (rest, True)

    def do_undisplay(self, rest: str) -> None:
        if not rest:
            if not self.ask("Delete all auto-display expressions? "):
                return
            self.displays.clear()
            return
        for n in _numbers(rest):
            if n not in self.displays:
                raise CommandError(f"No display number {n}.")
            del self.displays[n]

    def show_displays(self) -> None:
        """Every enabled display, as at a stop: `1: x = 5`."""
        if not self.stopped:
            return
        for number, (expr, enabled) in self.displays.items():
            if not enabled:
                continue
            try:
                value = self.evaluate(expr)
            except DebugError as e:
                if str(e).startswith("No symbol"):
                    continue        # out of the display's scope, as gdb skips it
                self.write(f"{number}: {expr} = <error: {e}>")
                continue
            self.write(self.render.display(number, expr, value, self.value_text(value)))

    def info_display(self, rest: str) -> None:
        if not self.displays:
            self.write("There are no auto-display expressions now.")
            return
        self.write("Auto-display expressions now in effect:", "Num Enb Expression")
        for number, (expr, enabled) in self.displays.items():
            self.write(f"{number}:   {'y' if enabled else 'n'}  {expr}")

    # ------------------------------------------------------------------ frames

    def _need_stack(self) -> None:
        if not self.stopped:
            raise CommandError("No stack.")

    def do_backtrace(self, rest: str) -> None:
        self._need_stack()
        full = False
        limit = None
        for word in rest.split():
            if word in ("full", "-full"):
                full = True
            else:
                try:
                    limit = int(word)
                except ValueError:
                    raise CommandError(f'No symbol "{word}" in current context.') from None
        frames = self.session.frames()
        if not frames:
            raise CommandError("No stack.")
        shown = frames
        if limit is not None:
            shown = frames[:limit] if limit >= 0 else frames[limit:]
        selected = self.session.selected
        for frame in shown:
            self.write(self.render.backtrace_line(frame, self.session.mid_line_pc(frame)))
            if full:
                self.session.select_frame(frame.level)
                variables = self.session.locals(shadowed=True)
                for var in variables:
                    self.write(" " * 8 + self.render.variable(var))
                if not variables:
                    self.write(" " * 8 + "No locals.")
        if full:
            self.session.select_frame(selected)
        if limit is not None and limit >= 0 and len(frames) > limit:
            self.write("(More stack frames follow...)")

    def info_stack(self, rest: str) -> None:
        self.do_backtrace(rest)

    def _show_frame(self, level: int) -> None:
        frame = self.session.select_frame(level)
        self.write(self.render.backtrace_line(frame, self.session.mid_line_pc(frame)))
        self.show_source(frame.location)

    def _frame_spec(self, rest: str, default: int) -> int:
        """A frame as gdb 13 names one: `N`, `level N`, `function NAME`."""
        word, _, tail = rest.strip().partition(" ")
        if word == "level":
            if not tail.strip():
                raise CommandError("Missing level number.")
            return parse_level(tail, default)
        if word == "function":
            if not tail.strip():
                raise CommandError("Missing function name argument")
            return self.session.frame_of_function(tail.strip())
        return parse_level(rest, default)

    def do_frame(self, rest: str) -> None:
        if not self.stopped and rest.split()[:1] in (["level"], ["function"]):
            raise CommandError("No registers.")
        self._need_stack()
        level = self._frame_spec(rest, self.session.selected)
        self._show_frame(level)

    def do_up(self, rest: str) -> None:
        self._need_stack()
        count = parse_level(rest, 1)
        top = self.session.frames()[-1].level
        if self.session.selected >= top:
            raise CommandError("Initial frame selected; you cannot go up.")
        self._show_frame(min(self.session.selected + count, top))

    def do_down(self, rest: str) -> None:
        self._need_stack()
        count = parse_level(rest, 1)
        if self.session.selected <= 0:
            raise CommandError("Bottom (innermost) frame selected; you cannot go down.")
        self._show_frame(max(self.session.selected - count, 0))

    def info_frame(self, rest: str) -> None:
        self._need_stack()
        level = self._frame_spec(rest, self.session.selected) if rest.strip() else None
        self.write(*self.render.frame_detail(self.session.frame_detail(level)))

    def info_locals(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("No frame selected.")
        variables = self.session.locals(shadowed=True)
        self.write(*(f"{v.name} = {self.value_text(v.value)}" for v in variables)
                   if variables else ["No locals."])

    def info_args(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("No frame selected.")
        variables = self.session.args()
        self.write(*(f"{v.name} = {self.value_text(v.value)}" for v in variables)
                   if variables else ["No arguments."])

    # ------------------------------------------------------------------ source

    def _init_listing(self) -> None:
        self.listsize: int | None = 10      # None: unlimited
        self.print_pretty = False
        self.stored_settings: dict[str, object] = {}
        self.current_file: str | None = None
        self._center: int | None = None        # list around this line next (after a stop)
        self._listed: tuple[int, int] | None = None   # first and last line last listed

    def show_source(self, location: Location | None, pc: int | None = None) -> None:
        """The source line of a stop or frame (`2\\t  if n < 2 { return n }`); `list`
        then centres on it."""
        if location is None:
            return
        self.current_file = location.file
        self._center = location.line
        self._listed = None
        try:
            lines = self.session.source_lines(location.file, location.line, location.line)
        except DebugError:
            lines = []
        if lines:
            self.write(self.render.source_line(lines[0], pc))
        else:
            self.write(self.render.no_source_line(location))

    def do_list(self, rest: str) -> None:
        rest = rest.strip()
        size = self.listsize or 1 << 30
        if rest == "-":
            if self._listed is None and self._center is None:
                raise CommandError("No default source file.")
            first = self._listed[0] if self._listed else max(self._center - size // 2, 1)
            if first <= 1:
                raise CommandError(f"Already at the start of {self.current_file}.")
            self._list(self.current_file, max(first - size, 1), first - 1)
            return
        if not rest:
            if self._listed is not None:
                first = self._listed[1] + 1
            elif self._center is not None:
                first = max(self._center - size // 2, 1)
            else:
                self.current_file, line = self._main_line()
                first = max(max(line - (size - 1), 1) - size // 2, 1)
            self._list(self.current_file, first, first + size - 1)
            return
        if "," in rest:
            a, b = (part.strip() for part in rest.split(",", 1))
            file, first = self._list_location(a) if a else (None, None)
            if b:
                file_b, last = self._list_location(b)
                file = file or file_b
                first = first if first is not None else max(last - size + 1, 1)
            else:
                last = first + size - 1
            self._list(file, first, last)
            return
        file, line = self._list_location(rest)
        first = max(line - size // 2, 1)
        self._list(file, first, first + size - 1)

    def _main_line(self) -> tuple[str, int]:
        entry = self.program.entry
        if entry < 0:
            file = self.session.default_file()
            return file, 1
        return self._list_location(self.program.functions[entry].name)

    def _list_location(self, spec: str) -> tuple[str, int]:
        """A `list` argument: a line in the current file, FILE:LINE, or a function (whose
        first line, the declaration, is the centre)."""
        if re.fullmatch(r"\d+", spec):
            file = self.current_file or self.session.default_file()
            return file, int(spec)
        m = re.fullmatch(r"(.+):(\d+)", spec)
        if m:
            return locations.file_of(self.program, m.group(1)), int(m.group(2))
        name = spec.rsplit(":", 1)[-1] if ".vyn:" in spec else spec
        for f in self.session.functions(f"^{re.escape(name)}$"):
            return f.file, f.line
        resolved = self.session.resolve(spec)
        return resolved.location.file, resolved.location.line

    def _list(self, file: str | None, first: int, last: int) -> None:
        file = file or self.current_file or self.session.default_file()
        count = self.session.line_count(file)
        if first > count:
            raise CommandError(f'Line number {first} out of range; "{file}" has {count} '
                               'lines.')
        lines = self.session.source_lines(file, first, last)
        self.current_file = file
        self._listed = (first, min(last, count))
        self.write(*(self.render.source_line(line) for line in lines))

    def do_disassemble(self, rest: str) -> None:
        rest = rest.strip()
        modifiers = ""
        if rest.startswith("/"):
            modifiers, _, rest = rest[1:].partition(" ")
            rest = rest.strip()
            bad = set(modifiers) - set("rsmb")
            if bad:
                raise CommandError(f"Invalid disassembly modifier: {sorted(bad)[0]}.")
        if "b" not in modifiers and self.native_disassemble(modifiers, rest or None):
            return
        name, instructions = self.session.disassemble(rest or None)
        sources: dict[int, SourceLine] = {}
        located = [i.location for i in instructions if i.location is not None]
        if located:
            lo = min(loc.line for loc in located)
            hi = max(loc.line for loc in located)
            try:
                sources = {s.number: s for s in self.session.source_lines(
                    located[0].file, lo, hi)}
            except DebugError:
                sources = {}
        self.write(*self.render.disassembly(name, instructions, sources))

    # ------------------------------------------------------------------ info

    def do_info(self, rest: str) -> None:
        if not rest:
            self.write('List of info subcommands:', "")
            for c in cmds.INFO_COMMANDS:
                self.write(f"info {c.name} -- {c.summary}")
            return
        word, _, tail = rest.partition(" ")
        sub = cmds.lookup(cmds.INFO_COMMANDS, word, "info ")
        getattr(self, sub.method)(tail.strip())

    def info_source(self, rest: str) -> None:
        if self.current_file is None:
            self.write("No current source file.")
            return
        file = self.current_file
        self.write(f"Current source file is {file}")
        if os.path.exists(file):
            self.write(f"Located in {os.path.abspath(file)}")
        self.write(f"Contains {self.session.line_count(file)} lines.",
                   "Source language is vyn.")

    def info_functions(self, rest: str) -> None:
        try:
            infos = self.session.functions(rest or None)
        except re.error as e:
            raise CommandError(f"Invalid regexp: {e}.") from None
        self.write(*self.render.functions(infos, rest or None, {}))

    def info_line(self, rest: str) -> None:
        location, ranges = self.session.line_info(rest)
        self.write(*self.render.line_info(location, ranges))


def parse_level(text: str, default: int) -> int:
    text = text.strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise CommandError(f'No symbol "{text}" in current context.') from None


def _numbers(text: str) -> list[int]:
    out = []
    for word in text.split():
        if not word.isdigit():
            raise CommandError(f"Arguments must be display numbers: '{word}'.")
        out.append(int(word))
    return out


def _assignment(text: str) -> tuple[str, str] | None:
    """`x = 5` -> ("x", "5"): split at the first `=` that is not part of `==`, `!=`,
    `<=` or `>=`."""
    for m in re.finditer(r"=", text):
        i = m.start()
        before = text[i - 1] if i > 0 else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if before in "=!<>" or after == "=":
            continue
        target, expr = text[:i].strip(), text[i + 1:].strip()
        if target and expr:
            return target, expr
        return None
    return None
