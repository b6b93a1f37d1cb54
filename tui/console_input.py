"""What the console's command line does besides typing: history (up/down) and tab completion.

Plain classes and functions, tested without Textual.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tui.commands import EXPRESSION_COMMANDS, INFO_WORDS, LOCATION_COMMANDS


class History:
    """Submitted command lines, browsed with up (older) and down (newer) as a shell does.

    The line being typed when browsing starts comes back after the newest entry.
    """

    def __init__(self, limit: int = 1000):
        self.entries: list[str] = []
        self.limit = limit
        self._pos = 0
        self._draft = ""

    def add(self, line: str) -> None:
        """Remember a submitted line (not blank ones, nor a repeat of the last)."""
        if line.strip() and (not self.entries or self.entries[-1] != line):
            self.entries.append(line)
            del self.entries[:-self.limit]
        self._pos = len(self.entries)

    def older(self, current: str) -> str | None:
        """The entry before the one shown (None at the oldest)."""
        if self._pos == 0:
            return None
        if self._pos == len(self.entries):
            self._draft = current
        self._pos -= 1
        return self.entries[self._pos]

    def newer(self) -> str | None:
        """The entry after the one shown; the draft after the newest; None when not
        browsing."""
        if self._pos >= len(self.entries):
            return None
        self._pos += 1
        return self.entries[self._pos] if self._pos < len(self.entries) else self._draft


@dataclass(frozen=True)
class Completion:
    """The command line after a tab, and the choices when more than one fits."""

    line: str
    candidates: tuple[str, ...] = ()


_WORD = re.compile(r"[A-Za-z0-9_.:/$-]*$")
_NAME = re.compile(r"[A-Za-z0-9_]*$")


def complete(line: str, commands: Iterable[str], *, locations: Iterable[str] = (),
             names: Iterable[str] = ()) -> Completion:
    """Complete the last word of `line`: a command word first, then a location for `break`
    and its kin, an `info` subcommand, or a variable name in an expression."""
    words = line.split()
    if not words or (len(words) == 1 and not line.endswith(" ")):
        return _extend(line, words[0] if words else "", commands, suffix=" ")
    head = words[0]
    key = head if head != "set" or len(words) < 2 else f"set {words[1]}"
    if head in ("info", "i") and (len(words) == 1 or (len(words) == 2 and
                                                        not line.endswith(" "))):
        return _extend(line, "" if line.endswith(" ") else words[1], INFO_WORDS, suffix=" ")
    if head in ("info", "i") and len(words) >= 2 and words[1] == "line":
        key = "info line"
    if key in LOCATION_COMMANDS:
        word = _WORD.search(line).group()
        return _extend(line, word, locations)
    if key in EXPRESSION_COMMANDS or head in ("p", "print"):
        word = _NAME.search(line).group()
        return _extend(line, word, names)
    return Completion(line)


def _extend(line: str, word: str, choices: Iterable[str], suffix: str = "") -> Completion:
    """Replace the trailing `word` of `line` by the longest prefix all matches share."""
    matches = sorted({c for c in choices if c.startswith(word)})
    if not matches:
        return Completion(line)
    base = line[:len(line) - len(word)]
    if len(matches) == 1:
        return Completion(base + matches[0] + suffix)
    prefix = os.path.commonprefix(matches)
    return Completion(base + prefix, tuple(matches))
