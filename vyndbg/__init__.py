"""vyndbg: the debugger engine and the `vyn` command line."""

__version__ = "0.1.0"
