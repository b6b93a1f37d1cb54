"""Write a Vyn image: an ELF64 x86-64 object that LLVM emits (docs/image.md).

Each payload becomes a constant byte array in its own named section of an LLVM
module, kept alive through `@llvm.used`; LLVM's object emitter writes the ELF,
so no ELF (or, later, DWARF) writer is hand-made here. An optional LLVM IR
module (native functions, debug info) is linked into the same object.

llvmlite is imported on first use, so importing this module is cheap.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING

from compiler.image_format import (
    HEADER_SECTION,
    SECTION_ALIGNMENT,
    check_section_name,
    encode_header,
    section_entries,
)

if TYPE_CHECKING:
    from llvmlite.binding import ModuleRef, TargetMachine

#: The only target images are built for (ARCHITECTURE.md, "The image").
TARGET_TRIPLE = "x86_64-unknown-linux-gnu"

#: Module name LLVM records in the object's FILE symbol when no IR module is linked in.
_MODULE_NAME = "vyn-image"


class ImageWriteError(Exception):
    """An image could not be produced: LLVM rejected the IR, or the file could not be written.

    The message is one sentence meant for the user (or, for IR failures, for
    the bug report: the IR comes from the compiler, not from the user).
    """


def build_image_bytes(
    sections: Mapping[str, bytes], *, llvm_ir_module: str | None = None, opt: int = 0
) -> bytes:
    """The bytes of a Vyn image holding `sections`, plus `.vyn.header`.

    Args:
        sections: payload section name (`.vyn.` + ASCII letters, digits, '.',
            '_' or '-') to its bytes. The header lists them in this order.
        llvm_ir_module: optional LLVM IR text linked into the object (its
            functions land in `.text`, its symbols in `.symtab`). Its target
            triple, if set, must be TARGET_TRIPLE.
        opt: the code generator's optimization level for that module (0: tier 1,
            debuggable; 2: tier 2). The IR itself comes optimized or not.

    Raises:
        ValueError, TypeError: a section name or payload is invalid (caller bug).
        ImageWriteError: LLVM could not parse, link or verify the IR.
    """
    payloads = _checked_payloads(sections)
    header = encode_header(section_entries(payloads))
    return emit_sections_object({HEADER_SECTION: header, **payloads}, llvm_ir_module, opt)


def write_image(
    path: str | os.PathLike[str],
    sections: Mapping[str, bytes],
    *,
    llvm_ir_module: str | None = None,
    opt: int = 0,
) -> None:
    """Build the image (see `build_image_bytes`) and write it to `path` atomically.

    The image is fully built in memory before the file is touched, then written
    to a temporary file in the same directory and renamed over `path`: a failed
    build or write leaves any previous file at `path` as it was, and no
    partial file behind.

    Raises:
        ValueError, TypeError: a section name or payload is invalid (caller bug).
        ImageWriteError: LLVM rejected the IR, or the file could not be written.
    """
    data = build_image_bytes(sections, llvm_ir_module=llvm_ir_module, opt=opt)
    _write_atomically(os.fspath(path), data)


def emit_sections_object(
    sections: Mapping[str, bytes], llvm_ir_module: str | None = None, opt: int = 0
) -> bytes:
    """An ELF object holding exactly `sections` (no header is added) and `llvm_ir_module`.

    The building block of `build_image_bytes`; tests use it to wrap
    hand-encoded headers. Section names are not checked against the Vyn
    naming rules here, only quoted safely. Without native code the object is
    written here (`_sections_object`), as LLVM would write it, so that an image
    of bytecode alone (`--no-native`, the build cache's entry for a program
    that never got hot) needs no llvmlite.
    """
    if llvm_ir_module is None:
        return _sections_object(sections)
    from llvmlite import binding as llvm

    target_machine = _target_machine(opt)
    sections_ir = _sections_module_ir(sections, str(target_machine.target_data))
    modules: list[ModuleRef] = []
    try:
        module = _parse(llvm, sections_ir, "section data")
        modules.append(module)
        if llvm_ir_module is not None:
            # The native module is the destination so that its source_filename
            # (the FILE symbol) and module flags (DWARF version) win.
            native = _parse(llvm, llvm_ir_module, "native code")
            modules.append(native)
            if native.triple and native.triple != TARGET_TRIPLE:
                raise ImageWriteError(
                    f"The native code module targets {native.triple!r}, "
                    f"but images are {TARGET_TRIPLE!r}."
                )
            native.triple = TARGET_TRIPLE
            native.data_layout = str(target_machine.target_data)
            try:
                native.link_in(module)
            except RuntimeError as e:
                raise ImageWriteError(f"LLVM could not link the native code: {e}") from e
            modules.remove(module)  # link_in consumed it
            module = native
        try:
            module.verify()
        except RuntimeError as e:
            raise ImageWriteError(f"LLVM rejected the image module: {e}") from e
        return target_machine.emit_object(module)
    finally:
        for m in modules:
            m.close()


_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
_SHF_ALLOC, _SHF_EXECINSTR, _SHF_GNU_RETAIN = 0x2, 0x4, 0x200000
_SHT_PROGBITS, _SHT_SYMTAB, _SHT_STRTAB = 1, 2, 3
_STT_OBJECT, _STT_FILE, _SHN_ABS = 1, 4, 0xFFF1


def _sections_object(sections: Mapping[str, bytes]) -> bytes:
    """An x86-64 ELF relocatable object holding `sections` (allocated, retained,
    8-byte aligned, each with a local object symbol `__vyn_section<name>`), laid out
    as LLVM lays out the object of `_sections_module_ir`: `.strtab` (names of
    sections and symbols), an empty `.text`, the payloads, `.note.GNU-stack`,
    `.symtab`."""
    strtab = bytearray(b"\0")

    def name(text: str) -> int:
        at = len(strtab)
        strtab.extend(text.encode("utf-8") + b"\0")
        return at

    body = bytearray()

    def place(data: bytes, align: int) -> int:
        body.extend(b"\0" * (-(64 + len(body)) % align))
        at = 64 + len(body)
        body.extend(data)
        return at

    # (name, type, flags, offset, size, link, info, align, entsize)
    headers = [(0, 0, 0, 0, 0, 0, 0, 0, 0)]
    headers.append((name(".strtab"), _SHT_STRTAB, 0, 0, 0, 0, 0, 1, 0))  # filled below
    headers.append((name(".text"), _SHT_PROGBITS, _SHF_ALLOC | _SHF_EXECINSTR,
                    place(b"", 4), 0, 0, 0, 4, 0))
    symbols = [(0, 0, 0, 0, 0), (name(_MODULE_NAME), _STT_FILE, _SHN_ABS, 0, 0)]
    for section, payload in sections.items():
        index = len(headers)
        headers.append((name(section), _SHT_PROGBITS, _SHF_ALLOC | _SHF_GNU_RETAIN,
                        place(bytes(payload), SECTION_ALIGNMENT), len(payload), 0, 0,
                        SECTION_ALIGNMENT, 0))
        symbols.append((name("__vyn_section" + section), _STT_OBJECT, index, 0,
                        len(payload)))
    headers.append((name(".note.GNU-stack"), _SHT_PROGBITS, 0, place(b"", 1), 0, 0, 0,
                    1, 0))
    symtab_name = name(".symtab")
    raw_symbols = b"".join(_SYMBOL.pack(n, kind, 0, shndx, value, size)
                           for n, kind, shndx, value, size in symbols)  # all local
    headers.append((symtab_name, _SHT_SYMTAB, 0, place(raw_symbols, 8), len(raw_symbols),
                    1, len(symbols), 8, _SYMBOL.size))
    strtab_at = place(bytes(strtab), 1)
    headers[1] = headers[1][:3] + (strtab_at, len(strtab)) + headers[1][5:]
    body.extend(b"\0" * (-(64 + len(body)) % 8))
    shoff = 64 + len(body)
    ident = b"\x7fELF\x02\x01\x01\x03" + bytes(8)        # OS/ABI GNU: SHF_GNU_RETAIN
    out = bytearray(_ELF_HEADER.pack(ident, 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0,
                                     _SECTION_HEADER.size, len(headers), 1))
    out += body
    for n, kind, flags, offset, size, link, info, align, entsize in headers:
        out += _SECTION_HEADER.pack(n, kind, flags, 0, offset, size, link, info, align,
                                    entsize)
    return bytes(out)


def _checked_payloads(sections: Mapping[str, bytes]) -> dict[str, bytes]:
    payloads: dict[str, bytes] = {}
    for name, payload in sections.items():
        check_section_name(name)
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"section {name} payload must be bytes-like, not {type(payload).__name__}"
            )
        payloads[name] = bytes(payload)
    return payloads


def _target_machine(opt: int = 0) -> TargetMachine:
    """A new x86-64 target machine, for one image: never shared, as LLVM's ELF object
    lowering keeps every emitted module's `@llvm.used` globals by address (see
    compiler/native.py `target_machine`).

    llvmlite >= 0.45 initializes LLVM itself (`llvm.initialize()` now raises);
    only the target and its asm printer (the object emitter) need registering.
    """
    from llvmlite import binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    try:
        target = llvm.Target.from_triple(TARGET_TRIPLE)
    except RuntimeError:  # the host is not x86-64: register every target instead
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        target = llvm.Target.from_triple(TARGET_TRIPLE)
    # Codegen at -O0 keeps native code debuggable (Tier 1); PIC so the object
    # can be linked into an executable or a shared library alike, and loaded by
    # MCJIT as it is (`vyn run IMAGE`).
    return target.create_target_machine(reloc="pic", codemodel="small", opt=opt)


def _sections_module_ir(sections: Mapping[str, bytes], data_layout: str) -> str:
    """LLVM IR with one internal constant [N x i8] per section, all in @llvm.used."""
    lines = [
        f'source_filename = "{_MODULE_NAME}"',
        f'target datalayout = "{data_layout}"',
        f'target triple = "{TARGET_TRIPLE}"',
        "",
    ]
    symbols = []
    for name, payload in sections.items():
        symbol = "@" + _ir_string("__vyn_section" + name)
        symbols.append(symbol)
        lines.append(
            f"{symbol} = internal constant [{len(payload)} x i8] {_byte_array(payload)},"
            f" section {_ir_string(name)}, align {SECTION_ALIGNMENT}"
        )
    used = ", ".join(f"ptr {s}" for s in symbols)
    lines.append(
        f'@llvm.used = appending global [{len(symbols)} x ptr] [{used}], section "llvm.metadata"'
    )
    return "\n".join(lines) + "\n"


def _byte_array(payload: bytes) -> str:
    """An LLVM IR array initializer for `payload`: c"\\01\\02..." with every byte escaped.

    Escaping every byte as \\XX keeps this a few C-level string operations,
    whatever the payload (about 1 ms per 100 KB).
    """
    if not payload:
        return "zeroinitializer"
    return 'c"\\' + payload.hex("\\") + '"'


def _ir_string(name: str) -> str:
    """`name` as a quoted LLVM IR string, escaping what IR strings cannot hold."""
    escaped = "".join(
        c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "".join(
            f"\\{b:02X}" for b in c.encode("utf-8")
        )
        for c in name
    )
    return f'"{escaped}"'


def _parse(llvm, ir: str, what: str) -> ModuleRef:
    try:
        module = llvm.parse_assembly(ir)
    except RuntimeError as e:
        raise ImageWriteError(f"LLVM could not parse the {what} IR: {e}") from e
    return module


def _write_atomically(path: str, data: bytes) -> None:
    directory = os.path.dirname(path) or "."
    temp = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    )
    try:
        # O_EXCL: never follow or clobber someone else's file; mode 0o666 lets
        # the umask decide permissions, as for any file a compiler writes.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except BaseException:
            _remove_quietly(temp)
            raise
    except OSError as e:
        reason = e.strerror or str(e)
        raise ImageWriteError(f"cannot write '{path}': {reason}.") from e


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
