"""Expressions typed at the debugger: parsed by the Vyn parser, compiled once into a tree
of closures, evaluated against a stopped frame with Vyn's semantics (wrapping Int,
truncating `/`, structural `==`). Calls of the program's own functions run in the VM.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from compiler import ast
from compiler.bytecode import K_PTR
from compiler.diagnostics import DiagnosticSink
from compiler.parser import parse_expression
from runtime import builtins as rb
from runtime.errors import RuntimeFailure, VynPanic
from runtime.heap_errors import HeapError
from runtime.vm import INT_MAX, INT_MIN, MASK64
from vyndbg.locations import find_functions
from vyndbg.model import (
    BadExpressionError,
    EvaluationError,
    MemoryAccessError,
    NoSymbolError,
    NotSupportedError,
)


@dataclass(frozen=True)
class TypedValue:
    value: object
    tid: int


class Scope:
    """What names mean where an expression is evaluated: a stopped frame's variables,
    then globals, then functions."""

    def __init__(self, session, frame):
        self.session = session
        self.vm = session.vm
        self.frame = frame

    def lookup(self, name: str) -> TypedValue:
        var = self.session.frame_variable(self.frame, name)
        if var is not None:
            return var
        for i, (gname, tid) in enumerate(self.vm.program.globals):
            if gname == name:
                return TypedValue(self.vm.globals[i], tid)
        raise NoSymbolError(f'No symbol "{name}" in current context.', name=name, kind="variable")


Compiled = Callable[[Scope], TypedValue]


def compile_expression(text: str) -> Compiled:
    """Parse and compile `text`; raises BadExpressionError with the parser's message."""
    sink = DiagnosticSink()
    e = parse_expression(text, sink)
    if e is None or sink.has_errors:
        msg = sink.sorted()[0].message if sink.items else "syntax error"
        raise BadExpressionError(f"A syntax error in expression, near `{text}`: {msg}.",
                                 expression=text, detail=msg)
    return _compile(e)


def _tid(vm, kind: str, name: str | None = None) -> int:
    tid = vm.type_id(kind, name)
    if not tid:
        raise EvaluationError(f"The program has no values of type {name or kind}.")
    return tid


def _wrap(v: int) -> int:
    if not INT_MIN <= v <= INT_MAX:
        v = ((v - INT_MIN) & MASK64) + INT_MIN
    return v


def _compile(e: ast.Expr) -> Compiled:
    if isinstance(e, ast.IntLit):
        v = e.value
        return lambda s: TypedValue(v, _tid(s.vm, "int", "Int"))
    if isinstance(e, ast.FloatLit):
        f = e.value
        return lambda s: TypedValue(f, _tid(s.vm, "float"))
    if isinstance(e, ast.BoolLit):
        b = e.value
        return lambda s: TypedValue(b, _tid(s.vm, "bool"))
    if isinstance(e, ast.CharLit):
        c = ord(e.value)
        return lambda s: TypedValue(c, _tid(s.vm, "char" if c < 128 else "rune"))
    if isinstance(e, ast.StringLit):
        text = e.value
        return lambda s: TypedValue(s.vm.new_string(text), s.vm.string_tid)
    if isinstance(e, (ast.Name, ast.SelfExpr)):
        name = "self" if isinstance(e, ast.SelfExpr) else e.name
        return lambda s: s.lookup(name)
    if isinstance(e, ast.Unary):
        inner = _compile(e.operand)
        op = e.op
        return lambda s: _unary(s, op, inner(s))
    if isinstance(e, ast.AddrOf):
        return _compile(e.operand)
    if isinstance(e, ast.Binary):
        left, right = _compile(e.left), _compile(e.right)
        op = e.op
        if op == "&&":
            return lambda s: TypedValue(bool(left(s).value) and bool(right(s).value),
                                        _tid(s.vm, "bool"))
        if op == "||":
            return lambda s: TypedValue(bool(left(s).value) or bool(right(s).value),
                                        _tid(s.vm, "bool"))
        return lambda s: _binary(s, op, left(s), right(s))
    if isinstance(e, ast.Field):
        obj = _compile(e.obj)
        name = e.name
        return lambda s: _field(s, obj(s), name)
    if isinstance(e, ast.Index):
        obj, idx = _compile(e.obj), _compile(e.index)
        return lambda s: _index(s, obj(s), idx(s))
    if isinstance(e, ast.MethodCall):
        recv = _compile(e.receiver)
        args = [_compile(a.value) for a in e.args]
        name = e.method
        return lambda s: _method(s, recv(s), name, [a(s) for a in args])
    if isinstance(e, ast.Call) and isinstance(e.callee, (ast.Name, ast.Path)):
        fname = e.callee.name if isinstance(e.callee, ast.Name) else "::".join(
            seg.name for seg in e.callee.segments)
        args = [_compile(a.value) for a in e.args]
        return lambda s: _call(s, fname, [a(s) for a in args])
    if isinstance(e, ast.Cast):
        inner = _compile(e.expr)
        target = e.target.path[-1] if isinstance(e.target, ast.NamedType) else "?"
        return lambda s: _cast(s, inner(s), target)
    raise NotSupportedError("This kind of expression cannot be evaluated by the debugger.")


def _kind(s: Scope, v: TypedValue) -> str:
    return s.vm.types[v.tid].kind


def _unary(s: Scope, op: str, v: TypedValue) -> TypedValue:
    k = _kind(s, v)
    if op == "-" and k == "int":
        return TypedValue(_wrap(-v.value), v.tid)
    if op == "-" and k == "float":
        return TypedValue(-v.value, v.tid)
    if op == "!" and k == "bool":
        return TypedValue(not v.value, v.tid)
    if op in ("!", "~") and k == "int":
        return TypedValue(~v.value, v.tid)
    raise EvaluationError(f"Argument to unary `{op}` is not a number or Bool.")


def _binary(s: Scope, op: str, a: TypedValue, b: TypedValue) -> TypedValue:
    vm = s.vm
    ka, kb = _kind(s, a), _kind(s, b)
    btid = _tid(vm, "bool")
    if op in ("==", "!="):
        if ka != kb and not ({ka, kb} <= {"char", "rune", "int"}):
            raise EvaluationError(f"Cannot compare {vm.types[a.tid].name} with "
                                  f"{vm.types[b.tid].name}.")
        eq = vm.reader.equal(a.value, b.value, a.tid) if vm.kinds[a.tid] == K_PTR else \
            a.value == b.value
        return TypedValue(eq if op == "==" else not eq, btid)
    if op in ("<", "<=", ">", ">="):
        if ka == "string" and kb == "string":
            c = vm.reader.compare(a.value, b.value, a.tid)
            x, y = c, 0
        elif ka in ("int", "float", "char", "rune") and kb == ka:
            x, y = a.value, b.value
        else:
            raise EvaluationError(f"Cannot compare {vm.types[a.tid].name} with "
                                  f"{vm.types[b.tid].name}.")
        r = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
        return TypedValue(r, btid)
    if ka == "string" and kb == "string" and op == "+":
        return TypedValue(vm.new_string(vm.reader.string(a.value) + vm.reader.string(b.value)),
                          a.tid)
    if ka == "int" and kb == "int":
        x, y = a.value, b.value
        if op in ("/", "%") and y == 0:
            raise EvaluationError("Division by zero")
        if op == "+":
            r = x + y
        elif op == "-":
            r = x - y
        elif op == "*":
            r = x * y
        elif op == "/":
            r = abs(x) // abs(y) * (-1 if (x < 0) != (y < 0) else 1)
        elif op == "%":
            r = (abs(x) % abs(y)) * (-1 if x < 0 else 1)
        elif op == "&":
            r = x & y
        elif op == "|":
            r = x | y
        elif op == "^":
            r = x ^ y
        elif op == "<<":
            r = x << (y & 63)
        elif op == ">>":
            r = x >> (y & 63)
        else:
            raise EvaluationError(f"Unknown operator `{op}`.")
        return TypedValue(_wrap(r), a.tid)
    if ka == "float" and kb == "float":
        x, y = a.value, b.value
        if op == "/" and y == 0.0:
            r = math.nan if x == 0.0 or x != x else math.copysign(math.inf, x) * math.copysign(1, y)
        elif op == "%":
            r = math.fmod(x, y) if y != 0.0 else math.nan
        else:
            r = {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else 0.0}.get(op)
            if r is None:
                raise EvaluationError(f"Unknown operator `{op}` for Float.")
        return TypedValue(r, a.tid)
    raise EvaluationError(f"Argument to arithmetic operation not a number: "
                          f"{vm.types[a.tid].name} {op} {vm.types[b.tid].name}.")


def _field(s: Scope, v: TypedValue, name: str) -> TypedValue:
    vm = s.vm
    d = vm.types[v.tid]
    if not v.value and d.kind in ("struct", "tuple", "enum"):
        raise MemoryAccessError("Cannot access memory at address 0x0", address=0)
    if d.kind == "enum":
        d = vm.reader.variant_of(v.value)
        for i, (fname, t) in enumerate(d.fields):
            if fname == name:
                return TypedValue(vm.reader.read_slot(v.value, 1 + i, vm.kinds[t]), t)
    for i, (fname, t) in enumerate(d.fields):
        if fname == name:
            return TypedValue(vm.reader.read_slot(v.value, i, vm.kinds[t]), t)
    raise NoSymbolError(f'There is no member named {name}.',
                        name=name, kind="member", type_name=d.name)


def _index(s: Scope, v: TypedValue, i: TypedValue) -> TypedValue:
    vm = s.vm
    d = vm.types[v.tid]
    if d.kind not in ("vec", "array", "string", "bytes"):
        raise EvaluationError(f"Cannot subscript a value of type {d.name}.")
    try:
        value = rb.index(vm, v.value, i.value, d)
    except VynPanic as p:
        raise EvaluationError(p.message[0].upper() + p.message[1:] + ".") from None
    tid = d.elem if d.kind in ("vec", "array") else _tid(vm, "int", "Int") if d.kind == \
        "bytes" else _tid(vm, "char")
    return TypedValue(value, tid)


_KIND_TO_BUILTIN = {"vec": "Vec", "array": "Array", "string": "String", "bytes": "Bytes",
                    "int": "Int", "float": "Float", "char": "Char", "rune": "Char"}


def _method(s: Scope, recv: TypedValue, name: str, args: list[TypedValue]) -> TypedValue:
    vm = s.vm
    d = vm.types[recv.tid]
    if d.kind == "struct" and name in d.methods:
        fi = d.methods[name]
        return _run(s, fi, [recv.value] + [a.value for a in args])
    if d.kind == "enum":
        base = d.name.split("<")[0]
        key = f"{base}.{name}"
    else:
        key = f"{_KIND_TO_BUILTIN.get(d.kind, d.name)}.{name}"
    if name == "to_string":
        key = "Any.to_string"
    fn = vm.builtins.get(key)
    if fn is None:
        raise NoSymbolError(f"Couldn't find method {d.name}::{name}",
                            name=name, kind="method", type_name=d.name)
    try:
        value = fn(vm, [recv.value] + [a.value for a in args], d)
    except (VynPanic, RuntimeFailure, HeapError) as err:
        raise EvaluationError(f"The method `{name}` failed: {err}.") from None
    return TypedValue(value, _result_tid(vm, d, name, value))


def _result_tid(vm, d, name: str, value) -> int:
    if name in ("len", "sum", "pow", "abs", "min", "max") and isinstance(value, int) and \
            not isinstance(value, bool):
        return _tid(vm, "int", "Int") if d.kind != "float" else d.id
    if isinstance(value, bool):
        return _tid(vm, "bool")
    if isinstance(value, float):
        return _tid(vm, "float")
    if name in ("to_string", "to_upper", "to_lower", "trim", "repeat", "replace", "join"):
        return vm.string_tid
    if name in ("reverse", "clone", "filter"):
        return d.id
    if isinstance(value, int) and value > 0xFFFF and vm.heap.is_live(value):
        # A heap object: its header names its type (an enum value names its variant).
        found = vm.types[vm.desc_of_heap.get(vm.heap.type_of(value), d.id)]
        return found.parent if found.kind == "variant" else found.id
    if d.kind in ("vec", "array") and name in ("remove",):
        return d.elem
    return _tid(vm, "int", "Int") if isinstance(value, int) else d.id


def _call(s: Scope, name: str, args: list[TypedValue]) -> TypedValue:
    funcs = [f for f in find_functions(s.vm.program, name) if f.nparams == len(args)]
    if not funcs:
        named = find_functions(s.vm.program, name)
        if named:
            few = len(args) < named[0].nparams
            raise EvaluationError(f"Too {'few' if few else 'many'} arguments in function call.")
        raise NoSymbolError(f'No symbol "{name}" in current context.', name=name, kind="function")
    return _run(s, funcs[0].index, [a.value for a in args])


def _run(s: Scope, fidx: int, args: list) -> TypedValue:
    fn = s.vm.functions[fidx]
    value = s.session.call_in_program(fidx, args)
    return TypedValue(value, fn.ret_type)


def _cast(s: Scope, v: TypedValue, target: str) -> TypedValue:
    vm = s.vm
    k = _kind(s, v)
    if target in ("Float", "Float64", "Float32"):
        return TypedValue(float(v.value), _tid(vm, "float"))
    if target.startswith(("Int", "UInt")):
        if k == "float":
            x = v.value
            return TypedValue(0 if x != x else max(INT_MIN, min(INT_MAX, int(x))),
                              _tid(vm, "int", "Int"))
        return TypedValue(int(v.value), _tid(vm, "int", "Int"))
    if target in ("Char", "Rune"):
        return TypedValue(int(v.value), _tid(vm, "char" if target == "Char" else "rune"))
    raise EvaluationError(f"Invalid cast to {target}.")
