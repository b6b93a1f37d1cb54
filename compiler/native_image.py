"""Native code and DWARF for an image (`vyn build -O0|-O2`; docs/native.md, docs/image.md).

Every function the backend can compile goes into one LLVM module, linked by
`image_writer` into the image's object: `.text` (symbols `vyn.fn.N`, `vyn.entry.N`,
`vyn.osr.N`), `.debug_*` and their relocations. The `.vyn.native` payload lists the
functions that have native code, so `vyn run IMAGE` finds them without reading symbols.
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler import native
from compiler.bytecode import Program


def native_sections(program: Program, opt: int, plain_builtins: frozenset[str] | None = None,
                    directory: str | None = None, functions: Iterable[int] | None = None,
                    trace: bool = False) -> tuple[str | None, dict[str, bytes]]:
    """(LLVM IR of the native module or None, extra payload sections) for `program`.
    `functions`: only these (those of them the backend can compile); None: every one.
    The build cache of `vyn run` (runtime/build_cache.py) passes the functions the JIT
    compiled; `trace`: its code reports calls (a traced run's, for the next one)."""
    plans, _ = native.plan_functions(program, None if functions is None else sorted(functions),
                                     plain_builtins=plain_builtins)
    if not plans:
        return None, {}
    ir = native.module_ir(program, plans, opt=opt, debug=True, directory=directory,
                          trace=trace)
    return ir, {native.NATIVE_SECTION: native.encode_manifest(opt, sorted(plans),
                                                              traced=trace)}
