"""The abstract syntax tree. Every node carries its source span.

Spans are excluded from equality (`compare=False`) so that a printed-and-reparsed tree
compares equal to the original. The checker annotates expression nodes in place through
the `ty` slot (not part of equality either) and records resolutions in side tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.span import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(eq=True)
class Node:
    span: Span = _span()


# ---------------------------------------------------------------- types (syntax)

@dataclass(eq=True)
class TypeExpr(Node):
    pass


@dataclass(eq=True)
class NamedType(TypeExpr):
    """`Int`, `Vec<Int>`, `vyn::sys::Prot`, `ref<T>`, `Self`."""
    path: list[str]
    args: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class TupleType(TypeExpr):
    elems: list[TypeExpr]


@dataclass(eq=True)
class ArrayType(TypeExpr):
    elem: TypeExpr
    size: Expr


@dataclass(eq=True)
class FnType(TypeExpr):
    params: list[TypeExpr]
    ret: TypeExpr | None


@dataclass(eq=True)
class RefType(TypeExpr):
    """`&T` / `&mut T`."""
    inner: TypeExpr
    mutable: bool = False


@dataclass(eq=True)
class PtrType(TypeExpr):
    """`*T` (raw pointer, FFI)."""
    inner: TypeExpr


# ---------------------------------------------------------------- expressions

def _note():
    return field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(eq=True)
class Expr(Node):
    """An expression. The checker fills `ty` (its type) and `sym` (what it resolved to)."""
    ty: object = _note()
    sym: object = _note()


@dataclass(eq=True)
class IntLit(Expr):
    value: int


@dataclass(eq=True)
class FloatLit(Expr):
    value: float


@dataclass(eq=True)
class BoolLit(Expr):
    value: bool


@dataclass(eq=True)
class CharLit(Expr):
    value: str


@dataclass(eq=True)
class StringLit(Expr):
    value: str


@dataclass(eq=True)
class NilLit(Expr):
    pass


@dataclass(eq=True)
class Name(Expr):
    """A single identifier, optionally with type arguments: `x`, `Pair<Int, String>`."""
    name: str
    type_args: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class PathSegment(Node):
    name: str
    type_args: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class Path(Expr):
    """`a::b::c`, `Channel<Int>::bounded`, `Shape::Circle`."""
    segments: list[PathSegment]


@dataclass(eq=True)
class SelfExpr(Expr):
    pass


@dataclass(eq=True)
class Unary(Expr):
    """`-x`, `!x`, `~x`, `*p` (deref)."""
    op: str
    operand: Expr


@dataclass(eq=True)
class AddrOf(Expr):
    """`&x`, `&mut x`."""
    operand: Expr
    mutable: bool = False


@dataclass(eq=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=True)
class Range(Expr):
    """`a..<b` (exclusive) or `a..b` (inclusive)."""
    start: Expr
    end: Expr
    inclusive: bool


@dataclass(eq=True)
class Arg(Node):
    value: Expr
    name: str | None = None


@dataclass(eq=True)
class Call(Expr):
    callee: Expr
    args: list[Arg]


@dataclass(eq=True)
class MethodCall(Expr):
    receiver: Expr
    method: str
    args: list[Arg]
    type_args: list[TypeExpr] = field(default_factory=list)
    name_span: Span | None = _note()


@dataclass(eq=True)
class Field(Expr):
    """`obj.name`; tuple fields are `t.0`."""
    obj: Expr
    name: str
    name_span: Span | None = _note()


@dataclass(eq=True)
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass(eq=True)
class Cast(Expr):
    expr: Expr
    target: TypeExpr


@dataclass(eq=True)
class TupleLit(Expr):
    elems: list[Expr]


@dataclass(eq=True)
class ArrayLit(Expr):
    elems: list[Expr]


@dataclass(eq=True)
class MacroCall(Expr):
    """`vec![1, 2]`, `name!(args)`."""
    name: str
    args: list[Expr]
    bracket: bool = False


@dataclass(eq=True)
class Block(Expr):
    """`{ stmts }`; its value is the last statement when that is an expression."""
    stmts: list[Stmt]


@dataclass(eq=True)
class If(Expr):
    cond: Expr
    then: Block
    else_: Expr | None = None   # Block or If


@dataclass(eq=True)
class MatchArm(Node):
    pattern: Pattern
    body: Expr
    guard: Expr | None = None


@dataclass(eq=True)
class Match(Expr):
    subject: Expr
    arms: list[MatchArm]


@dataclass(eq=True)
class Lambda(Expr):
    params: list[Param]
    ret: TypeExpr | None
    body: Block


@dataclass(eq=True)
class Todo(Expr):
    """`...`: a placeholder body; panics "not implemented" when reached."""


@dataclass(eq=True)
class Await(Expr):
    expr: Expr


@dataclass(eq=True)
class Spawn(Expr):
    """`spawn(expr)` / `spawn expr`: start a task."""
    expr: Expr


@dataclass(eq=True)
class ActorNew(Expr):
    """`actor Counter(args)`; `actor[N] Counter(args)` gives the mailbox a capacity."""
    target: TypeExpr
    args: list[Arg]
    capacity: Expr | None = None


@dataclass(eq=True)
class Scoped(Expr):
    """`scoped { ... }`: objects allocated inside are released at exit."""
    body: Block


@dataclass(eq=True)
class Unsafe(Expr):
    body: Block


# ---------------------------------------------------------------- patterns

@dataclass(eq=True)
class Pattern(Node):
    """A pattern. The checker fills `ty` and `sym` (the bound Local or the enum variant)."""
    ty: object = _note()
    sym: object = _note()


@dataclass(eq=True)
class WildcardPat(Pattern):
    pass


@dataclass(eq=True)
class IdentPat(Pattern):
    """A binding, or a unit enum variant (`None`): the checker decides."""
    name: str
    mutable: bool = False


@dataclass(eq=True)
class LitPat(Pattern):
    value: Expr   # IntLit / FloatLit / BoolLit / CharLit / StringLit (possibly negated)


@dataclass(eq=True)
class TuplePat(Pattern):
    elems: list[Pattern]


@dataclass(eq=True)
class VariantPat(Pattern):
    """`Some(v)`, `Shape::Circle(r)`, `Color::Red`."""
    path: list[str]
    args: list[Pattern] | None = None


@dataclass(eq=True)
class RangePat(Pattern):
    start: Expr
    end: Expr
    inclusive: bool


@dataclass(eq=True)
class OrPat(Pattern):
    alts: list[Pattern]


# ---------------------------------------------------------------- statements

@dataclass(eq=True)
class Stmt(Node):
    pass


@dataclass(eq=True)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(eq=True)
class Let(Stmt):
    pattern: Pattern
    type: TypeExpr | None
    value: Expr | None
    mutable: bool = False


@dataclass(eq=True)
class Assign(Stmt):
    target: Expr
    op: str          # "=", "+=", ...
    value: Expr


@dataclass(eq=True)
class Return(Stmt):
    value: Expr | None = None


@dataclass(eq=True)
class Break(Stmt):
    value: Expr | None = None


@dataclass(eq=True)
class Continue(Stmt):
    pass


@dataclass(eq=True)
class While(Stmt):
    cond: Expr
    body: Block


@dataclass(eq=True)
class WhileLet(Stmt):
    pattern: Pattern
    value: Expr
    body: Block


@dataclass(eq=True)
class For(Expr):
    """`for pat in iter { body }`; as a value, the Vec of the body's values (guide 5.3)."""
    pattern: Pattern
    iter: Expr
    body: Block


@dataclass(eq=True)
class Loop(Stmt):
    body: Block


@dataclass(eq=True)
class SpawnFn(Stmt):
    """`spawn fn f() { ... }`: declare and start a task."""
    func: FnDecl


# ---------------------------------------------------------------- declarations

@dataclass(eq=True)
class Attribute(Node):
    """`@test`, `@log_calls`, `#cfg(linux)`."""
    name: str
    args: list[str] = field(default_factory=list)
    hash: bool = False


@dataclass(eq=True)
class TypeParam(Node):
    name: str
    bounds: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class Param(Node):
    name: str
    type: TypeExpr | None
    mutable: bool = False
    sym: object = _note()


@dataclass(eq=True)
class FnDecl(Stmt):
    name: str
    type_params: list[TypeParam]
    params: list[Param]
    ret: TypeExpr | None
    body: Block | None
    is_async: bool = False
    is_unsafe: bool = False
    variadic: bool = False
    attrs: list[Attribute] = field(default_factory=list)
    name_span: Span = _span()
    sym: object = _note()


@dataclass(eq=True)
class FieldDecl(Node):
    name: str
    type: TypeExpr
    default: Expr | None = None
    mutable: bool = True


@dataclass(eq=True)
class TemplateDecl(Stmt):
    """`template Name<T> { fields, methods }`; with only method signatures, a trait."""
    name: str
    type_params: list[TypeParam]
    fields: list[FieldDecl]
    methods: list[FnDecl]
    supers: list[TypeExpr] = field(default_factory=list)
    attrs: list[Attribute] = field(default_factory=list)


@dataclass(eq=True)
class ClassDecl(Stmt):
    name: str
    type_params: list[TypeParam]
    fields: list[FieldDecl]
    methods: list[FnDecl]
    traits: list[TypeExpr] = field(default_factory=list)
    attrs: list[Attribute] = field(default_factory=list)


@dataclass(eq=True)
class Variant(Node):
    name: str
    payload: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class EnumDecl(Stmt):
    name: str
    type_params: list[TypeParam]
    variants: list[Variant]
    attrs: list[Attribute] = field(default_factory=list)


@dataclass(eq=True)
class Import(Stmt):
    path: list[str]
    alias: str | None = None


@dataclass(eq=True)
class ModuleDecl(Stmt):
    """`module name { items }`, or `module name` naming the file's module (items None)."""
    name: str
    items: list[Stmt] | None = None


@dataclass(eq=True)
class ExternBlock(Stmt):
    abi: str
    fns: list[FnDecl]
    attrs: list[Attribute] = field(default_factory=list)


@dataclass(eq=True)
class MacroDecl(Stmt):
    name: str
    params: list[str]
    body: Block


@dataclass(eq=True)
class Module(Node):
    """One source file."""
    file: str
    items: list[Stmt]
