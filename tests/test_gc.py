"""The collector as the VM runs it: at safepoints (slice ends and the retry of an
allocation that found the heap full), with roots over every fiber.

`--gc-stress` collects at every safepoint, so a value the root scan misses is reclaimed
while still in use and the program fails: the whole corpus must pass under it."""

from __future__ import annotations

import io

import pytest

from compiler.lower import compile_file
from runtime.run import run_program
from tests.test_programs import CORPUS, run_in_process
from vyndbg.cli import main

# A stack overflow under --gc-stress scans 20,000 frames at each of 20,000 calls.
TOO_SLOW_UNDER_STRESS = {"run/panic_stack_overflow"}
STRESSED = [p for p in CORPUS
            if p.expectation(".diag") is None and p.id not in TOO_SLOW_UNDER_STRESS]


@pytest.mark.slow
@pytest.mark.parametrize("program", STRESSED, ids=[p.id for p in STRESSED])
def test_the_corpus_runs_the_same_when_the_collector_runs_at_every_safepoint(
        program, capsys, monkeypatch):
    monkeypatch.setattr("tests.test_programs.TIMEOUT", 120)   # a collection per safepoint
    # Bytecode only: this test is about the collector's roots (the JIT has its own parity
    # tests), and a time limit's signal must not land inside native code's callbacks.
    monkeypatch.setattr("tests.test_programs.main",
                        lambda argv: main([argv[0], "--gc-stress", "--jit=off", *argv[1:]]))
    code, out, err = run_in_process(program, capsys, monkeypatch)
    assert out == (program.expectation(".out") or "")
    assert code == int((program.expectation(".code") or "0").strip())
    expected_err = program.expectation(".err")
    if expected_err is not None:
        assert err == expected_err


def run(text: str, **options) -> tuple[int, str, str]:
    program = compile_file("t.vyn", text).program
    assert program is not None
    out, err = io.StringIO(), io.StringIO()
    code = run_program(program, ["t.vyn"], stdout=out, stderr=err, **options)
    return code, out.getvalue(), err.getvalue()


SHORT_STRINGS = """
fn main() {
  var total = 0
  var i = 0
  while i < 100000 {
    let s = "item " + i.to_string()
    total += s.len()
    i += 1
  }
  println(total)
}
"""


def test_short_lived_garbage_never_exhausts_a_small_heap():
    code, out, err = run(SHORT_STRINGS, heap_limit=1 << 20)
    assert (code, out, err) == (0, "988890\n", "")


def test_gc_trace_prints_one_line_per_collection():
    code, out, err = run(SHORT_STRINGS, heap_limit=1 << 20, gc_trace=True)
    assert code == 0
    lines = err.splitlines()
    assert lines and all(line.startswith("[gc] #") and " full (" in line and
                         "objects freed, pause " in line for line in lines)


def test_a_heap_too_small_for_the_live_data_still_runs_out_of_memory():
    code, _, err = run("""
fn main() {
  var keep = vec![""]
  var i = 0
  while true {
    keep.push("string number " + i.to_string())
    i += 1
  }
}
""", heap_limit=1 << 20)
    assert code == 101
    assert err.startswith("panic: out of memory\n")


def test_values_held_by_waiting_fibers_and_queues_survive_collections():
    code, out, _ = run("""
template Keeper {
  var seen: Vec<String> = vec![]
  fn handle(&mut self, s: String) { self.seen.push(s) }
}
fn main() {
  let ch: Channel<String> = Channel::unbounded()
  let k = actor Keeper()
  for i in 0..<50 {
    ch.send("queued " + i.to_string())
    k.send("mail " + i.to_string())
  }
  ch.close()
  let t = spawn(fn() -> Int {
    var n = 0
    while let Some(s) = ch.recv() { n += s.len() }
    n
  })
  let words = vec!["a", "bb", "ccc"].map(fn(w: String) -> String { w + "!" })
  println(await t)
  println(words)
}
""", gc_stress=True)
    assert code == 0
    assert out == "440\n[\"a!\", \"bb!\", \"ccc!\"]\n"


def test_gc_stress_and_trace_reach_the_runtime_from_the_command_line(tmp_path, monkeypatch,
                                                                    capsys):
    (tmp_path / "p.vyn").write_text(SHORT_STRINGS.replace("100000", "20000"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--heap-limit", "1m", "--gc-trace", "p.vyn"]) == 0
    out, err = capsys.readouterr()
    assert out == "188890\n"
    assert err.startswith("[gc] #1 full (allocation): ")


REF_CYCLE = """
class Peer {
  var name: String
  var other: Option<ref<Peer>> = None
}
class Box {
  var item: ref<Peer>
}
fn pair() {
  let a = Peer("a")
  let b = Peer("b")
  a.other = Some(ref(b))
  b.other = Some(ref(a))
}
fn main() {
  pair()
  let keep = Box(ref(Peer("kept")))
  var i = 0
  while i < 5000 { i += 1 }
  println(keep.item.name)
}
"""


def test_ref_counts_release_at_zero_and_a_full_collection_reclaims_cycles():
    program = compile_file("t.vyn", REF_CYCLE).program
    out = io.StringIO()
    from runtime.vm import VM

    vm = VM(program, stdout=out, stderr=io.StringIO())
    vm.run_main()
    assert out.getvalue() == "kept\n"
    peer = next(h for h, t in enumerate(vm.heap_tid) if t and vm.types[h].name == "Peer")
    peers = [o for o in vm.heap.walk() if o.type_id == vm.heap_tid[peer]]
    # The cycle's counts never reach zero (each holds the other), nor does the kept one's.
    assert sorted(vm.heap.rc_count(o.addr) for o in peers) == [1, 1, 1]
    vm.collect("requested", full=True)
    # Nothing reaches them once main has returned: the collector reclaims the cycle too.
    assert [o for o in vm.heap.walk() if o.type_id == vm.heap_tid[peer]] == []
