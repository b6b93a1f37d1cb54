"""The JIT in traces and profiles: `jit_compile`/`tier_change` events (records 14 and 15),
`vyn trace info`, the chrome export's JIT track, `vyn profile jitted`, and
`vyn run --perf-map` (with a real `perf record` when perf can record here)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.lower import compile_file
from runtime.events import EventSink
from runtime.run import run_program
from traces import model as m
from traces.reader import TraceReader
from traces.recorder import Recorder
from vyndbg.cli import main

ROOT = Path(__file__).resolve().parent.parent

HOT = """
fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn spin(n: Int) -> Int {
  var s = 0
  var i = 0
  while i < n {
    s = s + i % 7
    i = i + 1
  }
  return s
}

fn main() {
  println("{}", fib(20))
  println("{}", spin(ITERS))
}
"""


def source(iters: int = 300_000) -> str:
    return HOT.replace("ITERS", str(iters))


class Collect(EventSink):
    wants_calls = False      # call hooks keep the interpreter from entering native code

    def __init__(self):
        self.got: list[tuple] = []

    def jit_compile(self, function, tier, seconds, code_bytes, address):
        self.got.append(("compile", function.name, tier, seconds, code_bytes, address))

    def tier_change(self, function, old, new):
        self.got.append(("tier", function.name, old, new))


def test_event_sink_defaults_do_nothing():
    sink = EventSink()
    assert sink.jit_compile(None, "tier2", 0.0, 0, 0) is None
    assert sink.tier_change(None, "bytecode", "tier2") is None


def test_records_14_and_15_round_trip(tmp_path):
    """Without the JIT: the recorder writes what it is given, the reader reads it back."""
    program = compile_file("t.vyn", "fn main() { println(\"hi\") }").program
    path = tmp_path / "r.vtrace"
    rec = Recorder(str(path), sample_every=1000)

    class Fn:
        index = 0
        name = "main"

    def events(vm):
        rec.attach(vm)
        rec.jit_compile(Fn, "tier1", 0.0123, 456, 0x7F00DEAD0000)
        rec.tier_change(Fn, "bytecode", "tier1")
        return rec

    code = run_program(program, ["t.vyn"], stdout=io.StringIO(), stderr=io.StringIO(),
                       events=events)
    rec.close(code)
    evs = list(TraceReader(str(path)).events())
    jc = [e for e in evs if type(e) is m.JitCompile]
    tc = [e for e in evs if type(e) is m.TierChange]
    assert [(e.function, e.tier, e.duration, e.code_bytes, e.address) for e in jc] == [
        (0, "tier1", 12_300_000, 456, 0x7F00DEAD0000)]
    assert [(e.function, e.old, e.new) for e in tc] == [(0, "bytecode", "tier1")]


pytest.importorskip("llvmlite", reason="the JIT needs llvmlite")

from runtime.jit import JitOptions  # noqa: E402
from runtime.perfmap import parse_map  # noqa: E402


def test_jit_sends_compile_and_tier_events():
    program = compile_file("t.vyn", source()).program
    sink = Collect()
    out = io.StringIO()
    code = run_program(program, ["t.vyn"], stdout=out, stderr=io.StringIO(),
                       events=lambda vm: sink, jit=JitOptions(mode="auto", threshold=50))
    assert code == 0 and out.getvalue().split() == ["6765", str(sum(i % 7 for i in
                                                                   range(300_000)))]
    compiles = {g[1]: g for g in sink.got if g[0] == "compile"}
    assert {"fib", "spin"} <= set(compiles)
    for name in ("fib", "spin"):
        _, _, tier, seconds, size, address = compiles[name]
        assert tier == "tier2" and seconds > 0 and size > 0 and address > 0
        assert ("tier", name, "bytecode", "tier2") in sink.got
        # The tier change follows its compile.
        assert (sink.got.index(("tier", name, "bytecode", "tier2"))
                > sink.got.index(compiles[name]))


def test_profile_trace_info_chrome_and_profile_jitted(tmp_path, capsys):
    src = tmp_path / "hot.vyn"
    src.write_text(source(2_000_000))
    prof = tmp_path / "p.vtrace"
    assert main(["run", "--profile", str(prof), "--jit-tier", "1", str(src)]) == 0
    capsys.readouterr()
    evs = list(TraceReader(str(prof)).events())
    names = {e.function: e for e in evs if type(e) is m.JitCompile}
    reader = TraceReader(str(prof))
    reader.load_tables()
    compiled = {reader.function(f).name: e for f, e in names.items()}
    assert {"fib", "spin"} <= set(compiled)
    assert all(e.tier == "tier1" and e.code_bytes > 0 and e.address for e in
               compiled.values())

    assert main(["trace", "info", str(prof)]) == 0
    info = capsys.readouterr().out
    assert "jit compiles:" in info and "tier changes:" in info
    assert "functions compiled to native code" in info and "spin: tier1" in info

    chrome = tmp_path / "p.json"
    assert main(["trace", "export", "-f", "chrome", "-o", str(chrome), str(prof)]) == 0
    doc = json.loads(chrome.read_text())
    tids = {e["tid"] for e in doc["traceEvents"] if e.get("args", {}).get("name") == "jit"
            and e["name"] == "thread_name"}
    assert len(tids) == 1
    jit_events = [e for e in doc["traceEvents"] if e.get("cat") == "vyn.jit"]
    assert all(e["ph"] == "i" and e["tid"] in tids for e in jit_events)
    assert {e["args"]["function"] for e in jit_events} >= {"fib", "spin"}
    assert any(e["name"] == "spin: bytecode -> tier1" for e in jit_events)

    assert main(["profile", "jitted", "--hot", str(prof)]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line.split()[0] for line in out[2:]]
    assert rows[0] == "spin" and "fib" in rows        # spin runs far longer
    assert "tier1" in out[2]
    assert main(["profile", "jitted", str(prof)]) == 0
    in_order = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:]]
    assert in_order.index("fib") < in_order.index("spin")     # compiled first


NEVER = """
fn never(n: Int) -> Int { n * 2 }
fn maybe(n: Int) -> Int {
  if n > 100000000 { return never(n) }
  return n
}
"""


def test_profile_jitted_ranks_native_work_and_names_what_never_ran(tmp_path, capsys):
    """From a trace: calls made by native code and OSR entries; from a profile: samples
    taken in native code. Compiled functions that did not run natively are named."""
    src = tmp_path / "hot.vyn"
    src.write_text(source(600_000).replace('println("{}", fib(20))',
                                           'println("{}", fib(20) + maybe(3))') + NEVER)
    trace = tmp_path / "t.vtrace"
    assert main(["run", "--jit=eager", "--trace", str(trace), str(src)]) == 0
    capsys.readouterr()
    assert main(["profile", "jitted", "--hot", str(trace)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "native calls" in out[1] and "osr" in out[1]
    rows = {line.split()[0]: line.split() for line in out[2:] if line.split()[0] in
            ("fib", "spin", "maybe", "never", "main")}
    assert out[2].split()[0] == "fib"                     # the most native calls
    assert rows["fib"][5] == "21,891" and rows["maybe"][5] == "1"
    assert rows["spin"][5] == "1"
    idle = [line for line in out if line.startswith("compiled, never ran natively:")]
    assert idle and "never" in idle[0] and "main" in idle[0] and "fib" not in idle[0]

    # With --jit=auto, spin's loop gets hot in the interpreter: native code is entered
    # there (on-stack replacement), not by a call.
    assert main(["run", "--trace", str(trace), str(src)]) == 0
    capsys.readouterr()
    assert main(["profile", "jitted", "--hot", str(trace)]) == 0
    out = capsys.readouterr().out.splitlines()
    spin = next(line.split() for line in out[2:] if line.startswith("spin "))
    assert spin[5] == "0" and int(spin[6].replace(",", "")) >= 1

    prof = tmp_path / "p.vprof"
    assert main(["run", "--jit=eager", "--profile", str(prof), str(src)]) == 0
    capsys.readouterr()
    assert main(["profile", "jitted", "--hot", str(prof)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "native" in out[1] and out[2].split()[0] == "spin"
    assert float(out[2].split()[5].rstrip("%")) > 50      # samples in its native loop
    reader = TraceReader(str(prof))
    assert any(e.native for e in reader.events() if type(e) is m.Sample)
    assert any(line.startswith("no sample in native code:") and "never" in line
               for line in out)


def test_profile_jitted_without_jit(tmp_path, capsys):
    src = tmp_path / "hot.vyn"
    src.write_text(source(1000))
    prof = tmp_path / "p.vtrace"
    assert main(["run", "--jit=off", "--trace", str(prof), str(src)]) == 0
    capsys.readouterr()
    assert main(["profile", "jitted", "--hot", str(prof)]) == 0
    assert "no function was compiled" in capsys.readouterr().out


def _executable_ranges() -> list[tuple[int, int]]:
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if "x" in parts[1]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                out.append((lo, hi))
    return out


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_perf_map_names_code_inside_mcjit():
    map_path = f"/tmp/perf-{os.getpid()}.map"
    program = compile_file("t.vyn", source()).program
    checked: list[str] = []

    class Check(EventSink):
        wants_calls = False

        def jit_compile(self, function, tier, seconds, code_bytes, address):
            # The map is written as MCJIT loads the code, before this event.
            with open(map_path) as f:
                rows = parse_map(f.read())
            mine = [r for r in rows if r[0] == address]
            assert mine and mine[0][2] == function.name and mine[0][1] > 0
            ranges = _executable_ranges()
            for start, size, _ in rows:
                assert any(lo <= start and start + size <= hi for lo, hi in ranges), \
                    f"{start:x} is not in executable memory"
            checked.append(function.name)

    try:
        code = run_program(program, ["t.vyn"], stdout=io.StringIO(), stderr=io.StringIO(),
                           events=lambda vm: Check(),
                           jit=JitOptions(mode="auto", threshold=50, perf_map=True))
        assert code == 0 and {"fib", "spin"} <= set(checked)
        with open(map_path) as f:
            text = f.read()
        for line in text.splitlines():
            start, size, name = line.split(" ", 2)
            assert not start.startswith("0x") and int(start, 16) and int(size, 16)
        names = {r[2] for r in parse_map(text)}
        assert {"fib", "spin", "fib [entry]", "spin [entry]", "spin [osr entry]"} <= names
    finally:
        if os.path.exists(map_path):
            os.unlink(map_path)


def _recorded_pids(perf: str, data: Path) -> set[int]:
    """The processes `perf record` sampled (to remove exactly their map and dump files:
    the other test worker may be writing its own)."""
    if not data.exists():
        return set()
    out = subprocess.run([perf, "script", "-i", str(data), "-F", "pid", "-G"],
                         capture_output=True, text=True, timeout=120).stdout
    return {int(w) for w in out.split() if w.isdigit()} - {os.getpid()}


def test_perf_record_names_vyn_functions(tmp_path):
    perf = shutil.which("perf")
    if perf is None:
        pytest.skip("perf is not installed (Debian: apt-get install linux-perf)")
    src = tmp_path / "hot.vyn"
    src.write_text(source(30_000_000))
    data = tmp_path / "perf.data"
    cmd = [perf, "record", "-q", "-e", "cpu-clock", "-g", "-o", str(data), "--",
           sys.executable, "-m", "vyndbg.cli", "run", "--perf-map", str(src)]
    try:
        try:
            rec = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.skip("perf record did not finish in 120 s")
        if rec.returncode != 0 or not data.exists() or data.stat().st_size == 0:
            pytest.skip(f"perf cannot record here: {(rec.stderr or '').strip()[-300:]}")
        script = subprocess.run([perf, "script", "-i", str(data), "-F", "ip,sym,dso"],
                                capture_output=True, text=True, timeout=120)
        assert script.returncode == 0, script.stderr
        named = [line for line in script.stdout.splitlines() if ".map)" in line]
        assert any(" spin" in line or " fib" in line for line in named), \
            script.stdout[-2000:]
    finally:
        for pid in _recorded_pids(perf, data):
            Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)


def test_cli_perf_map_option(tmp_path):
    src = tmp_path / "hot.vyn"
    src.write_text(source(100_000))
    proc = subprocess.Popen([sys.executable, "-m", "vyndbg.cli", "run", "--perf-map",
                             "--jit-threshold", "50", str(src)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    path = Path(f"/tmp/perf-{proc.pid}.map")
    try:
        assert proc.returncode == 0, err
        rows = parse_map(path.read_text())
        assert {"fib", "spin"} <= {r[2] for r in rows}
    finally:
        if path.exists():
            path.unlink()


def read_jitdump(data: bytes) -> tuple[tuple, list[tuple]]:
    """(header fields, [(kind, timestamp, body)]) of a jitdump file."""
    import struct

    header = struct.unpack_from("<IIIIIIQQ", data, 0)
    assert header[2] == 40
    pos, out = header[2], []
    while pos < len(data):
        kind, size, ts = struct.unpack_from("<IIQ", data, pos)
        assert size >= 16 and pos + size <= len(data)
        out.append((kind, ts, data[pos + 16:pos + size]))
        pos += size
    return header, out


def test_jitdump_has_code_and_lines():
    import struct

    from runtime.perfmap import JIT_CODE_CLOSE, JIT_CODE_DEBUG_INFO, JIT_CODE_LOAD

    path = Path(f"/tmp/jit-{os.getpid()}.dump")
    program = compile_file("t.vyn", source()).program
    try:
        code = run_program(program, ["t.vyn"], stdout=io.StringIO(), stderr=io.StringIO(),
                           jit=JitOptions(mode="auto", threshold=50, jitdump=True))
        assert code == 0
        header, records = read_jitdump(path.read_bytes())
    finally:
        path.unlink(missing_ok=True)
    assert header[0] == 0x4A695444 and header[1] == 1 and header[3] == 62
    assert header[5] == os.getpid()
    assert records[-1][0] == JIT_CODE_CLOSE
    loads, lines = {}, {}
    for kind, _, body in records:
        if kind == JIT_CODE_LOAD:
            pid, _tid, vma, addr, size, _index = struct.unpack_from("<IIQQQQ", body)
            name_end = body.index(b"\0", 40)
            name = body[40:name_end].decode()
            assert pid == os.getpid() and vma == addr and len(body) == name_end + 1 + size
            loads[name] = addr
        elif kind == JIT_CODE_DEBUG_INFO:
            addr, n = struct.unpack_from("<QQ", body)
            pos, rows = 16, []
            for _ in range(n):
                a, line, _ = struct.unpack_from("<QII", body, pos)
                end = body.index(b"\0", pos + 16)
                rows.append((a, line, body[pos + 16:end].decode()))
                pos = end + 1
            lines[addr] = rows
    assert {"fib", "spin", "fib [entry]", "spin [osr entry]"} <= set(loads)
    # fib's debug info comes before its code and names lines of t.vyn inside fib (2-7).
    fib_rows = lines[loads["fib"]]
    assert {f for _, _, f in fib_rows} == {"t.vyn"}
    assert {ln for _, ln, _ in fib_rows} <= set(range(2, 8)) and len(fib_rows) > 2
    assert all(a >= loads["fib"] for a, _, _ in fib_rows)


def test_perf_inject_jit_names_vyn_functions(tmp_path):
    perf = shutil.which("perf")
    if perf is None:
        pytest.skip("perf is not installed (Debian: apt-get install linux-perf)")
    src = tmp_path / "hot.vyn"
    src.write_text(source(30_000_000))
    data, injected = tmp_path / "perf.data", tmp_path / "perf.jit.data"
    try:
        try:
            rec = subprocess.run([perf, "record", "-q", "-k", "mono", "-e", "cpu-clock", "-g",
                                  "-o", str(data), "--", sys.executable, "-m", "vyndbg.cli",
                                  "run", "--jitdump", str(src)],
                                 cwd=ROOT, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.skip("perf record did not finish in 120 s")
        if rec.returncode != 0 or not data.exists() or data.stat().st_size == 0:
            pytest.skip(f"perf cannot record here: {(rec.stderr or '').strip()[-300:]}")
        inj = subprocess.run([perf, "inject", "--jit", "-i", str(data), "-o", str(injected)],
                             capture_output=True, text=True, timeout=120)
        assert inj.returncode == 0, inj.stderr
        script = subprocess.run([perf, "script", "-i", str(injected), "-F", "ip,sym,dso"],
                                capture_output=True, text=True, timeout=120)
        assert script.returncode == 0, script.stderr
        named = [line for line in script.stdout.splitlines() if "jitted-" in line]
        assert any(" spin" in line or " fib" in line for line in named), \
            script.stdout[-2000:]
    finally:
        for pid in _recorded_pids(perf, data):
            for path in [Path(f"/tmp/jit-{pid}.dump"), *Path("/tmp").glob(f"jitted-{pid}-*.so")]:
                path.unlink(missing_ok=True)
