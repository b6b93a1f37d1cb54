"""The scheduler and the resumable interpreter at the runtime layer (no CLI, no debugger):
slices of 2000 reductions, fibers resumed inside builtins that call closures or wait,
program end, deadlocks, and calls the debugger makes outside the scheduler."""

from __future__ import annotations

import io

import pytest

from compiler.lower import compile_file
from runtime import sched as rs
from runtime.errors import VynPanic
from runtime.vm import VM, WouldBlock


def make_vm(text: str) -> tuple[VM, io.StringIO, io.StringIO]:
    out = compile_file("t.vyn", text)
    assert out.program is not None, [d.message for d in out.diagnostics]
    stdout, stderr = io.StringIO(), io.StringIO()
    return VM(out.program, stdout=stdout, stderr=stderr), stdout, stderr


def run(text: str, **options) -> tuple[str, VM]:
    vm, stdout, _ = make_vm(text)
    vm.sched.keep_history = True
    for name, value in options.items():
        setattr(vm, name, value)
    vm.run_main()
    return stdout.getvalue(), vm


def test_two_tasks_switch_after_exactly_one_slice_of_reductions():
    # Each iteration of the loop is one back-edge: a task prints SLICE - 1 lines before
    # its slice ends (one reduction is its own start), then the other task runs.
    out, _ = run("""
fn count(name: String) {
  var i = 0
  while i < 3000 {
    println("{} {}", name, i)
    i += 1
  }
}
fn main() {
  spawn(fn() { count("a") })
  spawn(fn() { count("b") })
}
""")
    lines = out.splitlines()
    assert len(lines) == 6000
    firsts = [i for i, line in enumerate(lines) if i == 0 or line[0] != lines[i - 1][0]]
    runs = [(lines[i][0], (firsts + [len(lines)])[k + 1] - i) for k, i in enumerate(firsts)]
    # task a: its start (1) + the call of `count` (1) + 1998 back-edges = 1998 lines
    # before it yields; then b the same; then each finishes.
    assert runs == [("a", 1998), ("b", 1998), ("a", 1002), ("b", 1002)]


def test_a_slice_can_end_inside_a_closure_that_map_calls_and_resume_there():
    out, vm = run("""
fn spin(n: Int) -> Int {
  var i = 0
  while i < n { i += 1 }
  n
}
fn main() {
  let t = spawn(fn() -> Vec<Int> { vec![1500, 1500, 1500].map(fn(x: Int) -> Int { spin(x) }) })
  spawn(fn() { println("other") })
  println(await t)
}
""")
    assert out == "other\n[1500, 1500, 1500]\n"


def test_a_closure_called_by_map_can_block_and_be_resumed():
    out, _ = run("""
fn main() {
  let ch: Channel<Int> = Channel::unbounded()
  let t = spawn(fn() -> Vec<Int> {
    vec![1, 2, 3].map(fn(x: Int) -> Int { x + ch.recv().unwrap() })
  })
  for i in 0..<3 { ch.send(i * 10) }
  println(await t)
}
""")
    assert out == "[1, 12, 23]\n"


def test_a_deadlock_reports_every_blocked_fiber_with_its_frames():
    vm, _, _ = make_vm("""
fn main() {
  let ch: Channel<Int> = Channel::unbounded()
  spawn fn waiter() {
    println(ch.recv())
  }
  let other: Channel<Int> = Channel::unbounded()
  other.recv()
}
""")
    with pytest.raises(rs.Deadlock) as info:
        vm.run_main()
    blocked = info.value.blocked
    assert [(b.fiber.id, b.fiber.name, b.fiber.wait.what) for b in blocked] == [
        (1, "main", "receiving from channel #2"), (2, "task 2", "receiving from channel #1")]
    assert [fn.name for fn, _ in blocked[1].frames] == ["main::waiter"]


def test_the_program_ends_while_actors_are_idle_and_workers_wait_for_jobs():
    out, vm = run("""
template Echo {
  fn handle(&mut self, n: Int) { println(n) }
}
fn main() {
  let e = actor Echo()
  e.send(1)
  let pool = ThreadPool<Int>(3)
  let t = pool.submit(fn() -> Int { 7 })
  println(t.join())
}
""")
    assert out == "1\n7\n"
    states = {f.name: f.state for f in vm.sched.fibers}
    assert states == {"main": rs.FINISHED, "actor Echo#2": rs.IDLE, "thread 3": rs.IDLE}


def test_a_bounded_mailbox_suspends_the_sender_until_the_actor_takes_a_message():
    out, vm = run("""
template Slow {
  fn handle(&mut self, n: Int) { println("got {}", n) }
}
fn main() {
  let a = actor[1] Slow()
  for i in 0..<3 {
    a.send(i)
    println("sent {}", i)
  }
}
""")
    assert out == "sent 0\ngot 0\nsent 1\ngot 1\nsent 2\ngot 2\n"
    assert [m.received_by for m in vm.sched.messages] == [2, 2, 2]


def test_a_panic_in_an_actor_names_the_fiber():
    vm, _, _ = make_vm("""
template Bad {
  fn handle(&mut self, n: Int) { println(10 / n) }
}
fn main() {
  let a = actor Bad()
  a.send(0)
}
""")
    with pytest.raises(VynPanic) as info:
        vm.run_main()
    assert info.value.fiber.name == "actor Bad#2"
    assert [fn.name for fn, _ in info.value.frames] == ["Bad::handle"]


def test_a_call_the_debugger_makes_that_would_wait_raises_would_block():
    vm, _, _ = make_vm("""
fn take(ch: Channel<Int>) -> Int { ch.recv().unwrap() }
fn main() {
  let ch: Channel<Int> = Channel::unbounded()
  println(take(ch))
}
""")
    fidx = next(f.index for f in vm.functions if f.name == "take")
    handle = vm.builtins["Channel::unbounded"](vm, [], vm.types[vm.type_id("channel")])
    with pytest.raises(WouldBlock) as info:
        vm.call_function(fidx, [handle])
    assert info.value.what == "receiving from channel #1"
    assert vm.nesting == 0


def test_ten_thousand_actors_pass_a_message_along_a_ring():
    out, vm = run("""
template Node {
  var next: Option<Actor<Node>> = None
  fn handle(&mut self, hops: Int) {
    if hops == 0 {
      println("done")
    } else {
      match self.next {
        Some(n) => n.send(hops - 1)
        None => println("end of the line")
      }
    }
  }
}
fn main() {
  var first = actor Node()
  var i = 0
  while i < 9999 {
    first = actor Node(Some(first))
    i += 1
  }
  first.send(9999)
}
""")
    assert out == "done\n"
    assert len(vm.sched.fibers) == 10_001
    assert vm.sched.messages_total == 10_000
