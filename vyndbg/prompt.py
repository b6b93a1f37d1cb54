"""Running the line mode: commands from `-ex`/`-x` (batch), then the `(vyn) ` prompt with
readline history and tab completion.

gdb's rules: an error in a command file (`-x FILE`) ends that file; `--batch` exits
after the commands, killing the program, with status 1 if a command file could not be
read or the last command failed; an empty line at the prompt repeats the last stepping
or listing command; Ctrl-C at the prompt prints `Quit`. Commands from a file, and `-ex`
commands with `--batch`, run as gdb runs a script's (from_tty false): without the
messages meant for a user at a terminal (`Starting program:`, `Continuing.`, ...).
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vyndbg.commands import CommandError
from vyndbg.linemode import LineMode

PROMPT = "(vyn) "
# Commands an empty line repeats (gdb repeats most; these are the ones people rely on).
_REPEATABLE = ("next", "step", "stepi", "nexti", "continue", "until", "finish", "up", "down",
               "list", "backtrace", "x")
TRACEBACK_ENV = "VYN_INTERNAL_TRACEBACK"


@dataclass(frozen=True)
class StartupCommand:
    """One `-ex CMD` (kind "ex") or `-x FILE` (kind "x"), in command-line order."""

    kind: str
    text: str


def run_one(lm: LineMode, line: str, from_tty: bool | None = None) -> None:
    """`lm.execute(line)`, with a bug in the debugger reported instead of raised."""
    try:
        lm.execute(line, from_tty)
    except BrokenPipeError:
        raise                 # standard output is gone: `vyn` exits 141 (cli.main)
    except Exception as e:  # the session goes on after a bug in one command
        lm.failed = True
        if os.environ.get(TRACEBACK_ENV) == "1":
            traceback.print_exception(e, file=lm.err)
        lm.error(f"vyn: internal error in the debugger: {type(e).__name__}: {e} "
                 f"(set {TRACEBACK_ENV}=1 for details)")


def run_startup(lm: LineMode, startup: Sequence[StartupCommand], batch: bool = False) -> bool:
    """Run the `-ex` and `-x` commands in order; False if a command file was unreadable.
    Stops early after `quit`."""
    ok = True
    for item in startup:
        if lm.quit_code is not None:
            break
        if item.kind == "ex":
            run_one(lm, item.text, not batch)
            continue
        try:
            with open(item.text, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            lm.error(f"{item.text}: {reason}.")
            ok = False
            lm.failed = True
            continue
        for line in lines:
            run_one(lm, line, False)
            if lm.failed or lm.quit_code is not None:
                break
    return ok


def _setup_readline(lm: LineMode) -> None:
    try:
        import readline
    except ImportError:  # no readline on this platform: a plain prompt
        return
    matches: list[str] = []

    def complete(text: str, state: int) -> str | None:
        nonlocal matches
        if state == 0:
            line = readline.get_line_buffer()[:readline.get_endidx()]
            matches = lm.complete(line, text)
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n,()[]{}+-*/%=<>!&|;\"'")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")


def interact(lm: LineMode, read: Callable[[str], str] = input) -> int:
    """The `(vyn) ` prompt until `quit` or end of input; returns the exit code."""
    if read is input and sys.stdin.isatty():
        _setup_readline(lm)
    last = ""
    while lm.quit_code is None:
        try:
            line = read(PROMPT)
        except EOFError:
            lm.write("quit")
            lm.close()
            return 0
        except KeyboardInterrupt:
            lm.write("Quit")
            continue
        if not line.strip():
            if not last:
                continue
            line = last
            if line.split()[0] in ("list", "l"):
                line = "list"
            elif re.match(r"x\b", line):
                # gdb: the same count and format, from after the last unit examined.
                line = re.match(r"x\s*(/\S*)?", line).group(0)
        else:
            last = ""
            try:
                cmd, _ = lm.lookup(line.strip())
                if cmd.name in _REPEATABLE:
                    last = line.strip()
            except CommandError:
                pass
        try:
            run_one(lm, line, True)
        except KeyboardInterrupt:
            lm.write("Quit")
    return lm.quit_code


def run_line_mode(lm: LineMode, startup: Sequence[StartupCommand], *, batch: bool) -> int:
    """Run the startup commands, then (unless `batch`) the prompt. Returns the exit code:
    `quit N`'s N; in batch, 1 if a command file was unreadable or the last command
    failed, else 0."""
    if batch:
        lm.batch = True           # questions are printed with their automatic answers
    ok = run_startup(lm, startup, batch)
    if lm.quit_code is not None:
        return lm.quit_code
    if batch:
        lm.close()
        return 0 if ok and not lm.failed else 1
    return interact(lm)


__all__ = ["PROMPT", "StartupCommand", "interact", "run_line_mode", "run_one", "run_startup"]
