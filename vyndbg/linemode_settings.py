"""The line mode's settings: every `set NAME VALUE` has its `show NAME`, worded as gdb's.

A `Setting` reads and writes its value through the `LineMode` (or its session) and
knows how gdb parses and shows it. Settings that change nothing here (pagination,
width, height: the line mode never pages or wraps) are kept and shown, so scripts
written for gdb run unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vyndbg.commands import CommandError

_TRUE = ("on", "1", "yes", "enable", "")
_FALSE = ("off", "0", "no", "disable")


@dataclass(frozen=True)
class Setting:
    """name: as typed after `set` (`print pretty`); kind: bool | uint (a number, 0 or
    `unlimited` for none: stored as None) | enum (one of `choices`); show: gdb's sentence
    with `{}` for the value; get and set take the LineMode."""

    name: str
    kind: str
    show: str
    get: Callable
    set: Callable
    choices: tuple[str, ...] = ()
    words: tuple[str, str] = ("on", "off")     # how a bool shows

    def parse(self, text: str):
        text = text.strip()
        if self.kind == "bool":
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise CommandError('"on" or "off" expected.')
        if self.kind == "uint":
            if text in ("unlimited", "0"):
                return None
            if not text:
                raise CommandError("Argument required (integer to set it to, or "
                                   "\"unlimited\").")
            try:
                n = int(text, 0)
            except ValueError:
                raise CommandError(f'Invalid number "{text}".') from None
            if n < 0:
                raise CommandError(f"integer {n} out of range")
            return n
        if self.kind == "enum":
            matches = [c for c in self.choices if c.startswith(text)] if text else []
            if text in self.choices:
                return text
            if len(matches) == 1:
                return matches[0]
            if not text:
                raise CommandError(f"Requires an argument. Valid arguments are "
                                   f"{', '.join(self.choices)}.")
            raise CommandError(f'Undefined item: "{text}".')
        return text

    def text(self, lm) -> str:
        value = self.get(lm)
        if self.kind == "bool":
            shown = self.words[0] if value else self.words[1]
        elif self.kind == "uint":
            shown = "unlimited" if value is None else str(value)
        else:
            shown = str(value)
        return self.show.format(shown)


def _attr(name: str) -> tuple[Callable, Callable]:
    return (lambda lm: getattr(lm, name), lambda lm, v: setattr(lm, name, v))


def _session_attr(name: str, default=None) -> tuple[Callable, Callable]:
    return (lambda lm: getattr(lm.session, name, default),
            lambda lm, v: setattr(lm.session, name, v))


def _stored(name: str, default) -> tuple[Callable, Callable]:
    return (lambda lm: lm.stored_settings.get(name, default),
            lambda lm, v: lm.stored_settings.__setitem__(name, v))


def _locking() -> tuple[Callable, Callable]:
    return (lambda lm: lm.session.scheduler_locking,
            lambda lm, v: lm.set_scheduler_locking(v))


def _args() -> tuple[Callable, Callable]:
    import shlex
    return (lambda lm: " ".join(shlex.quote(a) for a in lm.args),
            lambda lm, v: setattr(lm, "args", shlex.split(v)))


SETTINGS: tuple[Setting, ...] = (
    Setting("args", "text", "Argument list to give program being debugged when it is "
            'started is "{}".', *_args()),
    Setting("confirm", "bool", "Whether to confirm potentially dangerous operations is {}.",
            *_attr("confirm")),
    Setting("disassembly-flavor", "enum", 'The disassembly flavor is "{}".',
            *_session_attr("disassembly_flavor", "att"), ("att", "intel")),
    Setting("height", "uint", "Number of lines vyn thinks are in a page is {}.",
            *_stored("height", None)),
    Setting("listsize", "uint", "Number of source lines vyn will list by default is {}.",
            *_attr("listsize")),
    Setting("pagination", "bool", "State of pagination is {}.", *_stored("pagination", True)),
    Setting("print address", "bool", "Printing of addresses is {}.",
            *_stored("print address", True)),
    Setting("print elements", "uint", "Limit on string chars or array elements to print is {}.",
            *_session_attr("print_elements")),
    Setting("print pretty", "bool", "Pretty formatting of structures is {}.",
            *_attr("print_pretty")),
    Setting("scheduler-locking", "enum", 'Mode for locking scheduler during execution is "{}".',
            *_locking(), ("off", "on", "step", "replay")),
    Setting("startup-with-shell", "bool", "Use of shell to start subprocesses is {}.",
            *_stored("startup-with-shell", True)),
    Setting("style enabled", "bool", "CLI output styling is {}.",
            *_stored("style enabled", False), words=("enabled", "disabled")),
    Setting("verbose", "bool", "Verbosity is {}.", *_stored("verbose", False)),
    Setting("width", "uint", "Number of characters vyn thinks are in a line is {}.",
            *_stored("width", None)),
)
_BY_NAME = {s.name: s for s in SETTINGS}
_GROUPS = sorted({s.name.split(" ")[0] for s in SETTINGS if " " in s.name})


def find(words: list[str], verb: str) -> tuple[Setting | None, list[str]]:
    """The setting the first word(s) name (a unique prefix works; `p` is `print`) and the
    words after; (None, [group]) for a group given alone (`show print`)."""
    if not words:
        return None, words
    word = "print" if words[0] in ("p", "pr") else words[0]
    names = [s.name for s in SETTINGS if " " not in s.name] + _GROUPS
    name = word if word in names else _unique(names, word, f"{verb} ")
    if name in _GROUPS:
        if len(words) == 1:
            return None, [name]
        subs = [s.name.split(" ", 1)[1] for s in in_group(name)]
        sub = words[1] if words[1] in subs else _unique(subs, words[1], f"{verb} {name} ")
        return _BY_NAME[f"{name} {sub}"], words[2:]
    return _BY_NAME[name], words[1:]


def _unique(names: list[str], word: str, what: str) -> str:
    matches = sorted(n for n in names if n.startswith(word))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandError(f'Undefined {what}command: "{word}".  Try "help '
                           f'{what.strip()}".')
    raise CommandError(f'Ambiguous {what}command "{word}": {", ".join(matches)}.')


def in_group(group: str) -> list[Setting]:
    return [s for s in SETTINGS if s.name.startswith(group + " ")]


__all__ = ["SETTINGS", "Setting", "find", "in_group"]
