"""Runtime type descriptors for semantic types: what the VM needs to allocate, print,
compare and walk values (compiler/bytecode.TypeDesc)."""

from __future__ import annotations

from compiler.bytecode import K_BOOL, K_FLOAT, K_INT, K_PTR, K_UNIT, TypeDesc
from compiler.types import (
    BOOL,
    BYTES,
    CHAR,
    FLOAT_TYPES,
    INT_BITS,
    INT_TYPES,
    NEVER,
    NIL,
    RANGE,
    RUNE,
    STRING,
    UNIT,
    ArrayT,
    EnumT,
    FnT,
    Generic,
    Prim,
    PtrT,
    StructT,
    TraitT,
    TupleT,
    Type,
    TypeVar,
    resolve,
    strip_ref,
)

# Heap layouts (runtime.heap_layout.TypeKind / SlotKind values).
RECORD, ARRAY, BYTES_KIND = 0, 1, 2
SLOT_INT, SLOT_FLOAT, SLOT_PTR, SLOT_BYTES = 0, 1, 2, 3
_SLOT_OF_KIND = {K_INT: SLOT_INT, K_BOOL: SLOT_INT, K_UNIT: SLOT_INT, K_FLOAT: SLOT_FLOAT,
                 K_PTR: SLOT_PTR}


# References and ref<T> are represented by what they refer to.
unref = strip_ref

# The concurrency runtime's handle types and their TypeDesc kinds.
HANDLE_KINDS = {"Channel": "channel", "Actor": "actor", "Task": "task", "Thread": "thread",
                "ThreadPool": "pool", "Future": "future"}


def kind_of(t: Type) -> int:
    """How a value of `t` sits in a register or heap slot."""
    t = unref(t)
    if isinstance(t, Prim):
        if t.name in INT_BITS or t in (CHAR, RUNE):
            return K_INT
        if t.name in FLOAT_TYPES:
            return K_FLOAT
        if t == BOOL:
            return K_BOOL
        if t in (UNIT, NEVER):
            return K_UNIT
        return K_PTR
    if isinstance(t, TypeVar):
        return K_UNIT
    return K_PTR


class TypeTable:
    """Interns TypeDescs; id 0 is a placeholder for "unknown"."""

    def __init__(self) -> None:
        self.descs: list[TypeDesc] = [TypeDesc(0, "?", "unit")]
        self._ids: dict[object, int] = {}
        self.closure_types: dict[int, int] = {}   # function index -> closure TypeDesc id
        # Each type as Vyn source text (`Pair<Int, Int>`, where the TypeDesc says `Pair`),
        # for the debugger to name a variable's type in an expression it compiles.
        self.texts: dict[int, str] = {}
        # Always present, so the debugger can evaluate `n == 3` or `"a" + s` in any program.
        for t in (INT_TYPES["Int"], FLOAT_TYPES["Float"], BOOL, CHAR, RUNE, STRING, UNIT):
            self.tid(t)

    def _key(self, t: Type) -> object:
        if isinstance(t, (StructT, EnumT, TraitT)):
            return ("nominal", t.type_id)
        return t

    def _new(self, **kw) -> TypeDesc:
        d = TypeDesc(len(self.descs), **kw)
        self.descs.append(d)
        return d

    def tid(self, t: Type) -> int:
        """The id of `t`'s TypeDesc, made on first use."""
        n = len(self.descs)
        i = self._tid(t)
        if len(self.descs) > n and i not in self.texts:
            self.texts[i] = str(resolve(unref(t)))
        return i

    def _tid(self, t: Type) -> int:
        t = unref(t)
        key = self._key(t)
        found = self._ids.get(key)
        if found is not None:
            return found
        if isinstance(t, Prim):
            return self._prim(t, key)
        if isinstance(t, TypeVar):
            return self.tid(UNIT)
        if isinstance(t, Generic) and t.name == "Vec":
            d = self._new(name=str(t), kind="vec", heap=(RECORD, (SLOT_INT, SLOT_PTR)))
            self._ids[key] = d.id
            elem = self.tid(t.args[0])
            data = self._new(name=f"{t}.data", kind="vecdata", elem=elem,
                             heap=(ARRAY, (_SLOT_OF_KIND[kind_of(t.args[0])],)))
            d.elem = elem
            d.size = data.id          # for a vec, `size` holds its data array's type id
            return d.id
        if isinstance(t, Generic) and t.name in HANDLE_KINDS:
            # A handle to a runtime object (channel, fiber, pool, future): one Int slot,
            # the object's number in the scheduler. `elem` is the type it carries.
            d = self._new(name=str(t), kind=HANDLE_KINDS[t.name], heap=(RECORD, (SLOT_INT,)))
            self._ids[key] = d.id
            d.elem = self.tid(t.args[0])
            return d.id
        if isinstance(t, ArrayT):
            d = self._new(name=str(t), kind="array", size=t.size,
                          heap=(ARRAY, (_SLOT_OF_KIND[kind_of(t.elem)],)))
            self._ids[key] = d.id
            d.elem = self.tid(t.elem)
            return d.id
        if isinstance(t, TupleT):
            d = self._new(name=str(t), kind="tuple",
                          heap=(RECORD, tuple(_SLOT_OF_KIND[kind_of(e)] for e in t.elems)))
            self._ids[key] = d.id
            d.fields = [(str(i), self.tid(e)) for i, e in enumerate(t.elems)]
            return d.id
        if isinstance(t, StructT):
            d = self._new(name=t.name, kind="struct",
                          heap=(RECORD, tuple(_SLOT_OF_KIND[kind_of(f.type)] for f in t.fields)))
            self._ids[key] = d.id
            d.fields = [(f.name, self.tid(f.type)) for f in t.fields]
            return d.id
        if isinstance(t, EnumT):
            d = self._new(name=str(t), kind="enum")
            self._ids[key] = d.id
            for v in t.variants:
                vd = self._new(name=v.name, kind="variant", tag=v.tag, parent=d.id,
                               heap=(RECORD, (SLOT_INT,) + tuple(
                                   _SLOT_OF_KIND[kind_of(p)] for p in v.payload)))
                d.variants.append(vd.id)
                vd.fields = [(str(i), self.tid(p)) for i, p in enumerate(v.payload)]
            return d.id
        if isinstance(t, FnT):
            d = self._new(name=str(t), kind="fn")
            self._ids[key] = d.id
            return d.id
        if isinstance(t, TraitT):
            d = self._new(name=str(t), kind="trait")
            self._ids[key] = d.id
            return d.id
        if isinstance(t, PtrT):
            d = self._new(name=str(t), kind="opaque")
            self._ids[key] = d.id
            return d.id
        d = self._new(name=str(t), kind="opaque")
        self._ids[key] = d.id
        return d.id

    def _prim(self, t: Prim, key: object) -> int:
        name = t.name
        if name in INT_BITS:
            d = self._new(name=name, kind="int", size=INT_BITS[name],
                          signed=not name.startswith("U"))
        elif name in FLOAT_TYPES:
            d = self._new(name=name, kind="float")
        elif t == BOOL:
            d = self._new(name=name, kind="bool")
        elif t == CHAR:
            d = self._new(name=name, kind="char")
        elif t == RUNE:
            d = self._new(name=name, kind="rune")
        elif t == STRING:
            d = self._new(name=name, kind="string", heap=(BYTES_KIND, ()))
        elif t == BYTES:
            d = self._new(name=name, kind="bytes", heap=(BYTES_KIND, ()))
        elif t == RANGE:
            d = self._new(name=name, kind="range", heap=(RECORD, (SLOT_INT, SLOT_INT, SLOT_INT)))
        elif t == NIL:
            d = self._new(name="nil", kind="opaque")
        else:
            d = self._new(name="()", kind="unit")
        self._ids[key] = d.id
        return d.id

    def closure(self, fn_index: int, name: str, capture_kinds: list[int]) -> int:
        """The heap layout of closures of function `fn_index`: slot 0 the function index,
        then one slot per captured value."""
        found = self.closure_types.get(fn_index)
        if found is not None:
            return found
        d = self._new(name=f"closure {name}", kind="closure", size=fn_index,
                      heap=(RECORD, (SLOT_INT,) + tuple(_SLOT_OF_KIND[k] for k in capture_kinds)))
        self.closure_types[fn_index] = d.id
        return d.id

    def cell(self, kind: int) -> int:
        key = ("cell", kind)
        found = self._ids.get(key)
        if found is not None:
            return found
        d = self._new(name=f"cell<{kind}>", kind="cell", size=kind,
                      heap=(RECORD, (_SLOT_OF_KIND[kind],)))
        self._ids[key] = d.id
        return d.id
