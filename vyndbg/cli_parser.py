"""argparse's side of the `vyn` command line: the parser classes `vyndbg/cli.py` builds its
parsers from.

Imported only when a command line needs parsing: `vyn run FILE`, with no options, is
read without argparse (`vyndbg.cli._plain_run`), so that running a program from the build
cache does not pay for importing and configuring argparse (about 5 ms of each start).
Importing this module makes argparse's messages English (`_english_argparse`).
"""

from __future__ import annotations

import argparse

from vyndbg.cli import CliError

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise CliError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


class IntermixedParser(Parser):
    """A parser whose options may come between PROG and `-- ARGS` (`vyn debug fib.vyn
    --batch -ex run -- a b`): argparse's intermixed parsing, which plain parse_args does
    not do for a `*` positional that reappears after options."""

    _inner = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inner:  # parse_known_intermixed_args calls back in here
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


class StartupAction(argparse.Action):
    """`-ex CMD` and `-x FILE` append to one list, keeping their command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        from vyndbg.prompt import StartupCommand

        items = list(getattr(namespace, self.dest, None) or [])
        items.append(StartupCommand(self.const, values))
        setattr(namespace, self.dest, items)


def _english_argparse() -> None:
    """argparse looks up a translation of each of its strings as it builds a parser
    (gettext searches the locale directories at every call: ~7 ms at each start); vyn's
    command line is in English, so its strings are used as they are."""
    argparse._ = str           # argparse.py: `from gettext import gettext as _`


_english_argparse()
