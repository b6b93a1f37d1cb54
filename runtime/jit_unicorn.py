"""Native code under unicorn: the debugger's native tier (docs/native.md, "Under the
debugger").

`UnicornJit` is the JIT of runtime/jit.py with one difference: the machine code MCJIT
would run in-process runs inside unicorn instead, so that the debugger can stop it
anywhere. Everything else is shared: the compiler, the plans, the helper ABI (`HELPERS`:
each helper is a stub address whose code hook calls the same Jit method), deoptimization
and the frame records.

One address space. The heap (an mmap'd arena), the context words and tables, the
argument buffer, the loaded code and every native stack live in host memory mapped into
unicorn at their own addresses (`mem_map_ptr`), so Python, the helpers and emulated code
see the same bytes at the same pointers.

The object is linked by runtime/native_loader.py's `link`, as in-process code is: its
allocated sections are copied into the code arena, relocations applied (a GOT for
GOTPCREL), undefined symbols bound to helper stubs (FIELD-NOTES). Its symbol table gives
each function's address range, its DWARF line table the Vyn line of every instruction
(`is_stmt` rows: statement starts), its DWARF variables the frame offset of each
variable (tier 1 keeps every variable in its stack slot).

Nesting. Native code calls bytecode through `vyn_rt_call`; if that bytecode calls a
compiled function again, the inner native code runs in a second unicorn instance (one per
nesting level, each with its own stack), while the outer one waits inside its hook.

What the debugger gets (vyndbg/engine.py):
- `set_sites(sites)`: bytecode sites (function, pc) to stop at; each statement start of a
  native function maps to the addresses the DWARF line table gives for its line, and the
  return site of a native caller to its return address. A hit calls the VM's `hooks.trap`
  with a `NativeFrame`, a bytecode frame rebuilt from the native one (its variables read
  from their stack slots), linked to the interpreter frames below it; values the debugger
  changed (`set var`) are written back to the slots before the code goes on.
- `set_reporting(on)`: call and return events (`step`, `finish`, scoped watchpoints) from
  the entry and the `ret` instructions of every native function.
- `machine_step(mode, frame)`: `stepi` / `nexti` by machine instruction.
- `registers()`, `code_at()`, `line_of_address()`, `native_ranges()`: the native views.
"""

from __future__ import annotations

import ctypes
import io

from compiler.native_debug import CLOSURE_VARIABLE
from runtime import elf64
from runtime.jit import _I64, HELPERS, NOT_RUN, Jit
from runtime.native_loader import PAGE, HostMemory

CODE_ARENA = 64 << 20          # address space reserved for loaded code (lazily committed)
STACK_SIZE = 4 << 20           # per nesting level; native code may use 2 MiB of it
MAX_LEVELS = 32                # native -> bytecode -> native nesting under unicorn
STUB_SPACING = 16
EXIT_OFFSET = 0xF00            # the return address of every emulation: it stops there

REGISTER_NAMES = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
                  "r11", "r12", "r13", "r14", "r15", "rip", "eflags")


class UnicornUnavailable(Exception):
    """unicorn or capstone cannot be used here."""


def _uc_modules():
    try:
        import unicorn
        from unicorn import x86_const
    except ImportError as e:           # pragma: no cover - a declared dependency
        raise UnicornUnavailable(f"unicorn is not installed ({e})") from None
    return unicorn, x86_const


# Where the debugger's memory goes when it is free: fixed addresses, so that native code
# has the same addresses in every run (as gdb runs programs with address randomization
# off): breakpoints by address and listings stay valid from one run to the next.
SCRATCH_AT = 0x3F000000
CODE_AT = 0x40000000
STACKS_AT = 0x500000000000

def _host_mmap(size: int, hint: int = 0) -> tuple[object, int]:
    mem = HostMemory(size, hint)
    return mem, mem.address


def _no_register(n: int) -> None:
    return None


def _signed(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


class NativeFunction:
    """One native function as loaded: its symbol's range, lines and variables."""

    __slots__ = ("fi", "kind", "lo", "hi", "rows", "stmts", "vars", "rets", "tier", "obj",
                 "starts", "row_addrs", "env_where")

    def __init__(self, fi: int, kind: str, lo: int, hi: int, tier: int, obj: int):
        self.fi = fi
        self.kind = kind          # "fn" (vyn.fn.N), "entry", "osr", "osr entry", "copy"
        self.lo = lo
        self.hi = hi
        # (address, line, bytecode pc or -1, is_stmt): the DWARF line table's rows; the pc
        # is the discriminator - 1 of code compiled for the debugger (native.py pc_map)
        self.rows: list[tuple[int, int, int, bool]] = []
        self.row_addrs: list[int] = []
        self.starts: dict[int, int] = {}               # bytecode pc -> its first address
        self.stmts: dict[int, list[int]] = {}          # line -> statement-start addresses
        self.vars: list[tuple[str, int, int | None]] = []  # (name, decl line, fbreg offset)
        self.rets: list[int] = []                      # addresses of `ret` instructions
        self.tier = tier
        self.obj = obj
        self.env_where = None     # where its closure is kept (DWARF CLOSURE_VARIABLE)


def _native_frame_class():
    from runtime.vm import Frame

    parent_slot, depth_slot = Frame.parent, Frame.depth

    class NativeFrame(Frame):
        """A native frame seen as a bytecode frame: function, the bytecode pc of its
        line, its variables (read from their stack slots); `tier` is "native".

        Its caller and depth may be found only when asked (`resolve`): a breakpoint
        whose condition is false needs neither, and unwinding a deep native stack at
        every such hit would cost more than the test."""

        __slots__ = ("tier", "cfa", "address", "level", "slots", "snapshot", "resolve",
                     "count_depth", "serial", "readonly", "depth_bound")

        def depth_at_most(self) -> int:
            """An upper bound of its depth, without unwinding when it is not known yet
            (each native frame below it takes 16 bytes of its stack at least)."""
            if self.count_depth is not None:
                return self.depth_bound
            return depth_slot.__get__(self)

        def _resolved(self):
            r = self.resolve
            if r is not None:
                self.resolve = None
                self.count_depth = None
                r(self)

        @property
        def parent(self):
            self._resolved()
            return parent_slot.__get__(self)

        @parent.setter
        def parent(self, value):
            parent_slot.__set__(self, value)

        @property
        def depth(self):
            count = self.count_depth
            if count is not None:            # the caller is not needed to know it
                self.count_depth = None
                depth_slot.__set__(self, count())
            return depth_slot.__get__(self)

        @depth.setter
        def depth(self, value):
            depth_slot.__set__(self, value)

    return NativeFrame


class UnicornJit(Jit):
    """The JIT, its code running inside unicorn (for the debugger)."""

    copy_callees = False       # one copy of each function: its breakpoints are its own
    reports_calls = True
    polls_for_debugger = False
    pc_map = True
    closed = False

    def __init__(self, vm, options):
        self._unicorn, self._x86 = _uc_modules()
        super().__init__(vm, options)
        from compiler import bytecode as bc

        self._bc = bc
        self.NativeFrame = _native_frame_class()
        # Context, tables and the argument buffer: host memory unicorn maps too.
        n = len(self.functions)
        maxregs = max([self.native.frame_words(f) + 1 for f in self.functions] + [1])
        nstr = len(self.strtab)
        ntid = len(self.tidtab)
        words = self.native.CTX_WORDS + max(1, n) + max(1, nstr) + ntid + maxregs + 8
        self._scratch, base = _host_mmap(words * 8, SCRATCH_AT)
        old_ctx, old_str, old_tid = list(self.ctx), list(self.strtab), list(self.tidtab)
        off = 0

        def words_at(count):
            nonlocal off
            arr = (_I64 * count).from_address(base + off)
            off += count * 8
            return arr

        self.ctx = words_at(self.native.CTX_WORDS)
        self.ctx_addr = ctypes.addressof(self.ctx)
        self.ctx[:] = old_ctx
        self.fntab = (ctypes.c_void_p * max(1, n)).from_address(base + off)
        off += max(1, n) * 8
        self.strtab = words_at(max(1, nstr))
        self.strtab[:] = old_str
        self.tidtab = words_at(ntid)
        self.tidtab[:] = old_tid
        self.buf = words_at(maxregs)
        self.fbuf = (ctypes.c_double * maxregs).from_address(ctypes.addressof(self.buf))
        self.buf_addr = ctypes.addressof(self.buf)
        self.ctx[self.native.CTX_FUNCTIONS] = ctypes.addressof(self.fntab)
        self.ctx[self.native.CTX_STRINGS] = ctypes.addressof(self.strtab)
        self.ctx[self.native.CTX_HEAP_TIDS] = ctypes.addressof(self.tidtab)
        self._scratch_range = (base, -(-words * 8 // PAGE) * PAGE)
        # Code: stubs in the first page, then the objects.
        self._code_mem, self.code_base = _host_mmap(CODE_ARENA, CODE_AT)
        self._code = self._code_mem.bytes
        self._code_top = PAGE
        self._stub_names = list(HELPERS)
        self._stubs: dict[int, tuple] = {}
        for i, name in enumerate(self._stub_names):
            addr = self.code_base + i * STUB_SPACING
            self._code[i * STUB_SPACING] = 0xC3          # ret
            proto, method, on_error = HELPERS[name]
            nargs = len(proto._argtypes_) - 1
            self._stubs[addr] = (method, getattr(self, method), on_error, nargs,
                                 proto._restype_ is not None, name)
        self.exit_address = self.code_base + EXIT_OFFSET
        self._code[EXIT_OFFSET] = 0xF4                     # hlt (never executed)
        self.fns: list[NativeFunction] = []                # sorted by address
        self._by_fi: dict[int, NativeFunction] = {}
        self._ucs: list = []
        self._stacks: list = []
        self.level = -1
        self._bases: list[tuple] = []     # per level: (parent frame, depth, env, uc)
        self._pending = None
        self._hook_error: BaseException | None = None
        self._sites: dict[int, tuple[int, int]] = {}      # address -> (fi, pc)
        self._bytecode_sites: set[tuple[int, int]] = set()
        self._leaving: dict[int, object] = {}     # id(record values) -> its NativeFrame
        self._watch_addrs: dict[int, int] = {}    # watchpoint number -> slot address
        self._watch_handles: dict[int, list] = {}
        self._watch_after: dict[int, set[int]] = {}   # address after a store -> numbers
        self._addr_breaks: dict[int, list[int]] = {}  # `break *ADDRESS`: address -> numbers
        self._written: set[int] = set()           # watchpoints whose slot was written
        self._handles: list[dict[int, object]] = []       # per level: address -> hook
        self._rets: set[int] = set()
        self._starts: list[int] = []
        self._regmaps: dict[int, dict] = {}
        self._read_plans: dict[tuple[int, int], tuple] = {}   # (fi, address) -> places
        # The debugger's quick test of a site (`site_test`), per address: (reads, test)
        # or False (none: every hit stops the ordinary way).
        self.site_test = None
        self._site_tests: dict[int, object] = {}
        self._gpr_readers: dict[int, tuple] = {}
        self._rbp_readers: list = []          # per level: its rbp, read fast
        self.reporting = False
        self._dirty = False
        self._restart = None
        self._resume_at = None    # where a stop made the program go on (`force_return`,
        self._jumped = False      # `force_jump`; after a jump the target's hooks run)
        self._restart_hooked = False
        self._skip = None
        self._stopped = False
        self._reported = False
        self._stop_uc = None
        self._registers: dict[str, int] | None = None
        self.stop_address = 0
        self._serial = 0          # stops so far: a frame rebuilt twice in one is kept
        self.last_stop = None     # (fi, pc, depth) of the last stop in native code
        self._step = None                     # (mode, cfa, start address, level)
        self._left_start = False
        self._step_handles: dict[int, object] = {}
        self.shadows: dict[tuple[int, int], object] = {}  # (level, cfa) -> NativeFrame
        self.stop_address = 0
        self._resume_sites: dict[tuple[int, int], set[int]] = {}

    # -- loading ---------------------------------------------------------------------------

    def takes_image_code(self, opt: int) -> bool:
        """An image's `-O0` code is debugged as it is; its `-O2` code is not run: its
        innermost loops keep a Vec's data and length in registers from the loop's entry
        (compiler/native_loops.py), sure that nothing resizes the Vec meanwhile, which an
        expression evaluated at a stop in the loop can. The JIT compiles the debugger's
        own code for those functions instead."""
        return opt == 0

    def _alloc_code(self, size: int, align: int) -> int:
        align = max(16, align)
        top = -(-self._code_top // align) * align
        if top + size > CODE_ARENA:
            raise self.native.NativeError("the debugger's code arena is full")
        self._code_top = top + size
        return top

    def _place(self, obj: bytes):
        from elftools.elf.elffile import ELFFile

        from runtime.native_loader import LinkError, link

        stub_of = {name: self.code_base + i * STUB_SPACING
                   for i, name in enumerate(self._stub_names)}

        def alloc(size: int, align: int, executable: bool) -> int:
            return self.code_base + self._alloc_code(size, align)

        def write(address: int, raw: bytes) -> None:
            o = address - self.code_base
            self._code[o:o + len(raw)] = raw

        try:
            linked = link(obj, alloc, write, lambda name: stub_of.get(name, 0))
        except LinkError as e:
            raise self.native.NativeError(f"{e} (under the debugger)") from None
        if len(linked.texts) != 1:
            raise self.native.NativeError(
                f"its code is in {len(linked.texts)} sections, and the debugger reads the "
                f"DWARF of one (under the debugger)")
        elf = ELFFile(io.BytesIO(obj))
        self._index_functions(elf, linked.symbols, linked.values, linked.texts,
                              linked.bases, len(self._objects))
        self._map_sites()
        self._refresh_hooks()
        return linked.address

    def _index_functions(self, elf, symbols, values, texts, bases, obj_index) -> None:
        """Function ranges from the symbol table, lines and variables from DWARF."""
        native = self.native
        kinds = {}
        for fi in range(len(self.functions)):
            kinds[native.symbol(fi)] = (fi, "fn")
            kinds[native.entry_symbol(fi)] = (fi, "entry")
            kinds[native.osr_symbol(fi)] = (fi, "osr")
            kinds[native.osr_symbol(fi) + ".entry"] = (fi, "osr entry")
        tier = 1
        new: list[NativeFunction] = []
        by_offset: dict[tuple[int, int], NativeFunction] = {}
        for sym, v in zip(symbols, values, strict=False):
            if sym.info & 0xF != elf64.STT_FUNC or sym.shndx == 0:          # SHN_UNDEF
                continue
            fi, kind = kinds.get(sym.name, (-1, "copy"))
            if fi < 0:
                continue
            nf = NativeFunction(fi, kind, v, v + sym.size, tier, obj_index)
            new.append(nf)
            by_offset[(sym.shndx, sym.value)] = nf
        if elf.has_dwarf_info():
            self._read_dwarf(elf, bases[texts[0]], texts[0], by_offset)
        self._scan_rets(new)
        for nf in new:
            if nf.kind == "fn":
                self._by_fi[nf.fi] = nf
        self.fns = sorted(self.fns + new, key=lambda f: f.lo)
        self._starts = [f.lo for f in self.fns]            # function_at's index
        self._rets = {r for nf in self.fns for r in nf.rets}

    def _read_dwarf(self, elf, text_base: int, text_index: int, by_offset) -> None:
        dwarf = elf.get_dwarf_info(relocate_dwarf_sections=True)
        self._text_base = text_base
        try:
            self._loclists = dwarf.location_lists()
        except Exception:                       # noqa: BLE001 - no location lists
            self._loclists = None
        fns = sorted((nf for nf in by_offset.values() if nf.kind == "fn"),
                     key=lambda f: f.lo)
        starts = [f.lo for f in fns]
        import bisect

        for cu in dwarf.iter_CUs():
            prog = dwarf.line_program_for_CU(cu)
            if prog is not None:
                rows = []
                for entry in prog.get_entries():
                    st = entry.state
                    if st is None or st.end_sequence:
                        continue
                    rows.append((text_base + st.address, st.line,
                                 (st.discriminator or 0) - 1, bool(st.is_stmt)))
                rows.sort()
                for row in rows:
                    i = bisect.bisect_right(starts, row[0]) - 1
                    if i >= 0 and fns[i].lo <= row[0] < fns[i].hi:
                        fns[i].rows.append(row)
            for die in cu.iter_DIEs():
                if die.tag != "DW_TAG_subprogram" or "DW_AT_low_pc" not in die.attributes:
                    continue
                low = die.attributes["DW_AT_low_pc"].value
                nf = by_offset.get((text_index, low))
                if nf is None:
                    continue
                self._collect_vars(die, nf)
        for nf in fns:
            nf.row_addrs = [r[0] for r in nf.rows]
            for addr, _line, pc, _stmt in nf.rows:
                if pc >= 0 and pc not in nf.starts:
                    nf.starts[pc] = addr          # rows are in address order
            fn = self.functions[nf.fi]
            if nf.starts:
                for row in fn.lines:
                    if row.is_stmt and row.pc in nf.starts:
                        nf.stmts.setdefault(row.line, []).append(nf.starts[row.pc])
                continue
            # No discriminators (an image's code): where the line table starts a line.
            prev = None
            for addr, line, _pc, stmt in nf.rows:
                if stmt and line != prev and line > 0:
                    nf.stmts.setdefault(line, []).append(addr)
                prev = line

    def _collect_vars(self, die, nf: NativeFunction) -> None:
        for child in die.iter_children():
            if child.tag == "DW_TAG_lexical_block":
                self._collect_vars(child, nf)
                continue
            if child.tag not in ("DW_TAG_variable", "DW_TAG_formal_parameter"):
                continue
            a = child.attributes
            name = a["DW_AT_name"].value.decode() if "DW_AT_name" in a else ""
            line = a["DW_AT_decl_line"].value if "DW_AT_decl_line" in a else 0
            where = None
            loc = a.get("DW_AT_location")
            if loc is not None and loc.form == "DW_FORM_exprloc":
                where = ("expr", bytes(loc.value))
            elif loc is not None and self._loclists is not None:
                # Optimized code: a location list, each entry an expression for a range.
                try:
                    entries = self._loclists.get_location_list_at_offset(loc.value)
                except Exception:              # noqa: BLE001 - shown as optimized out
                    entries = []
                ranges = [(self._text_base + e.begin_offset, self._text_base + e.end_offset,
                           bytes(e.loc_expr)) for e in entries if hasattr(e, "loc_expr")]
                where = ("list", ranges)
            if name == CLOSURE_VARIABLE:
                nf.env_where = where          # the frame's closure (the debugger's code)
                continue
            nf.vars.append((name, line, where))

    def _scan_rets(self, fns: list[NativeFunction]) -> None:
        try:
            import capstone
        except ImportError:                    # pragma: no cover - a declared dependency
            return
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        for nf in fns:
            if nf.kind != "fn":
                continue
            code = self.code_at(nf.lo, nf.hi - nf.lo)
            for ins in md.disasm_lite(code, nf.lo):
                if ins[2] == "ret":
                    nf.rets.append(ins[0])

    def code_at(self, address: int, size: int) -> bytes:
        off = address - self.code_base
        if self._code is None or off < 0 or off + size > CODE_ARENA:
            return b""
        return bytes(self._code[off:off + size])

    def _entry_callable(self, address: int):
        def entry(ctx, depth, env, args):
            return self._run(address, (ctx, depth, env, args))
        return entry

    def _osr_callable(self, address: int):
        return None          # no on-stack replacement under the debugger (no OSR DWARF)

    # -- running ---------------------------------------------------------------------------

    def call(self, nat, parent, dst, args, env, depth, budget):
        if self.level + 1 >= MAX_LEVELS:
            return NOT_RUN
        self._pending = (parent, depth, env or 0)
        return super().call(nat, parent, dst, args, env, depth, budget)

    def _uc(self, level: int):
        while len(self._ucs) <= level:
            self._ucs.append(self._new_uc(len(self._ucs)))
        return self._ucs[level]

    def _new_uc(self, level: int):
        unicorn = self._unicorn
        uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_64)
        perms = unicorn.UC_PROT_ALL
        heap = self.vm.heap
        uc.mem_map_ptr(heap.base, heap.mapped_size, perms, heap.base)
        base, size = self._scratch_range
        uc.mem_map_ptr(base, size, perms, base)
        uc.mem_map_ptr(self.code_base, CODE_ARENA, perms, self.code_base)
        mm, stack = _host_mmap(STACK_SIZE, STACKS_AT + level * STACK_SIZE)
        self._stacks.append((mm, stack))
        uc.mem_map_ptr(stack, STACK_SIZE, perms, stack)
        uc.hook_add(unicorn.UC_HOOK_CODE, self._guard(self._on_stub), None,
                    self.code_base, self.code_base + PAGE - 1)
        self._handles.append({})
        self._rbp_readers.append(self._reg_reader(uc, self._x86.UC_X86_REG_RBP))
        self._install(level, uc)
        self._install_watches(level, uc)
        return uc

    def _guard(self, fn):
        """A hook callback: an exception stops the emulation and is raised after it. A
        stop that moved the program counter (`force_return`, `force_jump`) goes on from
        there."""
        def hook(uc, address, size, data):
            try:
                fn(uc, address)
                if self._resume_at is not None:
                    self._restart, self._resume_at = self._resume_at, None
                    self._restart_hooked = self._jumped
                    self._jumped = False
                    uc.emu_stop()
            except BaseException as e:
                if self._hook_error is None:
                    self._hook_error = e
                uc.emu_stop()
        return hook

    def _run(self, address: int, args: tuple) -> int:
        x86 = self._x86
        level = self.level + 1
        uc = self._uc(level)
        parent, depth, env = self._pending if self._pending else (None, args[1], args[2])
        self._pending = None
        self._bases.append((parent, depth, env, uc))
        rsp = self._entry_sp(level)
        _I64.from_address(rsp).value = self.exit_address
        regs = (x86.UC_X86_REG_RDI, x86.UC_X86_REG_RSI, x86.UC_X86_REG_RDX,
                x86.UC_X86_REG_RCX, x86.UC_X86_REG_R8)
        for r, v in zip(regs, args, strict=False):
            uc.reg_write(r, v & (1 << 64) - 1)
        uc.reg_write(x86.UC_X86_REG_RSP, rsp)
        uc.reg_write(x86.UC_X86_REG_RBP, 0)
        self.level = level
        try:
            start = address
            while True:
                self._restart = None
                try:
                    uc.emu_start(start, self.exit_address)
                except self._unicorn.UcError as e:
                    pc = uc.reg_read(x86.UC_X86_REG_RIP)
                    if self._hook_error is None:
                        self._hook_error = RuntimeError(
                            f"native code faulted under unicorn at {pc:#x}: {e}")
                if self._restart is None or self._hook_error is not None:
                    break
                # Hooks changed during a stop: the block being run was translated
                # without them; run on from the same instruction, retranslated.
                start = self._restart
                # (A `jump` target's own hooks run: a breakpoint there stops at once.)
                self._skip = None if self._restart_hooked else start
                self._restart_hooked = False
        finally:
            self.level = level - 1
            self._bases.pop()
            for key in [k for k in self.shadows if k[0] >= level]:
                del self.shadows[key]
        if self._hook_error is not None:
            e, self._hook_error = self._hook_error, None
            raise e
        return _signed(uc.reg_read(x86.UC_X86_REG_RAX))

    def _on_stub(self, uc, address: int) -> None:
        stub = self._stubs.get(address)
        if stub is None:
            return
        name, method, on_error, nargs, returns, _c_name = stub     # name: the Jit method's
        x86 = self._x86
        regs = (x86.UC_X86_REG_RSI, x86.UC_X86_REG_RDX, x86.UC_X86_REG_RCX,
                x86.UC_X86_REG_R8, x86.UC_X86_REG_R9)
        args = [_signed(uc.reg_read(r)) for r in regs[:nargs]]
        try:
            value = self.helper(name, method, args)
        except BaseException as e:
            if self.error is None:
                self.error = e
            self.ctx[1] = 3
            value = on_error
        if returns:
            uc.reg_write(x86.UC_X86_REG_RAX, (value or 0) & (1 << 64) - 1)

    def _interpreted_parent(self, g: int):
        # The bytecode frame `vyn_rt_call` makes has the native frames that called it
        # below it, so that a stop inside sees one stack.
        self._serial += 1
        frames = self._frames_at_stub(self.level, g)
        return frames[0] if frames else None

    def frame_record(self, fi: int, site: int, resume: int, child: int, regs: int) -> None:
        # Native code leaves: the frame whose registers these are (they lie in its stack
        # frame, below its CFA) keeps its identity as the bytecode frame it becomes, so
        # the debugger's step, `finish` and watchpoint scope go on with the same frame.
        super().frame_record(fi, site, resume, child, regs)
        level = self.level
        owner = None
        for (lv, cfa), f in self.shadows.items():
            if lv == level and cfa > regs and (owner is None or cfa < owner.cfa):
                owner = f
        if owner is not None and owner.fn.index == fi:
            self._leaving[id(self.records[-1][5])] = owner

    def _exit(self, parent, dst: int, env, osr_frame) -> None:
        try:
            super()._exit(parent, dst, env, osr_frame)
        finally:
            self._leaving.clear()

    def _rebuilt_frame(self, fi: int, values: list, parent, ret, env, depth):
        f = self._leaving.pop(id(values), None)
        if f is None:
            return super()._rebuilt_frame(fi, values, parent, ret, env, depth)
        self.shadows.pop((f.level, f.cfa), None)
        f.resolve = None
        f.count_depth = None
        f.tier = "bytecode"
        f.address = 0
        f.slots = {}
        f.code = self.vm.codes[fi]
        f.regs = values
        f.snapshot = list(values)
        f.parent = parent
        f.ret = ret
        f.env = env
        f.depth = depth
        f.gen = None
        return f

    # -- frames ----------------------------------------------------------------------------

    def function_at(self, address: int) -> NativeFunction | None:
        import bisect

        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and self.fns[i].lo <= address < self.fns[i].hi:
            return self.fns[i]
        return None

    def _row_at(self, address: int) -> tuple[int, int]:
        """(line, bytecode pc) of the instruction at `address`: the last row at or before
        it that names a line (rows of line 0 are generated code: the row before)."""
        import bisect

        nf = self.function_at(address)
        if nf is None:
            return 0, -1
        i = bisect.bisect_right(nf.row_addrs, address) - 1
        while i >= 0 and nf.rows[i][1] == 0:
            i -= 1
        if i < 0:
            return 0, -1
        return nf.rows[i][1], nf.rows[i][2]

    def line_of_address(self, address: int) -> int:
        return self._row_at(address)[0]

    def pc_of_address(self, address: int, caller: bool = False) -> int:
        """The bytecode pc the native instruction at `address` belongs to; `caller`: a
        return address, whose frame resumes after the call (pc + 1)."""
        nf = self.function_at(address - 1 if caller else address)
        line, pc = self._row_at(address - 1 if caller else address)
        if pc >= 0:
            return pc + 1 if caller else pc
        if nf is None:
            return 0
        # No pc map (an image's code): the line's first statement (a caller: just after
        # it, so that its call site, pc - 1, is on the line).
        for row in self.functions[nf.fi].lines:
            if row.line == line and row.is_stmt:
                return row.pc + 1 if caller else row.pc
        return 0

    def _unwind(self, address: int, rbp: int, first_is_ra: bool) -> list:
        """Native frames through the frame-pointer chain, innermost first, as
        (NativeFunction, address, cfa); `address` is the innermost's pc (or, with
        `first_is_ra`, a return address into it). Stops at the entry wrapper."""
        out = []
        ra = first_is_ra
        while rbp and len(out) < 100000:
            nf = self.function_at(address - 1 if ra else address)
            if nf is None or nf.kind != "fn":
                break
            out.append((nf, address, rbp + 16))
            address = _I64.from_address(rbp + 8).value
            rbp = _I64.from_address(rbp).value
            ra = True
        return out

    def _var_regs(self, fi: int) -> dict:
        """Register -> (frame offset, kind) for the variables DWARF locates, matched to
        the variable table by name and declaration line."""
        out = self._regmaps.get(fi)
        if out is not None:
            return out
        nf = self._by_fi[fi]
        fn = self.functions[fi]
        out = {}
        by_key = {}
        for v in fn.vars:
            if v.kind == "capture":
                continue
            row = fn.line_at(v.start)
            line = row.line if row is not None else fn.line
            by_key.setdefault((v.name, max(line, 1)), v)
        for name, line, where in nf.vars:
            v = by_key.pop((name, line), None)
            if v is not None:
                kind = self.native.K_PTR if v.cell else self.native.desc_kind(
                    self.program, v.type_id)
                out[v.reg] = (where, kind)
        if nf.vars:
            # Described by no DWARF variable at all (optimized code dropped it).
            for v in by_key.values():
                out.setdefault(v.reg, (None, 0))
        self._regmaps[fi] = out
        return out

    def _var_place(self, where, address: int) -> tuple:
        """Where a variable is at `address`, independent of the frame: ("fbreg", offset)
        (memory at the frame base, rbp, + offset), ("breg", n, offset) (memory at DWARF
        register n + offset), ("reg", n) (the value of register n), ("value", bits) or
        ("gone",)."""
        if where is None:
            return ("gone",)
        if where[0] == "list":
            expr = next((e for lo, hi, e in where[1] if lo <= address < hi), None)
            if expr is None:
                return ("gone",)
        else:
            expr = where[1]
        if not expr:
            return ("gone",)
        try:
            op = expr[0]
            if op == 0x91:                                   # DW_OP_fbreg (frame base: rbp)
                return ("fbreg", _sleb(expr[1:]))
            if 0x70 <= op <= 0x7F:                           # DW_OP_bregN offset
                n, off = op - 0x70, _sleb(expr[1:])
                return ("fbreg", off) if n == 6 else ("breg", n, off)
            if 0x50 <= op <= 0x6F or op == 0x90:             # DW_OP_regN, DW_OP_regx N
                return ("reg", op - 0x50 if op != 0x90 else _uleb(expr, 1)[0])
            if op in (0x10, 0x11) and expr[-1] == 0x9F:       # DW_OP_const[us] stack_value
                n, _ = _uleb(expr, 1)
                if op == 0x11:
                    n = _sleb(expr[1:])
                return ("value", n & (1 << 64) - 1)
            if 0x30 <= op <= 0x4F and len(expr) == 2 and expr[1] == 0x9F:   # DW_OP_litN
                return ("value", op - 0x30)
        except IndexError:                                   # a truncated DWARF expression
            pass
        return ("gone",)

    def _read_plan(self, fi: int, address: int) -> tuple:
        """(register, kind, place) of each variable DWARF locates in function `fi` at
        `address` (`_var_place`): worked out once per address, as a breakpoint's hits read
        the same variables from the same places every time."""
        key = (fi, address)
        plan = self._read_plans.get(key)
        if plan is None:
            plan = tuple((reg, kind, self._var_place(where, address))
                         for reg, (where, kind) in self._var_regs(fi).items())
            self._read_plans[key] = plan
        return plan

    def _locate(self, place: tuple, rbp: int, register) -> tuple:
        """A `_var_place` in a frame: ("memory", addr), ("value", bits) or ("gone",).
        `register(n)`: the frame's DWARF register n, or None (an outer frame: only memory
        relative to its frame pointer is known)."""
        how = place[0]
        if how == "fbreg":
            return ("memory", rbp + place[1])
        if how == "breg":
            base = register(place[1])
            return ("gone",) if base is None else ("memory", base + place[2])
        if how == "reg":
            value = register(place[1])
            return ("gone",) if value is None else ("value", value)
        return place

    def _gpr_reader(self, uc):
        """A fast `uc.reg_read` for 64-bit registers (the binding's own builds a ctypes
        object and checks the register's class at every call)."""
        found = self._gpr_readers.get(id(uc))
        if found is not None and found[0] is uc:
            return found[1]
        read = self._reg_reader(uc, None)
        self._gpr_readers[id(uc)] = (uc, read)
        return read

    @staticmethod
    def _reg_reader(uc, register: int | None):
        """`read(reg)` reading a 64-bit register of `uc` through unicorn's C function
        (or `read()`, register `register`), the binding's `reg_read` when that is not
        available or fails."""
        try:
            from unicorn.unicorn_py3.unicorn import uclib
            call = uclib.uc_reg_read
            handle = uc._uch
        except (ImportError, AttributeError):       # pragma: no cover - another binding
            if register is None:
                return uc.reg_read
            return lambda: uc.reg_read(register)
        buf = (ctypes.c_uint64 * 2)()          # room for any register the id may name
        ref = ctypes.byref(buf)
        if register is not None:
            def read_one() -> int:
                if call(handle, register, ref) != 0:
                    return uc.reg_read(register)
                return buf[0]
            return read_one

        def read(reg: int) -> int:
            if call(handle, reg, ref) != 0:
                return uc.reg_read(reg)
            return buf[0]
        return read

    def _registers_of(self, uc):
        """DWARF register number -> value, read from `uc` (the innermost frame's)."""
        x86 = self._x86
        read = self._gpr_reader(uc)

        def register(n: int):
            if n >= len(_DWARF_REGS):
                return None
            reg = getattr(x86, f"UC_X86_REG_{_DWARF_REGS[n].upper()}")
            v = read(reg) if n <= 16 else uc.reg_read(reg)
            return v & (1 << 64) - 1
        return register

    def _shadow(self, level: int, nf: NativeFunction, address: int, cfa: int, pc: int,
                depth: int, env: int, params: list | None, registers=None):
        key = (level, cfa)
        f = self.shadows.get(key)
        if f is None or f.fn.index != nf.fi:
            fn = self.functions[nf.fi]
            f = self.NativeFrame(fn, self.vm.codes[nf.fi], [None] * fn.nregs, None, 0, env,
                                 depth)
            f.tier = "native"
            f.level = level
            f.cfa = cfa
            f.resolve = None
            f.count_depth = None
            f.serial = -1
            self.shadows[key] = f
        elif f.serial == self._serial:
            f.depth = depth      # made during this stop already (its values may be set)
            return f
        f.serial = self._serial
        f.resolve = None
        f.count_depth = None
        f.pc = pc
        f.address = address
        f.depth = depth
        f.slots = {}
        f.readonly = set()
        if nf.env_where is not None:
            # Its closure (a frame a native closure call made has no other record of it):
            # at its first instruction in rdx (the third argument), then in its slot.
            if params is not None:
                if registers is not None:
                    f.env = registers(1) or 0              # DWARF register 1: rdx
            else:
                place = self._locate(self._var_place(nf.env_where, address), cfa - 16,
                                     registers if registers is not None else _no_register)
                if place[0] == "memory":
                    f.env = _I64.from_address(place[1]).value
        if params is not None:
            f.regs[:len(params)] = params
        else:
            rbp = cfa - 16
            register = registers if registers is not None else _no_register
            at = address if registers is not None else address - 1   # callers: the call
            from_bits = self._from_bits
            for reg, kind, where in self._read_plan(nf.fi, at):
                if where[0] == "fbreg":
                    addr = rbp + where[1]
                    f.regs[reg] = from_bits(_I64.from_address(addr).value, kind)
                    f.slots[reg] = (addr, kind)
                    continue
                place = self._locate(where, rbp, register)
                if place[0] == "memory":
                    f.regs[reg] = self._from_bits(_I64.from_address(place[1]).value, kind)
                    f.slots[reg] = (place[1], kind)
                elif place[0] == "value":
                    f.regs[reg] = self._from_bits(_signed(place[1]), kind)
                    f.readonly.add(reg)
                else:
                    f.regs[reg] = OPTIMIZED_OUT
                    f.readonly.add(reg)
        f.snapshot = list(f.regs)
        return f

    def _write_back(self) -> None:
        """Values the debugger changed in native frames go back to their stack slots."""
        for f in list(self.shadows.values()):
            snap = f.snapshot
            for reg, (addr, kind) in f.slots.items():
                v, old = f.regs[reg], snap[reg]
                if v is old or (type(v) is type(old) and v == old):
                    continue
                if self._to_bits(0, kind, v):
                    _I64.from_address(addr).value = self.buf[0]
            f.snapshot = list(f.regs)

    def _chain(self, level: int, frames: list, top_pc: int | None, params=None,
               callee: int | None = None) -> list:
        """NativeFrames for unwound records (innermost first), linked to the frames below
        this level's native code. `top_pc`: the innermost's bytecode pc (None: it is a
        caller too, calling `callee`); `params`: its arguments (at its entry)."""
        parent, depth, env, uc = self._bases[level]
        below = parent
        n = len(frames)
        built = []
        top_registers = self._registers_of(uc) if top_pc is not None else None
        for i in range(n - 1, -1, -1):
            nf, address, cfa = frames[i]
            if i == 0 and top_pc is not None:
                pc = top_pc
            else:
                pc = self.pc_of_address(address, caller=True)
                if not nf.starts:          # no pc map: the caller's return address is its site
                    self._resume_sites.setdefault((nf.fi, pc), set()).add(address)
            f = self._shadow(level, nf, address, cfa, pc, depth + (n - 1 - i),
                             env if i == n - 1 else 0, params if i == 0 else None,
                             top_registers if i == 0 else None)
            f.parent = below
            f.ret = 0
            below = f
            built.append(f)
        built.reverse()
        return built

    def _frames_at_stub(self, level: int, callee: int | None = None) -> list:
        """At a helper stub of `level`: its native frames (innermost first)."""
        if level < 0 or level >= len(self._bases):
            return []
        uc = self._bases[level][3]
        x86 = self._x86
        rsp = uc.reg_read(x86.UC_X86_REG_RSP)
        rbp = uc.reg_read(x86.UC_X86_REG_RBP)
        frames = self._unwind(_I64.from_address(rsp).value, rbp, True)
        return self._chain(level, frames, None, callee=callee) if frames else []

    def frames_here(self, uc, address: int, top_pc: int, at_entry: bool = False) -> list:
        """The native frames of the running level at `address` (innermost first)."""
        x86 = self._x86
        rbp = uc.reg_read(x86.UC_X86_REG_RBP)
        if at_entry:
            rsp = uc.reg_read(x86.UC_X86_REG_RSP)
            nf = self.function_at(address)
            frames = [(nf, address, rsp + 8)] + self._unwind(
                _I64.from_address(rsp).value, rbp, True)
            return self._chain(self.level, frames, top_pc,
                               params=self._params_at_entry(uc, nf))
        frames = self._unwind(address, rbp, False)
        chain = self._chain(self.level, frames, top_pc) if frames else []
        if not self.reporting:
            # Returns were not watched: the frames of this level are exactly these.
            live = {id(f) for f in chain}
            for key in [k for k, f in self.shadows.items()
                        if k[0] == self.level and id(f) not in live]:
                del self.shadows[key]
        return chain

    def _params_at_entry(self, uc, nf: NativeFunction) -> list:
        x86 = self._x86
        fn = self.functions[nf.fi]
        # fast entry (ABI 2): ctx, depth, env, budget, then the arguments: two in
        # registers, the rest on the stack above the return address.
        regs = (x86.UC_X86_REG_R8, x86.UC_X86_REG_R9)
        rsp = uc.reg_read(x86.UC_X86_REG_RSP)
        out = []
        for i in range(fn.nparams):
            raw = uc.reg_read(regs[i]) if i < 2 else _I64.from_address(rsp + 8 * (i - 1)).value
            out.append(self._from_bits(_signed(raw), self._param_kind(fn, i)))
        return out

    # -- stops -----------------------------------------------------------------------------

    @property
    def stop_registers(self) -> dict[str, int] | None:
        """The registers at the stop in progress (read when first asked)."""
        if not self._stopped:
            return None
        if self._registers is None:
            x86 = self._x86
            uc = self._stop_uc
            self._registers = {name: uc.reg_read(getattr(x86, f"UC_X86_REG_{name.upper()}"))
                               for name in REGISTER_NAMES}
        return self._registers

    def _stop(self, uc, frame, report, address: int) -> None:
        """Show the VM `frame` (innermost) while `report(frame)` runs (it may block in the
        debugger), then write changed values back."""
        vm = self.vm
        saved = vm.frame
        vm.frame = frame
        self._stop_uc = uc
        self._registers = None
        self.stop_address = address
        self._stopped = True
        self._reported = False
        try:
            report(frame)
        finally:
            self._stopped = False
            if self._reported:
                frame.depth                    # noqa: B018 - resolves the frame
            if frame.resolve is not None:
                # Nobody asked for its caller during the stop: it is not known after.
                frame.resolve = None
                frame.count_depth = None
                frame.parent = None
                self.last_stop = None
                if not self.reporting:
                    self.shadows.pop((frame.level, frame.cfa), None)
            else:
                self.last_stop = (frame.fn.index, frame.pc, frame.depth)
            self._write_back()
            vm.frame = saved

    def _on_hooked(self, uc, address: int) -> None:
        """The one code hook per address: call events, sites, returns, in that order."""
        if self._skip == address:
            self._skip = None
            return
        self._skip = None
        if self.ctx[1] != 0:
            return      # leaving native code (a deopt): its frames are not running on
        self.last_stop = None
        self._serial += 1
        level = self.level
        if level < 0 or self._bases[level][3] is not uc or self.vm.hooks is None:
            return
        self._dirty = False
        quick = self._site_tests.get(address)
        if quick and not self.reporting and address not in self._addr_breaks and \
                address not in self._watch_after:
            # Only a breakpoint site here, whose conditions are known false: done.
            if self._quick_test(uc, quick):
                return
            quick = False                    # tested: the stop goes the ordinary way
        if self._written and address in self._watch_after:
            self._report_watch(uc, address)
        nf = self.function_at(address)
        if nf is None:
            return
        vm = self.vm
        if self.reporting and address == nf.lo and vm.step_hooks is not None:
            frames = self.frames_here(uc, address, 0, at_entry=True)
            if frames:
                self._stop(uc, frames[0], lambda f: vm.step_hooks.call(vm, f), address)
        numbers = self._addr_breaks.get(address)
        stopped = False         # a stop here: not again for a site at the same place
        if numbers and nf.kind == "fn" and vm.hooks is not None:
            frames = self.frames_here(uc, address, self.pc_of_address(address),
                                      at_entry=address == nf.lo)
            if frames:
                self._stop(uc, frames[0], lambda f: vm.hooks.native_break(vm, f, numbers),
                           address)
                stopped = self._reported
        site = None if stopped else self._sites.get(address)
        if site is not None and vm.hooks is not None and nf.fi == site[0]:
            at_entry = address == nf.lo
            if at_entry or self.reporting:
                frames = self.frames_here(uc, address, site[1], at_entry=at_entry)
                frame = frames[0] if frames else None
            elif quick is not False and self._quick_skip(uc, nf, address, site):
                frame = None                 # a false condition: nothing to report
            else:
                frame = self._lazy_frame(uc, nf, address, site[1])
            if frame is not None:
                self._stop(uc, frame, lambda f: vm.hooks.trap(vm, f, -1), address)
        if self.reporting and address in self._rets and vm.step_hooks is not None:
            self._on_ret(uc, nf, address)
        if self._dirty:
            self._restart = address
            self._skip = None
            uc.emu_stop()

    def _lazy_frame(self, uc, nf: NativeFunction, address: int, pc: int):
        """The innermost frame alone, its caller and depth found if asked."""
        level = self.level
        rbp = self._rbp_readers[level]()
        f = self._shadow(level, nf, address, rbp + 16, pc, 0, 0, None,
                         self._registers_of(uc))

        def resolve(frame):
            frames = self._unwind(address, rbp, False)
            self._chain(level, frames, pc)

        def count() -> int:
            # Frame-pointer links down to the entry wrapper (called from the exit stub).
            n, fp, ex = 0, rbp, self.exit_address
            while fp and _I64.from_address(fp + 8).value != ex:
                fp = _I64.from_address(fp).value
                n += 1
            return self._bases[level][1] + n - 1
        f.resolve = resolve
        f.count_depth = count
        f.depth_bound = self._depth_bound(level, rbp)
        return f

    def _on_ret(self, uc, nf: NativeFunction, address: int) -> None:
        x86 = self._x86
        rsp = uc.reg_read(x86.UC_X86_REG_RSP)
        key = (self.level, rsp + 8)
        f = self.shadows.get(key)
        if f is None:
            return
        nat = self.natives[nf.fi]
        value = self._from_bits(_signed(uc.reg_read(x86.UC_X86_REG_RAX)),
                                nat.ret_kind if nat is not None else 0)
        ra = _I64.from_address(rsp).value
        callers = self._unwind(ra, uc.reg_read(x86.UC_X86_REG_RBP), True)
        f.parent = self._chain(self.level, callers, None, callee=nf.fi)[0] if callers \
            else self._bases[self.level][0]
        vm = self.vm
        try:
            self._stop(uc, f, lambda fr: vm.step_hooks.ret(vm, fr, value), address)
        finally:
            self.shadows.pop(key, None)

    def note_stop(self) -> None:
        """The debugger reports a stop here (it blocks): the frame is a real stop's."""
        self._reported = True

    def repeats(self, frame) -> bool:
        """Whether a bytecode trap at `frame` is the one native code just stopped at:
        native code reached the instruction, stopped there, then left for the
        interpreter to run it (a panic, a deopt), which meets the same site."""
        last = self.last_stop
        self.last_stop = None
        return last is not None and not self.is_native_frame(frame) and \
            last == (frame.fn.index, frame.pc, frame.depth)

    @staticmethod
    def is_native_frame(frame) -> bool:
        return getattr(frame, "tier", None) == "native"

    # -- sites and hooks -------------------------------------------------------------------

    def addresses_of_site(self, fi: int, pc: int) -> list[int]:
        """The native addresses standing for bytecode site (fi, pc): the first address of
        the instruction's code (the line table's discriminators give it); for code
        without them (an image's), a statement start's line, or a caller's return
        address."""
        nf = self._by_fi.get(fi)
        if nf is None:
            return []
        if nf.starts:
            # Exact: where the instruction's code starts. A caller's resume site too:
            # the code after the call, once its result is stored (as in bytecode).
            return [nf.starts[pc]] if pc in nf.starts else []
        out = set(self._resume_sites.get((fi, pc), ()))
        row = self.functions[fi].line_at(pc)
        if row is not None and row.pc == pc and row.is_stmt:
            out.update(nf.stmts.get(row.line, ()))
        return sorted(out)

    def set_sites(self, sites) -> None:
        """Stop at these bytecode sites wherever their function runs natively (now, and
        once it is compiled: a function that tiers up keeps its breakpoints)."""
        self._bytecode_sites = set(sites)
        self._map_sites()

    def _map_sites(self) -> None:
        want: dict[int, tuple[int, int]] = {}
        for fi, pc in sorted(self._bytecode_sites):
            for a in self.addresses_of_site(fi, pc):
                want.setdefault(a, (fi, pc))
        if want != self._sites:
            self._sites = want
            self._site_tests.clear()
            self._refresh_hooks()

    def forget_site_tests(self) -> None:
        """What `site_test` says may have changed (breakpoints, their conditions)."""
        self._site_tests.clear()

    def _quick_skip(self, uc, nf: NativeFunction, address: int, site: tuple) -> bool:
        """Whether a hit of breakpoint site `site` at `address` is known to change
        nothing, without a frame: the debugger's `site_test(fi, pc)` gives the variables
        (registers) its conditions read and `test(values, depth_bound)`, true when none
        of them holds (vyndbg/engine.py). Only variables in the frame's stack slots are
        read here (tier 1 keeps every variable in one); others go the ordinary way.
        Once known, the test is made first thing in `_on_hooked` (`_quick_test`)."""
        entry = self._site_tests.get(address)
        if entry is None:
            entry = False
            provider = self.site_test
            found = provider(site[0], site[1]) if provider is not None else None
            if found is not None:
                regs, test = found
                places = {reg: (kind, where) for reg, kind, where in
                          self._read_plan(nf.fi, address)}
                reads = []
                for reg in regs:
                    p = places.get(reg)
                    if p is None or p[1][0] != "fbreg":
                        break
                    kind = p[0]
                    if kind == self._bc.K_FLOAT:
                        reads.append((p[1][1], ctypes.c_double, False))
                    elif kind == self._bc.K_BOOL:
                        reads.append((p[1][1], _I64, True))
                    elif kind in (self._bc.K_INT, self._bc.K_PTR):
                        reads.append((p[1][1], _I64, False))
                    else:
                        break                       # read as None: not a condition's
                else:
                    entry = (tuple(reads), test)
            self._site_tests[address] = entry
        return entry is not False and self._quick_test(uc, entry)

    def _quick_test(self, uc, entry: tuple) -> bool:
        """`_quick_skip`'s test, its variables read from their stack slots as `_shadow`
        reads them (Jit._from_bits of the slot's bits)."""
        reads, test = entry
        level = self.level
        rbp = self._rbp_readers[level]()
        values = []
        for off, ctype, is_bool in reads:
            v = ctype.from_address(rbp + off).value
            values.append(v != 0 if is_bool else v)
        return test(values, self._depth_bound(level, rbp))

    def _entry_sp(self, level: int) -> int:
        """The stack pointer of `level`'s emulation at its entry (the exit address is
        there: the return address of the entry wrapper)."""
        return ((self._stacks[level][1] + STACK_SIZE - 256) & ~0xF) - 8

    def _depth_bound(self, level: int, rbp: int) -> int:
        """At least the depth of the innermost native frame of `level` (frame pointer
        `rbp`), without unwinding: `_lazy_frame`'s count follows the frame pointers up
        to the entry wrapper's, below the entry's stack pointer, and each link is 16
        bytes at least (a return address and a saved rbp)."""
        return self._bases[level][1] + max(0, self._entry_sp(level) - rbp) // 16

    def set_address_breaks(self, breaks: dict[int, int]) -> None:
        """`break *ADDRESS`: stop at these machine addresses (breakpoint number ->
        address), through vm.hooks.native_break, wherever code is or will be loaded."""
        by_address: dict[int, list[int]] = {}
        for number, address in sorted(breaks.items()):
            by_address.setdefault(address, []).append(number)
        if by_address != self._addr_breaks:
            self._addr_breaks = by_address
            self._refresh_hooks()

    def set_reporting(self, on: bool) -> None:
        """Report native calls and returns to vm.step_hooks (stepping, `finish`)."""
        if on != self.reporting:
            self.reporting = on
            self._refresh_hooks()

    def _wanted(self) -> set[int]:
        want = set(self._sites) | set(self._watch_after) | set(self._addr_breaks)
        if self.reporting:
            want.update(nf.lo for nf in self.fns if nf.kind == "fn")
            want.update(self._rets)
        return want

    def _refresh_hooks(self) -> None:
        for level, uc in enumerate(self._ucs):
            self._install(level, uc)
        self._dirty = True

    def _install(self, level: int, uc) -> None:
        have = self._handles[level]
        want = self._wanted()
        changed = False
        for a in list(have):
            if a not in want:
                uc.hook_del(have.pop(a))
                changed = True
        for a in want:
            if a not in have:
                have[a] = self._code_hook(uc, self._on_hooked, a, a)
                changed = True
        if changed:
            uc.ctl_remove_cache(self.code_base, self.code_base + max(self._code_top, PAGE))

    def _code_hook(self, uc, fn, begin: int, end: int) -> int:
        """uc.hook_add(UC_HOOK_CODE, self._guard(fn), None, begin, end), its callback
        called by unicorn without the binding's two Python wrappers (its guard is not
        needed: this one catches everything, as `_guard` does). A hit of a breakpoint
        whose condition is false costs little else. `uc.hook_del` removes it as usual."""
        try:
            from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC
            add = uc._Uc__do_hook_add
        except (ImportError, AttributeError):       # pragma: no cover - another binding
            return uc.hook_add(self._unicorn.UC_HOOK_CODE, self._guard(fn), None, begin, end)

        hook = self._guard(fn)

        def raw(handle, address, size, key):
            hook(uc, address, size, key)
        return add(self._unicorn.UC_HOOK_CODE, HOOK_CODE_CFUNC(raw), begin, end)

    # -- watchpoints: memory-write hooks ------------------------------------------------------

    def set_watches(self, watches: dict) -> None:
        """Watch these native frames' locals (number -> (NativeFrame, register)): a
        memory-write hook on each stack slot notes the write, and a code hook on the
        instruction after each store to that slot (found in the function's machine code:
        a local's slot is written by no other instruction) reports it once the store is
        done, through vm.hooks.native_watch, as a hardware watchpoint stops."""
        want = {}
        for number, (frame, reg) in watches.items():
            slot = getattr(frame, "slots", {}).get(reg)
            nf = self._by_fi.get(frame.fn.index)
            if slot is not None and nf is not None and getattr(frame, "tier", None) == "native":
                want[number] = (slot[0], nf, slot[0] - (frame.cfa - 16))
        if {n: w[0] for n, w in want.items()} == self._watch_addrs:
            return
        self._watch_addrs = {n: w[0] for n, w in want.items()}
        self._watch_after = {}
        for number, (_addr, nf, offset) in want.items():
            for after in self._stores_to(nf, offset):
                self._watch_after.setdefault(after, set()).add(number)
        self._written.clear()
        for level, uc in enumerate(self._ucs):
            self._install_watches(level, uc)
        self._refresh_hooks()

    def _stores_to(self, nf: NativeFunction, offset: int) -> list[int]:
        """Addresses of the instructions right after each store to `offset(%rbp)`."""
        import capstone
        from capstone import x86_const as cx

        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        md.detail = True
        out = []
        for ins in md.disasm(self.code_at(nf.lo, nf.hi - nf.lo), nf.lo):
            if not ins.operands:
                continue
            dst = ins.operands[0]           # Intel order: the destination first
            if dst.type == cx.X86_OP_MEM and dst.mem.base == cx.X86_REG_RBP and \
                    dst.mem.disp == offset and dst.access & capstone.CS_AC_WRITE:
                out.append(ins.address + ins.size)
        return out

    def _install_watches(self, level: int, uc) -> None:
        for h in self._watch_handles.pop(level, []):
            uc.hook_del(h)
        hooks = []
        for addr in sorted(set(self._watch_addrs.values())):
            hooks.append(uc.hook_add(self._unicorn.UC_HOOK_MEM_WRITE, self._on_write, None,
                                     addr, addr + 7))
        self._watch_handles[level] = hooks

    def _on_write(self, uc, access, address, size, value, data) -> None:
        try:
            if self.ctx[1] == 0 and self.level >= 0 and self._bases[self.level][3] is uc:
                for n, a in self._watch_addrs.items():
                    if a < address + size and address < a + 8:
                        self._written.add(n)
        except BaseException as e:
            if self._hook_error is None:
                self._hook_error = e
            uc.emu_stop()

    def _report_watch(self, uc, address: int) -> None:
        """At an instruction after a store: the watchpoints whose slot it wrote."""
        numbers = sorted(self._written & self._watch_after.get(address, set()))
        if not numbers or self.vm.hooks is None:
            return
        self._written.difference_update(numbers)
        nf = self.function_at(address)
        if nf is None or nf.kind != "fn":
            return
        pc = self.pc_of_address(address)
        if nf.starts and pc == self.pc_of_address(address - 1):
            # Still code of the storing instruction (a reload before the next one's):
            # the frame is past it, at the next instruction, as the interpreter's is.
            pc += 1
        frames = self.frames_here(uc, address, pc)
        if frames:
            vm = self.vm
            self._stop(uc, frames[0],
                       lambda f: [vm.hooks.native_watch(vm, f, n) for n in numbers], address)

    # -- machine steps ---------------------------------------------------------------------

    def machine_step(self, mode: str, frame) -> None:
        """Arm `stepi` ("stepi") or `nexti` ("nexti") from native `frame` (the innermost
        at a stop): the next instruction of its level in native code (nexti: not in a
        deeper frame) stops, through vm.hooks.native_step."""
        self._step = (mode, frame.cfa, self.stop_address, frame.level)
        uc = self._ucs[frame.level]
        if frame.level not in self._step_handles:
            self._step_handles[frame.level] = uc.hook_add(
                self._unicorn.UC_HOOK_CODE, self._guard(self._on_step), None,
                self.code_base + PAGE, self.code_base + max(self._code_top, PAGE) - 1)
            uc.ctl_remove_cache(self.code_base, self.code_base + max(self._code_top, PAGE))
        self._dirty = True

    def cancel_machine_step(self) -> None:
        self._step = None
        for level, h in list(self._step_handles.items()):
            if level < len(self._ucs):
                self._ucs[level].hook_del(h)
                self._ucs[level].ctl_remove_cache(self.code_base,
                                                  self.code_base + max(self._code_top, PAGE))
        self._step_handles.clear()
        self._dirty = True

    def _on_step(self, uc, address: int) -> None:
        st = self._step
        if st is None or self.level != st[3] or self._bases[self.level][3] is not uc:
            return
        mode, cfa, start, _level = st
        if address == start and not self._left_start:
            self._left_start = True
            return
        self._serial += 1
        nf = self.function_at(address)
        if nf is None or nf.kind != "fn":
            return
        x86 = self._x86
        at_entry = address == nf.lo
        here = (uc.reg_read(x86.UC_X86_REG_RSP) + 8 if at_entry
                else uc.reg_read(x86.UC_X86_REG_RBP) + 16)
        if mode == "nexti" and here < cfa:
            return                                  # inside a deeper call
        self._step = None
        self._left_start = False
        pc = 0 if at_entry else self.pc_of_address(address)
        frames = self.frames_here(uc, address, pc, at_entry=at_entry)
        if frames:
            self._stop(uc, frames[0], lambda f: self.vm.hooks.native_step(self.vm, f),
                       address)
        if self._step is None:
            self.cancel_machine_step()
        self._restart = address
        self._skip = address
        uc.emu_stop()

    # -- `return` and `jump` in a native frame ----------------------------------------------

    def _stopped_function(self, frame) -> NativeFunction | str:
        """The function of native `frame` if native code is stopped in it now, at the
        running level (the innermost native frame), else why `return` or `jump` cannot
        change it."""
        nf = None
        if self._stopped and self._stop_uc is not None and \
                getattr(frame, "level", -1) == self.level:
            nf = self.function_at(self.stop_address)
        if nf is None or nf.kind != "fn" or nf.fi != frame.fn.index:
            return "it is not the frame native code stopped in"
        return nf

    def force_return(self, frame, value, kind: int) -> str | None:
        """gdb's `return` from the innermost native `frame`, stopped now: the caller goes
        on from its call's return address with `value` (of `kind`) returned, as if the
        function had returned it (the budget beside it, the status 0). None when done,
        else why it cannot be."""
        x86, uc = self._x86, self._stop_uc
        nf = self._stopped_function(frame)
        if isinstance(nf, str):
            return nf
        rsp = uc.reg_read(x86.UC_X86_REG_RSP)
        if self.stop_address == nf.lo:
            # Its first instruction: nothing pushed yet.
            ret_addr = _I64.from_address(rsp).value
            caller_rbp = uc.reg_read(x86.UC_X86_REG_RBP)
            new_rsp = rsp + 8
        else:
            rbp = uc.reg_read(x86.UC_X86_REG_RBP)
            if frame.cfa != rbp + 16 or not self._plain_prologue(nf, self.stop_address):
                return "its machine state cannot be unwound here"
            ret_addr = _I64.from_address(rbp + 8).value
            caller_rbp = _I64.from_address(rbp).value
            new_rsp = rbp + 16
        if not self._to_bits(0, kind, value):
            return "the value does not fit its return type"
        uc.reg_write(x86.UC_X86_REG_RAX, self.buf[0] & (1 << 64) - 1)
        uc.reg_write(x86.UC_X86_REG_RDX, self.ctx[0] & (1 << 64) - 1)   # the budget
        uc.reg_write(x86.UC_X86_REG_RSP, new_rsp)
        uc.reg_write(x86.UC_X86_REG_RBP, caller_rbp)
        self.ctx[1] = 0
        self.shadows.pop((frame.level, frame.cfa), None)
        self._resume_at = ret_addr
        return None

    def force_jump(self, frame, pc: int) -> str | None:
        """gdb's `jump`: the innermost native `frame`, stopped now, goes on at bytecode
        `pc` of its function, a statement start. The debugger's code starts a basic block
        at each one (compiler/native.py, `pc_map`), so no value is in a register there:
        every register lives in its stack slot, the frame stays as it is. None when done,
        else why it cannot be."""
        x86, uc = self._x86, self._stop_uc
        nf = self._stopped_function(frame)
        if isinstance(nf, str):
            return nf
        if frame.cfa != uc.reg_read(x86.UC_X86_REG_RBP) + 16:
            return "its frame is not set up yet"
        fn = self.functions[nf.fi]
        target = nf.starts.get(pc)
        if target is None or not any(r.pc == pc and r.is_stmt for r in fn.lines):
            return "that line has no statement start in its code"
        self.shadows.pop((frame.level, frame.cfa), None)
        self._resume_at = target
        self._jumped = True
        return None

    def _plain_prologue(self, nf: NativeFunction, address: int) -> bool:
        """Whether `nf`'s code saves no register but rbp: its one push is `push rbp` at
        its start, its pops are of rbp (the debugger's tier-1 code is like that). Popping
        its frame is then `rsp = rbp + 16; rbp = [rbp]`."""
        import capstone

        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        for at, _size, mnemonic, operands in md.disasm_lite(
                self.code_at(nf.lo, nf.hi - nf.lo), nf.lo):
            if mnemonic == "push" and (at != nf.lo or operands != "rbp"):
                return False
            if mnemonic == "pop" and operands != "rbp":
                return False
        return True

    # -- views -----------------------------------------------------------------------------

    def stub_name(self, address: int) -> str:
        """`vyn_rt_call` for a helper's stub address ("" for any other)."""
        stub = self._stubs.get(address)
        return stub[5] if stub is not None else ""

    def native_function(self, fi: int) -> NativeFunction | None:
        return self._by_fi.get(fi)

    def report(self) -> list[dict]:
        rows = super().report()
        for r in rows:
            nf = self._by_fi.get(r["index"])
            r["end"] = nf.hi if nf is not None else 0
            if nf is not None:
                r["address"] = nf.lo
        return rows

    def close(self) -> None:
        super().close()
        self._ucs.clear()
        self._gpr_readers.clear()
        self._rbp_readers.clear()
        self._site_tests.clear()
        for mem, _addr in self._stacks:
            mem.close()
        self._stacks.clear()
        self._code = None
        self._code_mem.close()
        self._scratch.close()       # ctx, tables: never touched once closed
        self.closed = True


class _OptimizedOut:
    """A variable optimized code keeps nowhere here (gdb's `<optimized out>`)."""

    optimized_out = True

    def __repr__(self) -> str:
        return "<optimized out>"


OPTIMIZED_OUT = _OptimizedOut()

# DWARF register numbers of x86-64 (the System V psABI) -> unicorn register names.
_DWARF_REGS = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
               "r11", "r12", "r13", "r14", "r15", "rip") + tuple(
                   f"xmm{i}" for i in range(16))


def _leb(data, i: int = 0, signed: bool = False) -> tuple[int, int]:
    """A LEB128 number at data[i]: (value, the index after it)."""
    result = shift = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if signed and b & 0x40:
                result -= 1 << shift
            return result, i


def _uleb(data, i: int = 0) -> tuple[int, int]:
    return _leb(data, i)


def _sleb(data) -> int:
    return _leb(data, 0, signed=True)[0]


__all__ = ["UnicornJit", "UnicornUnavailable", "REGISTER_NAMES"]
