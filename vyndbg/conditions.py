"""Breakpoint conditions tested without a call into the VM.

A condition is compiled like every debugger expression (vyndbg/exprs.py): a function of
the running program whose parameters are the frame's variables it names. Testing it at a
hit is an ordinary VM call (Session.call_in_program): a frame, the interpreter loop, the
debugger's state saved and restored around it. Most conditions are small pure
expressions over locals and constants (`n == -1`, `i > 3 && x < 2.5`, `p.count == 0`),
and at a breakpoint in native code, tested at every call of a hot function, that call
is most of the cost.

`pure_evaluator(code, nparams)` looks at the condition function's linked bytecode once:
if it uses only register moves, constants, Int / Float / Bool arithmetic, comparisons,
forward branches (`&&`, `||`), field reads and `return`, it returns an evaluator that
runs those instructions with the VM's own semantics (copied from runtime/vm.py: Int
arithmetic wraps, division checks for zero, field reads go through the heap's checked
accessors) over a plain list of registers. Anything unusual at run time (a value of an
unexpected type, a division by zero, a heap access that fails, ...) makes it return
FALLBACK without raising: the engine then runs the condition the ordinary way, which
reports exactly what it always did. The instructions it accepts have no side effects, so
running them twice is the same as once.
"""

from __future__ import annotations

from compiler import bytecode as bc

FALLBACK = object()

_INT_MIN = -(1 << 63)
_INT_MAX = (1 << 63) - 1
_MASK64 = (1 << 64) - 1

_NUMBERS = (int, float, bool)

# Instructions an evaluator runs (their VM semantics are reproduced below).
_PURE = frozenset((
    bc.NOP, bc.MOV, bc.LOADK, bc.ADD, bc.SUB, bc.MUL, bc.DIV, bc.MOD, bc.ADDK, bc.SUBK,
    bc.NEG, bc.FADD, bc.FSUB, bc.FMUL, bc.FNEG, bc.BAND, bc.BOR, bc.BXOR, bc.NOT,
    bc.EQ, bc.NE, bc.LT, bc.LE, bc.GT, bc.GE, bc.JMP, bc.JT, bc.JF, bc.JLT, bc.JLE,
    bc.JGT, bc.JGE, bc.JEQ, bc.JNE, bc.JLTK, bc.JGEK, bc.GETF, bc.RET,
))
_JUMPS = {bc.JMP: 1, bc.JT: 2, bc.JF: 2, bc.JLT: 3, bc.JLE: 3, bc.JGT: 3, bc.JGE: 3,
          bc.JEQ: 3, bc.JNE: 3, bc.JLTK: 3, bc.JGEK: 3}


def pure_evaluator(code: list[tuple], nparams: int, nregs: int, heap):
    """An evaluator `run(args) -> value | FALLBACK` for the linked instructions `code` of
    a function with `nparams` parameters and `nregs` registers, or None when it uses
    anything but the pure instructions above (or jumps backwards: a loop). It is the
    instructions translated to one Python function (registers become its locals, each
    run of instructions between jumps a block), so that a test costs a few Python
    operations rather than a dispatch per instruction."""
    n = len(code)
    if not code or not 0 <= nparams <= nregs:
        return None
    leaders = {0}
    for pc, ins in enumerate(code):
        op = ins[0]
        if op not in _PURE:
            return None
        spec = bc.OPERANDS[bc.OPNAMES[op]]
        if len(ins) != len(spec) + 1:
            return None
        for kind, operand in zip(spec, ins[1:], strict=True):
            if kind == "r" and not 0 <= operand < nregs:
                return None
        if op == bc.LOADK and type(ins[2]) not in _NUMBERS:
            return None
        t = _JUMPS.get(op)
        if t is not None:
            if not pc < ins[t] <= n:
                return None
            leaders.add(ins[t])
            leaders.add(pc + 1)
        elif op == bc.RET:
            leaders.add(pc + 1)
    starts = sorted(x for x in leaders if x < n)
    consts: dict[str, object] = {}
    lines = ["def run(args):",
             f"    if len(args) != {nparams}:",
             "        return FALLBACK"]
    params = [f"r{i}" for i in range(nparams)]
    if params:
        lines.append(f"    {', '.join(params)}{',' if len(params) == 1 else ''} = args")
    others = [f"r{i}" for i in range(nparams, nregs)]
    if others:
        lines.append(f"    {' = '.join(others)} = None")
    lines += ["    pc = 0", "    try:"]
    for bi, start in enumerate(starts):
        stop = starts[bi + 1] if bi + 1 < len(starts) else n
        ind = "        " if bi == 0 else "            "
        if bi:
            lines.append(f"        if pc == {start}:")
        body: list[str] = []
        ended = False
        for pc in range(start, stop):
            body += _statement(code[pc], pc, consts)
            op = code[pc][0]
            if op == bc.RET or op == bc.JMP:
                ended = True
        last = code[stop - 1]
        if not ended:
            if last[0] in _JUMPS:
                body.append(f"pc = {last[_JUMPS[last[0]]]} if {_jump_test(last, consts)} "
                            f"else {stop}")
            else:
                body.append(f"pc = {stop}")
        lines += [ind + line for line in body or ["pass"]]
    lines += ["        return FALLBACK                  # past the last instruction",
              "    except Exception:",
              "        return FALLBACK"]
    namespace = {"FALLBACK": FALLBACK, "INT_MIN": _INT_MIN, "INT_MAX": _INT_MAX,
                 "MASK64": _MASK64, "get_i64": heap.get_i64, "get_f64": heap.get_f64,
                 "get_ptr": heap.get_ptr}
    namespace.update(consts)
    exec(compile("\n".join(lines), "<breakpoint condition>", "exec"), namespace)  # noqa: S102
    return namespace["run"]


_WRAP = "if not INT_MIN <= _v <= INT_MAX: _v = ((_v - INT_MIN) & MASK64) + INT_MIN"
_BINARY = {bc.FADD: "+", bc.FSUB: "-", bc.FMUL: "*", bc.EQ: "==", bc.NE: "!=",
           bc.LT: "<", bc.LE: "<=", bc.GT: ">", bc.GE: ">="}
_WRAPPING = {bc.ADD: "+", bc.SUB: "-", bc.MUL: "*"}
_BITS = {bc.BAND: "&", bc.BOR: "|", bc.BXOR: "^"}
_COMPARE_JUMPS = {bc.JLT: "<", bc.JLE: "<=", bc.JGT: ">", bc.JGE: ">=", bc.JEQ: "==",
                  bc.JNE: "!="}


def _statement(ins: tuple, pc: int, consts: dict) -> list[str]:
    """Python lines doing what runtime/vm.py does for `ins` (its jump: `_jump_test`)."""
    op = ins[0]
    if op == bc.LOADK:
        consts[f"K{pc}"] = ins[2]
        return [f"r{ins[1]} = K{pc}"]
    if op == bc.MOV:
        return [f"r{ins[1]} = r{ins[2]}"]
    if op in _BINARY:
        return [f"r{ins[1]} = r{ins[2]} {_BINARY[op]} r{ins[3]}"]
    if op in _WRAPPING:
        return [f"_v = r{ins[2]} {_WRAPPING[op]} r{ins[3]}", _WRAP, f"r{ins[1]} = _v"]
    if op == bc.ADDK:
        consts[f"I{pc}"] = ins[3]
        return [f"_v = r{ins[2]} + I{pc}",
                "if _v > INT_MAX: _v = ((_v - INT_MIN) & MASK64) + INT_MIN",
                f"r{ins[1]} = _v"]
    if op == bc.SUBK:
        consts[f"I{pc}"] = ins[3]
        return [f"_v = r{ins[2]} - I{pc}",
                "if _v < INT_MIN: _v = ((_v - INT_MIN) & MASK64) + INT_MIN",
                f"r{ins[1]} = _v"]
    if op == bc.DIV or op == bc.MOD:
        out = [f"_a = r{ins[2]}", f"_b = r{ins[3]}",
               "if _b == 0: return FALLBACK      # the VM panics: let it say so",
               "_q = abs(_a) // abs(_b)"]
        if op == bc.DIV:
            out.append("_v = -_q if (_a < 0) != (_b < 0) else _q")
        else:
            out += ["_r = abs(_a) - _q * abs(_b)", "_v = -_r if _a < 0 else _r"]
        return out + [_WRAP, f"r{ins[1]} = _v"]
    if op == bc.NEG:
        return [f"_v = -r{ins[2]}", f"r{ins[1]} = INT_MIN if _v > INT_MAX else _v"]
    if op == bc.FNEG:
        return [f"r{ins[1]} = -r{ins[2]}"]
    if op == bc.NOT:
        return [f"r{ins[1]} = not r{ins[2]}"]
    if op in _BITS:
        return [f"_a = r{ins[2]}", f"_v = _a {_BITS[op]} r{ins[3]}",
                f"r{ins[1]} = bool(_v) if isinstance(_a, bool) else _v"]
    if op == bc.GETF:
        k = ins[4]
        read = f"(r{ins[2]}, {int(ins[3])})"
        if k == bc.K_INT:
            return [f"r{ins[1]} = get_i64{read}"]
        if k == bc.K_PTR:
            return [f"r{ins[1]} = get_ptr{read}"]
        if k == bc.K_FLOAT:
            return [f"r{ins[1]} = get_f64{read}"]
        if k == bc.K_BOOL:
            return [f"r{ins[1]} = bool(get_i64{read})"]
        return [f"r{ins[1]} = None"]
    if op == bc.RET:
        return [f"return r{ins[1]}"]
    if op == bc.JMP:
        return [f"pc = {ins[1]}"]
    return []                   # NOP; a conditional jump ends its block (_jump_test)


def _jump_test(ins: tuple, consts: dict) -> str:
    op = ins[0]
    if op == bc.JT:
        return f"r{ins[1]}"
    if op == bc.JF:
        return f"not r{ins[1]}"
    if op in _COMPARE_JUMPS:
        return f"r{ins[1]} {_COMPARE_JUMPS[op]} r{ins[2]}"
    name = f"J{len(consts)}"
    consts[name] = ins[2]
    return f"r{ins[1]} {'<' if op == bc.JLTK else '>='} {name}"


__all__ = ["FALLBACK", "pure_evaluator"]
