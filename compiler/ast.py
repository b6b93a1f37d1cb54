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
    """A node of the syntax tree, with the source span it came from."""
    span: Span = _span()


# ---------------------------------------------------------------- types (syntax)

@dataclass(eq=True)
class TypeExpr(Node):
    """A type as written in the source."""


@dataclass(eq=True)
class NamedType(TypeExpr):
    """`Int`, `Vec<Int>`, `vyn::sys::Prot`, `ref<T>`, `Self`."""
    path: list[str]
    args: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class TupleType(TypeExpr):
    """`(A, B)`: a tuple type."""
    elems: list[TypeExpr]


@dataclass(eq=True)
class ArrayType(TypeExpr):
    """`[T; N]`: a fixed-size array type."""
    elem: TypeExpr
    size: Expr


@dataclass(eq=True)
class FnType(TypeExpr):
    """`fn(A, B) -> R`: a function type."""
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
    """`42`, `0xff`: an integer literal."""
    value: int


@dataclass(eq=True)
class FloatLit(Expr):
    """`1.5`: a float literal."""
    value: float


@dataclass(eq=True)
class BoolLit(Expr):
    """`true`, `false`."""
    value: bool


@dataclass(eq=True)
class CharLit(Expr):
    """`'a'`: a character literal."""
    value: str


@dataclass(eq=True)
class StringLit(Expr):
    """`"text"`: a string literal."""
    value: str


@dataclass(eq=True)
class NilLit(Expr):
    """`nil`."""


@dataclass(eq=True)
class Name(Expr):
    """A single identifier, optionally with type arguments: `x`, `Pair<Int, String>`."""
    name: str
    type_args: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class PathSegment(Node):
    """One segment of a path: `name` or `name<T, U>`."""
    name: str
    type_args: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class Path(Expr):
    """`a::b::c`, `Channel<Int>::bounded`, `Shape::Circle`."""
    segments: list[PathSegment]


@dataclass(eq=True)
class SelfExpr(Expr):
    """`self`."""


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
    """`left op right`: a binary operation."""
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
    """A call argument: `value` or `name: value`."""
    value: Expr
    name: str | None = None


@dataclass(eq=True)
class Call(Expr):
    """`callee(args)`."""
    callee: Expr
    args: list[Arg]


@dataclass(eq=True)
class MethodCall(Expr):
    """`receiver.method<T>(args)`."""
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
    """`obj[index]`."""
    obj: Expr
    index: Expr


@dataclass(eq=True)
class Cast(Expr):
    """`expr as T`."""
    expr: Expr
    target: TypeExpr


@dataclass(eq=True)
class TupleLit(Expr):
    """`(a, b)`: a tuple."""
    elems: list[Expr]


@dataclass(eq=True)
class ArrayLit(Expr):
    """`[a, b]`: an array."""
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
    """`if cond { then } else { else_ }`: an expression."""
    cond: Expr
    then: Block
    else_: Expr | None = None   # Block or If


@dataclass(eq=True)
class MatchArm(Node):
    """`pattern if guard => body`: one arm of a `match`."""
    pattern: Pattern
    body: Expr
    guard: Expr | None = None


@dataclass(eq=True)
class Match(Expr):
    """`match subject { arms }`."""
    subject: Expr
    arms: list[MatchArm]


@dataclass(eq=True)
class Lambda(Expr):
    """`fn(params) -> ret { body }`: an anonymous function."""
    params: list[Param]
    ret: TypeExpr | None
    body: Block


@dataclass(eq=True)
class Todo(Expr):
    """`...`: a placeholder body; panics "not implemented" when reached."""


@dataclass(eq=True)
class Await(Expr):
    """`expr.await` / `await expr`."""
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
    """`unsafe { body }`."""
    body: Block


# ---------------------------------------------------------------- patterns

@dataclass(eq=True)
class Pattern(Node):
    """A pattern. The checker fills `ty` and `sym` (the bound Local or the enum variant)."""
    ty: object = _note()
    sym: object = _note()


@dataclass(eq=True)
class WildcardPat(Pattern):
    """`_`: matches anything, binds nothing."""


@dataclass(eq=True)
class IdentPat(Pattern):
    """A binding, or a unit enum variant (`None`): the checker decides."""
    name: str
    mutable: bool = False


@dataclass(eq=True)
class LitPat(Pattern):
    """A literal pattern: matches an equal value."""
    value: Expr   # IntLit / FloatLit / BoolLit / CharLit / StringLit (possibly negated)


@dataclass(eq=True)
class TuplePat(Pattern):
    """`(p, q)`: a tuple pattern."""
    elems: list[Pattern]


@dataclass(eq=True)
class VariantPat(Pattern):
    """`Some(v)`, `Shape::Circle(r)`, `Color::Red`."""
    path: list[str]
    args: list[Pattern] | None = None


@dataclass(eq=True)
class RangePat(Pattern):
    """`a..b` / `a..=b`: a range pattern."""
    start: Expr
    end: Expr
    inclusive: bool


@dataclass(eq=True)
class OrPat(Pattern):
    """`p | q`: matches if any alternative does."""
    alts: list[Pattern]


# ---------------------------------------------------------------- statements

@dataclass(eq=True)
class Stmt(Node):
    """A statement."""


@dataclass(eq=True)
class ExprStmt(Stmt):
    """An expression used as a statement."""
    expr: Expr


@dataclass(eq=True)
class Let(Stmt):
    """`let pattern: type = value` (`var` when `mutable`)."""
    pattern: Pattern
    type: TypeExpr | None
    value: Expr | None
    mutable: bool = False


@dataclass(eq=True)
class Assign(Stmt):
    """`target = value`, or compound: `target op= value`."""
    target: Expr
    op: str          # "=", "+=", ...
    value: Expr


@dataclass(eq=True)
class Return(Stmt):
    """`return value`."""
    value: Expr | None = None


@dataclass(eq=True)
class Break(Stmt):
    """`break` (with a value, in `loop`)."""
    value: Expr | None = None


@dataclass(eq=True)
class Continue(Stmt):
    """`continue`."""


@dataclass(eq=True)
class While(Stmt):
    """`while cond { body }`."""
    cond: Expr
    body: Block


@dataclass(eq=True)
class WhileLet(Stmt):
    """`while let pattern = value { body }`."""
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
    """`loop { body }`."""
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
    """`T: Bound + Other`: a type parameter of a template."""
    name: str
    bounds: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class Param(Node):
    """A function parameter: `name: type` (`var name: type` when `mutable`)."""
    name: str
    type: TypeExpr | None
    mutable: bool = False
    sym: object = _note()


@dataclass(eq=True)
class FnDecl(Stmt):
    """`fn name<T>(params) -> ret { body }` (also `async`, `unsafe`, methods)."""
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
    """A field of a class: `name: type = default` (`var` when `mutable`)."""
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
    """`class Name<T>: Traits { fields; methods }`."""
    name: str
    type_params: list[TypeParam]
    fields: list[FieldDecl]
    methods: list[FnDecl]
    traits: list[TypeExpr] = field(default_factory=list)
    attrs: list[Attribute] = field(default_factory=list)


@dataclass(eq=True)
class Variant(Node):
    """A variant of an enum: `Name` or `Name(payload types)`."""
    name: str
    payload: list[TypeExpr] = field(default_factory=list)


@dataclass(eq=True)
class EnumDecl(Stmt):
    """`enum Name<T> { variants }`."""
    name: str
    type_params: list[TypeParam]
    variants: list[Variant]
    attrs: list[Attribute] = field(default_factory=list)


@dataclass(eq=True)
class Import(Stmt):
    """`import a::b` (`as alias`)."""
    path: list[str]
    alias: str | None = None


@dataclass(eq=True)
class ModuleDecl(Stmt):
    """`module name { items }`, or `module name` naming the file's module (items None)."""
    name: str
    items: list[Stmt] | None = None


@dataclass(eq=True)
class ExternBlock(Stmt):
    """`extern "abi" { fn declarations }`."""
    abi: str
    fns: list[FnDecl]
    attrs: list[Attribute] = field(default_factory=list)


@dataclass(eq=True)
class MacroDecl(Stmt):
    """`macro name(params) { body }`."""
    name: str
    params: list[str]
    body: Block


@dataclass(eq=True)
class Module(Node):
    """One source file."""
    file: str
    items: list[Stmt]
