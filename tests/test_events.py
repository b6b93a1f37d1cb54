"""The runtime's event hooks (runtime/events.py), with a recording sink: what a tracer
receives from the interpreter, the scheduler, the collector and regions."""

from __future__ import annotations

import io

from compiler.lower import compile_file
from runtime.events import EventSink
from runtime.vm import VM

PROGRAM = """
template Echo {
  fn handle(&mut self, n: Int) { println("echo {}", n) }
}
fn work(n: Int) -> Int {
  scoped {
    let s = "x" + n.to_string()
    s.len()
  }
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
  var i = 0
  while i < 3000 { i += 1 }
}
"""


class Recorder(EventSink):
    sample_every = 500

    def __init__(self):
        self.events: list[tuple] = []

    def call(self, vm, frame):
        self.events.append(("call", frame.fn.name))

    def ret(self, vm, frame, value):
        self.events.append(("ret", frame.fn.name))

    def fiber_spawn(self, fiber):
        self.events.append(("spawn", fiber.name))

    def fiber_run(self, fiber):
        self.events.append(("run", fiber.name))

    def fiber_block(self, fiber, wait):
        self.events.append(("block", fiber.name, wait.what))

    def fiber_done(self, fiber):
        self.events.append(("done", fiber.name, fiber.state))

    def send(self, message):
        self.events.append(("send", message.id, message.target))

    def receive(self, message, fiber):
        self.events.append(("receive", message.id, fiber.name))

    def gc(self, kind, why, before, after, freed, seconds):
        self.events.append(("gc", kind))

    def region(self, entered, region_id, objects, nbytes):
        self.events.append(("region", entered, objects))

    def user(self, category, name):
        self.events.append(("user", category, name))

    def sample(self, fiber, frames, allocated):
        self.events.append(("sample", fiber.name, frames[0][0].name, allocated > 0))


def run(sink: EventSink) -> str:
    program = compile_file("t.vyn", PROGRAM).program
    out = io.StringIO()
    vm = VM(program, stdout=out, stderr=io.StringIO())
    vm.attach_events(sink)
    vm.run_main()
    vm.collect("requested", full=True)
    return out.getvalue()


def test_a_sink_receives_every_kind_of_event_in_order():
    rec = Recorder()
    assert run(rec) == "echo 3\n"
    ev = rec.events
    kinds = {e[0] for e in ev}
    assert kinds >= {"call", "ret", "spawn", "run", "block", "done", "send", "receive",
                     "region", "user", "sample", "gc"}
    assert ("user", "app", "start") in ev
    assert [e for e in ev if e[0] == "spawn"] == [
        ("spawn", "main"), ("spawn", "actor Echo#2"), ("spawn", "task 3")]
    assert ("block", "main", "receiving from channel #1") in ev
    # Each send is received once, by its flow id, after it was sent.
    sends = {e[1]: i for i, e in enumerate(ev) if e[0] == "send"}
    receives = {e[1]: i for i, e in enumerate(ev) if e[0] == "receive"}
    assert sends.keys() == receives.keys() == {1, 2}
    assert all(sends[k] < receives[k] for k in sends)
    assert ("region", True, 0) in ev and any(e[0] == "region" and not e[1] and e[2] >= 1
                                             for e in ev)
    # Calls and returns pair up per function.
    for name in ("work", "Echo::handle", "main"):
        assert ev.count(("call", name)) == ev.count(("ret", name)) == 1
    assert any(e[0] == "sample" and e[1] == "main" and e[2] == "main" for e in ev)


def test_without_a_sink_nothing_is_recorded_and_the_output_is_the_same():
    program = compile_file("t.vyn", PROGRAM).program
    out = io.StringIO()
    vm = VM(program, stdout=out, stderr=io.StringIO())
    vm.run_main()
    assert out.getvalue() == "echo 3\n"
    assert vm.call_hooks is None and vm.events is None
