"""The Vyn image header: constants and encoder shared by the writer and the reader.

This module is the executable form of docs/image.md ("The .vyn.header section").
It is pure Python (struct + hashlib) so that both `compiler.image_writer`
(which needs llvmlite) and `runtime.image` (which must not) can import it.
All integers are little-endian; every struct format string below is the
layout of one record in the spec, field by field.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Mapping
from typing import NamedTuple

#: First 8 bytes of .vyn.header. The trailing \x00\x01 is part of the magic,
#: not the version (the version has its own field).
IMAGE_MAGIC = b"VYNIMG\x00\x01"

#: The format version this toolchain writes and the only one it reads.
FORMAT_VERSION = 1

#: Flag bits defined by FORMAT_VERSION. None yet: a reader rejects any bit it
#: does not know, so a future writer sets a bit only for a change that older
#: readers must refuse (docs/image.md, "Versioning and compatibility").
KNOWN_FLAGS = 0x0000

#: Name of the ELF section holding the header.
HEADER_SECTION = ".vyn.header"

#: Every section the header lists is named SECTION_PREFIX + something.
SECTION_PREFIX = ".vyn."

#: Alignment (sh_addralign) of every .vyn.* section in the object file.
SECTION_ALIGNMENT = 8

#: Fixed part of the header, at offset 0 of .vyn.header:
#:   magic 8s, version u16, flags u16, section_count u32, table_offset u32,
#:   content_hash 32s (SHA-256 of the section table, see `content_hash`).
HEADER_FORMAT = "<8sHHII32s"
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)  # 52

#: Fixed part of one section-table entry; `name_length` bytes of name follow:
#:   name_length u16, size u64, sha256 32s (SHA-256 of the payload).
ENTRY_FORMAT = "<HQ32s"
ENTRY_SIZE = struct.calcsize(ENTRY_FORMAT)  # 42

#: Longest section name the writer accepts (the field could hold 65535).
MAX_NAME_LENGTH = 255

#: Section names: the prefix, then ASCII letters, digits, '.', '_' or '-'.
SECTION_NAME_RE = re.compile(r"\.vyn\.[A-Za-z0-9._-]+")

_HEADER = struct.Struct(HEADER_FORMAT)
_ENTRY = struct.Struct(ENTRY_FORMAT)


class SectionEntry(NamedTuple):
    """One row of the section table: a payload section's name, size and digest."""

    name: str
    size: int
    sha256: bytes


def check_section_name(name: str) -> None:
    """Raise ValueError unless `name` may name a payload section.

    Payload sections are `.vyn.` followed by ASCII letters, digits, '.', '_'
    or '-', at most MAX_NAME_LENGTH bytes, and never the header's own name.
    """
    if not isinstance(name, str):
        raise TypeError(f"section name must be a str, not {type(name).__name__}")
    if name == HEADER_SECTION:
        raise ValueError(f"{HEADER_SECTION} is reserved for the image header")
    if not SECTION_NAME_RE.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"invalid section name {name!r}: expected {SECTION_PREFIX!r} followed by"
            f" ASCII letters, digits, '.', '_' or '-' (at most {MAX_NAME_LENGTH} bytes)"
        )


def section_entries(sections: Mapping[str, bytes]) -> list[SectionEntry]:
    """The section table for `sections`, in their iteration order."""
    return [
        SectionEntry(name, len(payload), hashlib.sha256(payload).digest())
        for name, payload in sections.items()
    ]


def encode_entry(entry: SectionEntry) -> bytes:
    """One section-table entry: ENTRY_FORMAT followed by the ASCII name."""
    name = entry.name.encode("ascii")
    return _ENTRY.pack(len(name), entry.size, entry.sha256) + name


def encode_table(entries: Iterable[SectionEntry]) -> bytes:
    """The section table: the entries, back to back, no padding."""
    return b"".join(encode_entry(e) for e in entries)


def content_hash(table: bytes) -> bytes:
    """The image's content hash: SHA-256 of the encoded section table.

    The table holds each section's name, size and SHA-256, so this one digest
    commits to every payload byte, every name and the order of sections.
    """
    return hashlib.sha256(table).digest()


def encode_header(entries: Iterable[SectionEntry], *, flags: int = 0) -> bytes:
    """The complete .vyn.header section for a section table (version FORMAT_VERSION)."""
    entries = list(entries)
    table = encode_table(entries)
    fixed = _HEADER.pack(
        IMAGE_MAGIC, FORMAT_VERSION, flags, len(entries), HEADER_SIZE, content_hash(table)
    )
    return fixed + table
