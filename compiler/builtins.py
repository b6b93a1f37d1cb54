"""Signatures of the runtime's builtin methods (Vec, String, Option, Channel, ...).

`method_signature` answers what `recv.name(...)` takes and returns for builtin receiver
types; the VM implements the same table (runtime/builtins).
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.types import (
    BOOL,
    BYTES,
    CHAR,
    FLOAT,
    INT,
    RUNE,
    STRING,
    UNIT,
    ArrayT,
    EnumT,
    FnT,
    Generic,
    PtrT,
    Type,
    TypeVar,
    is_float,
    is_int,
    is_ordered,
    prune,
    vec_of,
)


@dataclass(frozen=True)
class MethodSig:
    kind: str                 # receiver kind: Vec, String, Option, Int, ...
    params: tuple[Type, ...]
    ret: Type


def _sig(kind: str, params: tuple[Type, ...], ret: Type) -> MethodSig:
    return MethodSig(kind, params, ret)


# Signatures that do not depend on the receiver's type arguments, built once.
_TO_STRING = _sig("Any", (), STRING)
_VEC_FIXED = {"len": _sig("Vec", (), INT), "is_empty": _sig("Vec", (), BOOL),
              "clear": _sig("Vec", (), UNIT), "sort": _sig("Vec", (), UNIT)}
_STRING_METHODS = {
    "len": ((), INT), "is_empty": ((), BOOL), "contains": ((STRING,), BOOL),
    "starts_with": ((STRING,), BOOL), "ends_with": ((STRING,), BOOL),
    "to_upper": ((), STRING), "to_lower": ((), STRING), "trim": ((), STRING),
    "split": ((STRING,), vec_of(STRING)), "chars": ((), vec_of(RUNE)),
    "bytes": ((), BYTES), "to_cstr": ((), PtrT(CHAR)), "repeat": ((INT,), STRING),
    "replace": ((STRING, STRING), STRING), "substring": ((INT, INT), STRING),
}
_STRING_FIXED = {name: _sig("String", p, r) for name, (p, r) in _STRING_METHODS.items()}
_BYTES_LEN = _sig("Bytes", (), INT)
_ARRAY_LEN = _sig("Array", (), INT)


def method_signature(recv: Type, name: str, option_of, result_of) -> MethodSig | None:
    """The builtin method `name` on `recv` (already auto-dereferenced), or None.

    `option_of(T)` / `result_of(T, E)` build the prelude's Option/Result instances. Only
    the signature asked for is built, but every Option instance the receiver's whole method
    table mentions is still instantiated, in table order: instantiating a concrete Option
    adds it to the program, so the program does not depend on which method was looked up.
    """
    t = prune(recv)
    if name == "to_string":
        return _TO_STRING
    if isinstance(t, Generic):
        a = t.args[0]
        if t.name == "Vec":
            return _vec_method(a, name, option_of)
        if t.name == "Channel":
            opt = option_of(a)
            table = {"send": ((a,), UNIT), "recv": ((), opt), "close": ((), UNIT),
                     "len": ((), INT), "try_recv": ((), option_of(a))}
        elif t.name in ("Thread", "Task"):
            table = {"join": ((), a), "is_done": ((), BOOL)}
        elif t.name == "ThreadPool":
            table = {"submit": ((FnT((), a),), Generic("Thread", (a,))), "size": ((), INT),
                     "join": ((), UNIT)}
        elif t.name == "Future":
            table = {}
        else:
            return None
        if name in table:
            p, r = table[name]
            return _sig(t.name, p, r)
        return None
    if isinstance(t, EnumT) and t.name in ("Option", "Result") and t.decl is not None:
        a = t.args[0]
        table = {"unwrap": ((), a), "expect": ((STRING,), a), "unwrap_or": ((a,), a)}
        if t.name == "Option":
            table.update({"is_some": ((), BOOL), "is_none": ((), BOOL)})
        else:
            table.update({"is_ok": ((), BOOL), "is_err": ((), BOOL),
                          "ok": ((), option_of(a))})
        if name in table:
            p, r = table[name]
            return _sig(t.name, p, r)
        return None
    if t == STRING:
        opt_int = option_of(INT)
        opt_float = option_of(FLOAT)
        opt_rune = option_of(RUNE)
        if name in _STRING_FIXED:
            return _STRING_FIXED[name]
        if name == "parse_int" or name == "find":
            return _sig("String", () if name == "parse_int" else (STRING,), opt_int)
        if name == "parse_float":
            return _sig("String", (), opt_float)
        if name == "char_at":
            return _sig("String", (INT,), opt_rune)
        return None
    if t == BYTES:
        if name == "len":
            return _BYTES_LEN
        return None
    if isinstance(t, ArrayT):
        if name == "len":
            return _ARRAY_LEN
        return None
    if is_int(t):
        table = {"abs": ((), t), "pow": ((INT,), t), "min": ((t,), t), "max": ((t,), t)}
        if name in table:
            p, r = table[name]
            return _sig("Int", p, r)
        return None
    if is_float(t):
        table = {"abs": ((), t), "sqrt": ((), t), "floor": ((), t), "ceil": ((), t),
                 "round": ((), t), "min": ((t,), t), "max": ((t,), t), "pow": ((t,), t),
                 "is_nan": ((), BOOL)}
        if name in table:
            p, r = table[name]
            return _sig("Float", p, r)
        return None
    if t in (CHAR, RUNE):
        table = {"is_digit": ((), BOOL), "is_alpha": ((), BOOL), "is_whitespace": ((), BOOL),
                 "to_upper": ((), t), "to_lower": ((), t)}
        if name in table:
            p, r = table[name]
            return _sig("Char", p, r)
    return None


def _vec_method(a: Type, name: str, option_of) -> MethodSig | None:
    """`Vec<a>.name`: see method_signature (the table mentions Option<a> and Option<Int>)."""
    opt = option_of(a)
    opt_int = option_of(INT)
    fixed = _VEC_FIXED.get(name)
    if fixed is not None:
        return fixed
    elem = prune(a)
    if name in ("pop", "get", "first", "last"):
        return _sig("Vec", (INT,) if name == "get" else (), opt)
    if name in ("push", "contains"):
        return _sig("Vec", (a,), UNIT if name == "push" else BOOL)
    if name in ("reverse", "clone"):
        return _sig("Vec", (), vec_of(a))
    if name == "map":
        u = TypeVar("map")
        return _sig("Vec", (FnT((a,), u),), vec_of(u))
    if name == "fold":
        u = TypeVar("map")
        return _sig("Vec", (u, FnT((u, a), u)), u)
    if name == "filter":
        return _sig("Vec", (FnT((a,), BOOL),), vec_of(a))
    if name == "insert":
        return _sig("Vec", (INT, a), UNIT)
    if name == "remove":
        return _sig("Vec", (INT,), a)
    if name == "for_each":
        return _sig("Vec", (FnT((a,), UNIT),), UNIT)
    if name == "index_of":
        return _sig("Vec", (a,), opt_int)
    if name == "join" and elem == STRING:
        return _sig("Vec", (STRING,), STRING)
    if name == "sum" and (is_int(elem) or is_float(elem)):
        return _sig("Vec", (), elem)
    if name in ("min", "max") and is_ordered(elem):
        return _sig("Vec", (), opt)
    return None


def method_names(recv: Type, option_of, result_of) -> list[str]:
    """Every builtin method name on `recv` (for suggestions and completion)."""
    probe = ["len", "is_empty", "push", "pop", "map", "filter", "reverse", "contains", "get",
             "first", "last", "insert", "remove", "clear", "sort", "join", "sum", "min", "max",
             "send", "recv", "close", "join", "submit", "unwrap", "expect", "unwrap_or",
             "is_some", "is_none", "is_ok", "is_err", "starts_with", "ends_with", "to_upper",
             "to_lower", "trim", "split", "chars", "bytes", "to_cstr", "abs", "pow", "sqrt",
             "floor", "ceil", "round", "to_string", "repeat", "parse_int", "replace", "find",
             "fold", "for_each", "clone", "index_of", "substring", "char_at"]
    return sorted({n for n in probe if method_signature(recv, n, option_of, result_of)})
