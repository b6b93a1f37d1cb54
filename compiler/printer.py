"""The pretty-printer: AST -> canonical Vyn source.

The output is brace-form with 4-space indentation and only the parentheses that the
grammar needs, so that `parse(print_module(tree)) == tree` for every tree the parser
produces (AST equality ignores spans). Layout decisions follow the lexer's rules: every
line that opens a block ends with `{`, expressions never break across lines except inside
blocks, and no line ends with an operator that would continue it.
"""

from __future__ import annotations

import math
import re
import sys

from compiler import ast
from compiler.parser import BINARY_BP

INDENT = "    "

# Precedence levels of printed expressions (higher binds tighter); binary operators use
# the parser's binding powers (1 ranges .. 10 multiplicative).
P_LOWEST = 0       # needs parentheses wherever an operand is expected
P_RANGE = 1
P_CAST = 11
P_PREFIX = 12      # -x !x ~x *p &x await x
P_POSTFIX = 13     # calls, method calls, fields, indexing
P_PRIMARY = 14

_IDENT_RE = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*\Z")
_GT_CALL = re.compile(r">\s*(\(|::)")
_DIGITS = re.compile(r"[0-9]+\Z")
_STARTS_WITH_MUT = re.compile(r"mut(?![A-Za-z0-9_\u0080-\U0010ffff])")

# Expressions that end in a block or otherwise read badly as operands: always
# parenthesized when they appear under an operator or a postfix.
_COMPOUND = (ast.If, ast.Match, ast.For, ast.Block, ast.Lambda, ast.Scoped, ast.Unsafe,
             ast.Todo)

_CHAR_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", "\\": "\\\\"}


def _deep() -> None:
    if sys.getrecursionlimit() < 20000:
        sys.setrecursionlimit(20000)


def print_module(module: ast.Module) -> str:
    """The whole file as canonical source text (ends with a newline unless empty)."""
    _deep()
    return _Printer().module(module)


def print_expr(expr: ast.Expr, indent: int = 0) -> str:
    """One expression; nested blocks are indented relative to `indent` levels."""
    _deep()
    return _Printer().expr(expr, indent)


def print_type(ty: ast.TypeExpr) -> str:
    _deep()
    return _Printer().type(ty)


def print_pattern(pat: ast.Pattern) -> str:
    _deep()
    return _Printer().pattern(pat)


def print_stmt(stmt: ast.Stmt, indent: int = 0) -> str:
    """One statement or declaration, without leading indentation on its first line."""
    _deep()
    return _Printer().stmt(stmt, indent)


# ---------------------------------------------------------------- literals

def quote_string(value: str) -> str:
    return '"' + "".join(_escape(c, '"') for c in value) + '"'


def quote_char(value: str) -> str:
    return "'" + "".join(_escape(c, "'") for c in value) + "'"


def _escape(c: str, quote: str) -> str:
    if c == quote:
        return "\\" + c
    e = _CHAR_ESCAPES.get(c)
    if e is not None:
        return e
    if c.isprintable() or 0xD800 <= ord(c) <= 0xDFFF:
        # Lone surrogates cannot be written as `\u{...}` (the lexer rejects them), but
        # they can appear raw in the source text they came from.
        return c
    return f"\\u{{{ord(c):X}}}"


def int_literal(value: int) -> str:
    """Decimal for non-negative values; a negative Int can only come from a 64-bit hex
    literal (two's complement), so it prints as hex again."""
    if value >= 0:
        return str(value)
    return f"0x{value & ((1 << 64) - 1):X}"


def float_literal(value: float) -> str:
    """Text that re-lexes to exactly `value` (always with a `.` or an exponent)."""
    # Infinities and NaN are not literals (`1e400` is an L0007 error); the parser never
    # produces them, and they print as the expressions that compute them.
    if math.isinf(value):
        return "(1.0 / 0.0)" if value > 0 else "(-1.0 / 0.0)"
    if math.isnan(value):
        return "(0.0 / 0.0)"
    text = repr(value)
    if "." not in text and "e" not in text and "E" not in text:
        text += ".0"
    return text


# ---------------------------------------------------------------- the printer

class _Printer:
    # ------------------------------------------------------------ module, statements

    def module(self, m: ast.Module) -> str:
        out: list[str] = []
        prev: ast.Stmt | None = None
        for item in m.items:
            if prev is not None and not (_one_liner(prev) and _one_liner(item)
                                         and type(prev) is type(item)):
                out.append("")
            out.append(self.stmt(item, 0))
            prev = item
        return "\n".join(out) + "\n" if out else ""

    def stmt(self, s: ast.Stmt, ind: int) -> str:
        meth = getattr(self, "s_" + type(s).__name__, None)
        if meth is None:
            raise TypeError(f"cannot print statement {type(s).__name__}")
        return meth(s, ind)

    def stmts(self, stmts: list[ast.Stmt], ind: int) -> str:
        """`{ ... }` holding statements at indent `ind + 1`; the braces at `ind`."""
        if not stmts:
            return "{}"
        pad = INDENT * (ind + 1)
        body = "\n".join(pad + self.stmt(s, ind + 1) for s in stmts)
        return "{\n" + body + "\n" + INDENT * ind + "}"

    def block(self, b: ast.Block, ind: int) -> str:
        return self.stmts(b.stmts, ind)

    def s_ExprStmt(self, s: ast.ExprStmt, ind: int) -> str:
        return self.expr(s.expr, ind)

    def s_Let(self, s: ast.Let, ind: int) -> str:
        text = ("var " if s.mutable else "let ") + self.pattern(s.pattern)
        if s.type is not None:
            text += ": " + self.type(s.type, ind)
        if s.value is not None:
            text += " = " + self.expr(s.value, ind)
        return text

    def s_Assign(self, s: ast.Assign, ind: int) -> str:
        return f"{self.expr(s.target, ind)} {s.op} {self.expr(s.value, ind)}"

    def s_Return(self, s: ast.Return, ind: int) -> str:
        return "return" if s.value is None else "return " + self.expr(s.value, ind)

    def s_Break(self, s: ast.Break, ind: int) -> str:
        return "break" if s.value is None else "break " + self.expr(s.value, ind)

    def s_Continue(self, s: ast.Continue, ind: int) -> str:
        return "continue"

    def s_While(self, s: ast.While, ind: int) -> str:
        return f"while {self.head(s.cond, ind)} {self.block(s.body, ind)}"

    def s_WhileLet(self, s: ast.WhileLet, ind: int) -> str:
        return (f"while let {self.pattern(s.pattern)} = {self.head(s.value, ind)} "
                f"{self.block(s.body, ind)}")

    def s_Loop(self, s: ast.Loop, ind: int) -> str:
        return "loop " + self.block(s.body, ind)

    def s_SpawnFn(self, s: ast.SpawnFn, ind: int) -> str:
        return "spawn " + self.s_FnDecl(s.func, ind)

    def attrs(self, attrs: list[ast.Attribute], ind: int) -> str:
        return "".join(self.attribute(a) + "\n" + INDENT * ind for a in attrs)

    def attribute(self, a: ast.Attribute) -> str:
        text = ("#" if a.hash else "@") + a.name
        if a.args:
            text += "(" + ", ".join(
                arg if _IDENT_RE.match(arg) else quote_string(arg) for arg in a.args) + ")"
        return text

    def s_FnDecl(self, f: ast.FnDecl, ind: int) -> str:
        text = self.attrs(f.attrs, ind)
        if f.is_async:
            text += "async "
        if f.is_unsafe:
            text += "unsafe "
        text += "fn " + f.name + self.type_params(f.type_params, ind)
        params = [self.param(p, ind) for p in f.params]
        if f.variadic:
            params.append("...")
        text += "(" + ", ".join(params) + ")"
        if f.ret is not None:
            text += " -> " + self.type(f.ret, ind)
        if f.body is not None:
            text += " " + self.block(f.body, ind)
        return text

    def param(self, p: ast.Param, ind: int) -> str:
        if p.name == "self":
            t = p.type
            if (not p.mutable and isinstance(t, ast.RefType) and t.inner == _SELF_TYPE):
                return "&mut self" if t.mutable else "&self"
            prefix = "mut self" if p.mutable else "self"
            if t == _SELF_TYPE:
                return prefix
            return prefix + (": " + self.type(t, ind) if t is not None else "")
        text = ("mut " if p.mutable else "") + p.name
        if p.type is not None:
            text += ": " + self.type(p.type, ind)
        return text

    def type_params(self, tps: list[ast.TypeParam], ind: int) -> str:
        if not tps:
            return ""
        parts = []
        for tp in tps:
            part = tp.name
            if tp.bounds:
                part += ": " + " + ".join(self.type(b, ind) for b in tp.bounds)
            parts.append(part)
        return "<" + ", ".join(parts) + ">"

    def members(self, fields: list[ast.FieldDecl], methods: list[ast.FnDecl], ind: int) -> str:
        if not fields and not methods:
            return "{}"
        pad = INDENT * (ind + 1)
        lines = []
        for fd in fields:
            line = ("var " if fd.mutable else "let ") + fd.name + ": " + self.type(fd.type, ind + 1)
            if fd.default is not None:
                line += " = " + self.expr(fd.default, ind + 1)
            lines.append(pad + line)
        for i, m in enumerate(methods):
            if i or fields:
                lines.append("")
            lines.append(pad + self.s_FnDecl(m, ind + 1))
        return "{\n" + "\n".join(lines) + "\n" + INDENT * ind + "}"

    def s_TemplateDecl(self, d: ast.TemplateDecl, ind: int) -> str:
        text = self.attrs(d.attrs, ind) + "template " + d.name
        text += self.type_params(d.type_params, ind)
        if d.supers:
            text += ": " + ", ".join(self.type(t, ind) for t in d.supers)
        return text + " " + self.members(d.fields, d.methods, ind)

    def s_ClassDecl(self, d: ast.ClassDecl, ind: int) -> str:
        text = self.attrs(d.attrs, ind) + "class " + d.name + self.type_params(d.type_params, ind)
        if d.traits:
            text += ": " + ", ".join(self.type(t, ind) for t in d.traits)
        return text + " " + self.members(d.fields, d.methods, ind)

    def s_EnumDecl(self, d: ast.EnumDecl, ind: int) -> str:
        text = self.attrs(d.attrs, ind) + "enum " + d.name + self.type_params(d.type_params, ind)
        if not d.variants:
            return text + " {}"
        pad = INDENT * (ind + 1)
        vs = []
        for v in d.variants:
            line = v.name
            if v.payload:
                line += "(" + ", ".join(self.type(t, ind + 1) for t in v.payload) + ")"
            vs.append(pad + line)
        return text + " {\n" + ",\n".join(vs) + "\n" + INDENT * ind + "}"

    def s_Import(self, d: ast.Import, ind: int) -> str:
        text = "import " + "::".join(d.path)
        if d.alias is not None:
            text += " as " + d.alias
        return text

    def s_ModuleDecl(self, d: ast.ModuleDecl, ind: int) -> str:
        if d.items is None:
            return "module " + d.name
        return "module " + d.name + " " + self.stmts(d.items, ind)

    def s_ExternBlock(self, d: ast.ExternBlock, ind: int) -> str:
        text = self.attrs(d.attrs, ind) + "extern " + quote_string(d.abi) + " "
        return text + self.stmts(list(d.fns), ind)

    def s_MacroDecl(self, d: ast.MacroDecl, ind: int) -> str:
        return f"macro {d.name}({', '.join(d.params)}) {self.block(d.body, ind)}"

    # ------------------------------------------------------------ types

    def type(self, t: ast.TypeExpr, ind: int = 0) -> str:
        if isinstance(t, ast.NamedType):
            text = "::".join(t.path)
            if t.args:
                text += self.type_args(t.args, ind)
            return text
        if isinstance(t, ast.RefType):
            return ("&mut " if t.mutable else "&") + self.type(t.inner, ind)
        if isinstance(t, ast.PtrType):
            return "*" + self.type(t.inner, ind)
        if isinstance(t, ast.TupleType):
            return "(" + ", ".join(self.type(e, ind) for e in t.elems) + ")"
        if isinstance(t, ast.ArrayType):
            return f"[{self.type(t.elem, ind)}; {self.expr(t.size, ind)}]"
        if isinstance(t, ast.FnType):
            text = "fn(" + ", ".join(self.type(p, ind) for p in t.params) + ")"
            if t.ret is not None:
                text += " -> " + self.type(t.ret, ind)
            return text
        raise TypeError(f"cannot print type {type(t).__name__}")

    def type_args(self, args: list[ast.TypeExpr], ind: int) -> str:
        return "<" + ", ".join(self.type(a, ind) for a in args) + ">"

    # ------------------------------------------------------------ patterns

    def pattern(self, p: ast.Pattern) -> str:
        if isinstance(p, ast.WildcardPat):
            return "_"
        if isinstance(p, ast.IdentPat):
            return ("mut " if p.mutable else "") + p.name
        if isinstance(p, ast.LitPat):
            return self.lit_value(p.value)
        if isinstance(p, ast.TuplePat):
            return "(" + ", ".join(self.pattern(e) for e in p.elems) + ")"
        if isinstance(p, ast.VariantPat):
            text = "::".join(p.path)
            if p.args is not None:
                text += "(" + ", ".join(self.pattern(a) for a in p.args) + ")"
            return text
        if isinstance(p, ast.RangePat):
            op = ".." if p.inclusive else "..<"
            return self.lit_value(p.start) + op + self.lit_value(p.end)
        if isinstance(p, ast.OrPat):
            return " | ".join(self.pattern(a) for a in p.alts)
        raise TypeError(f"cannot print pattern {type(p).__name__}")

    def lit_value(self, e: ast.Expr) -> str:
        """A literal inside a pattern: a single token, or `-` and a number."""
        if isinstance(e, ast.Unary) and e.op == "-":
            return "-" + self.lit_value(e.operand)
        return self.expr(e, 0)

    # ------------------------------------------------------------ expressions

    def expr(self, e: ast.Expr, ind: int) -> str:
        """An expression where any expression may stand (no parentheses needed)."""
        return self.sub(e, P_LOWEST, ind)

    def head(self, e: ast.Expr, ind: int) -> str:
        """An expression before a block (`if`/`while`/`for`/`match` heads): a bare block
        there would be read as the body, so it is parenthesized."""
        if isinstance(e, ast.Block):
            return "(" + self.expr(e, ind) + ")"
        return self.expr(e, ind)

    def sub(self, e: ast.Expr, min_prec: int, ind: int, risky: bool = False) -> str:
        """`e` as an operand that must bind at least as tightly as `min_prec`.

        `risky`: the token after `e` may be `,` or `>` (see `e_Binary`)."""
        if min_prec > P_LOWEST and (_prec(e) < min_prec or isinstance(e, _COMPOUND)):
            return "(" + self.bare(e, ind) + ")"
        return self.bare(e, ind, risky)

    def bare(self, e: ast.Expr, ind: int, risky: bool = False) -> str:
        meth = getattr(self, "e_" + type(e).__name__, None)
        if meth is None:
            raise TypeError(f"cannot print expression {type(e).__name__}")
        return meth(e, ind, risky)

    def exprs(self, elems: list[ast.Expr], ind: int, names: list[str | None] | None = None
              ) -> str:
        """Comma-separated elements (with `name=` prefixes where `names` gives one).

        An element is `risky` (see `e_Binary`) when a later element holds a `>` before `(`
        or `::`: only then can `a < b, c > (d)` be read as type arguments."""
        parts: list[str] = []
        later_gt = False
        for i in range(len(elems) - 1, -1, -1):
            text = self.sub(elems[i], P_LOWEST, ind, later_gt)
            later_gt = later_gt or _GT_CALL.search(text) is not None
            name = names[i] if names else None
            parts.append(text if name is None else f"{name}={text}")
        return ", ".join(reversed(parts))

    def e_IntLit(self, e: ast.IntLit, ind: int, risky: bool = False) -> str:
        return int_literal(e.value)

    def e_FloatLit(self, e: ast.FloatLit, ind: int, risky: bool = False) -> str:
        return float_literal(e.value)

    def e_BoolLit(self, e: ast.BoolLit, ind: int, risky: bool = False) -> str:
        return "true" if e.value else "false"

    def e_CharLit(self, e: ast.CharLit, ind: int, risky: bool = False) -> str:
        return quote_char(e.value)

    def e_StringLit(self, e: ast.StringLit, ind: int, risky: bool = False) -> str:
        return quote_string(e.value)

    def e_NilLit(self, e: ast.NilLit, ind: int, risky: bool = False) -> str:
        return "nil"

    def e_SelfExpr(self, e: ast.SelfExpr, ind: int, risky: bool = False) -> str:
        return "self"

    def e_Todo(self, e: ast.Todo, ind: int, risky: bool = False) -> str:
        return "..."

    def e_Name(self, e: ast.Name, ind: int, risky: bool = False) -> str:
        return e.name + (self.type_args(e.type_args, ind) if e.type_args else "")

    def e_Path(self, e: ast.Path, ind: int, risky: bool = False) -> str:
        return "::".join(s.name + (self.type_args(s.type_args, ind) if s.type_args else "")
                         for s in e.segments)

    def e_Unary(self, e: ast.Unary, ind: int, risky: bool = False) -> str:
        return e.op + self.sub(e.operand, P_PREFIX, ind, risky)

    def e_AddrOf(self, e: ast.AddrOf, ind: int, risky: bool = False) -> str:
        operand = self.sub(e.operand, P_PREFIX, ind, risky)
        if e.mutable:
            return "&mut " + operand
        if _STARTS_WITH_MUT.match(operand):
            # `&mut.x` would read as `&mut` applied to `.x`.
            return "&(" + operand + ")"
        return "&" + operand

    def e_Await(self, e: ast.Await, ind: int, risky: bool = False) -> str:
        return "await " + self.sub(e.expr, P_PREFIX, ind, risky)

    def e_Binary(self, e: ast.Binary, ind: int, risky: bool = False) -> str:
        bp = BINARY_BP[e.op]
        right = self.sub(e.right, bp + 1, ind, risky)
        left = self.sub(e.left, bp, ind, e.op == ">" and right.startswith("("))
        if e.op == "<" and not (_prec(e.left) < bp or isinstance(e.left, _COMPOUND)):
            # After a name, `<` may start type arguments: the parser reads `a < b > (c)`
            # and `f(a < b, c > (d))` as generic calls `a<b>(c)` and `a<b, c>(d)`, and
            # `x as T < y` as the type `T<y`. Parenthesize the left operand where that
            # could happen.
            tail = _tail(e.left)
            if tail == "cast" or (tail == "name" and risky and _type_like(e.right)):
                left = "(" + left + ")"
        return f"{left} {e.op} {right}"

    def e_Range(self, e: ast.Range, ind: int, risky: bool = False) -> str:
        start = self.sub(e.start, P_RANGE + 1, ind)
        end = self.sub(e.end, P_RANGE + 1, ind, risky)
        return start + (".." if e.inclusive else "..<") + end

    def e_Cast(self, e: ast.Cast, ind: int, risky: bool = False) -> str:
        return self.sub(e.expr, P_CAST, ind) + " as " + self.type(e.target, ind)

    def receiver(self, e: ast.Expr, ind: int, numeric_field: str | None = None) -> str:
        """The expression before a postfix `(`, `[` or `.`."""
        if isinstance(e, (ast.IntLit, ast.FloatLit)):
            return "(" + self.bare(e, ind) + ")"
        if isinstance(e, ast.Await):
            # `x.await` chains read better than `(await x)`.
            return self.receiver(e.expr, ind) + ".await"
        if numeric_field is not None and isinstance(e, ast.Field) and e.name[:1].isdigit() \
                and not (_DIGITS.match(e.name) and _DIGITS.match(numeric_field)):
            # `t.0.1` lexes as `t . 0.1`, which the parser splits again; but `t.1_0.2`
            # would lex `1_0.2` as one malformed float.
            return "(" + self.bare(e, ind) + ")"
        return self.sub(e, P_POSTFIX, ind)

    def args(self, args: list[ast.Arg], ind: int) -> str:
        return "(" + self.exprs([a.value for a in args], ind, [a.name for a in args]) + ")"

    def e_Call(self, e: ast.Call, ind: int, risky: bool = False) -> str:
        callee = self.receiver(e.callee, ind)
        if isinstance(e.callee, ast.Field):
            callee = "(" + callee + ")"   # `a.f(x)` would be a method call
        return callee + self.args(e.args, ind)

    def e_MethodCall(self, e: ast.MethodCall, ind: int, risky: bool = False) -> str:
        text = self.receiver(e.receiver, ind) + "." + e.method
        if e.type_args:
            text += "::" + self.type_args(e.type_args, ind)
        return text + self.args(e.args, ind)

    def e_Field(self, e: ast.Field, ind: int, risky: bool = False) -> str:
        numeric = e.name if e.name[:1].isdigit() else None
        return self.receiver(e.obj, ind, numeric) + "." + e.name

    def e_Index(self, e: ast.Index, ind: int, risky: bool = False) -> str:
        return f"{self.receiver(e.obj, ind)}[{self.expr(e.index, ind)}]"

    def e_TupleLit(self, e: ast.TupleLit, ind: int, risky: bool = False) -> str:
        if len(e.elems) == 1:
            return "(" + self.expr(e.elems[0], ind) + ",)"
        return "(" + self.exprs(e.elems, ind) + ")"

    def e_ArrayLit(self, e: ast.ArrayLit, ind: int, risky: bool = False) -> str:
        return "[" + self.exprs(e.elems, ind) + "]"

    def e_MacroCall(self, e: ast.MacroCall, ind: int, risky: bool = False) -> str:
        inner = self.exprs(e.args, ind)
        return f"{e.name}![{inner}]" if e.bracket else f"{e.name}!({inner})"

    def e_Block(self, e: ast.Block, ind: int, risky: bool = False) -> str:
        return self.block(e, ind)

    def e_If(self, e: ast.If, ind: int, risky: bool = False) -> str:
        parts = []
        node: ast.Expr | None = e
        while isinstance(node, ast.If):       # else-if chains print without recursion
            parts.append(f"if {self.head(node.cond, ind)} {self.block(node.then, ind)}")
            node = node.else_
        text = " else ".join(parts)
        if node is not None:
            assert isinstance(node, ast.Block)
            text += " else " + self.block(node, ind)
        return text

    def e_Match(self, e: ast.Match, ind: int, risky: bool = False) -> str:
        head = f"match {self.head(e.subject, ind)} "
        if not e.arms:
            return head + "{}"
        pad = INDENT * (ind + 1)
        lines = []
        for arm in e.arms:
            line = self.pattern(arm.pattern)
            if arm.guard is not None:
                line += " if " + self.expr(arm.guard, ind + 1)
            line += " => " + self.expr(arm.body, ind + 1)
            lines.append(pad + line)
        return head + "{\n" + "\n".join(lines) + "\n" + INDENT * ind + "}"

    def e_For(self, e: ast.For, ind: int, risky: bool = False) -> str:
        return (f"for {self.pattern(e.pattern)} in {self.head(e.iter, ind)} "
                f"{self.block(e.body, ind)}")

    def e_Lambda(self, e: ast.Lambda, ind: int, risky: bool = False) -> str:
        text = "fn(" + ", ".join(self.param(p, ind) for p in e.params) + ")"
        if e.ret is not None:
            text += " -> " + self.type(e.ret, ind)
        return text + " " + self.block(e.body, ind)

    def e_Spawn(self, e: ast.Spawn, ind: int, risky: bool = False) -> str:
        return "spawn(" + self.expr(e.expr, ind) + ")"

    def e_ActorNew(self, e: ast.ActorNew, ind: int, risky: bool = False) -> str:
        cap = f"[{self.expr(e.capacity, ind)}]" if e.capacity is not None else ""
        return "actor" + cap + " " + self.type(e.target, ind) + self.args(e.args, ind)

    def e_Scoped(self, e: ast.Scoped, ind: int, risky: bool = False) -> str:
        return "scoped " + self.block(e.body, ind)

    def e_Unsafe(self, e: ast.Unsafe, ind: int, risky: bool = False) -> str:
        return "unsafe " + self.block(e.body, ind)


_SELF_TYPE = ast.NamedType(["Self"])


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.Binary):
        return BINARY_BP[e.op]
    if isinstance(e, ast.Range):
        return P_RANGE
    if isinstance(e, ast.Cast):
        return P_CAST
    if isinstance(e, (ast.Unary, ast.AddrOf, ast.Await)):
        return P_PREFIX
    if isinstance(e, (ast.Call, ast.MethodCall, ast.Field, ast.Index)):
        return P_POSTFIX
    return P_PRIMARY


def _tail(e: ast.Expr) -> str | None:
    """What `e` ends in when printed: "name" (a bare name or path, after which the parser
    tries `<` as type arguments), "cast" (a type, which takes `<` as type arguments), or
    None."""
    while True:
        if isinstance(e, ast.Name):
            return None if e.type_args else "name"
        if isinstance(e, ast.Path):
            return None if e.segments[-1].type_args else "name"
        if isinstance(e, ast.Cast):
            return "cast"
        if isinstance(e, (ast.Unary, ast.AddrOf, ast.Await)):
            inner = e.operand if not isinstance(e, ast.Await) else e.expr
            if _prec(inner) < P_PREFIX or isinstance(inner, _COMPOUND):
                return None
            e = inner
            continue
        if isinstance(e, ast.Binary):
            bp = BINARY_BP[e.op]
            if _prec(e.right) < bp + 1 or isinstance(e.right, _COMPOUND):
                return None
            e = e.right
            continue
        if isinstance(e, ast.Range):
            if _prec(e.end) < P_RANGE + 1 or isinstance(e.end, _COMPOUND):
                return None
            e = e.end
            continue
        return None


def _type_like(e: ast.Expr) -> bool:
    """Whether the printed `e` could also be read as a type (conservatively)."""
    return isinstance(e, (ast.Name, ast.Path, ast.SelfExpr, ast.TupleLit, ast.AddrOf)) or (
        isinstance(e, ast.Unary) and e.op == "*")


def _one_liner(s: ast.Stmt) -> bool:
    return isinstance(s, (ast.Import, ast.Let)) or (
        isinstance(s, ast.ModuleDecl) and s.items is None)
