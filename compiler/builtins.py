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


def method_signature(recv: Type, name: str, option_of, result_of) -> MethodSig | None:
    """The builtin method `name` on `recv` (already auto-dereferenced), or None.

    `option_of(T)` / `result_of(T, E)` build the prelude's Option/Result instances.
    """
    t = prune(recv)
    if name == "to_string":
        return _sig("Any", (), STRING)
    if isinstance(t, Generic):
        a = t.args[0]
        if t.name == "Vec":
            u = TypeVar("map")
            table = {
                "len": ((), INT), "is_empty": ((), BOOL), "push": ((a,), UNIT),
                "pop": ((), option_of(a)), "map": ((FnT((a,), u),), vec_of(u)),
                "filter": ((FnT((a,), BOOL),), vec_of(a)), "reverse": ((), vec_of(a)),
                "contains": ((a,), BOOL), "get": ((INT,), option_of(a)),
                "first": ((), option_of(a)), "last": ((), option_of(a)),
                "insert": ((INT, a), UNIT), "remove": ((INT,), a), "clear": ((), UNIT),
                "sort": ((), UNIT), "clone": ((), vec_of(a)),
                "for_each": ((FnT((a,), UNIT),), UNIT),
                "fold": ((u, FnT((u, a), u)), u),
                "index_of": ((a,), option_of(INT)),
            }
            if prune(a) == STRING:
                table["join"] = ((STRING,), STRING)
            if is_int(prune(a)) or is_float(prune(a)):
                table["sum"] = ((), prune(a))
                table["min"] = ((), option_of(a))
                table["max"] = ((), option_of(a))
            if name in table:
                p, r = table[name]
                return _sig("Vec", p, r)
            return None
        if t.name == "Channel":
            table = {"send": ((a,), UNIT), "recv": ((), option_of(a)), "close": ((), UNIT),
                     "len": ((), INT), "try_recv": ((), option_of(a))}
        elif t.name in ("Thread", "Task"):
            table = {"join": ((), a), "is_done": ((), BOOL)}
        elif t.name == "ThreadPool":
            table = {"submit": ((FnT((), a),), Generic("Thread", (a,))), "size": ((), INT)}
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
        table = {
            "len": ((), INT), "is_empty": ((), BOOL), "contains": ((STRING,), BOOL),
            "starts_with": ((STRING,), BOOL), "ends_with": ((STRING,), BOOL),
            "to_upper": ((), STRING), "to_lower": ((), STRING), "trim": ((), STRING),
            "split": ((STRING,), vec_of(STRING)), "chars": ((), vec_of(RUNE)),
            "bytes": ((), BYTES), "to_cstr": ((), PtrT(CHAR)), "repeat": ((INT,), STRING),
            "parse_int": ((), option_of(INT)), "parse_float": ((), option_of(FLOAT)),
            "replace": ((STRING, STRING), STRING), "find": ((STRING,), option_of(INT)),
            "substring": ((INT, INT), STRING), "char_at": ((INT,), option_of(RUNE)),
        }
        if name in table:
            p, r = table[name]
            return _sig("String", p, r)
        return None
    if t == BYTES:
        if name == "len":
            return _sig("Bytes", (), INT)
        return None
    if isinstance(t, ArrayT):
        if name == "len":
            return _sig("Array", (), INT)
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
