"""The parser, construct by construct from the guide (sections 2-6), plus the layout rules
of SEMANTICS.md (indentation blocks, continuation, `;`), error recovery, and the printer's
round trip: parse(print(tree)) == tree."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from compiler import ast
from compiler.diagnostics import DiagnosticSink
from compiler.parser import parse
from compiler.printer import print_expr, print_module, print_pattern, print_type
from compiler.span import SourceFile

PROGRAMS = Path(__file__).parent / "programs"


def parse_text(text: str, name: str = "t.vyn") -> tuple[ast.Module, list[tuple[str, str]]]:
    sink = DiagnosticSink()
    module = parse(SourceFile(name, text), sink)
    return module, [(d.code, f"{d.primary.span.line}:{d.primary.span.col}") for d in sink.items]


def parse_ok(text: str) -> ast.Module:
    """Parse `text` (dedented) and require that it has no diagnostics."""
    module, errs = parse_text(dedent(text).lstrip("\n"))
    assert errs == []
    return module


def body(text: str) -> list[ast.Stmt]:
    """The statements of `fn main() { text }`."""
    module = parse_ok("fn main() {\n" + dedent(text).strip("\n") + "\n}\n")
    fn = module.items[0]
    assert isinstance(fn, ast.FnDecl) and fn.body is not None
    return fn.body.stmts


def expr(text: str) -> ast.Expr:
    """The expression `text`, parsed as the value of a `let`."""
    (stmt,) = body(f"let _ = {text}")
    assert isinstance(stmt, ast.Let) and stmt.value is not None
    return stmt.value


def N(name: str, *targs: ast.TypeExpr) -> ast.Name:
    return ast.Name(name, list(targs))


def I(v: int) -> ast.IntLit:  # noqa: E743 - reads like the literal it builds
    return ast.IntLit(v)


def Ty(*path: str, args: list[ast.TypeExpr] | None = None) -> ast.NamedType:
    return ast.NamedType(list(path), args or [])


def B(op: str, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    return ast.Binary(op, left, right)


def pos(node: ast.Node) -> tuple[int, int]:
    return node.span.line, node.span.col


def roundtrip(module: ast.Module) -> str:
    """Print `module`, re-parse it, and check that the tree comes back equal."""
    text = print_module(module)
    again, errs = parse_text(text, module.file)
    assert errs == [], text
    assert again == module, text
    assert print_module(again) == text, "printing is not idempotent"
    return text


# ================================================================ guide section 2

def test_hello_world_is_a_function_with_one_call():
    module = parse_ok("""
        fn main() {
          println("Hello, Vyn!")  // print to stdout
        }
    """)
    assert module.file == "t.vyn"
    (fn,) = module.items
    assert isinstance(fn, ast.FnDecl)
    assert (fn.name, fn.params, fn.ret) == ("main", [], None)
    assert pos(fn) == (1, 1) and (fn.span.end_line, fn.span.end_col) == (3, 2)
    assert pos_of(fn.name_span) == (1, 4)
    (stmt,) = fn.body.stmts
    call = stmt.expr
    assert call == ast.Call(N("println"), [ast.Arg(ast.StringLit("Hello, Vyn!"))])
    assert pos(call) == (2, 3)
    assert pos(call.args[0].value) == (2, 11)


def pos_of(span) -> tuple[int, int]:
    return span.line, span.col


def test_repl_snippets_parse_inside_a_function():
    stmts = body("""
        let x = vec![1,2,3]
        dbg(x.len())
        for i in x { println(i) }
    """)
    assert stmts[0].value == ast.MacroCall("vec", [I(1), I(2), I(3)], bracket=True)
    assert stmts[1].expr == ast.Call(N("dbg"), [ast.Arg(ast.MethodCall(N("x"), "len", []))])
    assert isinstance(stmts[2].expr, ast.For)


# ================================================================ guide 3.1: literals

def test_literals_and_their_declared_types():
    stmts = body("""
        let x: Int = 42                   // 64-bit integer
        let small: Int16 = 123            // 16-bit integer
        let f: Float = 3.14               // 64-bit float
        let flag: Bool = true             // boolean
        let ch: Char = 'A'                // single byte char
        let rune: Rune = '💡'             // full Unicode point
        let raw: Bytes = [0xDE,0xAD,0xBE] // raw bytes
        let arr: [Int; 3] = [1, 2, 3]     // fixed array
        let list: Vec<Int> = vec![4,5,6]  // dynamic vector
    """)
    got = [(s.pattern.name, s.type, s.value) for s in stmts]
    assert got == [
        ("x", Ty("Int"), I(42)),
        ("small", Ty("Int16"), I(123)),
        ("f", Ty("Float"), ast.FloatLit(3.14)),
        ("flag", Ty("Bool"), ast.BoolLit(True)),
        ("ch", Ty("Char"), ast.CharLit("A")),
        ("rune", Ty("Rune"), ast.CharLit("💡")),
        ("raw", Ty("Bytes"), ast.ArrayLit([I(0xDE), I(0xAD), I(0xBE)])),
        ("arr", ast.ArrayType(Ty("Int"), I(3)), ast.ArrayLit([I(1), I(2), I(3)])),
        ("list", Ty("Vec", args=[Ty("Int")]), ast.MacroCall("vec", [I(4), I(5), I(6)], True)),
    ]
    assert all(not s.mutable for s in stmts)
    assert pos(stmts[6].value.elems[1]) == (8, 24)


def test_var_binds_mutably():
    (s,) = body("var n = 0")
    assert s == ast.Let(ast.IdentPat("n"), None, I(0), mutable=True)


# ================================================================ guide 3.2: control flow

def test_if_is_an_expression():
    (s,) = body('let msg = if x > 0 { "pos" } else { "neg" }')
    assert s.value == ast.If(
        B(">", N("x"), I(0)),
        ast.Block([ast.ExprStmt(ast.StringLit("pos"))]),
        ast.Block([ast.ExprStmt(ast.StringLit("neg"))]))
    assert pos(s.value) == (2, 11)
    assert pos(s.value.else_) == (2, 35)


def test_else_if_chains_nest_in_the_else_branch():
    e = expr('if a { 1 } else if b { 2 } else { 3 }')
    assert isinstance(e.else_, ast.If)
    assert e.else_.cond == N("b")
    assert isinstance(e.else_.else_, ast.Block)


def test_loops():
    stmts = body("""
        for i in 0..<10 { println(i) }
        var n = 0
        while n < 5 { n += 1 }
        loop { break }
    """)
    f = stmts[0].expr
    assert isinstance(f, ast.For)
    assert f.pattern == ast.IdentPat("i")
    assert f.iter == ast.Range(I(0), I(10), inclusive=False)
    w = stmts[2]
    assert w == ast.While(B("<", N("n"), I(5)),
                          ast.Block([ast.Assign(N("n"), "+=", I(1))]))
    assert stmts[3] == ast.Loop(ast.Block([ast.Break()]))


def test_match_arms_on_separate_lines():
    (s,) = body("""
        match opt {
          Some(v) => println(v)
          None    => println("empty")
        }
    """)
    m = s.expr
    assert isinstance(m, ast.Match) and m.subject == N("opt")
    assert [a.pattern for a in m.arms] == [
        ast.VariantPat(["Some"], [ast.IdentPat("v")]), ast.IdentPat("None")]
    assert pos(m.arms[1]) == (4, 3)
    assert pos(m.arms[1].body) == (4, 14)


def test_match_arms_with_commas_guards_or_patterns_ranges_and_literals():
    m = expr("""match n {
        0 | 1 => "tiny", -1 => "minus one",
        x if x < 0 => "negative"
        2..<10 => "small", 10..99 => "medium"
        (a, _) => "pair"
        Shape::Circle(r) => "circle"
        Color::Red => "red"
        'c' | "s" | 1.5 | true => "lit"
        _ => "big"
    }""")
    pats = [a.pattern for a in m.arms]
    assert pats == [
        ast.OrPat([ast.LitPat(I(0)), ast.LitPat(I(1))]),
        ast.LitPat(ast.Unary("-", I(1))),
        ast.IdentPat("x"),
        ast.RangePat(I(2), I(10), inclusive=False),
        ast.RangePat(I(10), I(99), inclusive=True),
        ast.TuplePat([ast.IdentPat("a"), ast.WildcardPat()]),
        ast.VariantPat(["Shape", "Circle"], [ast.IdentPat("r")]),
        ast.VariantPat(["Color", "Red"]),
        ast.OrPat([ast.LitPat(ast.CharLit("c")), ast.LitPat(ast.StringLit("s")),
                   ast.LitPat(ast.FloatLit(1.5)), ast.LitPat(ast.BoolLit(True))]),
        ast.WildcardPat(),
    ]
    assert m.arms[2].guard == B("<", N("x"), I(0))
    assert all(a.guard is None for i, a in enumerate(m.arms) if i != 2)


# ================================================================ guide 3.3: functions

def test_nested_functions_capture_nothing_syntactically_special():
    (fn,) = parse_ok("""
        fn outer(x: Int) -> Int {
          fn inner(y: Int) -> Int { x + y }
          inner(10)
        }
    """).items
    assert [(p.name, p.type) for p in fn.params] == [("x", Ty("Int"))]
    assert fn.ret == Ty("Int")
    inner, call = fn.body.stmts
    assert isinstance(inner, ast.FnDecl) and inner.name == "inner"
    assert inner.body.stmts == [ast.ExprStmt(B("+", N("x"), N("y")))]
    assert pos(inner) == (2, 3)
    assert call == ast.ExprStmt(ast.Call(N("inner"), [ast.Arg(I(10))]))


def test_lambdas_with_and_without_parameter_types():
    stmts = body("""
        let sq = fn(v: Int) -> Int { v * v }
        let squares = nums.map(fn(n) -> Int { n * n })
        let f: fn(Int, Int) -> Int = add
        let g: fn(Int) = show
    """)
    sq = stmts[0].value
    assert sq == ast.Lambda([ast.Param("v", Ty("Int"))], Ty("Int"),
                            ast.Block([ast.ExprStmt(B("*", N("v"), N("v")))]))
    lam = stmts[1].value.args[0].value
    assert isinstance(lam, ast.Lambda) and lam.params == [ast.Param("n", None)]
    assert stmts[2].type == ast.FnType([Ty("Int"), Ty("Int")], Ty("Int"))
    assert stmts[3].type == ast.FnType([Ty("Int")], None)


# ================================================================ guide 3.4: modules

def test_imports_and_placeholder_bodies():
    module = parse_ok("""
        // in src/utils.vyn
        fn helper() { ... }

        // in src/main.vyn
        import utils::helper
        import vyn::fs as files
        import vyn::*
        module net {
          fn get() {}
        }
        fn main() { helper() }
    """)
    helper, imp, alias, glob, mod, _ = module.items
    assert helper.body.stmts == [ast.ExprStmt(ast.Todo())]
    assert imp == ast.Import(["utils", "helper"])
    assert alias == ast.Import(["vyn", "fs"], "files")
    assert glob == ast.Import(["vyn", "*"])
    assert isinstance(mod, ast.ModuleDecl) and [f.name for f in mod.items] == ["get"]
    assert pos(imp) == (5, 1)


# ================================================================ guide 4: templates, classes

def test_template_with_fields_and_a_method_taking_self_by_mutable_reference():
    (tpl, main) = parse_ok("""
        template Pair<T, U> {
          var first: T
          var second: U
          fn swap(self: &mut Pair<T, U>) {
            let tmp = self.first
            self.first = self.second
            self.second = tmp
          }
        }

        fn main() {
          let p = Pair<Int, String>(first=1, second="one")
          dbg(p.second)  // "one"
        }
    """).items
    assert isinstance(tpl, ast.TemplateDecl)
    assert [tp.name for tp in tpl.type_params] == ["T", "U"]
    assert [(f.name, f.type, f.mutable) for f in tpl.fields] == [
        ("first", Ty("T"), True), ("second", Ty("U"), True)]
    (swap,) = tpl.methods
    assert swap.params == [ast.Param("self", ast.RefType(Ty("Pair", args=[Ty("T"), Ty("U")]),
                                                         mutable=True))]
    assert swap.body.stmts[1] == ast.Assign(ast.Field(ast.SelfExpr(), "first"), "=",
                                            ast.Field(ast.SelfExpr(), "second"))
    let_p = main.body.stmts[0]
    assert let_p.value == ast.Call(N("Pair", Ty("Int"), Ty("String")), [
        ast.Arg(I(1), "first"), ast.Arg(ast.StringLit("one"), "second")])
    assert pos(let_p.value.args[1]) == (12, 38)


def test_trait_class_and_reference_parameters():
    (trait, cls, render) = parse_ok("""
        // Base trait
        template Drawable {
          fn draw(&self)
        }

        // Concrete class
        class Circle: Drawable {
          var radius: Float
          fn draw(&self) {
            println("Drawing circle of radius {}", self.radius)
          }
        }

        fn render(shape: &Drawable) {
          shape.draw()
        }
    """).items
    self_ref = ast.Param("self", ast.RefType(Ty("Self")))
    assert trait.fields == [] and trait.methods[0].params == [self_ref]
    assert trait.methods[0].body is None
    assert isinstance(cls, ast.ClassDecl) and cls.traits == [Ty("Drawable")]
    assert cls.methods[0].params == [self_ref] and cls.methods[0].body is not None
    assert render.params == [ast.Param("shape", ast.RefType(Ty("Drawable")))]
    assert pos(cls.methods[0]) == (9, 3)


def test_mutable_self_and_field_defaults():
    (tpl,) = parse_ok("""
        template Counter {
          var count: Int = 0
          let limit: Int
          fn handle(&mut self, msg: Int) {
            self.count += msg
          }
        }
    """).items
    assert [(f.name, f.default, f.mutable) for f in tpl.fields] == [
        ("count", I(0), True), ("limit", None, False)]
    assert tpl.methods[0].params[0] == ast.Param("self", ast.RefType(Ty("Self"), mutable=True))


def test_enums_with_payloads_and_a_function_returning_one():
    (enum, safe_div) = parse_ok("""
        enum Result<T, E> {
          Ok(T),
          Err(E)
        }

        fn safe_div(a: Int, b: Int) -> Result<Int, String> {
          if b == 0 { Err("divide by zero") } else { Ok(a / b) }
        }
    """).items
    assert isinstance(enum, ast.EnumDecl)
    assert enum.variants == [ast.Variant("Ok", [Ty("T")]), ast.Variant("Err", [Ty("E")])]
    assert pos(enum.variants[1]) == (3, 3)
    assert safe_div.ret == Ty("Result", args=[Ty("Int"), Ty("String")])
    body_if = safe_div.body.stmts[0].expr
    assert body_if.then.stmts == [ast.ExprStmt(ast.Call(N("Err"), [
        ast.Arg(ast.StringLit("divide by zero"))]))]


def test_scoped_blocks_and_allocation_with_type_arguments():
    stmts = body("""
        let a = alloc<A>()
        scoped {
          let b = alloc<B>()
        } // b freed here
        free(a)
    """)
    assert stmts[0].value == ast.Call(N("alloc", Ty("A")), [])
    scoped = stmts[1].expr
    assert isinstance(scoped, ast.Scoped)
    assert scoped.body.stmts == [ast.Let(ast.IdentPat("b"), None, ast.Call(N("alloc", Ty("B")),
                                                                           []))]


def test_macros_and_attributes():
    (mac, fn) = parse_ok("""
        macro log_calls(fn_def) {
          // inject dbg() at start of function body
        }

        @log_calls
        fn compute(x: Int) -> Int {
          x * 2
        }
    """).items
    assert mac == ast.MacroDecl("log_calls", ["fn_def"], ast.Block([]))
    assert fn.attrs == [ast.Attribute("log_calls")]
    assert pos(fn.attrs[0]) == (5, 1)


# ================================================================ guide 5: concurrency

def test_async_functions_and_await():
    (fetch, main) = parse_ok("""
        async fn fetch_url(url: String) -> Bytes {
          let resp = await http::get(url)
          return resp.body
        }

        fn main() {
          let data = vyn::spawn(fetch_url("https://api.example.com/data"))
          let payload = await data
          println("Received {} bytes", payload.len())
          conn.get("/").await.text().await
        }
    """).items
    assert fetch.is_async and not fetch.is_unsafe
    resp = fetch.body.stmts[0].value
    get = ast.Path([ast.PathSegment("http"), ast.PathSegment("get")])
    assert resp == ast.Await(ast.Call(get, [ast.Arg(N("url"))]))
    assert fetch.body.stmts[1] == ast.Return(ast.Field(N("resp"), "body"))
    spawn = main.body.stmts[0].value
    assert spawn.callee == ast.Path([ast.PathSegment("vyn"), ast.PathSegment("spawn")])
    assert main.body.stmts[1].value == ast.Await(N("data"))
    chain = main.body.stmts[3].expr
    assert isinstance(chain, ast.Await) and isinstance(chain.expr, ast.MethodCall)
    assert chain.expr.method == "text"


def test_actors_threads_and_for_as_a_value():
    stmts = body("""
        let counter = actor Counter()
        counter.send(5)
        let handle: Thread<Int> = Thread::spawn(fn() -> Int {
          heavy_compute()
        })
        let pool = ThreadPool<String>(8)
        let futs = for i in 0..<10 {
          pool.submit(fn() -> String { process(i) })
        }
        for f in futs { dbg(f.join()) }
        let t = spawn(work())
        spawn(work())
    """)
    assert stmts[0].value == ast.ActorNew(Ty("Counter"), [])
    assert stmts[2].type == Ty("Thread", args=[Ty("Int")])
    assert stmts[2].value.callee == ast.Path([ast.PathSegment("Thread"),
                                              ast.PathSegment("spawn")])
    assert stmts[3].value == ast.Call(N("ThreadPool", Ty("String")), [ast.Arg(I(8))])
    assert isinstance(stmts[4].value, ast.For)
    assert stmts[6].value == ast.Spawn(ast.Call(N("work"), []))


def test_channels_spawned_functions_and_while_let():
    stmts = body("""
        let ch: Channel<Int> = Channel::bounded(100)
        let c2 = Channel<Int>::unbounded()

        spawn fn producer() {
          for i in 0..<50 { ch.send(i) }
          ch.close()
        }
        spawn fn consumer() {
          while let Some(v) = ch.recv() { println(v) }
        }
    """)
    assert stmts[1].value.callee == ast.Path([ast.PathSegment("Channel", [Ty("Int")]),
                                              ast.PathSegment("unbounded")])
    assert isinstance(stmts[2], ast.SpawnFn) and stmts[2].func.name == "producer"
    wl = stmts[3].func.body.stmts[0]
    assert isinstance(wl, ast.WhileLet)
    assert wl.pattern == ast.VariantPat(["Some"], [ast.IdentPat("v")])
    assert wl.value == ast.MethodCall(N("ch"), "recv", [])
    assert pos(stmts[3]) == (9, 1)


# ================================================================ guide 6: systems programming

def test_unsafe_functions_and_extern_blocks_with_variadic_parameters():
    (read, ext, main) = parse_ok("""
        unsafe fn read_file(path: String) -> Bytes {
          let fd = sys::open(path.to_cstr(), sys::O_RDONLY, 0)
          return Bytes(fd, 4096)
        }

        #cfg(linux) extern "C" {
          fn printf(fmt: *char, ...)
        }

        fn main() {
          unsafe { printf("Hello %s\\n", "world") }
        }
    """).items
    assert read.is_unsafe and not read.is_async
    assert isinstance(ext, ast.ExternBlock) and ext.abi == "C"
    assert ext.attrs == [ast.Attribute("cfg", ["linux"], hash=True)]
    (printf,) = ext.fns
    assert printf.variadic and printf.body is None
    assert printf.params == [ast.Param("fmt", ast.PtrType(Ty("char")))]
    u = main.body.stmts[0].expr
    assert isinstance(u, ast.Unsafe)
    assert u.body.stmts[0].expr.args[0].value == ast.StringLit("Hello %s\n")


def test_test_attributes():
    module = parse_ok("""
        @test
        fn test_add() {
          assert(add(2,3) == 5)
        }

        @prop
        @bench
        fn prop_reverse(xs: Vec<Int>) {
          assert(xs.reverse().reverse() == xs)
        }
    """)
    assert [a.name for a in module.items[0].attrs] == ["test"]
    assert [a.name for a in module.items[1].attrs] == ["prop", "bench"]


# ================================================================ expressions: precedence

@pytest.mark.parametrize("text, tree", [
    ("1 + 2 * 3", B("+", I(1), B("*", I(2), I(3)))),
    ("1 * 2 + 3", B("+", B("*", I(1), I(2)), I(3))),
    ("1 - 2 - 3", B("-", B("-", I(1), I(2)), I(3))),
    ("a || b && c", B("||", N("a"), B("&&", N("b"), N("c")))),
    ("a == b && c < d", B("&&", B("==", N("a"), N("b")), B("<", N("c"), N("d")))),
    ("a | b ^ c & d", B("|", N("a"), B("^", N("b"), B("&", N("c"), N("d"))))),
    ("1 << 2 + 3", B("<<", I(1), B("+", I(2), I(3)))),
    ("10 as Float / 4.0", B("/", ast.Cast(I(10), Ty("Float")), ast.FloatLit(4.0))),
    ("a * b as Int", B("*", N("a"), ast.Cast(N("b"), Ty("Int")))),
    ("x as Int as Float", ast.Cast(ast.Cast(N("x"), Ty("Int")), Ty("Float"))),
    ("-3.9 as Int", ast.Cast(ast.Unary("-", ast.FloatLit(3.9)), Ty("Int"))),
    ("n - 2..<n", ast.Range(B("-", N("n"), I(2)), N("n"), inclusive=False)),
    ("1..n + 1", ast.Range(I(1), B("+", N("n"), I(1)), inclusive=True)),
    ("-x.f()", ast.Unary("-", ast.MethodCall(N("x"), "f", []))),
    ("!a && b", B("&&", ast.Unary("!", N("a")), N("b"))),
    ("&mut x", ast.AddrOf(N("x"), mutable=True)),
    ("*p + 1", B("+", ast.Unary("*", N("p")), I(1))),
    ("a[i][j]", ast.Index(ast.Index(N("a"), N("i")), N("j"))),
    ("(1 + 2) * 3", B("*", B("+", I(1), I(2)), I(3))),
    ("(1,)", ast.TupleLit([I(1)])),
    ("()", ast.TupleLit([])),
    ("t.0.1", ast.Field(ast.Field(N("t"), "0"), "1")),
])
def test_operator_precedence(text, tree):
    assert expr(text) == tree


def test_generic_call_versus_comparison():
    assert expr('Pair<Int, String>(first=1, second="one")') == ast.Call(
        N("Pair", Ty("Int"), Ty("String")),
        [ast.Arg(I(1), "first"), ast.Arg(ast.StringLit("one"), "second")])
    assert expr("a < b") == B("<", N("a"), N("b"))
    assert expr("a < b && c > d") == B("&&", B("<", N("a"), N("b")), B(">", N("c"), N("d")))
    assert expr("a < b > c") == B(">", B("<", N("a"), N("b")), N("c"))
    assert expr("identity<Float>(2.5)") == ast.Call(N("identity", Ty("Float")),
                                                    [ast.Arg(ast.FloatLit(2.5))])
    assert expr("x.parse::<Int>()") == ast.MethodCall(N("x"), "parse", [], [Ty("Int")])


def test_a_rejected_generic_reading_leaves_later_shift_operators_intact():
    many = ", ".join(["c"] * 40)
    call = expr(f"f(a < b, ({many}), d >> e)")
    assert call.args[0].value == B("<", N("a"), N("b"))
    assert call.args[2].value == B(">>", N("d"), N("e"))


def test_nested_generics_split_the_shift_token():
    vv = Ty("Vec", args=[Ty("Vec", args=[Ty("Int")])])
    (s,) = body("let m: Vec<Vec<Int>> = x")
    assert s.type == vv
    (s,) = body("let m: Vec<Vec<Vec<Int>>> = x")
    assert s.type == Ty("Vec", args=[vv])
    (s,) = body("let m: Pair<Vec<Int>, Int>= x")
    assert s.type == Ty("Pair", args=[Ty("Vec", args=[Ty("Int")]), Ty("Int")])
    assert expr("Vec<Vec<Int>>::new()").callee.segments[0].type_args == [
        Ty("Vec", args=[Ty("Int")])]
    (fn,) = parse_ok("fn f<T: Into<Vec<Int>>>(x: T) {}").items
    assert fn.type_params[0].bounds == [Ty("Into", args=[Ty("Vec", args=[Ty("Int")])])]


def test_types():
    (s,) = body("let x: (&mut [Int; 3], *char, fn(Int) -> (Int, Bool), vyn::sys::Prot) = y")
    assert s.type == ast.TupleType([
        ast.RefType(ast.ArrayType(Ty("Int"), I(3)), mutable=True),
        ast.PtrType(Ty("char")),
        ast.FnType([Ty("Int")], ast.TupleType([Ty("Int"), Ty("Bool")])),
        Ty("vyn", "sys", "Prot"),
    ])


def test_assignment_targets():
    stmts = body("""
        x = 1
        p.first = 2
        v[i] += 3
        grid[i][j] = 4
        *ptr = 5
    """)
    assert [type(s.target).__name__ for s in stmts] == ["Name", "Field", "Index", "Index",
                                                       "Unary"]
    assert [s.op for s in stmts] == ["=", "=", "+=", "=", "="]


# ================================================================ layout: braces vs indentation

BRACES = """
fn classify(n: Int) -> String {
    if n < 0 {
        return "neg"
    } else if n == 0 {
        return "zero"
    } else {
        for i in 0..<n {
            println(i)
        }
    }
    while n > 0 {
        n -= 1
    }
    let f = fn(x: Int) -> Int {
        x + 1
    }
    match n {
        0 => "zero"
        _ => "other"
    }
}

class Circle: Drawable {
    var radius: Float
    fn draw(&self) {
        println("r {}", self.radius)
    }
}

enum Shape {
    Circle(Float),
    Square(Float)
}

template Pair<T, U> {
    var first: T
    var second: U
    fn sig(&self)
}

fn example() {
    scoped {
        let b = alloc<B>()
    }
    unsafe {
        printf("x")
    }
    loop {
        break
    }
}
"""

INDENTED = """
fn classify(n: Int) -> String
    if n < 0
        return "neg"
    else if n == 0
        return "zero"
    else
        for i in 0..<n
            println(i)
    while n > 0
        n -= 1
    let f = fn(x: Int) -> Int
        x + 1
    match n
        0 => "zero"
        _ => "other"

class Circle: Drawable
    var radius: Float
    fn draw(&self)
        println("r {}", self.radius)

enum Shape
    Circle(Float),
    Square(Float)

template Pair<T, U>
    var first: T
    var second: U
    fn sig(&self)

fn example()
    scoped
        let b = alloc<B>()
    unsafe
        printf("x")
    loop
        break
"""

MIXED = """
fn classify(n: Int) -> String {
    if n < 0
        return "neg"
    else if n == 0 {
        return "zero"
    } else
        for i in 0..<n { println(i) }
    while n > 0
        n -= 1
    let f = fn(x: Int) -> Int { x + 1 }
    match n {
        0 => "zero"
        _ => "other"
    }
}

class Circle: Drawable
    var radius: Float
    fn draw(&self) {
        println("r {}", self.radius)
    }

enum Shape { Circle(Float), Square(Float) }

template Pair<T, U> { var first: T; var second: U; fn sig(&self) }

fn example()
    scoped { let b = alloc<B>() }
    unsafe
        printf("x")
    loop { break }
"""


def test_indentation_blocks_mean_the_same_as_braces():
    braces = parse_ok(BRACES)
    assert parse_ok(INDENTED) == braces
    assert parse_ok(MIXED) == braces


def test_indentation_blocks_nest_and_close_at_end_of_file():
    assert parse_ok("""
        fn main()
            for i in xs
                if i > 1
                    while i > 0
                        i -= 1""") == parse_ok("""
        fn main() {
            for i in xs {
                if i > 1 {
                    while i > 0 {
                        i -= 1
                    }
                }
            }
        }""")


def test_else_may_follow_on_the_next_line_after_a_brace():
    (s,) = body("""
        if a {
          1
        }
        else {
          2
        }
    """)
    assert isinstance(s.expr, ast.If) and s.expr.else_ is not None
    assert body("if a { 1 }\nelse if b { 2 }\nelse { 3 }") == body(
        "if a { 1 } else if b { 2 } else { 3 }")


def test_a_line_ending_in_an_operator_or_comma_continues():
    stmts = body("""
        let total = 1 +
            2 *
            3
        let ok = a &&
          b
        let v = [1,
                 2,
                 3]
        foo(1,
            2)
        let y = x
          .len()
    """)
    assert stmts[0].value == B("+", I(1), B("*", I(2), I(3)))
    assert stmts[1].value == B("&&", N("a"), N("b"))
    assert stmts[2].value == ast.ArrayLit([I(1), I(2), I(3)])
    assert stmts[3].expr == ast.Call(N("foo"), [ast.Arg(I(1)), ast.Arg(I(2))])
    assert stmts[4].value == ast.MethodCall(N("x"), "len", [])
    assert len(stmts) == 5


def test_lines_inside_parentheses_continue():
    (s,) = body("""
        let x = (1
          + 2
          + 3)
    """)
    assert s.value == B("+", B("+", I(1), I(2)), I(3))


def test_a_line_not_ending_in_an_operator_ends_the_statement():
    stmts = body("""
        let x = 1
        -2
    """)
    assert stmts == [ast.Let(ast.IdentPat("x"), None, I(1)),
                     ast.ExprStmt(ast.Unary("-", I(2)))]


def test_semicolons_separate_statements():
    stmts = body("let a = 1; let b = 2; a + b;")
    assert [type(s).__name__ for s in stmts] == ["Let", "Let", "ExprStmt"]
    assert body("{ x; }; y") == body("{\n x\n}\ny")
    module = parse_ok("fn a() {}; fn b() {}")
    assert [f.name for f in module.items] == ["a", "b"]


# ================================================================ error recovery

def test_three_independent_syntax_errors_are_all_reported():
    text = dedent("""\
        fn main() {
            let x = (1 + )
            let y = 2
            let = 3
            println(y)
        }

        fn ok() -> Int { 1 }

        fn bad() {
            foo(1 2)
        }
    """)
    module, errs = parse_text(text)
    assert errs == [("P1001", "2:18"), ("P1003", "4:9"), ("P1004", "11:11")]
    # Recovery keeps what parsed: the good statements and functions are all there.
    assert [f.name for f in module.items] == ["main", "ok", "bad"]
    assert [type(s).__name__ for s in module.items[0].body.stmts] == ["Let", "ExprStmt"]


@pytest.mark.parametrize("text, expected", [
    ("x = 1", [("P1005", "1:1")]),
    ("fn f() { f() = 3 }", [("P1006", "1:10")]),
    ("fn g() { while x 1 }", [("P1007", "1:18")]),
    ("fn h() { let x: = 1 }", [("P1002", "1:17")]),
    ("fn i() { match x { => 1 } }", [("P1003", "1:20")]),
    ("fn j() { foo(1, 2 }", [("P1004", "1:19")]),
    ("fn k() { let x = [1, 2 }", [("P1004", "1:24")]),
    ("fn l() { let x = 1 2 }", [("P1000", "1:20")]),
    ("fn m() { let x = }", [("P1001", "1:18")]),
    ("fn n(", [("P1000", "1:6")]),
    ("@test let x = 1\nfn main() { @a 1 }", [("P1005", "2:16")]),
])
def test_each_parser_error_code_and_where_it_points(text, expected):
    assert parse_text(text)[1] == expected


def test_an_unclosed_delimiter_points_back_at_its_opener():
    sink = DiagnosticSink()
    parse(SourceFile("t.vyn", "fn main() {\n  foo(1, 2\n}\n"), sink)
    (d,) = [d for d in sink.items if d.code == "P1004"]
    (label,) = d.secondary
    assert (label.span.line, label.span.col) == (2, 6)


def test_deep_nesting_is_an_error_not_a_crash():
    _, errs = parse_text("fn main() { let x = " + "-" * 1000 + "1 }")
    assert [c for c, _ in errs] == ["L0010"]
    # The limit holds for every statement, not only the first.
    text = "fn main() {\n" + ("let x = " + "-" * 600 + "1\n") * 3 + "}"
    errs = parse_text(text)[1]
    col = errs[0][1].split(":")[1]
    assert errs == [("L0010", f"{line}:{col}") for line in (2, 3, 4)]


def test_a_parse_always_returns_a_module():
    for text in ["", "}", "fn", "fn main(", "{{{{", "let", "@", "match", "else"]:
        module, _ = parse_text(text)
        assert isinstance(module, ast.Module)


# ================================================================ printer

@pytest.mark.parametrize("tree, text", [
    (B("*", B("+", I(1), I(2)), I(3)), "(1 + 2) * 3"),
    (B("+", I(1), B("*", I(2), I(3))), "1 + 2 * 3"),
    (B("-", I(1), B("-", I(2), I(3))), "1 - (2 - 3)"),
    (B("-", B("-", I(1), I(2)), I(3)), "1 - 2 - 3"),
    (B("/", ast.Cast(I(10), Ty("Float")), ast.FloatLit(4.0)), "10 as Float / 4.0"),
    (ast.Cast(B("+", N("a"), N("b")), Ty("Float")), "(a + b) as Float"),
    (ast.Range(B("-", N("n"), I(2)), N("n"), False), "n - 2..<n"),
    (ast.Range(ast.Range(N("a"), N("b"), True), N("c"), True), "(a..b)..c"),
    (B("+", ast.Range(N("a"), N("b"), True), N("c")), "(a..b) + c"),
    (ast.Unary("-", B("+", N("a"), N("b"))), "-(a + b)"),
    (ast.Unary("-", I(5)), "-5"),
    (I(-1), "0xFFFFFFFFFFFFFFFF"),
    (I(-(1 << 63)), "0x8000000000000000"),
    (ast.FloatLit(1e100), "1e+100"),
    (ast.FloatLit(0.1), "0.1"),
    (ast.FloatLit(3.0), "3.0"),
    (ast.StringLit('a"b\\c\n\t\r\0💡\x01'), '"a\\"b\\\\c\\n\\t\\r\\0💡\\u{1}"'),
    (ast.CharLit("'"), "'\\''"),
    (ast.CharLit('"'), "'\"'"),
    (ast.MacroCall("vec", [I(1), I(2)], True), "vec![1, 2]"),
    (ast.MacroCall("m", [], False), "m!()"),
    (ast.Todo(), "..."),
    (B("+", ast.Todo(), I(1)), "(...) + 1"),
    (ast.Call(N("Pair", Ty("Int"), Ty("String")),
              [ast.Arg(I(1), "first"), ast.Arg(ast.StringLit("one"), "second")]),
     'Pair<Int, String>(first=1, second="one")'),
    (ast.Call(ast.Path([ast.PathSegment("Channel", [Ty("Int")]),
                        ast.PathSegment("bounded")]), [ast.Arg(I(4))]),
     "Channel<Int>::bounded(4)"),
    (ast.Field(ast.Field(N("t"), "0"), "1"), "t.0.1"),
    (ast.Field(ast.Field(N("t"), "1_0"), "2"), "(t.1_0).2"),
    (ast.MethodCall(I(1), "max", [ast.Arg(I(2))]), "(1).max(2)"),
    (ast.Call(ast.Field(N("o"), "f"), []), "(o.f)()"),
    (ast.MethodCall(ast.Await(N("conn")), "text", []), "conn.await.text()"),
    (ast.Await(ast.MethodCall(N("x"), "f", [])), "await x.f()"),
    (ast.AddrOf(N("mut")), "&(mut)"),
    (ast.AddrOf(ast.AddrOf(N("x"), True)), "&&mut x"),
    (ast.TupleLit([I(1)]), "(1,)"),
    (ast.Spawn(ast.TupleLit([I(1), I(2)])), "spawn((1, 2))"),
    (ast.ActorNew(Ty("Counter"), []), "actor Counter()"),
    # `a < b > (c)` would read as the generic call `a<b>(c)`.
    (B(">", B("<", N("a"), N("b")), ast.TupleLit([N("c"), N("d")])), "(a) < b > (c, d)"),
    (B("<", N("a"), N("b")), "a < b"),
    (B("<", ast.Cast(N("x"), Ty("Int")), N("y")), "(x as Int) < y"),
    (B(">", ast.Cast(N("x"), Ty("Int")), N("y")), "x as Int > y"),
])
def test_printer_output_is_canonical(tree, text):
    assert print_expr(tree) == text
    assert expr(text) == tree


def test_generic_call_lookalikes_in_argument_lists_are_parenthesized():
    tree = ast.Call(N("f"), [ast.Arg(B("<", N("a"), N("b"))),
                             ast.Arg(B(">", N("c"), N("d")))])
    assert print_expr(tree) == "f(a < b, c > d)"
    assert expr("f(a < b, c > d)") == tree
    tree.args[1].value.right = ast.TupleLit([N("d"), N("e")])
    assert print_expr(tree) == "f((a) < b, c > (d, e))"
    assert expr(print_expr(tree)) == tree


def test_printer_types_and_patterns():
    assert print_type(ast.RefType(Ty("Vec", args=[Ty("Vec", args=[Ty("Int")])]), True)) == \
        "&mut Vec<Vec<Int>>"
    assert print_type(ast.FnType([Ty("Int")], None)) == "fn(Int)"
    assert print_type(ast.ArrayType(Ty("Int"), I(3))) == "[Int; 3]"
    assert print_type(ast.TupleType([])) == "()"
    assert print_pattern(ast.OrPat([ast.LitPat(ast.Unary("-", I(1))),
                                    ast.RangePat(I(2), I(5), False)])) == "-1 | 2..<5"
    assert print_pattern(ast.VariantPat(["Some"], [ast.TuplePat(
        [ast.IdentPat("k", mutable=True), ast.WildcardPat()])])) == "Some((mut k, _))"


def test_printer_writes_brace_blocks_with_four_space_indentation():
    module = parse_ok("""
        @test
        fn f(&self, x: Int) -> Int
          let y = if x > 0 { 1 } else if x < 0 { -1 } else { 0 }
          match y
            1 | 2 if x > 3 => y
            _ => 0
    """)
    assert print_module(module) == dedent("""\
        @test
        fn f(&self, x: Int) -> Int {
            let y = if x > 0 {
                1
            } else if x < 0 {
                -1
            } else {
                0
            }
            match y {
                1 | 2 if x > 3 => y
                _ => 0
            }
        }
    """)


def test_printer_round_trips_every_guide_construct():
    for text in [BRACES, INDENTED, MIXED]:
        roundtrip(parse_ok(text))
    module = parse_ok("""
        import vyn::sys
        import vyn::*
        import vyn::fs as files

        #cfg(linux) extern "C" {
          fn printf(fmt: *char, ...)
          @weak fn puts(s: *char) -> Int
        }

        @prop(1, "two words", linux)
        async unsafe fn f<T: A + B, U>(x: T, mut y: U) -> fn(T) -> U { ... }

        template Counter {
          var count: Int = 0
          fn handle(&mut self, msg: Int) {
            self.count += msg
          }
        }

        class A<T>: B, C<T> {
          let k: Int = 3
          fn m(&self) -> Int { self.k }
          fn sig(self)
        }

        enum Color { Red, Green(Int, Int), Blue }
        module m { fn g() {} }
        module named
        macro twice(e) { e + e }

        fn main() {
          let p = Pair<Int, String>(first=1, second="one")
          let c = Channel<Int>::bounded(4)
          let big = 0xFFFFFFFFFFFFFFFF
          let s = "tab\\there \\"q\\" \\u{1F4A1}"
          let t = ((1, 2), (3,), ())
          let r = t.0.1 + t.1.0
          let futs = for i in 0..<10 { pool.submit(fn() -> String { process(i) }) }
          let x = f(a < b, c > (d))
          let y = (if a { 1 } else { 2 }) * 3
          let z = { 1 } + 2
          if (x) { 1 }
          match x {
            Some((a, mut b)) | None if b > 0 => { fn inner() {}; class K {}; enum E { A }; a }
            -1..1 | 'a'..'z' => 2
          }
          while let Some(v) = ch.recv() { println(v) }
          spawn fn task() { ch.send(1) }
          let u = unsafe { *p } + scoped { 1 }
          conn.get("/").await.text().await
          vec![1, 2].len()
          actor Counter().send(5)
          x[1][2] = -(-3)
          return
        }
    """)
    roundtrip(module)


def _programs() -> list[Path]:
    return sorted(PROGRAMS.rglob("*.vyn")) if PROGRAMS.is_dir() else []


def _parses_cleanly(path: Path) -> bool:
    diag = path.with_suffix(".diag")
    if not diag.exists():
        return True
    return not any(line.startswith(("L", "P")) for line in diag.read_text().splitlines())


@pytest.mark.parametrize("path", _programs(), ids=lambda p: str(p.relative_to(PROGRAMS)))
def test_every_program_in_the_corpus_round_trips_through_the_printer(path):
    module, errs = parse_text(path.read_text(encoding="utf-8"), path.name)
    if not _parses_cleanly(path):
        # A program written to fail in the lexer or parser reports its error where the
        # .diag file says.
        expected = [tuple(line.split()) for line in path.with_suffix(".diag").read_text()
                    .splitlines() if line.startswith(("L", "P"))]
        assert set(expected) <= set(errs)
        return
    assert errs == []
    roundtrip(module)
