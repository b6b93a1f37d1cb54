"""`vyn trace show`: the model computed from a trace (tui/trace_model.py) and the app over
it (tui/trace_app.py), tab by tab through Textual's pilot, and a snapshot at 80x24.

The snapshot's trace is written here event by event (times are fixed, unlike a
recording's); the other tests also open real recordings.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from compiler.lower import compile_file
from runtime.run import run_program
from tests.test_trace_export import PROGRAM
from tests.test_tui_app import screen_text, until
from tests.test_tui_snapshots import check
from traces import format as fmt
from traces import model as m
from traces.reader import TraceReader
from traces.recorder import Recorder
from tui import trace_model
from tui.trace_app import FlameGraph, Timeline, TraceShowApp
from tui.trace_model import load
from vyndbg.cli import main

ROOT = Path(__file__).resolve().parent.parent
START = 1000
# function id -> (name, line) in "pipe.vyn"
FUNCTIONS = {0: ("main", 10), 1: ("fib", 2), 2: ("main::worker", 14), 3: ("Logger::handle", 5)}


def write_trace(path: Path, events: list, mode: str = "trace") -> Path:
    """A trace file holding `events` (traces/model.py tuples, times from the start), with
    the functions of FUNCTIONS, encoded as docs/trace-format.md says."""
    strings: dict[str, int] = {"": 0}

    def sid(s: str) -> int:
        return strings.setdefault(s, len(strings))

    funcs = b"".join(fmt.uvarint(fid) + fmt.uvarint(sid(name)) + fmt.uvarint(sid("pipe.vyn"))
                     + fmt.uvarint(line) for fid, (name, line) in FUNCTIONS.items())
    words: list[int] = []
    records: list[bytes] = []
    for ev in events:
        t = type(ev)
        if t is m.Call:
            words += [~ev.function, ev.ts + START]
            continue
        if t is m.Return:
            words.append(ev.ts + START)
            continue
        kind, fields = {
            m.FiberSpawn: lambda e: (fmt.FIBER_SPAWN, [e.fiber, e.parent, sid(e.kind),
                                                       sid(e.name)]),
            m.FiberRun: lambda e: (fmt.FIBER_RUN, [e.fiber, e.step]),
            m.FiberBlock: lambda e: (fmt.FIBER_BLOCK, [e.fiber, sid(e.what)]),
            m.FiberDone: lambda e: (fmt.FIBER_DONE, [e.fiber, sid(e.state)]),
            m.Send: lambda e: (fmt.SEND, [e.flow, e.fiber, sid(e.target), e.receiver]),
            m.Receive: lambda e: (fmt.RECEIVE, [e.flow, e.fiber]),
            m.Collection: lambda e: (fmt.GC, [sid(e.kind), sid(e.why), e.before, e.after,
                                              e.freed, e.duration]),
            m.RegionEnter: lambda e: (fmt.REGION_ENTER, [e.region]),
            m.RegionExit: lambda e: (fmt.REGION_EXIT, [e.region, e.objects, e.nbytes]),
        }[t](ev)
        body = fmt.uvarint(len(words)) + fmt.svarint(ev.ts) + b"".join(map(fmt.uvarint, fields))
        records.append(fmt.uvarint(kind) + fmt.uvarint(len(body)) + body)
    evts = (fmt.uvarint(START) + fmt.uvarint(0) + fmt.uvarint(len(words)) +
            fmt.words_to_bytes(words) + fmt.uvarint(len(records)) + b"".join(records))
    table = list(strings)[1:]
    strs = fmt.uvarint(1) + fmt.uvarint(len(table)) + b"".join(map(fmt.string, table))
    end = max(ev.ts for ev in events) + 100 + START
    path.write_bytes(
        fmt.file_header() +
        fmt.chunk(fmt.TAG_INFO, fmt.properties({"mode": mode, "start_ns": str(START),
                                                "program": "pipe.vyn"})) +
        fmt.chunk(fmt.TAG_STRS, strs) +
        fmt.chunk(fmt.TAG_FUNC, fmt.uvarint(len(FUNCTIONS)) + funcs) +
        fmt.chunk(fmt.TAG_EVTS, zlib.compress(evts)) +
        fmt.chunk(fmt.TAG_END, fmt.properties({"end_ns": str(end), "exit_code": "0"})))
    return path


def pipeline_events() -> list:
    """main (fiber 1) spawns a worker task (3) computing fib(3) and a Logger actor (2);
    the worker sends the result on channel 1; main sends a line to the Logger."""
    us = 1000
    ev: list = [
        m.FiberSpawn(0, 1, 0, "main", "main"),
        m.FiberRun(1 * us, 1, 1),
        m.Call(1 * us, 1, 0),                                   # main
        m.FiberSpawn(2 * us, 2, 1, "actor", "Logger#2"),
        m.FiberSpawn(3 * us, 3, 1, "task", "task 3"),
        m.FiberBlock(4 * us, 1, "channel 1"),
        m.FiberRun(5 * us, 3, 2),
        m.Call(5 * us, 3, 2),                                   # main::worker
        m.RegionEnter(6 * us, 3, 1),
        m.Call(10 * us, 3, 1),                                  # fib(3)
        m.Call(12 * us, 3, 1),                                  # fib(2)
        m.Call(14 * us, 3, 1), m.Return(20 * us, 3),            # fib(1)
        m.Call(22 * us, 3, 1), m.Return(26 * us, 3),            # fib(0)
        m.Return(30 * us, 3),
        m.Call(32 * us, 3, 1), m.Return(38 * us, 3),            # fib(1)
        m.Return(40 * us, 3),
        m.Collection(44 * us, "minor", "nursery full", 900_000, 300_000, 600_000, 2 * us),
        m.RegionExit(46 * us, 3, 1, 12, 4096),
        m.Send(48 * us, 1, 3, "channel", 1),
        m.Return(50 * us, 3),
        m.FiberDone(51 * us, 3, "finished"),
        m.FiberRun(52 * us, 1, 3),
        m.Receive(53 * us, 1, 1),
        m.Send(56 * us, 2, 1, "actor", 2),
        m.Collection(64 * us, "full", "heap limit", 2_000_000, 500_000, 1_500_000, 5 * us),
        m.Return(70 * us, 1),
        m.FiberDone(71 * us, 1, "finished"),
        m.FiberRun(72 * us, 2, 4),
        m.Call(72 * us, 2, 3),                                  # Logger::handle
        m.Receive(73 * us, 2, 2),
        m.Return(80 * us, 2),
        m.FiberDone(81 * us, 2, "idle"),
    ]
    return ev


@pytest.fixture
def pipeline(tmp_path) -> Path:
    return write_trace(tmp_path / "pipe.vyntrace", pipeline_events())


def _record(directory: Path, name: str, **options) -> Path:
    program = compile_file("prog.vyn", PROGRAM).program
    path = directory / name
    rec = Recorder(str(path), properties={"program": "prog.vyn"}, **options)
    code = run_program(program, ["prog.vyn"], stdout=io.StringIO(), stderr=io.StringIO(),
                       events=rec.attach)
    rec.close(code)
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("show")
    return {"trace": _record(d, "t.vyntrace", calls=True),
            "profile": _record(d, "p.vyntrace", sample_every=50)}


def model_of(path: Path) -> trace_model.TraceModel:
    with TraceReader(str(path)) as reader:
        return load(reader)


# -- the model ------------------------------------------------------------------------------

def test_the_model_has_lanes_slices_times_messages_and_collections(pipeline):
    tm = model_of(pipeline)
    assert tm.events == len(pipeline_events())
    assert [(ln.fiber, ln.name, ln.state) for ln in tm.lanes.values()] == [
        (1, "main", "finished"), (2, "Logger#2", "idle"), (3, "task 3", "finished")]
    fib2 = tm.row(3, 2)          # worker, fib(3), fib(2)/fib(1)
    assert list(fib2.starts) == [12_000, 32_000] and list(fib2.ends) == [30_000, 38_000]
    assert tm.lane_rows()[:2] == [(1, 0), (2, 0)]
    top = {tm.function_name(s.function): s for s in tm.top}
    assert top["fib"].calls == 5
    # fib(3) runs from 10 to 40 µs: its total counts the outermost frame only.
    assert top["fib"].total_value == 30_000
    assert top["fib"].self_value == 30_000
    worker = top["main::worker"]
    assert worker.total_value == 45_000 and worker.self_value == 15_000
    # main runs 1-4 and 52-70 µs (blocked on the channel in between).
    assert top["main"].self_value == 3_000 + 18_000
    assert [(x.flow, x.sent, x.received, x.by) for x in tm.messages] == [
        (1, 48_000, 53_000, 1), (2, 56_000, 73_000, 2)]
    assert [(e.ts, e.what, e.duration) for e in tm.collections] == [
        (6_000, "region #1", 40_000), (42_000, "minor collection", 2_000),
        (59_000, "full collection", 5_000)]
    assert tm.first == 1_000 and tm.duration == 81_100


def test_the_timeline_keeps_at_most_max_slices(pipeline, monkeypatch):
    monkeypatch.setattr(trace_model, "MAX_SLICES", 3)
    tm = model_of(pipeline)
    assert sum(len(r) for r in tm.rows.values()) == 3
    assert tm.dropped_slices == 5
    assert sum(s.calls for s in tm.top) == 8          # the aggregates still count all


def test_a_profile_model_has_cpu_and_allocations_and_run_slices(recordings):
    tm = model_of(recordings["profile"])
    assert tm.has_samples and tm.samples > 0
    assert tm.total_value[0] > 0 and tm.total_alloc[0] > 0
    assert {tm.function_name(f) for r in tm.rows.values() for f in r.functions} == {"run"}
    names = {tm.function_name(s.function) for s in tm.top}
    assert {"main", "fib"} <= names


def test_a_trace_recorded_by_the_runtime_gives_the_same_calls_as_trace_info(recordings):
    from traces.summary import summarize

    with TraceReader(str(recordings["trace"])) as reader:
        s = summarize(reader)
    tm = model_of(recordings["trace"])
    assert {s.function: s.calls for s in tm.top if s.calls} == dict(s.calls_by_function)
    assert len(tm.messages) == 3 and all(x.received is not None for x in tm.messages)


# -- the app --------------------------------------------------------------------------------

def run_app(path: Path, scenario, size=(80, 24)):
    async def go():
        app = TraceShowApp(model_of(path))
        app.animation_level = "none"
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(app, pilot)
    asyncio.run(go())


def detail(app, which: str) -> str:
    return str(app.query_one(f"#{which}-detail").render())


def test_the_timeline_at_80x24_snapshot(pipeline):
    async def scenario(app, pilot):
        await pilot.press("right")           # main's only slice is the first: stays
        await pilot.press("down", "down", "down", "down", "right")   # task 3: fib(1)
        await pilot.pause()
        check("trace_show_timeline_80x24", screen_text(app), app.export_screenshot())
    run_app(pipeline, scenario)


def test_the_timeline_selects_zooms_and_pans(pipeline):
    async def scenario(app, pilot):
        tl = app.query_one(Timeline)
        assert app.focused is tl
        assert "main (pipe.vyn:10)" in detail(app, "timeline")
        await pilot.press("down", "down", "down", "down")   # task 3, depth 2
        assert tl.rows[tl.row] == (3, 2)
        text = detail(app, "timeline")
        assert "fib (pipe.vyn:2)" in text and "depth 2" in text and "18.0 µs" in text
        await pilot.press("right")
        assert "6.0 µs" in detail(app, "timeline")           # the second fib(1)
        span = tl.span
        await pilot.press("plus")
        assert tl.span == span // 2
        t0 = tl.t0
        await pilot.press("l")
        assert tl.t0 > t0
        await pilot.press("enter")
        assert (tl.t0, tl.t1) == (32_000 - 600, 38_000 + 600)
        await pilot.press("0")
        assert (tl.t0, tl.t1) == (1_000, 81_100)
        await pilot.press("minus")
        assert (tl.t0, tl.t1) == (1_000, 81_100)             # not past the whole run
        assert "fib" in screen_text(app)
    run_app(pipeline, scenario)


def test_the_flame_graph_moves_and_zooms(pipeline):
    async def scenario(app, pilot):
        await pilot.press("2")
        flame = app.query_one(FlameGraph)
        await until(pilot, lambda: app.focused is flame)
        assert flame.selected == 0 and "all" in detail(app, "flame")
        await pilot.press("down")                           # the widest fiber: task 3
        assert "task 3" in detail(app, "flame")
        await pilot.press("down", "down")                    # main::worker, fib
        assert detail(app, "flame").startswith("fib (pipe.vyn:2) · time 30.0 µs")
        await pilot.press("enter")
        assert flame.root == flame.selected
        assert screen_text(app).splitlines()[3].startswith("fib")
        await pilot.press("backspace")
        assert flame.root != flame.selected
        await pilot.press("up", "up", "right")
        assert "main" in detail(app, "flame").splitlines()[0]
    run_app(pipeline, scenario)


def test_the_top_functions_table(pipeline, recordings):
    async def trace(app, pilot):
        await pilot.press("3")
        table = app.query_one("#top")
        await until(pilot, lambda: app.focused is table)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert rows[0][0] == "fib" and rows[0][1] == "5" and rows[0][2] == "30.0 µs"
        assert [r[0] for r in rows] == ["fib", "main", "main::worker", "Logger::handle"]
        assert "Self" in screen_text(app) and "Total" in screen_text(app)
    run_app(pipeline, trace)

    async def profile(app, pilot):
        await pilot.press("3")
        text = screen_text(app)
        assert "Self CPU" in text and "Self alloc" in text
    run_app(recordings["profile"], profile)


def test_the_collections_tab(pipeline):
    async def scenario(app, pilot):
        await pilot.press("4")
        table = app.query_one("#collections")
        await until(pilot, lambda: app.focused is table)
        assert table.row_count == 3
        text = screen_text(app)
        assert "minor collection" in text and "region #1" in text and "heap limit" in text
        assert "1.9 MiB → 488.3 KiB" in text
    run_app(pipeline, scenario)


def test_a_send_jumps_to_its_receive_in_the_timeline(pipeline):
    async def scenario(app, pilot):
        await pilot.press("5")
        table = app.query_one("#messages")
        await until(pilot, lambda: app.focused is table)
        text = screen_text(app)
        assert "channel 1" in text and "Logger#2" in text
        await pilot.press("down", "enter")                  # message 2: main -> Logger
        tl = app.query_one(Timeline)
        await until(pilot, lambda: app.focused is tl)
        assert tl.marker == (2, 73_000)
        assert tl.rows[tl.row] == (2, 0)
        assert detail(app, "timeline").startswith("Logger::handle (pipe.vyn:5)")
        assert "message 2 received by Logger#2 at 73.0 µs" in detail(app, "timeline")
        assert "◆" in screen_text(app)
    run_app(pipeline, scenario)


def test_a_real_recording_opens_in_every_tab(recordings):
    async def scenario(app, pilot):
        for k in "12345":
            await pilot.press(k)
            await pilot.pause()
        assert "fib" in screen_text(app) or app.query_one("#messages").row_count == 3
    for kind in ("trace", "profile"):
        run_app(recordings[kind], scenario)


# -- the command line -----------------------------------------------------------------------

def test_vyn_trace_show_reads_the_file_then_runs_the_app(pipeline, monkeypatch):
    shown = []
    import tui.trace_app

    monkeypatch.setattr(tui.trace_app, "run_show", lambda model: shown.append(model) or 0)
    assert main(["trace", "show", str(pipeline)]) == 0
    assert shown and shown[0].events == len(pipeline_events())


def test_a_bad_file_gets_one_sentence_and_exit_2(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    assert main(["trace", "show", str(notes)]) == 2
    err = capsys.readouterr().err
    assert err == f"vyn: '{notes}' is not a Vyn trace (it does not start with VYNTRACE)\n"


def test_vyn_help_does_not_import_textual():
    code = ("import sys\nfrom vyndbg.cli import main\ntry:\n    main(['trace', '--help'])\n"
            "except SystemExit:\n    pass\nprint('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip().endswith("False") and "show" in out


def test_tracing_md_has_the_show_section():
    doc = (ROOT / "docs" / "tracing.md").read_text()
    assert "## `vyn trace show FILE`" in doc
    assert "is not built yet" not in doc
    # The picture is the snapshot (its empty rows squeezed).
    snapshot = (ROOT / "tests" / "snapshots" / "trace_show_timeline_80x24.txt").read_text()
    for line in snapshot.splitlines():
        if line.strip():
            assert line in doc, line
