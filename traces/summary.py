"""`vyn trace info`: a summary of a trace file, computed in one streaming pass."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from traces import model as m
from traces.reader import TraceReader


@dataclass
class FiberSummary:
    id: int
    name: str
    kind: str
    slices: int = 0
    calls: int = 0
    samples: int = 0
    state: str = ""


@dataclass
class Summary:
    """What `vyn trace info` prints."""

    path: str
    mode: str
    info: dict[str, str]
    end: dict[str, str] | None
    size: int
    dropped: object
    duration_ns: int
    events: int = 0
    kinds: Counter = field(default_factory=Counter)
    fibers: dict[int, FiberSummary] = field(default_factory=dict)
    calls_by_function: Counter = field(default_factory=Counter)
    native_calls: Counter = field(default_factory=Counter)    # by tier
    self_cpu_by_function: Counter = field(default_factory=Counter)
    cpu_ns: int = 0
    alloc_bytes: int = 0
    gc_ns: int = 0
    steps: int = 0
    functions: int = 0
    jit: list = field(default_factory=list)      # JitCompile events, in order


KIND_NAMES = {
    m.Call: "calls", m.Return: "returns", m.FiberSpawn: "fiber spawns", m.FiberRun: "slices",
    m.FiberBlock: "blocks", m.FiberDone: "fiber ends", m.Send: "sends",
    m.Receive: "receives", m.Collection: "collections", m.RegionEnter: "region enters",
    m.RegionExit: "region exits", m.Panic: "panics", m.UserEvent: "user events",
    m.Sample: "samples", m.HeapCounter: "heap counters", m.JitCompile: "jit compiles",
    m.TierChange: "tier changes", m.NativeCalls: "native call runs",
    m.Unknown: "unknown records",
}


def summarize(reader: TraceReader) -> Summary:
    s = Summary(reader.path, reader.mode, reader.info, reader.end, reader.size,
                reader.dropped, 0)
    kinds = s.kinds
    last = 0
    native_left = 0          # words of the current *native calls* run not yet read
    tier = ""
    for ev in reader.events():
        t = type(ev)
        kinds[t] += 1
        if ev.ts > last:
            last = ev.ts
        if t is m.Call:
            s.calls_by_function[ev.function] += 1
            fs = s.fibers.get(ev.fiber)
            if fs is not None:
                fs.calls += 1
            if native_left > 0:
                native_left -= 2
                s.native_calls[tier] += 1
        elif t is m.Return:
            native_left -= 1
        elif t is m.NativeCalls:
            native_left = ev.words
            tier = ev.tier
        elif t is m.FiberRun:
            fs = s.fibers.get(ev.fiber)
            if fs is not None:
                fs.slices += 1
            s.steps = max(s.steps, ev.step)
        elif t is m.FiberSpawn:
            s.fibers[ev.fiber] = FiberSummary(ev.fiber, ev.name, ev.kind)
        elif t is m.FiberDone:
            fs = s.fibers.get(ev.fiber)
            if fs is not None:
                fs.state = ev.state
        elif t is m.Sample:
            s.cpu_ns += ev.cpu
            s.alloc_bytes += ev.alloc
            if ev.stack:
                s.self_cpu_by_function[reader.stacks[ev.stack].function] += ev.cpu
            fs = s.fibers.get(ev.fiber)
            if fs is not None:
                fs.samples += 1
        elif t is m.Collection:
            s.gc_ns += ev.duration
        elif t is m.JitCompile:
            s.jit.append(ev)
    s.events = sum(kinds.values())
    s.duration_ns = max(last, reader.duration() or 0)
    s.functions = len(reader.functions)
    return s


def _size(n: int) -> str:
    for div, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} bytes"


def render(s: Summary, reader: TraceReader) -> str:
    """The summary as text, one fact per line."""
    info = s.info
    lines = []
    program = info.get("program", "?")
    argv = info.get("argv", "")
    lines.append(f"{s.path}: a {s.mode} of {program}" + (f" ({argv})" if argv else ""))
    started = reader.number("start_unix_ns")
    try:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started / 1e9))
    except (OverflowError, OSError, ValueError):
        when = "?"
    status = "ended cleanly"
    if s.end is not None and "exit_code" in s.end:
        status = f"exited with code {s.end['exit_code']}"
    elif s.end is None:
        status = "did not end cleanly (no END chunk: the recording was killed or cut short)"
    lines.append(f"recorded:  {when}, pid {info.get('pid', '?')}, vyn "
                 f"{info.get('vyn', '?')}; {s.duration_ns / 1e9:.3f} s; {status}")
    if s.mode == "profile":
        lines.append(f"sampling:  every {info.get('sample_every', '?')} reductions; "
                     f"{s.kinds[m.Sample]:,} samples, {s.cpu_ns / 1e9:.3f} s of CPU, "
                     f"{_size(s.alloc_bytes)} allocated")
    per_event = (reader.valid_bytes / s.events) if s.events else 0.0
    lines.append(f"file:      {_size(s.size)} ({s.size:,} bytes), {len(reader.chunks)} chunks, "
                 f"{per_event:.2f} bytes per event")
    if s.dropped is not None:
        d = s.dropped
        lines.append(f"dropped:   {d.size:,} bytes from byte {d.offset:,} ({d.reason})")
    lines.append(f"events:    {s.events:,}")
    for t, name in KIND_NAMES.items():
        if s.kinds[t]:
            lines.append(f"  {name + ':':16} {s.kinds[t]:,}")
    if s.native_calls:
        calls = sum(s.native_calls.values())
        tiers = ", ".join(f"{n:,} {t}" for t, n in sorted(s.native_calls.items()))
        lines.append(f"native:    {calls:,} of the {s.kinds[m.Call]:,} calls ran in native "
                     f"code ({tiers})")
    lines.append(f"scheduler: {s.steps:,} steps; collections took {s.gc_ns / 1e6:.1f} ms")
    lines.append(f"fibers:    {len(s.fibers)}")
    for fs in list(s.fibers.values())[:10]:
        detail = f"{fs.slices:,} slices"
        if fs.calls:
            detail += f", {fs.calls:,} calls"
        if fs.samples:
            detail += f", {fs.samples:,} samples"
        if fs.state:
            detail += f", {fs.state}"
        lines.append(f"  {fs.id:>4} {fs.name}: {detail}")
    if len(s.fibers) > 10:
        lines.append(f"  ... and {len(s.fibers) - 10:,} more")
    if s.jit:
        lines.append(f"jit:       {len(s.jit):,} functions compiled to native code, "
                     f"{sum(j.duration for j in s.jit) / 1e6:.1f} ms compiling")
        for j in s.jit[:10]:
            f = reader.function(j.function)
            lines.append(f"  {j.ts / 1e9:9.3f} s  {f.name}: {j.tier}, "
                         f"{j.duration / 1e6:.2f} ms, {j.code_bytes:,} bytes")
        if len(s.jit) > 10:
            lines.append(f"  ... and {len(s.jit) - 10:,} more (`vyn profile jitted`)")
    if s.calls_by_function:
        lines.append("most called:")
        for fid, n in s.calls_by_function.most_common(5):
            f = reader.function(fid)
            lines.append(f"  {n:>12,}  {f.name} ({f.file}:{f.line})")
    if s.self_cpu_by_function and s.cpu_ns:
        lines.append("most samples (self CPU):")
        for fid, ns in s.self_cpu_by_function.most_common(5):
            f = reader.function(fid)
            lines.append(f"  {ns / s.cpu_ns * 100:11.1f}%  {f.name} ({f.file}:{f.line})")
    return "\n".join(lines) + "\n"
