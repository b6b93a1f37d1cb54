"""Lowering: the checked program -> VIR -> bytecode (compiler/bytecode.Program).

One FnLowerer per function instance. Values live in registers; named variables get a
register each for the block they are declared in; temporaries are freed at the end of
each statement. Captured `var`s live in heap cells so that closures and the enclosing
function share them (guide 3.3). The concurrency constructs (actors, channels, tasks,
threads, async/await) compile to CALLB of the runtime's scheduler builtins (`spawn`,
`actor`, `await`, `Channel.send`, ...), which may suspend the calling fiber.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler import ast
from compiler import bytecode as bc
from compiler.bytecode import K_BOOL, K_FLOAT, K_INT, K_PTR
from compiler.diagnostics import Diagnostic
from compiler.driver import ImportLoader, check_sources
from compiler.gcpause import pauses_gc
from compiler.span import NO_SPAN, SourceFile, Span
from compiler.symbols import (
    Builtin,
    BuiltinMethod,
    CheckedProgram,
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
    CHAR,
    INT,
    INT_BITS,
    RUNE,
    STRING,
    UNIT,
    ArrayT,
    EnumT,
    Generic,
    Prim,
    StructT,
    TupleT,
    Type,
    is_float,
    is_int,
    prune,
)
from compiler.typetable import TypeTable, kind_of, unref
from compiler.vir import Const, Instr, Label, VirFunction, emit

CAST_INT, CAST_FLOAT, CAST_BOOL, CAST_CHAR = 0, 1, 2, 3
CMP_CODES = {"<": 0, "<=": 1, ">": 2, ">=": 3}
NEG_JUMP = {"<": bc.JGE, "<=": bc.JGT, ">": bc.JLE, ">=": bc.JLT, "==": bc.JNE, "!=": bc.JEQ}
POS_JUMP = {"<": bc.JLT, "<=": bc.JLE, ">": bc.JGT, ">=": bc.JGE, "==": bc.JEQ, "!=": bc.JNE}
INT_OPS = {"+": bc.ADD, "-": bc.SUB, "*": bc.MUL, "/": bc.DIV, "%": bc.MOD, "&": bc.BAND,
           "|": bc.BOR, "^": bc.BXOR, "<<": bc.SHL, ">>": bc.SHR}
FLOAT_OPS = {"+": bc.FADD, "-": bc.FSUB, "*": bc.FMUL, "/": bc.FDIV, "%": bc.FMOD}
CMP_OPS = {"==": bc.EQ, "!=": bc.NE, "<": bc.LT, "<=": bc.LE, ">": bc.GT, ">=": bc.GE}
DISCARD = -1      # `dst` for an expression in statement position: no value wanted


def is_ref(t: Type) -> bool:
    """Whether `t` is `ref<T>`, a reference-counted reference."""
    t = prune(t)
    return isinstance(t, Generic) and t.name == "ref"


@dataclass(frozen=True)
class CompileOutput:
    """The result of compiling sources: diagnostics, and the program when there were no
    errors."""

    diagnostics: list[Diagnostic]
    program: bc.Program | None
    sources: dict[str, SourceFile]


@pauses_gc
def compile_sources(sources: list[SourceFile], load_import: ImportLoader | None = None
                    ) -> CompileOutput:
    """Check and lower `sources` (one program, with the files their imports name: see
    driver.check_sources) to bytecode."""
    result = check_sources(sources, load_import)
    if not result.ok or result.program is None:
        return CompileOutput(result.diagnostics, None, result.sources)
    program = ProgramLowerer(result.program).lower()
    return CompileOutput(result.diagnostics, program, result.sources)


def compile_file(path: str, text: str) -> CompileOutput:
    return compile_sources([SourceFile(path, text)])


class ProgramLowerer:
    def __init__(self, checked: CheckedProgram):
        self.checked = checked
        self.types = TypeTable()
        self.fns = list(checked.functions)
        self.fidx = {fn: i for i, fn in enumerate(self.fns)}
        self.globals = {local: i for i, (local, _) in enumerate(checked.globals)}
        self.builtins: list[str] = []

    def lower(self) -> bc.Program:
        out: list[bc.Function] = []
        for inst in self.fns:
            out.append(emit(FnLowerer(self, inst).lower()))
        init = -1
        if self.checked.globals:
            init = len(out)
            out.append(emit(FnLowerer(self, None).lower_globals(init)))
        for inst in self.fns:
            st = inst.self_type
            if st is not None and isinstance(inst.decl, ast.FnDecl) and not inst.type_args:
                d = self.types.descs[self.types.tid(st)]
                d.methods[inst.decl.name] = self.fidx[inst]
        entry = self.fidx[self.checked.main] if self.checked.main is not None else -1
        sources = {name: src.text for name, src in self.checked.sources.items()}
        return bc.Program(out, self.types.descs, sources, entry, init,
                          [(g.name, self.types.tid(g.type)) for g, _ in self.checked.globals])


@dataclass
class LoopCtx:
    brk: Label
    cont: Label
    regions: int
    collect: int | None = None


class FnLowerer:
    def __init__(self, pl: ProgramLowerer, inst: FnInstance | None):
        self.pl = pl
        self.types = pl.types
        self.inst = inst
        self.reg_of: dict[Local, int] = {}
        self.next_reg = 0
        self.max_reg = 0
        self.loops: list[LoopCtx] = []
        self.regions: list[int] = []
        self.span: Span = inst.span if inst is not None else NO_SPAN
        self.stmt_span: Span | None = None
        self.closing: Span | None = None      # the function's closing `}` (its returns)
        self.cap_index: dict[Local, int] = {}
        self.vf: VirFunction | None = None
        self.open_vars: list[list] = []

    # ------------------------------------------------------------ emission helpers

    def op(self, opcode: int, *args) -> None:
        is_stmt = False
        span = self.span
        if self.stmt_span is not None:
            is_stmt = True
            span = self.stmt_span
            self.stmt_span = None
        self.vf.instrs.append(Instr(opcode, list(args), span, is_stmt))

    def reg(self, t: Type | None = None) -> int:
        r = self.next_reg
        self.next_reg += 1
        if self.next_reg > self.max_reg:
            self.max_reg = self.next_reg
        if t is not None:
            self.vf.reg_types[r] = self.types.tid(t)
        return r

    def regs(self, n: int) -> int:
        base = self.next_reg
        self.next_reg += n
        self.max_reg = max(self.max_reg, self.next_reg)
        return base

    def label(self, name: str = "") -> Label:
        return Label(name)

    def place(self, label: Label) -> None:
        self.vf.mark(label)

    def const(self, dst: int, value: object) -> int:
        self.op(bc.LOADK, dst, Const(value))
        return dst

    def tid(self, t: Type) -> int:
        return self.types.tid(t)

    # ------------------------------------------------------------ functions

    def lower(self) -> VirFunction:
        inst = self.inst
        decl = inst.decl
        name = inst.name
        flags = (bc.FN_ASYNC if inst.is_async else 0) | (bc.FN_LAMBDA if inst.is_lambda else 0) \
            | (bc.FN_METHOD if inst.self_type is not None else 0) | (
                bc.FN_EXTERN if inst.is_extern else 0) | (bc.FN_TEST if "test" in inst.attrs
                                                          else 0)
        self.vf = VirFunction(self.pl.fidx[inst], name, inst.span, len(inst.params),
                              ret_type=self.tid(inst.ret), ncaptures=len(inst.captures),
                              flags=flags)
        for i, local in enumerate(inst.captures):
            self.cap_index[local] = i
            self.vf.vars.append(bc.VarEntry(i, local.name, self.tid(local.type), 0, 1 << 30,
                                            "capture", self.boxed(local)))
        for p in inst.params:
            r = self.reg(p.type)
            self.reg_of[p] = r
            self.vf.vars.append(bc.VarEntry(r, p.name, self.tid(p.type), 0, 1 << 30, "param",
                                            self.boxed(p)))
        body = decl.body if decl is not None else None
        if inst.is_extern or body is None:
            self.op(bc.UNSUPPORTED, Const(f"calling the extern function `{decl.name}`"))
            self.finish()
            return self.vf
        for p in inst.params:
            if self.boxed(p):
                r = self.reg_of[p]
                self.op(bc.CELLNEW, r, r, self.types.cell(kind_of(p.type)))
        self.span = body.span
        self.closing = self.closing_brace(body)
        want = prune(inst.ret) != UNIT and prune(inst.ret).__str__() != "Never"
        if want:
            res = self.reg(inst.ret)
            self.block(body, res)
            self.at_closing_brace()
            self.op(bc.RET, res)
        else:
            self.block(body, None)
            self.at_closing_brace()
            r = self.reg()
            self.const(r, None)
            self.op(bc.RET, r)
        self.finish()
        return self.vf

    def closing_brace(self, body: ast.Block) -> Span | None:
        """The span of the body's closing `}` when it has a line of its own."""
        if not isinstance(body, ast.Block):
            return None
        src = self.pl.checked.sources.get(body.span.file)
        end = body.span.end
        last = body.stmts[-1].span.end_line if body.stmts else body.span.line
        if src is None or end < 1 or src.text[end - 1:end] != "}" or body.span.end_line <= last:
            return None
        return Span(body.span.file, end - 1, end, body.span.end_line, body.span.end_col - 1,
                    body.span.end_line, body.span.end_col)

    def at_closing_brace(self, value: int | None = None) -> None:
        """Every return of the function is located at its closing `}`, as a statement
        start (the line table may go back to it from the middle of the function): `next`
        from the last statement, or from a `return`, stops there before returning, as gdb
        does with C's single epilogue, and a breakpoint can be set on it."""
        if self.closing is not None:
            if self.stmt_span is not None:
                # The statement emitted nothing else (`return n`): keep its own stop with
                # the cheapest instruction the interpreter has (NOP is a slow path).
                r = value if value is not None else self.reg()
                self.op(bc.MOV, r, r)
            self.span = self.closing
            self.stmt_span = self.closing

    def lower_globals(self, index: int) -> VirFunction:
        self.vf = VirFunction(index, "<globals>", NO_SPAN, 0)
        for local, value in self.pl.checked.globals:
            if value is None:
                continue
            self.span = value.span
            self.stmt_span = value.span
            r = self.ex(value)
            self.write_local(local, r)
            self.next_reg = 0
        r = self.reg()
        self.const(r, None)
        self.op(bc.RET, r)
        self.finish()
        return self.vf

    def finish(self) -> None:
        self.vf.nregs = self.max_reg

    @staticmethod
    def boxed(local: Local) -> bool:
        return local.captured and local.mutable

    # ------------------------------------------------------------ variables

    def declare(self, local: Local) -> int:
        r = self.reg(local.type)
        self.reg_of[local] = r
        entry = [r, local, len(self.vf.instrs)]
        if self.open_vars:
            self.open_vars[-1].append(entry)
        else:
            self.vf.vars.append(bc.VarEntry(r, local.name, self.tid(local.type),
                                            len(self.vf.instrs), 1 << 30, "local",
                                            self.boxed(local)))
        return r

    def bind(self, local: Local, src: int) -> None:
        """Declare `local` and initialize it from register `src`."""
        r = self.declare(local)
        if self.boxed(local):
            self.op(bc.CELLNEW, r, src, self.types.cell(kind_of(local.type)))
        elif r != src:
            self.op(bc.MOV, r, src)

    def read_local(self, local: Local, dst: int | None) -> int:
        if local.is_global:
            d = dst if dst is not None else self.reg(local.type)
            self.op(bc.GGET, d, self.pl.globals[local])
            return d
        if local in self.cap_index:
            d = dst if dst is not None else self.reg(local.type)
            self.op(bc.LOADCAP, d, self.cap_index[local])
            if self.boxed(local):
                self.op(bc.CELLGET, d, d)
            return d
        r = self.reg_of.get(local)
        if r is None:
            # A closure variable of a nested function read before its declaration ran.
            d = dst if dst is not None else self.reg(local.type)
            self.const(d, None)
            return d
        if self.boxed(local):
            d = dst if dst is not None else self.reg(local.type)
            self.op(bc.CELLGET, d, r)
            return d
        if dst is not None and dst != r:
            self.op(bc.MOV, dst, r)
            return dst
        return r

    def raw_capture(self, local: Local) -> int:
        """The register holding what a closure captures for `local` (its cell if boxed)."""
        if local in self.cap_index:
            d = self.reg()
            self.op(bc.LOADCAP, d, self.cap_index[local])
            return d
        if local.is_global:
            return self.read_local(local, None)
        r = self.reg_of.get(local)
        if r is None:
            d = self.reg()
            self.const(d, None)
            return d
        return r

    def write_local(self, local: Local, src: int) -> None:
        if local.is_global:
            if is_ref(local.type):
                self.op(bc.REFNEW, src, src)
                self.op(bc.RCGSET, self.pl.globals[local], src)
                return
            self.op(bc.GSET, self.pl.globals[local], src)
        elif local in self.cap_index:
            cell = self.reg()
            self.op(bc.LOADCAP, cell, self.cap_index[local])
            self.op(bc.CELLSET, cell, src)
        elif self.boxed(local):
            self.op(bc.CELLSET, self.reg_of[local], src)
        else:
            r = self.reg_of[local]
            if r != src:
                self.op(bc.MOV, r, src)

    # ------------------------------------------------------------ blocks and statements

    def block(self, b: ast.Block, dst: int | None) -> None:
        """Lower a block; its value (if `dst` is given) goes to `dst`."""
        saved_next = self.next_reg
        self.open_vars.append([])
        n = len(b.stmts)
        produced = False
        for i, s in enumerate(b.stmts):
            last = i == n - 1
            base = self.next_reg
            self.stmt_span = s.span if not isinstance(s, ast.ExprStmt) else s.expr.span
            self.span = s.span
            if last and dst is not None and isinstance(s, ast.ExprStmt):
                t = prune(s.expr.ty) if s.expr.ty is not None else UNIT
                if str(t) != "Never":
                    self.ex(s.expr, dst)
                    produced = True
                else:
                    self.ex(s.expr)
            else:
                self.stmt(s)
            self.stmt_span = None
            keep = [e[0] for e in self.open_vars[-1]]
            self.next_reg = max([base] + [r + 1 for r in keep if r >= base])
        if dst is not None and not produced:
            last = b.stmts[-1] if b.stmts else None
            if not (isinstance(last, ast.ExprStmt) and str(prune(last.expr.ty)) == "Never") \
                    and not isinstance(last, (ast.Return, ast.Break, ast.Continue)):
                self.const(dst, None)
        end = len(self.vf.instrs)
        for r, local, start in self.open_vars.pop():
            self.vf.vars.append(bc.VarEntry(r, local.name, self.tid(local.type), start, end,
                                            "local", self.boxed(local)))
        self.next_reg = saved_next

    def stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.ExprStmt):
            if isinstance(s.expr, (ast.If, ast.Match, ast.For)):
                # Statement position: the value is thrown away, so none is materialized.
                saved = self.span
                self.span = s.expr.span
                getattr(self, "e_" + type(s.expr).__name__)(s.expr, DISCARD)
                self.span = saved
            else:
                self.ex(s.expr)
        elif isinstance(s, ast.Let):
            self.let(s)
        elif isinstance(s, ast.Assign):
            self.assign(s)
        elif isinstance(s, ast.Return):
            if s.value is not None and str(prune(s.value.ty)) != "Never":
                r = self.ex(s.value)
            else:
                if s.value is not None:
                    self.ex(s.value)
                r = self.reg()
                self.const(r, None)
            for region in reversed(self.regions):
                self.op(bc.ENDREGION, region)
            self.at_closing_brace(r)
            self.op(bc.RET, r)
        elif isinstance(s, ast.Break):
            loop = self.loops[-1]
            self.exit_regions(loop.regions)
            self.op(bc.JMP, loop.brk)
        elif isinstance(s, ast.Continue):
            loop = self.loops[-1]
            self.exit_regions(loop.regions)
            self.op(bc.JMP, loop.cont)
        elif isinstance(s, ast.While):
            head, end = self.label("while"), self.label("endwhile")
            self.place(head)
            self.stmt_span = s.span      # each test of the condition is a statement start
            self.branch_false(s.cond, end)
            self.loops.append(LoopCtx(end, head, len(self.regions)))
            self.block(s.body, None)
            self.loops.pop()
            self.op(bc.JMP, head)
            self.place(end)
        elif isinstance(s, ast.WhileLet):
            head, end = self.label("whilelet"), self.label("endwhilelet")
            self.place(head)
            self.stmt_span = s.span
            self.open_vars.append([])
            v = self.ex(s.value)
            self.pattern(s.pattern, v, end)
            self.loops.append(LoopCtx(end, head, len(self.regions)))
            self.block(s.body, None)
            self.loops.pop()
            self.close_vars()
            self.op(bc.JMP, head)
            self.place(end)
        elif isinstance(s, ast.Loop):
            head, end = self.label("loop"), self.label("endloop")
            self.place(head)
            self.loops.append(LoopCtx(end, head, len(self.regions)))
            self.block(s.body, None)
            self.loops.pop()
            self.op(bc.JMP, head)
            self.place(end)
        elif isinstance(s, ast.FnDecl):
            inst = s.sym
            if isinstance(inst, FnInstance) and inst.closure_local is not None:
                r = self.declare(inst.closure_local)
                self.closure(inst, r)
        elif isinstance(s, ast.SpawnFn):
            inst = s.func.sym
            if inst.closure_local is not None:
                clo = self.declare(inst.closure_local)
            else:
                clo = self.reg()
            self.closure(inst, clo)
            base = self.regs(1)
            self.op(bc.MOV, base, clo)
            self.op(bc.CALLB, self.reg(), Const("spawn"), base, 1,
                    self.tid(Generic("Task", (UNIT,))))
        # Type declarations, imports and macros produce no code.

    def close_vars(self) -> None:
        end = len(self.vf.instrs)
        for r, local, start in self.open_vars.pop():
            self.vf.vars.append(bc.VarEntry(r, local.name, self.tid(local.type), start, end,
                                            "local", self.boxed(local)))

    def exit_regions(self, depth: int) -> None:
        for region in reversed(self.regions[depth:]):
            self.op(bc.ENDREGION, region)

    def let(self, s: ast.Let) -> None:
        pat = s.pattern
        if s.value is None:
            if isinstance(pat, ast.IdentPat) and isinstance(pat.sym, Local):
                r = self.reg()
                self.const(r, self.zero_const(pat.sym.type))
                self.bind(pat.sym, r)
            return
        if isinstance(pat, ast.IdentPat) and isinstance(pat.sym, Local) and not self.boxed(
                pat.sym):
            r = self.declare(pat.sym)
            self.ex(s.value, r)
            if is_ref(pat.sym.type):
                self.op(bc.REFNEW, r, r)
            # The variable is visible (to a debugger) once its initializer has run.
            if self.open_vars and self.open_vars[-1] and self.open_vars[-1][-1][1] is pat.sym:
                self.open_vars[-1][-1][2] = len(self.vf.instrs)
            return
        v = self.ex(s.value)
        fail = self.label("letfail")
        self.pattern(pat, v, fail)
        if fail.pc < 0:
            self.place(fail)

    def zero_const(self, t: Type):
        k = kind_of(t)
        return {K_INT: 0, K_FLOAT: 0.0, K_BOOL: False}.get(k)

    def assign(self, s: ast.Assign) -> None:
        target = s.target
        if s.op == "=":
            value = self.ex(s.value)
        else:
            cur = self.ex(target)
            rhs = self.ex(s.value)
            value = self.reg()
            self.arith(s.op[:-1], prune(target.ty), cur, rhs, value, s.span)
        if isinstance(target, (ast.Name, ast.Path)) and isinstance(target.sym, Local):
            if is_ref(target.sym.type) and not target.sym.is_global:
                self.op(bc.REFNEW, value, value)
            self.write_local(target.sym, value)
        elif isinstance(target, ast.Field):
            obj = self.ex(target.obj)
            fa = target.sym
            slot = fa.index
            if fa.field is not None and is_ref(fa.field.type):
                self.op(bc.REFNEW, value, value)
                self.op(bc.RCSETF, obj, slot, value)
            else:
                self.op(bc.SETF, obj, slot, value, kind_of(target.ty))
        elif isinstance(target, ast.Index):
            obj = self.ex(target.obj)
            idx = self.ex(target.index)
            self.op(bc.SETINDEX, obj, idx, value, self.tid(unref(target.obj.ty)))
        elif isinstance(target, ast.Unary):
            self.op(bc.UNSUPPORTED, Const("assignment through a raw pointer"))

    # ------------------------------------------------------------ conditions

    def branch_false(self, cond: ast.Expr, target: Label) -> None:
        """Jump to `target` when `cond` is false; fall through when true."""
        if isinstance(cond, ast.Binary):
            op = cond.op
            if op == "&&":
                self.branch_false(cond.left, target)
                self.branch_false(cond.right, target)
                return
            if op == "||":
                ok = self.label("or")
                self.branch_true(cond.left, ok)
                self.branch_false(cond.right, target)
                self.place(ok)
                return
            if op in NEG_JUMP and self.unboxed(cond.left.ty):
                self.span = cond.span
                if op in ("<", ">=") and isinstance(cond.right, ast.IntLit) and is_int(
                        prune(cond.left.ty)):
                    a = self.ex(cond.left)
                    self.op(bc.JGEK if op == "<" else bc.JLTK, a, cond.right.value, target)
                    return
                a = self.ex(cond.left)
                b = self.ex(cond.right)
                self.op(NEG_JUMP[op], a, b, target)
                return
        if isinstance(cond, ast.Unary) and cond.op == "!":
            self.branch_true(cond.operand, target)
            return
        r = self.ex(cond)
        self.op(bc.JF, r, target)

    def branch_true(self, cond: ast.Expr, target: Label) -> None:
        if isinstance(cond, ast.Binary):
            op = cond.op
            if op == "||":
                self.branch_true(cond.left, target)
                self.branch_true(cond.right, target)
                return
            if op == "&&":
                skip = self.label("and")
                self.branch_false(cond.left, skip)
                self.branch_true(cond.right, target)
                self.place(skip)
                return
            if op in POS_JUMP and self.unboxed(cond.left.ty):
                a = self.ex(cond.left)
                b = self.ex(cond.right)
                self.op(POS_JUMP[op], a, b, target)
                return
        if isinstance(cond, ast.Unary) and cond.op == "!":
            self.branch_false(cond.operand, target)
            return
        r = self.ex(cond)
        self.op(bc.JT, r, target)

    @staticmethod
    def unboxed(t: Type) -> bool:
        return kind_of(t) in (K_INT, K_FLOAT, K_BOOL)

    # ------------------------------------------------------------ expressions

    def ex(self, e: ast.Expr, dst: int | None = None) -> int:
        """Lower `e`; returns the register holding its value (`dst` if given)."""
        saved = self.span
        self.span = e.span
        try:
            handler = getattr(self, "e_" + type(e).__name__)
            r = handler(e, dst)
        finally:
            self.span = saved
        if dst is not None and r != dst:
            self.op(bc.MOV, dst, r)
            return dst
        return r

    def target(self, dst: int | None, t: Type | None = None) -> int:
        return dst if dst is not None else self.reg(t)

    def e_IntLit(self, e, dst):
        return self.const(self.target(dst), e.value)

    def e_FloatLit(self, e, dst):
        return self.const(self.target(dst), float(e.value))

    def e_BoolLit(self, e, dst):
        return self.const(self.target(dst), bool(e.value))

    def e_CharLit(self, e, dst):
        return self.const(self.target(dst), ord(e.value) if e.value else 0)

    def e_StringLit(self, e, dst):
        return self.const(self.target(dst), e.value)

    def e_NilLit(self, e, dst):
        return self.const(self.target(dst), 0)

    def e_Todo(self, e, dst):
        self.op(bc.PANICK, Const("not implemented"))
        return self.const(self.target(dst), None)

    def e_Name(self, e, dst):
        return self.name_value(e, dst)

    e_Path = e_Name
    e_SelfExpr = e_Name

    def name_value(self, e, dst):
        sym = e.sym
        if isinstance(sym, Local):
            return self.read_local(sym, dst)
        if isinstance(sym, FnInstance):
            return self.fn_value(sym, self.target(dst, e.ty))
        if isinstance(sym, VariantRef):
            if not sym.variant.payload:
                return self.new_variant(sym, [], self.target(dst, e.ty))
            # A payload variant used as a function value: wrap it? Not needed by the
            # guide; report clearly.
            self.op(bc.UNSUPPORTED, Const("enum variant constructors as function values"))
            return self.const(self.target(dst), None)
        return self.const(self.target(dst), None)

    def fn_value(self, inst: FnInstance, dst: int) -> int:
        """A function used as a value: its closure."""
        cur = self.inst
        if inst.closure_local is not None:
            if inst is cur:
                self.op(bc.LOADENV, dst)
                return dst
            return self.read_local(inst.closure_local, dst)
        return self.closure(inst, dst)

    def closure(self, inst: FnInstance, dst: int) -> int:
        caps = inst.captures
        base = self.regs(len(caps))
        kinds = []
        for i, local in enumerate(caps):
            r = self.raw_capture(local)
            self.op(bc.MOV, base + i, r)
            kinds.append(K_PTR if self.boxed(local) else kind_of(local.type))
        tid = self.types.closure(self.pl.fidx[inst], inst.name, kinds)
        self.op(bc.CLOSURE, dst, self.pl.fidx[inst], base, len(caps), tid)
        return dst

    def e_Unary(self, e, dst):
        if e.op == "*":
            return self.ex(e.operand, dst)
        t = prune(e.ty)
        a = self.ex(e.operand)
        d = self.target(dst, t)
        if e.op == "-":
            if is_float(t):
                self.op(bc.FNEG, d, a)
            else:
                self.op(bc.NEG, d, a)
                self.wrap(t, d)
        elif e.op == "!":
            self.op(bc.NOT if t == BOOL else bc.BNOT, d, a)
        else:
            self.op(bc.BNOT, d, a)
            self.wrap(t, d)
        return d

    def e_AddrOf(self, e, dst):
        return self.ex(e.operand, dst)

    def wrap(self, t: Type, r: int) -> None:
        t = prune(t)
        if isinstance(t, Prim) and t.name in INT_BITS and INT_BITS[t.name] < 64:
            bits = INT_BITS[t.name]
            self.op(bc.WRAP, r, r, -bits if not t.name.startswith("U") else bits)
        elif isinstance(t, Prim) and t.name == "UInt64":
            self.op(bc.WRAP, r, r, 64)

    def e_Binary(self, e, dst):
        op = e.op
        if op in ("&&", "||"):
            d = self.target(dst, BOOL)
            done = self.label("sc")
            self.ex(e.left, d)
            self.op(bc.JF if op == "&&" else bc.JT, d, done)
            self.ex(e.right, d)
            self.place(done)
            return d
        lt = prune(e.left.ty)
        if op in ("+", "-") and lt == INT and isinstance(e.right, ast.IntLit) and \
                abs(e.right.value) < (1 << 31):
            a = self.ex(e.left)
            d = self.target(dst, e.ty)
            self.op(bc.ADDK if op == "+" else bc.SUBK, d, a, e.right.value)
            return d
        a = self.ex(e.left)
        b = self.ex(e.right)
        d = self.target(dst, e.ty)
        if op in CMP_OPS:
            if kind_of(lt) == K_PTR:
                tid = self.tid(lt)
                if op in ("==", "!="):
                    self.op(bc.VEQ, d, a, b, tid)
                    if op == "!=":
                        self.op(bc.NOT, d, d)
                else:
                    self.op(bc.VCMP, d, a, b, CMP_CODES[op], tid)
            else:
                self.op(CMP_OPS[op], d, a, b)
            return d
        self.arith(op, lt, a, b, d, e.span)
        return d

    def arith(self, op: str, t: Type, a: int, b: int, d: int, span: Span) -> None:
        t = prune(unref(t))
        if t == STRING and op == "+":
            self.op(bc.SCAT, d, a, b)
        elif is_float(t):
            self.op(FLOAT_OPS[op], d, a, b)
        elif t == BOOL:
            self.op(INT_OPS[op], d, a, b)
        else:
            self.op(INT_OPS[op], d, a, b)
            self.wrap(t, d)

    def e_Range(self, e, dst):
        a = self.ex(e.start)
        b = self.ex(e.end)
        d = self.target(dst, e.ty)
        self.op(bc.RANGE, d, a, b, 1 if e.inclusive else 0)
        return d

    def e_Cast(self, e, dst):
        src_t = prune(unref(e.expr.ty))
        dst_t = prune(unref(e.ty))
        a = self.ex(e.expr)
        d = self.target(dst, dst_t)
        fc, tc = self.cast_code(src_t), self.cast_code(dst_t)
        if fc == tc and src_t == dst_t:
            if d != a:
                self.op(bc.MOV, d, a)
            return d
        self.op(bc.CAST, d, a, fc, tc)
        self.wrap(dst_t, d)
        return d

    @staticmethod
    def cast_code(t: Type) -> int:
        if is_float(t):
            return CAST_FLOAT
        if t == BOOL:
            return CAST_BOOL
        if t in (CHAR, RUNE):
            return CAST_CHAR
        return CAST_INT

    # ------------------------------------------------------------ calls

    def args_into(self, exprs: list) -> int:
        base = self.regs(len(exprs))
        for i, x in enumerate(exprs):
            if x is None:
                self.const(base + i, None)
            else:
                self.ex(x, base + i)
        return base

    def e_Call(self, e, dst):
        sym = e.sym
        callee = e.callee
        if isinstance(sym, Construct):
            return self.construct(sym, dst, e.ty)
        if isinstance(sym, Builtin):
            return self.builtin(e, sym.name, dst)
        if isinstance(sym, VariantRef):
            args = list(getattr(e, "ordered_args", [a.value for a in e.args]))
            return self.new_variant(sym, args, self.target(dst, e.ty))
        args = list(getattr(e, "ordered_args", [a.value for a in e.args]))
        target = callee.sym
        d = self.target(dst, e.ty)
        if isinstance(target, FnInstance):
            if target.is_async:
                # A call of an `async fn` makes a future that has not started.
                base = self.regs(1 + len(args))
                self.const(base, self.pl.fidx[target])
                for i, a in enumerate(args):
                    self.ex(a, base + 1 + i)
                self.op(bc.CALLB, d, Const("async"), base, 1 + len(args), self.tid(e.ty))
                return d
            if target.closure_local is None:
                base = self.args_into(args)
                self.op(bc.CALL, d, self.pl.fidx[target], base, len(args))
                return d
        fn = self.ex(callee)
        base = self.args_into(args)
        self.op(bc.CALLV, d, fn, base, len(args), self.tid(e.ty))
        return d

    def construct(self, sym: Construct, dst: int | None, t) -> int:
        st = sym.struct
        base = self.args_into(list(sym.values))
        counted = [i for i, f in enumerate(st.fields) if is_ref(f.type)]
        for i in counted:
            self.op(bc.REFNEW, base + i, base + i)
        d = self.target(dst, st)
        self.op(bc.NEW, d, self.tid(st), base, len(sym.values))
        for i in counted:
            self.op(bc.RCHOLD, d, i)
        return d

    def new_variant(self, ref: VariantRef, args: list, dst: int) -> int:
        enum_desc = self.types.descs[self.tid(ref.enum)]
        vtid = enum_desc.variants[ref.variant.tag]
        base = self.regs(1 + len(args))
        self.const(base, ref.variant.tag)
        counted = [i for i, t in enumerate(ref.variant.payload) if is_ref(t)]
        for i, a in enumerate(args):
            self.ex(a, base + 1 + i)
            if i in counted:
                self.op(bc.REFNEW, base + 1 + i, base + 1 + i)
        self.op(bc.NEW, dst, vtid, base, 1 + len(args))
        for i in counted:
            self.op(bc.RCHOLD, dst, 1 + i)
        return dst

    def e_MethodCall(self, e, dst):
        sym = e.sym
        args = list(getattr(e, "ordered_args", [a.value for a in e.args]))
        d = self.target(dst, e.ty)
        if isinstance(sym, FnInstance):
            base = self.regs(1 + len(args))
            self.ex(e.receiver, base)
            for i, a in enumerate(args):
                if a is None:
                    self.const(base + 1 + i, None)
                else:
                    self.ex(a, base + 1 + i)
            self.op(bc.CALL, d, self.pl.fidx[sym], base, 1 + len(args))
            return d
        if isinstance(sym, TraitMethod):
            base = self.regs(1 + len(args))
            self.ex(e.receiver, base)
            for i, a in enumerate(args):
                self.ex(a, base + 1 + i)
            self.op(bc.CALLM, d, Const(sym.name), base, 1 + len(args), self.tid(e.ty))
            return d
        if isinstance(sym, FieldCall):
            obj = self.ex(e.receiver)
            fn = self.reg()
            self.op(bc.GETF, fn, obj, sym.field.index, K_PTR)
            base = self.args_into(args)
            self.op(bc.CALLV, d, fn, base, len(args), self.tid(e.ty))
            return d
        if isinstance(sym, BuiltinMethod):
            base = self.regs(1 + len(args))
            self.ex(e.receiver, base)
            for i, a in enumerate(args):
                self.ex(a, base + 1 + i)
            recv_t = unref(e.receiver.ty)
            name = f"{sym.kind}.{sym.name}"
            if sym.name == "map" or name == "ThreadPool.submit":
                # The result's type is needed to build the new Vec or handle.
                self.op(bc.CALLB, d, Const(name), base, 1 + len(args), self.tid(e.ty))
            else:
                self.op(bc.CALLB, d, Const(name), base, 1 + len(args), self.tid(recv_t))
            return d
        self.op(bc.UNSUPPORTED, Const(f"method `{e.method}`"))
        return self.const(d, None)

    def builtin(self, e: ast.Call, name: str, dst: int | None) -> int:
        args = [a.value for a in e.args]
        d = self.target(dst, e.ty)
        if name in ("println", "print", "eprintln"):
            flags = (1 if name != "print" else 0) | (2 if name == "eprintln" else 0)
            if not args:
                fmt: object = ""
                vals: list = []
            elif isinstance(args[0], ast.StringLit):
                fmt = args[0].value
                vals = args[1:]
            elif len(args) == 1:
                fmt = "{}"
                vals = args
            else:
                fmt = None
                vals = args
            base = self.args_into(vals)
            tids = tuple(self.tid(v.ty) for v in vals)
            self.op(bc.PRINT, Const(fmt), base, len(vals), Const(tids), flags)
            return self.const(d, None)
        if name == "dbg":
            v = self.ex(args[0], d)
            src = self.pl.checked.sources.get(e.span.file)
            text = src.text[args[0].span.start:args[0].span.end] if src else "?"
            where = f"{e.span.file}:{e.span.line}:{e.span.col}"
            self.op(bc.DBG, v, Const((where, text)), self.tid(args[0].ty))
            return v
        if name == "panic":
            if args:
                r = self.ex(args[0])
                self.op(bc.PANIC, r)
            else:
                self.op(bc.PANICK, Const("explicit panic"))
            return self.const(d, None)
        if name == "assert":
            ok = self.label("assert")
            self.branch_true(args[0], ok)
            if len(args) > 1:
                r = self.ex(args[1])
                self.op(bc.PANIC, r)
            else:
                src = self.pl.checked.sources.get(e.span.file)
                text = src.text[args[0].span.start:args[0].span.end] if src else "?"
                self.op(bc.PANICK, Const(f"assertion failed: {text}"))
            self.place(ok)
            return self.const(d, None)
        if name == "alloc":
            st = prune(getattr(e, "alloc_type", e.ty))
            if not isinstance(st, StructT):
                self.op(bc.UNSUPPORTED, Const("alloc of this type"))
                return self.const(d, None)
            base = self.regs(len(st.fields))
            for i, f in enumerate(st.fields):
                ft = prune(f.type)
                self.const(base + i, "" if ft == STRING else self.zero_const(ft) if kind_of(
                    ft) != K_PTR else 0)
            self.op(bc.NEW, d, self.tid(st), base, len(st.fields))
            return d
        if name == "free":
            r = self.ex(args[0])
            self.op(bc.FREE, r)
            return self.const(d, None)
        if name == "ref":
            # ref(obj): the object becomes reference-counted (runtime/heap: FLAG_RC); the
            # ref<T> fields and globals that hold it count it.
            r = self.ex(args[0])
            self.op(bc.REFNEW, d, r)
            return d
        if name == "trace_event":
            # A user event for the trace recorder (runtime/events.py); nothing untraced.
            base = self.args_into(args)
            self.op(bc.CALLB, d, Const("trace_event"), base, len(args), self.tid(UNIT))
            return d
        if name in ("Vec::new", "Vec", "Vec::with_capacity"):
            self.op(bc.VECNEW, d, self.tid(e.ty), self.next_reg, 0)
            return d
        if name == "String::from":
            r = self.ex(args[0])
            self.op(bc.TOSTR, d, r, self.tid(args[0].ty))
            return d
        # The scheduler's constructors (`spawn`, `Thread::spawn`, `ThreadPool`,
        # `Channel::bounded`, ...): y is the type of the handle they return.
        base = self.args_into(args)
        self.op(bc.CALLB, d, Const(name), base, len(args), self.tid(e.ty))
        return d

    # ------------------------------------------------------------ data

    def e_Field(self, e, dst):
        obj = self.ex(e.obj)
        d = self.target(dst, e.ty)
        fa = e.sym
        if isinstance(fa, FieldAccess):
            self.op(bc.GETF, d, obj, fa.index, kind_of(e.ty))
            return d
        self.op(bc.UNSUPPORTED, Const(f"field `{e.name}`"))
        return self.const(d, None)

    def e_Index(self, e, dst):
        obj = self.ex(e.obj)
        idx = self.ex(e.index)
        d = self.target(dst, e.ty)
        self.op(bc.INDEX, d, obj, idx, self.tid(unref(e.obj.ty)))
        return d

    def e_TupleLit(self, e, dst):
        if not e.elems:
            return self.const(self.target(dst), None)
        base = self.args_into(e.elems)
        d = self.target(dst, e.ty)
        self.op(bc.NEW, d, self.tid(e.ty), base, len(e.elems))
        return d

    def e_ArrayLit(self, e, dst):
        base = self.args_into(e.elems)
        d = self.target(dst, e.ty)
        t = prune(e.ty)
        if isinstance(t, ArrayT):
            self.op(bc.ARRNEW, d, self.tid(t), base, len(e.elems))
        else:   # Bytes
            self.op(bc.CALLB, d, Const("Bytes.from"), base, len(e.elems), self.tid(t))
        return d

    def e_MacroCall(self, e, dst):
        base = self.args_into(e.args)
        d = self.target(dst, e.ty)
        self.op(bc.VECNEW, d, self.tid(e.ty), base, len(e.args))
        return d

    # ------------------------------------------------------------ control flow

    def e_Block(self, e, dst):
        d = self.target(dst, e.ty)
        self.block(e, d)
        return d

    def e_Unsafe(self, e, dst):
        return self.e_Block(e.body, dst)

    def e_Scoped(self, e, dst):
        d = self.target(dst, e.ty)
        region = self.reg()
        self.op(bc.REGION, region)
        self.regions.append(region)
        self.block(e.body, d)
        self.regions.pop()
        self.op(bc.ENDREGION, region)
        return d

    def e_If(self, e, dst):
        discard = dst == DISCARD
        valued = e.else_ is not None and prune(e.ty) != UNIT and not discard
        d = self.target(None if discard else dst, e.ty)
        els, end = self.label("else"), self.label("endif")
        self.branch_false(e.cond, els)
        self.block(e.then, d if valued else None)
        if e.else_ is not None:
            self.op(bc.JMP, end)
        self.place(els)
        if e.else_ is not None:
            if isinstance(e.else_, ast.Block):
                self.block(e.else_, d if valued else None)
            else:
                self.ex(e.else_, d if valued else None)
        self.place(end)
        if not valued and not discard:
            self.const(d, None)
        return d

    def e_Match(self, e, dst):
        discard = dst == DISCARD
        valued = prune(e.ty) not in (UNIT,) and str(prune(e.ty)) != "Never" and not discard
        d = self.target(None if discard else dst, e.ty)
        subj = self.reg(e.subject.ty)
        self.ex(e.subject, subj)
        end = self.label("endmatch")
        for arm in e.arms:
            nxt = self.label("arm")
            saved = self.next_reg
            self.open_vars.append([])
            self.pattern(arm.pattern, subj, nxt)
            if arm.guard is not None:
                self.branch_false(arm.guard, nxt)
            if not isinstance(arm.body, ast.Block):
                # An arm's body is a place to stop (gdb stops on `case` lines); a block
                # body's statements are stops already.
                self.stmt_span = arm.body.span
            if valued and str(prune(arm.body.ty)) != "Never":
                self.ex(arm.body, d)
            else:
                self.ex(arm.body)
            self.close_vars()
            self.next_reg = saved
            self.op(bc.JMP, end)
            self.place(nxt)
        saved_span = self.span
        self.span = Span(e.span.file, e.span.start, e.span.start + 5, e.span.line, e.span.col,
                         e.span.line, e.span.col + 5)
        self.op(bc.PANICK, Const("no match arm matched"))
        self.span = saved_span
        self.place(end)
        if not valued and not discard:
            self.const(d, None)
        return d

    def e_For(self, e, dst):
        discard = dst == DISCARD
        collect = isinstance(prune(e.ty), Generic) and not discard
        d = self.target(None if discard else dst, e.ty)
        if collect:
            self.op(bc.VECNEW, d, self.tid(e.ty), self.next_reg, 0)
        head, cont, end = self.label("for"), self.label("forcont"), self.label("endfor")
        it_t = prune(unref(e.iter.ty))
        self.open_vars.append([])
        value_reg = self.reg(prune(e.ty).args[0]) if collect else None
        if isinstance(e.iter, ast.Range) and is_int(prune(e.iter.start.ty)):
            counter = self.reg()
            limit = self.reg()
            self.ex(e.iter.start, counter)
            self.ex(e.iter.end, limit)
            self.place(head)
            self.stmt_span = e.span      # the loop header is a stop at every iteration
            self.op(bc.JGT if e.iter.inclusive else bc.JGE, counter, limit, end)
            item = counter
            self.loops.append(LoopCtx(end, cont, len(self.regions)))
            self.for_body(e, item, value_reg, d, collect)
            self.loops.pop()
            self.place(cont)
            if e.iter.inclusive:
                # a..b with b the largest Int: the counter must not wrap past it.
                self.op(bc.JEQ, counter, limit, end)
            self.op(bc.ADDK, counter, counter, 1)
            self.op(bc.JMP, head)
        else:
            src = self.ex(e.iter)
            it = self.reg()
            self.op(bc.ITER, it, src, self.tid(it_t))
            item = self.reg()
            self.place(head)
            self.place(cont)
            self.stmt_span = e.span
            self.op(bc.NEXT, item, it, end)
            self.loops.append(LoopCtx(end, cont, len(self.regions)))
            self.for_body(e, item, value_reg, d, collect)
            self.loops.pop()
            self.op(bc.JMP, head)
        self.place(end)
        self.close_vars()
        if not collect and not discard:
            self.const(d, None)
        return d

    def for_body(self, e, item: int, value_reg, d: int, collect: bool) -> None:
        saved = self.next_reg
        self.open_vars.append([])
        fail = self.label("forpat")
        self.pattern(e.pattern, item, fail)
        self.block(e.body, value_reg if collect else None)
        if collect:
            self.op(bc.CALLB, value_reg, Const("Vec.push"), self.push_args(d, value_reg), 2,
                    self.tid(e.ty))
        if fail.pc < 0:
            self.place(fail)
        self.close_vars()
        self.next_reg = saved

    def push_args(self, vec: int, value: int) -> int:
        base = self.regs(2)
        self.op(bc.MOV, base, vec)
        self.op(bc.MOV, base + 1, value)
        return base

    def e_Lambda(self, e, dst):
        return self.closure(e.sym, self.target(dst, e.ty))

    def e_Await(self, e, dst):
        d = self.target(dst, e.ty)
        base = self.args_into([e.expr])
        self.op(bc.CALLB, d, Const("await"), base, 1, self.tid(e.expr.ty))
        return d

    def e_Spawn(self, e, dst):
        d = self.target(dst, e.ty)
        base = self.args_into([e.expr])
        self.op(bc.CALLB, d, Const("spawn"), base, 1, self.tid(e.ty))
        return d

    def e_ActorNew(self, e, dst):
        """The actor's state is constructed as a class instance, then handed to the
        scheduler with the mailbox capacity (-1: unbounded)."""
        d = self.target(dst, e.ty)
        base = self.regs(2)
        st = e.sym.struct
        self.construct(e.sym, base, st)
        if e.capacity is not None:
            self.ex(e.capacity, base + 1)
        else:
            self.const(base + 1, -1)
        self.op(bc.CALLB, d, Const("actor"), base, 2, self.tid(e.ty))
        return d

    # ------------------------------------------------------------ patterns

    def pattern(self, p: ast.Pattern, v: int, fail: Label) -> None:
        """Test `p` against register `v`, binding its names; jump to `fail` on mismatch."""
        if isinstance(p, ast.WildcardPat):
            return
        if isinstance(p, ast.IdentPat):
            if isinstance(p.sym, Local):
                self.bind(p.sym, v)
            elif isinstance(p.sym, VariantRef):
                self.test_tag(v, p.sym, fail)
            return
        if isinstance(p, ast.VariantPat):
            ref = p.sym
            if not isinstance(ref, VariantRef):
                return
            self.test_tag(v, ref, fail)
            for i, (sub, pt) in enumerate(zip(p.args or [], ref.variant.payload, strict=False)):
                if isinstance(sub, ast.WildcardPat):
                    continue
                r = self.reg(pt)
                self.op(bc.GETF, r, v, 1 + i, kind_of(pt))
                self.pattern(sub, r, fail)
            return
        if isinstance(p, ast.TuplePat):
            t = prune(unref(p.ty))
            elems = t.elems if isinstance(t, TupleT) else ()
            for i, (sub, et) in enumerate(zip(p.elems, elems, strict=False)):
                if isinstance(sub, ast.WildcardPat):
                    continue
                r = self.reg(et)
                self.op(bc.GETF, r, v, i, kind_of(et))
                self.pattern(sub, r, fail)
            return
        if isinstance(p, ast.LitPat):
            lit = self.ex(p.value)
            if kind_of(p.ty) == K_PTR:
                r = self.reg()
                self.op(bc.VEQ, r, v, lit, self.tid(p.ty))
                self.op(bc.JF, r, fail)
            else:
                self.op(bc.JNE, v, lit, fail)
            return
        if isinstance(p, ast.RangePat):
            lo = self.ex(p.start)
            hi = self.ex(p.end)
            self.op(bc.JLT, v, lo, fail)
            self.op(bc.JGT if p.inclusive else bc.JGE, v, hi, fail)
            return
        if isinstance(p, ast.OrPat):
            ok = self.label("orpat")
            for alt in p.alts[:-1]:
                nxt = self.label("orpat_next")
                self.pattern(alt, v, nxt)
                self.op(bc.JMP, ok)
                self.place(nxt)
            self.pattern(p.alts[-1], v, fail)
            self.place(ok)

    def test_tag(self, v: int, ref: VariantRef, fail: Label) -> None:
        enum = prune(unref(ref.enum))
        if isinstance(enum, EnumT) and len(enum.variants) == 1:
            return
        t = self.reg()
        k = self.reg()
        self.op(bc.TAG, t, v)
        self.const(k, ref.variant.tag)
        self.op(bc.JNE, t, k, fail)


__all__ = ["compile_sources", "compile_file", "CompileOutput"]
