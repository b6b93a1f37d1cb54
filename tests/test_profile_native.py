"""Stack samples in native code (docs/tracing.md "Profiles", docs/native.md "Call events").

A profile (`vyn run --profile`, a sample every N reductions) of a program run with the
JIT (`--jit=eager`, and `--jit=auto --jit-threshold=1 --jit-tier=1`) has the same samples
as the same program interpreted (`--jit=off`): as many, in the same fibers, with the same
stacks (functions and lines), whatever runs natively: fibers switching inside native
loops, deep native recursion, native code calling bytecode calling native code, and code
LLVM inlined. The scheduler's own counts (reductions and slices of every fiber, slices
run) are the interpreter's. And a sample due in native code is taken there (`Jit.poll`):
native code leaves (deoptimizes) only where it would without a profile.
"""

from __future__ import annotations

import io

import pytest

from compiler.lower import compile_file
from runtime.jit import JitOptions
from runtime.run import run_program
from tests.test_trace_native import PROGRAMS
from traces import model as m
from traces.reader import TraceReader
from traces.recorder import Recorder

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")

MODES = {
    "off": None,
    "eager": lambda: JitOptions(mode="eager"),
    "auto1": lambda: JitOptions(mode="auto", threshold=1, opt=0),
}

# A loop calling a function whose loop LLVM inlines into its caller (tier 2), and a
# recursion beside it: inlined frames are named from DWARF's inlined subroutines.
INLINED = """
fn leaf(n: Int) -> Int {
  var s = 0
  var i = 0
  while i < n {
    s += i
    i += 1
  }
  return s
}
fn mid(n: Int) -> Int {
  return leaf(n) + 1
}
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn main() {
  var k = 0
  var t = 0
  while k < 300 {
    t += mid(k)
    t += fib(10)
    k += 1
  }
  println("{}", t)
}
"""

CASES = {name: PROGRAMS[name] for name in ("fib", "scheduling", "deep", "mixed")}
CASES["inlined"] = INLINED


def profile(tmp_path, source: str, mode: str, every: int | None) -> dict:
    """Run `source` (profiled every `every` reductions, or not at all): its output, its
    CPU samples as (fiber, ((function, line), ...), native frames), the scheduler's
    counts, and the JIT's counters."""
    program = compile_file("p.vyn", source).program
    path = tmp_path / f"{mode}-{every}.vprof"
    rec = Recorder(str(path), sample_every=every) if every else None
    vms = []

    def attach(vm):
        vms.append(vm)
        return rec.attach(vm) if rec is not None else None

    options = MODES[mode]() if MODES[mode] else None
    out = io.StringIO()
    code = run_program(program, ["p.vyn"], stdout=out, stderr=io.StringIO(),
                       events=attach, jit=options)
    samples = []
    if rec is not None:
        rec.close(code)
        with TraceReader(str(path)) as reader:
            for e in reader.events():
                if type(e) is m.Sample and e.cpu:
                    frames = tuple((reader.function(f.function).name, f.line)
                                   for f in reader.frames(e.stack))
                    samples.append((e.fiber, frames, e.native))
    vm = vms[0]
    sched = vm.sched
    jit = vm.jit
    return {
        "code": code, "out": out.getvalue(), "samples": samples,
        "counts": (sched.step, [(f.id, f.reductions, f.slices) for f in sched.fibers]),
        "exits": jit.exits if jit is not None else None,
        "native_samples": jit.native_samples if jit is not None else 0,
    }


@pytest.mark.parametrize("every", [7, 50])
@pytest.mark.parametrize("mode", ["eager", "auto1"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_native_code_samples_the_interpreters_stacks(tmp_path, name, mode, every):
    want = profile(tmp_path, CASES[name], "off", every)
    got = profile(tmp_path, CASES[name], mode, every)
    assert got["code"] == want["code"] and got["out"] == want["out"]
    assert len(got["samples"]) == len(want["samples"]) > 0
    assert [s[:2] for s in got["samples"]] == [s[:2] for s in want["samples"]]
    assert got["counts"] == want["counts"]
    # Most samples were taken without leaving native code; those in it say so.
    assert got["native_samples"] > len(got["samples"]) // 2
    assert any(s[2] for s in got["samples"]) and not any(s[2] for s in want["samples"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_sample_does_not_deoptimize(tmp_path, name):
    """Native code leaves as often with a sample every 7 reductions as without a profile
    (only where the slice really ends: another fiber runs, a trap, deep recursion)."""
    plain = profile(tmp_path, CASES[name], "eager", None)
    sampled = profile(tmp_path, CASES[name], "eager", 7)
    assert sampled["out"] == plain["out"]
    assert sampled["counts"] == plain["counts"]
    assert sampled["exits"] == plain["exits"]
    assert sampled["native_samples"] > 0


def test_fib_never_leaves_native_code(tmp_path):
    got = profile(tmp_path, PROGRAMS["fib"], "eager", 50)
    # main is interpreted; every sample in twice and fib is taken natively.
    assert got["exits"] == 0
    assert got["native_samples"] == len(got["samples"]) - 1
    deepest = max(got["samples"], key=lambda s: len(s[1]))
    assert deepest[1][:2] == (("main", 8), ("twice", 6))
    assert all(f == ("fib", 4) for f in deepest[1][2:-1])


def test_code_without_the_site_words_leaves_for_the_sample(tmp_path, monkeypatch):
    """Native code that does not say where it is (an image built before) deoptimizes for
    each sample, as it did: the samples are the same."""
    from compiler import native

    monkeypatch.setattr(native._FnEmitter, "where", lambda self, pc, callee: None)
    want = profile(tmp_path, PROGRAMS["fib"], "off", 50)
    got = profile(tmp_path, PROGRAMS["fib"], "eager", 50)
    assert [s[:2] for s in got["samples"]] == [s[:2] for s in want["samples"]]
    assert got["native_samples"] == 0 and got["exits"] > len(got["samples"]) // 2


@pytest.mark.parametrize("name", ["scheduling", "mixed"])
def test_a_trace_and_a_profile_together(tmp_path, name):
    """`--trace` and `--profile` at once: traced code samples without leaving too; the
    trace's events and the profile's samples are the interpreter's."""
    import os
    from contextlib import redirect_stderr, redirect_stdout

    from tests.test_trace_native import in_order
    from vyndbg.cli import main

    def run(args: list[str]) -> tuple:
        d = tmp_path / str(len(list(tmp_path.iterdir())))
        d.mkdir()
        (d / "p.vyn").write_text(PROGRAMS[name], encoding="utf-8")
        old = os.getcwd()
        out = io.StringIO()
        os.chdir(d)
        try:
            with redirect_stdout(out), redirect_stderr(io.StringIO()):
                code = main(["run", *args, "--trace", "t.vtrace", "--profile", "p.vprof",
                             "--sample-every", "50", "p.vyn"])
        finally:
            os.chdir(old)
        with TraceReader(str(d / "t.vtrace")) as reader:
            events = in_order(list(reader.events()))
        with TraceReader(str(d / "p.vprof")) as reader:
            samples = [(e.fiber, [(reader.function(f.function).name, f.line)
                                  for f in reader.frames(e.stack)])
                       for e in reader.events() if type(e) is m.Sample and e.cpu]
        return code, out.getvalue(), events, samples

    want = run(["--jit=off"])
    assert want[3]
    assert run(["--jit=eager"]) == want
    assert run(["--jit=auto", "--jit-threshold=1", "--jit-tier=1"]) == want


def test_an_images_native_code_samples_too(tmp_path):
    """An image's native code (`vyn build`, the build cache's) says where it is too; its
    OSR copies carry no DWARF, so a sample in one of their frames is taken on the rebuilt
    frames instead: the samples are the interpreter's either way."""
    import os

    from vyndbg.cli import _load_program, main

    (tmp_path / "p.vyn").write_text(INLINED, encoding="utf-8")
    image = str(tmp_path / "p.img")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["build", "p.vyn", "-o", image]) == 0
    finally:
        os.chdir(old)
    program = _load_program(image, "never")
    results = []
    for options in (None, JitOptions(mode="auto", image=image)):
        path = tmp_path / f"{len(results)}.vprof"
        rec = Recorder(str(path), sample_every=50)
        vms = []

        def attach(vm, rec=rec, vms=vms):
            vms.append(vm)
            return rec.attach(vm)

        out = io.StringIO()
        assert run_program(program, ["p"], stdout=out, stderr=io.StringIO(),
                           events=attach, jit=options) == 0
        rec.close(0)
        with TraceReader(str(path)) as reader:
            samples = [(e.fiber, [(reader.function(f.function).name, f.line)
                                  for f in reader.frames(e.stack)])
                       for e in reader.events() if type(e) is m.Sample and e.cpu]
        results.append((out.getvalue(), samples, vms[0].jit))
    (want_out, want, _), (got_out, got, jit) = results
    assert got_out == want_out and got == want and want
    assert jit.compilations[0].source == "image" and jit.native_samples > len(got) // 4


def test_a_profile_of_a_cached_run_reads_native_code_without_pyelftools(tmp_path):
    """The DWARF index a profile's native samples use (inlined frames and lines) is kept
    in the build cache beside the code: a profile of a run the cache serves imports no
    pyelftools (about 30 ms), and its samples are the same as when it was computed."""
    import os
    import subprocess
    import sys

    (tmp_path / "p.vyn").write_text(INLINED, encoding="utf-8")
    code = ("import sys\nfrom vyndbg.cli import main\n"
            "main(['run', '--profile', sys.argv[2], sys.argv[1]])\n"
            "print('elftools' in sys.modules)\n")
    env = dict(os.environ, VYN_CACHE=str(tmp_path / "cache"))
    runs = []
    for i in range(3):
        out = tmp_path / f"p{i}.vprof"
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.vyn"), str(out)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        with TraceReader(str(out)) as reader:
            stacks = sorted(tuple((reader.function(f.function).name, f.line)
                                  for f in reader.frames(e.stack))
                            for e in reader.events() if type(e) is m.Sample and e.cpu)
        runs.append((done.stdout.splitlines()[-1], stacks))
    assert runs[0][1] and runs[2][1]
    assert os.listdir(tmp_path / "cache" / "dwarf")
    # The third run: code and DWARF index both from the cache.
    assert runs[2][0] == "False"
    assert {f for s in runs[2][1] for f in s} == {f for s in runs[0][1] for f in s}
