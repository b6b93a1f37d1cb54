"""Semantic types: what the checker assigns to every expression and the VM lowers from.

Primitive and structural types are frozen (hashable, compared by value). Class, enum and
trait types are instances of declarations with concrete type arguments, created once per
(declaration, arguments) and compared by identity. Type variables exist only while a
function is being checked; `resolve` replaces bound ones by what they are bound to.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


class Type:
    """Base of all semantic types."""

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        return type(self).__name__


@dataclass(frozen=True, eq=True)
class Prim(Type):
    """Int, Float, Bool, Char, Rune, String, Bytes, Unit, Never, Range, narrow ints."""

    name: str

    def __eq__(self, other: object) -> bool:
        # Most Prims are the singletons below, so try identity first (hash stays by name).
        return self is other or (type(other) is Prim and self.name == other.name)

    def __str__(self) -> str:
        return "()" if self.name == "Unit" else self.name


INT = Prim("Int")
FLOAT = Prim("Float")
BOOL = Prim("Bool")
CHAR = Prim("Char")
RUNE = Prim("Rune")
STRING = Prim("String")
BYTES = Prim("Bytes")
UNIT = Prim("Unit")
NEVER = Prim("Never")
RANGE = Prim("Range")
NIL = Prim("Nil")

INT_TYPES = {name: Prim(name) for name in (
    "Int", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64")}
INT_TYPES["Int"] = INT
FLOAT_TYPES = {"Float": FLOAT, "Float32": Prim("Float32"), "Float64": Prim("Float64")}
INT_BITS = {"Int": 64, "Int64": 64, "Int32": 32, "Int16": 16, "Int8": 8,
            "UInt64": 64, "UInt32": 32, "UInt16": 16, "UInt8": 8}
PRIMS: dict[str, Prim] = {
    **INT_TYPES, **FLOAT_TYPES, "Bool": BOOL, "Char": CHAR, "Rune": RUNE, "String": STRING,
    "Bytes": BYTES, "Range": RANGE,
}


def is_int(t: Type) -> bool:
    return type(t) is Prim and t.name in INT_BITS


def is_float(t: Type) -> bool:
    return type(t) is Prim and t.name in FLOAT_TYPES


def is_numeric(t: Type) -> bool:
    return type(t) is Prim and (t.name in INT_BITS or t.name in FLOAT_TYPES)


@dataclass(frozen=True, eq=True)
class Generic(Type):
    """A builtin generic type: Vec<T>, Channel<T>, Thread<T>, ThreadPool<T>, Future<T>,
    Task<T>, ref<T>, Actor<T>."""

    name: str
    args: tuple[Type, ...]

    def __str__(self) -> str:
        return f"{self.name}<{', '.join(map(str, self.args))}>"

    @property
    def arg(self) -> Type:
        return self.args[0]


def vec_of(t: Type) -> Generic:
    return Generic("Vec", (t,))


@dataclass(frozen=True, eq=True)
class TupleT(Type):
    elems: tuple[Type, ...]

    def __str__(self) -> str:
        if len(self.elems) == 1:
            return f"({self.elems[0]},)"
        return f"({', '.join(map(str, self.elems))})"


@dataclass(frozen=True, eq=True)
class ArrayT(Type):
    elem: Type
    size: int

    def __str__(self) -> str:
        return f"[{self.elem}; {self.size}]"


@dataclass(frozen=True, eq=True)
class FnT(Type):
    params: tuple[Type, ...]
    ret: Type

    def __str__(self) -> str:
        ps = ", ".join(map(str, self.params))
        return f"fn({ps})" if self.ret == UNIT else f"fn({ps}) -> {self.ret}"


@dataclass(frozen=True, eq=True)
class RefT(Type):
    """`&T` / `&mut T`: a borrowed reference. For class values it is the object itself."""

    inner: Type
    mutable: bool = False

    def __str__(self) -> str:
        return f"&mut {self.inner}" if self.mutable else f"&{self.inner}"


@dataclass(frozen=True, eq=True)
class PtrT(Type):
    inner: Type

    def __str__(self) -> str:
        return f"*{self.inner}"


_ids = itertools.count(1)


@dataclass(eq=False)
class FieldInfo:
    name: str
    type: Type
    mutable: bool
    default: object = None      # ast.Expr or None (checked per instance)
    index: int = 0


@dataclass(eq=False)
class StructT(Type):
    """A class or (non-trait) template instantiated with concrete type arguments."""

    name: str
    args: tuple[Type, ...]
    decl: object                       # ast.ClassDecl | ast.TemplateDecl
    fields: list[FieldInfo] = field(default_factory=list)
    traits: list[TraitT] = field(default_factory=list)
    env: dict[str, Type] = field(default_factory=dict)   # type parameter -> argument
    scope: object = None               # the scope the declaration lives in
    type_id: int = field(default_factory=_ids.__next__)
    is_template: bool = False
    family: object = None              # args -> canonical instance (for inference)
    methods: dict = field(default_factory=dict)   # name -> FnEntry, per instance

    def __str__(self) -> str:
        return f"{self.name}<{', '.join(map(str, self.args))}>" if self.args else self.name

    def __hash__(self) -> int:
        return self.type_id

    def field(self, name: str) -> FieldInfo | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(eq=False)
class VariantInfo:
    name: str
    payload: tuple[Type, ...]
    tag: int


@dataclass(eq=False)
class EnumT(Type):
    name: str
    args: tuple[Type, ...]
    decl: object
    variants: list[VariantInfo] = field(default_factory=list)
    type_id: int = field(default_factory=_ids.__next__)
    family: object = None

    def __str__(self) -> str:
        return f"{self.name}<{', '.join(map(str, self.args))}>" if self.args else self.name

    def __hash__(self) -> int:
        return self.type_id

    def variant(self, name: str) -> VariantInfo | None:
        for v in self.variants:
            if v.name == name:
                return v
        return None


@dataclass(eq=False)
class TraitT(Type):
    """A template holding only method signatures; used through `&Trait`."""

    name: str
    args: tuple[Type, ...]
    decl: object
    env: dict[str, Type] = field(default_factory=dict)
    scope: object = None
    type_id: int = field(default_factory=_ids.__next__)
    family: object = None

    def __str__(self) -> str:
        return f"{self.name}<{', '.join(map(str, self.args))}>" if self.args else self.name

    def __hash__(self) -> int:
        return self.type_id


@dataclass(eq=False)
class ModuleT(Type):
    """The type of a module name used in a path (`utils`, `vyn`)."""

    name: str

    def __str__(self) -> str:
        return f"module {self.name}"


class TypeVar(Type):
    """An inference variable; `ref` is what it is bound to (None while free)."""

    __slots__ = ("id", "ref", "int_literal", "origin")

    def __init__(self, origin: str = "", int_literal: bool = False):
        self.id = next(_ids)
        self.ref: Type | None = None
        self.int_literal = int_literal   # defaults to Int if never bound otherwise
        self.origin = origin

    def __str__(self) -> str:
        r = prune(self)
        return "_" if isinstance(r, TypeVar) else str(r)

    def __repr__(self) -> str:
        return f"?{self.id}"


def prune(t: Type) -> Type:
    """Follow type-variable bindings to the representative type."""
    while type(t) is TypeVar and t.ref is not None:
        t = t.ref
    return t


# The type functions below dispatch on `type(t) is ...`: no class here has subclasses, and
# it is much cheaper than a chain of isinstance calls on these very hot paths.
_NOMINAL = (StructT, EnumT, TraitT)


def resolve(t: Type, default: Type | None = None) -> Type:
    """Replace every bound type variable inside `t`; free ones become `default` if given."""
    while type(t) is TypeVar:
        if t.ref is None:
            if default is not None:
                return INT if t.int_literal else default
            return t
        t = t.ref
    cls = type(t)
    if cls is Prim:
        return t
    if cls is Generic:
        return Generic(t.name, tuple([resolve(a, default) for a in t.args]))
    if cls is TupleT:
        return TupleT(tuple([resolve(a, default) for a in t.elems]))
    if cls is ArrayT:
        return ArrayT(resolve(t.elem, default), t.size)
    if cls is FnT:
        return FnT(tuple([resolve(a, default) for a in t.params]), resolve(t.ret, default))
    if cls is RefT:
        return RefT(resolve(t.inner, default), t.mutable)
    if cls is PtrT:
        return PtrT(resolve(t.inner, default))
    if cls in _NOMINAL and t.args and t.family is not None and any_vars(t.args):
        args = tuple([resolve(a, default) for a in t.args])
        if default is not None or not any_vars(args):
            return t.family(args)
    return t


def has_vars(t: Type) -> bool:
    while type(t) is TypeVar:
        if t.ref is None:
            return True
        t = t.ref
    cls = type(t)
    if cls is Prim:
        return False
    if cls is Generic or cls in _NOMINAL:
        return any_vars(t.args)
    if cls is TupleT:
        return any_vars(t.elems)
    if cls is ArrayT:
        return has_vars(t.elem)
    if cls is FnT:
        return any_vars(t.params) or has_vars(t.ret)
    if cls is RefT or cls is PtrT:
        return has_vars(t.inner)
    return False


def any_vars(ts: tuple[Type, ...]) -> bool:
    """Whether any of `ts` has a free type variable."""
    for a in ts:
        if has_vars(a):
            return True
    return False


def occurs(v: TypeVar, t: Type) -> bool:
    t = prune(t)
    if t is v:
        return True
    cls = type(t)
    if cls is Generic or cls in _NOMINAL:
        return any(occurs(v, a) for a in t.args)
    if cls is TupleT:
        return any(occurs(v, a) for a in t.elems)
    if cls is ArrayT:
        return occurs(v, t.elem)
    if cls is FnT:
        return any(occurs(v, a) for a in t.params) or occurs(v, t.ret)
    if cls is RefT or cls is PtrT:
        return occurs(v, t.inner)
    return False


def unify(a: Type, b: Type) -> bool:
    """Make `a` and `b` the same type by binding type variables; False if impossible."""
    a, b = prune(a), prune(b)
    if a is b:
        return True
    cls = type(a)
    if cls is TypeVar or type(b) is TypeVar:
        v, other = (a, b) if cls is TypeVar else (b, a)
        if type(other) is TypeVar:
            v.int_literal = v.int_literal and other.int_literal
            other.int_literal = v.int_literal
            v.ref = other
            return True
        if v.int_literal and not is_int(other):
            return False
        if occurs(v, other):
            return False
        v.ref = other
        return True
    if cls is not type(b):
        return False
    if cls is Prim:
        return a == b
    if cls is Generic:
        return a.name == b.name and _unify_all(a.args, b.args)
    if cls is TupleT:
        return _unify_all(a.elems, b.elems)
    if cls is ArrayT:
        return a.size == b.size and unify(a.elem, b.elem)
    if cls is FnT:
        return _unify_all(a.params, b.params) and unify(a.ret, b.ret)
    if cls is RefT:
        return a.mutable == b.mutable and unify(a.inner, b.inner)
    if cls is PtrT:
        return unify(a.inner, b.inner)
    if cls in _NOMINAL:
        return a.decl is b.decl and _unify_all(a.args, b.args)
    return a is b


def _unify_all(xs: tuple[Type, ...], ys: tuple[Type, ...]) -> bool:
    """Unify pairwise, left to right, stopping at the first failure."""
    if len(xs) != len(ys):
        return False
    for x, y in zip(xs, ys, strict=True):
        if not unify(x, y):
            return False
    return True


def strip_ref(t: Type) -> Type:
    """`&T` / `&mut T` / `ref<T>` -> T (auto-deref for field access and method calls)."""
    while True:
        cls = type(t)
        if cls is TypeVar and t.ref is not None:
            t = t.ref
        elif cls is RefT:
            t = t.inner
        elif cls is Generic and t.name == "ref":
            t = t.args[0]
        else:
            return t


def is_heap(t: Type) -> bool:
    """Whether values of `t` are references to heap objects (what `free` and GC deal with)."""
    t = strip_ref(t)
    return isinstance(t, StructT | EnumT | TupleT | ArrayT | Generic) or t in (STRING, BYTES) \
        or isinstance(t, FnT)


def mangle(name: str, args: tuple[Type, ...]) -> str:
    return f"{name}<{', '.join(str(resolve(a)) for a in args)}>" if args else name


_ORDERED_PRIMS = frozenset({"Bool", "Char", "Rune", "String", "Bytes", "Unit", "Range"})


def is_ordered(t: Type, _seen: frozenset = frozenset()) -> bool:
    """Whether values of `t` have an ordering (`<`, `sort`, `min`, `max`; docs/values.md):
    numbers, Bool, Char, Rune, String, ranges, and tuples, Vecs, arrays and enums made of
    ordered values. Classes, traits and functions have none."""
    t = prune(t)
    if type(t) is Prim:
        return is_numeric(t) or t.name in _ORDERED_PRIMS
    if isinstance(t, TupleT):
        return all(is_ordered(e, _seen) for e in t.elems)
    if isinstance(t, ArrayT):
        return is_ordered(t.elem, _seen)
    if isinstance(t, Generic):
        return t.name == "Vec" and is_ordered(t.args[0], _seen)
    if isinstance(t, EnumT):
        if t.type_id in _seen:
            return True               # a recursive enum: ordered if the rest is
        seen = _seen | {t.type_id}
        return all(is_ordered(p, seen) for v in t.variants for p in v.payload)
    return False
