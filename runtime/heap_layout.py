"""Heap object layout: the header, its flag bits, slot kinds and the type registry.

Every tier reads heap objects: the interpreter through memoryviews, native code through
pointers, the collector and the debugger through `Heap`. So every offset and bit is a
named constant here, and docs/heap.md shows the same tables.

An object is a 16-byte header followed by its payload, 8-byte aligned:

    offset  size  field     meaning
    0       4     type_id   index into the type registry (0 = a free block, never an object)
    4       4     flags     FLAG_* bits below
    8       4     size      payload size in bytes, a multiple of 8
    12      4     aux       refcount if FLAG_RC, else region id if FLAG_REGION, else 0
    16      size  payload   8-byte slots (int64, float64 bits, pointers) or, for byte
                            objects, a u64 length then the bytes, zero-padded

All fields are little-endian. An object's address is the address of its header.
"""

from __future__ import annotations

import mmap
import os
import struct
import sys
from collections import namedtuple

from runtime.heap_errors import HeapError

WORD = 8
HEADER_SIZE = 16
HEADER = struct.Struct("<IIII")  # type_id, flags, size, aux
TYPE_ID_OFFSET = 0
FLAGS_OFFSET = 4
SIZE_OFFSET = 8
AUX_OFFSET = 12
PAYLOAD_OFFSET = HEADER_SIZE

# A byte object's payload: its length, then the bytes.
BYTES_LENGTH = struct.Struct("<Q")
BYTES_DATA_OFFSET = PAYLOAD_OFFSET + WORD

MAX_PAYLOAD = 0xFFFF_FFF8  # the largest multiple of 8 that fits the u32 size field
MAX_SLOTS = MAX_PAYLOAD // WORD

FREE_TYPE_ID = 0  # type id of a free block (memory the collector reclaimed)

# Header flag bits.
FLAG_MARK = 1 << 0  # reserved for a collector that marks in place (heap_gc uses a side table)
FLAG_FREED = 1 << 1  # free(p), or a refcount dropped to zero: any access is "use after free"
FLAG_RELEASED = 1 << 2  # its scoped region exited: any access is "dangling reference"
FLAG_REGION = 1 << 3  # allocated while a scoped region was the innermost active one
FLAG_RC = 1 << 4  # reference counted (ref<T>): aux holds the count
FLAG_BYTES = 1 << 5  # payload is a u64 length then raw bytes, not slots
FLAG_FREE_BLOCK = 1 << 6  # not an object: reclaimed memory awaiting reuse (type_id 0)
FLAG_YOUNG = 1 << 7  # allocated since the last collection (the young generation)

# An accessor refuses an object with any of these bits (one AND on the flags word).
FLAGS_DEAD = FLAG_FREED | FLAG_RELEASED | FLAG_FREE_BLOCK

FLAG_NAMES = {
    FLAG_MARK: "MARK",
    FLAG_FREED: "FREED",
    FLAG_RELEASED: "RELEASED",
    FLAG_REGION: "REGION",
    FLAG_RC: "RC",
    FLAG_BYTES: "BYTES",
    FLAG_FREE_BLOCK: "FREE_BLOCK",
    FLAG_YOUNG: "YOUNG",
}


def flag_names(flags: int) -> tuple[str, ...]:
    """The names of the bits set in a header's flags word, lowest bit first."""
    names = tuple(name for bit, name in FLAG_NAMES.items() if flags & bit)
    unknown = flags & ~sum(FLAG_NAMES)
    return names + ((f"0x{unknown:x}",) if unknown else ())


def object_size(payload: int) -> int:
    """Bytes an object with `payload` payload bytes occupies, header included."""
    return HEADER_SIZE + payload


def bytes_payload(length: int) -> int:
    """Payload size of a byte object holding `length` bytes (length word + padded data)."""
    return WORD + (length + WORD - 1) // WORD * WORD


# SlotKind and TypeKind are int constants, not IntEnums: `vyn run` loads this module at
# every start, and importing enum costs about 3 ms there.

class SlotKind:
    """What an 8-byte payload slot holds; the collector follows PTR slots only."""

    INT = 0  # int64
    FLOAT = 1  # float64 bits
    PTR = 2  # address of another heap object, or 0 (null)
    BYTES = 3  # raw bytes (only in BYTES types)
    ALL = (INT, FLOAT, PTR, BYTES)


class TypeKind:
    """The shape of a type's objects."""

    RECORD = 0  # a fixed number of slots, one SlotKind each (class, tuple, enum variant)
    ARRAY = 1  # any number of slots, all of one SlotKind (a vector's data)
    BYTES = 2  # a length and raw bytes (a string's text)
    ALL = (RECORD, ARRAY, BYTES)


def _kind(value: object, kinds: tuple[int, ...], what: str) -> int:
    if type(value) is bool or value not in kinds:
        raise ValueError(f"{value!r} is not a valid {what}")
    return int(value)


class TypeInfo(namedtuple("TypeInfo", "type_id name kind slot_kinds")):
    """A registered heap type: what the VM said its objects hold (`kind`, a TypeKind;
    `slot_kinds`, SlotKinds: one per slot of a RECORD, (element,) for an ARRAY, () for
    BYTES)."""

    __slots__ = ()


class ObjectInfo(namedtuple("ObjectInfo", "addr type_id size flags")):
    """One object as `Heap.walk` reports it (`size`: its payload's bytes)."""

    __slots__ = ()


class ObjectHeader(namedtuple("ObjectHeader", "type_id flags size aux")):
    """The four header fields of the object at an address."""

    __slots__ = ()


# Shapes the allocator compares `nslots` against: a RECORD's slot count, or these.
SHAPE_ARRAY = -1
SHAPE_BYTES = -2
SHAPE_UNKNOWN = -3  # not a registered type id

# Pointer maps the collector reads: a tuple of PTR slot indices, or every slot.
TRACE_ALL = None


class TypeRegistry:
    """Type ids the VM registers at load time, and what the heap derives from them."""

    def __init__(self) -> None:
        self._infos: list[TypeInfo | None] = [None]  # id 0 is the free block
        self._by_name: dict[str, int] = {}
        self.shapes: dict[int, int] = {}  # type_id -> slot count, SHAPE_ARRAY or SHAPE_BYTES
        self.pointer_slots: dict[int, tuple[int, ...] | None] = {}  # type_id -> pointer map

    def register(self, name: str, kind: TypeKind, slot_kinds: tuple[SlotKind, ...]) -> int:
        """Register a type, or return the id of an identical earlier registration.

        Raises:
            HeapError: the slot kinds do not fit the kind, or the name is already
                registered with a different definition.
        """
        try:
            kind = _kind(kind, TypeKind.ALL, "TypeKind")
            slot_kinds = tuple(_kind(k, SlotKind.ALL, "SlotKind") for k in slot_kinds)
        except ValueError as e:
            raise HeapError(f"type {name}: {e}") from None
        if kind == TypeKind.RECORD:
            if SlotKind.BYTES in slot_kinds:
                raise HeapError(f"type {name}: a record's slots are INT, FLOAT or PTR")
            if len(slot_kinds) > MAX_SLOTS:
                raise HeapError(f"type {name}: too many slots")
            shape = len(slot_kinds)
            pointers: tuple[int, ...] | None = tuple(
                i for i, k in enumerate(slot_kinds) if k == SlotKind.PTR
            )
        elif kind == TypeKind.ARRAY:
            if len(slot_kinds) != 1 or slot_kinds[0] == SlotKind.BYTES:
                raise HeapError(f"type {name}: an array has one element kind: INT, FLOAT or PTR")
            shape = SHAPE_ARRAY
            pointers = TRACE_ALL if slot_kinds[0] == SlotKind.PTR else ()
        else:
            if slot_kinds not in ((), (SlotKind.BYTES,)):
                raise HeapError(f"type {name}: a bytes type has no slots")
            slot_kinds = ()
            shape = SHAPE_BYTES
            pointers = ()
        known = self._by_name.get(name)
        if known is not None:
            info = self._infos[known]
            assert info is not None
            if (info.kind, info.slot_kinds) != (kind, slot_kinds):
                raise HeapError(f"type {name} is already registered with another layout")
            return known
        type_id = len(self._infos)
        self._infos.append(TypeInfo(type_id, name, kind, slot_kinds))
        self._by_name[name] = type_id
        self.shapes[type_id] = shape
        self.pointer_slots[type_id] = pointers
        return type_id

    def info(self, type_id: int) -> TypeInfo:
        """The registration of `type_id`. Raises KeyError for an unknown id."""
        if 0 < type_id < len(self._infos):
            info = self._infos[type_id]
            assert info is not None
            return info
        raise KeyError(type_id)

    def lookup(self, name: str) -> int | None:
        """The id registered under `name`, if any."""
        return self._by_name.get(name)

    def __iter__(self):
        return (info for info in self._infos if info is not None)

    def __len__(self) -> int:
        return len(self._infos) - 1


# MAP_NORESERVE (Python's mmap module names it only from 3.13): reserve address space
# without committing swap, so a large mapping costs nothing until pages are touched. The
# heap's arena, the collector's scratch memory and native code's memory all use it.
MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0)
if not MAP_NORESERVE and sys.platform == "linux" and os.uname().machine in (
        "x86_64", "aarch64"):                 # the generic Linux ABI's value
    MAP_NORESERVE = 0x4000
