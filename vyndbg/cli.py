"""The `vyn` command line: parse arguments, run one subcommand, turn every failure into an
exit code and at most a few lines on standard error; a user never sees a traceback.

Exit codes (SEMANTICS.md, "Failure and exit codes"):
    0    success (warnings allowed)
    1    compile errors
    2    bad usage, an unreadable or invalid input file, or an internal error
    130  interrupted (Ctrl-C)
    141  standard output closed early (broken pipe), as for a process killed by SIGPIPE

A subcommand is a `Subcommand` row in `SUBCOMMANDS`: a function that declares its arguments
and a function that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TextIO

from compiler.span import SourceFile
from vyndbg import __version__

PROG = "vyn"

EXIT_OK = 0
EXIT_COMPILE_ERRORS = 1
EXIT_USAGE = 2
# SEMANTICS.md allows only 0, 1, 2 and 101, and 101 means "the program panicked":
# an internal error of the toolchain shares 2 with the other "vyn could not do its job" cases.
EXIT_INTERNAL_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

ISSUES_URL = "https://github.com/vyn-lang/vyn/issues"
TRACEBACK_ENV = "VYN_INTERNAL_TRACEBACK"


class CliError(Exception):
    """A bad command line or input file; the message is one sentence for the user (exit 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise CliError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


@dataclass(frozen=True)
class Subcommand:
    """One `vyn` subcommand.

    Attributes:
        name: the word after `vyn`.
        help: one line for `vyn --help`.
        configure: adds the subcommand's arguments to its parser.
        run: runs it with the parsed arguments; returns the exit code. Raises CliError
            for bad input; anything else it raises is reported as an internal error.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# -- shared by subcommands -------------------------------------------------------------------

def read_source(path: str) -> SourceFile:
    """The file at `path` as a SourceFile named `path` (a leading UTF-8 BOM dropped).

    Raises:
        CliError: the file cannot be read, or is not valid UTF-8.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read '{path}': {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CliError(f"cannot read '{path}': it is not valid UTF-8 "
                       f"(byte 0x{data[exc.start]:02x} on line {line})") from None
    return SourceFile(path, text.removeprefix("\ufeff"))


def use_color(choice: str, stream: TextIO) -> bool:
    """Whether to colour output to `stream`: `--color=always|never` decide; `auto` means a
    terminal, unless the NO_COLOR environment variable is set and not empty."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _add_color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour diagnostics: auto (default; a terminal and NO_COLOR "
                             "unset), always or never")


# -- vyn check -------------------------------------------------------------------------------

def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="Vyn source files (.vyn)")
    parser.add_argument("--error-format", choices=("human", "json"), default="human",
                        help="human (default): annotated source on standard error; "
                             "json: one JSON object per diagnostic per line on standard output")
    _add_color_option(parser)


def _run_check(args: argparse.Namespace) -> int:
    """Type-check the files as one program; print its diagnostics.

    Returns 1 if there is an error, else 0 (warnings alone do not fail a check).
    """
    sources = [read_source(path) for path in args.files]
    # Imported here, not at the top: `vyn --version` and `vyn --help` need no front end.
    from compiler.driver import check_sources
    from compiler.render import render_human, render_json

    diagnostics = check_sources(sources).diagnostics
    if args.error_format == "json":
        sys.stdout.write(render_json(diagnostics))
    else:
        by_name = {source.name: source for source in sources}
        color = use_color(args.color, sys.stderr)
        sys.stderr.write(render_human(diagnostics, by_name, color=color))
    return EXIT_COMPILE_ERRORS if any(d.is_error for d in diagnostics) else EXIT_OK


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("check", "type-check Vyn source files and report diagnostics",
               _configure_check, _run_check),
)


# -- entry point ------------------------------------------------------------------------------

_EPILOG = f"""\
exit status:
  0    success (warnings allowed)
  1    the program has compile errors
  2    bad usage, an unreadable or invalid input file, or an internal error
  130  interrupted

Run '{PROG} COMMAND --help' for a command's options."""


def build_parser() -> argparse.ArgumentParser:
    """The `vyn` argument parser, with one sub-parser per row of SUBCOMMANDS."""
    parser = _Parser(prog=PROG, description="Vyn toolchain: compiler, runtime and debugger.",
                     epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                     allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                     required=True)
    for sub in SUBCOMMANDS:
        sub_parser = commands.add_parser(sub.name, help=sub.help, description=sub.help,
                                         allow_abbrev=False)
        sub.configure(sub_parser)
        sub_parser.set_defaults(run=sub.run)
    return parser


def _complain(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _report_internal_error(exc: Exception) -> None:
    if os.environ.get(TRACEBACK_ENV) == "1":
        traceback.print_exception(exc, file=sys.stderr)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    _complain(f"internal error: {detail}")
    print(f"please report this at {ISSUES_URL} (set {TRACEBACK_ENV}=1 for details)",
          file=sys.stderr)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's last flush of it
    cannot fail again with "Exception ignored ... BrokenPipeError"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor behind stdout: nothing to do
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run `vyn` with `argv` (default: `sys.argv[1:]`) and return its exit code.

    Never raises: usage and input errors print one line, internal errors two (see the
    module docstring for the codes).
    """
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help and --version print, then stop argparse here
            return stop.code if isinstance(stop.code, int) else EXIT_OK
        return args.run(args)
    except CliError as exc:
        _complain(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # the last line of defence: no traceback reaches the user
        _report_internal_error(exc)
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
