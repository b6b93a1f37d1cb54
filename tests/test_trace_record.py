"""Recording a run: `vyn run --trace` and `--profile` write what the program did, and
`vyn trace info` reads it back; a recording killed with SIGKILL still reads back."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler.lower import compile_file
from runtime.run import run_program
from traces import model as m
from traces.reader import TraceReader
from traces.recorder import DEFAULT_SAMPLE_EVERY, Fanout, Recorder
from vyndbg.cli import main

ROOT = Path(__file__).resolve().parent.parent

CONCURRENT = """
template Echo {
  fn handle(&mut self, n: Int) { println("echo {}", n) }
}
fn work(n: Int) -> Int {
  scoped {
    let s = "x" + n.to_string()
    s.len()
  }
}
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn main() {
  trace_event("app", "start")
  let e = actor Echo()
  let ch: Channel<Int> = Channel::unbounded()
  spawn fn producer() {
    ch.send(work(41))
  }
  let v = ch.recv().unwrap()
  e.send(v)
  e.send(fib(12))
  var words: Vec<String> = vec![]
  var i = 0
  while i < 3000 {
    words.push(i.to_string())
    i += 1
  }
  trace_event("app", "end")
}
"""

PANICS = """
fn inner(n: Int) -> Int {
  if n == 0 { panic("boom") }
  return inner(n - 1)
}
fn main() {
  println("{}", inner(3))
}
"""


def record(tmp_path, source: str, **options) -> tuple[int, str, TraceReader, list]:
    """Run `source` with a Recorder(**options) attached: (exit code, output, reader,
    events)."""
    program = compile_file("t.vyn", source).program
    path = tmp_path / "run.vtrace"
    rec = Recorder(str(path), properties={"program": "t.vyn"}, **options)
    out, err = io.StringIO(), io.StringIO()
    code = run_program(program, ["t.vyn"], stdout=out, stderr=err, events=rec.attach)
    rec.close(code)
    reader = TraceReader(str(path))
    return code, out.getvalue(), reader, list(reader.events())


def of(events: list, kind: type) -> list:
    return [e for e in events if type(e) is kind]


def test_a_trace_holds_calls_fibers_messages_regions_and_user_events(tmp_path):
    code, out, reader, events = record(tmp_path, CONCURRENT, calls=True)
    assert code == 0 and out == "echo 3\necho 144\n"
    assert reader.mode == "trace" and reader.end["exit_code"] == "0"
    names = {f.id: f.name for f in reader.functions.values()}
    spawns = of(events, m.FiberSpawn)
    assert [(s.fiber, s.kind, s.name, s.parent) for s in spawns] == [
        (1, "main", "main", 0), (2, "actor", "actor Echo#2", 1), (3, "task", "task 3", 1)]
    # Calls and returns pair up per fiber, in time order.
    depth: dict[int, list] = {}
    for e in events:
        if type(e) is m.Call:
            depth.setdefault(e.fiber, []).append(names[e.function])
        elif type(e) is m.Return:
            depth[e.fiber].pop()
    assert all(not stack for stack in depth.values())
    calls = [names[e.function] for e in of(events, m.Call)]
    assert calls.count("fib") == 465 and calls.count("Echo::handle") == 2
    assert {e.fiber for e in of(events, m.Call) if names[e.function] == "work"} == {3}
    # Each send is received once, by flow id, later, by the fiber it went to.
    sends = {s.flow: s for s in of(events, m.Send)}
    receives = {r.flow: r for r in of(events, m.Receive)}
    assert sends.keys() == receives.keys() == {1, 2, 3}
    assert all(sends[k].ts <= receives[k].ts for k in sends)
    assert (sends[1].fiber, sends[1].target, receives[1].fiber) == (3, "channel", 1)
    assert (sends[2].target, sends[2].receiver, receives[2].fiber) == ("actor", 2, 2)
    assert [(u.category, u.name) for u in of(events, m.UserEvent)] == [
        ("app", "start"), ("app", "end")]
    exits = of(events, m.RegionExit)
    assert len(of(events, m.RegionEnter)) == 1 and exits[0].nbytes > 0 and exits[0].fiber == 3
    assert of(events, m.FiberBlock)[0].what == "receiving from channel #1"
    assert {(d.fiber, d.state) for d in of(events, m.FiberDone)} >= {(1, "finished"),
                                                                     (2, "idle")}
    runs = of(events, m.FiberRun)
    assert [r.step for r in runs] == sorted(r.step for r in runs) and runs[0].step == 1
    assert of(events, m.HeapCounter) and not of(events, m.Sample)
    times = [e.ts for e in events]
    assert times == sorted(times) and times[0] >= 0


def test_a_profile_samples_cpu_time_and_allocations_without_calls(tmp_path):
    code, _, reader, events = record(tmp_path, CONCURRENT, sample_every=50)
    assert code == 0 and reader.mode == "profile"
    assert not of(events, m.Call) and not of(events, m.Return)
    samples = of(events, m.Sample)
    assert len(samples) > 30
    # CPU samples carry time; allocation samples (no time) the bytes since the last one.
    assert all(s.cpu > 0 for s in samples if not s.alloc)
    assert sum(s.alloc for s in samples) > 3000 * 16
    # Stacks name Vyn functions and lines, outermost first.
    stacks = {tuple((reader.function(n.function).name, n.line) for n in reader.frames(s.stack))
              for s in samples}
    assert any(st and st[0][0] == "main" for st in stacks)
    assert any(name == "fib" for st in stacks for name, _ in st)
    loop_lines = {line for st in stacks for name, line in st if name == "main"}
    assert loop_lines & {27, 28, 29}
    # Messages and fibers are there too.
    assert len(of(events, m.Send)) == 3 and len(of(events, m.FiberSpawn)) == 3


ALLOCATES = """
class Node { var v: Int }
fn churn(n: Int) -> Int {
  var i = 0
  var s = 0
  while i < n {
    let b = Node(i)
    s = s + b.v
    i = i + 1
  }
  s
}
fn compute(n: Int) -> Int {
  if n < 2 { return n }
  return compute(n - 1) + compute(n - 2)
}
fn main() {
  var r = 0
  var k = 0
  while k < 6 {
    r = r + churn(3000)
    r = r + compute(15)
    k = k + 1
  }
  println("{}", r)
}
"""


@pytest.mark.parametrize("jit", ["off", "eager"])
def test_allocation_samples_name_the_stack_that_allocated(tmp_path, jit):
    """Bytes go to the stack that allocated them (`churn`), not to wherever the next CPU
    sample lands (`compute`, which allocates nothing), in the interpreter and in native
    code (whose frame leaves after the allocation for the sample)."""
    from runtime.jit import JitOptions

    program = compile_file("t.vyn", ALLOCATES).program
    path = tmp_path / "a.vprof"
    rec = Recorder(str(path), sample_every=50)
    options = None if jit == "off" else JitOptions(mode=jit)
    out = io.StringIO()
    assert run_program(program, ["t.vyn"], stdout=out, stderr=io.StringIO(),
                       events=rec.attach, jit=options) == 0
    rec.close(0)
    assert out.getvalue() == f"{6 * sum(range(3000)) + 6 * 610}\n"
    reader = TraceReader(str(path))
    samples = of(list(reader.events()), m.Sample)
    by_function: dict[str, int] = {}
    for s in samples:
        if s.alloc:
            assert s.cpu == 0
            frames = reader.frames(s.stack)
            name = reader.function(frames[-1].function).name
            by_function[name] = by_function.get(name, 0) + s.alloc
            assert [reader.function(f.function).name for f in frames] == ["main", "churn"]
            assert frames[-1].line == 7          # `let b = Node(i)`
    assert by_function.keys() == {"churn"} and by_function["churn"] >= 4 * 16 * 1024
    assert any(s.cpu and reader.function(reader.frames(s.stack)[-1].function).name ==
               "compute" for s in samples)


def test_a_panic_is_recorded_with_its_stack(tmp_path):
    code, _, reader, events = record(tmp_path, PANICS, calls=True)
    assert code == 101 and reader.end["exit_code"] == "101"
    (panic,) = of(events, m.Panic)
    assert panic.message == "boom" and panic.fiber == 1
    frames = [(reader.function(n.function).name, n.line) for n in reader.frames(panic.stack)]
    assert frames[0] == ("main", 7) and frames[-1] == ("inner", 3) and len(frames) == 5


def test_a_collection_is_recorded_with_its_bytes(tmp_path):
    churn = """
    fn main() {
      var total = 0
      var i = 0
      while i < 20000 {
        let s = "item " + i.to_string()
        total += s.len()
        i += 1
      }
      println("{}", total)
    }
    """
    program = compile_file("t.vyn", churn).program
    path = tmp_path / "gc.vtrace"
    rec = Recorder(str(path), calls=True)
    assert run_program(program, ["t.vyn"], stdout=io.StringIO(), stderr=io.StringIO(),
                       heap_limit=1 << 20, events=rec.attach) == 0
    rec.close(0)
    gcs = of(list(TraceReader(str(path)).events()), m.Collection)
    assert gcs and all(g.kind in ("minor", "full") and g.duration > 0 for g in gcs)
    assert any(g.freed > 0 and g.after < g.before for g in gcs)


def test_trace_and_profile_together_write_two_files(tmp_path):
    program = compile_file("t.vyn", CONCURRENT).program
    trace = Recorder(str(tmp_path / "t.vtrace"), calls=True)
    profile = Recorder(str(tmp_path / "p.vprof"), sample_every=100)
    assert run_program(program, ["t.vyn"], stdout=io.StringIO(), stderr=io.StringIO(),
                       events=lambda vm: Fanout([trace.attach(vm), profile.attach(vm)])) == 0
    trace.close(0)
    profile.close(0)
    t = list(TraceReader(str(tmp_path / "t.vtrace")).events())
    p = list(TraceReader(str(tmp_path / "p.vprof")).events())
    assert of(t, m.Call) and not of(t, m.Sample)
    assert of(p, m.Sample) and not of(p, m.Call)
    assert len(of(t, m.Send)) == len(of(p, m.Send)) == 3


# -- the command line ------------------------------------------------------------------------

def vyn(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prog.vyn").write_text(CONCURRENT, encoding="utf-8")
    (tmp_path / "panics.vyn").write_text(PANICS, encoding="utf-8")
    return tmp_path


def test_vyn_run_trace_then_trace_info(workdir, capsys):
    code, out, err = vyn(capsys, "run", "--trace", "run.vtrace", "prog.vyn")
    assert (code, out, err) == (0, "echo 3\necho 144\n", "")
    code, out, err = vyn(capsys, "trace", "info", "run.vtrace")
    assert code == 0 and err == ""
    assert out.startswith("run.vtrace: a trace of prog.vyn")
    assert "exited with code 0" in out
    assert "calls:" in out and "sends:           3" in out and "fibers:    3" in out
    assert "actor Echo#2" in out and "fib (prog.vyn:11)" in out


def test_vyn_run_profile_then_trace_info(workdir, capsys):
    code, out, _ = vyn(capsys, "run", "--profile", "run.vprof", "--sample-every", "100",
                       "prog.vyn")
    assert code == 0 and out == "echo 3\necho 144\n"
    code, out, _ = vyn(capsys, "trace", "info", "run.vprof")
    assert code == 0 and "a profile of prog.vyn" in out
    assert "every 100 reductions" in out and "most samples (self CPU):" in out


def test_a_panicking_run_still_closes_its_trace(workdir, capsys):
    code, _, err = vyn(capsys, "run", "--trace", "p.vtrace", "panics.vyn")
    assert code == 101 and "panic: boom" in err
    code, out, _ = vyn(capsys, "trace", "info", "p.vtrace")
    assert code == 0 and "exited with code 101" in out and "panics:" in out


def test_the_default_sampling_rate_is_recorded(workdir, capsys):
    assert vyn(capsys, "run", "--profile", "d.vprof", "prog.vyn")[0] == 0
    assert TraceReader("d.vprof").info["sample_every"] == str(DEFAULT_SAMPLE_EVERY)


@pytest.mark.parametrize("args, message", [
    (["run", "--trace", "nowhere/x.vtrace", "prog.vyn"], "cannot write the trace "
     "'nowhere/x.vtrace': No such file or directory"),
    (["run", "--trace", "a", "--profile", "a", "prog.vyn"], "two different files"),
    (["run", "--sample-every", "10", "prog.vyn"], "--sample-every needs --profile"),
    (["run", "--profile", "a", "--sample-every", "0", "prog.vyn"], "at least 1"),
    (["trace", "info", "missing.vtrace"], "cannot read 'missing.vtrace'"),
    (["trace", "info", "prog.vyn"], "'prog.vyn' is not a Vyn trace"),
    (["trace", "export", "prog.vyn", "--format", "chrome"], "is not a Vyn trace"),
    (["trace", "export", "x", "--format", "png"], "invalid choice: 'png'"),
])
def test_mistakes_get_one_sentence_and_exit_2(workdir, capsys, args, message):
    code, out, err = vyn(capsys, *args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_damaged_trace_gets_one_sentence_and_exit_2(workdir, capsys):
    assert vyn(capsys, "run", "--trace", "t.vtrace", "prog.vyn")[0] == 0
    data = bytearray(Path("t.vtrace").read_bytes())
    data[40] ^= 0xFF
    Path("t.vtrace").write_bytes(bytes(data))
    for args in (["info"], ["export", "--format", "chrome", "-o", "out.json"]):
        code, out, err = vyn(capsys, "trace", args[0], "t.vtrace", *args[1:])
        assert code == 2 and out == "" and err.count("\n") == 1
        assert "'t.vtrace' is damaged at byte" in err and "fails its checksum" in err
    assert not Path("out.json").exists()


# -- killed while recording ------------------------------------------------------------------

FOREVER = """
fn work(n: Int) -> Int {
  if n < 2 { return n }
  return work(n - 1) + work(n - 2)
}
fn main() {
  var total = 0
  while total >= 0 {
    total += work(12)
    trace_event("loop", "round")
  }
}
"""


def _kill_while_recording(tmp_path, option: str) -> Path:
    prog = tmp_path / "forever.vyn"
    prog.write_text(FOREVER, encoding="utf-8")
    out = tmp_path / "killed.vtrace"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "vyndbg.cli", "run", option, str(out),
                             str(prog)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # Wait until several chunks are on disk (one is written at least every 0.2 s).
        while time.monotonic() < deadline:
            if out.exists() and out.stat().st_size > 20_000:
                break
            if proc.poll() is not None:
                pytest.fail(f"the program ended by itself: {proc.stderr.read()!r}")
            time.sleep(0.05)
        else:
            pytest.fail("the trace did not grow within 60 s")
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return out


@pytest.mark.slow
@pytest.mark.parametrize("option", ["--trace", "--profile"])
def test_a_recording_killed_with_sigkill_reads_back(tmp_path, capsys, monkeypatch, option):
    path = _kill_while_recording(tmp_path, option)
    reader = TraceReader(str(path))
    events = list(reader.events())
    assert reader.end is None                   # it never ended cleanly
    assert reader.valid_bytes + (reader.dropped.size if reader.dropped else 0) == reader.size
    assert len(of(events, m.UserEvent)) > 10
    if option == "--trace":
        assert len(of(events, m.Call)) > 1000
    else:
        assert len(of(events, m.Sample)) > 10
    monkeypatch.chdir(tmp_path)
    code, out, err = vyn(capsys, "trace", "info", path.name)
    assert code == 0 and "did not end cleanly" in out
    assert err == "" or ("was cut short" in err and err.count("\n") == 1)
    code, _, _ = vyn(capsys, "trace", "export", path.name, "--format", "chrome", "-o",
                     "killed.json")
    assert code == 0
    import json

    json.loads((tmp_path / "killed.json").read_text(encoding="utf-8"))


def test_vyn_debug_records_the_first_run_with_trace_and_profile(tmp_path, monkeypatch, capsys):
    """`vyn debug --trace/--profile`: the debugger's own calls (a breakpoint's condition)
    are not the program's and are not recorded."""
    from vyndbg.cli import main

    src = tmp_path / "fib.vyn"
    src.write_text("fn fib(n: Int) -> Int {\n  if n < 2 { return n }\n"
                   "  fib(n - 1) + fib(n - 2)\n}\nfn main() {\n  println(fib(10))\n}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["debug", "fib.vyn", "--batch", "--trace", "t.vyntrace", "--profile",
                 "p.vyntrace", "-ex", "break fib if n == 100", "-ex", "run"]) == 0
    capsys.readouterr()
    assert main(["trace", "info", "t.vyntrace"]) == 0
    info = capsys.readouterr().out
    assert "177  fib (fib.vyn:1)" in info and "__vyn_eval__" not in info
    assert main(["trace", "export", "p.vyntrace", "--format", "folded"]) == 0
    assert "fib" in capsys.readouterr().out
