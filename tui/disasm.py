"""The Disassembly tab's view model, without Textual: the selected frame's function as
machine code (a native frame, under `vyn debug --jit=auto|eager`) or bytecode, with its
Vyn source lines interleaved as gdb's `disassemble /s` shows them, and the frame's
registers.

`collect_disasm` reads a stopped Session (on the engine thread) through its public API:
`has_native_code`, `native_disassembly`, `registers`, `symbol_at`, and `disassemble` for a
bytecode frame. Every row is laid out here (`AsmLine.text`); the widget only colours it.
Addresses change from run to run (the code is mmap'd), so instructions are named by their
offset in the function (`<+71>`) and a branch's target too (`jge <+99>`, `callq
<fib+0>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vyndbg.model import DebugError, Instruction, NativeInstruction

MARK_BREAKPOINT = "●"
ARROW_TOP = "▶"           # the innermost frame's instruction
ARROW_CALLER = "▷"        # a calling frame's (its return address)
MNEMONIC_WIDTH = 6
OPNAME_WIDTH = 8
SOURCE_CONTEXT = 3        # source lines shown before an instruction's line, at most
NO_REGISTERS = "bytecode frame: no registers"
ADDRESS_DIGITS = 12       # hex digits of a user-space address (48 bits)

_HEX = re.compile(r"^(\*?)(0x[0-9a-fA-F]+)$")


@dataclass(frozen=True)
class AsmLine:
    """One row of the listing: a Vyn source line (`kind` "source") or an instruction
    ("code"). `text` is the whole row as shown; the flags say how to colour it."""

    kind: str                    # source | code
    text: str
    line: int = 0                # the Vyn line (of a source row, or an instruction's)
    current: bool = False        # the selected frame's instruction (or its source line)
    breakpoint: bool = False     # a breakpoint's code hook is here
    stmt: bool = False           # a statement starts here (a line breakpoint's address)
    offset: int = -1             # an instruction's offset in the function (or bytecode pc)


@dataclass(frozen=True)
class RegisterRow:
    name: str
    text: str                    # `0x7ffd5c1e0a40`
    changed: bool = False        # differs from the last stop


@dataclass(frozen=True)
class DisasmView:
    """What the Disassembly tab shows after one engine call."""

    generation: int
    title: str = ""              # `fib · native tier 1 · 1026 bytes`
    lines: tuple[AsmLine, ...] = ()
    current: int | None = None   # the row of the current instruction
    registers: tuple[RegisterRow, ...] = ()
    registers_note: str = ""     # instead of registers: `bytecode frame: no registers`
    native: bool = False
    function: str = ""
    key: tuple = ()              # the listing's identity: the same key keeps its scroll
    top: bool = True             # the selected frame is the innermost one
    error: str = ""              # instead of a listing: why there is none

    @property
    def arrow(self) -> str:
        return ARROW_TOP if self.top else ARROW_CALLER


def offset_label(offset: int) -> str:
    return f"<+{offset}>"


def branch_operands(mnemonic: str, operands: str, start: int, end: int, symbol=None
                    ) -> str:
    """A branch's or call's target as an offset (`<+99>`) when it is in the function, as
    `<fib+4>` (through `symbol(address)`) elsewhere in native code; other operands as
    they are."""
    m = _HEX.match(operands.strip())
    if m is None or not (mnemonic.startswith(("j", "call", "loop"))):
        return operands
    address = int(m.group(2), 16)
    if start <= address < end:
        return f"{m.group(1)}{offset_label(address - start)}"
    name = symbol(address) if symbol is not None else ""
    return f"{m.group(1)}<{name}>" if name else operands


def interleave(rows: Sequence[tuple[int, AsmLine]], text_of) -> list[AsmLine]:
    """Instructions (with their Vyn line, 0 for none) and the source lines before them,
    as gdb's `/s`: a source row wherever the line changes; moving forward, the lines
    skipped since the last one shown too (at most SOURCE_CONTEXT, blank ones left out)."""
    out: list[AsmLine] = []
    shown = None          # the line of the last source row
    furthest = 0          # the furthest line shown so far
    for line, row in rows:
        if line and line != shown:
            first = line
            if furthest and furthest < line:
                first = max(furthest + 1, line - SOURCE_CONTEXT + 1)
            for n in range(first, line + 1):
                text = text_of(n)
                if n != line and not text.strip():
                    continue
                out.append(AsmLine("source", f"{n:<4} {text}".rstrip(), n))
            shown = line
            furthest = max(furthest, line)
        out.append(row)
    return out


def native_lines(listing_start: int, listing_end: int,
                 instructions: Sequence[NativeInstruction], text_of, symbol=None
                 ) -> list[AsmLine]:
    """The rows of a native listing: `●▶ <+71>  cmpq   $2, -8(%rbp)`."""
    width = max((len(offset_label(i.offset)) for i in instructions), default=4)
    rows = []
    for ins in instructions:
        ops = branch_operands(ins.mnemonic, ins.operands, listing_start, listing_end, symbol)
        text = f"{offset_label(ins.offset):>{width}}  {ins.mnemonic:<{MNEMONIC_WIDTH}} {ops}"
        line = ins.location.line if ins.location is not None else 0
        rows.append((line, AsmLine("code", text.rstrip(), line, ins.current, ins.breakpoint,
                                   ins.is_stmt, ins.offset)))
    return interleave(rows, text_of)


def bytecode_lines(instructions: Sequence[Instruction], text_of) -> list[AsmLine]:
    """The rows of a bytecode listing: `●▶  7  CALL     5, 0, 1`."""
    width = max((len(str(i.pc)) for i in instructions), default=1)
    rows = []
    for ins in instructions:
        text = f"{ins.pc:>{width}}  {ins.opname:<{OPNAME_WIDTH}} {ins.operands}"
        line = ins.location.line if ins.location is not None else 0
        rows.append((line, AsmLine("code", text.rstrip(), line, ins.current, ins.breakpoint,
                                   ins.is_stmt, ins.pc)))
    return interleave(rows, text_of)


def with_marks(line: AsmLine, arrow: str) -> str:
    """A row with its two-cell gutter: the breakpoint mark and the arrow."""
    if line.kind != "code":
        return line.text
    return (MARK_BREAKPOINT if line.breakpoint else " ") + (arrow if line.current else " ") \
        + " " + line.text


def register_rows(registers: Sequence[tuple[str, int]], before: Mapping[str, int] | None
                  ) -> tuple[RegisterRow, ...]:
    """`registers` in hex, each marked changed when it differs from `before` (the same
    frame's at the last stop; None: nothing to compare with)."""
    return tuple(RegisterRow(name, f"0x{value:x}",
                             before is not None and name in before and before[name] != value)
                 for name, value in registers)


def register_text(row: RegisterRow, name_width: int = 6) -> str:
    return f"{row.name:<{name_width}} {row.text}"


def register_grid(rows: Sequence[RegisterRow], width: int
                  ) -> tuple[int, list[list[tuple[str, bool]]], bool]:
    """The registers laid out in `width` cells: as many columns as fit, row by row, each
    cell (as wide as the columns can be) `name` on the left and the value on the right
    (`rsp   0x7ffd5c1e0a40`).
    Where one more column fits without the values' `0x`, they go without it (the pane's
    title says `hex`). A cell holds a 48-bit address at least. Returns the cell width,
    the rows of (text, changed) cells and whether the values keep their `0x`."""
    if not rows:
        return 0, [], True

    def layout(prefix: bool) -> tuple[int, int]:
        # Room for a 48-bit address under a three-letter name at least, so that the
        # columns stay put as values grow.
        least = 3 + 1 + ADDRESS_DIGITS + (2 if prefix else 0)
        cell = max(least, *(len(r.name) + 1 + len(r.text) - (0 if prefix else 2)
                            for r in rows))
        return cell, max(1, (width + 1) // (cell + 1))

    cell, columns = layout(True)
    bare_cell, bare_columns = layout(False)
    prefix = bare_columns <= columns
    if not prefix:
        cell, columns = bare_cell, bare_columns
    cell = max(cell, (width + 1) // columns - 1)     # the columns fill the width
    grid = []
    for start in range(0, len(rows), columns):
        line = []
        for r in rows[start:start + columns]:
            value = r.text if prefix else r.text[2:]
            line.append((r.name + value.rjust(cell - len(r.name)), r.changed))
        grid.append(line)
    return cell, grid, prefix


def _text_of(session, file: str):
    """line -> its text in `file` (empty when it cannot be read)."""
    try:
        lines = session.source_lines(file, 1, 1 << 30) if file else []
    except (DebugError, KeyError, IndexError):
        lines = []
    cache = {s.number: s.text for s in lines}
    return lambda n: cache.get(n, "")


def collect_disasm(session, generation: int, before: Mapping[str, int] | None = None
                   ) -> DisasmView:
    """The Disassembly tab for `session`'s selected frame (`before`: its registers at the
    last stop, for the changed ones)."""
    st = session.state
    if st.state != "stopped":
        return DisasmView(generation, error="The program is not running.")
    frames = session.frames()
    if not frames:
        return DisasmView(generation, error="No frame selected.")
    selected = session.selected
    frame = next((f for f in frames if f.level == selected), frames[0])
    top = frame.level == frames[0].level
    if session.has_native_code():
        listing = session.native_disassembly()
        file = next((i.location.file for i in listing.instructions if i.location), "")
        lines = native_lines(listing.start, listing.end, listing.instructions,
                             _text_of(session, file), session.symbol_at)
        size = listing.end - listing.start
        title = f"{listing.function} · native tier {listing.tier} · {size} bytes"
        key = ("native", listing.function, listing.start)
        native = True
        function = listing.function
        try:
            regs = session.registers()
        except DebugError as e:
            regs, note = [], str(e)
        else:
            note = ""
    else:
        function, instructions = session.disassemble()
        file = next((i.location.file for i in instructions if i.location), "")
        lines = bytecode_lines(instructions, _text_of(session, file))
        title = f"{function} · bytecode · {len(instructions)} instructions"
        key = ("bytecode", function, frame.function_index)
        native = False
        regs, note = [], NO_REGISTERS
    current = next((i for i, line in enumerate(lines) if line.kind == "code" and line.current),
                   None)
    if current is not None:
        # The source row of the current instruction's line is marked too.
        at = lines[current].line
        for i in range(current - 1, -1, -1):
            if lines[i].kind == "source":
                if lines[i].line == at:
                    lines[i] = AsmLine("source", lines[i].text, at, current=True)
                break
    return DisasmView(generation, title, tuple(lines), current,
                      register_rows(regs, before), note, native, function, key, top)
