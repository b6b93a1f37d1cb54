"""The debugger engine sees every fiber as gdb sees threads (and as Erlang's observer
sees processes): which fiber stopped, the others' stacks and states, actor mailboxes,
channels, the message history, stepping that stays in one fiber, thread-specific
breakpoints, scheduler locking, deadlocks and Ctrl-C in a deep recursion.

Engine-level tests: a Vyn program, engine calls, the records they return (no line mode).
"""

from __future__ import annotations

import functools
import io
import threading

import pytest

from compiler.lower import compile_file
from runtime.run import run_program
from vyndbg.engine import Session
from vyndbg.model import DebugError, StopReason

COUNTERS = """\
template Counter {
  var count: Int = 0
  fn handle(&mut self, n: Int) {
    self.count += n
    println("count {}", self.count)
  }
}

fn main() {
  let a = actor Counter()
  let b = actor[4] Counter()
  a.send(1)
  a.send(2)
  b.send(10)
  println("main sent")
}
"""

RELAY = """\
fn relay(name: String, inbox: Channel<Int>, outbox: Channel<Int>) {
  var n = inbox.recv().unwrap()
  while n < 6 {
    println("{} got {}", name, n)
    outbox.send(n + 1)
    n = inbox.recv().unwrap()
  }
  outbox.send(n + 1)
}

fn main() {
  let ab: Channel<Int> = Channel::unbounded()
  let ba: Channel<Int> = Channel::unbounded()
  spawn fn a() {
    relay("a", ba, ab)
  }
  spawn fn b() {
    relay("b", ab, ba)
  }
  ba.send(0)
  println("main done")
}
"""

PIPE = """\
fn main() {
  let ch: Channel<Int> = Channel::bounded(2)
  spawn fn producer() {
    for i in 0..<5 {
      ch.send(i)
    }
    ch.close()
  }
  spawn fn consumer() {
    while let Some(v) = ch.recv() {
      println("got {}", v)
    }
  }
  println("main done")
}
"""

TASKS = """\
fn square(n: Int) -> Int {
  return n * n
}

fn main() {
  let t = spawn(fn() -> Int { square(3) })
  let th: Thread<Int> = Thread::spawn(fn() -> Int { square(4) })
  let pool = ThreadPool<Int>(1)
  let job = pool.submit(fn() -> Int { square(5) })
  println("{} {} {}", await t, th.join(), job.join())
}
"""

DEADLOCK = """\
fn take(ch: Channel<Int>) -> Int {
  ch.recv().unwrap()
}

fn main() {
  let to_a: Channel<Int> = Channel::unbounded()
  let to_b: Channel<Int> = Channel::unbounded()
  let a = spawn(fn() -> Int {
    let v = take(to_a)
    to_b.send(v + 1)
    v
  })
  spawn fn b() {
    let v = take(to_b)
    to_a.send(v + 1)
  }
  println("main waits for task 2")
  println("{}", await a)
}
"""

ACCOUNT = """\
fn check(balance: Int) {
  if balance < 0 {
    panic("balance went negative: " + balance.to_string())
  }
}

template Account {
  var balance: Int = 0
  fn handle(&mut self, amount: Int) {
    self.balance += amount
    check(self.balance)
  }
}

fn main() {
  let account = actor Account(balance=10)
  account.send(5)
  account.send(-20)
  account.send(100)
  println("main done")
}
"""

SPIN = """\
fn count(name: String, n: Int) {
  var i = 0
  while i < n {
    if i % 1000 == 0 {
      println("{} {}", name, i)
    }
    i += 1
  }
  println("{} done", name)
}

fn main() {
  spawn fn a() {
    count("a", 5000)
  }
  spawn fn b() {
    count("b", 5000)
  }
}
"""

MANY = """\
template Cell {
  var v: Int = 0
  fn handle(&mut self, n: Int) {
    self.v += n
  }
}

fn main() {
  var cells: Vec<Actor<Cell>> = vec![]
  for i in 0..<10000 {
    cells.push(actor Cell())
  }
  cells[0].send(1)
  cells[1].send(2)
  println("spawned {}", cells.len())
}
"""

DEEP = """\
fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn down(n: Int) -> Int {
  if n == 0 {
    return fib(60)
  }
  return down(n - 1) + 1
}

fn main() {
  println("{}", down(3000))
}
"""


@functools.cache
def compiled(name: str, source: str):
    output = compile_file(name, source)
    assert output.program is not None, output.diagnostics
    return output.program


@pytest.fixture
def debug():
    """`debug(SOURCE, *breakpoints)`: a Session with those breakpoints set, killed after
    the test."""
    sessions = []

    def make(source: str, *breakpoints: str, name: str = "prog.vyn") -> Session:
        s = Session(compiled(name, source))
        for spec in breakpoints:
            where, _, condition = spec.partition(" if ")
            s.break_at(where, condition or None)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        if s.running:
            s.kill()


def stdout(session: Session) -> str:
    return "".join(o.text for o in session.take_output() if o.stream == "stdout")


def frames(session: Session) -> list[tuple[str, int]]:
    return [(f.function, f.location.line) for f in session.frames()]


# -- which fiber stopped, and the others ---------------------------------------------------

def test_a_stop_in_an_actor_selects_it(debug):
    s = debug(COUNTERS, "Counter::handle")
    ev = s.run()
    assert ev.reason is StopReason.BREAKPOINT
    assert (ev.fiber.id, ev.fiber.kind, ev.fiber.name) == (2, "actor", "actor Counter#2")
    assert ev.fiber.selected and ev.fiber.current and ev.fiber_changed
    assert ev.fiber.template == "Counter"
    assert s.selected_thread == 2
    assert frames(s) == [("Counter::handle", 4)]
    assert [(v.name, v.value.text) for v in s.args()] == [
        ("self", "Counter { count: 0 }"), ("n", "1")]
    assert s.evaluate("self.count + n").text == "1"


def test_fibers_lists_every_fiber_with_its_state(debug):
    s = debug(COUNTERS, "Counter::handle")
    s.run()
    page = s.fibers()
    assert (page.total, page.start, page.groups) == (3, 0, ())
    main, a, b = page.fibers
    assert (main.id, main.kind, main.name, main.state, main.frame) == (
        1, "main", "main", "finished", None)
    assert (a.state, a.mailbox, a.capacity, a.function, a.location.line) == (
        "running", 1, None, "Counter::handle", 4)
    assert a.frame.args[1].value.text == "1"
    assert (b.name, b.state, b.mailbox, b.capacity, b.selected) == (
        "actor Counter#3", "runnable", 1, 4, False)
    assert (b.parent, b.handled) == (1, 0)
    assert s.fiber(3) == b


def test_select_thread_moves_frames_and_expressions_to_that_fiber(debug):
    s = debug(DEADLOCK)
    s.run()
    info = s.select_thread(2)
    assert (info.id, info.selected, s.selected_thread) == (2, True, 2)
    assert frames(s) == [("take", 2), ("main::{lambda@8:17}", 9)]
    assert s.evaluate("ch").type_name == "Channel<Int>"
    s.select_frame(1)
    assert s.selected_frame().function == "main::{lambda@8:17}"
    assert s.frame_detail().frame.level == 1
    s.select_thread(1)
    assert frames(s) == [("main", 18)]
    assert [v.name for v in s.locals()] == ["to_a", "to_b", "a", "b"]


def test_unknown_thread_is_an_error_worded_as_gdb(debug):
    s = debug(COUNTERS, "Counter::handle")
    with pytest.raises(DebugError, match=r"^Unknown thread 1\.$"):
        s.select_thread(1)          # no program yet
    assert s.fibers().total == 0
    s.run()
    with pytest.raises(DebugError, match=r"^Unknown thread 9\.$"):
        s.select_thread(9)
    with pytest.raises(DebugError, match=r"^Unknown thread 0\.$"):
        s.fiber(0)
    assert s.selected_thread == 2


def test_a_fiber_without_frames_has_no_stack(debug):
    s = debug(COUNTERS, "Counter::handle")
    s.run()
    s.select_thread(1)               # main has returned
    assert s.frames() == []
    with pytest.raises(DebugError, match="No stack."):
        s.evaluate("1 + 1")
    with pytest.raises(DebugError, match="without a live selected thread"):
        s.next()


def test_fiber_changed_compares_with_the_fiber_selected_at_the_resume(debug):
    s = debug(COUNTERS, "Counter::handle")
    assert s.run().fiber_changed                 # main -> actor 2
    ev = s.cont()                                # actor 2 handles its second message
    assert (ev.fiber.id, ev.fiber_changed) == (2, False)
    ev = s.cont()
    assert (ev.fiber.id, ev.fiber_changed) == (3, True)
    assert s.frames()[0].args[1].value.text == "10"
    s.select_thread(1)
    s.delete()
    s.break_at("Counter::handle")
    ev = s.run()
    assert ev.fiber.id == 2 and ev.fiber_changed
    s.select_thread(3)
    ev = s.cont()                                # stops in 2 while 3 was selected
    assert (ev.fiber.id, ev.fiber_changed, s.selected_thread) == (2, True, 2)


# -- filters, groups, pages ---------------------------------------------------------------

def test_filters_and_groups_as_delve_goroutines(debug):
    s = debug(TASKS, "square")
    s.run()
    assert [f.id for f in s.fibers(state="runnable").fibers] == [3, 4]
    assert [f.id for f in s.fibers(kind="thread").fibers] == [3, 4]
    assert [f.name for f in s.fibers(template="pool #1").fibers] == ["thread 4"]
    assert [f.id for f in s.fibers(location="square").fibers] == [2]
    assert [f.id for f in s.fibers(location="prog.vyn:10").fibers] == [1]
    assert [f.id for f in s.fibers(without=("kind", "thread")).fibers] == [1, 2]
    assert [f.id for f in s.fibers(without=[("kind", "thread"), ("state", "blocked")]
                                   ).fibers] == [2]
    assert s.fibers(state="blocked", kind="main").fibers[0].waiting == "waiting for task 2"
    page = s.fibers(group_by="state")
    assert page.groups == (("runnable", 2), ("blocked", 1), ("running", 1))
    assert s.fibers(group_by="kind", count=0).groups == (("thread", 2), ("main", 1),
                                                         ("task", 1))
    assert s.fibers(group_by="template").groups == (("(none)", 3), ("pool #1", 1))
    assert s.fibers(group_by="location").groups[0] == ("(none)", 2)


def test_pages(debug):
    s = debug(TASKS, "square")
    s.run()
    page = s.fibers(start=1, count=2)
    assert (page.total, page.start, [f.id for f in page.fibers]) == (4, 1, [2, 3])
    assert s.fibers(start=3, count=5).fibers[0].id == 4
    assert s.fibers(start=9).fibers == ()


def test_sorted_pages_as_observer_sorts_processes(debug):
    s = debug(COUNTERS, "Counter::handle")
    s.run()
    s.cont()                              # actor 2: one message handled, none queued
    assert [f.id for f in s.fibers(sort_by="mailbox", descending=True).fibers] == [3, 2, 1]
    assert [f.id for f in s.fibers(sort_by="mailbox").fibers] == [2, 3, 1]
    assert [f.id for f in s.fibers(sort_by="state").fibers] == [2, 3, 1]
    assert [f.id for f in s.fibers(sort_by="state", descending=True).fibers] == [1, 3, 2]
    assert [f.id for f in s.fibers(descending=True, start=1).fibers] == [2, 1]
    assert [f.id for f in s.fibers(sort_by="reductions", kind="actor").fibers] == [2, 3]
    with pytest.raises(DebugError, match='Unknown sort "size"'):
        s.fibers(sort_by="size")


def test_bad_filters_are_errors(debug):
    s = debug(TASKS, "square")
    s.run()
    with pytest.raises(DebugError, match='Invalid state "sleeping"'):
        s.fibers(state="sleeping")
    with pytest.raises(DebugError, match='Unknown field "colour"'):
        s.fibers(group_by="colour")
    with pytest.raises(DebugError, match='Unknown field "colour"'):
        s.fibers(without=("colour", "red"))


def test_ten_thousand_actors(debug):
    s = debug(MANY, "15")
    s.run()
    page = s.fibers(state="idle", count=20)
    assert page.total == 9998
    assert [f.id for f in page.fibers] == list(range(4, 24))
    assert all(f.mailbox == 0 and f.frame is None for f in page.fibers)
    assert s.fibers(state="runnable", count=20).total == 2
    assert s.fibers(group_by="state", count=0).groups == (
        ("idle", 9998), ("runnable", 2), ("running", 1))
    assert s.fibers(kind="actor", start=9990, count=20).fibers[-1].id == 10001
    assert [m.value for m in s.mailbox(3)] == ["2"]


# -- actors, channels, messages -------------------------------------------------------------

def test_mailbox_lists_the_queued_messages_oldest_first(debug):
    s = debug(COUNTERS, "Counter::handle")
    s.run()
    (m,) = s.mailbox(2)
    assert (m.id, m.sender, m.sender_name, m.target, m.receiver, m.receiver_name, m.value,
            m.received_step) == (2, 1, "main", "actor", 2, "actor Counter#2", "2", None)
    assert s.handling(2).value == "1"
    assert [m.value for m in s.mailbox(3)] == ["10"]
    assert s.handling(3) is None
    with pytest.raises(DebugError, match=r"^Thread 1 \(main\) is not an actor\.$"):
        s.mailbox(1)
    with pytest.raises(DebugError, match="Unknown thread 7."):
        s.mailbox(7)


def test_channels(debug):
    s = debug(PIPE, "11")
    s.run()
    (ch,) = s.channels()
    assert (ch.id, ch.type_name, ch.capacity, ch.closed, ch.queued, ch.sent, ch.received) == (
        1, "Channel<Int>", 2, False, ("1",), 2, 1)
    assert (ch.senders, ch.receivers) == ((), ())
    assert s.evaluate("v").text == "0"
    s.delete()
    s.break_at("7")                     # ch.close() in the producer
    s.cont()
    (ch,) = s.channels()
    assert (ch.closed, ch.sent, ch.queued) == (False, 5, ("4",))
    s.delete()
    s.break_at("11")
    s.cont()
    (ch,) = s.channels()
    assert (ch.closed, ch.queued, ch.received, s.evaluate("v").text) == (True, (), 5, "4")


def test_blocked_fibers_are_listed_on_their_channel(debug):
    s = debug(DEADLOCK)
    s.run()
    assert [(c.id, c.receivers, c.senders) for c in s.channels()] == [
        (1, (2,), ()), (2, (3,), ())]


def test_message_history(debug):
    s = debug(COUNTERS, "Counter::handle")
    s.run()
    s.cont()
    s.cont()
    sent = s.messages()
    assert [(m.id, m.sender_name, m.receiver_name, m.value) for m in sent] == [
        (1, "main", "actor Counter#2", "1"), (2, "main", "actor Counter#2", "2"),
        (3, "main", "actor Counter#3", "10")]
    assert sent[0].received_by == "actor Counter#2" and sent[0].received_step is not None
    assert [m.id for m in s.messages(fiber=3)] == [3]
    assert [m.id for m in s.messages(fiber=1)] == [1, 2, 3]
    assert [m.id for m in s.messages(limit=2)] == [2, 3]
    assert [m.id for m in s.messages(fiber=2, limit=1)] == [2]
    assert s.messages_total() == 3
    with pytest.raises(DebugError, match="Unknown thread 5."):
        s.messages(fiber=5)


def test_channel_messages_name_the_fiber_that_took_them(debug):
    s = debug(RELAY, "4")
    s.run()
    first = s.messages()[0]
    assert (first.sender_name, first.target, first.receiver_name, first.value,
            first.received_by) == ("main", "channel", "channel #2", "0", "task 2")


# -- stepping stays in its fiber -----------------------------------------------------------

def test_next_stays_in_the_fiber_it_started_in(debug):
    s = debug(RELAY, "4")
    ev = s.run()
    assert (ev.fiber.id, s.evaluate("n").text) == (2, "0")
    s.delete()
    lines = []
    for _ in range(4):
        ev = s.next()
        assert (ev.reason, ev.fiber.id, ev.fiber_changed) == (StopReason.STEP, 2, False)
        lines.append(ev.frame.location.line)
    assert lines == [5, 6, 3, 4]        # task 3 ran the same lines meanwhile
    assert "b got 1" in stdout(s)
    assert s.evaluate("n").text == "2"


def test_a_breakpoint_in_another_fiber_ends_a_step(debug):
    s = debug(RELAY, "4")
    s.run()
    s.next()
    s.next()
    ev = s.next()                       # over `recv`: task 3 reaches line 4 first
    assert (ev.reason, ev.fiber.id, ev.fiber_changed) == (StopReason.BREAKPOINT, 3, True)


def test_step_and_finish_in_the_selected_fiber(debug):
    s = debug(RELAY, "4 if n == 2")
    s.run()                               # task 2 at line 4; task 3 blocked at line 6
    s.select_thread(3)
    assert frames(s) == [("relay", 6), ("main::b", 18)]
    ev = s.next()
    assert (ev.reason, ev.fiber.id, ev.frame.location.line) == (StopReason.STEP, 3, 3)
    s.delete()
    ev = s.finish()
    assert (ev.reason, ev.fiber.id, ev.frame.function) == (StopReason.FINISH, 3, "main::b")


def test_breakpoint_for_one_thread(debug):
    s = debug(RELAY, "relay")
    s.run()                               # task 2 enters relay; task 3 has not started
    s.delete()
    with pytest.raises(DebugError, match=r"^Unknown thread 99\.$"):
        s.break_at("4", thread=99)
    bp = s.break_at("4", thread=3)
    assert bp.thread == 3
    assert s.breakpoints()[0].thread == 3
    ev = s.cont()
    assert (ev.reason, ev.fiber.id, s.evaluate("n").text) == (StopReason.BREAKPOINT, 3, "1")
    assert s.cont().fiber.id == 3
    assert s.evaluate("n").text == "3"


def test_scheduler_locking(debug):
    s = debug(SPIN, "5 if i == 1000")
    s.run()
    assert s.scheduler_locking == "replay"
    with pytest.raises(DebugError, match='^Undefined item: "sometimes".$'):
        s.set_scheduler_locking("sometimes")
    s.set_scheduler_locking("on")
    s.delete()
    assert s.cont().reason is StopReason.EXITED
    text = stdout(s)
    assert text.index("a done") < text.index("b 0")    # task 3 waited for task 2
    assert s.vm.sched.lock is None or s.state.state == "exited"


def test_scheduler_locking_off_lets_other_fibers_run(debug):
    s = debug(SPIN, "5 if i == 1000")
    s.run()
    s.set_scheduler_locking("off")
    s.delete()
    s.cont()
    text = stdout(s)
    assert text.index("b 0") < text.index("a done")


def test_scheduler_locking_step_locks_only_steps(debug):
    s = debug(SPIN, "5 if i == 1000")
    s.run()
    s.set_scheduler_locking("step")
    s.take_output()
    ev = s.advance("9")                 # 4000 more iterations: two slice ends
    assert (ev.reason, ev.fiber.id) == (StopReason.STEP, 2)
    assert stdout(s) == "a 1000\na 2000\na 3000\na 4000\n"
    assert s.vm.sched.lock is None      # only while the program runs
    s.delete()
    s.break_at("9")
    s.cont()                            # not a step: task 3 runs too
    assert "b 0\n" in stdout(s)


# -- deadlock, panic, interrupt -------------------------------------------------------------

def test_deadlock_stops_with_the_first_blocked_fiber_selected(debug):
    s = debug(DEADLOCK)
    ev = s.run()
    assert ev.reason is StopReason.DEADLOCK
    assert ev.message == "deadlock: all fibers are blocked"
    assert (ev.fiber.id, ev.fiber.state, ev.fiber.waiting) == (1, "blocked",
                                                               "waiting for task 2")
    assert ev.report.splitlines() == [
        "panic: deadlock: all fibers are blocked",
        "fiber 1 (main), blocked waiting for task 2:",
        "  at main (prog.vyn:18)",
        "fiber 2 (task 2), blocked receiving from channel #1:",
        "  at take (prog.vyn:2)",
        "  at main::{lambda@8:17} (prog.vyn:9)",
        "fiber 3 (task 3), blocked receiving from channel #2:",
        "  at take (prog.vyn:2)",
        "  at main::b (prog.vyn:14)",
    ]
    assert s.fibers(state="blocked").total == 3
    assert frames(s) == [("main", 18)]
    with pytest.raises(DebugError, match="would have to wait .receiving from channel #1."):
        s.evaluate("take(to_a)")
    s.take_output()
    end = s.cont()
    assert (end.reason, end.exit_code) == (StopReason.EXITED, 101)
    assert "".join(o.text for o in s.take_output() if o.stream == "stderr") == ev.report


def test_panic_in_an_actor_stops_in_the_actor(debug):
    s = debug(ACCOUNT)
    ev = s.run()
    assert (ev.reason, ev.message) == (StopReason.PANIC,
                                       "balance went negative: -5")
    assert (ev.fiber.id, ev.fiber.name, s.selected_thread) == (2, "actor Account#2", 2)
    assert frames(s) == [("check", 3), ("Account::handle", 11)]
    assert "  in actor Account#2\n" in ev.report
    assert [m.value for m in s.mailbox(2)] == ["100"]
    assert s.handling(2).value == "-20"
    s.take_output()
    assert s.cont().exit_code == 101
    assert "".join(o.text for o in s.take_output() if o.stream == "stderr") == ev.report


@pytest.mark.parametrize("source", [ACCOUNT, DEADLOCK], ids=["panic", "deadlock"])
def test_the_report_is_what_vyn_run_prints(debug, source):
    out, err = io.StringIO(), io.StringIO()
    assert run_program(compiled("prog.vyn", source), ["prog.vyn"], stdout=out,
                       stderr=err) == 101
    assert debug(source).run().report == err.getvalue()


def test_interrupt_stops_a_deep_recursion(debug):
    s = debug(DEEP)
    timer = threading.Timer(0.3, s.interrupt)
    timer.start()
    try:
        ev = s.run()
    finally:
        timer.cancel()
    assert ev.reason is StopReason.INTERRUPT
    assert ev.fiber.id == 1
    stack = s.frames()
    assert stack[0].function == "fib"
    assert sum(f.function == "down" for f in stack) == 3001
    assert stack[-1].function == "main"
