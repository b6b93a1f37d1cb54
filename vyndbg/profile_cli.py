"""`vyn profile jitted [--hot] FILE`: what the JIT did in a recording (traces/jitted.py).

Imports nothing heavy at module level: `vyn --help` builds every parser.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import argparse


def configure_profile(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION",
                                    required=True)
    jitted = actions.add_parser(
        "jitted", help="the functions compiled to native code, with tiers and compile times",
        description="The functions the JIT compiled to native code during a recorded run "
                    "(`vyn run --profile FILE` or `--trace FILE`), with their tiers, compile "
                    "times and sizes, and how hot they were in native code: their calls "
                    "that ran natively and OSR entries (a trace), their samples taken in "
                    "native code (a profile). Compiled functions that never ran natively "
                    "are named at the end.")
    jitted.add_argument("file", metavar="FILE", help="a file written by --profile or --trace")
    jitted.add_argument("--hot", action="store_true",
                        help="hottest in native code first: by native samples in a profile, "
                             "by native calls in a trace (default: in the order compiled)")


def run_profile(args: argparse.Namespace) -> int:
    from traces.errors import TraceError
    from traces.jitted import jitted, render
    from vyndbg.trace_cli import _open

    reader = _open(args.file)
    try:
        rows, nsamples = jitted(reader, hot=args.hot)
        sys.stdout.write(render(reader, rows, nsamples))
        return 0
    except TraceError as e:
        from vyndbg.cli import CliError

        raise CliError(e.message) from None
    finally:
        reader.close()
