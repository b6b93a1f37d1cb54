"""Chrome Trace Event JSON (Perfetto, chrome://tracing, trace_engine), streamed.

One process per run (the recorded process id), one track (tid) per fiber, named after
it, and a "collector" track (tid 0) for garbage collections:

- each Vyn call is a complete slice (`"ph": "X"`, category `vyn.call`), written when it
  returns (a call still open at the end of the trace ends there, `"unfinished": true`);
- in a profile (no calls), each scheduler slice of a fiber is a `run` slice instead;
- a message is a zero-length `send` slice on the sender's track and a `receive` slice on
  the receiver's (category `vyn.msg`), joined by a flow: `"ph": "s"` with the send
  slice's ts, pid, tid and category, `"ph": "f"`, `"bp": "e"` with the receive slice's,
  which is what binds a flow to a slice in trace viewers;
- fiber spawn, block and finish, `trace_event`, panics and region exits are instant
  events (`"ph": "i"`, thread scope); region and collection bytes are in their args;
- heap sizes are counters (`"ph": "C"`): bytes in use and allocated so far;
- JIT compiles and tier changes are instant events on a "jit" track (tid JIT_TID,
  category `vyn.jit`), with the function, tier, compile time, size and address in args.

Timestamps are microseconds since the run started, with nanosecond decimals. Events are
written as they are read, so memory holds only the open calls of each fiber.
"""

from __future__ import annotations

import json
from typing import TextIO

from traces import model as m
from traces.reader import TraceReader

COLLECTOR_TID = 0
JIT_TID = 1_000_000       # above any fiber id


def _us(ns: int) -> str:
    """Microseconds with three decimals, exactly (the same ns give the same text)."""
    if ns < 0:
        return "-" + _us(-ns)
    return f"{ns // 1000}.{ns % 1000:03d}"


def export_chrome(reader: TraceReader, out: TextIO) -> int:
    """Write `reader`'s trace to `out` as Trace Event JSON; returns the events read."""
    pid = reader.number("pid", 1)
    program = reader.info.get("program", "")
    dumps = json.dumps
    w = out.write
    w('{"displayTimeUnit": "ns", "traceEvents": [\n')
    label = f"vyn {program}".strip() + f" (pid {pid})"
    w(f'{{"ph": "M", "pid": {pid}, "tid": 0, "name": "process_name", '
      f'"args": {{"name": {dumps(label)}}}}},\n')
    w(f'{{"ph": "M", "pid": {pid}, "tid": {COLLECTOR_TID}, "name": "thread_name", '
      f'"args": {{"name": "collector"}}}}')
    head = f'"pid": {pid}, "tid": '
    names: dict[int, str] = {}        # function id -> its JSON name and args
    open_calls: dict[int, list] = {}  # fiber -> [(ts, function id)]
    running: dict[int, int] = {}      # profile: fiber -> start of its current slice
    profile = reader.mode != "trace"
    current = 0
    last_ts = 0
    count = 0
    jit_named = False

    def fn_json(fid: int) -> str:
        text = names.get(fid)
        if text is None:
            f = reader.function(fid)
            text = names[fid] = (f'"name": {dumps(f.name)}, "args": {{"file": '
                                 f'{dumps(f.file)}, "line": {f.line}}}')
        return text

    def instant(ts: int, tid: int, cat: str, name: str, args: dict | None = None) -> None:
        extra = f', "args": {dumps(args)}' if args else ""
        w(f',\n{{"ph": "i", "s": "t", {head}{tid}, "ts": {_us(ts)}, "cat": "{cat}", '
          f'"name": {dumps(name)}{extra}}}')

    def close_calls(fiber: int, ts: int) -> None:
        stack = open_calls.pop(fiber, None) or []
        while stack:
            start, fid = stack.pop()
            f = reader.function(fid)
            w(f',\n{{"ph": "X", {head}{fiber}, "ts": {_us(start)}, "dur": {_us(ts - start)}, '
              f'"cat": "vyn.call", "name": {dumps(f.name)}, "args": {{"file": {dumps(f.file)}, '
              f'"line": {f.line}, "unfinished": true}}}}')

    def end_slice(fiber: int, ts: int) -> None:
        start = running.pop(fiber, None)
        if start is not None:
            w(f',\n{{"ph": "X", {head}{fiber}, "ts": {_us(start)}, "dur": {_us(ts - start)}, '
              f'"cat": "vyn.sched", "name": "run"}}')

    for ev in reader.events():
        count += 1
        t = type(ev)
        ts = ev.ts
        last_ts = ts
        if t is m.Call:
            stack = open_calls.get(ev.fiber)
            if stack is None:
                stack = open_calls[ev.fiber] = []
            stack.append((ts, ev.function))
        elif t is m.Return:
            stack = open_calls.get(ev.fiber)
            if stack:
                start, fid = stack.pop()
                w(f',\n{{"ph": "X", {head}{ev.fiber}, "ts": {_us(start)}, '
                  f'"dur": {_us(ts - start)}, "cat": "vyn.call", {fn_json(fid)}}}')
        elif t is m.FiberRun:
            if profile:
                end_slice(current, ts)
                running[ev.fiber] = ts
            current = ev.fiber
        elif t is m.FiberSpawn:
            w(f',\n{{"ph": "M", {head}{ev.fiber}, "name": "thread_name", '
              f'"args": {{"name": {dumps(ev.name)}}}}}')
            w(f',\n{{"ph": "M", {head}{ev.fiber}, "name": "thread_sort_index", '
              f'"args": {{"sort_index": {ev.fiber}}}}}')
            instant(ts, ev.fiber, "vyn.fiber", "spawn", {"kind": ev.kind, "parent": ev.parent})
        elif t is m.Send:
            tid = ev.fiber or current
            w(f',\n{{"ph": "X", {head}{tid}, "ts": {_us(ts)}, "dur": 0, "cat": "vyn.msg", '
              f'"name": "send", "args": {{"message": {ev.flow}, "to": '
              f'{dumps(f"{ev.target} {ev.receiver}")}}}}}')
            w(f',\n{{"ph": "s", {head}{tid}, "ts": {_us(ts)}, "cat": "vyn.msg", '
              f'"name": "message", "id": {ev.flow}}}')
        elif t is m.Receive:
            tid = ev.fiber or current
            w(f',\n{{"ph": "X", {head}{tid}, "ts": {_us(ts)}, "dur": 0, "cat": "vyn.msg", '
              f'"name": "receive", "args": {{"message": {ev.flow}}}}}')
            w(f',\n{{"ph": "f", "bp": "e", {head}{tid}, "ts": {_us(ts)}, "cat": "vyn.msg", '
              f'"name": "message", "id": {ev.flow}}}')
        elif t is m.FiberBlock:
            if profile:
                end_slice(ev.fiber, ts)
            instant(ts, ev.fiber, "vyn.fiber", "block", {"on": ev.what})
        elif t is m.FiberDone:
            if profile:
                end_slice(ev.fiber, ts)
            instant(ts, ev.fiber, "vyn.fiber", ev.state)
        elif t is m.HeapCounter:
            w(f',\n{{"ph": "C", {head}{COLLECTOR_TID}, "ts": {_us(ts)}, "name": "heap", '
              f'"args": {{"in use": {ev.in_use}}}}}')
            w(f',\n{{"ph": "C", {head}{COLLECTOR_TID}, "ts": {_us(ts)}, '
              f'"name": "allocated", "args": {{"bytes": {ev.allocated}}}}}')
        elif t is m.Collection:
            start = max(0, ts - ev.duration)
            w(f',\n{{"ph": "X", {head}{COLLECTOR_TID}, "ts": {_us(start)}, '
              f'"dur": {_us(ts - start)}, "cat": "vyn.gc", "name": {dumps(ev.kind + " gc")}, '
              f'"args": {{"why": {dumps(ev.why)}, "before": {ev.before}, '
              f'"after": {ev.after}, "freed": {ev.freed}}}}}')
            w(f',\n{{"ph": "C", {head}{COLLECTOR_TID}, "ts": {_us(start)}, "name": "heap", '
              f'"args": {{"in use": {ev.before}}}}}')
            w(f',\n{{"ph": "C", {head}{COLLECTOR_TID}, "ts": {_us(ts)}, "name": "heap", '
              f'"args": {{"in use": {ev.after}}}}}')
        elif t is m.UserEvent:
            instant(ts, ev.fiber or current, ev.category or "user", ev.name)
        elif t is m.RegionExit:
            instant(ts, ev.fiber or current, "vyn.region", "region exit",
                    {"region": ev.region, "objects": ev.objects, "bytes": ev.nbytes})
        elif t is m.JitCompile or t is m.TierChange:
            if not jit_named:
                jit_named = True
                w(f',\n{{"ph": "M", {head}{JIT_TID}, "name": "thread_name", '
                  f'"args": {{"name": "jit"}}}}')
            f = reader.function(ev.function)
            if t is m.JitCompile:
                instant(ts, JIT_TID, "vyn.jit", f"compile {f.name}",
                        {"function": f.name, "tier": ev.tier, "compile_us": ev.duration / 1e3,
                         "code_bytes": ev.code_bytes, "address": hex(ev.address)})
            else:
                instant(ts, JIT_TID, "vyn.jit", f"{f.name}: {ev.old} -> {ev.new}",
                        {"function": f.name, "from": ev.old, "to": ev.new})
        elif t is m.Panic:
            instant(ts, ev.fiber or current, "vyn.panic", "panic", {"message": ev.message})
            for fiber in list(open_calls):
                close_calls(fiber, ts)
    # Calls still open (a killed run, a panic's abandoned frames) end with the trace.
    end = reader.duration() or last_ts
    end = max(end, last_ts)
    for fiber in list(open_calls):
        close_calls(fiber, end)
    for fiber in list(running):
        end_slice(fiber, end)
    w("\n]}\n")
    return count
