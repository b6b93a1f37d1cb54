"""The deterministic scheduler: fibers, actors, channels, tasks, threads and pools.

SEMANTICS.md "Concurrency" and docs/concurrency.md give the rules; this module holds the
state they act on, and the builtins that act on it. Every task, actor and thread is a
`Fiber`: its own chain of VM frames, run by `VM` in slices of `SLICE` reductions from one
FIFO run queue. Nothing here runs Vyn code: a fiber is driven by the VM's loop, and a
builtin that must wait (a `recv` on an empty channel, a `join` of a running thread) is a
generator that yields a `Wait`; the VM parks the fiber and drives the generator again when
the fiber is woken.

Handles (the values of types Channel<T>, Actor<T>, Task<T>, Thread<T>, ThreadPool<T> and
Future<T>) are one-slot heap objects whose slot holds the number of the runtime object.
"""

from __future__ import annotations

from collections import deque

from runtime.builtins import make_option
from runtime.errors import VynPanic

SLICE = 2000                 # reductions (calls and loop back-edges) per slice
MESSAGE_HISTORY = 100_000    # sends remembered for `info messages`

# Fiber states.
RUNNABLE, RUNNING, BLOCKED, IDLE, FINISHED = "runnable", "running", "blocked", "idle", "finished"


# The scheduler's records are plain classes (compared by identity), not dataclasses:
# `vyn run` imports this module at every start, and dataclasses costs about 8 ms there.

class Wait:
    """Why a fiber is blocked. `queue` is the list of fibers waiting on the same thing,
    which the fiber joins while it waits."""

    def __init__(self, kind: str, what: str, queue: list | None = None) -> None:
        self.kind = kind          # recv, send, mailbox, join, pool
        self.what = what          # "receiving from channel #1", ...
        self.queue: list = [] if queue is None else queue

    def __repr__(self) -> str:
        return f"Wait(kind={self.kind!r}, what={self.what!r})"


class Message:
    """One send, to an actor's mailbox or into a channel."""

    __slots__ = ("id", "sender", "target", "receiver", "values", "tids", "sent_step",
                 "received_step", "received_by")

    def __init__(self, id: int, sender: int, target: str, receiver: int, values: tuple,
                 tids: tuple, sent_step: int, received_step: int | None = None,
                 received_by: int | None = None) -> None:
        self.id = id
        self.sender = sender              # fiber id
        self.target = target              # "actor" or "channel"
        self.receiver = receiver          # actor fiber id, or channel id
        self.values = values              # register values (an actor's handle takes several)
        self.tids = tids                  # their type ids
        self.sent_step = sent_step
        self.received_step = received_step
        self.received_by = received_by    # fiber id (for a channel, whoever took it)

    def __repr__(self) -> str:
        return (f"Message(id={self.id}, sender={self.sender}, target={self.target!r}, "
                f"receiver={self.receiver}, values={self.values!r})")


class Completion:
    """The result of a task, a thread or a pool job: what `join` and `await` wait for."""

    def __init__(self, id: int, name: str, done: bool = False, value: object = None,
                 waiters: list | None = None) -> None:
        self.id = id
        self.name = name                  # "task 2", "thread 4", "job 3 of thread pool #1"
        self.done = done
        self.value = value
        self.waiters: list = [] if waiters is None else waiters

    def __repr__(self) -> str:
        return f"Completion(id={self.id}, name={self.name!r}, done={self.done})"


class Fiber:
    """A thread of Vyn execution with its own frames. Numbered as gdb numbers threads:
    main is 1, the others in order of creation."""

    def __init__(self, fid: int, kind: str, name: str, created_step: int,
                 parent: int | None):
        self.id = fid
        self.kind = kind                  # main, task, actor, thread
        self.name = name                  # "main", "task 2", "actor Counter#3", "thread 4"
        self.template: str | None = None  # an actor's template; a worker's pool ("pool #1")
        self.state = RUNNABLE
        self.wait: Wait | None = None
        self.frame = None                 # innermost VM frame; None before and between calls
        self.bottom = None                # the frame whose return ends the current call
        self.calls: deque = deque()       # (fidx, args, env) still to make (main, tasks)
        self.completion: Completion | None = None
        self.created_step = created_step
        self.parent = parent              # the fiber that created it
        self.reductions = 0
        self.slices = 0
        self.regions = None               # its stack of scoped regions (heap)
        # Actors
        self.mailbox: deque | None = None
        self.capacity: int | None = None
        self.state_obj = 0                # the actor's `self`
        self.handle_fn = -1
        self.msg_tids: tuple = ()
        self.senders: list = []           # fibers blocked on a full mailbox
        self.handled = 0
        self.current_msg: Message | None = None
        # Pool workers
        self.pool: Pool | None = None
        self.job: Completion | None = None

    def __repr__(self) -> str:
        return f"<Fiber {self.id} {self.name} {self.state}>"


class Channel:
    def __init__(self, id: int, elem_tid: int, capacity: int | None) -> None:
        self.id = id
        self.elem_tid = elem_tid
        self.capacity = capacity          # None: unbounded
        self.queue: deque = deque()       # Message records, oldest first
        self.closed = False
        self.senders: list = []           # fibers blocked sending (full)
        self.receivers: list = []         # fibers blocked receiving (empty)
        self.sent = 0
        self.received = 0

    def __repr__(self) -> str:
        return f"Channel(id={self.id}, capacity={self.capacity}, queued={len(self.queue)})"

    @property
    def full(self) -> bool:
        return self.capacity is not None and len(self.queue) >= self.capacity


class Pool:
    def __init__(self, id: int, size: int) -> None:
        self.id = id
        self.size = size
        self.workers: list = []           # Fibers
        self.jobs: deque = deque()        # (Completion, closure) not yet started
        self.submitted = 0
        self.finished = 0
        self.joiners: list = []

    def __repr__(self) -> str:
        return f"Pool(id={self.id}, size={self.size})"


class Future:
    """A call of an `async fn` that has not started (`task` is None) or has."""

    def __init__(self, id: int, fidx: int, args: list, task: Fiber | None = None) -> None:
        self.id = id
        self.fidx = fidx
        self.args = args
        self.task = task

    def __repr__(self) -> str:
        return f"Future(id={self.id}, fidx={self.fidx}, task={self.task!r})"


class BlockedFiber:
    def __init__(self, fiber: Fiber, frames: list) -> None:
        self.fiber = fiber
        self.frames = frames      # (Function, pc), innermost first, as VynPanic.frames

    def __repr__(self) -> str:
        return f"BlockedFiber(fiber={self.fiber!r}, frames={len(self.frames)})"


class Deadlock(VynPanic):
    """Every fiber that has not finished is blocked, so none can make progress."""

    def __init__(self, blocked: list[BlockedFiber]):
        super().__init__("deadlock: all fibers are blocked")
        self.blocked = blocked


class Scheduler:
    """The state of every fiber, channel and pool, and the FIFO run queue."""

    def __init__(self) -> None:
        self.fibers: list[Fiber] = []
        self.runq: deque[Fiber] = deque()
        self.current: Fiber | None = None
        self.channels: list[Channel] = []
        self.pools: list[Pool] = []
        self.futures: list[Future] = []
        self.completions: list[Completion] = []
        self.messages: deque[Message] = deque(maxlen=MESSAGE_HISTORY)
        self.messages_total = 0
        self.step = 0                    # slices run so far: the scheduler's clock
        self.lock: Fiber | None = None   # scheduler-locking: only this fiber runs
        self.keep_history = False        # remember sends for `info messages` (debugger)
        self.events = None               # runtime.events.EventSink, when a run is traced

    # ------------------------------------------------------------ fibers

    def fiber(self, fid: int) -> Fiber:
        return self.fibers[fid - 1]

    def new_fiber(self, kind: str, name_of=None) -> Fiber:
        fid = len(self.fibers) + 1
        name = name_of(fid) if name_of else ("main" if kind == "main" else f"{kind} {fid}")
        cur = self.current
        f = Fiber(fid, kind, name, self.step, cur.id if cur is not None else None)
        self.fibers.append(f)
        self.runq.append(f)
        if self.events is not None:
            self.events.fiber_spawn(f)
        return f

    def make_runnable(self, f: Fiber) -> None:
        if f.state in (BLOCKED, IDLE):
            f.state = RUNNABLE
            f.wait = None
            self.runq.append(f)

    def wake_first(self, waiters: list) -> None:
        while waiters:
            f = waiters.pop(0)
            if f.state == BLOCKED:
                self.make_runnable(f)
                return

    def wake_all(self, waiters: list) -> None:
        for f in waiters:
            if f.state == BLOCKED:
                self.make_runnable(f)
        waiters.clear()

    def block(self, f: Fiber, wait: Wait) -> None:
        f.state = BLOCKED
        f.wait = wait
        wait.queue.append(f)

    def next_runnable(self) -> Fiber | None:
        runq = self.runq
        lock = self.lock
        if lock is not None and lock.state == RUNNABLE and lock in runq:
            runq.remove(lock)
            return lock
        while runq:
            f = runq.popleft()
            if f.state == RUNNABLE:
                return f
        return None

    def live(self) -> bool:
        """Whether the program must go on: a fiber that has not finished and is not an
        idle actor or pool worker (SEMANTICS: the program ends when main has returned,
        every task and thread has finished and every actor is idle)."""
        return any(f.state not in (FINISHED, IDLE) for f in self.fibers)

    def blocked(self) -> list[Fiber]:
        return [f for f in self.fibers if f.state == BLOCKED]

    # ------------------------------------------------------------ completions

    def new_completion(self, name: str) -> Completion:
        c = Completion(len(self.completions) + 1, name)
        self.completions.append(c)
        return c

    def complete(self, c: Completion, value) -> None:
        c.done = True
        c.value = value
        self.wake_all(c.waiters)

    # ------------------------------------------------------------ messages

    def record(self, sender: Fiber | None, target: str, receiver: int, values: tuple,
               tids: tuple) -> Message:
        self.messages_total += 1
        m = Message(self.messages_total, sender.id if sender is not None else 0, target,
                    receiver, values, tids, self.step)
        if self.keep_history:
            self.messages.append(m)
        if self.events is not None:
            self.events.send(m)
        return m

    def received(self, m: Message, by: Fiber | None) -> None:
        m.received_step = self.step
        m.received_by = by.id if by is not None else None
        if self.events is not None:
            self.events.receive(m, by)


# ---------------------------------------------------------------- builtins
#
# Each is `fn(vm, args, desc)` as in runtime/builtins.py; `desc` is the TypeDesc the
# instruction names (the handle type made or received). Generators may yield a Wait
# (block the calling fiber until woken, then check again) or a CallRequest.


def _new_handle(vm, d) -> int:
    """A handle object, allocated before the runtime object it will name: if the heap is
    full the builtin has changed nothing yet, so the VM can collect and run it again."""
    return vm.heap.alloc(vm.heap_tid[d.id], 1)


def _handle(vm, addr: int, number: int) -> int:
    vm.heap.set_i64(addr, 0, number)
    return addr


def _number(vm, addr: int) -> int:
    return vm.heap.get_i64(addr, 0)


def _current(vm) -> Fiber:
    f = vm.sched.current
    if f is None:
        raise VynPanic("internal: no fiber is running")
    return f


def _start_task(vm, kind: str, fidx: int, args: list, env: int, d) -> int:
    addr = _new_handle(vm, d)
    s = vm.sched
    f = s.new_fiber(kind)
    f.calls.append((fidx, args, env))
    f.completion = s.new_completion(f.name)
    return _handle(vm, addr, f.completion.id)


def _spawn(vm, args, d):
    """`spawn(f)`, `spawn fn f() {}`, `spawn(future)`: start a task; a Task<T> handle."""
    x = args[0]
    xd = vm.types[vm.desc_of_heap[vm.heap.type_of(x)]]
    if xd.kind == "future":
        return _start_future(vm, vm.sched.futures[_number(vm, x) - 1], d)
    return _start_task(vm, "task", vm.heap.get_i64(x, 0), [], x, d)


def _future_task(vm, fut: Future) -> Completion:
    """The completion of a future's task, started now if it has not been."""
    if fut.task is None:
        s = vm.sched
        f = s.new_fiber("task")
        f.calls.append((fut.fidx, fut.args, 0))
        f.completion = s.new_completion(f.name)
        fut.task = f
    return fut.task.completion


def _start_future(vm, fut: Future, d) -> int:
    addr = _new_handle(vm, d)
    return _handle(vm, addr, _future_task(vm, fut).id)


def _async_call(vm, args, d):
    """A call of an `async fn`: a Future<T> that has not started."""
    addr = _new_handle(vm, d)
    s = vm.sched
    fut = Future(len(s.futures) + 1, args[0], list(args[1:]))
    s.futures.append(fut)
    return _handle(vm, addr, fut.id)


def _thread_spawn(vm, args, d):
    clo = args[0]
    return _start_task(vm, "thread", vm.heap.get_i64(clo, 0), [], clo, d)


def _completion_of(vm, addr: int, d) -> Completion:
    s = vm.sched
    if d.kind == "future":
        return _future_task(vm, s.futures[_number(vm, addr) - 1])
    return s.completions[_number(vm, addr) - 1]


def _join(vm, args, d):
    """`await x`, `t.join()`: wait until the task, thread or job has finished."""
    c = _completion_of(vm, args[0], d)
    while not c.done:
        yield Wait("join", f"waiting for {c.name}", c.waiters)
    return c.value


def _is_done(vm, args, d):
    return _completion_of(vm, args[0], d).done


# ------------------------------------------------------------ channels

def _channel(vm, capacity: int | None, d) -> int:
    s = vm.sched
    if capacity is not None and capacity < 1:
        raise VynPanic(f"a bounded channel needs a capacity of at least 1, got {capacity}")
    addr = _new_handle(vm, d)
    ch = Channel(len(s.channels) + 1, d.elem, capacity)
    s.channels.append(ch)
    return _handle(vm, addr, ch.id)


def _chan(vm, addr: int) -> Channel:
    return vm.sched.channels[_number(vm, addr) - 1]


def _chan_send(vm, args, d):
    ch = _chan(vm, args[0])
    s = vm.sched
    if ch.closed:
        raise VynPanic(f"send on a closed channel (channel #{ch.id})")
    while ch.full:
        yield Wait("send", f"sending to channel #{ch.id} (full, capacity {ch.capacity})",
                   ch.senders)
        if ch.closed:
            raise VynPanic(f"send on a closed channel (channel #{ch.id})")
    ch.queue.append(s.record(s.current, "channel", ch.id, (args[1],), (ch.elem_tid,)))
    ch.sent += 1
    s.wake_first(ch.receivers)


def _chan_take(vm, ch: Channel):
    s = vm.sched
    m = ch.queue.popleft()
    ch.received += 1
    s.received(m, s.current)
    s.wake_first(ch.senders)
    return m.values[0]


def _chan_recv(vm, args, d):
    ch = _chan(vm, args[0])
    while not ch.queue:
        if ch.closed:
            return make_option(vm, ch.elem_tid, None, False)
        yield Wait("recv", f"receiving from channel #{ch.id}", ch.receivers)
    return make_option(vm, ch.elem_tid, _chan_take(vm, ch), True)


def _chan_try_recv(vm, args, d):
    ch = _chan(vm, args[0])
    if not ch.queue:
        return make_option(vm, ch.elem_tid, None, False)
    return make_option(vm, ch.elem_tid, _chan_take(vm, ch), True)


def _chan_close(vm, args, d):
    ch = _chan(vm, args[0])
    ch.closed = True
    s = vm.sched
    s.wake_all(ch.receivers)
    s.wake_all(ch.senders)


# ------------------------------------------------------------ actors

def _actor(vm, args, d):
    """`actor T(args)` / `actor[N] T(args)`: args are the constructed state and the
    mailbox capacity (-1: unbounded)."""
    obj, cap = args
    s = vm.sched
    sd = vm.types[d.elem]
    handle_fn = sd.methods.get("handle", -1)
    if cap != -1 and cap < 1:
        raise VynPanic(f"an actor's mailbox needs a capacity of at least 1, got {cap}")
    addr = _new_handle(vm, d)
    f = s.new_fiber("actor", lambda fid: f"actor {sd.name}#{fid}")
    s.runq.pop()                  # an actor starts idle: it runs when a message arrives
    f.state = IDLE
    f.template = sd.name
    f.mailbox = deque()
    f.capacity = None if cap == -1 else cap
    f.state_obj = obj
    f.handle_fn = handle_fn
    if handle_fn >= 0:
        fn = vm.functions[handle_fn]
        f.msg_tids = tuple(v.type_id for v in sorted(
            (v for v in fn.vars if v.kind == "param"), key=lambda v: v.reg)[1:])
    return _handle(vm, addr, f.id)


def _actor_send(vm, args, d):
    s = vm.sched
    a = s.fiber(_number(vm, args[0]))
    while a.capacity is not None and len(a.mailbox) >= a.capacity:
        yield Wait("mailbox", f"sending to {a.name} (mailbox full, capacity {a.capacity})",
                   a.senders)
    values = tuple(args[1:])
    a.mailbox.append(s.record(s.current, "actor", a.id, values,
                              a.msg_tids or (0,) * len(values)))
    if a.state == IDLE:
        s.make_runnable(a)


# ------------------------------------------------------------ thread pools

def _pool(vm, args, d):
    s = vm.sched
    n = args[0]
    if n < 1:
        raise VynPanic(f"a thread pool needs at least 1 thread, got {n}")
    addr = _new_handle(vm, d)
    p = Pool(len(s.pools) + 1, n)
    s.pools.append(p)
    return _handle(vm, addr, p.id)


def _pool_of(vm, addr: int) -> Pool:
    return vm.sched.pools[_number(vm, addr) - 1]


def _pool_submit(vm, args, d):
    """Queue a job; start a worker if the pool has fewer than its size, else wake an idle
    one. `d` is the Thread<T> handle type of the job."""
    addr = _new_handle(vm, d)
    s = vm.sched
    p = _pool_of(vm, args[0])
    p.submitted += 1
    c = s.new_completion(f"job {p.submitted} of thread pool #{p.id}")
    p.jobs.append((c, args[1]))
    if len(p.workers) < p.size:
        w = s.new_fiber("thread")
        w.template = f"pool #{p.id}"
        w.pool = p
        p.workers.append(w)
    else:
        for w in p.workers:
            if w.state == IDLE:
                s.make_runnable(w)
                break
    return _handle(vm, addr, c.id)


def _pool_join(vm, args, d):
    p = _pool_of(vm, args[0])
    while p.finished < p.submitted:
        yield Wait("pool", f"waiting for thread pool #{p.id}", p.joiners)


def _pool_size(vm, args, d):
    return _pool_of(vm, args[0]).size


def _trace_event(vm, args, d):
    """`trace_event(category, name)`: a user event, when the run is traced."""
    if vm.events is not None:
        texts = [vm.reader.string(a) if isinstance(a, int) and a else str(a) for a in args]
        vm.events.user(*(texts + ["", ""])[:2])


PLAIN = {
    "trace_event": _trace_event,
    "spawn": _spawn, "async": _async_call,
    "Thread::spawn": _thread_spawn,
    "Task.is_done": _is_done, "Thread.is_done": _is_done,
    "Channel::bounded": lambda vm, a, d: _channel(vm, a[0], d),
    "Channel": lambda vm, a, d: _channel(vm, a[0] if a else None, d),
    "Channel::unbounded": lambda vm, a, d: _channel(vm, None, d),
    "Channel.try_recv": _chan_try_recv, "Channel.close": _chan_close,
    "Channel.len": lambda vm, a, d: len(_chan(vm, a[0]).queue),
    "actor": _actor,
    "ThreadPool": _pool, "ThreadPool.submit": _pool_submit, "ThreadPool.size": _pool_size,
}

WAITING = {
    "await": _join, "Task.join": _join, "Thread.join": _join,
    "Channel.send": _chan_send, "Channel.recv": _chan_recv,
    "Actor.send": _actor_send, "ThreadPool.join": _pool_join,
}


# ------------------------------------------------------------ a fiber's calls

def next_call(vm, f: Fiber):
    """The next bottom call a fiber makes, (fidx, args, env), or None when it has nothing
    to do (then it finishes, or goes idle if it is an actor or a pool worker)."""
    s = vm.sched
    if f.kind == "actor":
        if not f.mailbox or f.handle_fn < 0:
            return None
        m = f.mailbox.popleft()
        f.current_msg = m
        s.received(m, f)
        s.wake_first(f.senders)
        return f.handle_fn, [f.state_obj, *m.values], 0
    if f.pool is not None:
        p = f.pool
        if not p.jobs:
            return None
        c, clo = p.jobs.popleft()
        f.job = c
        return vm.heap.get_i64(clo, 0), [], clo
    if f.calls:
        return f.calls.popleft()
    return None


def call_returned(vm, f: Fiber, value) -> None:
    """The fiber's bottom call returned `value`."""
    s = vm.sched
    if f.kind == "actor":
        f.handled += 1
        f.current_msg = None
    elif f.pool is not None:
        p = f.pool
        p.finished += 1
        s.complete(f.job, value)
        f.job = None
        if p.finished == p.submitted:
            s.wake_all(p.joiners)
    elif not f.calls and f.completion is not None:
        s.complete(f.completion, value)


def out_of_calls(f: Fiber) -> str:
    """The state of a fiber with nothing left to call."""
    return IDLE if f.kind == "actor" or f.pool is not None else FINISHED
