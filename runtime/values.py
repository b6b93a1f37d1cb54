"""Reading, printing and comparing Vyn values held in registers and the heap.

Registers hold Python values: int (Int, narrow ints, Char, Rune), float, bool, None (unit)
and int addresses of heap objects. How a value prints follows SEMANTICS.md "Printing".
"""

from __future__ import annotations

import math

from compiler.bytecode import K_BOOL, K_FLOAT, K_INT, K_PTR, K_UNIT, TypeDesc

_KIND_BY_DESC = {"int": K_INT, "char": K_INT, "rune": K_INT, "float": K_FLOAT, "bool": K_BOOL,
                 "unit": K_UNIT, "never": K_UNIT}
HANDLE_KINDS = {"channel": "channel", "actor": "actor", "task": "task", "thread": "thread",
                "pool": "thread pool", "future": "future"}
_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def desc_kind(d: TypeDesc) -> int:
    return _KIND_BY_DESC.get(d.kind, K_PTR)


def format_float(x: float) -> str:
    """Shortest text that reads back to `x`, always with a `.` or an exponent."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    s = repr(x)
    if "e" in s:
        mant, exp = s.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        return f"{mant}e{sign}{digits}"
    return s


def quote_str(s: str) -> str:
    return '"' + "".join(_ESC.get(c, c) for c in s) + '"'


def quote_char(c: str) -> str:
    return "'" + ("\\'" if c == "'" else _ESC.get(c, c)) + "'"


class ValueReader:
    """Reads heap values for printing, comparison and the debugger."""

    def __init__(self, vm):
        self.vm = vm
        self.heap = vm.heap
        self.types = vm.types
        self.kinds = [desc_kind(d) for d in vm.types]

    def read_slot(self, addr: int, slot: int, kind: int):
        h = self.heap
        if kind == K_INT:
            return h.get_i64(addr, slot)
        if kind == K_FLOAT:
            return h.get_f64(addr, slot)
        if kind == K_PTR:
            return h.get_ptr(addr, slot)
        if kind == K_BOOL:
            return bool(h.get_i64(addr, slot))
        return None

    def write_slot(self, addr: int, slot: int, kind: int, v) -> None:
        """Store `v` (held as value kind `kind`) in `slot` of the object at `addr`."""
        h = self.heap
        if kind == K_INT or kind == K_BOOL:
            h.set_i64(addr, slot, int(v) if v is not None else 0)
        elif kind == K_FLOAT:
            h.set_f64(addr, slot, v)
        elif kind == K_PTR:
            h.set_ptr(addr, slot, v or 0)
        else:
            h.set_i64(addr, slot, 0)

    def string(self, addr: int) -> str:
        if not addr:
            return ""
        return self.heap.read_bytes(addr).decode("utf-8", errors="replace")

    def variant_of(self, addr: int) -> TypeDesc:
        return self.types[self.vm.desc_of_heap[self.heap.type_of(addr)]]

    def vec_items(self, addr: int, elem_kind: int, start: int = 0,
                  stop: int | None = None) -> list:
        h = self.heap
        n = h.get_i64(addr, 0)
        data = h.get_ptr(addr, 1)
        read = self.read_slot
        end = n if stop is None else min(n, stop)
        return [read(data, i, elem_kind) for i in range(start, end)]

    def length(self, value, d: TypeDesc) -> int:
        """Number of elements of a vec, array or bytes value."""
        if d.kind == "vec":
            return self.heap.get_i64(value, 0)
        if d.kind == "array":
            return self.heap.slots(value)
        if d.kind == "bytes":
            return self.heap.bytes_len(value)
        return 0

    def items(self, value, d: TypeDesc, start: int = 0, stop: int | None = None) -> list:
        """Elements [start, stop) of a vec or array value (all by default)."""
        if d.kind == "vec":
            return self.vec_items(value, self.kinds[d.elem], start, stop)
        if d.kind == "array":
            k = self.kinds[d.elem]
            n = self.heap.slots(value)
            end = n if stop is None else min(n, stop)
            return [self.read_slot(value, i, k) for i in range(start, end)]
        if d.kind == "bytes":
            return list(self.heap.read_bytes(value))[start:stop]
        return []

    def format(self, value, tid: int, nested: bool = False, depth: int = 0,
               limit: int | None = None) -> str:
        """The text of `value` of type `tid` as println prints it (inside a composite when
        `nested`: strings and chars quoted). `limit` caps the elements shown of each
        collection (the debugger's `print elements`); None shows all."""
        d = self.types[tid]
        k = d.kind
        if k == "int":
            return str(value)
        if k == "float":
            return format_float(value)
        if k == "bool":
            return "true" if value else "false"
        if k in ("char", "rune"):
            c = chr(value) if 0 <= value <= 0x10FFFF else "\ufffd"
            return quote_char(c) if nested else c
        if k == "unit":
            return "()"
        if k == "string":
            s = self.string(value)
            return quote_str(s) if nested else s
        if depth > 64:
            return "..."
        if not value:
            return "null"
        if k in ("vec", "array"):
            el = d.elem
            shown = self.items(value, d, 0, limit)
            text = ", ".join(self.format(v, el, True, depth + 1, limit) for v in shown)
            if limit is not None and self.length(value, d) > limit:
                text += "..."
            return "[" + text + "]"
        if k == "bytes":
            return "[" + ", ".join(str(b) for b in self.heap.read_bytes(value)) + "]"
        if k == "tuple":
            vals = [self.format(self.read_slot(value, i, self.kinds[t]), t, True, depth + 1)
                    for i, (_, t) in enumerate(d.fields)]
            return "(" + ", ".join(vals) + ("," if len(vals) == 1 else "") + ")"
        if k == "struct":
            if not d.fields:
                return f"{d.name} {{}}"
            fmt = self.format
            parts = [f"{name}: {fmt(self.read_slot(value, i, self.kinds[t]), t, True, depth + 1)}"
                     for i, (name, t) in enumerate(d.fields)]
            return f"{d.name} {{ {', '.join(parts)} }}"
        if k == "enum":
            v = self.variant_of(value)
            if not v.fields:
                return v.name
            vals = [self.format(self.read_slot(value, 1 + i, self.kinds[t]), t, True, depth + 1)
                    for i, (_, t) in enumerate(v.fields)]
            return f"{v.name}({', '.join(vals)})"
        if k == "range":
            h = self.heap
            a, b, inc = h.get_i64(value, 0), h.get_i64(value, 1), h.get_i64(value, 2)
            return f"{a}..{b}" if inc else f"{a}..<{b}"
        if k in HANDLE_KINDS:
            return self.handle_name(value, k)
        if k in ("fn", "closure"):
            try:
                fi = self.heap.get_i64(value, 0)
                return f"<fn {self.vm.functions[fi].name}>"
            except Exception:
                return "<fn>"
        return f"<{d.name}>"

    def handle_name(self, addr: int, kind: str) -> str:
        """A handle prints as the name of what it stands for, as the debugger's thread
        and channel lists name it: `actor Pong#3`, `task 2`, `channel #1`."""
        n = self.heap.get_i64(addr, 0)
        sched = self.vm.sched
        try:
            if kind == "actor":
                return sched.fiber(n).name
            if kind in ("task", "thread"):
                return sched.completions[n - 1].name
        except IndexError:
            pass
        return f"{HANDLE_KINDS[kind]} #{n}"

    def equal(self, a, b, tid: int) -> bool:
        """Structural equality (SEMANTICS: composites compare by contents; classes by
        identity)."""
        d = self.types[tid]
        k = d.kind
        if self.kinds[tid] != K_PTR:
            return a == b
        if a == b:
            return True
        if not a or not b:
            return False
        if k in ("string", "bytes"):
            return self.heap.read_bytes(a) == self.heap.read_bytes(b)
        if k in ("vec", "array"):
            xs, ys = self.items(a, d), self.items(b, d)
            return len(xs) == len(ys) and all(self.equal(x, y, d.elem)
                                              for x, y in zip(xs, ys, strict=True))
        if k == "tuple":
            return all(self.equal(self.read_slot(a, i, self.kinds[t]),
                                  self.read_slot(b, i, self.kinds[t]), t)
                       for i, (_, t) in enumerate(d.fields))
        if k == "enum":
            va, vb = self.variant_of(a), self.variant_of(b)
            if va.id != vb.id:
                return False
            return all(self.equal(self.read_slot(a, 1 + i, self.kinds[t]),
                                  self.read_slot(b, 1 + i, self.kinds[t]), t)
                       for i, (_, t) in enumerate(va.fields))
        if k == "range":
            return all(self.heap.get_i64(a, i) == self.heap.get_i64(b, i) for i in range(3))
        return False

    def compare(self, a, b, tid: int) -> int:
        """-1, 0 or 1: the ordering of docs/values.md. Numbers, Bool, Char and Rune by
        value (NaN after every other Float, equal to itself); strings by bytes (code
        point order in UTF-8); tuples, Vecs and arrays lexicographically (a prefix
        first); enum values by the declaration order of their variants, then by
        payload; ranges by (start, end, inclusive). Classes and functions have no
        ordering (the checker rejects ordering them: T2010)."""
        d = self.types[tid]
        k = d.kind
        if k in ("int", "char", "rune", "bool"):
            return (a > b) - (a < b)
        if k == "float":
            an, bn = a != a, b != b
            if an or bn:
                return (an > bn) - (an < bn)
            return (a > b) - (a < b)
        if k == "unit" or a == b:
            return 0
        if k in ("string", "bytes"):
            x, y = self.heap.read_bytes(a), self.heap.read_bytes(b)
            return (x > y) - (x < y)
        if k == "tuple":
            return self._compare_slots(a, b, 0, [t for _, t in d.fields])
        if k in ("enum", "variant"):
            va, vb = self.variant_of(a), self.variant_of(b)
            if va.tag != vb.tag:
                return (va.tag > vb.tag) - (va.tag < vb.tag)
            return self._compare_slots(a, b, 1, [t for _, t in va.fields])
        if k in ("vec", "array"):
            xs, ys = self.items(a, d), self.items(b, d)
            for x, y in zip(xs, ys, strict=False):
                c = self.compare(x, y, d.elem)
                if c:
                    return c
            return (len(xs) > len(ys)) - (len(xs) < len(ys))
        if k == "range":
            h = self.heap
            x = (h.get_i64(a, 0), h.get_i64(a, 1), h.get_i64(a, 2))
            y = (h.get_i64(b, 0), h.get_i64(b, 1), h.get_i64(b, 2))
            return (x > y) - (x < y)
        from runtime.errors import VynPanic

        raise VynPanic(f"values of type `{d.name}` have no ordering")

    def _compare_slots(self, a, b, first: int, tids: list[int]) -> int:
        for i, t in enumerate(tids):
            c = self.compare(self.read_slot(a, first + i, self.kinds[t]),
                             self.read_slot(b, first + i, self.kinds[t]), t)
            if c:
                return c
        return 0

    def sort_key(self, tid: int):
        """A key for Python's sort that orders values of `tid` as `compare` does."""
        k = self.types[tid].kind
        if k in ("int", "char", "rune", "bool"):
            return None
        if k == "float":
            return lambda x: (x != x, x if x == x else 0.0)
        if k in ("string", "bytes"):
            return self.heap.read_bytes
        from functools import cmp_to_key

        return cmp_to_key(lambda x, y: self.compare(x, y, tid))
