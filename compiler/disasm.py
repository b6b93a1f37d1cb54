"""A readable listing of compiled bytecode, interleaved with the source it came from.

    function fib (fib.vyn:1) params=1 regs=4
       2 |   if n < 2 {
    *    0  JGEK        r0(n), 2, -> 2
       3 |     return n
    *    1  RET         r0(n)

Each function starts with a header; each source line is shown before the first instruction
the line table maps to it; `*` marks an instruction that starts a statement (is_stmt, where a
line breakpoint stops). Registers show the name of the variable that lives in them at that
pc, constants their value, jump targets `-> pc`, callees and types their names.

The listing is total: a Program that does not verify (a dangling index) still prints, with
`?` where a reference points nowhere.
"""

from __future__ import annotations

from compiler.bytecode import (
    FN_ASYNC,
    FN_EXTERN,
    FN_LAMBDA,
    FN_METHOD,
    FN_TEST,
    OPCODES,
    Function,
    Program,
)

STMT_MARK = "*"
_FLAG_NAMES = ((FN_ASYNC, "async"), (FN_LAMBDA, "lambda"), (FN_METHOD, "method"),
               (FN_EXTERN, "extern"), (FN_TEST, "test"))
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
OPNAME_WIDTH = 11


class NoSuchFunction(LookupError):
    """`disassemble` was asked for a function the program does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def disassemble(program: Program, func_name: str | None = None) -> str:
    """The listing of every function of `program`, or of those named `func_name`.

    Functions are separated by a blank line; the text ends with a newline.

    Raises:
        NoSuchFunction: no function is named `func_name`.
    """
    functions = program.functions
    if func_name is not None:
        functions = [f for f in functions if f.name == func_name]
        if not functions:
            raise NoSuchFunction(func_name)
    return "\n".join(_function_listing(program, fn) for fn in functions)


def _function_listing(program: Program, fn: Function) -> str:
    out = [_header(fn)]
    source_lines = program.sources.get(fn.file, "").split("\n") if fn.file else []
    rows_at: dict[int, list] = {}
    for row in fn.lines:
        rows_at.setdefault(row.pc, []).append(row)
    shown_line = None
    for pc, instr in enumerate(fn.code):
        rows = rows_at.get(pc, [])
        for row in rows:
            if row.line != shown_line:
                text = source_lines[row.line - 1] if 0 < row.line <= len(source_lines) else ""
                out.append(f"{row.line:>4} | {text}".rstrip())
                shown_line = row.line
        mark = STMT_MARK if any(row.is_stmt for row in rows) else " "
        out.append(_instruction(program, fn, pc, instr, mark))
    return "\n".join(out) + "\n"


def _header(fn: Function) -> str:
    text = f"function {fn.name} ({fn.file}:{fn.line}) params={fn.nparams} regs={fn.nregs}"
    if fn.ncaptures:
        text += f" captures={fn.ncaptures}"
    flags = [name for bit, name in _FLAG_NAMES if fn.flags & bit]
    if flags:
        text += f" [{', '.join(flags)}]"
    return text


def _instruction(program: Program, fn: Function, pc: int, instr: tuple, mark: str) -> str:
    opcode, *operands = instr
    if not isinstance(opcode, int) or not 0 <= opcode < len(OPCODES):
        return f"{mark}{pc:>5}  {'?' + str(opcode):<{OPNAME_WIDTH}} {operands}"
    name, spec, _ = OPCODES[opcode]
    if len(spec) != len(operands):
        return f"{mark}{pc:>5}  {name:<{OPNAME_WIDTH}} ?{operands}"
    rendered = []
    i = 0
    while i < len(spec):
        kind, x = spec[i], operands[i]
        if kind == "r" and spec[i + 1:i + 2] == "n":  # r[b .. b+n-1]: one list
            count = operands[i + 1]
            regs = [_register(fn, pc, x + j) for j in range(max(count, 0))]
            rendered.append(f"({', '.join(regs)})")
            i += 2
            continue
        rendered.append(_operand(program, fn, pc, name, kind, x))
        i += 1
    return f"{mark}{pc:>5}  {name:<{OPNAME_WIDTH}} {', '.join(rendered)}".rstrip()


def _operand(program: Program, fn: Function, pc: int, opname: str, kind: str, x: int) -> str:
    if kind == "r":
        return _register(fn, pc, x)
    if kind == "k":
        return render_constant(fn.consts[x]) if 0 <= x < len(fn.consts) else f"k{x}?"
    if kind == "t":
        return f"-> {x}"
    if kind == "y":
        if 0 <= x < len(program.types):
            type_name = program.types[x].name or f"#{x}"
            # Quoted when it could be misread as several operands or a jump (fn(A, B) -> C).
            return f"type '{type_name}'" if any(c in type_name for c in " ,") \
                else f"type {type_name}"
        return f"type #{x}?"
    if kind == "f":
        if 0 <= x < len(program.functions):
            return f"fn {program.functions[x].name}"
        return f"fn #{x}?"
    if kind == "g":
        if 0 <= x < len(program.globals):
            return f"g{x}({program.globals[x][0]})"
        return f"g{x}?"
    if kind == "i" and opname == "LOADCAP":
        return _capture(fn, pc, x)
    return str(x)  # "i", "n"


def _register(fn: Function, pc: int, reg: int) -> str:
    name = _live_name(fn, pc, reg, capture=False)
    return f"r{reg}({name})" if name else f"r{reg}"


def _capture(fn: Function, pc: int, index: int) -> str:
    name = _live_name(fn, pc, index, capture=True)
    return f"cap{index}({name})" if name else f"cap{index}"


def _live_name(fn: Function, pc: int, reg: int, *, capture: bool) -> str | None:
    """The variable in register (or capture) `reg` at `pc`: the innermost (latest-starting)
    one whose live range [start, end) holds pc."""
    best = None
    for var in fn.vars:
        if (var.kind == "capture") != capture or var.reg != reg:
            continue
        if capture or var.start <= pc < var.end:
            if best is None or var.start >= best.start:
                best = var
    return best.name if best else None


def render_constant(value: object) -> str:
    """A constant as the listing shows it: strings double-quoted and escaped, booleans
    `true`/`false`, None as `none`, tuples as `(a, b)` (one item: `(a,)`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        body = "".join(_ESCAPES.get(c, c if c.isprintable() else f"\\u{{{ord(c):x}}}")
                       for c in value)
        return f'"{body}"'
    if value is None:
        return "none"
    if isinstance(value, tuple):
        items = [render_constant(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return repr(value)
