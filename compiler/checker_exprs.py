"""Expression checking (a mixin of Checker): types, name resolution, calls, methods,
patterns and closures. The `scoped` escape rule is in checker_escape.py."""

from __future__ import annotations

import copy
import difflib

from compiler import ast
from compiler.builtins import method_names, method_signature
from compiler.scope import FnEntry, ModuleEntry, Scope, TypeEntry, VariantEntry
from compiler.span import Span
from compiler.symbols import (
    Builtin,
    BuiltinMethod,
    Construct,
    FieldAccess,
    FieldCall,
    FnInstance,
    Local,
    TraitMethod,
    VariantRef,
)
from compiler.types import (
    BOOL,
    BYTES,
    CHAR,
    FLOAT,
    INT,
    INT_BITS,
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
    RefT,
    StructT,
    TraitT,
    TupleT,
    Type,
    TypeVar,
    has_vars,
    is_float,
    is_heap,
    is_int,
    is_numeric,
    is_ordered,
    prune,
    resolve,
    strip_ref,
    unify,
    vec_of,
)

# Expected type for expressions whose value is thrown away (statement position).
DISCARD = Prim("Discard")
NEEDS = {"-": "a number", "!": "a Bool"}
ARITH = frozenset({"+", "-", "*", "/", "%"})
BITS = frozenset({"&", "|", "^", "<<", ">>"})
COMPARE = frozenset({"<", ">", "<=", ">="})
EQUALITY = frozenset({"==", "!="})
RESOLVED_SYMS = (VariantRef, Construct)   # node symbols that finish_inference may rewrite
STATIC_BUILTINS = {("Channel", "bounded"), ("Channel", "unbounded"), ("Thread", "spawn"),
                   ("Vec", "new"), ("Vec", "with_capacity"), ("String", "from")}


def _real(expected: Type | None) -> Type | None:
    return None if expected is None or expected is DISCARD else expected


# What the checker writes into syntax nodes. `ty` and `sym` are fields of the nodes that
# have them (None when parsed); the others are set only by the checker.
NOTES = frozenset({"ty", "sym", "ordered_args", "alloc_type"})
SHARED_VALUES = frozenset({str, int, float, bool, type(None), Span})   # immutable


def copy_syntax(node: ast.Node, memo: dict | None = None) -> ast.Node:
    """A private copy of the syntax tree `node` as the parser made it: the checker's notes
    on `node` are not copied (checking the copy writes its own), so neither is anything
    they refer to (types, symbols, and through those scopes and declarations)."""
    if memo is None:
        memo = {}
    else:
        done = memo.get(id(node))
        if done is not None:
            return done
    cls = type(node)
    new = cls.__new__(cls)
    memo[id(node)] = new
    fields = cls.__dataclass_fields__
    d = new.__dict__
    for k, v in node.__dict__.items():
        if k in NOTES:
            if k in fields:
                d[k] = None
        else:
            d[k] = _copy_value(v, memo)
    return new


def _copy_value(v: object, memo: dict) -> object:
    if type(v) in SHARED_VALUES:
        return v
    if isinstance(v, ast.Node):
        return copy_syntax(v, memo)
    if type(v) is list:
        return [_copy_value(x, memo) for x in v]
    return copy.deepcopy(v, memo)


class ExprChecker:
    """Mixin: needs self.ctx (FnCtx), self.err, self.resolve_type, self.type_instance, ..."""

    # ------------------------------------------------------------ entry point

    def check_expr(self, e: ast.Expr, scope: Scope, expected: Type | None = None) -> Type:
        # The handler for a node class is `x_<ClassName>`, looked up once per class.
        handler = self.expr_handlers.get(type(e))
        if handler is None:
            handler = getattr(self, "x_" + type(e).__name__, None)
            if handler is not None:
                self.expr_handlers[type(e)] = handler
        if handler is None:
            self.err("P1001", "this expression is not supported here", e.span)
            t: Type = TypeVar()
        else:
            t = handler(e, scope, expected)
        e.ty = t
        # finish_inference resolves node types and variant/construction symbols; a node with
        # a primitive type and neither symbol has nothing to resolve, so it is not recorded.
        if type(t) is not Prim or type(e.sym) in RESOLVED_SYMS:
            self.ctx.infer.typed.append(e)
        return t

    # ------------------------------------------------------------ coercion

    def compatible(self, actual: Type, expected: Type) -> bool:
        a, b = prune(actual), prune(expected)
        if a is b or a is NEVER or b is DISCARD:
            return True
        if type(a) is TypeVar or type(b) is TypeVar:
            return unify(a, b)
        if unify(a, b):
            return True
        sa = strip_ref(a)
        if isinstance(b, RefT):
            tb = prune(b.inner)
            if isinstance(tb, TraitT) and isinstance(sa, StructT):
                return self.implements(sa, tb)
            if isinstance(a, RefT):
                return (a.mutable or not b.mutable) and unify(a.inner, tb)
            if isinstance(sa, StructT):
                return unify(sa, tb)
            return False
        if isinstance(b, TraitT) and isinstance(sa, StructT):
            return self.implements(sa, b)
        if isinstance(a, RefT) and isinstance(sa, StructT | TraitT):
            return unify(sa, b)
        if a == NIL and isinstance(b, PtrT | RefT):
            return True
        if isinstance(b, Generic) and b.name == "ref":
            return self.compatible(a, b.args[0])
        if isinstance(a, Generic) and a.name == "ref":
            return self.compatible(a.args[0], b)
        return False

    def implements(self, st: StructT, trait: TraitT) -> bool:
        return any(t.decl is trait.decl and all(unify(x, y) for x, y in zip(
            t.args, trait.args, strict=False)) for t in st.traits)

    def coerce(self, actual: Type, expected: Type, node: ast.Node) -> bool:
        if actual is expected or self.compatible(actual, expected):
            return True
        a, b = resolve(actual), resolve(expected)
        notes = ()
        if is_numeric(a) and is_numeric(b):
            notes = (f"`{a}` and `{b}` never convert implicitly; write `as {b}`",)
        self.err("T2001", f"mismatched types: expected `{b}`, found `{a}`", node.span,
                 f"expected `{b}`, found `{a}`", notes=notes)
        return False

    def suggest(self, name: str, scope: Scope, types: bool = False) -> str | None:
        names = [n for n in scope.all_names() if not n.startswith("<")]
        if types:
            names += ["Int", "Float", "Bool", "Char", "Rune", "String", "Bytes", "Vec"]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        return f"a name that exists: `{close[0]}`" if close else None

    # ------------------------------------------------------------ literals

    def x_IntLit(self, e, scope, expected):
        if expected is None or expected is DISCARD:
            return INT
        exp = prune(expected)
        if is_int(exp):
            bits = INT_BITS[exp.name]
            if bits < 64:
                lo, hi = (0, (1 << bits) - 1) if exp.name.startswith("U") else (
                    -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
                if not lo <= e.value <= hi:
                    self.err("T2001", f"literal `{e.value}` does not fit in `{exp}`", e.span,
                             f"`{exp}` holds {lo} to {hi}")
            return exp
        if is_float(exp):
            return INT   # reported by the caller's coercion: no implicit Int -> Float
        return INT

    def x_FloatLit(self, e, scope, expected):
        exp = prune(_real(expected) or FLOAT)
        return exp if is_float(exp) else FLOAT

    def x_BoolLit(self, e, scope, expected):
        return BOOL

    def x_StringLit(self, e, scope, expected):
        return STRING

    def x_CharLit(self, e, scope, expected):
        exp = prune(_real(expected) or CHAR)
        if exp == RUNE:
            return RUNE
        if exp == CHAR and ord(e.value) >= 0x80:
            if _real(expected) is not None:
                self.err("T2001", f"character literal '{e.value}' does not fit in a `Char` "
                         "(one byte)", e.span, "not a single-byte character",
                         suggestion="declare it as `Rune`")
                return CHAR
            return RUNE
        return CHAR

    def x_NilLit(self, e, scope, expected):
        return NIL

    def x_Todo(self, e, scope, expected):
        return NEVER

    # ------------------------------------------------------------ names

    def x_Name(self, e, scope, expected):
        entry = scope.lookup(e.name)
        if type(entry) is Local:   # the common case, as in use_entry
            if entry.owner is not self.ctx.fn:
                self.capture(entry)
            e.sym = entry
            return entry.type
        if entry is None:
            self.err("T2000", f"cannot find `{e.name}` in this scope", e.span, "not found",
                     suggestion=self.suggest(e.name, scope))
            return TypeVar()
        return self.use_entry(e, entry, e.name, e.type_args, scope, expected)

    def x_SelfExpr(self, e, scope, expected):
        entry = scope.lookup("self")
        if not isinstance(entry, Local):
            self.err("T2000", "`self` is only available in methods", e.span)
            return TypeVar()
        return self.use_entry(e, entry, "self", [], scope, expected)

    def x_Path(self, e, scope, expected):
        entry, targs, name = self.resolve_path(e, scope)
        if entry is None:
            return TypeVar()
        if isinstance(entry, Builtin):
            self.err("T2006", f"`{name}` must be called", e.span)
            return TypeVar()
        return self.use_entry(e, entry, name, targs, scope, expected)

    def resolve_path(self, e: ast.Path, scope: Scope):
        """(entry, type args for a generic head, display name) for `a::b::c`; reports
        T2000 when a segment is missing."""
        segs = e.segments
        head = segs[0]
        entry = scope.lookup(head.name)
        if head.name in self.modules and not isinstance(entry, (ModuleEntry, TypeEntry)):
            entry = ModuleEntry(head.name, self.modules[head.name])
        if entry is None and head.name in ("Channel", "Thread", "ThreadPool", "Vec", "String"):
            if len(segs) == 2 and (head.name, segs[1].name) in STATIC_BUILTINS:
                return Builtin(f"{head.name}::{segs[1].name}"), head.type_args, \
                    f"{head.name}::{segs[1].name}"
        full = head.name
        targs = head.type_args
        for seg in segs[1:]:
            prev = full
            full = f"{full}::{seg.name}"
            if isinstance(entry, ModuleEntry):
                nxt = entry.scope.names.get(seg.name)
                targs = seg.type_args
            elif isinstance(entry, TypeEntry) and entry.kind == "enum":
                v = next((v for v in entry.decl.variants if v.name == seg.name), None)
                nxt = VariantEntry(entry, seg.name) if v is not None else None
            elif isinstance(entry, TypeEntry) and entry.kind in ("class", "template"):
                args = tuple(self.resolve_type(a, scope) for a in targs) if targs else tuple(
                    TypeVar() for _ in entry.decl.type_params)
                st = self.type_instance(entry, args, e.span)
                m = st.methods.get(seg.name) if isinstance(st, StructT) else None
                if m is not None:
                    return m, seg.type_args, full
                nxt = None
            else:
                nxt = None
            if nxt is None:
                self.err("T2000", f"cannot find `{seg.name}` in `{prev}`", seg.span or e.span,
                         "not found")
                return None, [], full
            entry = nxt
        return entry, targs, full

    def capture(self, local: Local) -> None:
        fn = self.ctx.fn
        if local.is_global or local.owner is None or local.owner is fn:
            return
        f = fn
        while f is not None and f is not local.owner:
            f.add_capture(local)
            f = f.parent

    def use_entry(self, e, entry, name: str, targs, scope: Scope, expected):
        if isinstance(entry, Local):
            self.capture(entry)
            e.sym = entry
            return entry.type
        if isinstance(entry, FnEntry):
            return self.fn_value(e, entry, targs, scope)
        if isinstance(entry, VariantEntry):
            enum, v = self.variant_instance(entry, targs, scope, expected, e.span)
            e.sym = VariantRef(enum, v)
            return enum if not v.payload else FnT(v.payload, enum)
        if isinstance(entry, TypeEntry):
            self.err("T2006", f"`{name}` is a type, not a value", e.span,
                     f"construct it with `{name}(...)`" if entry.kind in ("class", "template")
                     else "expected a value")
            return TypeVar()
        if isinstance(entry, Builtin):
            e.sym = entry
            self.err("T2006", f"the builtin `{name}` must be called", e.span)
            return TypeVar()
        if isinstance(entry, ModuleEntry):
            self.err("T2006", f"`{name}` is a module, not a value", e.span)
            return TypeVar()
        self.err("T2006", f"`{name}` is a type parameter, not a value", e.span)
        return TypeVar()

    def fn_value(self, e, entry: FnEntry, targs, scope: Scope) -> Type:
        decl = entry.decl
        st = entry.self_struct
        needs_later = entry.generic or (st is not None and has_vars(st))
        if not needs_later:
            inst = self.fn_instance(entry, (), e.span)
            e.sym = inst
            cl = inst.closure_local
            if cl is not None and self.ctx.fn is not inst and self.ctx.fn is not inst.parent:
                self.capture(cl)
            return self.call_type(inst.fn_type if st is None else FnT(
                tuple(p.type for p in inst.params), inst.ret), decl)
        n = len(decl.type_params)
        if targs and len(targs) != n:
            self.err("T2008", f"`{decl.name}` takes {n} type arguments but {len(targs)} were "
                     "given", e.span)
        args = tuple(self.resolve_type(a, scope) for a in targs) if targs and len(
            targs) == n else tuple(TypeVar(tp.name) for tp in decl.type_params)
        sig_scope = Scope(entry.scope if st is None else st.scope, "fn")
        from compiler.checker import TypeAlias
        for tp, a in zip(decl.type_params, args, strict=False):
            sig_scope.define(tp.name, TypeAlias(a))
        params = tuple(self.resolve_type(p.type, sig_scope) if p.type else TypeVar()
                       for p in decl.params)
        ret = self.resolve_type(decl.ret, sig_scope) if decl.ret else UNIT

        def later(entry=entry, args=args, st=st, span=e.span):
            if st is not None:
                real = resolve(st, UNIT)
                entry2 = real.methods.get(entry.decl.name, entry)
                return self.fn_instance(entry2, args, span)
            return self.fn_instance(entry, args, span)

        self.ctx.infer.pending.append((e, later))
        return self.call_type(FnT(params, ret), decl)

    @staticmethod
    def call_type(ft: FnT, decl) -> FnT:
        if getattr(decl, "is_async", False):
            return FnT(ft.params, Generic("Future", (ft.ret,)))
        return ft

    def variant_instance(self, entry: VariantEntry, targs, scope, expected, span):
        te = entry.type_entry
        n = len(te.decl.type_params)
        if targs and len(targs) == n:
            args = tuple(self.resolve_type(a, scope) for a in targs)
        else:
            args = tuple(TypeVar(tp.name) for tp in te.decl.type_params)
        enum = self.type_instance(te, args, span)
        exp = prune(_real(expected)) if _real(expected) else None
        if isinstance(exp, RefT):
            exp = prune(exp.inner)
        if isinstance(exp, EnumT) and exp.decl is te.decl:
            unify(enum, exp)
        return enum, enum.variant(entry.name)

    def option_of(self, t: Type) -> Type:
        return self.type_instance(self.prelude.names["Option"], (t,), ast.NO_SPAN)

    def result_of(self, t: Type, e: Type) -> Type:
        return self.type_instance(self.prelude.names["Result"], (t, e), ast.NO_SPAN)

    # ------------------------------------------------------------ operators

    def x_Unary(self, e, scope, expected):
        op = e.op
        if op == "*":
            t = prune(self.check_expr(e.operand, scope))
            if isinstance(t, RefT):
                return t.inner
            if isinstance(t, PtrT):
                if self.ctx.unsafe == 0:
                    self.err("T2022", "dereference of a raw pointer outside `unsafe`", e.span,
                             suggestion="wrap it in `unsafe { ... }`")
                return t.inner
            if isinstance(t, Generic) and t.name == "ref":
                return t.args[0]
            if not isinstance(t, TypeVar):
                self.err("T2010", f"type `{t}` cannot be dereferenced", e.span)
            return TypeVar()
        t = prune(self.check_expr(e.operand, scope, _real(expected)))
        if isinstance(t, TypeVar):
            return t
        if op == "-" and is_numeric(t):
            return t
        if op == "!" and (t == BOOL or is_int(t)):
            return t
        if op == "~" and is_int(t):
            return t
        self.err("T2010", f"cannot apply unary `{op}` to `{t}`", e.span,
                 f"`{op}` needs {NEEDS.get(op, 'an integer')}")
        return t

    def x_AddrOf(self, e, scope, expected):
        exp = prune(_real(expected)) if _real(expected) else None
        inner_exp = exp.inner if isinstance(exp, RefT) else None
        t = self.check_expr(e.operand, scope, inner_exp)
        if e.mutable and isinstance(e.operand, ast.Name) and isinstance(e.operand.sym, Local) \
                and not e.operand.sym.mutable and not isinstance(strip_ref(t), StructT):
            self.err("T2002", f"cannot borrow `{e.operand.name}` as mutable: it is declared "
                     "with `let`", e.span, suggestion=f"declare it with `var {e.operand.name}`")
        return RefT(t, e.mutable)

    def x_Binary(self, e, scope, expected):
        op = e.op
        if op in ("&&", "||"):
            for side in (e.left, e.right):
                self.coerce(self.check_expr(side, scope, BOOL), BOOL, side)
            return BOOL
        hint = expected if expected is not DISCARD and (op in ARITH or op in BITS) else None
        lt = self.check_expr(e.left, scope, hint)
        pl = prune(lt)
        rt = self.check_expr(e.right, scope, pl if is_numeric(pl) or pl in (CHAR, RUNE) else (
            None if op not in EQUALITY else pl))
        return self.check_binary_types(op, lt, rt, e.span, e.right)

    def check_binary_types(self, op: str, lt: Type, rt: Type, span, rnode) -> Type:
        a, b = prune(lt), prune(rt)
        if type(a) is TypeVar or type(b) is TypeVar:
            if unify(a, b):
                return BOOL if op in COMPARE or op in EQUALITY else a
        if op in EQUALITY:
            if self.compatible(b, a) or self.compatible(a, b):
                return BOOL
            self.err("T2010", f"cannot compare `{a}` with `{b}`", span,
                     "the two sides have different types")
            return BOOL
        if op in COMPARE:
            if a == b and is_ordered(a):
                return BOOL
            self.mismatch(op, a, b, span)
            return BOOL
        if op in ARITH:
            if a == b and is_numeric(a):
                return a
            if op == "+" and a == STRING and b == STRING:
                return STRING
            self.mismatch(op, a, b, span)
            return a if is_numeric(a) else TypeVar()
        if op in BITS:
            if a == b and (is_int(a) or (a == BOOL and op in ("&", "|", "^"))):
                return a
            if op in ("<<", ">>") and is_int(a) and is_int(b):
                return a
            self.mismatch(op, a, b, span)
            return a
        self.err("T2010", f"unknown operator `{op}`", span)
        return TypeVar()

    def mismatch(self, op: str, a: Type, b: Type, span) -> None:
        notes = ()
        if is_numeric(a) and is_numeric(b):
            notes = ("Int and Float never convert implicitly; convert one side with `as`",)
        self.err("T2010", f"cannot apply `{op}` to `{a}` and `{b}`", span,
                 f"`{a}` {op} `{b}` is not defined", notes=notes)

    def x_Range(self, e, scope, expected):
        for side in (e.start, e.end):
            t = prune(self.check_expr(side, scope, INT))
            if not is_int(t) and not isinstance(t, TypeVar) and t is not NEVER:
                self.err("T2001", f"mismatched types: a range bound must be `Int`, found `{t}`",
                         side.span)
        return RANGE

    def x_Cast(self, e, scope, expected):
        target = self.resolve_type(e.target, scope)
        src = prune(self.check_expr(e.expr, scope))
        tgt = prune(target)
        ok_src = is_numeric(src) or src in (CHAR, RUNE, BOOL)
        ok_tgt = is_numeric(tgt) or tgt in (CHAR, RUNE)
        if src == tgt or isinstance(src, TypeVar) or (ok_src and ok_tgt and not (
                is_float(src) and tgt in (CHAR, RUNE))):
            return tgt
        if isinstance(tgt, PtrT) and isinstance(src, PtrT | Generic):
            return tgt
        self.err("T2020", f"cannot cast `{src}` as `{tgt}`", e.span,
                 "only numbers, Bool, Char and Rune convert with `as`")
        return tgt

    # ------------------------------------------------------------ calls

    def callee_entry(self, callee: ast.Expr, scope: Scope):
        """For `Name(...)`/`Path(...)` callees: (entry, type args, name) without reporting."""
        if isinstance(callee, ast.Name):
            entry = scope.lookup(callee.name)
            if entry is None and callee.name in ("ThreadPool", "Vec", "Channel"):
                return Builtin(callee.name), callee.type_args, callee.name
            return entry, callee.type_args, callee.name
        if isinstance(callee, ast.Path):
            return self.resolve_path(callee, scope)
        return None, [], ""

    def x_Call(self, e, scope, expected):
        callee = e.callee
        if isinstance(callee, (ast.Name, ast.Path)):
            entry, targs, name = self.callee_entry(callee, scope)
            if isinstance(callee, ast.Path) and entry is None:
                return self.check_args_loose(e, scope)
            if isinstance(entry, TypeEntry):
                callee.sym = entry
                callee.ty = UNIT
                return self.construct(e, entry, targs, scope, expected)
            if isinstance(entry, Builtin):
                callee.sym = entry
                callee.ty = UNIT
                return self.builtin_call(e, entry.name, targs, scope, expected)
            if isinstance(entry, VariantEntry):
                enum, v = self.variant_instance(entry, targs, scope, expected, callee.span)
                callee.sym = VariantRef(enum, v)
                callee.ty = FnT(v.payload, enum)
                e.sym = callee.sym
                self.check_call_args(e, list(v.payload), scope, f"variant `{v.name}`", None)
                return enum
        ft = prune(self.check_expr(callee, scope))
        if isinstance(ft, FnT):
            decl = callee.sym.decl if isinstance(callee.sym, FnInstance) else None
            names = [p.name for p in decl.params] if isinstance(decl, ast.FnDecl) else None
            params = list(ft.params)
            if decl is not None and isinstance(callee.sym, FnInstance) and \
                    callee.sym.self_type is not None and decl.params and \
                    decl.params[0].name == "self":
                names = names[1:] if names else names
                params = params[1:] if len(params) == len(decl.params) else params
                self.err("T2006", f"method `{decl.name}` must be called on a value: "
                         f"`value.{decl.name}(...)`", callee.span)
            variadic = isinstance(callee.sym, FnInstance) and callee.sym.variadic
            what = f"function `{self.text(callee)}`"
            self.check_call_args(e, params, scope, what, names, variadic=variadic)
            return ft.ret
        if isinstance(ft, TypeVar):
            self.check_args_loose(e, scope)
            return TypeVar()
        self.err("T2006", f"`{self.text(callee)}` is not a function: its type is `{ft}`",
                 callee.span, "called here")
        self.check_args_loose(e, scope)
        return TypeVar()

    def check_args_loose(self, e: ast.Call, scope: Scope) -> Type:
        for a in e.args:
            self.check_expr(a.value, scope)
        return TypeVar()

    def check_call_args(self, e, params: list[Type], scope: Scope, what: str,
                        names: list[str] | None, variadic: bool = False) -> None:
        args = e.args
        ordered: list[ast.Expr | None] = [None] * len(params)
        extra: list[ast.Expr] = []
        pos = 0
        for a in args:
            if a.name is not None:
                if names is None or a.name not in names:
                    self.err("T2016", f"{what} has no parameter named `{a.name}`", a.span)
                    self.check_expr(a.value, scope)
                    continue
                i = names.index(a.name)
                if ordered[i] is not None:
                    self.err("T2016", f"parameter `{a.name}` is given twice", a.span)
                ordered[i] = a.value
            else:
                while pos < len(ordered) and ordered[pos] is not None:
                    pos += 1
                if pos < len(ordered):
                    ordered[pos] = a.value
                    pos += 1
                else:
                    extra.append(a.value)
        missing = sum(1 for o in ordered if o is None)
        if (extra and not variadic) or missing:
            given = len(args)
            self.err("T2003", f"{what} takes {len(params)} argument{'s' * (len(params) != 1)} "
                     f"but {given} {'were' if given != 1 else 'was'} given", e.span,
                     f"expected {len(params)} argument{'s' * (len(params) != 1)}")
        for value, pt in zip(ordered, params, strict=True):
            if value is not None:
                t = self.check_expr(value, scope, pt)
                self.coerce(t, pt, value)
        for value in extra:
            self.check_expr(value, scope)
        e.ordered_args = ordered + extra

    def construct(self, e: ast.Call, entry: TypeEntry, targs, scope: Scope, expected) -> Type:
        decl = entry.decl
        if entry.kind in ("trait", "enum"):
            what = "a trait" if entry.kind == "trait" else "an enum"
            self.err("T2006", f"`{decl.name}` is {what} and cannot be constructed directly",
                     e.callee.span,
                     "use a class" if entry.kind == "trait" else "use one of its variants")
            self.check_args_loose(e, scope)
            return TypeVar()
        st = self.struct_for(entry, targs, scope, expected, e.span)
        if not isinstance(st, StructT):
            self.check_args_loose(e, scope)
            return TypeVar()
        return self.fill_fields(e, st, e.args, scope)

    def struct_for(self, entry: TypeEntry, targs, scope, expected, span) -> Type:
        decl = entry.decl
        n = len(decl.type_params)
        if targs:
            if len(targs) != n:
                self.err("T2008", f"`{decl.name}` takes {n} type argument{'s' * (n != 1)} "
                         f"but {len(targs)} {'were' if len(targs) != 1 else 'was'} given", span)
                return TypeVar()
            args = tuple([self.resolve_type(a, scope) for a in targs])
        else:
            args = tuple([TypeVar(tp.name) for tp in decl.type_params])
        st = self.type_instance(entry, args, span)
        exp = prune(_real(expected)) if _real(expected) else None
        if isinstance(exp, RefT):
            exp = prune(exp.inner)
        if isinstance(exp, StructT) and exp.decl is decl:
            unify(st, exp)
        return st

    def fill_fields(self, e, st: StructT, args: list[ast.Arg], scope: Scope) -> Type:
        fields = st.fields
        values: list[ast.Expr | None] = [None] * len(fields)
        pos = 0
        for a in args:
            if a.name is not None:
                f = st.field(a.name)
                if f is None:
                    self.err("T2016", f"`{st}` has no field named `{a.name}`", a.span,
                             "unknown field", suggestion=self.close_field(st, a.name))
                    self.check_expr(a.value, scope)
                    continue
                i = f.index
            else:
                while pos < len(values) and values[pos] is not None:
                    pos += 1
                if pos >= len(values):
                    self.err("T2003", f"`{st}` has {len(fields)} field{'s' * (len(fields) != 1)}"
                             f" but {len(args)} values were given", a.span, "too many values")
                    self.check_expr(a.value, scope)
                    continue
                i = pos
                pos += 1
            if values[i] is not None:
                self.err("T2016", f"field `{fields[i].name}` is given twice", a.span)
            values[i] = a.value
            t = self.check_expr(a.value, scope, fields[i].type)
            self.coerce(t, fields[i].type, a.value)
        for i, f in enumerate(fields):
            if values[i] is None:
                if f.default is not None:
                    # A private copy per construction: checking writes types and
                    # symbols (locals, lambdas) of this use into it.
                    d = copy_syntax(f.default)
                    t = self.check_expr(d, st.scope, f.type)
                    self.coerce(t, f.type, d)
                    values[i] = d
                else:
                    self.err("T2015", f"missing field `{f.name}` in construction of `{st}`",
                             e.span, f"`{f.name}: {resolve(f.type)}` has no default",
                             suggestion=f"pass `{f.name}=...`")
        e.sym = Construct(st, tuple(values))
        return st

    @staticmethod
    def close_field(st: StructT, name: str) -> str | None:
        close = difflib.get_close_matches(name, [f.name for f in st.fields], n=1)
        return f"a field that exists: `{close[0]}`" if close else None

    def builtin_call(self, e: ast.Call, name: str, targs, scope: Scope, expected) -> Type:
        args = e.args
        e.sym = Builtin(name)
        nargs = len(args)

        def want(n: int) -> bool:
            if nargs != n:
                self.err("T2003", f"`{name}` takes {n} argument{'s' * (n != 1)} but {nargs} "
                         f"{'were' if nargs != 1 else 'was'} given", e.span)
                self.check_args_loose(e, scope)
                return False
            return True

        if name in ("println", "print", "eprintln"):
            if nargs == 0:
                return UNIT
            first = args[0].value
            if isinstance(first, ast.StringLit):
                holes = count_placeholders(first.value)
                if holes is None:
                    self.err("T2003", "invalid format string: unmatched `{` or `}`",
                             first.span, suggestion="write `{{` or `}}` for a literal brace")
                elif holes != nargs - 1:
                    self.err("T2003", f"format string has {holes} placeholder"
                             f"{'s' * (holes != 1)} but {nargs - 1} argument"
                             f"{'s' * (nargs - 1 != 1)} {'were' if nargs - 1 != 1 else 'was'} "
                             "given", e.span)
            for i, a in enumerate(args):
                t = self.check_expr(a.value, scope)
                if i == 0 and nargs > 1 and prune(t) != STRING and not isinstance(prune(t),
                                                                                     TypeVar):
                    self.err("T2001", f"mismatched types: the format must be a `String`, found "
                             f"`{resolve(t)}`", a.value.span)
            return UNIT
        if name == "dbg":
            if not want(1):
                return TypeVar()
            return self.check_expr(args[0].value, scope, _real(expected))
        if name == "panic":
            if nargs == 0:
                return NEVER
            if want(1):
                self.check_expr(args[0].value, scope, STRING)
            return NEVER
        if name == "assert":
            if nargs not in (1, 2):
                want(1)
                return UNIT
            self.coerce(self.check_expr(args[0].value, scope, BOOL), BOOL, args[0].value)
            if nargs == 2:
                self.coerce(self.check_expr(args[1].value, scope, STRING), STRING, args[1].value)
            return UNIT
        if name == "trace_event":
            for a in args:
                self.coerce(self.check_expr(a.value, scope, STRING), STRING, a.value)
            return UNIT
        if name == "alloc":
            want(0)
            if len(targs) == 1:
                t = self.resolve_type(targs[0], scope)
            elif _real(expected) is not None:
                t = prune(_real(expected))
            else:
                self.err("T2009", "`alloc` needs the type to allocate: `alloc<T>()`", e.span)
                return TypeVar()
            if not isinstance(prune(t), StructT) and not isinstance(prune(t), TypeVar):
                self.err("T2001", f"`alloc<{t}>()` needs a class or template type", e.span)
            e.alloc_type = t
            return t
        if name == "ref":
            return self.ref_call(e, targs, scope, expected)
        if name == "free":
            if not want(1):
                return UNIT
            t = self.check_expr(args[0].value, scope)
            if not is_heap(t) and not isinstance(prune(t), TypeVar):
                self.err("B3002", f"`free` needs a heap object, found a value of type "
                         f"`{resolve(t)}`", args[0].value.span, "not a heap object")
            return UNIT
        if name == "spawn":
            if not want(1):
                return TypeVar()
            return self.spawn_type(self.check_expr(args[0].value, scope), args[0].value)
        if name in ("Channel::bounded", "Channel::unbounded", "Channel"):
            if name == "Channel::bounded" or name == "Channel":
                if want(1):
                    self.coerce(self.check_expr(args[0].value, scope, INT), INT, args[0].value)
            else:
                want(0)
            return self.builtin_generic("Channel", targs, scope, expected)
        if name in ("Vec::new", "Vec", "Vec::with_capacity"):
            if name == "Vec::with_capacity" and want(1):
                self.check_expr(args[0].value, scope, INT)
            elif name != "Vec::with_capacity":
                want(0)
            return self.builtin_generic("Vec", targs, scope, expected)
        if name == "Thread::spawn":
            if not want(1):
                return TypeVar()
            r = TypeVar("thread")
            t = self.check_expr(args[0].value, scope, FnT((), r))
            self.coerce(t, FnT((), r), args[0].value)
            return Generic("Thread", (r,))
        if name == "ThreadPool":
            if want(1):
                self.coerce(self.check_expr(args[0].value, scope, INT), INT, args[0].value)
            return self.builtin_generic("ThreadPool", targs, scope, expected)
        if name == "String::from":
            if want(1):
                self.check_expr(args[0].value, scope)
            return STRING
        self.err("T2000", f"unknown builtin `{name}`", e.span)
        return TypeVar()

    def ref_call(self, e: ast.Call, targs, scope: Scope, expected) -> Type:
        """`ref(obj)` / `ref<T>(obj)`: a reference-counted reference to a class or template
        object, of type `ref<T>` (SEMANTICS.md, "Memory")."""
        args = e.args
        if len(targs) > 1:
            self.err("T2008", f"`ref` takes 1 type argument but {len(targs)} were given",
                     e.callee.span)
        if len(args) != 1:
            self.err("T2003", f"`ref` takes 1 argument but {len(args)} "
                     f"{'were' if len(args) != 1 else 'was'} given", e.span,
                     "expected 1 argument")
            self.check_args_loose(e, scope)
            return TypeVar()
        value = args[0].value
        if len(targs) == 1:
            want = self.resolve_type(targs[0], scope)
        else:
            exp = prune(_real(expected)) if _real(expected) else None
            want = exp.args[0] if isinstance(exp, Generic) and exp.name == "ref" else None
        t = self.check_expr(value, scope, want)
        if want is not None and len(targs) == 1:
            self.coerce(t, want, value)
            t = want
        inner = prune(t)
        if isinstance(inner, RefT):   # `ref(r)` with `r: &C` refers to the object itself
            inner = prune(inner.inner)
        if isinstance(inner, TypeVar):
            # Known once the function's types are: checked then.
            self.ctx.infer.pending.append((_Holder(), lambda t=inner, v=value:
                                           self.check_ref_target(t, v)))
        else:
            self.check_ref_target(inner, value)
        return Generic("ref", (inner,))

    def check_ref_target(self, t: Type, value: ast.Expr) -> None:
        t = resolve(t)
        if isinstance(t, StructT | TraitT) or isinstance(t, TypeVar) or t is NEVER:
            return
        self.err("T2001", f"`ref` needs an object of a class or template, found a value of "
                 f"type `{t}`", value.span, "not a class or template object",
                 notes=("only heap objects of a class or template type are "
                        "reference-counted",))

    def builtin_generic(self, name: str, targs, scope: Scope, expected) -> Type:
        arg = self.resolve_type(targs[0], scope) if len(targs) == 1 else TypeVar(name)
        t = Generic(name, (arg,))
        exp = prune(_real(expected)) if _real(expected) else None
        if isinstance(exp, Generic) and exp.name == name:
            unify(t, exp)
        return t

    def spawn_type(self, t: Type, node) -> Type:
        p = prune(t)
        if isinstance(p, Generic) and p.name == "Future":
            return Generic("Task", p.args)
        if isinstance(p, FnT) and not p.params:
            return Generic("Task", (p.ret,))
        if not isinstance(p, TypeVar):
            self.err("T2001", f"`spawn` needs a future (a call of an `async fn`) or a "
                     f"function with no parameters, found `{resolve(p)}`", node.span)
        return Generic("Task", (TypeVar(),))

    # ------------------------------------------------------------ methods and fields

    def x_MethodCall(self, e, scope, expected):
        rt = self.check_expr(e.receiver, scope)
        recv = strip_ref(rt)
        name = e.method
        if isinstance(recv, TypeVar):
            self.err("T2009", f"the type of this value must be known to call `.{name}()`",
                     e.receiver.span, "type annotation needed")
            self.check_args_loose(e, scope)
            return TypeVar()
        if isinstance(recv, StructT):
            f = recv.field(name)
            m = recv.methods.get(name)
            if m is None and f is not None and isinstance(prune(f.type), FnT):
                ft = prune(f.type)
                e.sym = FieldCall(f)
                self.check_call_args(e, list(ft.params), scope, f"field `{name}`", None)
                return ft.ret
            if m is not None:
                return self.method_call(e, recv, m, scope, rt)
        if isinstance(recv, TraitT):
            sig = next((m for m in recv.decl.methods if m.name == name), None)
            if sig is not None:
                from compiler.checker import TypeAlias
                s = Scope(recv.scope, "fn")
                s.define("Self", TypeAlias(recv))
                params = [self.resolve_type(p.type, s) for p in sig.params
                          if p.name != "self" and p.type is not None]
                ret = self.resolve_type(sig.ret, s) if sig.ret else UNIT
                e.sym = TraitMethod(recv, name)
                self.check_call_args(e, params, scope, f"method `{name}`",
                                     [p.name for p in sig.params if p.name != "self"])
                return ret
        if isinstance(recv, Generic) and recv.name == "Actor" and name == "send":
            st = prune(recv.args[0])
            handle = st.methods.get("handle") if isinstance(st, StructT) else None
            if handle is None:
                self.err("T2004", f"actor `{st}` has no `handle` method to receive messages",
                         e.span)
                self.check_args_loose(e, scope)
                return UNIT
            msg_params = [p for p in handle.decl.params if p.name != "self"]
            ptypes = [self.resolve_type(p.type, st.scope) for p in msg_params if p.type]
            e.sym = BuiltinMethod("Actor", "send")
            self.check_call_args(e, ptypes, scope, "`send`", None)
            self.ctx.infer.pending.append((_Holder(), lambda h=handle, sp=e.span:
                                           self.fn_instance(h, (), sp)))
            return UNIT
        sig = method_signature(recv, name, self.option_of, self.result_of)
        if sig is not None:
            e.sym = BuiltinMethod(sig.kind, name)
            self.check_call_args(e, list(sig.params), scope, f"method `{name}`", None)
            if sig.kind == "Vec" and name == "sort" and not is_ordered(recv.args[0]) and \
                    not isinstance(prune(recv.args[0]), TypeVar):
                elem = resolve(recv.args[0])
                self.err("T2010", f"cannot sort a `{resolve(recv)}`: values of `{elem}` have "
                         "no ordering", e.span, "sorted here",
                         notes=("numbers, Bool, Char, Rune, String, and tuples, Vecs and "
                                "enums of those are ordered; classes, traits and functions "
                                "are not",))
            return sig.ret
        self.unknown_member(e, recv, name, "method")
        self.check_args_loose(e, scope)
        return TypeVar()

    def method_call(self, e, st: StructT, m: FnEntry, scope: Scope, rt: Type) -> Type:
        decl = m.decl
        has_self = bool(decl.params) and decl.params[0].name == "self"
        if not has_self:
            self.err("T2006", f"`{decl.name}` is a static method of `{st}`: call it as "
                     f"`{st.name}::{decl.name}(...)`", e.span)
        fake = ast.Name(decl.name, e.type_args, span=e.span)
        ft = self.fn_value(fake, m, e.type_args, scope)
        e.sym = fake.sym
        if fake.sym is None:
            # template method: resolved when the function's types are known
            for i, (node, thunk) in enumerate(self.ctx.infer.pending):
                if node is fake:
                    self.ctx.infer.pending[i] = (e, thunk)
        params = list(ft.params)
        names = [p.name for p in decl.params]
        if has_self:
            self_t = params[0]
            params, names = params[1:], names[1:]
            sp = prune(self_t)
            if isinstance(sp, RefT) and sp.mutable:
                self.check_mut_receiver(e.receiver, decl.name)
        self.check_call_args(e, params, scope, f"method `{decl.name}`", names)
        return ft.ret

    def check_mut_receiver(self, recv: ast.Expr, method: str) -> None:
        t = prune(recv.ty) if recv.ty is not None else None
        if isinstance(t, RefT) and not t.mutable:
            self.err("T2002", f"cannot call `{method}` (which takes `&mut self`) through a "
                     "`&` reference", recv.span, "this is a shared reference")

    def unknown_member(self, e, recv: Type, name: str, what: str) -> None:
        if isinstance(recv, StructT):
            options = [f.name for f in recv.fields] + list(recv.methods)
        else:
            options = method_names(recv, self.option_of, self.result_of)
        close = difflib.get_close_matches(name, options, n=1)
        self.err("T2004", f"no {what} `{name}` on type `{resolve(recv)}`",
                 e.name_span if e.name_span is not None else e.span, f"unknown {what}",
                 suggestion=f"a {what} that exists: `{close[0]}`" if close else None)

    def x_Field(self, e, scope, expected):
        t = self.check_expr(e.obj, scope)
        recv = strip_ref(t)
        if isinstance(recv, StructT):
            f = recv.field(e.name)
            if f is not None:
                e.sym = FieldAccess(f, f.index)
                return f.type
            if e.name in recv.methods:
                self.err("T2004", f"`{e.name}` is a method of `{recv}`: call it as "
                         f"`.{e.name}(...)`", e.span)
                return TypeVar()
        if isinstance(recv, TupleT) and e.name.isdigit():
            i = int(e.name)
            if i < len(recv.elems):
                e.sym = FieldAccess(None, i)
                return recv.elems[i]
            self.err("T2004", f"tuple `{recv}` has no element {i}", e.span,
                     f"it has {len(recv.elems)} elements")
            return TypeVar()
        if isinstance(recv, TypeVar):
            self.err("T2009", f"the type of this value must be known to read `.{e.name}`",
                     e.obj.span, "type annotation needed")
            return TypeVar()
        self.unknown_member(e, recv, e.name, "field")
        return TypeVar()

    def x_Index(self, e, scope, expected):
        t = strip_ref(self.check_expr(e.obj, scope))
        it = self.check_expr(e.index, scope, INT)
        if not is_int(prune(it)) and not isinstance(prune(it), TypeVar):
            self.err("T2001", f"mismatched types: an index must be `Int`, found `{resolve(it)}`",
                     e.index.span)
        if isinstance(t, Generic) and t.name == "Vec":
            return t.args[0]
        if isinstance(t, ArrayT):
            return t.elem
        if t == STRING:
            return CHAR
        if t == BYTES:
            return INT
        if isinstance(t, TypeVar):
            self.err("T2009", "the type of this value must be known to index it", e.obj.span)
            return TypeVar()
        self.err("T2019", f"type `{resolve(t)}` cannot be indexed", e.obj.span,
                 "not a Vec, array or String")
        return TypeVar()

    # ------------------------------------------------------------ aggregates

    def x_TupleLit(self, e, scope, expected):
        if not e.elems:
            return UNIT
        exp = prune(_real(expected)) if _real(expected) else None
        hints = exp.elems if isinstance(exp, TupleT) and len(exp.elems) == len(e.elems) else (
            None,) * len(e.elems)
        return TupleT(tuple(self.check_expr(x, scope, h) for x, h in zip(e.elems, hints,
                                                                          strict=True)))

    def x_ArrayLit(self, e, scope, expected):
        exp = prune(_real(expected)) if _real(expected) else None
        if exp == BYTES:
            for x in e.elems:
                self.coerce(self.check_expr(x, scope, INT), INT, x)
                if isinstance(x, ast.IntLit) and not 0 <= x.value <= 255:
                    self.err("T2001", f"byte value `{x.value}` is out of range 0..255", x.span)
            return BYTES
        elem_hint = exp.elem if isinstance(exp, ArrayT) else None
        if isinstance(exp, ArrayT) and exp.size != len(e.elems):
            self.err("T2001", f"mismatched types: expected an array of {exp.size} elements, "
                     f"found {len(e.elems)}", e.span)
        elem = self.elements(e.elems, scope, elem_hint, e)
        return ArrayT(elem, len(e.elems))

    def elements(self, elems, scope, hint, node) -> Type:
        if not elems:
            return hint if hint is not None else TypeVar("elem")
        first = self.check_expr(elems[0], scope, hint)
        target = hint if hint is not None else first
        if hint is not None:
            self.coerce(first, hint, elems[0])
        for x in elems[1:]:
            self.coerce(self.check_expr(x, scope, target), target, x)
        return target

    def x_MacroCall(self, e, scope, expected):
        if e.name == "vec":
            exp = prune(_real(expected)) if _real(expected) else None
            hint = exp.args[0] if isinstance(exp, Generic) and exp.name == "Vec" else None
            return vec_of(self.elements(e.args, scope, hint, e))
        self.err("T2018", f"unknown macro `{e.name}!`", e.span, "only `vec!` is built in")
        for a in e.args:
            self.check_expr(a, scope)
        return TypeVar()

    # ------------------------------------------------------------ control flow

    def x_Block(self, e, scope, expected):
        return self.check_block(e, scope, expected)

    def x_If(self, e, scope, expected):
        self.check_cond(e.cond, scope)
        if e.else_ is None:
            self.check_block(e.then, scope, DISCARD)
            return UNIT
        t1 = self.check_block(e.then, scope, expected)
        t2 = self.check_expr(e.else_, scope, expected if prune(t1) is NEVER or
                             expected is not None else t1)
        if expected is DISCARD:
            return UNIT
        return self.join(t1, t2, e.else_, expected)

    def join(self, t1: Type, t2: Type, node2, expected) -> Type:
        if prune(t1) is NEVER:
            return t2
        if prune(t2) is NEVER:
            return t1
        target = _real(expected) or t1
        if _real(expected) is not None:
            return target
        self.coerce(t2, target, self.value_node(node2))
        return target

    @staticmethod
    def value_node(node):
        while isinstance(node, ast.Block) and node.stmts and isinstance(node.stmts[-1],
                                                                      ast.ExprStmt):
            node = node.stmts[-1].expr
        return node

    def x_Match(self, e, scope, expected):
        st = self.check_expr(e.subject, scope)
        result: Type | None = None
        real = _real(expected)
        for arm in e.arms:
            inner = Scope(scope, "block")
            self.check_pattern(arm.pattern, st, inner, refutable=True)
            if arm.guard is not None:
                self.check_cond(arm.guard, inner)
            t = self.check_expr(arm.body, inner, expected if expected is DISCARD else (
                real or result))
            if expected is DISCARD:
                continue
            if result is None or prune(result) is NEVER:
                result = t
                if real is not None and prune(t) is not NEVER:
                    self.coerce(t, real, self.value_node(arm.body))
                    result = real
            elif prune(t) is not NEVER:
                self.coerce(t, result, self.value_node(arm.body))
        self.check_exhaustive(e, st)
        if expected is DISCARD:
            return UNIT
        if result is None:
            return NEVER if not e.arms else UNIT
        return result

    def x_For(self, e, scope, expected):
        it = self.check_expr(e.iter, scope)
        elem = self.elem_type(it, e.iter)
        inner = Scope(scope, "block")
        self.check_pattern(e.pattern, elem, inner, refutable=False)
        ctx = self.ctx
        ctx.loop_depth += 1
        try:
            collect = expected is not DISCARD and expected is not None or (
                expected is None and self.for_is_value(e))
            bt = self.check_block(e.body, inner, None if collect else DISCARD)
        finally:
            ctx.loop_depth -= 1
        if collect and prune(bt) not in (UNIT, NEVER):
            return vec_of(bt)
        return UNIT

    @staticmethod
    def for_is_value(e: ast.For) -> bool:
        last = e.body.stmts[-1] if e.body.stmts else None
        return isinstance(last, ast.ExprStmt)

    def elem_type(self, t: Type, node) -> Type:
        p = strip_ref(t)
        if p == RANGE:
            return INT
        if isinstance(p, Generic) and p.name in ("Vec", "Channel"):
            return p.args[0]
        if isinstance(p, ArrayT):
            return p.elem
        if p == STRING:
            return RUNE
        if p == BYTES:
            return INT
        if isinstance(p, TypeVar):
            self.err("T2009", "the type of this value must be known to iterate over it",
                     node.span)
            return TypeVar()
        self.err("T2021", f"`{resolve(p)}` is not iterable", node.span,
                 "expected a range, Vec, array or String")
        return TypeVar()

    def x_Lambda(self, e, scope, expected):
        exp = prune(_real(expected)) if _real(expected) else None
        exp = exp if isinstance(exp, FnT) and len(exp.params) == len(e.params) else None
        parent = self.ctx.fn
        name = f"{parent.name}::{{lambda@{e.span.line}:{e.span.col}}}"
        inst = FnInstance(name, e, [], UNIT, scope.module, parent=parent, is_lambda=True,
                          span=e.span)
        e.sym = inst
        body_scope = Scope(scope, "fn", fn=inst)
        for i, p in enumerate(e.params):
            if p.type is not None:
                pt = self.resolve_type(p.type, scope)
                if exp is not None:
                    unify(pt, exp.params[i])
            else:
                pt = exp.params[i] if exp is not None else TypeVar(p.name)
            local = Local(p.name, pt, p.mutable, p.span, inst)
            p.sym = local
            inst.params.append(local)
            inst.locals.append(local)
            body_scope.define(p.name, local)
        if e.ret is not None:
            ret = self.resolve_type(e.ret, scope)
            if exp is not None:
                unify(ret, exp.ret)
        else:
            ret = exp.ret if exp is not None else TypeVar("ret")
        inst.ret = ret
        self.functions.append(inst)
        from compiler.checker import FnCtx
        ctx = FnCtx(inst, ret, self.ctx.infer, is_async=False)
        saved, self.ctx = self.ctx, ctx
        try:
            t = self.check_block(e.body, body_scope, None if prune(ret) == UNIT else ret)
            if prune(ret) != UNIT and prune(t) is not NEVER:
                last = e.body.stmts[-1] if e.body.stmts else None
                self.coerce(t, ret, last.expr if isinstance(last, ast.ExprStmt) else e.body)
        finally:
            self.ctx = saved
        self.ctx.infer.lambdas.append(inst)
        return FnT(tuple([p.type for p in inst.params]), ret)

    def x_Await(self, e, scope, expected):
        if not self.ctx.is_async:
            self.err("T2017", "`await` is only allowed inside an `async fn` (or `main`)",
                     e.span, "not in an async context",
                     suggestion="mark the enclosing function `async`")
        t = prune(self.check_expr(e.expr, scope))
        if isinstance(t, Generic) and t.name in ("Future", "Task", "Thread"):
            return t.args[0]
        if not isinstance(t, TypeVar):
            self.err("T2001", f"`await` needs a future or a task, found `{resolve(t)}`",
                     e.expr.span)
        return TypeVar()

    def x_Spawn(self, e, scope, expected):
        return self.spawn_type(self.check_expr(e.expr, scope), e.expr)

    def x_ActorNew(self, e, scope, expected):
        te = e.target
        if e.capacity is not None:
            self.coerce(self.check_expr(e.capacity, scope, INT), INT, e.capacity)
        entry = scope.lookup(te.path[0]) if isinstance(te, ast.NamedType) and len(
            te.path) == 1 else None
        if not isinstance(entry, TypeEntry) or entry.kind not in ("class", "template"):
            self.err("T2005", f"`actor` needs a class or template, found `{self.text(te)}`",
                     te.span)
            return TypeVar()
        st = self.struct_for(entry, te.args, scope, None, e.span)
        if not isinstance(st, StructT):
            return TypeVar()
        self.fill_fields(e, st, e.args, scope)
        if "handle" not in st.methods:
            self.err("T2004", f"`{st}` has no `handle` method, so it cannot be an actor",
                     e.span, suggestion="add `fn handle(&mut self, msg: T)`")
        else:
            h = st.methods["handle"]
            self.ctx.infer.pending.append((_Holder(), lambda h=h, st=st, sp=e.span:
                                           self.fn_instance(resolve(st, UNIT).methods.get(
                                               "handle", h), (), sp)))
        return Generic("Actor", (st,))

    def x_Scoped(self, e, scope, expected):
        # What may leave the block is checked on types once the function's types are
        # resolved (checker_escape.EscapeAnalysis, run by check_fn_body).
        self.scoped_blocks += 1
        self.ctx.scoped_depth += 1
        try:
            return self.check_block(e.body, scope, expected)
        finally:
            self.ctx.scoped_depth -= 1

    def x_Unsafe(self, e, scope, expected):
        self.ctx.unsafe += 1
        try:
            return self.check_block(e.body, scope, expected)
        finally:
            self.ctx.unsafe -= 1

    # ------------------------------------------------------------ patterns

    def check_pattern(self, pat: ast.Pattern, t: Type, scope: Scope, refutable: bool,
                      mutable: bool = False, infer_span=None) -> None:
        pat.ty = t
        if isinstance(pat, ast.IdentPat):
            if refutable:
                ts = strip_ref(t)
                if isinstance(ts, EnumT):
                    v = ts.variant(pat.name)
                    if v is not None:
                        pat.sym = VariantRef(ts, v)
                        if v.payload:
                            self.err("T2014", f"variant `{v.name}` carries a value: write "
                                     f"`{v.name}({', '.join('_' for _ in v.payload)})`",
                                     pat.span)
                        return
                if isinstance(scope.lookup(pat.name), VariantEntry):
                    self.err("T2014", f"variant `{pat.name}` does not belong to `{resolve(t)}`",
                             pat.span, "mismatched pattern")
                    return
            ctx = self.ctx
            local = Local(pat.name, t, mutable or pat.mutable, pat.span, ctx.fn,
                          scoped_depth=ctx.scoped_depth)
            pat.sym = local
            scope.define(pat.name, local)
            ctx.fn.locals.append(local)
            if infer_span is not None:
                ctx.infer.lets.append((local, infer_span))
            return
        if isinstance(pat, ast.VariantPat):
            if not refutable:
                self.err("T2014", "a variant pattern can fail to match; use `match` or "
                         "`while let`", pat.span)
            enum, v = self.pattern_variant(pat, t, scope)
            if v is None:
                for p in pat.args or []:
                    self.check_pattern(p, TypeVar(), scope, refutable, mutable)
                return
            pat.sym = VariantRef(enum, v)
            args = pat.args or []
            if len(args) != len(v.payload):
                self.err("T2014", f"variant `{v.name}` has {len(v.payload)} field"
                         f"{'s' * (len(v.payload) != 1)} but the pattern has {len(args)}",
                         pat.span)
            for p, pt in zip(args, v.payload, strict=False):
                self.check_pattern(p, pt, scope, refutable, mutable)
            return
        if isinstance(pat, ast.WildcardPat):
            return
        if isinstance(pat, ast.LitPat):
            if not refutable:
                self.err("T2014", "a literal pattern can fail to match; use `match` or `if`",
                         pat.span)
            lt = self.check_expr(pat.value, scope, t)
            self.coerce(lt, t, pat.value)
            return
        if isinstance(pat, ast.RangePat):
            for side in (pat.start, pat.end):
                self.coerce(self.check_expr(side, scope, t), t, side)
            return
        if isinstance(pat, ast.TuplePat):
            ts = prune(t)
            if isinstance(ts, TypeVar):
                ts = TupleT(tuple(TypeVar() for _ in pat.elems))
                unify(t, ts)
            if not isinstance(ts, TupleT) or len(ts.elems) != len(pat.elems):
                self.err("T2014", f"mismatched pattern: expected `{resolve(t)}`, found a tuple "
                         f"of {len(pat.elems)}", pat.span)
                for p in pat.elems:
                    self.check_pattern(p, TypeVar(), scope, refutable, mutable)
                return
            for p, et in zip(pat.elems, ts.elems, strict=True):
                self.check_pattern(p, et, scope, refutable, mutable)
            return
        if isinstance(pat, ast.OrPat):
            for alt in pat.alts:
                before = set(scope.names)
                self.check_pattern(alt, t, scope, refutable, mutable)
                if set(scope.names) - before:
                    self.err("T2014", "bindings are not allowed inside `|` patterns", alt.span)
            return

    def pattern_variant(self, pat: ast.VariantPat, t: Type, scope: Scope):
        ts = strip_ref(t)
        name = pat.path[-1]
        if isinstance(ts, EnumT) and (len(pat.path) == 1 or pat.path[-2] == ts.name):
            v = ts.variant(name)
            if v is not None:
                return ts, v
        if len(pat.path) == 1:
            entry = scope.lookup(name)
        else:
            entry = self.lookup_path(pat.path[:-1], scope, pat.span)
            if isinstance(entry, TypeEntry) and entry.kind == "enum":
                entry = VariantEntry(entry, name) if any(
                    v.name == name for v in entry.decl.variants) else None
            elif isinstance(entry, ModuleEntry):
                entry = entry.scope.names.get(name)
            else:
                entry = None
        if isinstance(entry, VariantEntry):
            enum, v = self.variant_instance(entry, [], scope, None, pat.span)
            if not self.compatible(enum, ts):
                self.err("T2014", f"mismatched pattern: expected `{resolve(t)}`, found variant "
                         f"`{name}` of `{resolve(enum)}`", pat.span)
                return None, None
            return enum, v
        self.err("T2014", f"no variant `{'::'.join(pat.path)}` for type `{resolve(t)}`",
                 pat.span, "unknown variant")
        return None, None

    def check_exhaustive(self, e: ast.Match, st: Type) -> None:
        t = strip_ref(st)
        covered: set[str] = set()
        for arm in e.arms:
            if arm.guard is not None:
                continue
            if self.irrefutable(arm.pattern):
                return
            self.covered(arm.pattern, covered)
        if isinstance(t, EnumT):
            missing = [v.name for v in t.variants if v.name not in covered]
            if not missing:
                return
            what = ", ".join(f"`{m}`" for m in missing[:4])
        elif t == BOOL:
            missing = [b for b in ("true", "false") if b not in covered]
            if not missing:
                return
            what = ", ".join(f"`{m}`" for m in missing)
        else:
            # SEMANTICS.md: a missing case of an enum is a warning; other types panic at
            # run time when no arm matches.
            return
        self.warn("W4000", f"non-exhaustive match: {what} not covered", e.subject.span,
                  "this value is matched", notes=(
                      "a value that no arm matches panics at run time",),
                  suggestion="add a `_ => ...` arm")

    def irrefutable(self, p: ast.Pattern) -> bool:
        if isinstance(p, ast.WildcardPat):
            return True
        if isinstance(p, ast.IdentPat):
            return isinstance(p.sym, Local)
        if isinstance(p, ast.TuplePat):
            return all(self.irrefutable(x) for x in p.elems)
        if isinstance(p, ast.OrPat):
            return any(self.irrefutable(x) for x in p.alts)
        return False

    def covered(self, p: ast.Pattern, out: set[str]) -> None:
        if isinstance(p, (ast.IdentPat, ast.VariantPat)) and isinstance(p.sym, VariantRef):
            args = getattr(p, "args", None) or []
            if all(self.irrefutable(a) for a in args):
                out.add(p.sym.variant.name)
        elif isinstance(p, ast.LitPat) and isinstance(p.value, ast.BoolLit):
            out.add("true" if p.value.value else "false")
        elif isinstance(p, ast.OrPat):
            for a in p.alts:
                self.covered(a, out)


class _Holder:
    """A throwaway node for pending instantiations that annotate nothing."""

    span = None
    sym = None


def count_placeholders(fmt: str) -> int | None:
    """Number of `{}` in a format string (`{{`/`}}` are literal braces); None if malformed."""
    n = 0
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "{":
            if fmt.startswith("{{", i):
                i += 2
                continue
            if fmt.startswith("{}", i):
                n += 1
                i += 2
                continue
            return None
        if c == "}":
            if fmt.startswith("}}", i):
                i += 2
                continue
            return None
        i += 1
    return n


__all__ = ["ExprChecker", "DISCARD", "count_placeholders"]
