"""Side exits (docs/native.md, "Side exits"): a function calling a builtin that may wait
or call back into Vyn code (`Channel.recv`, `await`, `Actor.send`, `Vec.map`, ...) is
compiled; native code leaves at that call with the frame at it, and the interpreter runs
the builtin and goes on with the frame.

SEMANTICS' contract holds: the output, the panics with their backtraces, and the
scheduler's interleaving (the trace's calls, slices, blocks and messages, in order) are
the interpreter's, with the side exits deep inside native stacks and in several fibers.
A loop with a side exit (or calling a function that may take one) is no OSR entry, so
the interpreter does not enter native code at every iteration only to leave it again;
another loop of the same function still is one. Calls do not enter native code that
would only leave at once (a side exit before any loop it could run), and a function
with nothing else stays in bytecode, saying why.
"""

from __future__ import annotations

import io
import re

import pytest

from compiler import bytecode as bc
from compiler.lower import compile_file
from tests.test_native import run, same_everywhere
from tests.test_trace_native import calls_by_fiber, in_order, record

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")

# main (bytecode) -> outer -> middle -> inner, native calling native: inner blocks on an
# empty channel (two producers fill it two at a time), so the three native frames leave
# together and go on in bytecode. `mixed`: a loop of receives (no OSR entry), then a
# plain loop (an OSR entry, entered once its frame is in bytecode). `producer` would only
# leave native code at once (its one loop sends): it stays in bytecode.
CHANNELS = """
fn scale(x: Int) -> Int {
  var s = 0
  var i = 0
  while i < 50 { s = s + (x * i) % 11; i += 1 }
  s
}

fn inner(ch: Channel<Int>, k: Int) -> Int {
  var before = 0
  var i = 0
  while i < k * 10 {
    before = (before * 3 + i) % 101
    i += 1
  }
  let v = ch.recv().unwrap()
  println("inner {} got {}", k, v)
  before + scale(v)
}

fn middle(ch: Channel<Int>, k: Int) -> Int {
  let a = k * 7
  let r = inner(ch, k)
  a + r
}

fn outer(ch: Channel<Int>, k: Int) -> Int {
  let r = middle(ch, k) + 1
  println("outer {} -> {}", k, r)
  r
}

fn producer(ch: Channel<Int>, n: Int, tag: Int) {
  var i = 0
  while i < n {
    ch.send(tag * 100 + i)
    i += 1
  }
}

fn mixed(ch: Channel<Int>, n: Int) -> Int {
  var got = 0
  var i = 0
  while i < n {
    got += ch.recv().unwrap() % 13
    i += 1
  }
  var s = 0
  var j = 0
  while j < 30000 {
    s = s + j % 7
    j += 1
  }
  got * 1000 + s
}

fn main() {
  let ch: Channel<Int> = Channel::bounded(2)
  spawn fn p1() { producer(ch, 4, 1) }
  spawn fn p2() { producer(ch, 4, 2) }
  var k = 0
  var total = 0
  while k < 8 {
    total += outer(ch, k)
    k += 1
  }
  println("total {}", total)
  let un: Channel<Int> = Channel::unbounded()
  spawn fn p3() { producer(un, 300, 3) }
  println("mixed {}", mixed(un, 300))
}
"""

# Fibers that switch inside native loops (slices end at back-edges) between blocking
# sends and receives: a ping-pong over two bounded channels, with work between.
PINGPONG = """
fn work(n: Int) -> Int {
  var s = 0
  var i = 0
  while i < n { s = (s * 31 + i) % 1000003; i += 1 }
  s
}

fn player(name: String, inbox: Channel<Int>, outbox: Channel<Int>, rounds: Int) -> Int {
  var total = 0
  var w = 0
  while w < 300 {
    total = (total * 7 + w) % 1009
    w += 1
  }
  var r = 0
  while r < rounds {
    let ball = inbox.recv().unwrap()
    total += work(ball % 500 + 700)
    if r % 5 == 0 {
      println("{} round {} ball {}", name, r, ball)
    }
    outbox.send(ball + 1)
    r += 1
  }
  total
}

fn main() {
  let ab: Channel<Int> = Channel::bounded(1)
  let ba: Channel<Int> = Channel::bounded(1)
  spawn fn a() { println("a total {}", player("a", ba, ab, 20)) }
  spawn fn b() { println("b total {}", player("b", ab, ba, 20)) }
  spawn fn noise() {
    var k = 0
    while k < 6 { println("noise {}", work(2500)); k += 1 }
  }
  ba.send(1)
  println("main sent")
}
"""

# Actor sends in a native function, with work on both sides; `await` (only in main and
# async functions, which the interpreter starts) after a loop entered by OSR: the OSR
# copy leaves at the await.
TASKS = """
fn work(n: Int) -> Int {
  var s = 0
  var i = 0
  while i < n { s = (s + i * i) % 65521; i += 1 }
  s
}

async fn job(x: Int) -> Int {
  let w = work(x * 100)
  println("job {} worked {}", x, w)
  x * 2 + w % 10
}

async fn gather(n: Int) -> Int {
  var sum = 0
  var j = 0
  while j < 3000 {
    sum = (sum * 7 + j) % 977
    j += 1
  }
  var i = 1
  while i <= n {
    let t = vyn::spawn(job(i))
    sum += await t
    i += 1
  }
  sum
}

template Counter {
  var count: Int = 0
  fn handle(&mut self, n: Int) {
    self.count += n
    println("counter got {} now {}", n, self.count)
  }
}

fn tell(c: Actor<Counter>, n: Int) -> Int {
  var before = 0
  var i = 0
  while i < n * 100 {
    before = (before + i) % 977
    i += 1
  }
  c.send(n)
  before + work(n)
}

fn main() {
  let c = actor Counter()
  var k = 1
  var s = 0
  while k <= 4 {
    s += tell(c, k)
    k += 1
  }
  println("told {}", s)
  let g = vyn::spawn(gather(5))
  var j = 0
  while j < 4000 {
    s = (s * 3 + j) % 10007
    j += 1
  }
  println("spun {}", s)
  println("gathered {}", await g)
}
"""

# Builtins that call Vyn code (a closure) from the interpreter: map, filter, fold; the
# closure calls a compiled function, which native code runs (entered by the interpreter
# running the closure).
CALLBACKS = """
fn sq(x: Int) -> Int { x * x }

fn sums(n: Int) -> Int {
  var v: Vec<Int> = vec![]
  var i = 0
  while i < n { v.push(i); i += 1 }
  let w = v.map(fn(x: Int) -> Int { sq(x) + 1 })
  let even = w.filter(fn(x: Int) -> Bool { x % 2 == 0 })
  let total = even.fold(0, fn(acc: Int, x: Int) -> Int { acc + x })
  var check = 0
  i = 0
  while i < w.len() { check += w[i]; i += 1 }
  println("{} {} {}", w.len(), even.len(), check)
  total
}

fn main() {
  var k = 0
  while k < 3 { println("{}", sums(100 + k)); k += 1 }
}
"""

# `handle` receives first, then works in a loop: calls do not enter its native code (it
# would leave at once), OSR enters its loop. `get` has nothing but its receive: it stays in
# bytecode, and `twice` (native) calls it through the interpreter. main's first two loops
# call a function that may wait at every iteration (no OSR entries); its last one only
# now and then (an OSR entry).
HANDLER = """
fn get(ch: Channel<Int>) -> Int {
  ch.recv().unwrap()
}

fn note(log: Channel<Int>, v: Int) {
  log.send(v)
}

fn handle(ch: Channel<Int>, n: Int) -> Int {
  let v = ch.recv().unwrap()
  var s = 0
  var i = 0
  while i < n {
    s = (s * 31 + v + i) % 1000003
    i += 1
  }
  s
}

fn twice(ch: Channel<Int>) -> Int {
  var w = 0
  var i = 0
  while i < 10 { w += i; i += 1 }
  get(ch) * 2 + get(ch) + w
}

fn produce(ch: Channel<Int>, m: Int) {
  var i = 0
  while i < m {
    ch.send(i * 7)
    i += 1
  }
}

fn main() {
  let ch: Channel<Int> = Channel::bounded(4)
  spawn fn p() { produce(ch, 40) }
  var total = 0
  var k = 0
  while k < 20 {
    total = (total + handle(ch, 3000)) % 1000003
    k += 1
  }
  println("handled {}", total)
  k = 0
  while k < 10 {
    total += twice(ch)
    k += 1
  }
  println("total {}", total)
  let log: Channel<Int> = Channel::unbounded()
  var s = 0
  var j = 0
  while j < 20000 {
    s = (s * 17 + j) % 65537
    if j % 5000 == 0 {
      note(log, s)
    }
    j += 1
  }
  println("spun {} noted {}", s, log.len())
}
"""

# Panics after a side exit: in the frame that left (now bytecode) and in a native
# function it calls afterwards, and an index out of bounds in a native callee of a
# frame rebuilt deep in a native stack.
PANICS = {
    "after_recv": """
fn div(a: Int, b: Int) -> Int { a / b }
fn take(ch: Channel<Int>) -> Int {
  var w = 0
  while w < 50 { w += 2 }
  let v = ch.recv().unwrap() + w - 50
  println("took {}", v)
  div(100, v - 3)
}
fn main() {
  let ch: Channel<Int> = Channel::unbounded()
  spawn fn p() { ch.send(5); ch.send(3) }
  println("{}", take(ch))
  println("{}", take(ch))
}
""",
    "deep_index": """
fn at(v: Vec<Int>, i: Int) -> Int { v[i] }
fn pick(ch: Channel<Int>, v: Vec<Int>) -> Int {
  var j = 0
  while j < v.len() { j += 1 }
  let i = ch.recv().unwrap()
  at(v, i) + j
}
fn level(ch: Channel<Int>, v: Vec<Int>, d: Int) -> Int {
  if d == 0 { return pick(ch, v) }
  level(ch, v, d - 1) + 1
}
fn main() {
  let ch: Channel<Int> = Channel::bounded(1)
  let v = vec![10, 20, 30]
  spawn fn p() {
    var i = 0
    while i < 5 { ch.send(i); i += 1 }
  }
  var k = 0
  while k < 5 { println("{}", level(ch, v, 6)); k += 1 }
}
""",
    "in_callback": """
fn check(x: Int) -> Int {
  if x > 4 { panic("too big: " + x.to_string()) }
  x
}
fn run(v: Vec<Int>) -> Int {
  var s = 0
  var i = 0
  while i < v.len() { s += v[i]; i += 1 }
  let w = v.map(fn(x: Int) -> Int { check(x) * 2 })
  w.len() + s
}
fn main() {
  println("{}", run(vec![1, 2, 3]))
  println("{}", run(vec![3, 4, 5, 6]))
}
""",
}

PROGRAMS = {"channels": CHANNELS, "pingpong": PINGPONG, "tasks": TASKS,
            "callbacks": CALLBACKS, "handler": HANDLER}


def _plans(source: str) -> dict:
    """Function name -> Plan (or the reason it is refused), as the JIT analyzes them."""
    from compiler import native
    from runtime.jit import plain_builtins

    program = compile_file("p.vyn", source).program
    out = {}
    for fn in program.functions:
        out[fn.name] = native.analyze(program, fn.index, plain_builtins())
    return out


def _callb(plan, name: str) -> list[int]:
    code, consts = plan.fn.code, plan.fn.consts
    return [pc for pc, ins in enumerate(code) if ins[0] == bc.CALLB and consts[ins[2]] == name]


def test_functions_with_waiting_builtins_compile_with_side_exits():
    plans = {}
    for source in (CHANNELS, TASKS, CALLBACKS, PINGPONG):
        got = _plans(source)
        refused = {n: p for n, p in got.items() if isinstance(p, str)}
        # CHANNELS' producer (its one loop sends) and PINGPONG's main (no loop): their
        # native code could only leave at once.
        assert set(refused) <= {"producer", "main"}
        for why in refused.values():
            assert why.startswith("calls the builtin `Channel.send`, which can call back "
                                  "into Vyn code or wait for another fiber, before any "
                                  "loop native code could run"), why
        plans.update((n, p) for n, p in got.items() if n not in refused)
    assert plans["inner"].side_exits == frozenset(_callb(plans["inner"], "Channel.recv"))
    assert plans["player"].side_exits == frozenset(_callb(plans["player"], "Channel.recv")
                                                   + _callb(plans["player"], "Channel.send"))
    assert _callb(plans["gather"], "await") and \
        set(_callb(plans["gather"], "await")) <= plans["gather"].side_exits
    assert plans["tell"].side_exits == frozenset(_callb(plans["tell"], "Actor.send"))
    assert {plans["sums"].fn.consts[plans["sums"].fn.code[pc][2]]
            for pc in plans["sums"].side_exits} == {"Vec.map", "Vec.filter", "Vec.fold"}
    # Plain builtins are no side exits (they run through vyn_rt_exec or natively).
    assert not plans["sums"].side_exits & set(_callb(plans["sums"], "Vec.push"))
    assert not plans["scale"].side_exits and not plans["outer"].side_exits


def test_loops_with_side_exits_are_no_osr_entries():
    plans = _plans(CHANNELS)
    mixed = plans["mixed"]
    # Two loops: the receiving one (a side exit in its body) and the plain one.
    (recv,) = _callb(mixed, "Channel.recv")
    heads = sorted(mixed.backedges + mixed.no_osr)
    assert len(heads) == 2
    assert mixed.no_osr == [heads[0]] and heads[0] < recv
    assert mixed.backedges == [heads[1]]
    # A loop calling a function that may leave at a side exit (outer -> middle ->
    # inner) is none either; scale's loop is one.
    assert plans["main"].no_osr and not plans["main"].backedges
    assert plans["scale"].backedges and not plans["scale"].no_osr


def _jit_rows(source: str, **options) -> tuple[str, dict]:
    """Run `source` with the JIT: (its output, function name -> `Jit.report()` row)."""
    from runtime.jit import JitOptions
    from runtime.run import run_program

    program = compile_file("p.vyn", source).program
    rows = {}
    out = io.StringIO()
    code = run_program(program, [], stdout=out, stderr=io.StringIO(),
                       jit=JitOptions(**options),
                       after_run=lambda vm: rows.update(
                           (r["function"], r) for r in vm.jit.report()))
    assert code == 0
    return out.getvalue(), rows


@pytest.mark.parametrize("options", [{"mode": "eager"},
                                     {"mode": "auto", "threshold": 1, "opt": 0}],
                         ids=["eager", "auto1"])
def test_a_receiving_loop_is_not_entered_by_osr_and_a_plain_one_is(options):
    """mixed's 300 receives run in the interpreter after its one side exit (no deopt
    and OSR per iteration); its plain loop is entered by OSR once, and runs natively."""
    out, rows = _jit_rows(CHANNELS, **options)
    assert "mixed 1884995" in out
    mixed = rows["mixed"]
    assert mixed["tier"] and (mixed["osr"], mixed["side_exits"]) == (1, 1)
    # inner leaves at its receive at each of its 8 calls (from native code: outer and
    # middle leave with it).
    assert rows["inner"]["side_exits"] == 8 and rows["main"]["osr"] == 0
    assert rows["producer"]["tier"] == 0 and "before any loop" in rows["producer"]["reason"]


@pytest.mark.parametrize("options", [{"mode": "eager"}, {"mode": "auto", "threshold": 5}],
                         ids=["eager", "auto5"])
def test_calls_do_not_enter_code_that_would_leave_at_once(options):
    """handle leaves at its receive before any loop: the interpreter makes its calls and
    OSR enters its loop (no call, no side exit). get, a receive alone, stays in bytecode;
    twice, native, calls it through the interpreter and never leaves at a side exit.
    main's loops that call them at every iteration are no OSR entries; its loop calling
    `note` now and then is one."""
    plans = _plans(HANDLER)
    assert plans["get"].startswith("calls the builtin `Channel.recv`") and \
        plans["get"].endswith("before any loop native code could run")
    assert not plans["handle"].entered and plans["handle"].backedges
    assert plans["twice"].entered and not plans["twice"].side_exits
    main = plans["main"]
    assert len(main.no_osr) == 2 and len(main.backedges) == 1
    assert main.backedges[0] > max(main.no_osr)
    assert plans["note"].startswith("calls the builtin `Channel.send`")
    out, rows = _jit_rows(HANDLER, **options)
    assert out.startswith("handled ")
    handle, twice = rows["handle"], rows["twice"]
    assert handle["tier"] and (handle["calls"], handle["side_exits"]) == (0, 0)
    assert handle["osr"] >= 15          # (the slice ends inside some of its loops)
    assert twice["tier"] and (twice["calls"], twice["side_exits"]) == (10, 0)
    assert rows["main"]["osr"] >= 1 and rows["get"]["tier"] == 0
    assert "noted 4" in out


def test_jit_stats_count_side_exits_and_name_no_builtin_as_a_reason(tmp_path):
    (tmp_path / "p.vyn").write_text(CHANNELS, encoding="utf-8")
    code, out, err = run(["run", "--jit=eager", "--jit-stats", "p.vyn"], tmp_path)
    assert code == 0 and "mixed 1884995" in out
    assert re.search(r"^function\s+tier\s+calls\s+osr\s+exits\s+compile ms\s+bytes\s+from$",
                     err, re.MULTILINE), err
    assert re.search(r"^inner\s+2\s+\d+\s+0\s+8\s+[\d.]+\s+\d+\s+jit$", err, re.MULTILINE), err
    assert re.search(r"^mixed\s+2\s+1\s+1\s+1\s", err, re.MULTILINE), err
    assert re.findall(r"^(\S+)\s+stays in bytecode: (.*)$", err, re.MULTILINE) == [
        ("producer", "calls the builtin `Channel.send`, which can call back into Vyn code "
                     "or wait for another fiber, before any loop native code could run")]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_an_images_native_code_takes_its_side_exits(tmp_path, opt):
    """`vyn build` compiles functions with side exits into the image; it runs them as
    they are, and prints what the interpreter prints."""
    (tmp_path / "p.vyn").write_text(CHANNELS, encoding="utf-8")
    code, out, err = run(["build", opt, "p.vyn", "-o", "app"], tmp_path)
    assert code == 0, err
    base = run(["run", "--jit=off", "p.vyn"], tmp_path)
    code, out, err = run(["run", "--jit-stats", "app"], tmp_path)
    assert (code, out) == base[:2]
    assert re.search(r"^inner\s+[12]\s+0\s+0\s+8\s+[\d.]+\s+\d+\s+image$", err,
                     re.MULTILINE), err


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_side_exits_print_what_the_interpreter_prints(tmp_path, name):
    code, out, err = same_everywhere(tmp_path, PROGRAMS[name],
                                     ["--jit=auto", "--jit-threshold=3"])
    assert (code, err) == (0, ""), err
    assert len(out.splitlines()) >= 2


@pytest.mark.parametrize("name", sorted(PANICS))
def test_panics_after_a_side_exit_are_the_interpreters(tmp_path, name):
    code, out, err = same_everywhere(tmp_path, PANICS[name])
    assert code == 101 and err.startswith("panic: "), err
    assert "\n" in out


@pytest.mark.parametrize("mode", [["--jit=eager"],
                                  ["--jit=auto", "--jit-threshold=1", "--jit-tier=1"]],
                         ids=["eager", "auto1"])
@pytest.mark.parametrize("name", ["channels", "pingpong", "tasks"])
def test_fibers_block_and_switch_at_the_interpreters_reductions(tmp_path, name, mode):
    """The trace of a run with side exits: each fiber's calls and returns, and the
    slices, blocks, sends and receives among them, in the interpreter's order."""
    base_code, base_out, base = record(tmp_path, PROGRAMS[name], ["--jit=off"])
    code, out, events = record(tmp_path, PROGRAMS[name], mode)
    assert (code, out) == (base_code, base_out) and code == 0
    assert calls_by_fiber(events) == calls_by_fiber(base)
    assert in_order(events) == in_order(base)


# -- under the debugger (unicorn runs the same code) ----------------------------------------

DEBUGGED = """fn get(ch: Channel<Int>, k: Int) -> Int {
  var a = 0
  var i = 0
  while i < k {
    a += 3
    i += 1
  }
  let v = ch.recv().unwrap()
  a = a + v
  a
}

fn twice(ch: Channel<Int>, k: Int) -> Int {
  let x = get(ch, k)
  x * 2
}

fn main() {
  let ch: Channel<Int> = Channel::unbounded()
  spawn fn p() {
    ch.send(10)
    ch.send(20)
  }
  println("{}", twice(ch, 1))
  println("{}", twice(ch, 2))
}
"""


@pytest.fixture
def debugged(tmp_path):
    """Sessions on DEBUGGED, by mode ("off": bytecode only; "eager": tier-1 native code
    under unicorn); each is killed with its test (its native code's memory unmapped)."""
    from runtime.jit import JitOptions
    from vyndbg.engine import Session

    path = tmp_path / "dbg.vyn"
    path.write_text(DEBUGGED, encoding="utf-8")
    program = compile_file(str(path), DEBUGGED).program
    sessions = []

    def session(mode: str) -> Session:
        s = Session(program, jit=JitOptions(mode=mode, opt=0) if mode != "off" else None)
        sessions.append(s)
        return s

    yield session
    for s in sessions:
        if s.running:
            s.kill()


def _where(s) -> list[tuple[str, int, str]]:
    return [(f.function, f.location.line, f.tier.value) for f in s.frames()]


def test_stepping_across_a_side_exit_is_the_bytecode_debuggers(debugged):
    from vyndbg.model import StopReason

    def steps(mode):
        s = debugged(mode)
        out = []
        ev = s.start()
        while ev.reason in (StopReason.BREAKPOINT, StopReason.STEP):
            f = ev.frame
            out.append((f.function, f.location.line, s.depth(),
                        tuple((v.name, v.value.text) for v in s.args() + s.locals()),
                        f.tier.value))
            ev = s.step()
        assert ev.reason is StopReason.EXITED
        return out

    base, native = steps("off"), steps("eager")
    assert [x[:4] for x in native] == [x[:4] for x in base]
    # get runs natively up to its receive (after its loop), and in bytecode from there,
    # and so does twice, which called it natively (both calls).
    tiers = {(x[0], x[1], x[4]) for x in native if x[0] in ("get", "twice")}
    assert tiers == {("twice", 14, "native"), *(("get", n, "native") for n in (2, 3, 4, 5, 6, 8)),
                     *(("get", n, "bytecode") for n in (9, 10, 11)),
                     ("twice", 15, "bytecode"), ("twice", 16, "bytecode")}


def test_breakpoints_and_backtrace_after_a_side_exit(debugged):
    from vyndbg.model import StopReason

    def stops(mode):
        s = debugged(mode)
        s.break_at("dbg.vyn:8")
        s.break_at("dbg.vyn:10")
        out = []
        ev = s.run()
        while ev.reason is StopReason.BREAKPOINT:
            out.append((_where(s), [(v.name, v.value.text) for v in s.locals()]))
            ev = s.cont()
        assert ev.reason is StopReason.EXITED
        return out

    base, native = stops("off"), stops("eager")
    assert len(native) == 4          # each breakpoint once per call: none seen twice
    assert [([w[:2] for w in where], values) for where, values in native] == \
        [([w[:2] for w in where], values) for where, values in base]
    # At the receive: native frames (get, twice) over main; after it, get and its
    # native caller go on in bytecode.
    assert [w[2] for w in native[0][0]] == ["native", "native", "bytecode"]
    assert [w[2] for w in native[1][0]] == ["bytecode", "bytecode", "bytecode"]
    assert native[1][1] == [("a", "13"), ("i", "1"), ("v", "10")]


def test_finish_and_a_watchpoint_keep_their_frame_across_a_side_exit(debugged):
    """A native frame that leaves at a side exit is the same frame in bytecode: a
    watchpoint on its local stops where the local changes, and its scope ends when that
    frame returns; `finish` returns from it."""
    from vyndbg.model import StopReason

    def session(mode, then):
        s = debugged(mode)
        s.break_at("dbg.vyn:8")
        ev = s.run()
        out = [(ev.reason, _where(s))]
        s.delete()
        ev = then(s)
        while ev.reason is not StopReason.EXITED:
            returned = ev.returned.text if ev.returned is not None else None
            out.append((ev.reason, [w[:2] for w in _where(s)], returned,
                        s.evaluate("a").text if ev.reason is StopReason.WATCHPOINT else ""))
            ev = s.cont()
        return out

    def watch(s):
        s.watch("a")
        return s.cont()

    for then in (watch, lambda s: s.finish()):
        base, native = session("off", then), session("eager", then)
        assert native[0][1][0] == ("get", 8, "native")
        assert native[1:] == base[1:]
    assert native[1] == (StopReason.FINISH, [("twice", 15), ("main", 24)], "13", "")
    watched = session("eager", watch)
    assert watched[1] == (StopReason.WATCHPOINT, [("get", 10), ("twice", 14), ("main", 24)],
                          None, "13")
