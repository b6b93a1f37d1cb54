"""The errors of the traces package: one base, each carrying a sentence for the user."""

from __future__ import annotations


class TraceError(Exception):
    """Base of the package's errors; `message` is one sentence naming the file."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TraceFormatError(TraceError):
    """The file is not a Vyn trace, or is damaged before anything could be read.

    Attributes:
        offset: the byte offset where reading failed (0 for a foreign file).
    """

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.offset = offset


class TraceWriteError(TraceError):
    """The trace file (or an export's output) cannot be written."""
