"""`python -m tui FILE [-- ARGS...]`: the debugger TUI without the `vyn` entry point.

The same as `vyn debug --tui FILE -- ARGS...` (compiles a source file first, or loads an
image, and reports errors the way `vyn` does).
"""

from __future__ import annotations

import sys

from vyndbg.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m tui FILE [-- ARGS...]")
        sys.exit(0 if argv else 2)
    sys.exit(main(["debug", "--tui", *argv]))
