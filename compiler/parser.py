"""The parser: tokens -> AST (guide sections 2-6), with error recovery per statement.

Recursive descent for declarations and statements, precedence climbing for expressions.
On a syntax error the parser reports one diagnostic and skips to the end of the current
statement, so independent errors in one file are all reported.
"""

from __future__ import annotations

import sys

from compiler import ast
from compiler.diagnostics import DiagnosticSink, Label
from compiler.gcpause import pauses_gc
from compiler.lexer import lex
from compiler.span import SourceFile, Span
from compiler.tokens import T, Token

_new = tuple.__new__   # builds a Span without namedtuple's Python-level __new__
# Token kinds as module constants: loading an Enum member through its class is several
# times slower than a global, and the parser tests kinds on every token.
IDENT, INT, FLOAT, CHAR, STRING = T.IDENT, T.INT, T.FLOAT, T.CHAR, T.STRING
KEYWORD, OP, ATTR, HASH_ATTR, NEWLINE, EOF = T.KEYWORD, T.OP, T.ATTR, T.HASH_ATTR, T.NEWLINE, T.EOF

# Binding powers for binary operators (higher binds tighter). `as` binds tighter than `*`
# (SEMANTICS.md, Syntax) and is handled in the same loop as a postfix-like operator.
BINARY_BP: dict[str, int] = {
    "..": 1, "..<": 1,
    "||": 2,
    "&&": 3,
    "==": 4, "!=": 4, "<": 4, ">": 4, "<=": 4, ">=": 4,
    "|": 5,
    "^": 6,
    "&": 7,
    "<<": 8, ">>": 8,
    "+": 9, "-": 9,
    "*": 10, "/": 10, "%": 10,
}
AS_BP = 11
ASSIGN_OPS = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="})
# Texts that may start a prefix operator, and that continue an expression as a postfix.
PREFIX_OPS = frozenset({"-", "!", "~", "*", "&", "&&", "await"})
POSTFIX_OPS = frozenset({"(", "[", "."})
# Keywords that may name a path member: `vyn::spawn`, `Thread::spawn`.
PATH_KEYWORDS = frozenset({"spawn", "await", "actor", "self", "async"})
MAX_DEPTH = 256          # nested expressions/blocks the parser accepts
# Binary operators in one flat chain (keeps later passes' recursion bounded).
MAX_CHAIN = 2000


class ParseError(Exception):
    """Internal: unwinds to the nearest recovery point after a diagnostic was reported."""


@pauses_gc
def parse(source: SourceFile, sink: DiagnosticSink) -> ast.Module:
    """Parse one file. Diagnostics go to `sink`; a (possibly partial) Module is always returned."""
    tokens = lex(source, sink)
    if sys.getrecursionlimit() < 20000:
        sys.setrecursionlimit(20000)
    return Parser(tokens, source, sink).parse_module()


def parse_expression(text: str, sink: DiagnosticSink, name: str = "<expr>") -> ast.Expr | None:
    """Parse one expression (the debugger's `print`, conditions, watch expressions)."""
    source = SourceFile(name, text)
    tokens = lex(source, sink)
    p = Parser(tokens, source, sink)
    try:
        e = p.parse_expr()
        p.skip_newlines()
        if p.tok.kind is not EOF:
            raise p.error("P1000", f"unexpected {p.describe(p.tok)} after the expression")
        return e
    except ParseError:
        return None


class Parser:
    def __init__(self, tokens: list[Token], source: SourceFile, sink: DiagnosticSink):
        self.toks = tokens
        self.i = 0
        self.tok = tokens[0]     # always toks[i]: set by advance/seek, read everywhere
        self.src = source
        self.sink = sink
        self.depth = 0
        self.splits: list[tuple[int, Token]] = []   # (index, original) of split `>>` tokens

    # ------------------------------------------------------------ token helpers

    def peek(self, k: int = 1) -> Token:
        j = min(self.i + k, len(self.toks) - 1)
        return self.toks[j]

    def advance(self) -> Token:
        t = self.tok
        if t.kind is not EOF:
            self.i += 1
            self.tok = self.toks[self.i]
        return t

    def seek(self, i: int) -> None:
        self.i = i
        self.tok = self.toks[i]

    # An operator's text is never the text of another kind of token the parser sees
    # (strings keep their quotes, `;` arrives as NEWLINE), so operators are tested by text.
    # Where the current token is known not to be EOF, the methods below step past it
    # inline (`i += 1`) instead of calling advance().

    def at_op(self, text: str) -> bool:
        return self.tok.text == text

    def at_kw(self, text: str) -> bool:
        t = self.tok
        return t.text == text and t.kind is KEYWORD

    def eat_op(self, text: str) -> bool:
        if self.tok.text == text:
            self.i += 1
            self.tok = self.toks[self.i]
            return True
        return False

    def eat_kw(self, text: str) -> bool:
        t = self.tok
        if t.text == text and t.kind is KEYWORD:
            self.advance()
            return True
        return False

    def skip_newlines(self) -> None:
        if self.tok.kind is NEWLINE:
            i = self.i + 1
            while self.toks[i].kind is NEWLINE:
                i += 1
            self.seek(i)

    def describe(self, t: Token) -> str:
        if t.kind is EOF:
            return "end of file"
        if t.kind is NEWLINE:
            return "end of line" if t.text == "\n" else "`;`"
        if t.synthetic and t.text in "{}":
            return "an indented block" if t.text == "{" else "the end of an indented block"
        return f"`{t.text}`"

    def error(self, code: str, message: str, span: Span | None = None, label: str = "",
              **kw) -> ParseError:
        self.sink.error(code, message, span or self.tok.span, label, **kw)
        return ParseError()

    def expect_op(self, text: str, what: str = "") -> Token:
        t = self.tok
        if t.text == text:
            self.i += 1
            self.tok = self.toks[self.i]
            return t
        raise self.error("P1000", f"expected `{text}`{what}, found {self.describe(t)}",
                         t.span, f"expected `{text}`")

    def expect_ident(self, what: str = "a name") -> Token:
        t = self.tok
        if t.kind is IDENT:
            self.i += 1
            self.tok = self.toks[self.i]
            return t
        raise self.error("P1000", f"expected {what}, found {self.describe(t)}", t.span,
                         f"expected {what}")

    def expect_close(self, text: str, opener: Token) -> Token:
        t = self.tok
        if t.text == text:
            self.i += 1
            self.tok = self.toks[self.i]
            return t
        raise self.error(
            "P1004", f"expected `{text}` to close `{opener.text}`, found {self.describe(t)}",
            t.span, f"expected `{text}`",
            secondary=(ast_label(opener.span, "unclosed delimiter opened here"),))

    def span_from(self, start: Token) -> Span:
        """From `start` through the last token consumed."""
        s = start.span
        e = self.toks[self.i - 1].span
        if e[2] >= s[2]:
            return _new(Span, (s[0], s[1], e[2], s[3], s[4], e[5], e[6]))
        return s

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep()

    def too_deep(self) -> ParseError:
        # Undo this level only: the callers' `finally: leave()` unwind the rest, and
        # recovery points restore the depth they saved.
        self.depth -= 1
        return self.error("L0010", "nesting too deep", self.tok.span,
                          f"more than {MAX_DEPTH} nested expressions or blocks")

    def leave(self) -> None:
        self.depth -= 1

    def sync_statement(self) -> None:
        """Skip to the end of the current statement (a NEWLINE or a `}` at this depth)."""
        depth = 0
        while True:
            t = self.tok
            if t.kind is EOF:
                return
            if t.kind is OP:
                if t.text in "([{":
                    depth += 1
                elif t.text in ")]}":
                    if depth == 0:
                        if t.text != "}":
                            self.advance()
                            continue
                        return
                    depth -= 1
            elif t.kind is NEWLINE and depth == 0:
                self.advance()
                return
            self.advance()

    # ------------------------------------------------------------ module and items

    def parse_module(self) -> ast.Module:
        start = self.tok
        items = self.parse_items(top=True)
        return ast.Module(self.src.name, items, span=start.span.to(self.tok.span))

    def parse_items(self, top: bool) -> list[ast.Stmt]:
        items: list[ast.Stmt] = []
        while True:
            self.skip_newlines()
            t = self.tok
            if t.kind is EOF:
                return items
            if not top and t.text == "}":
                return items
            if t.text == "}":
                self.error("P1000", "unexpected `}`", t.span, "no block to close here")
                self.advance()
                continue
            depth = self.depth
            try:
                item = self.parse_item()
                if item is not None:
                    items.append(item)
                self.end_statement()
            except ParseError:
                self.depth = depth
                self.sync_statement()

    def parse_item(self) -> ast.Stmt | None:
        attrs = self.parse_attrs()
        t = self.tok
        if t.kind is KEYWORD:
            if t.text in ("let", "var"):
                return self.parse_let()
            if t.text in ("fn", "async", "unsafe", "pub") or t.text in (
                    "class", "template", "enum", "import", "module", "extern", "macro"):
                decl = self.parse_decl(attrs)
                if decl is not None:
                    return decl
        raise self.error("P1005", f"expected a declaration, found {self.describe(t)}", t.span,
                         "expected `fn`, `class`, `template`, `enum`, `import`, `let` ...")

    def parse_attrs(self) -> list[ast.Attribute]:
        attrs: list[ast.Attribute] = []
        while self.tok.kind in (ATTR, HASH_ATTR):
            t = self.advance()
            args: list[str] = []
            if self.at_op("(") and self.tok.span.start == t.span.end:
                opener = self.advance()
                while not self.at_op(")"):
                    a = self.tok
                    if a.kind in (IDENT, KEYWORD, INT, STRING):
                        args.append(str(a.value) if a.kind is STRING else a.text)
                        self.advance()
                    else:
                        raise self.error("P1000", f"unexpected {self.describe(a)} in attribute")
                    if not self.eat_op(","):
                        break
                self.expect_close(")", opener)
            attrs.append(ast.Attribute(t.text, args, t.kind is HASH_ATTR,
                                       span=self.span_from(t)))
            self.skip_newlines()
        return attrs

    def parse_decl(self, attrs: list[ast.Attribute]) -> ast.Stmt | None:
        """A declaration at the current token, or None if the token does not start one."""
        self.eat_kw("pub")
        t = self.tok
        if t.is_kw("fn") and self.peek().kind is IDENT:
            return self.parse_fn(attrs)
        if t.is_kw("async") or (t.is_kw("unsafe") and self.peek().is_kw("fn")):
            start = self.advance()
            is_async = start.text == "async"
            is_unsafe = start.text == "unsafe"
            if self.at_kw("unsafe"):
                self.advance()
                is_unsafe = True
            if not self.at_kw("fn"):
                raise self.error("P1000", f"expected `fn`, found {self.describe(self.tok)}")
            fn = self.parse_fn(attrs, start=start)
            fn.is_async, fn.is_unsafe = is_async, is_unsafe
            return fn
        if t.is_kw("class"):
            return self.parse_class(attrs)
        if t.is_kw("template"):
            return self.parse_template(attrs)
        if t.is_kw("enum"):
            return self.parse_enum(attrs)
        if t.is_kw("import"):
            return self.parse_import()
        if t.is_kw("module"):
            return self.parse_module_decl()
        if t.is_kw("extern"):
            return self.parse_extern(attrs)
        if t.is_kw("macro"):
            return self.parse_macro()
        return None

    def parse_type_params(self) -> list[ast.TypeParam]:
        params: list[ast.TypeParam] = []
        if not self.at_op("<"):
            return params
        opener = self.advance()
        while not self.at_op(">"):
            name = self.expect_ident("a type parameter")
            bounds: list[ast.TypeExpr] = []
            if self.eat_op(":"):
                bounds.append(self.parse_type())
                while self.eat_op("+"):
                    bounds.append(self.parse_type())
            params.append(ast.TypeParam(name.text, bounds, span=self.span_from(name)))
            if not self.eat_op(","):
                break
        self.expect_close_angle(opener)
        return params

    def parse_fn(self, attrs: list[ast.Attribute], start: Token | None = None,
                 allow_no_body: bool = True) -> ast.FnDecl:
        kw = self.advance()  # fn
        start = start or kw
        name = self.expect_ident("a function name")
        tparams = self.parse_type_params()
        params, variadic = self.parse_params()
        ret = None
        if self.eat_op("->"):
            ret = self.parse_type()
        body = None
        if self.at_op("{"):
            body = self.parse_block()
        elif not allow_no_body or not (self.tok.kind in (NEWLINE, EOF) or self.at_op("}")):
            raise self.error("P1007", f"expected a function body, found {self.describe(self.tok)}",
                             self.tok.span, "expected `{` or an indented block")
        fn = ast.FnDecl(name.text, tparams, params, ret, body, variadic=variadic, attrs=attrs,
                        span=self.span_from(start), name_span=name.span)
        return fn

    def parse_params(self) -> tuple[list[ast.Param], bool]:
        opener = self.expect_op("(", " before the parameter list")
        params: list[ast.Param] = []
        variadic = False
        while not self.at_op(")"):
            if self.eat_op("..."):
                variadic = True
                break
            params.append(self.parse_param())
            if not self.eat_op(","):
                break
        self.expect_close(")", opener)
        return params, variadic

    def parse_param(self) -> ast.Param:
        t = self.tok
        if t.text == "&":
            # `&self` / `&mut self`
            self.advance()
            mutable = self.eat_kw_ident("mut")
            s = self.tok
            if not s.is_kw("self"):
                raise self.error("P1000", f"expected `self`, found {self.describe(s)}")
            self.advance()
            ty = ast.RefType(ast.NamedType(["Self"], span=s.span), mutable, span=self.span_from(t))
            return ast.Param("self", ty, span=self.span_from(t))
        mutable = self.eat_kw_ident("mut") or self.eat_kw("var")
        if self.at_kw("self"):
            s = self.advance()
            ty = self.parse_type() if self.eat_op(":") else ast.NamedType(["Self"], span=s.span)
            return ast.Param("self", ty, mutable, span=self.span_from(t))
        name = self.expect_ident("a parameter name")
        ty = self.parse_type() if self.eat_op(":") else None
        return ast.Param(name.text, ty, mutable, span=self.span_from(t))

    def eat_kw_ident(self, word: str) -> bool:
        """Contextual keywords (`mut`) are identifiers in the lexer."""
        if self.tok.kind is IDENT and self.tok.text == word:
            self.advance()
            return True
        return False

    def parse_members(self, kind: str) -> tuple[list[ast.FieldDecl], list[ast.FnDecl]]:
        opener = self.expect_block_open(kind)
        fields: list[ast.FieldDecl] = []
        methods: list[ast.FnDecl] = []
        while True:
            self.skip_newlines()
            if self.at_op("}") or self.tok.kind is EOF:
                break
            depth = self.depth
            try:
                attrs = self.parse_attrs()
                self.eat_kw("pub")
                t = self.tok
                if t.is_kw("var") or t.is_kw("let"):
                    self.advance()
                    name = self.expect_ident("a field name")
                    self.expect_op(":", " after the field name")
                    ty = self.parse_type()
                    default = self.parse_expr() if self.eat_op("=") else None
                    fields.append(ast.FieldDecl(name.text, ty, default, t.text == "var",
                                                span=self.span_from(t)))
                elif t.is_kw("fn") or t.is_kw("async") or t.is_kw("unsafe"):
                    decl = self.parse_decl(attrs)
                    if not isinstance(decl, ast.FnDecl):
                        raise self.error("P1005", f"expected a method name after `fn`, found "
                                         f"{self.describe(self.peek())}", self.peek().span)
                    methods.append(decl)
                else:
                    raise self.error("P1005", f"expected a field or a method, found "
                                     f"{self.describe(t)}", t.span, "expected `var`, `let` or `fn`")
                self.end_statement()
            except ParseError:
                self.depth = depth
                self.sync_statement()
        self.expect_close("}", opener)
        return fields, methods

    def expect_block_open(self, what: str) -> Token:
        if self.at_op("{"):
            return self.advance()
        t = self.tok
        raise self.error("P1007", f"expected a block after {what}, found {self.describe(t)}",
                         t.span, "expected `{` or an indented block")

    def parse_class(self, attrs: list[ast.Attribute]) -> ast.ClassDecl:
        start = self.advance()
        name = self.expect_ident("a class name")
        tparams = self.parse_type_params()
        traits: list[ast.TypeExpr] = []
        if self.eat_op(":"):
            traits.append(self.parse_type())
            while self.eat_op(","):
                traits.append(self.parse_type())
        fields, methods = self.parse_members("the class header")
        return ast.ClassDecl(name.text, tparams, fields, methods, traits, attrs,
                             span=self.span_from(start))

    def parse_template(self, attrs: list[ast.Attribute]) -> ast.TemplateDecl:
        start = self.advance()
        name = self.expect_ident("a template name")
        tparams = self.parse_type_params()
        supers: list[ast.TypeExpr] = []
        if self.eat_op(":"):
            supers.append(self.parse_type())
            while self.eat_op(","):
                supers.append(self.parse_type())
        fields, methods = self.parse_members("the template header")
        return ast.TemplateDecl(name.text, tparams, fields, methods, supers, attrs,
                                span=self.span_from(start))

    def parse_enum(self, attrs: list[ast.Attribute]) -> ast.EnumDecl:
        start = self.advance()
        name = self.expect_ident("an enum name")
        tparams = self.parse_type_params()
        opener = self.expect_block_open("the enum header")
        variants: list[ast.Variant] = []
        while True:
            self.skip_newlines()
            if self.at_op("}") or self.tok.kind is EOF:
                break
            v = self.expect_ident("a variant name")
            payload: list[ast.TypeExpr] = []
            if self.at_op("("):
                op = self.advance()
                while not self.at_op(")"):
                    payload.append(self.parse_type())
                    if not self.eat_op(","):
                        break
                self.expect_close(")", op)
            variants.append(ast.Variant(v.text, payload, span=self.span_from(v)))
            if not self.eat_op(","):
                if not (self.tok.kind is NEWLINE or self.at_op("}")):
                    raise self.error("P1000", f"expected `,` or a new line after a variant, "
                                     f"found {self.describe(self.tok)}")
        self.expect_close("}", opener)
        return ast.EnumDecl(name.text, tparams, variants, attrs, span=self.span_from(start))

    def parse_import(self) -> ast.Import:
        start = self.advance()
        path = [self.expect_ident("a module name").text]
        while self.eat_op("::"):
            t = self.tok
            if t.kind in (IDENT,) or (t.kind is OP and t.text == "*"):
                path.append(self.advance().text)
            else:
                raise self.error("P1000", f"expected a name after `::`, found {self.describe(t)}")
        alias = None
        if self.eat_kw("as"):
            alias = self.expect_ident("an alias").text
        return ast.Import(path, alias, span=self.span_from(start))

    def parse_module_decl(self) -> ast.ModuleDecl:
        start = self.advance()
        name = self.expect_ident("a module name")
        if self.at_op("{"):
            opener = self.advance()
            items = self.parse_items(top=False)
            self.expect_close("}", opener)
            return ast.ModuleDecl(name.text, items, span=self.span_from(start))
        return ast.ModuleDecl(name.text, None, span=self.span_from(start))

    def parse_extern(self, attrs: list[ast.Attribute]) -> ast.ExternBlock:
        start = self.advance()
        abi = "C"
        if self.tok.kind is STRING:
            abi = str(self.advance().value)
        opener = self.expect_block_open("`extern`")
        fns: list[ast.FnDecl] = []
        while True:
            self.skip_newlines()
            if self.at_op("}") or self.tok.kind is EOF:
                break
            depth = self.depth
            try:
                fattrs = self.parse_attrs()
                if not self.at_kw("fn"):
                    raise self.error("P1005", f"expected `fn` in an extern block, found "
                                     f"{self.describe(self.tok)}")
                fns.append(self.parse_fn(fattrs))
                self.end_statement()
            except ParseError:
                self.depth = depth
                self.sync_statement()
        self.expect_close("}", opener)
        return ast.ExternBlock(abi, fns, attrs, span=self.span_from(start))

    def parse_macro(self) -> ast.MacroDecl:
        start = self.advance()
        name = self.expect_ident("a macro name")
        opener = self.expect_op("(")
        params: list[str] = []
        while not self.at_op(")"):
            params.append(self.expect_ident("a macro parameter").text)
            if not self.eat_op(","):
                break
        self.expect_close(")", opener)
        body = self.parse_block()
        return ast.MacroDecl(name.text, params, body, span=self.span_from(start))

    # ------------------------------------------------------------ statements

    def end_statement(self) -> None:
        t = self.tok
        if t.kind in (NEWLINE, EOF) or t.text == "}":
            return
        raise self.error("P1000", f"expected the end of the statement, found {self.describe(t)}",
                         t.span, "expected a new line or `;`")

    def parse_block(self) -> ast.Block:
        opener = self.expect_block_open("this")
        self.enter()
        stmts: list[ast.Stmt] = []
        while True:
            self.skip_newlines()
            t = self.tok
            if t.text == "}" or t.kind is EOF:
                break
            depth = self.depth
            try:
                stmts.append(self.parse_stmt())
                self.end_statement()
            except ParseError:
                self.depth = depth
                self.sync_statement()
        self.leave()
        self.expect_close("}", opener)
        return ast.Block(stmts, span=self.span_from(opener))

    def parse_stmt(self) -> ast.Stmt:
        t = self.tok
        attrs = self.parse_attrs() if t.kind is ATTR or t.kind is HASH_ATTR else []
        t = self.tok
        if t.kind is KEYWORD:
            kw = t.text
            if kw in ("let", "var"):
                return self.parse_let()
            if kw == "return":
                self.advance()
                value = None if self.at_stmt_end() else self.parse_expr()
                return ast.Return(value, span=self.span_from(t))
            if kw == "break":
                self.advance()
                value = None if self.at_stmt_end() else self.parse_expr()
                return ast.Break(value, span=self.span_from(t))
            if kw == "continue":
                self.advance()
                return ast.Continue(span=t.span)
            if kw == "while":
                return self.parse_while()
            if kw == "loop":
                self.advance()
                return ast.Loop(self.parse_block(), span=self.span_from(t))
            if kw == "spawn" and self.peek().is_kw("fn") and self.peek(2).kind is IDENT:
                self.advance()
                fn = self.parse_fn([])
                return ast.SpawnFn(fn, span=self.span_from(t))
            decl = None
            if kw in ("class", "template", "enum", "import", "module", "extern", "macro", "pub",
                      "async") or (kw == "fn" and self.peek().kind is IDENT) or (
                    kw == "unsafe" and self.peek().is_kw("fn")):
                decl = self.parse_decl(attrs)
            if decl is not None:
                return decl
        if attrs:
            raise self.error("P1005", f"attributes must precede a declaration, found "
                             f"{self.describe(t)}", t.span)
        expr = self.parse_expr()
        op = self.tok
        if op.kind is OP and op.text in ASSIGN_OPS:
            self.advance()
            if not isinstance(expr, (ast.Name, ast.Field, ast.Index, ast.Unary, ast.Path)) or (
                    isinstance(expr, ast.Unary) and expr.op != "*"):
                raise self.error("P1006", "invalid assignment target", expr.span,
                                 "cannot assign to this expression")
            value = self.parse_expr()
            return ast.Assign(expr, op.text, value, span=self.span_from(t))
        return ast.ExprStmt(expr, span=expr.span)

    def at_stmt_end(self) -> bool:
        t = self.tok
        return t.kind in (NEWLINE, EOF) or t.text == "}"

    def parse_let(self) -> ast.Let:
        t = self.advance()
        pat = self.parse_pattern()
        ty = self.parse_type() if self.eat_op(":") else None
        value = self.parse_expr() if self.eat_op("=") else None
        return ast.Let(pat, ty, value, t.text == "var", span=self.span_from(t))

    def parse_while(self) -> ast.Stmt:
        t = self.advance()
        if self.eat_kw("let"):
            pat = self.parse_pattern()
            self.expect_op("=", " in `while let`")
            value = self.parse_expr(no_block=True)
            body = self.parse_block()
            return ast.WhileLet(pat, value, body, span=self.span_from(t))
        cond = self.parse_expr(no_block=True)
        body = self.parse_block()
        return ast.While(cond, body, span=self.span_from(t))

    # ------------------------------------------------------------ patterns

    def parse_pattern(self) -> ast.Pattern:
        start = self.tok
        pat = self.parse_single_pattern()
        if self.at_op("|"):
            alts = [pat]
            while self.eat_op("|"):
                alts.append(self.parse_single_pattern())
            return ast.OrPat(alts, span=self.span_from(start))
        return pat

    def parse_single_pattern(self) -> ast.Pattern:
        t = self.tok
        if t.kind is IDENT and t.text == "_":
            self.advance()
            return ast.WildcardPat(span=t.span)
        if t.text == "(":
            opener = self.advance()
            elems: list[ast.Pattern] = []
            while not self.at_op(")"):
                elems.append(self.parse_pattern())
                if not self.eat_op(","):
                    break
            self.expect_close(")", opener)
            return ast.TuplePat(elems, span=self.span_from(t))
        if t.kind in (INT, FLOAT, CHAR, STRING) or t.is_kw("true") or t.is_kw(
                "false") or (t.text == "-" and self.peek().kind in (INT, FLOAT)):
            lit = self.parse_literal_pattern_value()
            if self.at_op("..") or self.at_op("..<"):
                inclusive = self.advance().text == ".."
                end = self.parse_literal_pattern_value()
                return ast.RangePat(lit, end, inclusive, span=self.span_from(t))
            return ast.LitPat(lit, span=self.span_from(t))
        if t.kind is IDENT and t.text == "mut" and self.peek().kind is IDENT:
            self.advance()
            name = self.advance()
            return ast.IdentPat(name.text, True, span=self.span_from(t))
        if t.kind is IDENT or t.is_kw("self"):
            path = [self.advance().text]
            while self.eat_op("::"):
                path.append(self.expect_ident("a variant name").text)
            if self.at_op("("):
                opener = self.advance()
                args: list[ast.Pattern] = []
                while not self.at_op(")"):
                    args.append(self.parse_pattern())
                    if not self.eat_op(","):
                        break
                self.expect_close(")", opener)
                return ast.VariantPat(path, args, span=self.span_from(t))
            if len(path) > 1:
                return ast.VariantPat(path, None, span=self.span_from(t))
            return ast.IdentPat(path[0], span=t.span)
        raise self.error("P1003", f"expected a pattern, found {self.describe(t)}", t.span,
                         "expected a pattern")

    def parse_literal_pattern_value(self) -> ast.Expr:
        t = self.tok
        if t.text == "-":
            self.advance()
            num = self.advance()
            lit = self.literal(num)
            return ast.Unary("-", lit, span=self.span_from(t))
        self.advance()
        return self.literal(t)

    def literal(self, t: Token) -> ast.Expr:
        if t.kind is INT:
            return ast.IntLit(t.value, span=t.span)
        if t.kind is FLOAT:
            return ast.FloatLit(t.value, span=t.span)
        if t.kind is CHAR:
            return ast.CharLit(t.value, span=t.span)
        if t.kind is STRING:
            return ast.StringLit(t.value, span=t.span)
        if t.is_kw("true") or t.is_kw("false"):
            return ast.BoolLit(t.text == "true", span=t.span)
        raise self.error("P1003", f"expected a literal, found {self.describe(t)}", t.span)

    # ------------------------------------------------------------ types

    def parse_type(self) -> ast.TypeExpr:
        t = self.tok
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep()
        try:
            if t.kind is IDENT:     # the common case first: `Int`, `Vec<T>`, `a::B`
                return self.parse_named_type()
            if t.text == "&" or t.text == "&&":
                self.advance()
                mutable = self.eat_kw_ident("mut")
                inner = self.parse_type()
                ty: ast.TypeExpr = ast.RefType(inner, mutable, span=self.span_from(t))
                if t.text == "&&":
                    ty = ast.RefType(ty, False, span=ty.span)
                return ty
            if t.text == "*":
                self.advance()
                return ast.PtrType(self.parse_type(), span=self.span_from(t))
            if t.text == "(":
                opener = self.advance()
                elems: list[ast.TypeExpr] = []
                while not self.at_op(")"):
                    elems.append(self.parse_type())
                    if not self.eat_op(","):
                        break
                self.expect_close(")", opener)
                return ast.TupleType(elems, span=self.span_from(t))
            if t.text == "[":
                opener = self.advance()
                elem = self.parse_type()
                if not (self.tok.kind is NEWLINE and self.tok.text == ";"):
                    self.expect_op(";", " in an array type `[T; N]`")
                self.advance()
                size = self.parse_expr()
                self.expect_close("]", opener)
                return ast.ArrayType(elem, size, span=self.span_from(t))
            if t.is_kw("fn"):
                self.advance()
                opener = self.expect_op("(")
                params: list[ast.TypeExpr] = []
                while not self.at_op(")"):
                    params.append(self.parse_type())
                    if not self.eat_op(","):
                        break
                self.expect_close(")", opener)
                ret = self.parse_type() if self.eat_op("->") else None
                return ast.FnType(params, ret, span=self.span_from(t))
            if t.is_kw("self"):
                return self.parse_named_type()
            raise self.error("P1002", f"expected a type, found {self.describe(t)}", t.span,
                             "expected a type")
        finally:
            self.depth -= 1

    def parse_named_type(self) -> ast.NamedType:
        t = self.advance()
        path = [t.text]
        while self.tok.text == "::" and self.peek().kind is IDENT:
            self.advance()
            path.append(self.advance().text)
        if self.tok.text == "<":
            return ast.NamedType(path, self.parse_type_args(), span=self.span_from(t))
        return ast.NamedType(path, [], span=self.span_from(t) if len(path) > 1 else t.span)

    def parse_type_args(self) -> list[ast.TypeExpr]:
        opener = self.advance()  # <
        args: list[ast.TypeExpr] = []
        while not self.at_op(">") and not self.at_op(">>"):
            args.append(self.parse_type())
            if not self.eat_op(","):
                break
        self.expect_close_angle(opener)
        return args

    def expect_close_angle(self, opener: Token) -> None:
        t = self.tok
        if t.text == ">":
            self.advance()
            return
        if t.kind is OP and t.text in (">>", ">=", ">>="):
            # Split `>>` in `Vec<Vec<Int>>`: consume one `>` and leave the rest.
            rest = t.text[1:]
            s = t.span
            self.splits.append((self.i, t))
            self.toks[self.i] = Token(OP, rest, Span(s.file, s.start + 1, s.end, s.line,
                                                        s.col + 1, s.end_line, s.end_col))
            self.seek(self.i)
            return
        self.expect_close(">", opener)

    def try_type_args(self) -> list[ast.TypeExpr] | None:
        """Speculatively parse `<T, U>` after a name in an expression.

        Accepted only when followed by `(` or `::`, as in `Pair<Int, String>(...)` or
        `Channel<Int>::bounded(4)`; otherwise `<` is a comparison.
        """
        save_i, save_splits, save_n = self.i, len(self.splits), len(self.sink.items)
        save_depth = self.depth
        try:
            args = self.parse_type_args()
            if self.at_op("(") or self.at_op("::"):
                return args
        except ParseError:
            pass
        # Roll back: tokens may have been split, diagnostics may have been added.
        while len(self.splits) > save_splits:
            j, original = self.splits.pop()
            self.toks[j] = original
        self.seek(save_i)
        self.depth = save_depth
        del self.sink.items[save_n:]
        self.sink._seen = {(d.code, d.primary.span.file, d.primary.span.start, d.message)
                           for d in self.sink.items}
        return None

    # ------------------------------------------------------------ expressions

    def parse_expr(self, min_bp: int = 0, no_block: bool = False) -> ast.Expr:
        """An expression. `no_block`: a `{` ends the expression (loop and `if` heads)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep()
        try:
            start = self.tok
            left = self.parse_unary(no_block)
            chain = 0
            while True:
                t = self.tok
                bp = BINARY_BP.get(t.text)     # only operators have these texts
                if bp is None:
                    if t.text == "as" and t.kind is KEYWORD and AS_BP >= min_bp:
                        self.advance()
                        target = self.parse_type()
                        left = ast.Cast(left, target, span=self.span_from(start))
                        continue
                    break
                if bp < min_bp:
                    break
                chain += 1
                if chain > MAX_CHAIN:
                    raise self.error("P1000", "expression too long", t.span,
                                     f"more than {MAX_CHAIN} operators in one expression")
                self.advance()
                if t.text in ("..", "..<"):
                    right = self.parse_expr(2, no_block)
                    left = ast.Range(left, right, t.text == "..", span=self.span_from(start))
                    continue
                right = self.parse_expr(bp + 1, no_block)
                left = ast.Binary(t.text, left, right, span=self.span_from(start))
            return left
        finally:
            self.depth -= 1

    def parse_unary(self, no_block: bool = False) -> ast.Expr:
        t = self.tok
        if t.text not in PREFIX_OPS:
            return self.parse_postfix(self.parse_primary(no_block), t)
        if t.kind is OP and t.text in ("-", "!", "~", "*"):
            self.advance()
            self.enter()
            try:
                operand = self.parse_unary(no_block)
            finally:
                self.leave()
            return ast.Unary(t.text, operand, span=self.span_from(t))
        if t.kind is OP and t.text in ("&", "&&"):
            self.advance()
            mutable = self.eat_kw_ident("mut")
            self.enter()
            try:
                operand = self.parse_unary(no_block)
            finally:
                self.leave()
            node = ast.AddrOf(operand, mutable, span=self.span_from(t))
            if t.text == "&&":
                node = ast.AddrOf(node, False, span=node.span)
            return node
        if t.is_kw("await"):
            self.advance()
            self.enter()
            try:
                operand = self.parse_unary(no_block)
            finally:
                self.leave()
            return ast.Await(operand, span=self.span_from(t))
        return self.parse_postfix(self.parse_primary(no_block), t)

    def parse_postfix(self, expr: ast.Expr, start: Token) -> ast.Expr:
        while True:
            t = self.tok
            if t.text not in POSTFIX_OPS:
                return expr
            if t.text == "(":
                args = self.parse_args()
                expr = ast.Call(expr, args, span=self.span_from(start))
            elif t.text == "[":
                opener = self.advance()
                index = self.parse_expr()
                self.expect_close("]", opener)
                expr = ast.Index(expr, index, span=self.span_from(start))
            elif t.text == ".":
                self.advance()
                n = self.tok
                if n.is_kw("await"):
                    self.advance()
                    expr = ast.Await(expr, span=self.span_from(start))
                elif n.kind is INT:
                    self.advance()
                    expr = ast.Field(expr, n.text, span=self.span_from(start))
                elif n.kind is FLOAT and n.text.replace(".", "").isdigit():
                    # `t.0.1` lexes as `t` `.` `0.1`: two tuple field accesses.
                    self.advance()
                    a, b = n.text.split(".")
                    expr = ast.Field(expr, a, span=self.span_from(start))
                    expr = ast.Field(expr, b, span=self.span_from(start))
                elif n.kind is IDENT:
                    self.advance()
                    targs: list[ast.TypeExpr] = []
                    if self.at_op("::") and self.peek().text == "<":
                        self.advance()
                        targs = self.parse_type_args()
                    if self.at_op("("):
                        args = self.parse_args()
                        expr = ast.MethodCall(expr, n.text, args, targs,
                                              span=self.span_from(start), name_span=n.span)
                    else:
                        expr = ast.Field(expr, n.text, span=self.span_from(start),
                                         name_span=n.span)
                else:
                    raise self.error("P1000", f"expected a field or method name after `.`, "
                                     f"found {self.describe(n)}", n.span)
            else:
                return expr

    def parse_args(self) -> list[ast.Arg]:
        opener = self.advance()
        args: list[ast.Arg] = []
        while True:
            self.skip_newlines()
            if self.at_op(")"):
                break
            t = self.tok
            if t.kind is IDENT and self.peek().text == "=":
                self.advance()
                self.advance()
                value = self.parse_expr()
                args.append(ast.Arg(value, t.text, span=self.span_from(t)))
            else:
                value = self.parse_expr()
                args.append(ast.Arg(value, span=value.span))
            self.skip_newlines()
            if not self.eat_op(","):
                break
        self.skip_newlines()
        self.expect_close(")", opener)
        return args

    def parse_primary(self, no_block: bool = False) -> ast.Expr:
        t = self.tok
        k = t.kind
        if k is IDENT:
            return self.parse_name()
        if k is INT or k is STRING or k is FLOAT or k is CHAR:
            self.advance()
            return self.literal(t)
        if k is KEYWORD:
            kw = t.text
            if kw in ("true", "false"):
                self.advance()
                return ast.BoolLit(kw == "true", span=t.span)
            if kw == "nil":
                self.advance()
                return ast.NilLit(span=t.span)
            if kw == "self":
                self.advance()
                return ast.SelfExpr(span=t.span)
            if kw == "if":
                return self.parse_if()
            if kw == "match":
                return self.parse_match()
            if kw == "for":
                return self.parse_for()
            if kw == "fn":
                return self.parse_lambda()
            if kw == "scoped":
                self.advance()
                return ast.Scoped(self.parse_block(), span=self.span_from(t))
            if kw == "unsafe":
                self.advance()
                return ast.Unsafe(self.parse_block(), span=self.span_from(t))
            if kw == "spawn":
                self.advance()
                if self.at_op("("):
                    opener = self.advance()
                    inner = self.parse_expr()
                    self.expect_close(")", opener)
                else:
                    inner = self.parse_expr(no_block=no_block)
                return ast.Spawn(inner, span=self.span_from(t))
            if kw == "actor":
                self.advance()
                capacity = None
                if self.at_op("["):
                    opener = self.advance()
                    capacity = self.parse_expr()
                    self.expect_close("]", opener)
                target = self.parse_type()
                args = self.parse_args() if self.at_op("(") else []
                return ast.ActorNew(target, args, capacity, span=self.span_from(t))
        if k is OP:
            if t.text == "(":
                opener = self.advance()
                self.skip_newlines()
                if self.at_op(")"):
                    self.advance()
                    return ast.TupleLit([], span=self.span_from(t))
                first = self.parse_expr()
                self.skip_newlines()
                if self.at_op(")"):
                    self.advance()
                    return first
                elems = [first]
                while self.eat_op(","):
                    self.skip_newlines()
                    if self.at_op(")"):
                        break
                    elems.append(self.parse_expr())
                    self.skip_newlines()
                self.expect_close(")", opener)
                return ast.TupleLit(elems, span=self.span_from(t))
            if t.text == "[":
                opener = self.advance()
                elems = self.parse_expr_list("]")
                self.expect_close("]", opener)
                return ast.ArrayLit(elems, span=self.span_from(t))
            if t.text == "{" and not no_block:
                return self.parse_block()
            if t.text == "...":
                self.advance()
                return ast.Todo(span=t.span)
        raise self.error("P1001", f"expected an expression, found {self.describe(t)}", t.span,
                         "expected an expression")

    def parse_expr_list(self, close: str) -> list[ast.Expr]:
        elems: list[ast.Expr] = []
        while True:
            self.skip_newlines()
            if self.at_op(close):
                break
            elems.append(self.parse_expr())
            self.skip_newlines()
            if not self.eat_op(","):
                break
        self.skip_newlines()
        return elems

    def parse_name(self) -> ast.Expr:
        t = self.advance()
        # Macro call: `vec![...]`, `name!(...)`.
        if self.at_op("!") and self.tok.span.start == t.span.end and self.peek().kind is OP \
                and self.peek().text in ("[", "("):
            self.advance()
            opener = self.advance()
            close = "]" if opener.text == "[" else ")"
            args = self.parse_expr_list(close)
            self.expect_close(close, opener)
            return ast.MacroCall(t.text, args, opener.text == "[", span=self.span_from(t))
        targs: list[ast.TypeExpr] = []
        if self.tok.text == "<":
            targs = self.try_type_args() or []
        if self.tok.text != "::":
            return ast.Name(t.text, targs, span=self.span_from(t) if targs else t.span)
        segments = [ast.PathSegment(t.text, targs, span=self.span_from(t))]
        while self.at_op("::"):
            self.advance()
            n = self.tok
            if n.kind is not IDENT and not (n.kind is KEYWORD and n.text in PATH_KEYWORDS):
                n = self.expect_ident("a name after `::`")
            else:
                self.advance()
            sargs: list[ast.TypeExpr] = []
            if self.at_op("<"):
                sargs = self.try_type_args() or []
            segments.append(ast.PathSegment(n.text, sargs, span=self.span_from(n)))
        return ast.Path(segments, span=self.span_from(t))

    def parse_if(self) -> ast.If:
        t = self.advance()
        cond = self.parse_expr(no_block=True)
        then = self.parse_block()
        else_: ast.Expr | None = None
        # `else` may follow on the next line (after `}` or the end of an indented block).
        j = self.i
        while self.toks[j].kind is NEWLINE:
            j += 1
        if self.toks[j].is_kw("else"):
            self.seek(j + 1)
            if self.at_kw("if"):
                self.enter()   # else-if chains nest in the tree
                try:
                    else_ = self.parse_if()
                finally:
                    self.leave()
            else:
                else_ = self.parse_block()
        return ast.If(cond, then, else_, span=self.span_from(t))

    def parse_match(self) -> ast.Match:
        t = self.advance()
        subject = self.parse_expr(no_block=True)
        opener = self.expect_block_open("`match`")
        arms: list[ast.MatchArm] = []
        while True:
            self.skip_newlines()
            if self.at_op("}") or self.tok.kind is EOF:
                break
            depth = self.depth
            try:
                start = self.tok
                pat = self.parse_pattern()
                guard = self.parse_expr() if self.eat_kw("if") else None
                self.expect_op("=>", " after a match pattern")
                self.skip_newlines()
                body = self.parse_expr()
                arms.append(ast.MatchArm(pat, body, guard, span=self.span_from(start)))
                if not self.eat_op(","):
                    if not (self.tok.kind is NEWLINE or self.at_op("}")):
                        raise self.error("P1000", f"expected `,` or a new line after a match "
                                         f"arm, found {self.describe(self.tok)}")
            except ParseError:
                self.depth = depth
                self.sync_statement()
        self.expect_close("}", opener)
        return ast.Match(subject, arms, span=self.span_from(t))

    def parse_for(self) -> ast.For:
        t = self.advance()
        pat = self.parse_pattern()
        if not self.eat_kw("in"):
            raise self.error("P1000", f"expected `in`, found {self.describe(self.tok)}")
        it = self.parse_expr(no_block=True)
        body = self.parse_block()
        return ast.For(pat, it, body, span=self.span_from(t))

    def parse_lambda(self) -> ast.Lambda:
        t = self.advance()
        if self.tok.kind is IDENT:
            raise self.error("P1000", "a named function cannot be used as an expression",
                             self.tok.span, "remove the name to write a lambda")
        params, _ = self.parse_params()
        ret = self.parse_type() if self.eat_op("->") else None
        body = self.parse_block()
        return ast.Lambda(params, ret, body, span=self.span_from(t))


def ast_label(span: Span, message: str) -> Label:
    return Label(span, message)
