"""The trace file format's constants and primitive encodings (docs/trace-format.md).

Names follow the spec's sections: the file header, chunk framing ("Chunks"), the
chunk tags, the record kinds of an EVTS chunk ("Records") and the encodings of numbers
and strings ("Encodings"). The writer (`recorder.py`) and the reader (`reader.py`) share
everything here, so the two cannot drift apart.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array

# -- File header ("File header") -------------------------------------------------------------

MAGIC = b"VYNTRACE"
VERSION = 1
HEADER_FORMAT = "<8sHHI"        # magic, version, reserved (0), reserved (0)
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)   # 16

# -- Chunks ("Chunks") -----------------------------------------------------------------------

CHUNK_HEADER_FORMAT = "<4sII"   # tag, payload length, CRC-32 of tag + payload
CHUNK_HEADER_SIZE = struct.calcsize(CHUNK_HEADER_FORMAT)   # 12
MAX_CHUNK = 1 << 28             # a larger length is damage, not data

TAG_INFO = b"INFO"    # run properties; the first chunk
TAG_STRS = b"STRS"    # string table entries
TAG_FUNC = b"FUNC"    # function table entries
TAG_STAK = b"STAK"    # stack table entries
TAG_EVTS = b"EVTS"    # events (zlib-compressed)
TAG_END = b"END "     # the run ended; properties
KNOWN_TAGS = (TAG_INFO, TAG_STRS, TAG_FUNC, TAG_STAK, TAG_EVTS, TAG_END)

# -- Records of an EVTS chunk ("Records") ----------------------------------------------------

FIBER_SPAWN = 1     # fiber, parent, kind (string), name (string)
FIBER_RUN = 2       # fiber, step
FIBER_BLOCK = 3     # fiber, what (string)
FIBER_DONE = 4      # fiber, state (string)
SEND = 5            # flow, sender fiber, target (string), receiver
RECEIVE = 6         # flow, fiber
GC = 7              # kind (string), why (string), before, after, freed, duration ns
REGION_ENTER = 8    # region
REGION_EXIT = 9     # region, objects, bytes
PANIC = 10          # fiber, message (string), stack
USER = 11           # fiber, category (string), name (string)
SAMPLE = 12         # fiber, stack, cpu ns, allocated bytes, native frames
HEAP = 13           # bytes in use, bytes allocated so far
JIT_COMPILE = 14    # function, tier (string), duration ns, code bytes, address
TIER_CHANGE = 15    # function, from (string), to (string)
NATIVE_CALLS = 16   # fiber, tier (string), words, OSR function + 1 (0: none)

RECORD_NAMES = {
    FIBER_SPAWN: "fiber spawn", FIBER_RUN: "fiber run", FIBER_BLOCK: "fiber block",
    FIBER_DONE: "fiber done", SEND: "send", RECEIVE: "receive", GC: "collection",
    REGION_ENTER: "region enter", REGION_EXIT: "region exit", PANIC: "panic",
    USER: "user event", SAMPLE: "sample", HEAP: "heap", JIT_COMPILE: "jit compile",
    TIER_CHANGE: "tier change", NATIVE_CALLS: "native calls",
}

# -- Encodings ("Encodings") -----------------------------------------------------------------


def uvarint(n: int) -> bytes:
    """LEB128 encoding of a non-negative integer."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def svarint(n: int) -> bytes:
    """Zigzag, then LEB128: small negative numbers stay short."""
    return uvarint((n << 1) ^ (n >> 63) if n < 0 else n << 1)


def string(s: str) -> bytes:
    """A length-prefixed UTF-8 string (invalid surrogates replaced)."""
    b = s.encode("utf-8", "replace")
    return uvarint(len(b)) + b


def read_uvarint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, position after it). Raises IndexError past the end and ValueError for a
    varint longer than 10 bytes."""
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    pos += 1
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def read_string(buf: bytes | memoryview, pos: int) -> tuple[str, int]:
    n, pos = read_uvarint(buf, pos)
    end = pos + n
    if end > len(buf):
        raise IndexError("string past the end")
    return bytes(buf[pos:end]).decode("utf-8", "replace"), end


def chunk(tag: bytes, payload: bytes) -> bytes:
    """A framed chunk: its header (tag, length, CRC-32 of tag + payload), then payload."""
    crc = zlib.crc32(payload, zlib.crc32(tag))
    return struct.pack(CHUNK_HEADER_FORMAT, tag, len(payload), crc) + payload


def file_header() -> bytes:
    return struct.pack(HEADER_FORMAT, MAGIC, VERSION, 0, 0)


def properties(items: dict[str, str]) -> bytes:
    """The payload of INFO and END: a count, then (key, value) string pairs."""
    out = [uvarint(len(items))]
    for k, v in items.items():
        out.append(string(k))
        out.append(string(str(v)))
    return b"".join(out)


def words_to_bytes(words: list[int]) -> bytes:
    """The call column: signed 64-bit little-endian words."""
    a = array("q", words)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def bytes_to_words(data: bytes | memoryview) -> array:
    a = array("q")
    a.frombytes(data)
    if sys.byteorder != "little":
        a.byteswap()
    return a
