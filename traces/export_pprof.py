"""pprof's profile.proto, gzipped: what `go tool pprof` reads.

Field numbers are those of github.com/google/pprof/proto/profile.proto; the encoder is a
few lines of protobuf wire format (varints and length-delimited fields), so nothing
needs `protoc`. Sample types: `samples/count`, `cpu/nanoseconds` and
`alloc_space/bytes` (the default is cpu). A sample per distinct (fiber, stack), with a
`fiber` label; a location per (function, line) with its Vyn source line; a function
per Vyn function with its file and first line. One mapping that says functions, file
names and line numbers are all present, so pprof does not try to symbolize.
"""

from __future__ import annotations

import gzip
from typing import BinaryIO

from traces.reader import TraceReader
from traces.stacks import weighted_stacks

# Profile
P_SAMPLE_TYPE, P_SAMPLE, P_MAPPING, P_LOCATION, P_FUNCTION, P_STRING_TABLE = 1, 2, 3, 4, 5, 6
P_TIME_NANOS, P_DURATION_NANOS, P_PERIOD_TYPE, P_PERIOD, P_COMMENT = 9, 10, 11, 12, 13
P_DEFAULT_SAMPLE_TYPE = 14
# ValueType
VT_TYPE, VT_UNIT = 1, 2
# Sample
S_LOCATION_ID, S_VALUE, S_LABEL = 1, 2, 3
# Label
L_KEY, L_STR, L_NUM = 1, 2, 3
# Mapping
M_ID, M_START, M_LIMIT, M_OFFSET, M_FILENAME = 1, 2, 3, 4, 5
M_HAS_FUNCTIONS, M_HAS_FILENAMES, M_HAS_LINE_NUMBERS = 7, 8, 9
# Location
LOC_ID, LOC_MAPPING_ID, LOC_ADDRESS, LOC_LINE = 1, 2, 3, 4
# Line
LINE_FUNCTION_ID, LINE_LINE = 1, 2
# Function
F_ID, F_NAME, F_SYSTEM_NAME, F_FILENAME, F_START_LINE = 1, 2, 3, 4, 5

WIRE_VARINT, WIRE_LEN = 0, 2


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1      # int64 values go as two's complement, ten bytes
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _int(field: int, n: int) -> bytes:
    return _varint(field << 3 | WIRE_VARINT) + _varint(n) if n else b""


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | WIRE_LEN) + _varint(len(data)) + data


def _packed(field: int, values: list[int]) -> bytes:
    return _bytes(field, b"".join(_varint(v) for v in values)) if values else b""


class _Strings:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {"": 0}

    def __call__(self, s: str) -> int:
        i = self.ids.get(s)
        if i is None:
            i = self.ids[s] = len(self.ids)
        return i


def export_pprof(reader: TraceReader, out: BinaryIO) -> int:
    """Write `reader`'s profile to `out` as gzipped profile.proto; returns the samples
    read (for a trace, the intervals between its events)."""
    samples = weighted_stacks(reader)
    table = samples.table
    totals: dict[tuple[int, int], list[int]] = {}
    count = 0
    for s in samples:
        count += 1
        key = (s.fiber, s.stack)
        v = totals.get(key)
        if v is None:
            totals[key] = [1, s.cpu, s.alloc]
        else:
            v[0] += 1
            v[1] += s.cpu
            v[2] += s.alloc
    sid = _Strings()
    parts: list[bytes] = []
    for type_, unit in (("samples", "count"), ("cpu", "nanoseconds"), ("alloc_space", "bytes")):
        parts.append(_bytes(P_SAMPLE_TYPE, _int(VT_TYPE, sid(type_)) + _int(VT_UNIT, sid(unit))))
    locations: dict[tuple[int, int], int] = {}
    functions: set[int] = set()
    node_location: dict[int, int] = {}
    for (fiber, stack), (n, cpu, alloc) in totals.items():
        loc_ids = []
        node = stack
        while node:
            loc = node_location.get(node)
            if loc is None:
                frame = table.nodes[node]
                key = (frame.function, frame.line)
                loc = locations.get(key)
                if loc is None:
                    loc = locations[key] = len(locations) + 1
                    functions.add(frame.function)
                node_location[node] = loc
            loc_ids.append(loc)            # leaf first, as profile.proto wants
            node = table.nodes[node].parent
        label = _bytes(S_LABEL, _int(L_KEY, sid("fiber")) +
                       _int(L_STR, sid(samples.fiber_name(fiber))))
        parts.append(_bytes(P_SAMPLE, _packed(S_LOCATION_ID, loc_ids) +
                            _packed(S_VALUE, [n, cpu, alloc]) + label))
    program = reader.info.get("program", "") or "vyn"
    parts.append(_bytes(P_MAPPING, _int(M_ID, 1) + _int(M_START, 0x1000) +
                        _int(M_LIMIT, 0x1000 + (len(locations) + 1) * 16) +
                        _int(M_FILENAME, sid(program)) + _int(M_HAS_FUNCTIONS, 1) +
                        _int(M_HAS_FILENAMES, 1) + _int(M_HAS_LINE_NUMBERS, 1)))
    for (fid, line), loc in locations.items():
        parts.append(_bytes(P_LOCATION, _int(LOC_ID, loc) + _int(LOC_MAPPING_ID, 1) +
                            _int(LOC_ADDRESS, 0x1000 + loc * 16) +
                            _bytes(LOC_LINE, _int(LINE_FUNCTION_ID, fid + 1) +
                                   _int(LINE_LINE, line))))
    for fid in sorted(functions):
        f = reader.function(fid)
        parts.append(_bytes(P_FUNCTION, _int(F_ID, fid + 1) + _int(F_NAME, sid(f.name)) +
                            _int(F_SYSTEM_NAME, sid(f.name)) + _int(F_FILENAME, sid(f.file)) +
                            _int(F_START_LINE, f.line)))
    start_unix = reader.number("start_unix_ns")
    duration = reader.duration() or 0
    tail = [_int(P_TIME_NANOS, start_unix), _int(P_DURATION_NANOS, duration),
            _bytes(P_PERIOD_TYPE, _int(VT_TYPE, sid("cpu")) + _int(VT_UNIT, sid("nanoseconds"))),
            _int(P_DEFAULT_SAMPLE_TYPE, sid("cpu"))]
    if reader.mode == "profile":
        tail.append(_int(P_COMMENT, sid(f"one sample every {reader.info.get('sample_every')} "
                                        "reductions")))
    else:
        tail.append(_int(P_COMMENT, sid("derived exactly from a trace's calls and returns")))
    strings = b"".join(_bytes(P_STRING_TABLE, s.encode("utf-8")) for s in sid.ids)
    data = b"".join(parts) + b"".join(tail) + strings
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(data)
    return count

