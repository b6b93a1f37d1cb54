"""`vyn trace info|show|export` and the recording options of `vyn run` (`--trace`, `--profile`).

The traces package does the work (docs/tracing.md); this module turns arguments into its
calls and its errors into CliError sentences. It imports nothing heavy at module level:
`vyn --help` builds every parser.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import argparse


def _cli_error(message: str) -> Exception:
    from vyndbg.cli import CliError

    return CliError(message)


def _sample_every(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


# -- recording (vyn run) ---------------------------------------------------------------------

def add_recording_options(parser: argparse.ArgumentParser) -> None:
    """`--trace FILE`, `--profile FILE` and `--sample-every N`."""
    parser.add_argument("--trace", metavar="FILE",
                        help="record every call, fiber, message and collection to FILE "
                             "(see `vyn trace`)")
    parser.add_argument("--profile", metavar="FILE",
                        help="record stack samples (CPU time and allocated bytes) to FILE")
    parser.add_argument("--sample-every", type=_sample_every, metavar="N",
                        help="with --profile: reductions (calls and loop iterations) "
                             "between samples (default 2000)")


def recorders(args: argparse.Namespace) -> list:
    """The Recorders the options ask for (none: an empty list).

    Raises:
        CliError: a file cannot be created, or both options name the same file.
    """
    trace, profile = getattr(args, "trace", None), getattr(args, "profile", None)
    if not trace and not profile:
        if getattr(args, "sample_every", None):
            raise _cli_error("--sample-every needs --profile FILE")
        return []
    if trace and profile and os.path.abspath(trace) == os.path.abspath(profile):
        raise _cli_error("--trace and --profile need two different files")
    from traces.errors import TraceError
    from traces.recorder import DEFAULT_SAMPLE_EVERY, Recorder
    from vyndbg import __version__

    props = {"program": args.file, "argv": " ".join([args.file, *args.args]),
             "vyn": __version__}
    made: list = []
    try:
        if trace:
            made.append(Recorder(trace, calls=True, properties=props))
        if profile:
            made.append(Recorder(profile, sample_every=args.sample_every or
                                 DEFAULT_SAMPLE_EVERY, properties=props))
    except TraceError as e:
        for r in made:
            r.close()
        raise _cli_error(e.message) from None
    return made


def run_recorded(args: argparse.Namespace, run: Callable[[Callable | None], int]) -> int:
    """`run(events)` with the recorders of `--trace`/`--profile` attached through
    `events` (None without them); closes the files after, whatever happened.

    Raises:
        CliError: a trace file cannot be created or written.
    """
    made = recorders(args)
    if not made:
        return run(None)
    from traces.errors import TraceError
    from traces.recorder import Fanout

    def events(vm):
        sinks = [r.attach(vm) for r in made]
        return sinks[0] if len(sinks) == 1 else Fanout(sinks)

    code = None
    try:
        code = run(events)
        return code
    finally:
        problems = []
        now = time.perf_counter_ns()
        for r in made:
            try:
                r.close(code, now)
            except TraceError as e:
                problems.append(e.message)
        if problems and code is not None:
            raise _cli_error(problems[0])


# -- vyn trace -------------------------------------------------------------------------------

def configure_trace(parser: argparse.ArgumentParser) -> None:
    import argparse

    from traces.exporters import FORMATS

    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION",
                                    required=True)
    info = actions.add_parser("info", help="summarize a trace or profile file",
                              description="Summarize a trace or profile file.")
    info.add_argument("file", metavar="FILE", help="a file written by --trace or --profile")
    show = actions.add_parser("show", help="look at a trace or profile file in a terminal "
                              "app", description="Look at a trace or profile file: a "
                              "timeline, a flame graph, the top functions, collections and "
                              "messages (docs/tracing.md).")
    show.add_argument("file", metavar="FILE", help="a file written by --trace or --profile")
    export = actions.add_parser("export", help="convert a trace or profile file for another "
                                "tool", description="Convert a trace or profile file for "
                                "another tool.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="formats:\n" + "\n".join(
                                    f"  {f.name:11} {f.help}" for f in FORMATS.values()))
    export.add_argument("file", metavar="FILE", help="a file written by --trace or --profile")
    export.add_argument("--format", "-f", required=True, choices=list(FORMATS),
                        metavar="FORMAT", help="one of: " + ", ".join(FORMATS))
    export.add_argument("-o", "--output", metavar="OUT",
                        help="the file to write (default: standard output)")
    export.add_argument("--value", choices=("cpu", "alloc", "samples"), default="cpu",
                        help="folded, svg and perf: what a stack weighs: CPU time (default), "
                             "allocated bytes or samples")


def _open(path: str):
    from traces.errors import TraceError
    from traces.reader import TraceReader

    try:
        reader = TraceReader(path)
    except TraceError as e:
        raise _cli_error(e.message) from None
    d = reader.dropped
    if d is not None:
        print(f"vyn: warning: '{path}' was cut short ({d.reason}): read up to byte "
              f"{d.offset:,}, dropped the last {d.size:,} bytes", file=sys.stderr)
    return reader


def run_trace(args: argparse.Namespace) -> int:
    from traces.errors import TraceError

    reader = _open(args.file)
    try:
        if args.action == "info":
            from traces.summary import render, summarize

            sys.stdout.write(render(summarize(reader), reader))
            return 0
        if args.action == "show":
            return _show(reader)
        return _export(reader, args)
    except TraceError as e:
        raise _cli_error(e.message) from None
    finally:
        reader.close()


def _show(reader) -> int:
    """`vyn trace show`: the file is read (and any damage reported) before the app starts;
    Textual is imported only here."""
    from tui.trace_model import load

    model = load(reader)
    from tui.trace_app import run_show

    return run_show(model)


def _export(reader, args: argparse.Namespace) -> int:
    from traces.errors import TraceError
    from traces.exporters import FORMATS

    fmt = FORMATS[args.format]
    if args.output is None or args.output == "-":
        if fmt.binary:
            if sys.stdout.isatty():
                raise _cli_error(f"the {fmt.name} format is binary: give -o FILE, or "
                                 "redirect standard output")
            fmt.write(reader, sys.stdout.buffer, args.value)
            sys.stdout.buffer.flush()
        else:
            fmt.write(reader, sys.stdout, args.value)
        return 0
    try:
        out = (open(args.output, "wb") if fmt.binary else
               open(args.output, "w", encoding="utf-8", newline="\n"))
    except OSError as e:
        raise _cli_error(f"cannot write '{args.output}': {e.strerror or e}") from None
    try:
        with out:
            fmt.write(reader, out, args.value)
    except (TraceError, OSError) as e:
        try:
            os.unlink(args.output)
        except OSError:
            pass
        if isinstance(e, TraceError):
            raise
        raise _cli_error(f"cannot write '{args.output}': {e.strerror or e}") from None
    return 0
