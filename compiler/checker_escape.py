"""The escape rule of `scoped { }` blocks (SEMANTICS.md, "Memory"; docs/errors.md, B3000).

Every object allocated while a `scoped` block runs belongs to the block's region and is
released when the block exits. A value that is, or contains, such a *region object* must
not outlive the block: it must not be stored anywhere that lives longer, returned, sent
away, or be the block's own value.

The rule is checked on types, after a function's types are resolved, by one analysis per
function (its nested functions and lambdas included) that contains a `scoped` block:

- A value gets a *taint*: None when its type cannot hold a reference (`Int`, `Float`,
  `Bool`, `Char`, `Rune`, `()`, raw pointers, and tuples/enums of only those), else a pair
  `(lo, hi)` of block depths. `hi` is the innermost `scoped` block whose region the value
  may hold an object of (0: none, the object was allocated outside every block); `lo` is
  the outermost depth the value itself may come from, which is what matters when
  something is stored *into* it.
- Anything that allocates (a construction, `alloc`, a variant, a tuple, `vec!`, an array,
  a closure, a function value, a string built with `+`, and the result of any call or
  builtin method, save the few that hand back a part of their receiver: `unwrap`,
  `expect`, `unwrap_or`, `Vec.remove`) is a region object of the innermost enclosing
  block. String literals are constants, never region objects.
- A local's taint is the union of every value bound or assigned to it (flow-insensitive,
  computed to a fixed point), clipped to the depth it is declared at. Parameters of a
  function or lambda declared at depth d have (0, d); a part of a value (a field, an
  element, a pattern binding inside it) has (0, hi) of the whole.
- A value escapes when its `hi` is deeper than where it goes: a variable (the depth it
  was declared at), a field or element of an object (that object's `lo`), a `Vec` it is
  pushed or inserted into, a channel it is sent to (its `lo`), an actor (0: the actor
  handles it later), `return` (the depth of the function's declaration), or the value of
  a `scoped` block of depth d (d - 1).

What a called function does with its arguments is not followed: passing a region object
to a function that stores it is caught at run time ("dangling reference").
"""

from __future__ import annotations

from compiler import ast
from compiler.diagnostics import Label
from compiler.span import Span
from compiler.symbols import Builtin, BuiltinMethod, Construct, FnInstance, Local, VariantRef
from compiler.types import (
    BYTES,
    STRING,
    UNIT,
    ArrayT,
    EnumT,
    FnT,
    Generic,
    Prim,
    RefT,
    StructT,
    TraitT,
    TupleT,
    Type,
    TypeVar,
    prune,
)

Taint = tuple[int, int] | None

# Builtin methods whose result is a part of the receiver (or an argument), not a new
# object: (kind, name).
PROJECTIONS = frozenset({("Option", "unwrap"), ("Option", "expect"), ("Option", "unwrap_or"),
                         ("Result", "unwrap"), ("Result", "expect"), ("Result", "unwrap_or"),
                         ("Vec", "remove")})
NOTE = "objects allocated inside `scoped { }` are released when the block exits"
HELP = ("allocate it before the `scoped` block, or take only plain values (`Int`, `Float`, "
        "`Bool`, ...) out of the block")
MAX_ROUNDS = 50


def holds_ref(t: Type | None, _seen: set | None = None) -> bool:
    """Whether a value of type `t` is, or may contain, a reference to a heap object."""
    t = prune(t) if t is not None else None
    cls = type(t)
    if cls is Prim:
        return t == STRING or t == BYTES
    if cls is TupleT:
        return any(holds_ref(e, _seen) for e in t.elems)
    if cls is EnumT:
        seen = _seen if _seen is not None else set()
        if t in seen:
            return False
        seen.add(t)
        return any(holds_ref(p, seen) for v in t.variants for p in v.payload)
    if cls is RefT:
        return holds_ref(t.inner, _seen)
    return cls in (StructT, TraitT, Generic, ArrayT, FnT)


def join(a: Taint, b: Taint) -> Taint:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def part(t: Taint) -> Taint:
    """A field, element or payload of a value tainted `t`."""
    return None if t is None else (0, t[1])


def clip(t: Taint, depth: int) -> Taint:
    return None if t is None else (min(t[0], depth), min(t[1], depth))


def keyword_span(node: ast.Scoped) -> Span:
    s = node.span
    return Span(s.file, s.start, s.start + 6, s.line, s.col, s.line, s.col + 6)


class EscapeAnalysis:
    """One run over a function body (or a global's initializer); reports B3000."""

    def __init__(self, checker):
        self.checker = checker
        self.taint: dict[Local, Taint] = {}
        self.decl_depth: dict[Local, int] = {}
        self.ref_cache: dict = {}
        self.report = False
        self.changed = False
        self.depth = 0
        self.blocks: list[ast.Scoped] = []
        self.ret_depth = 0

    # ------------------------------------------------------------ entry points

    def run_fn(self, inst: FnInstance) -> None:
        self.fixpoint(lambda: self.fn_body(inst, inst.params))

    def run_expr(self, e: ast.Expr) -> None:
        self.fixpoint(lambda: self.ev(e, True))

    def fixpoint(self, walk) -> None:
        for _ in range(MAX_ROUNDS):
            self.changed = False
            self.depth, self.blocks, self.ret_depth = 0, [], 0
            walk()
            if not self.changed:
                break
        self.report = True
        self.depth, self.blocks, self.ret_depth = 0, [], 0
        walk()

    # ------------------------------------------------------------ taints

    def holds(self, t: Type | None) -> bool:
        if t is None or type(prune(t)) is TypeVar:
            return False
        try:
            r = self.ref_cache.get(t)
        except TypeError:   # an unhashable type: compute it every time
            return holds_ref(t)
        if r is None:
            r = self.ref_cache[t] = holds_ref(t)
        return r

    def fresh(self) -> Taint:
        return (self.depth, self.depth)

    def bind_local(self, local: Local, t: Taint) -> None:
        if local not in self.decl_depth:
            self.decl_depth[local] = self.depth
        self.add(local, t)

    def add(self, local: Local, t: Taint) -> None:
        if t is None or not self.holds(local.type):
            return
        old = self.taint.get(local)
        new = join(old, clip(t, self.decl_depth.get(local, 0)))
        if new != old:
            self.taint[local] = new
            self.changed = True

    def local_taint(self, local: Local) -> Taint:
        if local.is_global or local not in self.decl_depth:
            return (0, 0)
        return self.taint.get(local)

    def home(self, t: Taint) -> int:
        """The depth of the object a store writes into (0 when unknown)."""
        return t[0] if t is not None else 0

    # ------------------------------------------------------------ errors

    def escape(self, value: ast.Expr, t: Taint, limit: int, how: str) -> None:
        """Report `value` (tainted `t`) if it may hold an object of a block deeper than
        `limit`, the depth of where it goes."""
        if t is None or t[1] <= limit or not self.report or not self.blocks:
            return
        block = self.blocks[min(t[1], len(self.blocks)) - 1]
        node = value
        while isinstance(node, ast.Block) and node.stmts and isinstance(node.stmts[-1],
                                                                        ast.ExprStmt):
            node = node.stmts[-1].expr
        verb = "refers to" if t[0] == t[1] else "may refer to"
        if isinstance(node, ast.Name) and isinstance(node.sym, Local):
            what = f"`{node.name}` {verb}"
        else:
            what = f"this value {verb}"
        self.checker.err(
            "B3000", f"{what} an object allocated in a `scoped` block and escapes it: "
            f"it is {how}", node.span, "escapes the `scoped` block",
            secondary=(Label(keyword_span(block), "the object is allocated in this `scoped` "
                             "block"),),
            notes=(NOTE,), suggestion=HELP)

    # ------------------------------------------------------------ functions and blocks

    def fn_body(self, inst: FnInstance, params: list[Local]) -> None:
        decl = inst.decl
        if decl is None or getattr(decl, "body", None) is None:
            return
        saved = self.ret_depth
        self.ret_depth = self.depth
        for p in params:
            self.bind_local(p, (0, self.depth))
        ret = prune(inst.ret) if inst.ret is not None else UNIT
        self.block(decl.body, ret != UNIT)
        self.ret_depth = saved

    def block(self, b: ast.Block, used: bool) -> Taint:
        stmts = b.stmts
        last = len(stmts) - 1
        result: Taint = None
        for i, s in enumerate(stmts):
            if type(s) is ast.ExprStmt:
                t = self.ev(s.expr, used and i == last)
                if i == last:
                    result = t
            else:
                self.stmt(s)
        return result if used else None

    def stmt(self, s: ast.Stmt) -> None:
        cls = type(s)
        if cls is ast.Let:
            if s.value is not None:
                self.bind(s.pattern, self.ev(s.value, True), whole=True)
            else:
                self.bind(s.pattern, None, whole=True)
        elif cls is ast.Assign:
            self.assign(s)
        elif cls is ast.Return:
            if s.value is not None:
                t = self.ev(s.value, True)
                self.escape(s.value, t, self.ret_depth, "returned")
        elif cls is ast.Break:
            if s.value is not None:
                self.ev(s.value, False)
        elif cls is ast.While:
            self.ev(s.cond, False)
            self.block(s.body, False)
        elif cls is ast.WhileLet:
            self.bind(s.pattern, self.ev(s.value, True), whole=True)
            self.block(s.body, False)
        elif cls is ast.Loop:
            self.block(s.body, False)
        elif cls is ast.FnDecl:
            self.nested_fn(s)
        elif cls is ast.SpawnFn:
            self.nested_fn(s.func)
        elif cls is ast.ExprStmt:
            self.ev(s.expr, False)

    def nested_fn(self, decl: ast.FnDecl) -> None:
        inst = decl.sym
        if not isinstance(inst, FnInstance) or not inst.checked:
            return   # a generic nested function: each instance is analysed on its own
        if inst.closure_local is not None:
            self.bind_local(inst.closure_local, self.fresh())
        self.fn_body(inst, inst.params)

    def bind(self, pat: ast.Pattern, t: Taint, whole: bool) -> None:
        cls = type(pat)
        if cls is ast.IdentPat:
            if isinstance(pat.sym, Local):
                self.bind_local(pat.sym, t if whole else part(t))
        elif cls is ast.TuplePat:
            for p in pat.elems:
                self.bind(p, t, False)
        elif cls is ast.VariantPat:
            for p in pat.args or []:
                self.bind(p, t, False)
        elif cls is ast.OrPat:
            for p in pat.alts:
                self.bind(p, t, whole)

    def assign(self, s: ast.Assign) -> None:
        target = s.target
        value = s.value
        t = self.ev(value, True)
        if s.op != "=":
            # `s += x` on a String builds a new string where it runs.
            tt = prune(target.ty) if target.ty is not None else None
            t = self.fresh() if tt == STRING else None
        cls = type(target)
        if cls in (ast.Name, ast.Path, ast.SelfExpr):
            sym = target.sym
            if isinstance(sym, Local):
                if sym.is_global:
                    self.escape(value, t, 0, f"assigned to the global `{sym.name}`")
                else:
                    limit = self.decl_depth.get(sym, 0)
                    self.escape(value, t, limit, f"assigned to `{sym.name}`, declared "
                                "outside the `scoped` block")
                    self.add(sym, t)
        elif cls is ast.Field:
            obj = self.ev(target.obj, True)
            self.escape(value, t, self.home(obj), "stored in a field of an object from "
                        "outside the `scoped` block")
        elif cls is ast.Index:
            obj = self.ev(target.obj, True)
            self.ev(target.index, False)
            self.escape(value, t, self.home(obj), "stored in a collection from outside "
                        "the `scoped` block")
        else:
            self.ev(target, True)
            self.escape(value, t, 0, "stored through a reference")

    # ------------------------------------------------------------ expressions

    def ev(self, e: ast.Expr, used: bool) -> Taint:
        """Visit `e` and return the taint of its value."""
        handler = getattr(self, "e_" + type(e).__name__, None)
        t = handler(e, used) if handler is not None else None
        if t is None or not self.holds(e.ty):
            return None
        return t

    def e_StringLit(self, e, used):
        return (0, 0)   # constants, not allocated where they are used

    def e_Name(self, e, used):
        sym = e.sym
        if isinstance(sym, Local):
            return self.local_taint(sym)
        if isinstance(sym, (FnInstance, VariantRef)):
            return self.fresh()   # a closure or an enum value, made here
        return (0, 0)

    e_Path = e_Name
    e_SelfExpr = e_Name

    def e_Unary(self, e, used):
        t = self.ev(e.operand, True)
        return t if e.op == "*" else None

    def e_AddrOf(self, e, used):
        return self.ev(e.operand, True)

    def e_Binary(self, e, used):
        self.ev(e.left, True)
        self.ev(e.right, True)
        return self.fresh() if e.op == "+" else None

    def e_Range(self, e, used):
        self.ev(e.start, True)
        self.ev(e.end, True)
        return None

    def e_Cast(self, e, used):
        self.ev(e.expr, True)
        return None

    def e_TupleLit(self, e, used):
        for x in e.elems:
            self.ev(x, True)
        return self.fresh()

    e_ArrayLit = e_TupleLit

    def e_MacroCall(self, e, used):
        for x in e.args:
            self.ev(x, True)
        return self.fresh()

    def e_Call(self, e, used):
        sym = e.sym
        if isinstance(sym, Construct):
            for v in sym.values:
                if v is not None:
                    self.ev(v, True)
            return self.fresh()
        args = [self.ev(a.value, True) for a in e.args]
        if isinstance(sym, Builtin):
            if sym.name == "dbg":
                return args[0] if args else None
            if sym.name == "ref":
                return join(self.fresh(), args[0] if args else None)
            return self.fresh()
        callee = e.callee.sym
        if not isinstance(callee, (FnInstance, VariantRef, Builtin)) or (
                isinstance(callee, FnInstance) and callee.closure_local is not None):
            self.ev(e.callee, True)
        return self.fresh()

    def e_MethodCall(self, e, used):
        recv = self.ev(e.receiver, True)
        args = [self.ev(a.value, True) for a in e.args]
        sym = e.sym
        if isinstance(sym, BuiltinMethod):
            key = (sym.kind, sym.name)
            if key in PROJECTIONS:
                t = part(recv)
                if sym.name == "unwrap_or" and args:
                    t = join(t, args[0])
                return t
            if sym.kind == "Vec" and sym.name in ("push", "insert") and e.args:
                i = 0 if sym.name == "push" else len(e.args) - 1
                word = "pushed" if sym.name == "push" else "inserted"
                self.escape(e.args[i].value, args[i], self.home(recv),
                            f"{word} into a `Vec` from outside the `scoped` block")
            elif sym.kind == "Channel" and sym.name == "send" and e.args:
                self.escape(e.args[0].value, args[0], self.home(recv),
                            "sent to a channel from outside the `scoped` block")
            elif sym.kind == "Actor" and sym.name == "send":
                for a, t in zip(e.args, args, strict=True):
                    self.escape(a.value, t, 0, "sent to an actor, which handles it after "
                                "the block may have exited")
        return self.fresh()

    def e_Field(self, e, used):
        return part(self.ev(e.obj, True))

    def e_Index(self, e, used):
        t = self.ev(e.obj, True)
        self.ev(e.index, True)
        return part(t)

    def e_Block(self, e, used):
        return self.block(e, used)

    def e_Unsafe(self, e, used):
        return self.block(e.body, used)

    def e_If(self, e, used):
        self.ev(e.cond, True)
        has_else = e.else_ is not None
        t = self.block(e.then, used and has_else)
        if has_else:
            t = join(t, self.ev(e.else_, used))
        return t

    def e_Match(self, e, used):
        s = self.ev(e.subject, True)
        result: Taint = None
        for arm in e.arms:
            self.bind(arm.pattern, s, whole=True)
            if arm.guard is not None:
                self.ev(arm.guard, True)
            result = join(result, self.ev(arm.body, used))
        return result

    def e_For(self, e, used):
        self.bind(e.pattern, part(self.ev(e.iter, True)), whole=True)
        collect = self.holds(e.ty)
        body = self.block(e.body, collect)
        return join(self.fresh(), body) if collect else None

    def e_Lambda(self, e, used):
        inst = e.sym
        if isinstance(inst, FnInstance):
            self.fn_body(inst, inst.params)
        return self.fresh()

    def e_Await(self, e, used):
        self.ev(e.expr, True)
        return self.fresh()

    e_Spawn = e_Await

    def e_ActorNew(self, e, used):
        if e.capacity is not None:
            self.ev(e.capacity, True)
        for a in e.args:
            self.ev(a.value, True)
        return self.fresh()

    def e_Scoped(self, e, used):
        self.depth += 1
        self.blocks.append(e)
        try:
            t = self.block(e.body, used)
            if used and t is not None and t[1] >= self.depth:
                self.escape(e.body, t, self.depth - 1, "the value of the `scoped` block")
                t = None   # reported here, not again where the value goes
        finally:
            self.blocks.pop()
            self.depth -= 1
        return t
