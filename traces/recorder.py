"""Recording a run into a trace file: an EventSink (runtime/events.py) and its writer.

`Recorder(path, calls=True)` records a trace (`vyn run --trace`): every call and return
plus the scheduler's, the collector's and the program's events. `Recorder(path,
sample_every=N)` records a profile (`vyn run --profile`): a stack sample every N
reductions with its CPU time and bytes allocated since the previous one, and the same
scheduler and collector events, without calls. Both write the format of
docs/trace-format.md.

The hot path is a call or a return: two list appends (call) or one (return) of plain
ints in closures the VM calls directly. Native code's calls (`native_calls`, from the
JIT's traced code) arrive already encoded, as bytes of the call column, and are kept as
they are (`pieces`), after a *native calls* record that says which words are theirs.
Everything else is a tuple in `records`. At the
start of a slice the recorder flushes when enough has piled up, or every 0.2 s, so a
killed run loses at most that much: the chunk is framed and compressed on a writer
thread (zlib and the file write release the GIL) and written in order.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import zlib
from time import perf_counter_ns as clock

from runtime.events import ALLOC_SAMPLE_BYTES, EventSink, takes_native_calls, watch_allocations
from traces import format as fmt
from traces.errors import TraceWriteError

# Reductions between samples for --profile: one per slice of a fiber that runs alone
# (runtime/sched.py SLICE), about 600 samples a second in the interpreter; it costs about
# 2% of fib(27)'s CPU time there (1000: about 4%; bench/trace_bench.py measures it).
DEFAULT_SAMPLE_EVERY = 2000

FLUSH_WORDS = 1 << 15          # call-column words (8 bytes each) per chunk, about
FLUSH_RECORDS = 4096           # other events per chunk, about
FLUSH_NS = 200_000_000         # at least every 0.2 s while fibers run
HEAP_EVERY_NS = 1_000_000      # a heap counter at most every 1 ms (at a slice start)


class ChunkWriter:
    """Appends chunks to a trace file from a background thread, in the order given.

    Raises:
        TraceWriteError: the file cannot be created (constructor) or written (close).
    """

    def __init__(self, path: str):
        self.path = path
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            self._write(fmt.file_header())
        except OSError as e:
            raise TraceWriteError(f"cannot write the trace '{path}': "
                                  f"{e.strerror or e}") from None
        self.error: OSError | None = None
        self.bytes = fmt.HEADER_SIZE
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._drain, name="vyn trace writer",
                                        daemon=True)
        self._thread.start()

    def put(self, tag: bytes, payload: bytes, compress: bool = False) -> None:
        self._queue.put((tag, payload, compress))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None:
                continue
            tag, payload, compress = item
            if compress:
                payload = zlib.compress(payload, 1)
            data = fmt.chunk(tag, payload)
            try:
                self._write(data)
                self.bytes += len(data)
            except OSError as e:
                self.error = e

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        try:
            os.close(self.fd)
        except OSError:
            pass
        if self.error is not None:
            raise TraceWriteError(f"cannot write the trace '{self.path}': "
                                  f"{self.error.strerror or self.error}")


class Recorder(EventSink):
    """An EventSink that writes a trace or a profile to `path`.

    Use: `rec = Recorder(path, calls=True)`; `vm.attach_events(rec.attach(vm))` before the
    program runs; `rec.close(exit_code)` after (always, also after a panic).

    Args:
        path: the file to (over)write.
        calls: record every call and return (a trace).
        sample_every: reductions between stack samples (a profile); 0 for none.
        properties: more INFO properties (program, argv, vyn version, ...).

    Raises:
        TraceWriteError: the file cannot be created.
    """

    def __init__(self, path: str, *, calls: bool = False, sample_every: int = 0,
                 properties: dict[str, str] | None = None):
        self.path = path
        self.wants_calls = calls
        self.sample_every = sample_every
        self.mode = "trace" if calls else "profile"
        self.start = clock()
        self.writer = ChunkWriter(path)
        self.words: list[int] = []         # the call column (docs/trace-format.md)
        self.pieces: list[bytes] = []      # its words before `words`, encoded
        self.sealed = 0                    # how many words `pieces` hold
        self.vm = None
        self.records: list[tuple] = []     # (kind, word position, ts, *fields)
        self.strings: dict[str, int] = {"": 0}
        self.new_strings: list[str] = []
        self.stacks: dict[tuple[int, int, int], int] = {}
        self.new_stacks: list[tuple[int, int, int]] = []
        self.lines: dict[tuple[int, int], int] = {}
        self.sched = None
        self.heap = None
        self.chunk_ts = self.start
        self.chunk_fiber = 0
        self.fiber = 0
        self.last_heap = 0
        self.last_sample = self.start
        self.last_alloc = 0
        self.closed = False
        self.properties = dict(properties or {})
        self.started = False
        if calls:
            self._install_call_hooks()

    def _start(self) -> None:
        """Write INFO: the run starts now (time 0 of the trace)."""
        self.started = True
        self.start = self.chunk_ts = self.last_sample = clock()
        info = {"mode": self.mode, "clock": "monotonic-ns", "start_ns": str(self.start),
                "start_unix_ns": str(time.time_ns()), "pid": str(os.getpid()),
                "sample_every": str(self.sample_every)}
        info.update(self.properties)
        self.writer.put(fmt.TAG_INFO, fmt.properties(info))

    def _install_call_hooks(self) -> None:
        # Instance attributes shadow EventSink.call/ret: the VM calls these closures
        # directly. A call is the function's index complemented (negative), then the
        # time; a return is the time alone (docs/trace-format.md, "The call column").
        ap = self.words.append

        def call(vm, frame, ap=ap, clock=clock):
            ap(~frame.fn.index)
            ap(clock())

        def ret(vm, frame, value, ap=ap, clock=clock):
            ap(clock())

        self.call = call
        self.ret = ret

    # -- set-up and tear-down ------------------------------------------------------------

    def attach(self, vm) -> Recorder:
        """Bind to `vm` (its functions, scheduler and heap) before it runs; returns self,
        the sink to attach."""
        self.vm = vm
        self.sched = vm.sched
        self.heap = vm.heap
        self.last_alloc = vm.heap.allocated_bytes
        if self.sample_every:
            # Allocation samples at the stack that allocates (runtime/events.py).
            watch_allocations(vm, ALLOC_SAMPLE_BYTES, self._alloc_sample)
        self._start()
        out = [fmt.uvarint(len(vm.functions))]
        sid = self._sid
        for f in vm.functions:
            out.append(fmt.uvarint(f.index) + fmt.uvarint(sid(f.name)) +
                       fmt.uvarint(sid(f.file)) + fmt.uvarint(max(0, f.line)))
        self._put_tables()
        self.writer.put(fmt.TAG_FUNC, b"".join(out))
        return self

    def close(self, exit_code: int | None = None, now: int | None = None) -> None:
        """Write what is pending and the END chunk (the run ended at `now`, default: at
        this call), and close the file (once).

        Raises:
            TraceWriteError: a write failed (the disk is full, ...).
        """
        if self.closed:
            return
        self.closed = True
        if not self.started:
            self._start()
        t = now or clock()
        self.flush(t)
        end = {"end_ns": str(t)}
        if exit_code is not None:
            end["exit_code"] = str(exit_code)
        self.writer.put(fmt.TAG_END, fmt.properties(end))
        self.writer.close()

    # -- tables --------------------------------------------------------------------------

    def _sid(self, s: str) -> int:
        i = self.strings.get(s)
        if i is None:
            i = self.strings[s] = len(self.strings)
            self.new_strings.append(s)
        return i

    def _stack(self, frames: list) -> int:
        """The stack table id of `frames` ((Function, pc), innermost first)."""
        parent = 0
        lines = self.lines
        stacks = self.stacks
        for fn, pc in reversed(frames):
            fi = fn.index
            line = lines.get((fi, pc))
            if line is None:
                row = fn.line_at(pc)
                line = lines[(fi, pc)] = row.line if row is not None else max(0, fn.line)
            key = (parent, fi, line)
            node = stacks.get(key)
            if node is None:
                node = stacks[key] = len(stacks) + 1
                self.new_stacks.append(key)
            parent = node
        return parent

    def _put_tables(self) -> None:
        if self.new_strings:
            first = len(self.strings) - len(self.new_strings)
            self.writer.put(fmt.TAG_STRS, fmt.uvarint(first) +
                            fmt.uvarint(len(self.new_strings)) +
                            b"".join(fmt.string(s) for s in self.new_strings))
            self.new_strings.clear()
        if self.new_stacks:
            first = len(self.stacks) - len(self.new_stacks) + 1
            u = fmt.uvarint
            self.writer.put(fmt.TAG_STAK, u(first) + u(len(self.new_stacks)) + b"".join(
                u(p) + u(f) + u(line) for p, f, line in self.new_stacks))
            self.new_stacks.clear()

    # -- writing chunks ------------------------------------------------------------------

    def flush(self, now: int) -> None:
        """Write the pending events as one EVTS chunk (after the table entries they use)."""
        words = self.words
        records = self.records
        if not words and not records and not self.pieces:
            return
        self._put_tables()
        u = fmt.uvarint
        base = self.chunk_ts
        column = b"".join((*self.pieces, fmt.words_to_bytes(words)))
        out = [u(base), u(self.chunk_fiber), u(self.sealed + len(words)), column,
               u(len(records))]
        self.pieces = []
        self.sealed = 0
        for kind, pos, ts, *fields in records:
            body = u(pos) + fmt.svarint(ts - base) + b"".join(u(x) for x in fields)
            out.append(u(kind) + u(len(body)) + body)
        words.clear()
        records.clear()
        self.writer.put(fmt.TAG_EVTS, b"".join(out), compress=True)
        self.chunk_ts = now
        self.chunk_fiber = self.fiber

    def _event(self, kind: int, *fields: int) -> None:
        self.records.append((kind, self.sealed + len(self.words), clock(), *fields))

    # -- events --------------------------------------------------------------------------

    def fiber_spawn(self, fiber) -> None:
        self._event(fmt.FIBER_SPAWN, fiber.id, fiber.parent or 0, self._sid(fiber.kind),
                    self._sid(fiber.name))

    def fiber_run(self, fiber) -> None:
        t = clock()
        records = self.records
        at = self.sealed + len(self.words)
        records.append((fmt.FIBER_RUN, at, t, fiber.id, self.sched.step))
        self.fiber = fiber.id
        if t - self.last_heap >= HEAP_EVERY_NS:
            self.last_heap = t
            heap = self.heap
            records.append((fmt.HEAP, at, t, heap.in_use, heap.allocated_bytes))
        if (at >= FLUSH_WORDS or len(records) >= FLUSH_RECORDS
                or t - self.chunk_ts >= FLUSH_NS):
            self.flush(t)

    def fiber_block(self, fiber, wait) -> None:
        self._event(fmt.FIBER_BLOCK, fiber.id, self._sid(wait.what))

    def fiber_done(self, fiber) -> None:
        self._event(fmt.FIBER_DONE, fiber.id, self._sid(str(fiber.state)))

    def send(self, message) -> None:
        self._event(fmt.SEND, message.id, message.sender, self._sid(message.target),
                    message.receiver)

    def receive(self, message, fiber) -> None:
        self._event(fmt.RECEIVE, message.id, fiber.id if fiber is not None else 0)

    def gc(self, kind, why, before, after, freed, seconds) -> None:
        self._event(fmt.GC, self._sid(kind), self._sid(why), before, after, max(0, freed),
                    int(seconds * 1e9))

    def region(self, entered, region_id, objects, nbytes) -> None:
        if entered:
            self._event(fmt.REGION_ENTER, region_id)
        else:
            self._event(fmt.REGION_EXIT, region_id, objects, nbytes)

    def panic(self, error) -> None:
        fiber = getattr(error, "fiber", None)
        message = getattr(error, "message", None) or str(error)
        self._event(fmt.PANIC, fiber.id if fiber is not None else 0, self._sid(message),
                    self._stack(getattr(error, "frames", None) or []))

    def user(self, category, name) -> None:
        cur = self.sched.current if self.sched is not None else None
        self._event(fmt.USER, cur.id if cur is not None else 0, self._sid(category),
                    self._sid(name))

    def native_calls(self, fiber, tier, words, osr) -> None:
        """Native code's calls and returns (the call column's bytes, runtime/events.py):
        a *native calls* record, then the words as they are."""
        n = len(words) >> 3
        mine = self.words
        if mine:
            self.pieces.append(fmt.words_to_bytes(mine))
            self.sealed += len(mine)
            mine.clear()
        if n:
            first = int.from_bytes(words[:8], "little", signed=True)
            t = int.from_bytes(words[8:16], "little", signed=True) if first < 0 else first
        else:
            t = clock()
        self.records.append((fmt.NATIVE_CALLS, self.sealed, t,
                             fiber.id if fiber is not None else 0, self._sid(tier), n,
                             osr + 1))
        if n:
            self.pieces.append(words)
            self.sealed += n

    def jit_compile(self, function, tier, seconds, code_bytes, address) -> None:
        self._event(fmt.JIT_COMPILE, function.index, self._sid(tier), int(seconds * 1e9),
                    code_bytes, address)

    def tier_change(self, function, old, new) -> None:
        self._event(fmt.TIER_CHANGE, function.index, self._sid(old), self._sid(new))

    def sample(self, fiber, frames, allocated) -> None:
        """A CPU sample: the time since the previous one, at this stack (its bytes
        allocated are the allocation samples', `_alloc_sample`)."""
        t = clock()
        stack = self._stack(frames)
        vm = self.vm
        jit = vm.jit if vm is not None else None
        native = jit.native_frames(vm.frame) if jit is not None else 0
        self.records.append((fmt.SAMPLE, self.sealed + len(self.words), t, fiber.id, stack,
                             t - self.last_sample, 0, native))
        self.last_sample = t

    def _alloc_sample(self, frame, pc: int) -> None:
        """An allocation sample: the bytes allocated since the previous one, at the stack
        that allocated (`frame` at `pc`, then its callers at their calls), no CPU time."""
        allocated = self.heap.allocated_bytes
        frames = [(frame.fn, max(0, pc))]
        fr = frame.parent
        while fr is not None:
            frames.append((fr.fn, max(0, fr.pc - 1)))
            fr = fr.parent
        cur = self.sched.current if self.sched is not None else None
        self.records.append((fmt.SAMPLE, self.sealed + len(self.words), clock(),
                             cur.id if cur is not None else 0, self._stack(frames), 0,
                             max(0, allocated - self.last_alloc), 0))
        self.last_alloc = allocated


class Fanout(EventSink):
    """Sends each event to several recorders (`--trace` and `--profile` together): calls
    to those that want them, samples to the one that samples."""

    def __init__(self, sinks: list[EventSink]):
        self.sinks = sinks
        self.wants_calls = any(s.wants_calls for s in sinks)
        self.sample_every = min((s.sample_every for s in sinks if s.sample_every),
                                default=0)
        callers = [s for s in sinks if s.wants_calls]
        samplers = [s for s in sinks if s.sample_every]

        def call(vm, frame):
            for s in callers:
                s.call(vm, frame)

        def native_calls(fiber, tier, words, osr):
            for s in callers:
                s.native_calls(fiber, tier, words, osr)

        def ret(vm, frame, value):
            for s in callers:
                s.ret(vm, frame, value)

        def sample(fiber, frames, allocated):
            for s in samplers:
                s.sample(fiber, frames, allocated)

        self.call = call
        self.ret = ret
        self.sample = sample
        if all(takes_native_calls(s) for s in callers):
            self.native_calls = native_calls

    def _each(name):
        def forward(self, *args):
            for s in self.sinks:
                getattr(s, name)(*args)
        forward.__name__ = name
        return forward

    fiber_spawn = _each("fiber_spawn")
    fiber_run = _each("fiber_run")
    fiber_block = _each("fiber_block")
    fiber_done = _each("fiber_done")
    send = _each("send")
    receive = _each("receive")
    gc = _each("gc")
    region = _each("region")
    panic = _each("panic")
    user = _each("user")
    jit_compile = _each("jit_compile")
    tier_change = _each("tier_change")
    del _each
