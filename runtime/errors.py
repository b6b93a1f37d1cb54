"""The runtime's errors: panics of the Vyn program and the runtime's own limits."""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Base of the runtime's errors."""


class VynPanic(RuntimeFailure):
    """The program panicked (exit code 101). `frames` is filled when it unwinds."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.frames: list = []


class Unsupported(RuntimeFailure):
    """The program reached a feature this runtime does not run yet."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class Interrupted(RuntimeFailure):
    """The run was interrupted (Ctrl-C, or the debugger asked it to stop)."""


class Killed(RuntimeFailure):
    """The debugger killed the program."""
