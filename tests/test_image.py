"""The image container: what `vyn build` writes and what `vyn run` / `vyn debug` load.

The story: the compiler hands over named payloads; they come back byte for
byte, real ELF tools see them, and any damage to the file (truncation, a
flipped bit, a foreign or missing file) ends in one clear ImageError.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.image_format import (
    ENTRY_SIZE,
    FORMAT_VERSION,
    HEADER_SECTION,
    HEADER_SIZE,
    encode_header,
    section_entries,
)
from compiler.image_writer import (
    ImageWriteError,
    build_image_bytes,
    emit_sections_object,
    write_image,
)
from runtime.image import Image, ImageError, ImageErrorKind, is_image, load_image, parse_image

SECTIONS = {
    ".vyn.bytecode": bytes(range(256)) * 3,
    ".vyn.lines": b"\x00\x01\x02\x03" * 5,
    ".vyn.vars": b"",
    ".vyn.types": b"Int\x00Float\x00",
    ".vyn.sources": b'fn main() {\n    print("hi")\n}\n',
}

TINY_NATIVE_IR = """\
source_filename = "app.vyn"
define i32 @vyn_answer() {
  ret i32 42
}
"""


@pytest.fixture(scope="module")
def image_bytes() -> bytes:
    return build_image_bytes(SECTIONS)


def elf_sections(data: bytes) -> dict[str, tuple[int, int]]:
    """Section name -> (file offset, size), read with pyelftools (test oracle)."""
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(data))
    return {s.name: (s["sh_offset"], s["sh_size"]) for s in elf.iter_sections()}


def load_error(data: bytes, name: str = "app") -> ImageError:
    with pytest.raises(ImageError) as info:
        parse_image(data, name)
    return info.value


# -- round trip -------------------------------------------------------------


def test_sections_come_back_byte_for_byte(image_bytes):
    image = parse_image(image_bytes, "app")

    assert isinstance(image, Image)
    assert dict(image.sections) == SECTIONS
    assert list(image.sections) == list(SECTIONS)  # header order is kept
    assert image.version == FORMAT_VERSION
    assert image.flags == 0
    assert len(image.content_hash) == 32
    assert image.path is None
    assert HEADER_SECTION not in image.sections


def test_image_is_read_only(image_bytes):
    image = parse_image(image_bytes)
    with pytest.raises(TypeError):
        image.sections[".vyn.bytecode"] = b""  # type: ignore[index]
    with pytest.raises(AttributeError):
        image.version = 2  # type: ignore[misc]


def test_write_then_load_from_disk(tmp_path):
    out = tmp_path / "app"
    write_image(out, SECTIONS)

    image = load_image(out)
    assert dict(image.sections) == SECTIONS
    assert image.path == str(out)
    assert is_image(out)
    assert os.listdir(tmp_path) == ["app"]  # no temporary file left behind


def test_same_input_gives_same_bytes_and_hash():
    first, second = build_image_bytes(SECTIONS), build_image_bytes(dict(SECTIONS))
    assert first == second
    other = build_image_bytes({**SECTIONS, ".vyn.types": b"Bool\x00"})
    assert parse_image(first).content_hash != parse_image(other).content_hash


def test_image_without_payloads_loads():
    image = parse_image(build_image_bytes({}))
    assert dict(image.sections) == {}


def test_output_is_an_elf64_x86_64_relocatable_object(image_bytes):
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(image_bytes))
    assert elf.elfclass == 64 and elf.little_endian
    assert elf["e_machine"] == "EM_X86_64"
    assert elf["e_type"] == "ET_REL"
    for name in [HEADER_SECTION, *SECTIONS]:
        section = elf.get_section_by_name(name)
        assert section["sh_type"] == "SHT_PROGBITS"
        assert section["sh_addralign"] == 8


def test_an_image_without_native_code_is_the_object_llvm_writes(tmp_path):
    """Without native code the writer makes the object itself (no llvmlite); it has the
    sections, flags, alignment, symbols and bytes LLVM gives the same sections."""
    from elftools.elf.elffile import ELFFile

    pytest.importorskip("llvmlite")
    payloads = {HEADER_SECTION: b"\x01" * 5, **SECTIONS}
    ours = emit_sections_object(payloads)
    llvms = emit_sections_object(payloads, llvm_ir_module='source_filename = "vyn-image"\n')

    def shape(data):
        elf = ELFFile(io.BytesIO(data))
        secs = [(s.name, s["sh_type"], s["sh_flags"], s["sh_addralign"], s.data())
                for s in elf.iter_sections() if s.name not in (".strtab", ".symtab")]
        syms = [(y.name, y["st_info"]["type"], y["st_info"]["bind"], y["st_size"],
                 elf.get_section(y["st_shndx"]).name if isinstance(y["st_shndx"], int)
                 else y["st_shndx"])
                for y in elf.get_section_by_name(".symtab").iter_symbols()]
        return elf.header["e_ident"], elf["e_type"], elf["e_machine"], secs, syms

    assert shape(ours) == shape(llvms)
    readelf = shutil.which("readelf")
    if readelf:
        (tmp_path / "ours.o").write_bytes(ours)
        p = subprocess.run([readelf, "-a", "-W", str(tmp_path / "ours.o")],
                           capture_output=True, timeout=60)
        assert p.returncode == 0 and not p.stderr, p.stderr


# -- the header, hand-encoded (docs/image.md, "The .vyn.header section") ------

BYTECODE = b"\x01\x02\x03"


def hand_header(
    *,
    magic: bytes = b"VYNIMG\x00\x01",
    version: int = 1,
    flags: int = 0,
    count: int = 1,
    table_offset: int = 52,
    size: int = 3,
    name: bytes = b".vyn.bytecode",
    extra_table: bytes = b"",
    content_hash: bytes | None = None,
) -> bytes:
    """A .vyn.header for one section (.vyn.bytecode = 01 02 03), field by field."""
    table = (
        struct.pack("<H", len(name))  # name_length
        + struct.pack("<Q", size)  # size of the payload in bytes
        + hashlib.sha256(BYTECODE).digest()  # sha256 of the payload
        + name  # the name, ASCII, no terminator
        + extra_table
    )
    if content_hash is None:
        content_hash = hashlib.sha256(table).digest()  # content_hash = SHA-256(table)
    return (
        magic  # magic              offset 0, 8 bytes
        + struct.pack("<H", version)  # version  offset 8
        + struct.pack("<H", flags)  # flags          offset 10
        + struct.pack("<I", count)  # section_count  offset 12
        + struct.pack("<I", table_offset)  # table_offset   offset 16
        + content_hash  # content_hash                        offset 20, 32 bytes
        + b"\xee" * (table_offset - 52)  # (later revisions' fields)
        + table  # section table                              offset table_offset
    )


def hand_image(header: bytes, payloads: dict[str, bytes] | None = None) -> bytes:
    payloads = {".vyn.bytecode": BYTECODE} if payloads is None else payloads
    return emit_sections_object({HEADER_SECTION: header, **payloads})


def test_writer_encodes_the_header_as_documented():
    expected = (
        b"VYNIMG\x00\x01"  # magic
        b"\x01\x00"  # version = 1
        b"\x00\x00"  # flags = 0
        b"\x01\x00\x00\x00"  # section_count = 1
        b"\x34\x00\x00\x00"  # table_offset = 52 (HEADER_SIZE)
    )
    table = (
        b"\x0d\x00"  # name_length = 13
        b"\x03\x00\x00\x00\x00\x00\x00\x00"  # size = 3
        + hashlib.sha256(b"\x01\x02\x03").digest()  # sha256 of the payload
        + b".vyn.bytecode"  # name
    )
    expected += hashlib.sha256(table).digest() + table  # content_hash, then the table

    assert HEADER_SIZE == 52 and ENTRY_SIZE == 42
    assert encode_header(section_entries({".vyn.bytecode": BYTECODE})) == expected
    assert hand_header() == expected
    image = parse_image(build_image_bytes({".vyn.bytecode": BYTECODE}))
    assert image.content_hash == hashlib.sha256(table).digest()


def test_hand_encoded_header_loads():
    image = parse_image(hand_image(hand_header()))
    assert dict(image.sections) == {".vyn.bytecode": BYTECODE}


def test_reader_skips_fields_a_later_revision_puts_before_the_table():
    image = parse_image(hand_image(hand_header(table_offset=60)))
    assert dict(image.sections) == {".vyn.bytecode": BYTECODE}


def test_sections_the_header_does_not_list_are_ignored():
    data = hand_image(hand_header(), {".vyn.bytecode": BYTECODE, ".vyn.future": b"?"})
    assert list(parse_image(data).sections) == [".vyn.bytecode"]


@pytest.mark.parametrize(
    ("header", "kind", "message"),
    [
        (hand_header(magic=b"VYNIMG\x00\x02"), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: the .vyn.header section does not start with the Vyn magic."),
        (b"VYNIMG\x00\x01\x01\x00", ImageErrorKind.CORRUPTED,
         "'app' is corrupted: the .vyn.header section is too short."),
        (hand_header(version=2), ImageErrorKind.UNSUPPORTED,
         "'app' has image format version 2, but this runtime reads only version 1"
         " (rebuild it)."),
        (hand_header(flags=4), ImageErrorKind.UNSUPPORTED,
         "'app' needs image features this runtime lacks (flags 0x0004)."),
        (hand_header(content_hash=bytes(32)), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: the content hash does not match."),
        (hand_header(size=4), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: section .vyn.bytecode holds 3 bytes, but the header says 4 bytes."),
        (hand_header(name=b".vyn.lines"), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: section .vyn.lines listed in the header is missing."),
        (hand_header(count=2), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: the .vyn.header section table is malformed."),
        (hand_header(extra_table=b"\x00"), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: the .vyn.header section table is malformed."),
        (hand_header(name=b"bytecode"), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: the .vyn.header section table is malformed."),
        (hand_header(table_offset=40), ImageErrorKind.CORRUPTED,
         "'app' is corrupted: the .vyn.header section table offset is out of range."),
    ],
    ids=["magic", "short", "version", "flags", "content-hash", "size", "missing", "count",
         "trailing", "name", "table-offset"],
)
def test_bad_header_is_reported_in_one_sentence(header, kind, message):
    error = load_error(hand_image(header))
    assert (error.kind, str(error), error.name) == (kind, message, "app")


def test_duplicate_entry_is_malformed():
    entry = hand_header()[HEADER_SIZE:]
    table = entry + entry
    header = hand_header(count=2, extra_table=entry, content_hash=hashlib.sha256(table).digest())
    assert "table is malformed" in str(load_error(hand_image(header)))


# -- damage: flipped bytes, truncation, random mutations ---------------------


def test_flipped_payload_byte_is_detected(image_bytes):
    offset, _size = elf_sections(image_bytes)[".vyn.bytecode"]
    damaged = bytearray(image_bytes)
    damaged[offset + 100] ^= 0x01

    error = load_error(bytes(damaged))
    assert error.kind is ImageErrorKind.CORRUPTED
    assert str(error) == "'app' is corrupted: the hash of section .vyn.bytecode does not match."


def test_flipped_header_table_byte_is_detected(image_bytes):
    offset, _size = elf_sections(image_bytes)[HEADER_SECTION]
    damaged = bytearray(image_bytes)
    damaged[offset + HEADER_SIZE + 5] ^= 0x80  # inside the first entry's size

    assert str(load_error(bytes(damaged))) == "'app' is corrupted: the content hash does not match."


def test_every_truncation_is_reported_as_truncated(image_bytes):
    # LLVM puts the section header table last, so every cut loses part of it.
    for length in range(1, len(image_bytes)):
        error = load_error(image_bytes[:length])
        assert error.kind is ImageErrorKind.TRUNCATED, length
        assert str(error) == "'app' is truncated."


def test_every_single_byte_flip_is_caught_or_harmless(image_bytes):
    # Bytes outside the .vyn.* data (symbols, padding, unused ELF fields) may
    # change without effect; everything else must be an ImageError.
    for offset in range(len(image_bytes)):
        damaged = bytearray(image_bytes)
        damaged[offset] ^= 0xFF
        assert_loads_identical_or_image_error(bytes(damaged))


def assert_loads_identical_or_image_error(data: bytes) -> None:
    try:
        image = parse_image(data, "app")
    except ImageError as e:
        assert str(e).startswith(("'app' ", "cannot read")) and str(e).endswith(".")
        assert "\n" not in str(e)
    else:
        # Anything that loads must be the original: the hashes cover every payload byte.
        assert dict(image.sections) == SECTIONS


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_mutations_load_identical_or_raise_image_error(image_bytes, data):
    damaged = bytearray(image_bytes)
    mutations = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, len(damaged) - 1),
                st.integers(0, 255),
            ),
            min_size=1,
            max_size=8,
        )
    )
    for offset, value in mutations:
        damaged[offset] = value
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(0, len(damaged)))]
    assert_loads_identical_or_image_error(bytes(damaged))


@settings(max_examples=200, deadline=None)
@given(garbage=st.binary(max_size=512), elf_like=st.booleans())
def test_random_bytes_raise_image_error(garbage, elf_like):
    if elf_like:  # get past the magic and class checks into pyelftools
        garbage = b"\x7fELF\x02\x01\x01" + bytes(9) + garbage
    with pytest.raises(ImageError):
        parse_image(garbage, "app")


@settings(max_examples=200, deadline=None)
@given(table=st.binary(max_size=200), count=st.integers(0, 2**32 - 1))
def test_random_header_tables_raise_image_error(table, count):
    # A well-hashed table of garbage: only the empty table is a valid image here.
    content_hash = hashlib.sha256(table).digest()
    header = b"VYNIMG\x00\x01" + struct.pack("<HHII", 1, 0, count, 52) + content_hash + table
    if table == b"" and count == 0:
        assert dict(parse_image(hand_image(header, {})).sections) == {}
        return
    with pytest.raises(ImageError):
        parse_image(hand_image(header, {}), "app")


def test_wild_section_count_is_bounded(image_bytes):
    # e_shnum = 0 means "the count is section 0's sh_size"; make that 2**64 - 1.
    damaged = bytearray(image_bytes)
    (e_shoff,) = struct.unpack_from("<Q", damaged, 0x28)
    struct.pack_into("<H", damaged, 0x3C, 0)  # e_shnum
    struct.pack_into("<Q", damaged, e_shoff + 32, 2**64 - 1)  # section 0 sh_size
    assert load_error(bytes(damaged)).kind is ImageErrorKind.TRUNCATED


# -- files that are not images ----------------------------------------------


@pytest.mark.skipif(not os.path.exists("/bin/ls"), reason="no /bin/ls")
def test_foreign_elf_is_not_a_vyn_image():
    with pytest.raises(ImageError) as info:
        load_image("/bin/ls")
    assert str(info.value) == "'/bin/ls' is not a Vyn image (no .vyn.header section)."
    assert info.value.kind is ImageErrorKind.NOT_AN_IMAGE
    assert is_image("/bin/ls")  # an ELF file: the CLI loads it rather than compiling it


def test_source_file_is_not_an_image(tmp_path):
    source = tmp_path / "app.vyn"
    source.write_text("fn main() {}\n")

    assert not is_image(source)
    with pytest.raises(ImageError) as info:
        load_image(source)
    assert str(info.value) == f"'{source}' is not a Vyn image (not an ELF file)."


def test_empty_file_is_not_an_image(tmp_path):
    empty = tmp_path / "app"
    empty.write_bytes(b"")
    assert not is_image(empty)
    with pytest.raises(ImageError) as info:
        load_image(empty)
    assert str(info.value) == f"'{empty}' is not a Vyn image (the file is empty)."


def test_missing_file_cannot_be_read(tmp_path):
    missing = tmp_path / "nope"
    assert not is_image(missing)
    with pytest.raises(ImageError) as info:
        load_image(missing)
    assert str(info.value) == f"cannot read '{missing}': No such file or directory."
    assert info.value.kind is ImageErrorKind.UNREADABLE


def test_directory_cannot_be_read(tmp_path):
    with pytest.raises(ImageError) as info:
        load_image(tmp_path)
    assert str(info.value) == f"cannot read '{tmp_path}': Is a directory."


@pytest.mark.parametrize(
    ("ident_patch", "message"),
    [
        ({4: 1}, "'app' is not a Vyn image (not a 64-bit ELF file)."),
        ({5: 2}, "'app' is not a Vyn image (not a little-endian ELF file)."),
        ({18: 183, 19: 0}, "'app' is not a Vyn image (it is an ELF file for AArch64, not x86-64)."),
    ],
)
def test_other_elf_flavours_are_not_images(image_bytes, ident_patch, message):
    damaged = bytearray(image_bytes)
    for offset, value in ident_patch.items():
        damaged[offset] = value
    assert str(load_error(bytes(damaged))) == message


# -- real tools accept the file (ARCHITECTURE.md, "The image") ----------------


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("build") / "app"
    write_image(path, SECTIONS, llvm_ir_module=TINY_NATIVE_IR)
    return path


def run_tool(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def test_readelf_lists_the_vyn_sections(image_file):
    listing = run_tool("readelf", "-S", "-W", str(image_file))
    for name in [HEADER_SECTION, *SECTIONS]:
        assert f" {name} " in listing


def test_objdump_lists_the_vyn_sections_and_disassembles_native_code(image_file):
    headers = run_tool("objdump", "-h", str(image_file))
    assert "elf64-x86-64" in headers
    for name in [HEADER_SECTION, *SECTIONS]:
        assert f" {name} " in headers
    assert "<vyn_answer>:" in run_tool("objdump", "-d", str(image_file))


def test_native_ir_module_is_linked_in(image_file):
    from elftools.elf.elffile import ELFFile

    with open(image_file, "rb") as f:
        elf = ELFFile(f)
        assert elf.get_section_by_name(".text")["sh_size"] > 0
        symbols = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols()}
        assert symbols["vyn_answer"]["st_info"]["type"] == "STT_FUNC"
        assert "app.vyn" in symbols  # the native module's source_filename wins
    assert dict(load_image(image_file).sections) == SECTIONS


# -- writer contract ----------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["bytecode", ".text", ".vyn.", ".vyn.header", ".vyn.a b", '.vyn."', ".vyn.é",
             ".vyn." + "x" * 251],
)
def test_writer_rejects_bad_section_names(name):
    with pytest.raises(ValueError):
        build_image_bytes({name: b""})


def test_writer_rejects_non_bytes_payload():
    with pytest.raises(TypeError):
        build_image_bytes({".vyn.bytecode": "text"})  # type: ignore[dict-item]


def test_writer_accepts_bytes_like_payloads():
    data = build_image_bytes({".vyn.a": bytearray(b"ab"), ".vyn.b": memoryview(b"cd")})
    assert dict(parse_image(data).sections) == {".vyn.a": b"ab", ".vyn.b": b"cd"}


def test_bad_native_ir_is_an_image_write_error():
    with pytest.raises(ImageWriteError, match="could not parse the native code IR"):
        build_image_bytes(SECTIONS, llvm_ir_module="define i32 @f( {")


def test_native_ir_for_another_target_is_refused():
    ir = 'target triple = "aarch64-unknown-linux-gnu"\n' + TINY_NATIVE_IR
    with pytest.raises(ImageWriteError, match="aarch64"):
        build_image_bytes(SECTIONS, llvm_ir_module=ir)


def test_failed_build_leaves_the_previous_file_alone(tmp_path):
    out = tmp_path / "app"
    write_image(out, SECTIONS)
    before = out.read_bytes()

    with pytest.raises(ImageWriteError):
        write_image(out, {".vyn.bytecode": b"new"}, llvm_ir_module="not IR")

    assert out.read_bytes() == before
    assert os.listdir(tmp_path) == ["app"]


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def fail_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(ImageWriteError, match=r"cannot write '.*app': No space left on device\."):
        write_image(tmp_path / "app", SECTIONS)
    assert os.listdir(tmp_path) == []


def test_unwritable_directory_is_an_image_write_error(tmp_path):
    with pytest.raises(ImageWriteError, match="cannot write"):
        write_image(tmp_path / "missing-dir" / "app", SECTIONS)


# -- the runtime stays light --------------------------------------------------


def test_loading_never_imports_llvmlite(tmp_path):
    out = tmp_path / "app"
    write_image(out, SECTIONS)
    code = (
        "import sys; from runtime.image import load_image, is_image;"
        "assert 'elftools.elf.elffile' not in sys.modules;"
        f"load_image({str(out)!r});"
        "assert not any(m.startswith('llvmlite') for m in sys.modules), 'llvmlite imported'"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
