"""The runtime side of builtin methods (compiler/builtins.py gives their signatures).

Each builtin is `fn(vm, args, desc)`: `args` are register values (receiver first), `desc`
the TypeDesc the instruction names (the receiver's type; for `map`, the result's).
"""

from __future__ import annotations

from compiler.bytecode import K_PTR, TypeDesc
from runtime.errors import VynPanic

VEC_LEN, VEC_DATA = 0, 1


class CallRequest(tuple):
    """What a builtin generator yields to have the VM call a closure: (closure, args).
    The generator is resumed with the call's result."""

    __slots__ = ()


def _kind(vm, tid: int) -> int:
    return vm.kinds[tid]


def _store(vm, addr: int, slot: int, kind: int, v) -> None:
    vm.reader.write_slot(addr, slot, kind, v)


def new_vec(vm, items: list, d: TypeDesc) -> int:
    h = vm.heap
    cap = max(4, len(items))
    data = h.alloc(vm.heap_tid[d.size], cap)
    k = _kind(vm, d.elem)
    for i, v in enumerate(items):
        _store(vm, data, i, k, v)
    addr = h.alloc(vm.heap_tid[d.id], 2)
    h.set_i64(addr, VEC_LEN, len(items))
    h.set_ptr(addr, VEC_DATA, data)
    return addr


def vec_items(vm, addr: int, d: TypeDesc) -> list:
    return vm.reader.vec_items(addr, _kind(vm, d.elem))


def vec_push(vm, addr: int, value, d: TypeDesc) -> None:
    h = vm.heap
    n = h.get_i64(addr, VEC_LEN)
    data = h.get_ptr(addr, VEC_DATA)
    cap = h.slots(data)
    k = _kind(vm, d.elem)
    if n >= cap:
        new = h.alloc_beside(addr, vm.heap_tid[d.size], max(4, cap * 2))
        h.copy_slots(data, new, n, k == K_PTR)
        h.set_ptr(addr, VEC_DATA, new)
        data = new
    _store(vm, data, n, k, value)
    h.set_i64(addr, VEC_LEN, n + 1)


def _oob(n: int, i: int) -> VynPanic:
    return VynPanic(f"index out of bounds: the len is {n} but the index is {i}")


def index(vm, obj: int, i: int, d: TypeDesc):
    h = vm.heap
    kind = d.kind
    if kind == "vec":
        n = h.get_i64(obj, VEC_LEN)
        if not 0 <= i < n:
            raise _oob(n, i)
        return vm.reader.read_slot(h.get_ptr(obj, VEC_DATA), i, _kind(vm, d.elem))
    if kind == "array":
        n = h.slots(obj)
        if not 0 <= i < n:
            raise _oob(n, i)
        return vm.reader.read_slot(obj, i, _kind(vm, d.elem))
    if kind in ("string", "bytes"):
        data = h.read_bytes(obj)
        if not 0 <= i < len(data):
            raise _oob(len(data), i)
        return data[i]
    raise VynPanic(f"cannot index a value of type {d.name}")


def set_index(vm, obj: int, i: int, value, d: TypeDesc) -> None:
    h = vm.heap
    if d.kind == "vec":
        n = h.get_i64(obj, VEC_LEN)
        if not 0 <= i < n:
            raise _oob(n, i)
        _store(vm, h.get_ptr(obj, VEC_DATA), i, _kind(vm, d.elem), value)
        return
    if d.kind == "array":
        n = h.slots(obj)
        if not 0 <= i < n:
            raise _oob(n, i)
        _store(vm, obj, i, _kind(vm, d.elem), value)
        return
    raise VynPanic(f"cannot assign into a value of type {d.name}")


def iterate(vm, obj: int, d: TypeDesc):
    """A Python iterator over a range, Vec, array, String (runes) or Bytes."""
    h = vm.heap
    kind = d.kind
    if kind == "range":
        a, b, inc = h.get_i64(obj, 0), h.get_i64(obj, 1), h.get_i64(obj, 2)
        return iter(range(a, b + 1 if inc else b))
    if kind == "vec":
        return _vec_iter(vm, obj, _kind(vm, d.elem))
    if kind == "array":
        k = _kind(vm, d.elem)
        return _held([vm.reader.read_slot(obj, i, k) for i in range(h.slots(obj))])
    if kind == "string":
        return iter([ord(c) for c in vm.reader.string(obj)])
    if kind == "bytes":
        return iter(list(h.read_bytes(obj)))
    raise VynPanic(f"cannot iterate over a value of type {d.name}")


def _held(items: list):
    """An iterator over `items` that the collector's root scan can see into (it reads a
    generator's locals; a list iterator's list is hidden)."""
    yield from items


def _vec_iter(vm, addr: int, k: int, i: int = 0):
    """The Vec at `addr` from index `i`, its length read at every step. While it waits
    at a yield, its local `i` is the next index (`iter_position` reads it)."""
    h = vm.heap
    read = vm.reader.read_slot
    while i < h.get_i64(addr, VEC_LEN):
        i += 1
        yield read(h.get_ptr(addr, VEC_DATA), i - 1, k)


_U64 = (1 << 64) - 1


def resume_iter(vm, d: TypeDesc, obj: int, w0: int, w1: int):
    """The interpreter's iterator for native code's (compiler/native.py K_ITER): over a
    range, `w0` is the next value and `w1` how many are left (unsigned); over a Vec at
    `obj`, `w0` is the next index."""
    if d.kind == "vec":
        return _vec_iter(vm, obj, _kind(vm, d.elem), w0)
    return iter(range(w0, w0 + (w1 & _U64)))


def iter_position(it, d: TypeDesc) -> tuple[int, int, int] | None:
    """`resume_iter`'s (obj, w0, w1) for an iterator `iterate` made over a value of type
    `d` (a range or a Vec), or None if it is not one."""
    if d.kind == "vec":
        frame = getattr(it, "gi_frame", None)
        if getattr(it, "gi_code", None) is not _vec_iter.__code__ or frame is None:
            return None
        f_locals = frame.f_locals
        return f_locals["addr"], f_locals["i"], 0
    try:
        _, (r,), index = it.__reduce__()
    except (TypeError, ValueError, AttributeError):
        return None
    if type(r) is not range or r.step != 1:
        return None
    left = r.stop - r.start - index
    if left <= 0:
        return 0, 0, 0
    return 0, r.start + index, min(left, _U64)


# ---------------------------------------------------------------- Option / Result

def _variant(vm, enum: TypeDesc, name: str, payload: list) -> int:
    for vid in enum.variants:
        v = vm.types[vid]
        if v.name == name:
            addr = vm.heap.alloc(vm.heap_tid[vid], 1 + len(payload))
            vm.heap.set_i64(addr, 0, v.tag)
            for i, (_, t) in enumerate(v.fields):
                _store(vm, addr, 1 + i, _kind(vm, t), payload[i])
            return addr
    raise VynPanic(f"internal: no variant {name} in {enum.name}")


def make_option(vm, elem_tid: int, value, present: bool) -> int:
    d = vm.option_type(elem_tid)
    if d is None:
        raise VynPanic("internal: Option type missing from the image")
    return _variant(vm, d, "Some", [value]) if present else _variant(vm, d, "None", [])


def _unwrap(vm, args, d: TypeDesc, message: str | None = None):
    addr = args[0]
    v = vm.reader.variant_of(addr)
    if v.name in ("Some", "Ok"):
        return vm.reader.read_slot(addr, 1, _kind(vm, v.fields[0][1]))
    if message is not None:
        raise VynPanic(message)
    if v.name == "None":
        raise VynPanic("called unwrap on None")
    err = vm.reader.format(vm.reader.read_slot(addr, 1, _kind(vm, v.fields[0][1])),
                           v.fields[0][1], nested=True)
    raise VynPanic(f"called unwrap on Err: {err}")


def _is(name: str):
    def check(vm, args, d):
        return vm.reader.variant_of(args[0]).name == name
    return check


def _unwrap_or(vm, args, d):
    v = vm.reader.variant_of(args[0])
    if v.name in ("Some", "Ok"):
        return vm.reader.read_slot(args[0], 1, _kind(vm, v.fields[0][1]))
    return args[1]


def _ok(vm, args, d):
    v = vm.reader.variant_of(args[0])
    some_t = vm.types[d.variants[0]].fields[0][1]
    if v.name == "Ok":
        return make_option(vm, some_t, vm.reader.read_slot(args[0], 1, _kind(vm, some_t)), True)
    return make_option(vm, some_t, None, False)


# ---------------------------------------------------------------- Vec

# Builtins that call closures are generators: each `yield CallRequest((closure, args))`
# has the VM call the closure in its own loop (a frame like any other, counted as a
# reduction) and resumes with the closure's value.

def _vec_map(vm, args, result: TypeDesc):
    vec, fn = args
    src_t = vm.types[vm.desc_of_heap[vm.heap.type_of(vec)]]
    out = []
    for x in vec_items(vm, vec, src_t):
        out.append((yield CallRequest((fn, [x]))))
    return new_vec(vm, out, result)


def _vec_filter(vm, args, d):
    out = []
    for x in vec_items(vm, args[0], d):
        if (yield CallRequest((args[1], [x]))):
            out.append(x)
    return new_vec(vm, out, d)


def _vec_pop(vm, args, d):
    h = vm.heap
    n = h.get_i64(args[0], VEC_LEN)
    if n == 0:
        return make_option(vm, d.elem, None, False)
    v = vm.reader.read_slot(h.get_ptr(args[0], VEC_DATA), n - 1, _kind(vm, d.elem))
    h.set_i64(args[0], VEC_LEN, n - 1)
    return make_option(vm, d.elem, v, True)


def _vec_get(vm, args, d):
    n = vm.heap.get_i64(args[0], VEC_LEN)
    i = args[1]
    if 0 <= i < n:
        return make_option(vm, d.elem, index(vm, args[0], i, d), True)
    return make_option(vm, d.elem, None, False)


def _vec_end(last: bool):
    def f(vm, args, d):
        n = vm.heap.get_i64(args[0], VEC_LEN)
        if n == 0:
            return make_option(vm, d.elem, None, False)
        return make_option(vm, d.elem, index(vm, args[0], n - 1 if last else 0, d), True)
    return f


def _vec_set_items(vm, addr: int, d: TypeDesc, items: list) -> None:
    h = vm.heap
    data = h.alloc_beside(addr, vm.heap_tid[d.size], max(4, len(items)))
    k = _kind(vm, d.elem)
    for i, v in enumerate(items):
        _store(vm, data, i, k, v)
    h.set_ptr(addr, VEC_DATA, data)
    h.set_i64(addr, VEC_LEN, len(items))


def _vec_insert(vm, args, d):
    items = vec_items(vm, args[0], d)
    i = args[1]
    if not 0 <= i <= len(items):
        raise _oob(len(items), i)
    items.insert(i, args[2])
    _vec_set_items(vm, args[0], d, items)


def _vec_remove(vm, args, d):
    items = vec_items(vm, args[0], d)
    i = args[1]
    if not 0 <= i < len(items):
        raise _oob(len(items), i)
    v = items.pop(i)
    _vec_set_items(vm, args[0], d, items)
    return v


def _vec_sort(vm, args, d):
    """A stable sort in the ordering of docs/values.md."""
    items = vec_items(vm, args[0], d)
    items.sort(key=vm.reader.sort_key(d.elem))
    _vec_set_items(vm, args[0], d, items)


def _vec_contains(vm, args, d):
    return any(vm.reader.equal(x, args[1], d.elem) for x in vec_items(vm, args[0], d))


def _vec_index_of(vm, args, d):
    for i, x in enumerate(vec_items(vm, args[0], d)):
        if vm.reader.equal(x, args[1], d.elem):
            return make_option(vm, _int_tid(vm), i, True)
    return make_option(vm, _int_tid(vm), None, False)


def _int_tid(vm) -> int:
    return vm.type_id("int", "Int")





def _vec_extreme(pick):
    def f(vm, args, d):
        items = vec_items(vm, args[0], d)
        if not items:
            return make_option(vm, d.elem, None, False)
        return make_option(vm, d.elem, pick(items, key=vm.reader.sort_key(d.elem)), True)
    return f


def _vec_join(vm, args, d):
    sep = vm.reader.string(args[1])
    return vm.new_string(sep.join(vm.reader.string(x) for x in vec_items(vm, args[0], d)))


def _vec_fold(vm, args, d):
    acc = args[1]
    for x in vec_items(vm, args[0], d):
        acc = yield CallRequest((args[2], [acc, x]))
    return acc


def _vec_for_each(vm, args, d):
    for x in vec_items(vm, args[0], d):
        yield CallRequest((args[1], [x]))


def _vec_sum(vm, args, d):
    items = vec_items(vm, args[0], d)
    if vm.types[d.elem].kind == "float":
        return float(sum(items))
    v = sum(items)
    return ((v + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)


# ---------------------------------------------------------------- String

def _s(vm, a: int) -> str:
    return vm.reader.string(a)


def _split(vm, args, d):
    parts = _s(vm, args[0]).split(_s(vm, args[1])) if _s(vm, args[1]) else list(
        _s(vm, args[0]))
    vec_t = vm.vec_type("string")
    return new_vec(vm, [vm.new_string(p) for p in parts], vec_t)


def _chars(vm, args, d):
    vec_t = vm.vec_type("rune")
    return new_vec(vm, [ord(c) for c in _s(vm, args[0])], vec_t)


def _parse_int(vm, args, d):
    text = _s(vm, args[0]).strip()
    try:
        v = int(text, 10)
        ok = -(1 << 63) <= v < (1 << 63)
    except ValueError:
        v, ok = None, False
    return make_option(vm, _int_tid(vm), v if ok else None, ok)


def _parse_float(vm, args, d):
    try:
        v, ok = float(_s(vm, args[0]).strip()), True
    except ValueError:
        v, ok = None, False
    ftid = vm.type_id("float")
    return make_option(vm, ftid, v, ok)


def _find(vm, args, d):
    s, sub = vm.heap.read_bytes(args[0]), vm.heap.read_bytes(args[1])
    i = s.find(sub)
    return make_option(vm, _int_tid(vm), i if i >= 0 else None, i >= 0)


def _substring(vm, args, d):
    data = vm.heap.read_bytes(args[0])
    a, b = args[1], args[2]
    if not 0 <= a <= b <= len(data):
        raise VynPanic(f"substring range {a}..<{b} is out of bounds for a string of "
                       f"length {len(data)}")
    return vm.heap.alloc_bytes(vm.heap_tid[vm.string_tid], data[a:b])


def _char_at(vm, args, d):
    s = _s(vm, args[0])
    rt = vm.type_id("rune")
    i = args[1]
    ok = 0 <= i < len(s)
    return make_option(vm, rt, ord(s[i]) if ok else None, ok)


def _to_string(vm, args, d):
    return vm.new_string(vm.reader.format(args[0], d.id))


def _bytes_from(vm, args, d):
    return vm.heap.alloc_bytes(vm.heap_tid[d.id], bytes(int(x) & 0xFF for x in args))


def _int_pow(vm, args, d):
    v = args[0] ** args[1] if args[1] >= 0 else 0
    return ((v + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)


def _len(vm, args, d):
    h = vm.heap
    if d.kind == "vec":
        return h.get_i64(args[0], VEC_LEN)
    if d.kind == "array":
        return h.slots(args[0])
    return h.bytes_len(args[0])


BUILTINS = {
    "Vec.len": _len, "Array.len": _len, "String.len": _len, "Bytes.len": _len,
    "Vec.is_empty": lambda vm, a, d: _len(vm, a, d) == 0,
    "String.is_empty": lambda vm, a, d: _len(vm, a, d) == 0,
    "Vec.push": lambda vm, a, d: vec_push(vm, a[0], a[1], d),
    "Vec.pop": _vec_pop,
    "Vec.reverse": lambda vm, a, d: new_vec(vm, vec_items(vm, a[0], d)[::-1], d),
    "Vec.clone": lambda vm, a, d: new_vec(vm, vec_items(vm, a[0], d), d),
    "Vec.contains": _vec_contains, "Vec.get": _vec_get, "Vec.first": _vec_end(False),
    "Vec.last": _vec_end(True), "Vec.insert": _vec_insert, "Vec.remove": _vec_remove,
    "Vec.clear": lambda vm, a, d: vm.heap.set_i64(a[0], VEC_LEN, 0),
    "Vec.sort": _vec_sort, "Vec.join": _vec_join, "Vec.sum": _vec_sum,
    "Vec.min": _vec_extreme(min), "Vec.max": _vec_extreme(max),
    "Vec.index_of": _vec_index_of,
    "Option.unwrap": _unwrap, "Result.unwrap": _unwrap,
    "Option.expect": lambda vm, a, d: _unwrap(vm, a[:1], d, _s(vm, a[1])),
    "Result.expect": lambda vm, a, d: _unwrap(vm, a[:1], d, _s(vm, a[1])),
    "Option.unwrap_or": _unwrap_or, "Result.unwrap_or": _unwrap_or,
    "Option.is_some": _is("Some"), "Option.is_none": _is("None"),
    "Result.is_ok": _is("Ok"), "Result.is_err": _is("Err"), "Result.ok": _ok,
    "String.contains": lambda vm, a, d: vm.heap.read_bytes(a[1]) in vm.heap.read_bytes(a[0]),
    "String.starts_with": lambda vm, a, d: _s(vm, a[0]).startswith(_s(vm, a[1])),
    "String.ends_with": lambda vm, a, d: _s(vm, a[0]).endswith(_s(vm, a[1])),
    "String.to_upper": lambda vm, a, d: vm.new_string(_s(vm, a[0]).upper()),
    "String.to_lower": lambda vm, a, d: vm.new_string(_s(vm, a[0]).lower()),
    "String.trim": lambda vm, a, d: vm.new_string(_s(vm, a[0]).strip()),
    "String.repeat": lambda vm, a, d: vm.new_string(_s(vm, a[0]) * max(0, a[1])),
    "String.replace": lambda vm, a, d: vm.new_string(_s(vm, a[0]).replace(_s(vm, a[1]),
                                                                          _s(vm, a[2]))),
    "String.split": _split, "String.chars": _chars, "String.parse_int": _parse_int,
    "String.parse_float": _parse_float, "String.find": _find,
    "String.substring": _substring, "String.char_at": _char_at,
    "String.bytes": lambda vm, a, d: vm.heap.alloc_bytes(
        vm.heap_tid[vm.type_id("bytes")],
        vm.heap.read_bytes(a[0])),
    "Any.to_string": _to_string, "Bytes.from": _bytes_from,
    "Int.abs": lambda vm, a, d: abs(a[0]) if a[0] != -(1 << 63) else a[0],
    "Int.pow": _int_pow, "Int.min": lambda vm, a, d: min(a[0], a[1]),
    "Int.max": lambda vm, a, d: max(a[0], a[1]),
    "Float.abs": lambda vm, a, d: abs(a[0]), "Float.sqrt": lambda vm, a, d: _sqrt(a[0]),
    "Float.floor": lambda vm, a, d: float(__import__("math").floor(a[0])),
    "Float.ceil": lambda vm, a, d: float(__import__("math").ceil(a[0])),
    "Float.round": lambda vm, a, d: float(round(a[0])),
    "Float.min": lambda vm, a, d: min(a[0], a[1]), "Float.max": lambda vm, a, d: max(a[0], a[1]),
    "Float.pow": lambda vm, a, d: _fpow(a[0], a[1]),
    "Float.is_nan": lambda vm, a, d: a[0] != a[0],
    "Char.is_digit": lambda vm, a, d: chr(a[0]).isdigit(),
    "Char.is_alpha": lambda vm, a, d: chr(a[0]).isalpha(),
    "Char.is_whitespace": lambda vm, a, d: chr(a[0]).isspace(),
    "Char.to_upper": lambda vm, a, d: ord(chr(a[0]).upper()[0]),
    "Char.to_lower": lambda vm, a, d: ord(chr(a[0]).lower()[0]),
}


def _sqrt(x: float) -> float:
    return x ** 0.5 if x >= 0 else float("nan")


def _fpow(a: float, b: float) -> float:
    try:
        return float(a ** b) if not isinstance(a ** b, complex) else float("nan")
    except (OverflowError, ZeroDivisionError):
        return float("inf")

# Generators (see CallRequest above); the VM drives them.
GENERATORS = {
    "Vec.map": _vec_map, "Vec.filter": _vec_filter, "Vec.fold": _vec_fold,
    "Vec.for_each": _vec_for_each,
}
