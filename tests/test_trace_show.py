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
from array import array
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
from tui.trace_app import LABEL, FlameGraph, Timeline, TraceShowApp
from tui.trace_model import load
from vyndbg.cli import main

ROOT = Path(__file__).resolve().parent.parent
START = 1000
# function id -> (name, line) in "pipe.vyn"
FUNCTIONS = {0: ("main", 10), 1: ("fib", 2), 2: ("main::worker", 14), 3: ("Logger::handle", 5)}


def write_trace(path: Path, events: list, mode: str = "trace",
                stacks: tuple = ()) -> Path:
    """A trace file holding `events` (traces/model.py tuples, times from the start), with
    the functions of FUNCTIONS and the stack table `stacks` ((parent, function, line) for
    stacks 1, 2, ...), encoded as docs/trace-format.md says."""
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
            m.UserEvent: lambda e: (fmt.USER, [e.fiber, sid(e.category), sid(e.name)]),
            m.Panic: lambda e: (fmt.PANIC, [e.fiber, sid(e.message), e.stack]),
            m.HeapCounter: lambda e: (fmt.HEAP, [e.in_use, e.allocated]),
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
        fmt.chunk(fmt.TAG_STAK, fmt.uvarint(1) + fmt.uvarint(len(stacks)) + b"".join(
            b"".join(map(fmt.uvarint, entry)) for entry in stacks)) +
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
        m.HeapCounter(11 * us, 50_000, 4_000),                  # 4000 bytes: in fib(3)
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
        m.HeapCounter(65 * us, 60_000, 10_000),                 # 6000 more: in main
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


DEPTH = 40           # fib calls nested in the deep trace
TINY = 100           # calls of 10 ns at its bottom, narrower than a column


def deep_events() -> list:
    """main (fiber 1, function 0) calls fib DEPTH deep, one every µs; at the bottom fib
    makes TINY calls of 10 ns, then `trace_event("app", "bottom")`, then panics (stack 2:
    fib line 3 called from main line 12). main did `trace_event("app", "start")` first."""
    us = 1000
    ev: list = [m.FiberSpawn(0, 1, 0, "main", "main"), m.FiberRun(1 * us, 1, 1),
                m.Call(1 * us, 1, 0), m.UserEvent(2 * us, 1, "app", "start")]
    t = 5 * us
    for _ in range(DEPTH):
        ev.append(m.Call(t, 1, 1))
        t += us
    for _ in range(TINY):
        ev += [m.Call(t, 1, 1), m.Return(t + 10, 1)]
        t += 20
    ev += [m.UserEvent(t + us, 1, "app", "bottom"), m.Panic(t + 2 * us, 1, "boom", 2),
           m.FiberDone(t + 3 * us, 1, "finished")]
    return ev


DEEP_STACKS = ((0, 0, 12), (1, 1, 3))          # main:12 <- fib:3


@pytest.fixture
def deep(tmp_path) -> Path:
    return write_trace(tmp_path / "deep.vyntrace", deep_events(), stacks=DEEP_STACKS)


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
        (1, "main", "finished"), (2, "Logger#2", "idle"), (3, "task 3", "finished"),
        (trace_model.COLLECTOR, "collector", "")]
    fib2 = tm.row(3, 2)          # worker, fib(3), fib(2)/fib(1)
    assert list(fib2.starts) == [12_000, 32_000] and list(fib2.ends) == [30_000, 38_000]
    # each fiber: its instants (sends, receives), then its depths; the collector last
    assert tm.lane_rows() == [(1, -1), (1, 0), (2, -1), (2, 0), (3, -1), (3, 0), (3, 1),
                              (3, 2), (3, 3), (trace_model.COLLECTOR, 0)]
    top = {tm.function_name(s.function): s for s in tm.top}
    assert top["fib"].calls == 5
    # fib(3) runs from 10 to 40 µs: its total counts the outermost frame only.
    assert top["fib"].total_value == 30_000
    assert top["fib"].self_value == 30_000
    worker = top["main::worker"]
    assert worker.total_value == 45_000 and worker.self_value == 15_000
    # main runs 1-4 and 52-70 µs (blocked on the channel in between).
    assert top["main"].self_value == 3_000 + 18_000
    # a trace's allocations: what a heap counter adds goes to the stack running then
    assert (top["fib"].self_alloc, top["main"].self_alloc) == (4_000, 6_000)
    assert top["main::worker"].total_alloc == 4_000 and tm.has_alloc
    assert [(x.flow, x.sent, x.received, x.by) for x in tm.messages] == [
        (1, 48_000, 53_000, 1), (2, 56_000, 73_000, 2)]
    assert tm.receive_of(1) == (53_000, 1) and tm.send_of(2) == (56_000, 1)
    assert tm.receive_of(9) is None
    assert [(e.ts, e.what, e.duration) for e in tm.collections] == [
        (6_000, "region #1", 40_000), (42_000, "minor collection", 2_000),
        (59_000, "full collection", 5_000)]
    gc = tm.row(trace_model.COLLECTOR, 0)
    assert [(s, e, tm.function_name(f)) for s, e, f in zip(gc.starts, gc.ends, gc.functions,
                                                          strict=True)] == [
        (42_000, 44_000, "minor GC"), (59_000, 64_000, "full GC")]
    assert tm.first == 1_000 and tm.duration == 81_100


def test_the_timeline_keeps_every_call_at_every_depth_in_compact_arrays(deep):
    tm = model_of(deep)
    rows = tm.depths[1]
    # main, DEPTH nested fibs, and the TINY calls below them: nothing left out
    assert len(rows) == DEPTH + 2
    assert [len(r) for r in rows] == [1] * (DEPTH + 1) + [TINY]
    assert tm.calls == 1 + DEPTH + TINY
    assert all(isinstance(a, array) for r in rows for a in (r.starts, r.ends, r.functions))
    # the panic abandoned main and the fibs: they end there, unfinished
    bottom = 5_000 + DEPTH * 1_000 + TINY * 20
    panic_at = bottom + 2_000
    assert rows[DEPTH].ends[0] == panic_at and rows[0].ends[0] == panic_at
    assert (1, DEPTH, rows[DEPTH].starts[0]) in tm.unfinished
    assert len(tm.unfinished) == DEPTH + 1


def test_the_deepest_call_within_a_window_and_at_a_moment(deep):
    tm = model_of(deep)
    assert tm.max_depth(1) == DEPTH + 1
    assert tm.max_depth(1, tm.first, tm.duration) == DEPTH + 1
    assert tm.max_depth(1, 1_000, 4_000) == 0            # main alone, before the fibs
    # fib at depth k + 1 starts at 5 + k µs: by 15.5 µs, depths 1 to 11 have begun
    assert tm.max_depth(1, 15_500, 16_000) == 11
    assert tm.max_depth(1, 0, 500) == -1                 # before main
    assert tm.lane_rows(15_500, 16_000) == [(1, -1)] + [(1, d) for d in range(12)]
    assert tm.deepest_at(1, 15_500) == (11, 0)
    bottom = 5_000 + DEPTH * 1_000
    assert tm.deepest_at(1, bottom + 25) == (DEPTH + 1, 1)     # the second tiny call
    assert tm.deepest_at(1, bottom + 15) == (DEPTH, 0)         # between two tiny calls
    # a column wider than the tiny calls holds many of them: the app merges them
    assert len(tm.row(1, DEPTH + 1).visible(bottom, bottom + 1_000)) == 50


def test_a_call_of_0_ns_is_in_the_column_of_its_moment(tmp_path):
    ev = [m.FiberSpawn(0, 1, 0, "main", "main"), m.FiberRun(0, 1, 1), m.Call(10, 1, 0),
          m.Call(20, 1, 1), m.Return(20, 1), m.Call(20, 1, 1), m.Return(30, 1),
          m.Return(40, 1)]
    tm = model_of(write_trace(tmp_path / "zero.vyntrace", ev))
    r = tm.row(1, 1)
    assert list(zip(r.starts, r.ends, strict=True)) == [(20, 20), (20, 30)]
    assert list(r.visible(20, 21)) == [0, 1] and list(r.visible(15, 20)) == []
    assert tm.max_depth(1, 20, 21) == 1 and tm.deepest_at(1, 20) == (1, 0)


def test_panics_and_user_events_are_instants_of_their_fiber(deep):
    tm = model_of(deep)
    ins = tm.instants[1]
    bottom = 5_000 + DEPTH * 1_000 + TINY * 20
    assert list(ins.ts) == [2_000, bottom + 1_000, bottom + 2_000]
    assert list(ins.kinds) == [trace_model.USER, trace_model.USER, trace_model.PANIC]
    assert tm.instant_title(1, 0) == "event app: start"
    assert tm.instant_where(1, 0) == "in main (pipe.vyn:10)"     # main was running
    assert tm.instant_title(1, 1) == "event app: bottom"
    assert tm.instant_where(1, 1) == "in fib (pipe.vyn:2)"
    assert tm.instant_title(1, 2) == "PANIC: boom"
    # a panic's own stack, innermost first, with its lines
    assert tm.instant_where(1, 2) == "at fib (pipe.vyn:3) ‹ main (pipe.vyn:12)"
    assert [(p.fiber, p.message, p.frames) for p in tm.panics] == [
        (1, "boom", [(0, 12), (1, 3)])]
    assert tm.lanes[1].state == "finished"
    assert ins.nearest(bottom + 1_400) == 1 and ins.nearest(0) == 0


def test_sends_and_receives_are_instants_that_name_each_other(pipeline):
    tm = model_of(pipeline)
    sends = tm.instants[3]
    assert list(sends.ts) == [48_000] and sends.kinds[0] == trace_model.SEND
    assert tm.instant_title(3, 0) == "send of message 1 (received by main at 53.0 µs)"
    assert tm.instant_where(3, 0) == "in main::worker (pipe.vyn:14)"
    got = tm.instants[1]
    assert list(zip(got.ts, got.kinds, strict=True)) == [
        (53_000, trace_model.RECEIVE), (56_000, trace_model.SEND)]
    assert tm.instant_title(1, 0) == "receive of message 1 (sent by task 3 at 48.0 µs)"


def test_a_long_trace_is_kept_whole_in_arrays_by_depth(tmp_path):
    """200,000 calls, 50 deep, all in the timeline: a Row (three arrays) per depth, and
    the call tree by the distinct paths."""
    ev: list = [m.FiberSpawn(0, 1, 0, "main", "main"), m.FiberRun(0, 1, 1)]
    t = 1
    for _ in range(4_000):
        for _ in range(50):
            ev.append(m.Call(t, 1, 1))
            t += 1
        for _ in range(50):
            ev.append(m.Return(t, 1))
            t += 1
    ev.append(m.FiberDone(t + 1_000, 1, "finished"))
    tm = model_of(write_trace(tmp_path / "long.vyntrace", ev))
    assert tm.events == len(ev) and tm.calls == 200_000
    assert len(tm.depths[1]) == 50 and all(len(r) == 4_000 for r in tm.depths[1])
    assert len(tm.parent) == 1 + 1 + 50              # root, the fiber, 50 nested fibs
    assert tm.max_depth(1, 0, 30) == 28             # depth d begins at d + 1 ns
    assert {s.function: s.calls for s in tm.top} == {1: 200_000}


def test_a_profile_model_has_cpu_and_allocations_and_run_slices(recordings):
    tm = model_of(recordings["profile"])
    assert tm.has_samples and tm.samples > 0
    assert tm.total_value[0] > 0 and tm.total_alloc[0] > 0
    assert {tm.function_name(f) for rows in tm.depths.values() for r in rows
            for f in r.functions} == {"run"}
    assert all(len(rows) == 1 for rows in tm.depths.values())
    names = {tm.function_name(s.function) for s in tm.top}
    assert {"main", "fib"} <= names


def test_a_trace_recorded_by_the_runtime_gives_the_same_calls_as_trace_info(recordings):
    from traces.summary import summarize

    with TraceReader(str(recordings["trace"])) as reader:
        s = summarize(reader)
    tm = model_of(recordings["trace"])
    assert {s.function: s.calls for s in tm.top if s.calls} == dict(s.calls_by_function)
    assert len(tm.messages) == 3 and all(x.received is not None for x in tm.messages)
    # its trace_event("app", "start") is an instant of main, in main
    events = [(tm.instant_title(1, i), tm.instant_where(1, i)) for i in range(len(
        tm.instants[1])) if tm.instants[1].kinds[i] == trace_model.USER]
    assert events == [("event app: start", "in main (prog.vyn:15)")]


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
        await pilot.press(*["down"] * 6, "right")       # task 3 depth 2: fib(1)
        await pilot.pause()
        check("trace_show_timeline_80x24", screen_text(app), app.export_screenshot())
    run_app(pipeline, scenario)


def test_a_deep_lane_with_a_panic_at_80x24_snapshot(deep):
    async def scenario(app, pilot):
        await pilot.press("p")                # the panic: the view zooms around it
        await pilot.pause()
        check("trace_show_panic_80x24", screen_text(app), app.export_screenshot())
    run_app(deep, scenario)


def test_the_timeline_selects_zooms_and_pans(pipeline):
    async def scenario(app, pilot):
        tl = app.query_one(Timeline)
        assert app.focused is tl
        assert "main (pipe.vyn:10)" in detail(app, "timeline")
        await pilot.press(*["down"] * 6)                    # task 3, depth 2
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
        # zoomed in on 32-38 µs: task 3 runs fib at depth 2 there, nothing deeper
        assert [r for r in tl.rows if r[0] == 3] == [(3, -1), (3, 0), (3, 1), (3, 2)]
        await pilot.press("0")
        assert (tl.t0, tl.t1) == (1_000, 81_100)
        assert (3, 3) in tl.rows                             # fib(1) under fib(2) again
        await pilot.press("minus")
        assert (tl.t0, tl.t1) == (1_000, 81_100)             # not past the whole run
        assert "fib" in screen_text(app)
    run_app(pipeline, scenario)


def test_a_deep_lane_grows_and_scrolls(deep):
    async def scenario(app, pilot):
        tl = app.query_one(Timeline)
        # the whole run: the instants, main and DEPTH + 1 depths, more than 20 rows fit
        assert len(tl.rows) == 1 + DEPTH + 2
        lines = screen_text(app).splitlines()
        hidden = len(tl.rows) - (app.query_one(Timeline).size.height - 1)
        assert lines[3].startswith(f"↓{hidden} ")            # rows below, on the axis
        await pilot.press(*["down"] * 30)                   # from main's call, depth 0
        assert tl.rows[tl.row] == (1, 30) and "depth 30" in detail(app, "timeline")
        assert tl.top > 0
        lines = screen_text(app).splitlines()
        assert lines[3].startswith(f"↑{tl.top} ")
        assert any(line.startswith("main") for line in lines[4:6])   # its lane's name
        await pilot.press("pagedown", "pagedown")
        assert tl.rows[tl.row] == (1, DEPTH + 1)             # the tiny calls
        # many in a column, merged: the row shows ▒ rather than dropping them
        row = next(line for line in screen_text(app).splitlines()
                   if line.startswith(f"{DEPTH + 1:>11}  "))
        assert "▒" in row
        assert "fib (pipe.vyn:2) · main depth 41 · 10 ns" in detail(app, "timeline")
        await pilot.press("0", "left_square_bracket")
        assert tl.rows[tl.row] == (1, -1)                    # the lane's first row
    run_app(deep, scenario)


def test_a_click_selects_a_call_or_an_instant_and_the_wheel_scrolls(deep):
    async def scenario(app, pilot):
        tl = app.query_one(Timeline)
        cols = tl.size.width - LABEL

        def column(ts: int) -> int:
            return LABEL + int((ts - tl.t0) / (tl.span / cols))

        await pilot.click(Timeline, offset=(column(8_000), 3))     # row 3: depth 1 at 8 µs
        assert tl.sel == (1, 1, 0) and "main depth 1" in detail(app, "timeline")
        panic_at = 5_000 + DEPTH * 1_000 + TINY * 20 + 2_000
        await pilot.click(Timeline, offset=(column(panic_at), 1))   # the instants row
        assert detail(app, "timeline").startswith("PANIC: boom")
        await pilot.click(Timeline, offset=(column(2_000) + 1, 0))  # the axis: nothing
        assert detail(app, "timeline").startswith("PANIC: boom")
        tl._scroll(5)                      # what the wheel does: the rows, not the selection
        await pilot.pause()
        assert tl.top == 5 and screen_text(app).splitlines()[3].startswith("↑5 ↓21")
        assert detail(app, "timeline").startswith("PANIC: boom")
    run_app(deep, scenario)


def test_find_selects_the_next_call_of_a_function(pipeline):
    async def scenario(app, pilot):
        tl = app.query_one(Timeline)
        box = app.query_one("#find")
        await pilot.press("slash")
        assert app.focused is box
        await pilot.press("q", "backspace")            # a q typed here does not quit
        assert app.is_running and box.value == ""
        await pilot.press("F", "I", "b", "enter")       # case ignored
        assert app.focused is tl and not box.has_class("shown")
        assert tl.sel == (3, 1, 0)                      # the first fib: fib(3) at 10 µs
        await pilot.press("n")
        assert tl.sel == (3, 2, 0)                      # fib(2) at 12 µs
        await pilot.press("n", "n", "n")                # fib(1) 14, fib(0) 22, fib(1) 32
        assert tl.sel == (3, 2, 1) and detail(app, "timeline").startswith("fib (pipe.vyn:2)")
        await pilot.press("n")                          # after the last: around to the first
        assert tl.sel == (3, 1, 0)
        await pilot.press("slash", *"handle", "enter")
        assert tl.sel == (2, 0, 0)
        assert detail(app, "timeline").startswith("Logger::handle (pipe.vyn:5)")
        await pilot.press("slash", *"nothing", "enter")
        assert tl.sel == (2, 0, 0)                      # no such function: it stays
        await pilot.press("slash", "escape")
        assert app.focused is tl and not box.has_class("shown")
    run_app(pipeline, scenario)


def test_panics_and_user_events_are_drawn_and_selectable(deep):
    async def scenario(app, pilot):
        tl = app.query_one(Timeline)
        assert "pipe.vyn · PANICKED (p) · " in screen_text(app).splitlines()[0]
        await pilot.press("p")
        assert tl.sel[:2] == (1, trace_model.INSTANTS)
        text = detail(app, "timeline")
        assert text.startswith("PANIC: boom · main · at ")
        assert "at fib (pipe.vyn:3) ‹ main (pipe.vyn:12)" in text
        lane = next(line for line in screen_text(app).splitlines() if line.startswith("main"))
        assert "!" in lane and "●" in lane                   # the panic, the event before it
        await pilot.press("left")                             # the event before the panic
        assert detail(app, "timeline").startswith("event app: bottom · main · at 48.0 µs")
        assert "in fib (pipe.vyn:2)" in detail(app, "timeline")
        await pilot.press("left")
        assert detail(app, "timeline").startswith("event app: start · main · at 2.0 µs")
        await pilot.press("down")                             # main's call, below
        assert detail(app, "timeline").startswith("main (pipe.vyn:10) · main depth 0")
        assert "(unfinished)" in detail(app, "timeline")
    run_app(deep, scenario)


def test_a_send_on_the_timeline_jumps_to_its_receive(pipeline):
    async def scenario(app, pilot):
        tl = app.query_one(Timeline)
        await pilot.press(*["down"] * 3)                    # task 3's instants: its send
        assert tl.sel == (3, trace_model.INSTANTS, 0)
        text = detail(app, "timeline")
        assert text.startswith("send of message 1 (received by main at 53.0 µs)")
        assert "⏎ shows its receive" in text
        assert "→" in screen_text(app)
        await pilot.press("enter")
        assert tl.marker == (1, 53_000)
        assert tl.rows[tl.row] == (1, 0)                     # main's call, running then
        assert "message 1 received by main at 53.0 µs" in detail(app, "timeline")
        await pilot.press("up")                              # main's receive, right above
        assert detail(app, "timeline").startswith("receive of message 1 (sent by task 3")
        await pilot.press("enter")                           # and back to the send
        assert tl.marker == (3, 48_000)
        assert detail(app, "timeline").startswith("main::worker (pipe.vyn:14)")
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
        # allocations (from the heap counters): fib 4000 B, main 6000 B
        assert (rows[0][6], rows[1][6]) == ("3.9 KiB", "5.9 KiB")
        text = screen_text(app)
        assert "Self time" in text and "Total time" in text and "sorted by self" in text
        await pilot.press("s")                                # by total time
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [r[0] for r in rows] == ["main::worker", "fib", "main", "Logger::handle"]
        await pilot.press("s", "s")                           # calls, then self alloc
        assert "sorted by self alloc" in screen_text(app)
        assert table.get_row_at(0)[0] == "main"
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
        await pilot.press("down", "enter")                  # the minor collection
        tl = app.query_one(Timeline)
        await until(pilot, lambda: app.focused is tl)
        assert tl.rows[tl.row] == (trace_model.COLLECTOR, 0)
        assert detail(app, "timeline").startswith("minor GC · 2.0 µs · nursery full")
        assert any(line.startswith("collector") for line in screen_text(app).splitlines())
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
        seen = []
        for k in "12345":
            await pilot.press(k)
            await pilot.pause()
            seen.append(screen_text(app))
        assert "fib" in seen[1] and "fib" in seen[2]       # the flame graph, the table
        assert app.query_one("#messages").row_count == 3
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
    assert "400,000" not in doc and "the outermost 6" not in doc     # no cap any more
    # The pictures are the snapshots (their empty rows squeezed).
    for name in ("trace_show_timeline_80x24", "trace_show_panic_80x24"):
        snapshot = (ROOT / "tests" / "snapshots" / f"{name}.txt").read_text()
        for line in snapshot.splitlines():
            if line.strip():
                assert line in doc, line
