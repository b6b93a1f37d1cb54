"""The export formats of `vyn trace export`, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:     # every `vyn` command builds this table for its --help: stay light
    from traces.reader import TraceReader


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    Attributes:
        name: the `--format` word.
        help: one line for `--help`.
        binary: writes bytes (else text, UTF-8).
        write: (reader, output, value) -> events or samples read.
    """

    name: str
    help: str
    binary: bool
    write: Callable[[TraceReader, IO, str], int]


def _chrome(reader, out, value):
    from traces.export_chrome import export_chrome
    return export_chrome(reader, out)


def _pprof(reader, out, value):
    from traces.export_pprof import export_pprof
    return export_pprof(reader, out)


def _perf(reader, out, value):
    from traces.export_text import export_perf
    return export_perf(reader, out, value)


def _folded(reader, out, value):
    from traces.export_text import export_folded
    return export_folded(reader, out, value)


def _svg(reader, out, value):
    from traces.export_svg import export_svg
    return export_svg(reader, out, value)


def _speedscope(reader, out, value):
    from traces.export_speedscope import export_speedscope
    return export_speedscope(reader, out)


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("chrome", "Trace Event JSON for Perfetto and chrome://tracing", False,
                 _chrome),
    ExportFormat("pprof", "gzipped profile.proto for `go tool pprof`", True, _pprof),
    ExportFormat("perf", "`perf script` text for stackcollapse-perf.pl and speedscope",
                 False, _perf),
    ExportFormat("folded", "folded stacks (`fiber;outer;...;inner VALUE`) for flamegraph.pl",
                 False, _folded),
    ExportFormat("svg", "a self-contained interactive flame graph", False, _svg),
    ExportFormat("speedscope", "speedscope's JSON file format", False, _speedscope),
)}
