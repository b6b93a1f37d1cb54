"""The checker: parsed modules -> a typed AST with resolved symbols and monomorphized
instances (guide 8.1.2, SEMANTICS.md "Classes, templates, traits").

Templates (generic functions, template types and their methods) are instantiated where
used: each instance is a private copy of the declaration, checked with its type
parameters bound to concrete types. A template's method is checked for an instance only
if that instance uses it. Expressions are in checker_exprs.py.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from pathlib import PurePath

from compiler import ast
from compiler.checker_escape import EscapeAnalysis
from compiler.checker_exprs import ExprChecker
from compiler.diagnostics import DiagnosticSink, Label
from compiler.gcpause import pauses_gc
from compiler.parser import parse
from compiler.scope import FnEntry, ModuleEntry, Scope, TypeEntry, TypeParamEntry, VariantEntry
from compiler.span import SourceFile, Span
from compiler.symbols import Builtin, CheckedProgram, Construct, FnInstance, Local, VariantRef
from compiler.types import (
    BOOL,
    NEVER,
    PRIMS,
    UNIT,
    ArrayT,
    EnumT,
    FieldInfo,
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
    VariantInfo,
    any_vars,
    has_vars,
    mangle,
    prune,
    resolve,
)

PRELUDE = """\
enum Option<T> { Some(T), None }
enum Result<T, E> { Ok(T), Err(E) }
"""

BUILTIN_FUNCS = ("println", "print", "dbg", "panic", "assert", "alloc", "free", "eprintln",
                 "trace_event", "ref")
BUILTIN_GENERICS = {"Vec": 1, "Channel": 1, "Thread": 1, "ThreadPool": 1, "Future": 1,
                    "Task": 1, "ref": 1, "Actor": 1}
KNOWN_ATTRS = frozenset({"test", "bench", "prop", "cfg", "inline", "log_calls"})
NESTED_DECLS = frozenset({ast.FnDecl, ast.ClassDecl, ast.TemplateDecl, ast.EnumDecl})
BINDING_STMTS = NESTED_DECLS | {ast.Let, ast.Import, ast.SpawnFn}


@dataclass(frozen=True)
class TypeAlias:
    """A type parameter bound to a concrete type inside an instance."""

    type: Type


@dataclass
class Inference:
    """Shared by a function and the lambdas inside it: what to resolve when it is done."""

    typed: list = field(default_factory=list)        # nodes whose .ty may hold variables
    lets: list = field(default_factory=list)         # (Local, span) to check for inference
    pending: list = field(default_factory=list)      # (node, entry, type args) instances
    lambdas: list = field(default_factory=list)      # FnInstances of the lambdas inside


@dataclass
class FnCtx:
    fn: FnInstance
    ret: Type
    infer: Inference
    loop_depth: int = 0
    scoped_depth: int = 0
    is_async: bool = False
    unsafe: int = 0
    loop_values: list = field(default_factory=list)


class Checker(ExprChecker):
    def __init__(self, sink: DiagnosticSink, sources: dict[str, SourceFile]):
        self.sink = sink
        self.sources = sources
        self.prelude = Scope(None, "prelude", module="prelude")
        self.functions: list[FnInstance] = []
        self.queue: deque = deque()   # (instance, scope) to check, in order
        self.unqueued: set[int] = set()   # ids of instances taken out of the queue
        self.structs: list[StructT] = []
        self.enums: list[EnumT] = []
        self.traits: list[TraitT] = []
        self.globals: list[tuple[Local, object]] = []
        self.modules: dict[str, Scope] = {}
        self.entry_module = ""   # the module of the program's own file (the first)
        self.macros: dict[str, ast.MacroDecl] = {}
        self.ctx: FnCtx | None = None
        self.inst_notes: list[str] = []
        self.expr_handlers: dict[type, object] = {}   # node class -> bound x_ method
        self.n_errors = 0          # errors reported so far
        self.scoped_blocks = 0     # `scoped` blocks checked so far (see checker_escape)
        self._setup_prelude()

    # ------------------------------------------------------------ errors

    def err(self, code: str, msg: str, span: Span, label: str = "", **kw) -> None:
        self.n_errors += 1
        notes = tuple(kw.pop("notes", ())) + tuple(self.inst_notes[-1:])
        self.sink.error(code, msg, span, label, notes=notes, **kw)

    def warn(self, code: str, msg: str, span: Span, label: str = "", **kw) -> None:
        if not self.inst_notes:   # warn once per declaration, not per instance
            self.sink.warning(code, msg, span, label, **kw)

    # ------------------------------------------------------------ program

    def _setup_prelude(self) -> None:
        src = SourceFile("<prelude>", PRELUDE)
        mod = parse(src, self.sink)
        self.declare_items(mod.items, self.prelude, "prelude")
        for name in BUILTIN_FUNCS:
            self.prelude.define(name, Builtin(name))
        vyn = Scope(None, "module", module="vyn")
        vyn.define("spawn", Builtin("spawn"))
        self.prelude.define("vyn", ModuleEntry("vyn", vyn))

    def check_program(self, modules: list[ast.Module]) -> CheckedProgram:
        scopes = []
        for mod in modules:
            name = PurePath(mod.file).stem
            scope = Scope(self.prelude, "module", module=name)
            if name in self.modules:
                # Two files with one stem: the later keeps a unique name.
                name = mod.file
                scope.module = name
            self.modules[name] = scope
            scopes.append((mod, scope))
        self.entry_module = scopes[0][1].module if scopes else ""
        for mod, scope in scopes:
            self.declare_items(mod.items, scope, scope.module)
        for mod, scope in scopes:
            self.resolve_imports(mod.items, scope)
        for mod, scope in scopes:
            self.check_declarations(mod.items, scope)
        self.check_globals(scopes)
        self.drain()
        main = None
        for _, scope in scopes:
            entry = scope.names.get("main")
            if isinstance(entry, FnEntry) and not entry.generic:
                main = self.fn_instance(entry, (), entry.decl.name_span)
                break
        self.drain()
        for i, fn in enumerate(self.functions):
            fn.index = i
        return CheckedProgram(modules, self.functions, main, self.structs, self.enums,
                              self.traits, self.globals, self.sources)

    def drain(self) -> None:
        while self.queue:
            inst, entry = self.queue.popleft()
            if self.unqueued and id(inst) in self.unqueued:
                continue   # taken out by unqueue (checked where it is declared)
            self.check_fn_body(inst, entry)

    def unqueue(self, inst: FnInstance) -> None:
        """Take `inst` out of the queue (without a scan: drain skips it). An instance is
        queued at most once, when it is created, and stays alive in self.functions, so its
        id is not reused while it is in the queue."""
        self.unqueued.add(id(inst))

    # ------------------------------------------------------------ declarations

    def declare_items(self, items: list[ast.Stmt], scope: Scope, module: str,
                      parent: FnInstance | None = None) -> None:
        """Enter every declaration of a module or block into `scope` (before any body is
        checked, so order of declaration does not matter)."""
        for item in items:
            if isinstance(item, ast.FnDecl):
                self.check_attrs(item.attrs)
                self.define(scope, item.name, FnEntry(item, scope, module, parent),
                            item.name_span)
            elif isinstance(item, ast.ClassDecl):
                self.define(scope, item.name, TypeEntry("class", item, scope, module), item.span)
            elif isinstance(item, ast.TemplateDecl):
                kind = "trait" if self.is_trait(item) else "template"
                self.define(scope, item.name, TypeEntry(kind, item, scope, module), item.span)
            elif isinstance(item, ast.EnumDecl):
                entry = TypeEntry("enum", item, scope, module)
                self.define(scope, item.name, entry, item.span)
                for v in item.variants:
                    old = scope.names.get(v.name)
                    if old is None or isinstance(old, VariantEntry):
                        scope.define(v.name, VariantEntry(entry, v.name))
            elif isinstance(item, ast.ModuleDecl) and item.items is not None:
                sub = Scope(scope, "module", module=f"{module}::{item.name}")
                self.define(scope, item.name, ModuleEntry(item.name, sub), item.span)
                self.declare_items(item.items, sub, sub.module)
            elif isinstance(item, ast.ExternBlock):
                if not self.cfg_enabled(item.attrs):
                    continue
                for fn in item.fns:
                    self.define(scope, fn.name, FnEntry(fn, scope, module, extern=True),
                                fn.name_span)
            elif isinstance(item, ast.MacroDecl):
                self.macros[item.name] = item

    @staticmethod
    def is_trait(decl: ast.TemplateDecl) -> bool:
        """A template with only method signatures (SEMANTICS: "Classes, templates, traits")."""
        return not decl.fields and bool(decl.methods) and all(
            m.body is None for m in decl.methods)

    @staticmethod
    def cfg_enabled(attrs: list[ast.Attribute]) -> bool:
        for a in attrs:
            if a.name == "cfg" and a.hash and a.args and a.args[0] not in ("linux", "unix",
                                                                          "x86_64"):
                return False
        return True

    def check_attrs(self, attrs: list[ast.Attribute]) -> None:
        for a in attrs:
            if a.name not in KNOWN_ATTRS and a.name not in self.macros:
                self.err("T2018", f"unknown attribute `@{a.name}`", a.span,
                         "no macro or attribute with this name")

    def define(self, scope: Scope, name: str, entry: object, span: Span) -> None:
        old = scope.names.get(name)
        if old is not None and not isinstance(old, VariantEntry) and not isinstance(
                old, Local):
            self.err("T2007", f"`{name}` is defined more than once in this scope", span,
                     f"`{name}` redefined here",
                     secondary=(Label(self.entry_span(old), "first defined here"),))
            return
        scope.define(name, entry)

    @staticmethod
    def entry_span(entry: object) -> Span:
        if isinstance(entry, FnEntry):
            return entry.decl.name_span
        if isinstance(entry, TypeEntry):
            return entry.decl.span
        if isinstance(entry, Local):
            return entry.span
        from compiler.span import NO_SPAN
        return NO_SPAN

    def resolve_imports(self, items: list[ast.Stmt], scope: Scope) -> None:
        for item in items:
            if isinstance(item, ast.Import):
                self.import_into(item, scope)
            elif isinstance(item, ast.ModuleDecl) and item.items is not None:
                sub = scope.names.get(item.name)
                if isinstance(sub, ModuleEntry):
                    self.resolve_imports(item.items, sub.scope)

    def import_into(self, item: ast.Import, scope: Scope) -> None:
        path = item.path
        head = path[0]
        if head in self.modules:
            entry: object = ModuleEntry(head, self.modules[head])
        else:
            entry = self.prelude.names.get(head) or scope.lookup(head)
        for i, part in enumerate(path[1:], 1):
            if not isinstance(entry, ModuleEntry):
                break
            if part == "*":
                for n, e in entry.scope.names.items():
                    scope.names.setdefault(n, e)
                return
            entry = entry.scope.names.get(part)
            if entry is None:
                prefix = "::".join(path[:i])
                self.err("T2000", f"unresolved import: no `{part}` in module `{prefix}`",
                         item.span, f"`{part}` not found")
                return
        if entry is None or (len(path) > 1 and not isinstance(entry, (
                ModuleEntry, FnEntry, TypeEntry, VariantEntry, Builtin))):
            self.err("T2000", f"unresolved import: no module `{head}`", item.span,
                     "no file or module with this name was given")
            return
        self.define(scope, item.alias or path[-1], entry, item.span)

    def check_declarations(self, items: list[ast.Stmt], scope: Scope) -> None:
        """Instantiate non-template types and queue non-template functions for checking."""
        for item in items:
            entry = scope.names.get(getattr(item, "name", ""))
            if isinstance(item, ast.FnDecl) and isinstance(entry, FnEntry) and \
                    entry.decl is item and not entry.generic:
                self.fn_instance(entry, (), item.name_span)
            elif isinstance(item, (ast.ClassDecl, ast.TemplateDecl, ast.EnumDecl)) and \
                    isinstance(entry, TypeEntry) and entry.decl is item:
                if item.type_params:
                    continue
                t = self.type_instance(entry, (), item.span)
                if isinstance(t, StructT):
                    for m in t.decl.methods:
                        me = t.methods.get(m.name)
                        if me is not None and not me.generic and m.body is not None:
                            self.fn_instance(me, (), m.name_span)
            elif isinstance(item, ast.ModuleDecl) and item.items is not None and isinstance(
                    entry, ModuleEntry):
                self.check_declarations(item.items, entry.scope)
            elif isinstance(item, ast.ExternBlock):
                for fn in item.fns:
                    e = scope.names.get(fn.name)
                    if isinstance(e, FnEntry) and e.decl is fn:
                        self.fn_instance(e, (), fn.name_span)

    def check_globals(self, scopes: list[tuple[ast.Module, Scope]]) -> None:
        init = FnInstance("<globals>", None, [], UNIT, "")
        for mod, scope in scopes:
            for item in mod.items:
                if not isinstance(item, ast.Let):
                    continue
                ctx = FnCtx(init, UNIT, Inference())
                saved, self.ctx = self.ctx, ctx
                blocks, errors = self.scoped_blocks, self.n_errors
                try:
                    declared = self.resolve_type(item.type, scope) if item.type else None
                    t = self.check_expr(item.value, scope, declared) if item.value else declared
                    if declared is not None and item.value is not None:
                        self.coerce(t, declared, item.value)
                        t = declared
                    if t is None:
                        self.err("T2009", "a global needs a type or a value", item.span)
                        continue
                    if not isinstance(item.pattern, ast.IdentPat):
                        self.err("T2014", "a global must be a single name", item.pattern.span)
                        continue
                    self.finish_inference(ctx.infer)
                    if self.scoped_blocks != blocks and self.n_errors == errors and \
                            item.value is not None:
                        EscapeAnalysis(self).run_expr(item.value)
                    local = Local(item.pattern.name, resolve(t, UNIT), item.mutable,
                                  item.pattern.span, None, is_global=True)
                    item.pattern.sym = local
                    item.pattern.ty = local.type
                    self.define(scope, local.name, local, item.pattern.span)
                    self.globals.append((local, item.value))
                finally:
                    self.ctx = saved

    # ------------------------------------------------------------ types

    def resolve_type(self, te: ast.TypeExpr, scope: Scope) -> Type:
        """Syntax -> semantic type; reports T2005/T2008 and returns a fresh variable on error."""
        if isinstance(te, ast.NamedType):
            args = tuple([self.resolve_type(a, scope) for a in te.args]) if te.args else ()
            name = te.path[-1]
            if len(te.path) == 1:
                entry = scope.lookup(name)
            else:
                entry = self.lookup_path(te.path[:-1], scope, te.span)
                entry = entry.scope.names.get(name) if isinstance(entry, ModuleEntry) else None
            if entry is None:
                pass   # a primitive or builtin type (below), or an error
            elif isinstance(entry, TypeAlias):
                return entry.type
            elif isinstance(entry, TypeEntry):
                n = len(entry.decl.type_params)
                if len(args) != n:
                    self.err("T2008", f"`{name}` takes {n} type argument{'s' * (n != 1)} "
                             f"but {len(args)} {'were' if len(args) != 1 else 'was'} given",
                             te.span)
                    return TypeVar()
                return self.type_instance(entry, args, te.span)
            elif isinstance(entry, TypeParamEntry):
                return TypeVar(name)
            if name in PRIMS and len(te.path) == 1:
                if args:
                    self.err("T2008", f"`{name}` takes no type arguments", te.span)
                return PRIMS[name]
            if name == "Self" and len(te.path) == 1:
                s = scope.lookup("Self")
                if isinstance(s, TypeAlias):
                    return s.type
            if name in BUILTIN_GENERICS and len(te.path) == 1:
                if len(args) != 1:
                    self.err("T2008", f"`{name}` takes 1 type argument but {len(args)} "
                             f"{'were' if len(args) != 1 else 'was'} given", te.span)
                    return TypeVar()
                return Generic(name, args)
            if name == "char" and len(te.path) == 1:
                return PRIMS["Char"]
            self.err("T2005", f"cannot find type `{'::'.join(te.path)}` in this scope",
                     te.span, "not found", suggestion=self.suggest(name, scope, types=True))
            return TypeVar()
        if isinstance(te, ast.TupleType):
            if not te.elems:
                return UNIT
            return TupleT(tuple(self.resolve_type(e, scope) for e in te.elems))
        if isinstance(te, ast.ArrayType):
            elem = self.resolve_type(te.elem, scope)
            size = te.size.value if isinstance(te.size, ast.IntLit) else None
            if size is None or size < 0:
                self.err("T2001", "an array size must be a non-negative integer literal",
                         te.size.span)
                size = 0
            return ArrayT(elem, size)
        if isinstance(te, ast.FnType):
            return FnT(tuple(self.resolve_type(p, scope) for p in te.params),
                       self.resolve_type(te.ret, scope) if te.ret else UNIT)
        if isinstance(te, ast.RefType):
            return RefT(self.resolve_type(te.inner, scope), te.mutable)
        if isinstance(te, ast.PtrType):
            return PtrT(self.resolve_type(te.inner, scope))
        return TypeVar()

    def lookup_path(self, parts: list[str], scope: Scope, span: Span) -> object | None:
        entry = self.modules.get(parts[0])
        entry = ModuleEntry(parts[0], entry) if entry is not None else scope.lookup(parts[0])
        for p in parts[1:]:
            if not isinstance(entry, ModuleEntry):
                return None
            entry = entry.scope.names.get(p)
        return entry

    def type_instance(self, entry: TypeEntry, args: tuple[Type, ...], span: Span) -> Type:
        """The class/template/enum/trait `entry` applied to `args` (cached when concrete)."""
        cached = entry.instances.get(args)   # hits only for args that are already resolved
        if cached is not None:
            return cached
        concrete = not any_vars(args)
        if concrete:
            args = tuple([resolve(a) for a in args])
            cached = entry.instances.get(args)
            if cached is not None:
                return cached
        decl = entry.decl
        name = decl.name
        inner = Scope(entry.scope, "class")
        env = {}
        for tp, a in zip(decl.type_params, args, strict=False):
            env[tp.name] = a
            inner.define(tp.name, TypeAlias(a))

        def family(a: tuple[Type, ...], entry=entry, span=span) -> Type:
            return self.type_instance(entry, a, span)

        if entry.kind == "enum":
            t: Type = EnumT(name, args, decl, family=family)
            if concrete:
                entry.instances[args] = t
                self.enums.append(t)
            t.variants = [VariantInfo(v.name, tuple([self.resolve_type(p, inner)
                                                     for p in v.payload]), i)
                          for i, v in enumerate(decl.variants)]
            return t
        if entry.kind == "trait":
            t = TraitT(name, args, decl, env, inner, family=family)
            if concrete:
                entry.instances[args] = t
                self.traits.append(t)
            return t
        st = StructT(name, args, decl, env=env, scope=inner, is_template=bool(
            decl.type_params), family=family)
        if concrete:
            entry.instances[args] = st
            self.structs.append(st)
        inner.define("Self", TypeAlias(st))
        seen: set[str] = set()
        for i, f in enumerate(decl.fields):
            if f.name in seen:
                self.err("T2007", f"field `{f.name}` is declared more than once", f.span)
            seen.add(f.name)
            st.fields.append(FieldInfo(f.name, self.resolve_type(f.type, inner), f.mutable,
                                       f.default, i))
        for m in decl.methods:
            if m.name in st.methods:
                self.err("T2007", f"method `{m.name}` is declared more than once",
                         m.name_span)
                continue
            st.methods[m.name] = FnEntry(m, inner, entry.module, self_struct=st)
        if isinstance(decl, ast.ClassDecl):
            for tr in decl.traits:
                tt = self.resolve_type(tr, inner)
                if isinstance(tt, TraitT):
                    st.traits.append(tt)
                    if concrete:
                        self.check_impl(st, tt, tr.span)
                elif not isinstance(prune(tt), TypeVar):
                    self.err("T2005", f"`{tt}` is not a trait", tr.span,
                             "a trait is a template with only method signatures")
        for f in decl.fields:
            if f.default is not None and concrete and not decl.type_params:
                self.check_field_default(st, f)
        return st

    def check_field_default(self, st: StructT, f: ast.FieldDecl) -> None:
        info = st.field(f.name)
        ctx = FnCtx(FnInstance(f"{st}::<default {f.name}>", None, [], info.type, ""),
                    info.type, Inference())
        saved, self.ctx = self.ctx, ctx
        try:
            if f.default.ty is None:
                t = self.check_expr(f.default, st.scope, info.type)
                self.coerce(t, info.type, f.default)
                self.finish_inference(ctx.infer)
        finally:
            self.ctx = saved

    def check_impl(self, st: StructT, trait: TraitT, span: Span) -> None:
        for m in trait.decl.methods:
            impl = st.methods.get(m.name)
            if impl is None:
                self.err("T2011", f"class `{st}` does not implement method `{m.name}` of "
                         f"trait `{trait}`", span, f"missing `{m.name}`",
                         secondary=(Label(m.name_span, "required by this declaration"),))
                continue
            want = len(m.params)
            got = len(impl.decl.params)
            if want != got:
                self.err("T2011", f"method `{m.name}` of `{st}` takes {got} parameters but "
                         f"trait `{trait}` declares {want}", impl.decl.name_span,
                         secondary=(Label(m.name_span, "trait method declared here"),))

    # ------------------------------------------------------------ function instances

    def fn_instance(self, entry: FnEntry, type_args: tuple[Type, ...], span: Span
                    ) -> FnInstance:
        """The instance of `entry` for concrete `type_args`, created and queued once."""
        if type_args:
            type_args = tuple([resolve(a, UNIT) for a in type_args])
        inst = entry.instances.get(type_args)
        if inst is not None:
            return inst
        decl = entry.decl
        st = entry.self_struct
        if entry.generic or (st is not None and st.is_template):
            decl = copy.deepcopy(decl)
        scope = Scope(entry.scope, "fn")
        for tp, a in zip(decl.type_params, type_args, strict=False):
            scope.define(tp.name, TypeAlias(a))
        base = entry.decl.name
        if st is not None:
            base = f"{st}::{base}"
        elif entry.parent is not None:
            base = f"{entry.parent.name}::{base}"
        elif entry.module not in ("", "prelude", self.entry_module):
            # A function of an imported file is named by its module (`utils::helper`);
            # the program's own file's are not, so `main` is `main` with imports too.
            base = f"{entry.module}::{base}"
        name = mangle(base, type_args)
        inst = FnInstance(name, decl, [], UNIT, entry.module, parent=entry.parent,
                          self_type=st, is_async=decl.is_async, is_extern=entry.extern,
                          variadic=decl.variadic, type_args=type_args, span=decl.span,
                          attrs=tuple([a.name for a in decl.attrs]))
        entry.instances[type_args] = inst
        decl.sym = inst
        for p in decl.params:
            if p.type is None:
                self.err("T2009", f"parameter `{p.name}` needs a type", p.span,
                         "add `: Type`")
                pt: Type = TypeVar()
            else:
                pt = self.resolve_type(p.type, scope)
            local = Local(p.name, pt, p.mutable, p.span, inst)
            p.sym = local
            inst.params.append(local)
        inst.ret = self.resolve_type(decl.ret, scope) if decl.ret else UNIT
        self.functions.append(inst)
        if decl.body is not None:
            self.queue.append((inst, scope))
        elif not entry.extern and st is None:
            self.err("P1007", f"function `{decl.name}` has no body", decl.name_span)
        return inst

    def check_fn_body(self, inst: FnInstance, scope: Scope) -> None:
        if inst.checked:
            return
        inst.checked = True
        decl = inst.decl
        body_scope = Scope(scope, "fn", fn=inst)
        for p in inst.params:
            body_scope.define(p.name, p)
            inst.locals.append(p)
        # Errors in a template instance say which instance (the note names it).
        is_instance = bool(inst.type_args) or (inst.self_type is not None and
                                               inst.self_type.is_template)
        if is_instance:
            self.inst_notes.append(f"in instance `{inst.name}`")
        ctx = FnCtx(inst, inst.ret, Inference(), is_async=inst.is_async or (
            decl.name == "main" and inst.parent is None and inst.self_type is None))
        saved, self.ctx = self.ctx, ctx
        blocks, errors = self.scoped_blocks, self.n_errors
        try:
            self.check_body(decl.body, body_scope, inst.ret)
            self.finish_inference(ctx.infer)
            # The escape rule runs once per function that has `scoped` blocks, over its
            # nested functions and lambdas too (a generic nested function's instances are
            # checked apart from their parent, so they are analysed on their own), and
            # only on well-typed code: after a type error it would report echoes of it.
            if self.scoped_blocks != blocks and self.n_errors == errors and (
                    inst.parent is None or inst.type_args):
                EscapeAnalysis(self).run_fn(inst)
        finally:
            self.ctx = saved
            if is_instance:
                self.inst_notes.pop()

    def check_body(self, body: ast.Block, scope: Scope, ret: Type) -> None:
        want = None if ret == UNIT else ret
        t = self.check_block(body, scope, want)
        if ret != UNIT and prune(t) is not NEVER:
            last = body.stmts[-1] if body.stmts else None
            if isinstance(last, ast.ExprStmt):
                self.coerce(t, ret, last.expr)
            else:
                end = Span(body.span.file, body.span.end - 1, body.span.end,
                           body.span.end_line, max(1, body.span.end_col - 1), body.span.end_line,
                           body.span.end_col)
                self.err("T2001", f"mismatched types: expected `{ret}`, found `()`", end,
                         f"the body ends here without a value of type `{ret}`",
                         notes=("the value of a block is its last expression",))

    def finish_inference(self, infer: Inference) -> None:
        """Resolve the types a function left open; instantiate the templates it used."""
        for local, span in infer.lets:
            if has_vars(local.type):
                t = resolve(local.type)
                if isinstance(prune(t), TypeVar):
                    self.err("T2009", f"cannot infer the type of `{local.name}`", span,
                             "type annotation needed", suggestion=f"write `{local.name}: Type`")
        for node in infer.typed:
            ty = node.ty
            if type(ty) is not Prim:   # most types are primitive: nothing to resolve
                node.ty = resolve(ty, UNIT)
        for fn in [self.ctx.fn, *infer.lambdas]:
            for local in fn.locals:
                if type(local.type) is not Prim:
                    local.type = resolve(local.type, UNIT)
            fn.ret = resolve(fn.ret, UNIT)
        for node, thunk in infer.pending:
            node.sym = thunk()
        for node in infer.typed:
            sym = node.sym
            if sym is None:
                continue
            if type(sym) is VariantRef and has_vars(sym.enum):
                enum = resolve(sym.enum, UNIT)
                node.sym = VariantRef(enum, enum.variant(sym.variant.name))
            elif type(sym) is Construct and has_vars(sym.struct):
                node.sym = Construct(resolve(sym.struct, UNIT), sym.values)

    # ------------------------------------------------------------ blocks and statements

    def check_block(self, block: ast.Block, parent: Scope, expected: Type | None) -> Type:
        stmts = block.stmts
        # Only these statements add names to a block's scope: a block without them (most
        # `if` and loop bodies) resolves names in its parent's scope directly.
        scope = parent
        for s in stmts:
            if type(s) in BINDING_STMTS:
                scope = Scope(parent, "block")
                if any(type(s) in NESTED_DECLS for s in stmts):
                    self.declare_nested(stmts, scope)
                break
        result: Type = UNIT
        diverged = False
        last = len(stmts) - 1
        for i, stmt in enumerate(stmts):
            if type(stmt) is ast.ExprStmt:
                if i == last:
                    result = self.check_expr(stmt.expr, scope, expected)
                elif prune(self.check_expr(stmt.expr, scope)) is NEVER:
                    diverged = True
            else:
                if self.check_stmt(stmt, scope):
                    diverged = True
                if i == last:
                    result = UNIT
        if diverged:
            return NEVER
        return result

    def declare_nested(self, stmts: list[ast.Stmt], scope: Scope) -> None:
        """Declare the functions and types of a block in its scope, before its statements."""
        nested = [s for s in stmts if type(s) in NESTED_DECLS]
        self.declare_items(nested, scope, scope.module, parent=self.ctx.fn)
        for s in nested:
            if isinstance(s, ast.FnDecl):
                e = scope.names.get(s.name)
                if isinstance(e, FnEntry) and e.decl is s and not e.generic:
                    inst = self.fn_instance(e, (), s.name_span)
                    # The instance is checked at its position in the block, so that
                    # it sees the variables declared before it.
                    self.unqueue(inst)
                    inst.closure_local = Local(s.name, inst.fn_type, False, s.name_span,
                                               self.ctx.fn)
                    self.ctx.fn.locals.append(inst.closure_local)
                    inst._scope = scope

    def check_stmt(self, stmt: ast.Stmt, scope: Scope) -> bool:
        """Check one statement; True if control never continues past it."""
        ctx = self.ctx
        if isinstance(stmt, ast.Let):
            return self.check_let(stmt, scope)
        if isinstance(stmt, ast.Assign):
            self.check_assign(stmt, scope)
            return False
        if isinstance(stmt, ast.Return):
            if ctx.fn.name == "<globals>" or ctx.fn.decl is None:
                self.err("T2012", "`return` outside of a function", stmt.span)
                return True
            want = ctx.ret
            if stmt.value is None:
                if want != UNIT and prune(want) is not NEVER:
                    self.err("T2012", f"`return` without a value in a function returning "
                             f"`{want}`", stmt.span, f"expected a value of type `{want}`")
            else:
                t = self.check_expr(stmt.value, scope, None if want == UNIT else want)
                self.coerce(t, want, stmt.value)
            return True
        if isinstance(stmt, (ast.Break, ast.Continue)):
            word = "break" if isinstance(stmt, ast.Break) else "continue"
            if ctx.loop_depth == 0:
                self.err("T2013", f"`{word}` outside of a loop", stmt.span,
                         "cannot leave a loop from here")
            if isinstance(stmt, ast.Break) and stmt.value is not None:
                self.check_expr(stmt.value, scope)
                if ctx.loop_values:
                    ctx.loop_values[-1] = True
            return True
        if isinstance(stmt, ast.While):
            self.check_cond(stmt.cond, scope)
            self.loop_body(stmt.body, scope)
            return False
        if isinstance(stmt, ast.WhileLet):
            t = self.check_expr(stmt.value, scope)
            inner = Scope(scope, "block")
            self.check_pattern(stmt.pattern, t, inner, refutable=True)
            self.loop_body(stmt.body, inner)
            return False
        if isinstance(stmt, ast.Loop):
            ctx.loop_values.append(False)
            broke = self.loop_body(stmt.body, scope, track_break=True)
            ctx.loop_values.pop()
            return not broke
        if isinstance(stmt, ast.FnDecl):
            self.check_nested_fn(stmt, scope)
            return False
        if isinstance(stmt, (ast.ClassDecl, ast.TemplateDecl, ast.EnumDecl)):
            entry = scope.lookup(stmt.name)
            if isinstance(entry, TypeEntry) and not stmt.type_params:
                t = self.type_instance(entry, (), stmt.span)
                if isinstance(t, StructT):
                    for m in stmt.methods:
                        me = t.methods.get(m.name)
                        if me is not None and not me.generic and m.body is not None:
                            self.fn_instance(me, (), m.name_span)
            return False
        if isinstance(stmt, ast.SpawnFn):
            self.check_nested_fn(stmt.func, scope, declare=True)
            stmt.func.ty = UNIT
            return False
        if isinstance(stmt, ast.Import):
            self.import_into(stmt, scope)
            return False
        if isinstance(stmt, (ast.ModuleDecl, ast.ExternBlock, ast.MacroDecl)):
            self.err("P1005", "this declaration is only allowed at the top level of a file",
                     stmt.span)
            return False
        if isinstance(stmt, ast.ExprStmt):
            return prune(self.check_expr(stmt.expr, scope)) is NEVER
        return False

    def loop_body(self, body: ast.Block, scope: Scope, track_break: bool = False) -> bool:
        ctx = self.ctx
        ctx.loop_depth += 1
        broke_before = self.count_breaks(body) if track_break else 0
        try:
            self.check_block(body, scope, None)
        finally:
            ctx.loop_depth -= 1
        return broke_before > 0

    def count_breaks(self, node: object) -> int:
        """Breaks that leave this loop (not nested loops or lambdas)."""
        n = 0
        stack = [node]
        while stack:
            x = stack.pop()
            if isinstance(x, ast.Break):
                n += 1
            if isinstance(x, (ast.While, ast.WhileLet, ast.Loop, ast.For, ast.Lambda,
                              ast.FnDecl)) and x is not node:
                continue
            if isinstance(x, ast.Node):
                for v in vars(x).values():
                    if isinstance(v, ast.Node):
                        stack.append(v)
                    elif isinstance(v, list):
                        stack.extend(e for e in v if isinstance(e, ast.Node))
        return n

    def check_cond(self, cond: ast.Expr, scope: Scope) -> None:
        t = self.check_expr(cond, scope, BOOL)
        self.coerce(t, BOOL, cond)

    def check_nested_fn(self, decl: ast.FnDecl, scope: Scope, declare: bool = False) -> None:
        entry = scope.lookup(decl.name) if not declare else None
        if declare:
            entry = FnEntry(decl, scope, scope.module, self.ctx.fn)
            self.define(scope, decl.name, entry, decl.name_span)
        if not isinstance(entry, FnEntry) or entry.decl is not decl:
            return
        if entry.generic:
            return   # instantiated where used
        inst = self.fn_instance(entry, (), decl.name_span)
        self.unqueue(inst)
        if inst.closure_local is None:
            inst.closure_local = Local(decl.name, inst.fn_type, False, decl.name_span,
                                       self.ctx.fn)
            self.ctx.fn.locals.append(inst.closure_local)
        fn_scope = Scope(scope, "fn")
        for tp in decl.type_params:
            fn_scope.define(tp.name, TypeParamEntry(tp.name))
        self.check_fn_body(inst, fn_scope)

    def check_let(self, stmt: ast.Let, scope: Scope) -> bool:
        declared = self.resolve_type(stmt.type, scope) if stmt.type is not None else None
        infer_span = stmt.pattern.span
        if stmt.value is None:
            t = declared if declared is not None else TypeVar("let")
        else:
            errors = self.n_errors
            t = self.check_expr(stmt.value, scope, declared)
            if declared is not None:
                self.coerce(t, declared, stmt.value)
                t = declared
            elif self.n_errors != errors:
                # The initializer's own error is the cause: "cannot infer the type" of
                # the binding would only echo it (and come first, being to its left).
                infer_span = None
        self.check_pattern(stmt.pattern, t, scope, refutable=False, mutable=stmt.mutable,
                           infer_span=infer_span)
        return stmt.value is not None and prune(t) is NEVER

    def check_assign(self, stmt: ast.Assign, scope: Scope) -> None:
        target = stmt.target
        tt = self.check_expr(target, scope)
        vt = self.check_expr(stmt.value, scope, tt)
        if stmt.op == "=":
            self.coerce(vt, tt, stmt.value)
        else:
            self.check_binary_types(stmt.op[:-1], tt, vt, stmt.span, stmt.value)
        if isinstance(target, (ast.Name, ast.Path)):
            sym = target.sym
            if isinstance(sym, Local):
                if not sym.mutable:
                    self.err("T2002", f"cannot assign twice to immutable variable "
                             f"`{sym.name}`", target.span, "cannot assign",
                             secondary=(Label(sym.span, f"`{sym.name}` declared with `let`"),),
                             suggestion=f"declare it with `var {sym.name}` to make it mutable")
            elif sym is not None:
                self.err("T2002", f"cannot assign to `{self.text(target)}`", target.span,
                         "not a variable")
        elif isinstance(target, ast.Field):
            self.check_field_assign(target)
        elif not isinstance(target, ast.Index) and not (isinstance(target, ast.Unary) and
                                                        target.op == "*"):
            self.err("P1006", "invalid assignment target", target.span)

    def check_field_assign(self, target: ast.Field) -> None:
        fa = target.sym
        info = getattr(fa, "field", None)
        if info is not None and not info.mutable:
            self.err("T2002", f"cannot assign to field `{info.name}`: it is declared with `let`",
                     target.span, "immutable field")
            return
        root = target.obj
        while isinstance(root, (ast.Field, ast.Index)):
            root = root.obj
        if isinstance(root, ast.SelfExpr) or (isinstance(root, ast.Name) and
                                              root.name == "self"):
            st = prune(root.ty) if root.ty is not None else None
            if isinstance(st, RefT) and not st.mutable:
                self.err("T2002", f"cannot assign to `{self.text(target)}`: `self` is a `&` "
                         "reference", target.span, "assignment through `&self`",
                         suggestion="take `&mut self` in the method's signature")

    def text(self, node: ast.Node) -> str:
        src = self.sources.get(node.span.file)
        return src.text[node.span.start:node.span.end] if src else "?"


@pauses_gc
def check(modules: list[ast.Module], sink: DiagnosticSink,
          sources: dict[str, SourceFile]) -> CheckedProgram:
    """Check parsed modules together (one program). Diagnostics go to `sink`."""
    return Checker(sink, sources).check_program(modules)
