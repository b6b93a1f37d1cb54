"""speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json).

A profile becomes `sampled` profiles: one of CPU time (nanoseconds) and, when anything
was allocated, one of allocated bytes, each sample weighted by its value. A trace becomes
one `evented` profile of wall time (nanoseconds): a frame opens at a call and closes at
its return. In both, the outermost frame of a stack is its fiber, so every fiber of the
run is in one profile (in the evented one, a fiber's frames close when another fiber's
slice begins and reopen when it runs again). Frames are (function, line) with the Vyn
file and line.

Streamed: the long arrays (samples, weights, events) go to temporary files as they are
read and are copied into the output at the end, after which come the frames.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from typing import TextIO

from traces import model as m
from traces.reader import TraceReader
from traces.stacks import weighted_stacks

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


class _Frames:
    """speedscope's shared frame list: fibers and (function, line) pairs."""

    def __init__(self, reader: TraceReader):
        self.reader = reader
        self.ids: dict[tuple, int] = {}
        self.items: list[dict] = []

    def fiber(self, name: str) -> int:
        key = ("fiber", name)
        i = self.ids.get(key)
        if i is None:
            i = self.ids[key] = len(self.items)
            self.items.append({"name": name})
        return i

    def function(self, fid: int, line: int) -> int:
        key = (fid, line)
        i = self.ids.get(key)
        if i is None:
            f = self.reader.function(fid)
            i = self.ids[key] = len(self.items)
            frame = {"name": f.name, "file": f.file}
            if line:
                frame["line"] = line
            self.items.append(frame)
        return i


class _Array:
    """A JSON array written to a temporary file an item at a time."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.n = 0

    def add(self, text: str) -> None:
        self.file.write(text if self.n == 0 else "," + text)
        self.n += 1

    def copy_to(self, out: TextIO) -> None:
        out.write("[")
        self.file.seek(0)
        shutil.copyfileobj(self.file, out)
        out.write("]")
        self.file.close()


def export_speedscope(reader: TraceReader, out: TextIO, exporter: str = "vyn") -> int:
    """Write `reader`'s run as a speedscope file; returns the events or samples read."""
    frames = _Frames(reader)
    name = reader.info.get("program", "") or "vyn"
    if reader.mode == "trace":
        profiles, count = _evented(reader, frames)
    else:
        profiles, count = _sampled(reader, frames)
    dumps = json.dumps
    out.write(f'{{"$schema": "{SCHEMA}", "exporter": {dumps(exporter)}, '
              f'"name": {dumps(name)}, "activeProfileIndex": 0, "profiles": [')
    for i, (head, arrays) in enumerate(profiles):
        out.write(("," if i else "") + "{" + head)
        for key, arr in arrays:
            out.write(f', "{key}": ')
            arr.copy_to(out)
        out.write("}")
    out.write('], "shared": {"frames": [')
    for i, frame in enumerate(frames.items):
        out.write(("," if i else "") + dumps(frame))
    out.write("]}}\n")
    return count


def _sampled(reader: TraceReader, frames: _Frames) -> tuple[list, int]:
    samples = weighted_stacks(reader)
    table = samples.table
    stacks_text: dict[int, str] = {}
    cpu_samples, cpu_weights = _Array(), _Array()
    alloc_samples, alloc_weights = _Array(), _Array()
    cpu_total = alloc_total = 0
    count = 0
    for s in samples:
        count += 1
        key = (s.fiber, s.stack)
        text = stacks_text.get(key)
        if text is None:
            ids = [frames.fiber(samples.fiber_name(s.fiber))]
            ids.extend(frames.function(n.function, n.line) for n in table.frames(s.stack))
            text = stacks_text[key] = "[" + ",".join(map(str, ids)) + "]"
        if s.cpu > 0:
            cpu_samples.add(text)
            cpu_weights.add(str(s.cpu))
            cpu_total += s.cpu
        if s.alloc > 0:
            alloc_samples.add(text)
            alloc_weights.add(str(s.alloc))
            alloc_total += s.alloc
    profiles = [(f'"type": "sampled", "name": "CPU time", "unit": "nanoseconds", '
                 f'"startValue": 0, "endValue": {cpu_total}',
                 [("samples", cpu_samples), ("weights", cpu_weights)])]
    if alloc_samples.n:
        profiles.append((f'"type": "sampled", "name": "allocated bytes", "unit": "bytes", '
                         f'"startValue": 0, "endValue": {alloc_total}',
                         [("samples", alloc_samples), ("weights", alloc_weights)]))
    return profiles, count


def _evented(reader: TraceReader, frames: _Frames) -> tuple[list, int]:
    events = _Array()
    stacks: dict[int, list[int]] = {}    # fiber -> open frame ids (fiber frame first)
    names: dict[int, str] = {}
    lines: dict[int, int] = {}
    shown = None                         # the fiber whose frames are open in the output
    last = 0
    count = 0

    def close_all(at: int) -> None:
        nonlocal shown
        if shown is not None:
            for fid in reversed(stacks.get(shown, [])):
                events.add(f'{{"type":"C","frame":{fid},"at":{at}}}')
        shown = None

    def show(fiber: int, at: int) -> None:
        nonlocal shown
        if shown == fiber:
            return
        close_all(at)
        stack = stacks.get(fiber)
        if stack is None:
            stack = stacks[fiber] = [frames.fiber(names.get(fiber) or f"fiber {fiber}")]
        for fid in stack:
            events.add(f'{{"type":"O","frame":{fid},"at":{at}}}')
        shown = fiber

    for ev in reader.events():
        count += 1
        t = type(ev)
        ts = ev.ts
        if ts > last:
            last = ts
        if t is m.Call:
            show(ev.fiber, ts)
            fid = ev.function
            line = lines.get(fid)
            if line is None:
                line = lines[fid] = reader.function(fid).line
            frame = frames.function(fid, line)
            stacks[ev.fiber].append(frame)
            events.add(f'{{"type":"O","frame":{frame},"at":{ts}}}')
        elif t is m.Return:
            show(ev.fiber, ts)
            stack = stacks[ev.fiber]
            if len(stack) > 1:
                events.add(f'{{"type":"C","frame":{stack.pop()},"at":{ts}}}')
        elif t is m.FiberSpawn:
            names[ev.fiber] = ev.name
        elif t is m.FiberRun:
            show(ev.fiber, ts)
        elif t is m.FiberBlock or t is m.FiberDone:
            if shown == ev.fiber:
                close_all(ts)
        elif t is m.Panic:
            close_all(ts)
            stacks.clear()
    end = max(last, reader.duration() or 0)
    close_all(end)
    return [(f'"type": "evented", "name": "wall time", "unit": "nanoseconds", '
             f'"startValue": 0, "endValue": {end}', [("events", events)])], count
