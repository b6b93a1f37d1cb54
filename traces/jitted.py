"""`vyn profile jitted [--hot] FILE`: the functions the JIT promoted to native code.

From a trace or profile's jit compile records (kind 14, docs/trace-format.md): each
promoted function with its tier, compile time, code size and when it was compiled, and
how hot it was *in native code*:

- in a trace (`vyn run --trace`, whose native code reports its calls): its calls that
  ran in native code (the calls inside *native calls* runs, kind 16), and the times native
  code was entered at one of the function's loops (on-stack replacement); also all its
  calls;
- in a profile: its samples in native code (`native`: the innermost frame was native
  code when the sample was taken, record 12's native frames), and all its samples (self:
  the innermost frame; total: anywhere on the stack).

`--hot` orders them hottest natively first; otherwise in the order compiled. Functions
that were compiled but never ran natively (a trace), or have no sample in native code (a
profile), are named at the end.
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
    native_calls: int = 0      # its calls that ran in native code (a trace)
    osr: int = 0               # native code entered at its loops (a trace)
    native_samples: int = 0    # samples with it innermost, in native code (a profile)
    native_total: int = 0      # samples with it among the native frames (a profile)

    @property
    def ran_natively(self) -> bool:
        return bool(self.native_calls or self.osr or self.native_samples or self.native_total)


def jitted(reader: TraceReader, hot: bool = False) -> tuple[list[JittedRow], int]:
    """The promoted functions (hottest natively first if `hot`) and the number of
    samples."""
    rows: dict[int, JittedRow] = {}
    self_samples: Counter = Counter()
    samples: Counter = Counter()
    native_self: Counter = Counter()
    native_total: Counter = Counter()
    calls: Counter = Counter()
    native_calls: Counter = Counter()
    osr: Counter = Counter()
    nsamples = 0
    native_left = 0            # call-column words still in the current native run
    for ev in reader.events():
        t = type(ev)
        if t is m.Call:
            calls[ev.function] += 1
            if native_left > 0:
                native_calls[ev.function] += 1
                native_left -= 2
        elif t is m.Return:
            if native_left > 0:
                native_left -= 1
        elif t is m.NativeCalls:
            native_left = ev.words
            if ev.osr >= 0:
                osr[ev.osr] += 1
        elif t is m.Sample:
            nsamples += 1
            if ev.stack:
                frames = reader.frames(ev.stack)
                self_samples[frames[-1].function] += 1
                for fid in {f.function for f in frames}:
                    samples[fid] += 1
                if ev.native:
                    native_self[frames[-1].function] += 1
                    for fid in {f.function for f in frames[-ev.native:]}:
                        native_total[fid] += 1
        elif t is m.JitCompile and ev.function not in rows:
            f = reader.function(ev.function)
            rows[ev.function] = JittedRow(ev.function, f.name, f.file, f.line, ev.tier, ev.ts,
                                          ev.duration, ev.code_bytes, ev.address)
        elif t is m.TierChange and ev.function in rows:
            rows[ev.function].tier = ev.new
    out = list(rows.values())
    for r in out:
        fi = r.function
        r.self_samples = self_samples[fi]
        r.samples = samples[fi]
        r.calls = calls[fi]
        r.native_calls = native_calls[fi]
        r.osr = osr[fi]
        r.native_samples = native_self[fi]
        r.native_total = native_total[fi]
    if hot:
        out.sort(key=lambda r: (-r.native_samples, -r.native_total, -r.native_calls, -r.osr,
                                -r.self_samples, -r.samples, -r.calls, r.compiled_at))
    return out, nsamples


def render(reader: TraceReader, rows: list[JittedRow], nsamples: int) -> str:
    if not rows:
        return (f"{reader.path}: no function was compiled to native code (the run had "
                "--jit=off, or nothing got hot)\n")
    profile = reader.mode == "profile"
    total_ms = sum(r.compile_ns for r in rows) / 1e6
    lines = [f"{reader.path}: {len(rows)} functions native, {total_ms:.1f} ms compiling"]
    if profile:
        heat = f"{'native':>7} {'ntotal':>7} {'self':>6} {'total':>6}"
    else:
        heat = f"{'native calls':>13} {'osr':>5} {'calls':>11}"
    lines.append(f"{'function':<32} {'tier':<6} {'compile ms':>10} {'bytes':>7} "
                 f"{'at s':>8} {heat}  where")
    for r in rows:
        if profile:
            pct = (r.self_samples / nsamples * 100) if nsamples else 0.0
            npct = (r.native_samples / nsamples * 100) if nsamples else 0.0
            hotness = f"{npct:6.1f}% {r.native_total:>7} {pct:5.1f}% {r.samples:>6}"
        else:
            hotness = f"{r.native_calls:>13,} {r.osr:>5,} {r.calls:>11,}"
        lines.append(f"{r.name[:32]:<32} {r.tier:<6} {r.compile_ns / 1e6:>10.2f} "
                     f"{r.code_bytes:>7} {r.compiled_at / 1e9:>8.3f} {hotness}  "
                     f"{r.file}:{r.line}")
    idle = [r.name for r in rows if not r.ran_natively]
    if idle:
        what = ("no sample in native code" if profile else "compiled, never ran natively")
        lines.append(f"{what}: {', '.join(idle)}")
    if profile:
        lines.append("native: samples taken with the function innermost in native code; "
                     "ntotal: with it among the native frames; self, total: all samples")
    else:
        lines.append("native calls: its calls that ran in native code; osr: native code "
                     "entered at its loops; calls: all its calls")
    return "\n".join(lines) + "\n"
