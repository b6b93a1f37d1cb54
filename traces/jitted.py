"""`vyn profile jitted [--hot] FILE`: the functions the JIT promoted to native code.

From a trace or profile's jit compile records (kind 14, docs/trace-format.md): each
promoted function with its tier, compile time, code size and when it was compiled, and
how hot it was in the recording: in a profile, its samples (self: the innermost frame;
total: anywhere on the stack); in a trace, its calls. `--hot` orders them hottest first
(by self samples, then total samples, then calls); otherwise in the order compiled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from traces import model as m
from traces.reader import TraceReader


@dataclass
class JittedRow:
    function: int
    name: str
    file: str
    line: int
    tier: str
    compiled_at: int           # ns since the start
    compile_ns: int
    code_bytes: int
    address: int
    self_samples: int = 0
    samples: int = 0
    calls: int = 0


def jitted(reader: TraceReader, hot: bool = False) -> tuple[list[JittedRow], int]:
    """The promoted functions (hottest first if `hot`) and the number of samples."""
    rows: dict[int, JittedRow] = {}
    self_samples: Counter = Counter()
    samples: Counter = Counter()
    calls: Counter = Counter()
    nsamples = 0
    for ev in reader.events():
        t = type(ev)
        if t is m.Sample:
            nsamples += 1
            if ev.stack:
                frames = reader.frames(ev.stack)
                self_samples[frames[-1].function] += 1
                for fid in {f.function for f in frames}:
                    samples[fid] += 1
        elif t is m.Call:
            calls[ev.function] += 1
        elif t is m.JitCompile and ev.function not in rows:
            f = reader.function(ev.function)
            rows[ev.function] = JittedRow(ev.function, f.name, f.file, f.line, ev.tier, ev.ts,
                                          ev.duration, ev.code_bytes, ev.address)
        elif t is m.TierChange and ev.function in rows:
            rows[ev.function].tier = ev.new
    out = list(rows.values())
    for r in out:
        r.self_samples = self_samples[r.function]
        r.samples = samples[r.function]
        r.calls = calls[r.function]
    if hot:
        out.sort(key=lambda r: (-r.self_samples, -r.samples, -r.calls, r.compiled_at))
    return out, nsamples


def render(reader: TraceReader, rows: list[JittedRow], nsamples: int) -> str:
    if not rows:
        return (f"{reader.path}: no function was compiled to native code (the run had "
                "--jit=off, or nothing got hot)\n")
    profile = reader.mode == "profile"
    total_ms = sum(r.compile_ns for r in rows) / 1e6
    lines = [f"{reader.path}: {len(rows)} functions native, {total_ms:.1f} ms compiling"]
    heat = "self  total" if profile else "calls"
    lines.append(f"{'function':<32} {'tier':<6} {'compile ms':>10} {'bytes':>7} "
                 f"{'at s':>8} {heat:>13}  where")
    for r in rows:
        if profile:
            pct = (r.self_samples / nsamples * 100) if nsamples else 0.0
            hotness = f"{pct:5.1f}% {r.samples:>6}"
        else:
            hotness = f"{r.calls:>13,}"
        lines.append(f"{r.name[:32]:<32} {r.tier:<6} {r.compile_ns / 1e6:>10.2f} "
                     f"{r.code_bytes:>7} {r.compiled_at / 1e9:>8.3f} {hotness:>13}  "
                     f"{r.file}:{r.line}")
    return "\n".join(lines) + "\n"
