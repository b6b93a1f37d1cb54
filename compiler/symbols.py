"""What names resolve to: the records the checker attaches to AST nodes (`node.sym`).

Lowering reads these and nothing else to know what a name, call, field or pattern means.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from compiler.span import NO_SPAN, Span
from compiler.types import EnumT, FieldInfo, FnT, StructT, TraitT, Type, VariantInfo

_local_ids = itertools.count(1)


@dataclass(eq=False)
class Local:
    """A variable: `let`/`var` binding, parameter, pattern binding or loop variable."""

    name: str
    type: Type
    mutable: bool
    span: Span
    owner: FnInstance | None          # None for a global
    id: int = field(default_factory=_local_ids.__next__)
    captured: bool = False            # some closure or nested function uses it
    scoped_depth: int = 0             # enclosing `scoped` blocks where it was declared
    region_value: bool = False        # holds an object allocated in its `scoped` block
    is_global: bool = False

    def __repr__(self) -> str:
        return f"Local({self.name}#{self.id}: {self.type})"


@dataclass(eq=False)
class FnInstance:
    """One concrete function: a function, method, nested function or lambda, with every
    template parameter substituted (monomorphized)."""

    name: str                          # display name: `main`, `Pair<Int, String>::swap`
    decl: object                       # ast.FnDecl | ast.Lambda (a private copy if generic)
    params: list[Local]
    ret: Type
    module: str
    parent: FnInstance | None = None   # lexically enclosing function (nested, lambda)
    captures: list[Local] = field(default_factory=list)
    locals: list[Local] = field(default_factory=list)
    self_type: StructT | None = None
    is_async: bool = False
    is_lambda: bool = False
    is_extern: bool = False
    variadic: bool = False
    closure_local: Local | None = None  # for nested named functions: holds the closure
    type_args: tuple[Type, ...] = ()
    span: Span = NO_SPAN
    attrs: tuple[str, ...] = ()
    checked: bool = False
    index: int = -1                    # position in CheckedProgram.functions

    @property
    def fn_type(self) -> FnT:
        ps = tuple([p.type for p in self.params])
        if self.self_type is not None and self.params and self.params[0].name == "self":
            ps = ps[1:]
        return FnT(ps, self.ret)

    def add_capture(self, local: Local) -> None:
        if local not in self.captures:
            self.captures.append(local)
            local.captured = True

    def __repr__(self) -> str:
        return f"FnInstance({self.name})"


@dataclass(frozen=True, eq=False)
class VariantRef:
    """An enum variant used as a value, constructor or pattern."""

    enum: EnumT
    variant: VariantInfo


@dataclass(frozen=True, eq=False)
class Construct:
    """A class/template construction: field values in declaration order."""

    struct: StructT
    values: tuple[object, ...]         # ast.Expr per field (defaults filled in)


@dataclass(frozen=True)
class Builtin:
    """A builtin function or static: `println`, `alloc`, `Channel::bounded`, ..."""

    name: str


@dataclass(frozen=True)
class BuiltinMethod:
    """A method implemented by the runtime: `Vec.push`, `String.len`, `Option.unwrap`."""

    kind: str        # Vec, String, Option, Result, Channel, Actor, Thread, ...
    name: str


@dataclass(frozen=True, eq=False)
class TraitMethod:
    """A method called through `&Trait`: dispatched on the object's class at run time."""

    trait: TraitT
    name: str


@dataclass(frozen=True, eq=False)
class FieldAccess:
    """A class field (`obj.name`) or tuple element (`t.0`)."""

    field: FieldInfo | None
    index: int


@dataclass(frozen=True, eq=False)
class FieldCall:
    """`obj.f(args)` where `f` is a field holding a function value."""

    field: FieldInfo


@dataclass(eq=False)
class CheckedProgram:
    """The checker's output: what lowering to bytecode consumes."""

    modules: list                      # ast.Module, in input order
    functions: list[FnInstance]
    main: FnInstance | None
    structs: list[StructT]
    enums: list[EnumT]
    traits: list[TraitT]
    globals: list[tuple[Local, object]]   # (global, initializer ast.Expr) in order
    sources: dict                      # file name -> SourceFile
