"""The Vyn image header: constants and encoder shared by the writer and the reader.

This module is the executable form of docs/image.md ("The .vyn.header section").
It is pure Python (struct and SHA-256) so that both `compiler.image_writer`
(which needs llvmlite) and `runtime.image` (which must not) can import it.
All integers are little-endian; every struct format string below is the
layout of one record in the spec, field by field.
"""

from __future__ import annotations

import struct
from collections import namedtuple
from collections.abc import Iterable, Mapping

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

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def is_section_name(name: str) -> bool:
    """Section names: the prefix, then one or more ASCII letters, digits, '.', '_' or '-'.
    (Not a regular expression: `vyn run` does not import re to read an image.)"""
    rest = name[len(SECTION_PREFIX):]
    return name.startswith(SECTION_PREFIX) and rest != "" and all(c in _NAME_CHARS for c in rest)

#: Inputs at least this long are hashed by hashlib (OpenSSL), shorter ones by CPython's
#: own SHA-256: importing hashlib loads OpenSSL, about 2 ms at every start, and only
#: pays for itself past about a megabyte (OpenSSL hashes 5x faster per byte here).
OPENSSL_FROM = 512 << 10

try:
    from _sha2 import sha256 as _builtin_sha256  # CPython 3.12 and later
except ImportError:
    try:
        from _sha256 import sha256 as _builtin_sha256  # CPython 3.11
    except ImportError:                                  # another Python: hashlib's only
        _builtin_sha256 = None


def sha256(data: bytes = b""):
    """A SHA-256 hash object (hashlib's interface: update, digest, hexdigest) of `data`.
    Every digest vyn computes (images, sections, the build cache's keys) goes through
    here, so that `vyn run` from the build cache does not import hashlib for a small
    image."""
    if len(data) < OPENSSL_FROM and _builtin_sha256 is not None:
        return _builtin_sha256(data)
    import hashlib

    return hashlib.sha256(data)


_HEADER = struct.Struct(HEADER_FORMAT)
_ENTRY = struct.Struct(ENTRY_FORMAT)


class SectionEntry(namedtuple("SectionEntry", "name size sha256")):
    """One row of the section table: a payload section's name, size and digest."""

    __slots__ = ()


def check_section_name(name: str) -> None:
    """Raise ValueError unless `name` may name a payload section.

    Payload sections are `.vyn.` followed by ASCII letters, digits, '.', '_'
    or '-', at most MAX_NAME_LENGTH bytes, and never the header's own name.
    """
    if not isinstance(name, str):
        raise TypeError(f"section name must be a str, not {type(name).__name__}")
    if name == HEADER_SECTION:
        raise ValueError(f"{HEADER_SECTION} is reserved for the image header")
    if not is_section_name(name) or len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"invalid section name {name!r}: expected {SECTION_PREFIX!r} followed by"
            f" ASCII letters, digits, '.', '_' or '-' (at most {MAX_NAME_LENGTH} bytes)"
        )


def section_entries(sections: Mapping[str, bytes]) -> list[SectionEntry]:
    """The section table for `sections`, in their iteration order."""
    return [
        SectionEntry(name, len(payload), sha256(payload).digest())
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
    return sha256(table).digest()


def encode_header(entries: Iterable[SectionEntry], *, flags: int = 0) -> bytes:
    """The complete .vyn.header section for a section table (version FORMAT_VERSION)."""
    entries = list(entries)
    table = encode_table(entries)
    fixed = _HEADER.pack(
        IMAGE_MAGIC, FORMAT_VERSION, flags, len(entries), HEADER_SIZE, content_hash(table)
    )
    return fixed + table
