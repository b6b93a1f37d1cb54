"""Scopes and the entries they hold (guide 8.1.2: global, module, class, function, block)."""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.symbols import FnInstance, Local


@dataclass(eq=False)
class FnEntry:
    """A declared function not yet instantiated (templates instantiate per use)."""

    decl: object                 # ast.FnDecl
    scope: Scope                 # where it was declared
    module: str
    parent: FnInstance | None = None
    self_struct: object = None   # StructT for methods
    instances: dict = field(default_factory=dict)   # type-arg tuple -> FnInstance
    extern: bool = False

    @property
    def generic(self) -> bool:
        return bool(self.decl.type_params)


@dataclass(eq=False)
class TypeEntry:
    """A declared class, template, trait or enum."""

    kind: str                    # "class" | "template" | "trait" | "enum"
    decl: object
    scope: Scope
    module: str
    instances: dict = field(default_factory=dict)   # type-arg tuple -> StructT/EnumT/TraitT


@dataclass(eq=False)
class VariantEntry:
    """An enum variant usable by its bare name (`Some`, `Ok`, or a user enum's variant)."""

    type_entry: TypeEntry
    name: str


@dataclass(eq=False)
class ModuleEntry:
    name: str
    scope: Scope


@dataclass(eq=False)
class TypeParamEntry:
    name: str


class Scope:
    """A table of names with a parent; `fn` is the function whose body it belongs to."""

    __slots__ = ("parent", "names", "kind", "fn", "module")

    def __init__(self, parent: Scope | None, kind: str, fn: FnInstance | None = None,
                 module: str | None = None):
        self.parent = parent
        self.names: dict[str, object] = {}
        self.kind = kind
        self.fn = fn if fn is not None or parent is None else parent.fn
        self.module = module if module is not None else (parent.module if parent else "")

    def lookup(self, name: str) -> object | None:
        s: Scope | None = self
        while s is not None:
            entry = s.names.get(name)
            if entry is not None:
                return entry
            s = s.parent
        return None

    def define(self, name: str, entry: object) -> object | None:
        """Define `name`; returns the entry it replaced in this same scope, if any."""
        old = self.names.get(name)
        self.names[name] = entry
        return old

    def all_names(self) -> list[str]:
        out: list[str] = []
        s: Scope | None = self
        while s is not None:
            out.extend(s.names)
            s = s.parent
        return out


def is_local(entry: object) -> bool:
    return isinstance(entry, Local)
