"""What the console's command line does besides typing: history (up/down) and tab completion.

Plain classes and functions, tested without Textual. Which words fit where is the line
mode's business (`LineMode.complete`); this module only edits the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass


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


_TRAILING_WORD = re.compile(r"[\w.:/$-]*$")


def trailing_word(line: str) -> str:
    """The word being typed at the end of `line` (a command, location or name)."""
    return _TRAILING_WORD.search(line).group()


def complete(line: str, candidates: Callable[[str, str], Iterable[str]]) -> Completion:
    """Complete the word at the end of `line` from `candidates(line, word)`: a single
    match replaces it (followed by a space, as gdb does), several extend it to their
    longest common prefix and are listed."""
    word = trailing_word(line)
    matches = sorted({c for c in candidates(line, word) if c.startswith(word)})
    if not matches:
        return Completion(line)
    base = line[:len(line) - len(word)]
    if len(matches) == 1:
        return Completion(base + matches[0] + " ")
    return Completion(base + os.path.commonprefix(matches), tuple(matches))
