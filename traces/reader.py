"""Reading a trace file (docs/trace-format.md) as a stream of events.

`TraceReader(path)` checks the file header and every chunk's frame and checksum first
(reading chunk by chunk), so it knows before any export starts whether the file is
readable, and how much of a damaged tail it drops:

- a last chunk cut short (the recording process was killed, or the copy is incomplete)
  is dropped: `reader.dropped` says where and how many bytes, and everything before it
  is read;
- a file that is not a trace, whose header or first chunk is unreadable, or whose chunks
  fail their checksum raises `TraceFormatError`, one sentence naming the file and offset.

`events()` then decodes chunk by chunk, so memory stays flat however long the trace;
the string, function and stack tables grow as their chunks arrive. Chunks of unknown
tags and records of unknown kinds are skipped by their length.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from traces import format as fmt
from traces import model as m
from traces.errors import TraceFormatError


class Dropped(NamedTuple):
    """The damaged tail that was not read: from byte `offset`, `size` bytes."""

    offset: int
    size: int
    reason: str


class CallRun(NamedTuple):
    """Calls and returns as the call column holds them (docs/trace-format.md, EVTS):
    `words[lo:hi]`, all in `fiber`. A negative word `w` is a call of function `~w`, and
    the next word is its time; any other word is a return, and is its time. Times are
    absolute: subtract the reader's `start`. (A call whose time word is missing, at the
    end of a damaged chunk, is at time 0.)"""

    fiber: int
    words: array
    lo: int
    hi: int


class ChunkRef(NamedTuple):
    tag: bytes
    offset: int       # of the chunk header
    length: int       # of the payload


def _printable(tag: bytes) -> bool:
    return all(0x20 <= b < 0x7F for b in tag)


class TraceReader:
    """A trace file opened for reading.

    Attributes:
        path: the file.
        info: the INFO properties (mode, start_ns, pid, program, ...).
        end: the END properties, or None when the run did not end cleanly.
        dropped: the damaged tail that was skipped, or None.
        size: the file's size in bytes.
        strings, functions, stacks: the tables read so far (complete after `events()`
            has been exhausted, or after `load_tables()`).

    Raises:
        TraceFormatError: the file cannot be read as a trace (see the module docstring).
    """

    def __init__(self, path: str):
        self.path = path
        try:
            self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as e:
            raise TraceFormatError(f"cannot read '{path}': {e.strerror or e}") from None
        self.info: dict[str, str] = {}
        self.end: dict[str, str] | None = None
        self.dropped: Dropped | None = None
        self.strings: list[str] = [""]
        self.functions: dict[int, m.FunctionInfo] = {}
        self.stacks: list[m.StackNode] = [m.StackNode(0, 0, 0)]
        self.chunks: list[ChunkRef] = []
        self._tables_loaded = False
        try:
            self._scan()
        except BaseException:
            self._file.close()
            raise
        self.start = self.number("start_ns")
        self.mode = self.info.get("mode", "trace")

    # -- whole-file checks ---------------------------------------------------------------

    def _fail(self, what: str, offset: int = 0) -> TraceFormatError:
        return TraceFormatError(f"'{self.path}' {what}", offset)

    def _scan(self) -> None:
        f = self._file
        f.seek(0, 2)
        self.size = size = f.tell()
        f.seek(0)
        head = f.read(fmt.HEADER_SIZE)
        if size == 0:
            raise self._fail("is empty, not a Vyn trace")
        if not (head.startswith(fmt.MAGIC) or fmt.MAGIC.startswith(head)):
            raise self._fail("is not a Vyn trace (it does not start with VYNTRACE)")
        if len(head) < fmt.HEADER_SIZE:
            raise self._fail(f"is truncated: it ends after {size} bytes, inside the file "
                             "header", size)
        _, version, _, _ = struct.unpack(fmt.HEADER_FORMAT, head)
        if version != fmt.VERSION:
            raise self._fail(f"is a version {version} trace; this vyn reads version "
                             f"{fmt.VERSION}", 8)
        offset = fmt.HEADER_SIZE
        while offset < size:
            header = f.read(fmt.CHUNK_HEADER_SIZE)
            if len(header) < fmt.CHUNK_HEADER_SIZE:
                self._truncated(offset, "an incomplete chunk header")
                break
            tag, length, crc = struct.unpack(fmt.CHUNK_HEADER_FORMAT, header)
            if not _printable(tag) or length > fmt.MAX_CHUNK:
                raise self._fail(f"is damaged at byte {offset}: no chunk starts there",
                                 offset)
            payload = f.read(length)
            if len(payload) < length:
                self._truncated(offset, f"an incomplete {tag.decode().strip()} chunk")
                break
            if zlib.crc32(payload, zlib.crc32(tag)) != crc:
                raise self._fail(f"is damaged at byte {offset}: the {tag.decode('ascii')} "
                                 "chunk there fails its checksum", offset)
            if not self.chunks:
                if tag != fmt.TAG_INFO:
                    raise self._fail(f"is damaged at byte {offset}: the first chunk is "
                                     f"{tag.decode()}, not INFO", offset)
                self.info = self._properties(payload, offset)
            elif tag == fmt.TAG_END:
                self.end = self._properties(payload, offset)
            self.chunks.append(ChunkRef(tag, offset, length))
            offset += fmt.CHUNK_HEADER_SIZE + length
        if not self.chunks:
            raise self._fail(f"is truncated: it ends after {size} bytes, before its first "
                             "chunk is complete", size)

    def _truncated(self, offset: int, what: str) -> None:
        if not self.chunks:
            raise self._fail(f"is truncated: it ends after {self.size} bytes, before its "
                             "first chunk is complete", self.size)
        self.dropped = Dropped(offset, self.size - offset, what)

    def _properties(self, payload: bytes, offset: int) -> dict[str, str]:
        try:
            n, pos = fmt.read_uvarint(payload, 0)
            out = {}
            for _ in range(n):
                k, pos = fmt.read_string(payload, pos)
                v, pos = fmt.read_string(payload, pos)
                out[k] = v
            return out
        except (IndexError, ValueError):
            raise self._fail(f"is damaged at byte {offset}: its properties cannot be "
                             "decoded", offset) from None

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def valid_bytes(self) -> int:
        """Bytes of the file that are read (all but a dropped tail)."""
        return self.dropped.offset if self.dropped is not None else self.size

    # -- tables --------------------------------------------------------------------------

    def function(self, fid: int) -> m.FunctionInfo:
        """The function with id `fid` (a placeholder if the table lacks it)."""
        f = self.functions.get(fid)
        if f is None:
            f = m.FunctionInfo(fid, f"function #{fid}", "", 0)
        return f

    def frames(self, stack: int) -> list[m.StackNode]:
        """The nodes of `stack`, outermost (the fiber's first call) first."""
        out = []
        stacks = self.stacks
        seen = 0
        while 0 < stack < len(stacks) and seen < 100_000:
            node = stacks[stack]
            out.append(node)
            stack = node.parent
            seen += 1
        out.reverse()
        return out

    def _payload(self, ref: ChunkRef) -> bytes:
        self._file.seek(ref.offset + fmt.CHUNK_HEADER_SIZE)
        return self._file.read(ref.length)

    def load_tables(self) -> None:
        """Read every table chunk (not the events), for exporters that need names first."""
        for ref in self.chunks:
            if ref.tag in (fmt.TAG_STRS, fmt.TAG_FUNC, fmt.TAG_STAK):
                self._table(ref, self._payload(ref))
        self._tables_loaded = True

    def _table(self, ref: ChunkRef, p: bytes) -> None:
        try:
            if ref.tag == fmt.TAG_STRS:
                first, pos = fmt.read_uvarint(p, 0)
                n, pos = fmt.read_uvarint(p, pos)
                if first > len(self.strings):
                    raise ValueError("gap")
                del self.strings[first:]
                for _ in range(n):
                    s, pos = fmt.read_string(p, pos)
                    self.strings.append(s)
            elif ref.tag == fmt.TAG_FUNC:
                n, pos = fmt.read_uvarint(p, 0)
                strings = self.strings
                for _ in range(n):
                    fid, pos = fmt.read_uvarint(p, pos)
                    name, pos = fmt.read_uvarint(p, pos)
                    file, pos = fmt.read_uvarint(p, pos)
                    line, pos = fmt.read_uvarint(p, pos)
                    self.functions[fid] = m.FunctionInfo(fid, strings[name], strings[file],
                                                         line)
            elif ref.tag == fmt.TAG_STAK:
                first, pos = fmt.read_uvarint(p, 0)
                n, pos = fmt.read_uvarint(p, pos)
                if first > len(self.stacks):
                    raise ValueError("gap")
                del self.stacks[first:]
                for _ in range(n):
                    parent, pos = fmt.read_uvarint(p, pos)
                    fid, pos = fmt.read_uvarint(p, pos)
                    line, pos = fmt.read_uvarint(p, pos)
                    if parent >= len(self.stacks):
                        raise ValueError("a frame's caller comes after it")
                    self.stacks.append(m.StackNode(parent, fid, line))
        except (IndexError, ValueError):
            raise self._fail(f"is damaged at byte {ref.offset}: its {ref.tag.decode()} "
                             "chunk cannot be decoded", ref.offset) from None

    # -- events --------------------------------------------------------------------------

    def events(self) -> Iterator[tuple]:
        """Every event in order, as the NamedTuples of traces/model.py.

        Raises:
            TraceFormatError: a chunk's contents cannot be decoded.
        """
        start = self.start
        new = tuple.__new__
        Call, Return = m.Call, m.Return
        for item in self.items():
            if type(item) is not CallRun:
                yield item
                continue
            fiber, words, lo, hi = item
            it = iter(words[lo:hi])
            for w in it:
                if w < 0:
                    yield new(Call, (next(it, start) - start, fiber, ~w))
                else:
                    yield new(Return, (w - start, fiber))

    def items(self) -> Iterator[tuple]:
        """Every event in order, as `events()` gives them, but the calls and returns left
        in the call column: each run of them between two records is one `CallRun`, for
        readers that go through millions of calls (tui/trace_model.py) without making a
        tuple per call.

        Raises:
            TraceFormatError: a chunk's contents cannot be decoded.
        """
        for ref in self.chunks:
            if ref.tag == fmt.TAG_EVTS:
                yield from self._chunk_items(ref, self._payload(ref))
            elif (ref.tag in (fmt.TAG_STRS, fmt.TAG_FUNC, fmt.TAG_STAK)
                  and not self._tables_loaded):
                self._table(ref, self._payload(ref))
        self._tables_loaded = True

    def raw_chunks(self) -> Iterator[tuple[ChunkRef, bytes]]:
        """(chunk, payload) for every readable chunk, EVTS payloads decompressed."""
        for ref in self.chunks:
            p = self._payload(ref)
            if ref.tag == fmt.TAG_EVTS:
                p = self._decompress(ref, p)
            yield ref, p

    def _decompress(self, ref: ChunkRef, payload: bytes) -> bytes:
        try:
            return zlib.decompress(payload)
        except zlib.error:
            raise self._fail(f"is damaged at byte {ref.offset}: its EVTS chunk does not "
                             "decompress", ref.offset) from None

    def _chunk_items(self, ref: ChunkRef, payload: bytes) -> Iterator[tuple]:
        data = self._decompress(ref, payload)
        try:
            base, pos = fmt.read_uvarint(data, 0)
            fiber, pos = fmt.read_uvarint(data, pos)
            nwords, pos = fmt.read_uvarint(data, pos)
            end = pos + 8 * nwords
            if end > len(data):
                raise IndexError("words past the end")
            words = fmt.bytes_to_words(memoryview(data)[pos:end])
            nrec, pos = fmt.read_uvarint(data, end)
        except (IndexError, ValueError):
            raise self._fail(f"is damaged at byte {ref.offset}: its EVTS chunk cannot be "
                             "decoded", ref.offset) from None
        start = self.start
        strings = self.strings
        wi = 0
        read = fmt.read_uvarint
        for _ in range(nrec):
            try:
                kind, pos = read(data, pos)
                length, pos = read(data, pos)
                body_end = pos + length
                if body_end > len(data):
                    raise IndexError("record past the end")
                at, p = read(data, pos)
                dt, p = read(data, p)
                fields = []
                while p < body_end:
                    v, p = read(data, p)
                    fields.append(v)
                pos = body_end
            except (IndexError, ValueError):
                raise self._fail(f"is damaged at byte {ref.offset}: a record of its EVTS "
                                 "chunk cannot be decoded", ref.offset) from None
            # The calls and returns before this record (a call's time word with it: a
            # time is never negative, so a negative word is always a call).
            if wi < at and wi < nwords:
                hi = min(at, nwords)
                if words[hi - 1] < 0 and hi < nwords:
                    hi += 1
                yield CallRun(fiber, words, wi, hi)
                wi = hi
            ts = base + fmt.unzigzag(dt) - start
            try:
                ev = self._record(kind, ts, fields, strings, fiber)
                if (kind == fmt.SAMPLE or kind == fmt.PANIC) and ev.stack >= len(self.stacks):
                    raise IndexError("no such stack")
            except (IndexError, ValueError):
                name = fmt.RECORD_NAMES.get(kind, f"kind {kind}")
                raise self._fail(f"is damaged at byte {ref.offset}: a {name} record of its "
                                 "EVTS chunk cannot be decoded", ref.offset) from None
            if kind == fmt.FIBER_RUN:
                fiber = ev.fiber
            yield ev
        if wi < nwords:
            yield CallRun(fiber, words, wi, nwords)

    @staticmethod
    def _record(kind: int, ts: int, f: list[int], s: list[str], fiber: int) -> tuple:
        if kind == fmt.FIBER_RUN:
            return m.FiberRun(ts, f[0], f[1])
        if kind == fmt.SAMPLE:
            return m.Sample(ts, f[0], f[1], f[2], f[3], f[4] if len(f) > 4 else 0)
        if kind == fmt.HEAP:
            return m.HeapCounter(ts, f[0], f[1])
        if kind == fmt.FIBER_SPAWN:
            return m.FiberSpawn(ts, f[0], f[1], s[f[2]], s[f[3]])
        if kind == fmt.FIBER_BLOCK:
            return m.FiberBlock(ts, f[0], s[f[1]])
        if kind == fmt.FIBER_DONE:
            return m.FiberDone(ts, f[0], s[f[1]])
        if kind == fmt.SEND:
            return m.Send(ts, f[0], f[1], s[f[2]], f[3])
        if kind == fmt.RECEIVE:
            return m.Receive(ts, f[0], f[1])
        if kind == fmt.GC:
            return m.Collection(ts, s[f[0]], s[f[1]], f[2], f[3], f[4], f[5])
        if kind == fmt.REGION_ENTER:
            return m.RegionEnter(ts, fiber, f[0])
        if kind == fmt.REGION_EXIT:
            return m.RegionExit(ts, fiber, f[0], f[1], f[2])
        if kind == fmt.PANIC:
            return m.Panic(ts, f[0], s[f[1]], f[2])
        if kind == fmt.USER:
            return m.UserEvent(ts, f[0], s[f[1]], s[f[2]])
        if kind == fmt.JIT_COMPILE:
            return m.JitCompile(ts, f[0], s[f[1]], f[2], f[3], f[4] if len(f) > 4 else 0)
        if kind == fmt.TIER_CHANGE:
            return m.TierChange(ts, f[0], s[f[1]], s[f[2]])
        if kind == fmt.NATIVE_CALLS:
            return m.NativeCalls(ts, f[0], s[f[1]], f[2], f[3] - 1)
        return m.Unknown(ts, kind)

    def duration(self) -> int | None:
        """Nanoseconds from the start to the END chunk, if the run ended cleanly."""
        if self.end is None or not _is_number(self.end.get("end_ns", "")):
            return None
        return int(self.end["end_ns"]) - self.start

    def number(self, key: str, default: int = 0) -> int:
        """The INFO property `key` as a whole number (`default` if missing or not one)."""
        value = self.info.get(key, "")
        return int(value) if _is_number(value) else default


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) < 30


def open_trace(path: str) -> TraceReader:
    """`TraceReader(path)`: a readable trace, or TraceFormatError."""
    return TraceReader(path)
