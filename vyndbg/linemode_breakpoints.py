"""The line mode's breakpoint commands: break, tbreak, condition, ignore, enable,
disable, delete, dprintf, watch and `info breakpoints`. A mixin of `LineMode`
(vyndbg/linemode.py), which provides `session`, `render`, `write` and `ask`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vyndbg.commands import CommandError
from vyndbg.model import DebugError

# `break LOC if COND`: `if` as a word, after the location (or alone).
_IF = re.compile(r"(?:^|\s)if(?:\s+|(?=\())(.*)$", re.S)
# `break LOC thread N`: at the end of the location (before `if`).
_THREAD = re.compile(r"(?:^|\s)thread(?:\s+(\S+))?\s*$")


def parse_numbers(text: str) -> list[int]:
    """Breakpoint numbers for enable/disable/delete: `1 3 5-7`."""
    out: list[int] = []
    for word in text.split():
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", word)
        if not m:
            raise CommandError("Args must be numbers or '$' variables.")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            raise CommandError(f"inverted range {word}")
        out.extend(range(lo, hi + 1))
    return out


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside quotes and brackets (`dprintf LOC,"a, b",f(x, y)`)."""
    parts, depth, quote, cur = [], 0, "", []
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
            cur.append(c)
        elif c in "([{":
            depth += 1
            cur.append(c)
        elif c in ")]}":
            depth -= 1
            cur.append(c)
        elif c == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur).strip())
    return parts


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "a": "\a", "r": "\r",
            "0": "\0"}


def unescape(text: str) -> str:
    r"""A C string body with its escapes (`\n`, `\t`, `\"`, `\\`) decoded."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def ignore_message(number: int, count: int) -> str:
    if count <= 0:
        return f"Will stop next time breakpoint {number} is reached."
    if count == 1:
        return f"Will ignore next crossing of breakpoint {number}."
    return f"Will ignore next {count} crossings of breakpoint {number}."


def parse_count(text: str, default: int = 1) -> int:
    """The optional repeat count of `next N`, `continue N`, `ignore N COUNT`..."""
    text = text.strip()
    if not text:
        return default
    try:
        return int(text, 0)
    except ValueError:
        raise CommandError(f'No symbol "{text}" in current context.') from None


class BreakpointCommands:
    """Setting, changing and listing breakpoints, dprintfs and watchpoints."""

    def _break(self, rest: str, temporary: bool) -> None:
        m = _IF.search(rest)
        spec, cond = (rest[:m.start()], m.group(1).strip()) if m else (rest, None)
        if m and not cond:
            raise CommandError("Argument required (boolean expression).")
        thread = None
        t = _THREAD.search(spec)
        if t:
            if not t.group(1):
                raise CommandError("Missing thread number.")
            if not t.group(1).isdigit():
                raise CommandError(f"Invalid thread ID: {t.group(1)}")
            spec, thread = spec[:t.start()], int(t.group(1))
        bp = self.session.break_at(spec.strip(), condition=cond, temporary=temporary,
                                   thread=thread)
        self._moved_note(spec, bp)
        self.write(self.render.breakpoint_set(bp))

    def _moved_note(self, spec: str, bp) -> None:
        """A line that starts no statement: say where the breakpoint went instead, and why
        (gdb moves it silently)."""
        m = re.fullmatch(r"\s*(?:(.+):)?(\d+)\s*", spec)
        if m and bp.location is not None and int(m.group(2)) != bp.location.line:
            self.write(f"Line {m.group(2)} of {bp.location.file} starts no statement; the "
                       f"breakpoint is at line {bp.location.line}, the next line that does.")

    def do_break(self, rest: str) -> None:
        self._break(rest, False)

    def do_tbreak(self, rest: str) -> None:
        self._break(rest, True)

    def do_condition(self, rest: str) -> None:
        if not rest:
            raise CommandError("Argument required (breakpoint number).")
        word, _, expr = rest.partition(" ")
        if not word.isdigit():
            raise CommandError(f"Bad breakpoint argument: '{rest}'")
        self.session.condition(int(word), expr.strip() or None)
        if not expr.strip() and self.from_tty:
            self.write(f"Breakpoint {word} now unconditional.")

    def do_ignore(self, rest: str) -> None:
        words = rest.split()
        if not words:
            raise CommandError("Argument required (a breakpoint number).")
        if not words[0].isdigit():
            raise CommandError(f"Bad breakpoint argument: '{words[0]}'")
        if len(words) < 2:
            raise CommandError("Second argument (specified ignore-count) is missing.")
        number, count = int(words[0]), parse_count(words[1])
        self.session.ignore(number, count)
        if self.from_tty:
            self.write(ignore_message(number, count))

    def _each_breakpoint(self, rest: str, action: Callable[[list[int] | None], None]) -> None:
        if not rest:
            action(None)
            return
        errors = []
        for number in parse_numbers(rest):
            try:
                action([number])
            except DebugError as e:
                errors.append(str(e))
        if errors:
            raise CommandError("\n".join(errors))

    def do_enable(self, rest: str) -> None:
        self._each_breakpoint(rest, self.session.enable)

    def do_disable(self, rest: str) -> None:
        self._each_breakpoint(rest, self.session.disable)

    def do_delete(self, rest: str) -> None:
        words = rest.split(None, 1)
        if words and "display".startswith(words[0]) and len(words[0]) >= 2:
            self.do_undisplay(words[1] if len(words) > 1 else "")
            return
        if not rest and self.from_tty and self.session.breakpoints() and \
                not self.ask("Delete all breakpoints? "):
            return
        self._each_breakpoint(rest, self.session.delete)

    def do_dprintf(self, rest: str) -> None:
        parts = split_top_level(rest)
        if len(parts) < 2 or not parts[1]:
            raise CommandError("Format string required")
        fmt = parts[1]
        if len(fmt) < 2 or fmt[0] != '"' or fmt[-1] != '"':
            raise CommandError("Bad format string")
        if any(not a for a in parts[2:]):
            raise CommandError("Bad format string")
        bp = self.session.dprintf(parts[0], unescape(fmt[1:-1]), parts[2:])
        self.dprintf_text[bp.number] = rest.split(",", 1)[1].strip()
        self._moved_note(parts[0], bp)
        self.write(self.render.breakpoint_set(bp))

    def do_watch(self, rest: str) -> None:
        if not rest:
            raise CommandError("Argument required (expression to compute).")
        bp = self.session.watch(rest)
        self.write(self.render.breakpoint_set(bp))

    def info_breakpoints(self, rest: str, kinds: tuple[str, ...] = ()) -> None:
        bps = self.session.breakpoints()
        if kinds:
            bps = [b for b in bps if b.kind in kinds]
        if rest:
            wanted = set(parse_numbers(rest))
            bps = [b for b in bps if b.number in wanted]
        if not bps:
            if kinds:
                self.write("No watchpoints.")
            elif rest:
                self.write(f"No breakpoint or watchpoint matching '{rest}'.")
            else:
                self.write("No breakpoints or watchpoints.")
            return
        names = {f.index: f.name for f in self.program.functions}
        self.write(*self.render.breakpoint_table(bps, names, self.dprintf_text))

    def info_watchpoints(self, rest: str) -> None:
        self.info_breakpoints(rest, ("watchpoint", "read watchpoint", "acc watchpoint"))
