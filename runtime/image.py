"""Read a Vyn image: find its `.vyn.*` sections and check them against the header.

The layout is specified in docs/image.md; the header constants live in
`compiler.image_format`, shared with the writer. Every malformed input,
whatever its bytes, ends in one `ImageError` whose message is one sentence
naming the file. Neither llvmlite nor pyelftools is imported here: the section table
is read by runtime/elf64.py.
"""

from __future__ import annotations

import os
import struct
from collections import namedtuple
from types import MappingProxyType

from compiler.image_format import (
    ENTRY_FORMAT,
    ENTRY_SIZE,
    FORMAT_VERSION,
    HEADER_FORMAT,
    HEADER_SECTION,
    HEADER_SIZE,
    IMAGE_MAGIC,
    KNOWN_FLAGS,
    SECTION_PREFIX,
    content_hash,
    is_section_name,
    sha256,
)

TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import NoReturn

# ELF64 header, as far as this reader checks it before pyelftools sees the file
# (System V gABI, "ELF Header"): e_ident, e_type, e_machine, e_version, e_entry,
# e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum, e_shentsize,
# e_shnum, e_shstrndx.
ELF_MAGIC = b"\x7fELF"
ELF64_EHDR_FORMAT = "<16sHHIQQQIHHHHHH"
ELF64_EHDR_SIZE = struct.calcsize(ELF64_EHDR_FORMAT)  # 64
ELF64_SHDR_SIZE = 64
EI_NIDENT = 16
EI_CLASS, ELFCLASS64 = 4, 2
EI_DATA, ELFDATA2LSB = 5, 1
EM_X86_64 = 62
# Offset of sh_size within an Elf64_Shdr: sh_name u32, sh_type u32, sh_flags,
# sh_addr, sh_offset u64 come first.
SH_SIZE_OFFSET = 32
SHF_COMPRESSED = 0x800

_MACHINE_NAMES = {3: "x86", 40: "ARM", 183: "AArch64", 243: "RISC-V"}


class ImageErrorKind:
    """What went wrong, for callers that react differently (e.g. exit codes, hints). (String
    constants, not an Enum: importing enum costs about 3 ms at every start.)"""

    UNREADABLE = "unreadable"  # the file could not be read at all
    NOT_AN_IMAGE = "not-an-image"  # not ELF, foreign ELF, or no .vyn.header
    TRUNCATED = "truncated"  # the file ends before the data it describes
    CORRUPTED = "corrupted"  # bytes disagree with the header or its hashes
    UNSUPPORTED = "unsupported"  # a format version or feature this runtime lacks


class ImageError(Exception):
    """A file is not a loadable Vyn image. `str(error)` is one sentence naming the file."""

    def __init__(
        self, message: str, *, name: str = "", kind: str = ImageErrorKind.CORRUPTED
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.kind = kind


class Image(namedtuple("Image", "sections version content_hash path flags",
                       defaults=(None, 0))):
    """A loaded, verified image.

    Attributes:
        sections: payload section name to bytes, in header order (`.vyn.header`
            itself is not included). Read-only.
        version: the image format version (docs/image.md).
        content_hash: SHA-256 of the section table; identifies the content.
        path: the file it was loaded from, None when parsed from memory.
        flags: the header's flag bits (always 0 in version 1).
    """

    __slots__ = ()


def load_image(path: str | os.PathLike[str]) -> Image:
    """Read and verify the image at `path`.

    Raises:
        ImageError: the file cannot be read or is not a valid Vyn image.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImageError(
            f"cannot read '{name}': {e.strerror or e}.", name=name,
            kind=ImageErrorKind.UNREADABLE,
        ) from e
    return _ImageDecoder(data, name).decode(path=name)


def parse_image(data: bytes, name: str = "<image>") -> Image:
    """Verify the image held in `data`; `name` is how error messages call it.

    Raises:
        ImageError: `data` is not a valid Vyn image.
    """
    return _ImageDecoder(bytes(data), name).decode(path=None)


def is_image(path: str | os.PathLike[str]) -> bool:
    """True if `path` starts with the ELF magic: a build output, not a source file.

    This only sniffs; `load_image` does the checking. Unreadable paths are
    not images (the caller then reports them in its own words).
    """
    try:
        with open(path, "rb") as f:
            return f.read(len(ELF_MAGIC)) == ELF_MAGIC
    except OSError:
        return False


class _SectionInfo(namedtuple("_SectionInfo", "sh_type sh_flags sh_offset sh_size")):
    """An ELF section header, reduced to what the reader checks (gABI, "Sections");
    `sh_type` is a name, e.g. "SHT_PROGBITS", or an int if unknown."""

    __slots__ = ()


class _ImageDecoder:
    """Decodes one file; every failure goes through `fail`."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self._sections: dict[str, _SectionInfo] = {}

    def decode(self, path: str | None) -> Image:
        self._check_elf_header()
        self._sections = self._vyn_sections()
        if HEADER_SECTION not in self._sections:
            self.not_an_image(f"no {HEADER_SECTION} section")
        return self._decode_header(self._section_bytes(HEADER_SECTION), path)

    def fail(self, kind: str, predicate: str) -> NoReturn:
        """Raise the ImageError "'<name>' <predicate>."."""
        raise ImageError(f"'{self.name}' {predicate}.", name=self.name, kind=kind)

    def not_an_image(self, why: str) -> NoReturn:
        self.fail(ImageErrorKind.NOT_AN_IMAGE, f"is not a Vyn image ({why})")

    def corrupted(self, what: str) -> NoReturn:
        self.fail(ImageErrorKind.CORRUPTED, f"is corrupted: {what}")

    def truncated(self) -> NoReturn:
        self.fail(ImageErrorKind.TRUNCATED, "is truncated")

    # -- ELF container -----------------------------------------------------

    def _check_elf_header(self) -> None:
        """Check the ELF header by hand, so pyelftools only ever sees a sane section table.

        This bounds the work on garbage (a section count from section 0's
        sh_size can be 2**64) and tells truncation apart from corruption.
        """
        data = self.data
        if not data:
            self.not_an_image("the file is empty")
        if not data.startswith(ELF_MAGIC):
            if ELF_MAGIC.startswith(data):
                self.truncated()
            self.not_an_image("not an ELF file")
        if len(data) < EI_NIDENT:
            self.truncated()
        if data[EI_CLASS] != ELFCLASS64:
            self.not_an_image("not a 64-bit ELF file")
        if data[EI_DATA] != ELFDATA2LSB:
            self.not_an_image("not a little-endian ELF file")
        if len(data) < ELF64_EHDR_SIZE:
            self.truncated()
        (_ident, _type, e_machine, _version, _entry, _phoff, e_shoff, _flags, _ehsize,
         _phentsize, _phnum, e_shentsize, e_shnum, _shstrndx) = struct.unpack_from(
            ELF64_EHDR_FORMAT, data)
        if e_machine != EM_X86_64:
            machine = _MACHINE_NAMES.get(e_machine, f"machine {e_machine}")
            self.not_an_image(f"it is an ELF file for {machine}, not x86-64")
        if e_shoff == 0:
            return  # no section table: no .vyn.header, reported by the caller
        if e_shentsize != ELF64_SHDR_SIZE:
            self.corrupted(f"its ELF section header size is {e_shentsize}, not {ELF64_SHDR_SIZE}")
        count = e_shnum
        if count == 0:  # extended numbering: the count is section 0's sh_size (gABI)
            if e_shoff + ELF64_SHDR_SIZE > len(data):
                self.truncated()
            (count,) = struct.unpack_from("<Q", data, e_shoff + SH_SIZE_OFFSET)
        if e_shoff + count * ELF64_SHDR_SIZE > len(data):
            self.truncated()

    def _vyn_sections(self) -> dict[str, _SectionInfo]:
        """The `.vyn.*` sections, by name (runtime/elf64.py: no pyelftools at start-up)."""
        from runtime import elf64

        try:
            table = elf64.sections(self.data)
        except Exception:
            # The header check above rules out truncation: anything the section table's
            # reader raises (ValueError, struct.error, UnicodeError, ...) is corruption.
            self.corrupted("its ELF section table cannot be read")
        found: dict[str, _SectionInfo] = {}
        duplicate = None
        for section in table:
            if not section.name.startswith(SECTION_PREFIX):
                continue
            if section.name in found:
                duplicate = section.name
            found[section.name] = _SectionInfo(
                section.type_name, section.flags, section.offset, section.size
            )
        if duplicate is not None:
            self.corrupted(f"it has two sections named {duplicate}")
        return found

    def _section_bytes(self, name: str) -> bytes:
        info = self._sections.get(name)
        if info is None:
            self.corrupted(f"section {name} listed in the header is missing")
        if info.sh_type != "SHT_PROGBITS":
            self.corrupted(f"section {name} holds no data in the file")
        if info.sh_flags & SHF_COMPRESSED:
            self.corrupted(f"section {name} is compressed")
        end = info.sh_offset + info.sh_size
        if end > len(self.data):
            self.truncated()
        return self.data[info.sh_offset:end]

    # -- .vyn.header (docs/image.md, "The .vyn.header section") -----------

    def _decode_header(self, header: bytes, path: str | None) -> Image:
        if header[:len(IMAGE_MAGIC)] != IMAGE_MAGIC:
            self.corrupted(f"the {HEADER_SECTION} section does not start with the Vyn magic")
        if len(header) < HEADER_SIZE:
            self.corrupted(f"the {HEADER_SECTION} section is too short")
        (_magic, version, flags, section_count, table_offset,
         stored_hash) = struct.unpack_from(HEADER_FORMAT, header)
        if version != FORMAT_VERSION:
            self.fail(ImageErrorKind.UNSUPPORTED,
                      f"has image format version {version}, but this runtime reads only"
                      f" version {FORMAT_VERSION} (rebuild it)")
        if flags & ~KNOWN_FLAGS:
            self.fail(ImageErrorKind.UNSUPPORTED,
                      f"needs image features this runtime lacks (flags {flags:#06x})")
        # table_offset lets a later minor revision put fields before the table.
        if not HEADER_SIZE <= table_offset <= len(header):
            self.corrupted(f"the {HEADER_SECTION} section table offset is out of range")
        table = header[table_offset:]
        if content_hash(table) != stored_hash:
            self.corrupted("the content hash does not match")
        sections: dict[str, bytes] = {}
        for entry_name, size, digest in self._decode_table(table, section_count):
            payload = self._section_bytes(entry_name)
            if len(payload) != size:
                self.corrupted(f"section {entry_name} holds {_bytes(len(payload))},"
                               f" but the header says {_bytes(size)}")
            if sha256(payload).digest() != digest:
                self.corrupted(f"the hash of section {entry_name} does not match")
            sections[entry_name] = payload
        return Image(MappingProxyType(sections), version, stored_hash, path, flags)

    def _decode_table(self, table: bytes, count: int) -> list[tuple[str, int, bytes]]:
        """The section table: `count` entries filling `table` exactly."""
        if count * ENTRY_SIZE > len(table):
            self.corrupted(f"the {HEADER_SECTION} section table is malformed")
        entries = []
        seen = set()
        pos = 0
        for _ in range(count):
            if pos + ENTRY_SIZE > len(table):
                self.corrupted(f"the {HEADER_SECTION} section table is malformed")
            name_length, size, digest = struct.unpack_from(ENTRY_FORMAT, table, pos)
            pos += ENTRY_SIZE
            raw_name = table[pos:pos + name_length]
            pos += name_length
            entry_name = raw_name.decode("ascii", errors="replace")
            if (len(raw_name) != name_length or not is_section_name(entry_name)
                    or entry_name in seen):
                self.corrupted(f"the {HEADER_SECTION} section table is malformed")
            seen.add(entry_name)
            entries.append((entry_name, size, digest))
        if pos != len(table):
            self.corrupted(f"the {HEADER_SECTION} section table is malformed")
        return entries


def _bytes(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"
