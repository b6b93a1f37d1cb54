"""The trace file format (docs/trace-format.md): its worked example, encoded here by hand
byte by byte, read back as the page says; damaged files dropped or refused as it says."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.run import run_program
from traces import format as fmt
from traces import model as m
from traces.errors import TraceFormatError
from traces.reader import TraceReader
from traces.recorder import Recorder

DOC = Path(__file__).resolve().parent.parent / "docs" / "trace-format.md"


def frame(tag: bytes, payload: bytes, crc: int | None = None) -> bytes:
    """A chunk: tag, u32 length, u32 CRC-32 of tag + payload, payload."""
    if crc is None:
        crc = zlib.crc32(tag + payload)
    return tag + struct.pack("<II", len(payload), crc) + payload


HEADER = bytes.fromhex(
    "56 59 4e 54 52 41 43 45"    # magic VYNTRACE
    "01 00"                      # version 1
    "00 00 00 00 00 00")         # reserved
INFO = bytes.fromhex(
    "02"                                      # 2 properties
    "04 6d 6f 64 65 05 74 72 61 63 65"        # "mode" = "trace"
    "08 73 74 61 72 74 5f 6e 73 04 31 30 30 30")   # "start_ns" = "1000"
STRS = bytes.fromhex(
    "01 02"                                   # first id 1, 2 strings
    "04 6d 61 69 6e 05 6d 2e 76 79 6e")       # "main", "m.vyn"
FUNC = bytes.fromhex(
    "01"                                      # 1 function
    "00 01 02 03")                            # id 0, name 1, file 2, line 3
EVTS = bytes.fromhex(
    "e8 07"                                   # base 1000
    "00"                                      # no fiber running
    "03"                                      # 3 words
    "ff ff ff ff ff ff ff ff"                 # -1: call of function ~(-1) = 0
    "dc 05 00 00 00 00 00 00"                 # at 1500
    "28 0a 00 00 00 00 00 00"                 # return at 2600
    "02"                                      # 2 records
    "01 07 00 c8 01 01 00 01 01"              # fiber spawn: pos 0, dt +100, fiber 1,
                                              #   parent 0, kind "main", name "main"
    "02 05 00 90 03 01 01")                   # fiber run: pos 0, dt +200, fiber 1, step 1
END = bytes.fromhex(
    "02"                                      # 2 properties
    "06 65 6e 64 5f 6e 73 04 33 30 30 30"     # "end_ns" = "3000"
    "09 65 78 69 74 5f 63 6f 64 65 01 30")    # "exit_code" = "0"

EXPECTED = [
    m.FiberSpawn(100, 1, 0, "main", "main"),
    m.FiberRun(200, 1, 1),
    m.Call(500, 1, 0),
    m.Return(1600, 1),
]


def example() -> bytes:
    return (HEADER + frame(b"INFO", INFO, 0x86D539EE) + frame(b"STRS", STRS, 0x3E2EAB61) +
            frame(b"FUNC", FUNC, 0x5C2295D8) + frame(b"EVTS", zlib.compress(EVTS)) +
            frame(b"END ", END, 0x9E3A7BA7))


def read(path) -> tuple[TraceReader, list]:
    reader = TraceReader(str(path))
    events = list(reader.events())
    return reader, events


def test_the_documented_example_reads_back_as_documented(tmp_path):
    p = tmp_path / "example.vtrace"
    p.write_bytes(example())
    reader, events = read(p)
    assert events == EXPECTED
    assert reader.info == {"mode": "trace", "start_ns": "1000"}
    assert reader.end == {"end_ns": "3000", "exit_code": "0"}
    assert reader.functions[0] == m.FunctionInfo(0, "main", "m.vyn", 3)
    assert reader.duration() == 2000 and reader.dropped is None


def test_the_page_shows_the_same_bytes_and_events():
    text = DOC.read_text(encoding="utf-8")
    example_block = re.search(r"## Example.*?```text\n(.*?)```", text, re.DOTALL).group(1)
    for name, payload in (("INFO", INFO), ("STRS", STRS), ("FUNC", FUNC), ("END", END)):
        crc = zlib.crc32(name.ljust(4).encode() + payload)
        assert f"{name}, {len(payload)} bytes, CRC 0x{crc:08x}" in example_block
    assert f"these {len(EVTS)} bytes" in example_block
    # Every payload byte appears on the page, in order, as hex pairs.
    shown = []
    for line in example_block.splitlines():
        if line.startswith("  "):
            cells = re.split(r" {3,}", line.strip())[0].split()
            if all(re.fullmatch(r"[0-9a-f]{2}", c) for c in cells):
                shown.extend(cells)
    assert " ".join(shown) == (INFO + STRS + FUNC + EVTS + END).hex(" ")
    listed = re.search(r"Its events.*?```text\n(.*?)```", text, re.DOTALL).group(1)
    assert listed.strip().splitlines() == [repr(e) for e in EXPECTED]


def test_the_writer_and_the_spec_agree_on_primitives():
    assert fmt.file_header() == HEADER
    assert fmt.properties({"mode": "trace", "start_ns": "1000"}) == INFO
    assert fmt.chunk(b"INFO", INFO)[8:12] == struct.pack("<I", 0x86D539EE)
    assert [fmt.svarint(n) for n in (0, -1, 1, -2, 100)] == [
        b"\x00", b"\x01", b"\x02", b"\x03", b"\xc8\x01"]
    assert fmt.uvarint(1000) == b"\xe8\x07"
    assert fmt.read_uvarint(b"\xe8\x07", 0) == (1000, 2)


@pytest.mark.parametrize("cut", [1, 5, 12, 20, 36])
def test_a_file_cut_inside_its_last_chunk_reads_to_the_chunk_before(tmp_path, cut):
    data = example()
    p = tmp_path / "cut.vtrace"
    p.write_bytes(data[:-cut])
    reader, events = read(p)
    assert events == EXPECTED and reader.end is None
    end_chunk_at = len(data) - (12 + len(END))
    assert reader.dropped.offset == end_chunk_at
    assert reader.dropped.size == len(data) - cut - end_chunk_at


def test_unknown_chunks_and_records_are_skipped(tmp_path):
    newer = bytearray(EVTS)
    # A record of kind 99 with 3 bytes, and a fiber run with one more field than known.
    newer[-17] = 4                                # 4 records instead of 2
    newer += bytes.fromhex("63 03 00 00 07") + bytes.fromhex("02 06 00 90 03 01 01 2a")
    data = (HEADER + frame(b"INFO", INFO) + frame(b"STRS", STRS) + frame(b"FUNC", FUNC) +
            frame(b"JITS", b"native code, one day") + frame(b"EVTS", zlib.compress(newer)))
    p = tmp_path / "newer.vtrace"
    p.write_bytes(data)
    _, events = read(p)
    assert events[:2] == EXPECTED[:2]
    assert m.Unknown(0, 99) in events and events.count(m.FiberRun(200, 1, 1)) == 2


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"PK\x03\x04 a zip file", "is not a Vyn trace"),
    (b"VYNTR", "is truncated"),
    (HEADER, "before its first chunk is complete"),
    (HEADER + frame(b"INFO", INFO)[:20], "before its first chunk is complete"),
    (HEADER[:8] + b"\x09\x00" + HEADER[10:], "is a version 9 trace"),
    (HEADER + frame(b"STRS", STRS), "the first chunk is STRS, not INFO"),
    (HEADER + frame(b"INFO", INFO) + b"\x00\x01garbage garbage", "no chunk starts there"),
    (HEADER + frame(b"INFO", INFO) + frame(b"STRS", STRS, crc=1), "fails its checksum"),
    (HEADER + frame(b"INFO", INFO) + frame(b"EVTS", b"not zlib"), "does not decompress"),
])
def test_foreign_or_damaged_files_are_refused_with_one_sentence(tmp_path, data, message):
    p = tmp_path / "bad.vtrace"
    p.write_bytes(data)
    with pytest.raises(TraceFormatError) as e:
        read(p)
    assert message in e.value.message and str(p) in e.value.message
    assert "\n" not in e.value.message


def test_a_corrupted_byte_anywhere_is_caught_by_the_checksum(tmp_path):
    data = bytearray(example())
    for offset in range(16 + 12, len(data), 7):
        damaged = bytearray(data)
        damaged[offset] ^= 0x40
        p = tmp_path / "flip.vtrace"
        p.write_bytes(bytes(damaged))
        try:
            reader, events = read(p)
        except TraceFormatError:
            continue
        # A flip inside a chunk header can only make the file look cut short.
        assert events == EXPECTED[:len(events)] and reader.dropped is not None


PROGRAM = """
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn main() {
  let ch: Channel<Int> = Channel::unbounded()
  spawn fn producer() { ch.send(fib(12)) }
  println("{}", ch.recv().unwrap())
  trace_event("app", "done")
}
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> bytes:
    from compiler.lower import compile_file

    program = compile_file("t.vyn", PROGRAM).program
    path = tmp_path_factory.mktemp("rec") / "t.vtrace"
    rec = Recorder(str(path), calls=True)
    # Small chunks, so that cuts fall between chunks as well as inside them.
    rec_flush = rec.fiber_run

    def fiber_run(fiber):
        rec_flush(fiber)
        rec.flush(rec.chunk_ts + 1)

    rec.fiber_run = fiber_run
    out = io.StringIO()
    assert run_program(program, ["t.vyn"], stdout=out, stderr=io.StringIO(),
                       events=rec.attach) == 0
    rec.close(0)
    assert out.getvalue() == "144\n"
    return path.read_bytes()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_prefix_of_a_recording_reads_to_its_last_complete_chunk(recorded, tmp_path_factory,
                                                                    data):
    full_path = tmp_path_factory.mktemp("full") / "full.vtrace"
    full_path.write_bytes(recorded)
    full = TraceReader(str(full_path))
    all_events = list(full.events())
    ends = [c.offset + 12 + c.length for c in full.chunks]
    full.close()
    cut = data.draw(st.integers(min_value=ends[0], max_value=len(recorded)))
    p = tmp_path_factory.mktemp("cut") / "cut.vtrace"
    p.write_bytes(recorded[:cut])
    reader, events = read(p)
    assert events == all_events[:len(events)]
    complete = max(e for e in ends if e <= cut)
    assert reader.valid_bytes == complete
    assert (reader.dropped is None) == (complete == cut)
    if reader.dropped is not None:
        assert reader.dropped.size == cut - complete


def _rechunk(data: bytes, index: int, mutate) -> bytes:
    """`data` with chunk `index`'s payload mutated and its CRC made right again (an EVTS
    payload is mutated decompressed, then compressed again)."""
    pos = 16
    out = bytearray(data[:16])
    i = 0
    while pos < len(data):
        tag, length, _ = struct.unpack("<4sII", data[pos:pos + 12])
        payload = data[pos + 12:pos + 12 + length]
        if i == index:
            if tag == b"EVTS":
                payload = zlib.compress(mutate(zlib.decompress(payload)))
            else:
                payload = mutate(payload)
        out += frame(tag, payload)
        pos += 12 + length
        i += 1
    return bytes(out)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_damage_behind_a_valid_checksum_still_ends_in_one_sentence(recorded, tmp_path_factory,
                                                                  data):
    """A chunk whose checksum is right but whose contents are wrong (a bug, a crafted
    file) gets TraceFormatError from the reader and every exporter, never a traceback."""
    from traces.exporters import FORMATS

    count = 0
    pos = 16
    while pos < len(recorded):
        pos += 12 + struct.unpack("<I", recorded[pos + 4:pos + 8])[0]
        count += 1
    index = data.draw(st.integers(1, count - 1))

    def mutate(payload: bytes) -> bytes:
        b = bytearray(payload)
        for _ in range(data.draw(st.integers(1, 4))):
            if not b:
                break
            action = data.draw(st.sampled_from(["flip", "cut", "grow"]))
            at = data.draw(st.integers(0, len(b) - 1))
            if action == "flip":
                b[at] ^= 1 << data.draw(st.integers(0, 7))
            elif action == "cut":
                del b[at:]
            else:
                b[at:at] = bytes([data.draw(st.integers(0, 255))])
        return bytes(b)

    p = tmp_path_factory.mktemp("crafted") / "crafted.vtrace"
    p.write_bytes(_rechunk(recorded, index, mutate))
    for fmt_ in FORMATS.values():
        try:
            with TraceReader(str(p)) as reader:
                out = io.BytesIO() if fmt_.binary else io.StringIO()
                fmt_.write(reader, out, "cpu")
        except TraceFormatError as e:
            assert "\n" not in e.message and str(p) in e.message
