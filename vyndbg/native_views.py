"""The engine's views of native code (docs/debugger.md, "Native code").

Under `vyn debug --jit=auto|eager` compiled functions run inside unicorn
(runtime/jit_unicorn.py). Their frames reach the engine as bytecode frames rebuilt from
the native ones (`tier` "native", the machine pc in `address`), so breakpoints,
stepping by line, `finish`, `print` and `set var` work unchanged; this mixin adds what
only native code has: `info jit`, machine code listings, registers, and `stepi`/`nexti`
by machine instruction.
"""

from __future__ import annotations

from vyndbg.model import (
    Address,
    DebugError,
    JitFunction,
    Location,
    LocationError,
    MemoryAccessError,
    NativeInstruction,
    NativeListing,
    NoProcessError,
    NoSymbolError,
    StopReason,
    Tier,
    UnavailableError,
)

_REG_ALIASES = {"pc": "rip", "sp": "rsp", "fp": "rbp"}


class NativeViews:
    """Mixin of vyndbg.engine.Session."""

    jit_mode = "off"

    # ------------------------------------------------------------ the tier

    def _native_jit(self):
        """The running program's unicorn JIT, or None."""
        vm = self.vm
        jit = vm.jit if vm is not None else None
        if not getattr(jit, "reports_calls", False) or jit.closed:
            return None
        return jit

    @staticmethod
    def is_native(frame) -> bool:
        return getattr(frame, "tier", None) == "native"

    def frame_tier(self, frame) -> Tier:
        return Tier.NATIVE if self.is_native(frame) else Tier.BYTECODE

    def jit_functions(self) -> list[JitFunction]:
        """`info jit`: every function, its tier, calls, compile time and native range."""
        if self.jit_mode == "off":
            raise UnavailableError("The program runs in bytecode only (vyn debug --jit=off).")
        jit = self.vm.jit if self.vm is not None else None
        if jit is None:
            raise NoProcessError("The program is not being run.")
        out = []
        for r in jit.report():
            if r["function"].startswith("__vyn_eval__"):
                continue                      # the debugger's own expression functions
            out.append(JitFunction(r["function"], r["index"], r["tier"], r["source"],
                                   r["calls"], r["compile_ms"], r["code_bytes"],
                                   r["address"], r.get("end", r["address"] + r["code_bytes"]),
                                   r["reason"], r.get("side_exits", 0)))
        return out

    # ------------------------------------------------------------ machine code

    def _disassembler(self):
        import capstone

        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        if getattr(self, "disassembly_flavor", "att") == "att":
            md.syntax = capstone.CS_OPT_SYNTAX_ATT
        return md

    def _native_function_named(self, name: str | None):
        jit = self._native_jit()
        if jit is None:
            raise UnavailableError("No native code: the program is not running with "
                                   "--jit=auto or --jit=eager.")
        if name:
            from vyndbg import locations

            funcs = locations.find_functions(self.program, name)
            if not funcs:
                raise NoSymbolError(f'No symbol "{name}" in current context.',
                                    name=name, kind="function")
            nf = jit.native_function(funcs[0].index)
            if nf is None:
                raise UnavailableError(f"{funcs[0].name} has no native code (it runs in "
                                       "bytecode; see \"info jit\").", function=funcs[0].name)
            return jit, nf
        if self.state.state != "stopped":
            raise NoProcessError("No frame selected.")
        frame = self._frame(self.selected)
        if not self.is_native(frame):
            raise UnavailableError("The selected frame runs bytecode; it has no machine code.",
                                   function=frame.fn.name)
        return jit, jit.function_at(frame.address)

    def _current_address(self) -> int | None:
        if self.state.state != "stopped":
            return None
        try:
            frame = self._frame(self.selected)
        except DebugError:
            return None
        return frame.address if self.is_native(frame) else None

    def _instructions(self, jit, nf, start: int, end: int, limit: int | None = None
                      ) -> list[NativeInstruction]:
        md = self._disassembler()
        stmts = {a for addrs in nf.stmts.values() for a in addrs}
        bp_addresses = set()
        for bp in self._bps.values():
            if bp.enabled and bp.kind == "breakpoint":
                for fi, pc in bp.sites:
                    bp_addresses.update(jit.addresses_of_site(fi, pc))
                if bp.address is not None:
                    bp_addresses.add(bp.address)
        cur = self._current_address()
        fn = self.program.functions[nf.fi]
        out = []
        for ins in md.disasm(jit.code_at(start, end - start), start):
            line = jit.line_of_address(ins.address)
            loc = Location(fn.file, line, 0) if line else None
            out.append(NativeInstruction(ins.address, ins.address - nf.lo, bytes(ins.bytes),
                                         ins.mnemonic, ins.op_str, loc,
                                         ins.address in stmts, ins.address == cur,
                                         ins.address in bp_addresses))
            if limit is not None and len(out) >= limit:
                break
        return out

    def native_disassembly(self, name: str | None = None) -> NativeListing:
        """`disassemble` of native code: the selected frame's function, or NAME's."""
        jit, nf = self._native_function_named(name)
        fn = self.program.functions[nf.fi]
        return NativeListing(fn.name, nf.tier, nf.lo, nf.hi,
                             tuple(self._instructions(jit, nf, nf.lo, nf.hi)))

    def has_native_code(self, name: str | None = None) -> bool:
        """Whether `disassemble [NAME]` shows machine code (else bytecode)."""
        try:
            self._native_function_named(name)
        except DebugError:
            return False
        return True

    def instructions_at(self, address: int, count: int) -> list[NativeInstruction]:
        """`x/Ni ADDRESS`: machine instructions from ADDRESS."""
        jit = self._native_jit()
        nf = jit.function_at(address) if jit is not None else None
        if nf is None:
            raise MemoryAccessError(f"Cannot access memory at address 0x{address:x}",
                                    address=address)
        return self._instructions(jit, nf, address, nf.hi, limit=max(1, count))

    def symbol_at(self, address: int) -> str:
        """`fib+4` for a native code address ("" outside native code)."""
        jit = self._native_jit()
        nf = jit.function_at(address) if jit is not None else None
        if nf is None:
            return jit.stub_name(address) if jit is not None else ""
        name = self.program.functions[nf.fi].name
        if nf.kind != "fn":
            name += f" [{nf.kind}]"
        return f"{name}+{address - nf.lo}"

    # ------------------------------------------------------------ registers

    def registers(self) -> list[tuple[str, int]]:
        """`info registers`: the selected native frame's (the innermost frame has them
        all; an outer frame's are unwound: rip, rbp, rsp)."""
        if self.state.state != "stopped":
            raise NoProcessError("The program has no registers now.")
        frame = self._frame(self.selected)
        if not self.is_native(frame):
            raise UnavailableError("The selected frame runs bytecode; it has no machine "
                                   "registers.", function=frame.fn.name)
        jit = self._native_jit()
        regs = jit.stop_registers if jit is not None else None
        if regs is not None and frame.address == jit.stop_address and \
                frame.cfa == self._innermost_cfa(frame):
            return list(regs.items())
        return [("rip", frame.address), ("rbp", frame.cfa - 16), ("rsp", frame.cfa)]

    def _innermost_cfa(self, frame) -> int:
        f = self._frame(0)
        while f is not None and not self.is_native(f):
            f = f.parent
        return f.cfa if f is not None else -1

    def register_value(self, name: str) -> int:
        """`$pc`, `$sp`, `$fp`, `$rip`, `$rax`...: a register of the selected frame."""
        name = _REG_ALIASES.get(name, name)
        for reg, value in self.registers():
            if reg == name:
                return value
        raise NoSymbolError(f"The register ${name} is not available in this frame.",
                            name=name, kind="register")

    # ------------------------------------------------------------ stepping by instruction

    def _machine_step(self, mode: str, frame):
        """`stepi`/`nexti` in a native frame: one machine instruction (nexti: over
        calls); back in bytecode if the frame returns to the interpreter."""
        from vyndbg.engine import StepCondition

        cond = StepCondition("machine", frame, frame.depth, self._line_of(frame),
                             frame.fn.index, frame.pc)
        cond.fiber = self._selected_fiber()
        cond.sites = set()
        self._arm_return(cond, frame)
        self._native_jit().machine_step(mode, frame)
        return self._resume(cond)

    def _on_native_step(self, frame) -> None:
        c = self._step
        if c.mode != "machine":
            return
        from vyndbg.engine import StepCondition

        self._step = StepCondition()
        self._sync()
        self._block(self._stop_event(StopReason.STEP, frame, new_frame=(
            frame.fn.index != c.fn or frame.depth != c.depth)))

    # ------------------------------------------------------------ breakpoints by address

    def address_spec(self, text: str) -> int:
        """The address of `break *ADDRESS`: a number (`0x40001a2c`, decimal too) or a
        register of the selected native frame (`$pc`, `$rip`)."""
        if self.jit_mode == "off":
            raise LocationError("The program runs in bytecode only (vyn debug --jit=off): "
                                "`break *ADDRESS` needs native code.", location="*" + text)
        text = text.strip()
        if text.startswith("$"):
            return self.register_value(text[1:])
        try:
            address = int(text, 0)
        except ValueError:
            raise LocationError(f"`break *ADDRESS` takes a machine address (0x40001a2c) or a "
                                f"register ($pc), not `{text}`.", location="*" + text) from None
        if address <= 0:
            raise LocationError(f"{text} is not an address of native code.",
                                location="*" + text)
        self._check_instruction_start(address, text)
        return address

    def _check_instruction_start(self, address: int, text: str) -> None:
        """Refuse an address inside a loaded function that no instruction starts at: its
        code hook would never run (gdb would write its int3 into the middle of an
        instruction)."""
        jit = self._native_jit()
        nf = jit.function_at(address) if jit is not None else None
        if nf is None:
            return
        start = nf.lo
        for at, size, _m, _o in self._disassembler().disasm_lite(
                jit.code_at(nf.lo, nf.hi - nf.lo), nf.lo):
            if at + size > address:
                start = at
                break
        if start != address:
            name = self.program.functions[nf.fi].name
            raise LocationError(f"{address:#x} is inside the instruction at {start:#x} in "
                                f"{name}; a breakpoint goes at an instruction's first byte "
                                f"(see \"disassemble {name}\").", location="*" + text)

    def native_location(self, address: int) -> tuple[Location | None, str]:
        """The source line and function of a native code address, once its code is
        loaded; (None, "") before (the breakpoint waits for code there, as gdb keeps a
        breakpoint at an address nothing is mapped at yet)."""
        jit = self._native_jit()
        nf = jit.function_at(address) if jit is not None else None
        if nf is None:
            return None, ""
        fn = self.program.functions[nf.fi]
        line = jit.line_of_address(address)
        return (Location(fn.file, line, 0) if line else None), fn.name

    def _on_native_break(self, frame, numbers) -> None:
        """Native code reached the machine instruction of `break *ADDRESS` breakpoints."""
        if self._evaluating:
            return
        cur = self.vm.sched.current
        stop_bp = None
        for n in sorted(numbers):
            bp = self._bps.get(n)
            if bp is None or not bp.enabled or bp.address is None:
                continue
            if bp.thread is not None and (cur is None or cur.id != bp.thread):
                continue
            if bp.location is None:          # set before its code was loaded
                bp.location, bp.function = self.native_location(bp.address)
            if self._counts(bp, frame) and stop_bp is None:
                stop_bp = bp
        if stop_bp is not None:
            self._stop_at_breakpoint(stop_bp, frame)

    def _sync_native(self, calls: bool) -> None:
        """The native code's hooks, as `_sync` set the VM's patches: the same sites, but
        a native frame's watched local is a memory-write hook on its stack slot (its
        statement sites are checked in bytecode only); call events while `calls`."""
        jit = self._native_jit()
        if jit is None:
            return
        watches = {bp.number: (bp.scope_frame, bp.slot) for bp in self._bps.values()
                   if bp.enabled and bp.slot is not None and self.is_native(bp.scope_frame)}
        sites = set(self._step.sites)
        for bp in self._bps.values():
            if bp.enabled and bp.number not in watches:
                sites.update(bp.sites)
        jit.site_test = self._native_site_test
        jit.forget_site_tests()
        jit.set_sites(sites)
        jit.set_address_breaks({bp.number: bp.address for bp in self._bps.values()
                                if bp.enabled and bp.address is not None})
        jit.set_reporting(calls)
        jit.set_watches(watches)
        if self._step.mode != "machine" and jit._step is not None:
            jit.cancel_machine_step()

    def _watched_slot(self, expr: str, frame) -> int | None:
        """The register of a native frame's local `expr` (a bare name) when its value
        lives in a stack slot a memory-write hook can watch; None otherwise."""
        if not self.is_native(frame) or not expr.strip().isidentifier():
            return None
        for v in self._live_vars(frame, self._level_of(frame)):
            if v.name == expr.strip() and not v.cell and v.reg in frame.slots:
                return v.reg
        return None

    def _on_native_watch(self, frame, number: int) -> None:
        """A memory-write hook saw the watched slot written; the instruction is done."""
        bp = self._bps.get(number)
        if bp is None or not bp.enabled or self._evaluating:
            return
        ev = self._check_watch(bp, bp.scope_frame if bp.scope_frame is not None else frame)
        if ev is not None:
            if ev.frame is not None and bp.scope_frame is not frame:
                ev = self._stop_event(StopReason.WATCHPOINT, frame, breakpoint=ev.breakpoint,
                                      old_value=ev.old_value, new_value=ev.new_value)
            self._block(ev)

    def native_mid_line(self, frame) -> Address | None:
        """A native frame #0's machine pc when it is not a statement's first instruction."""
        jit = self._native_jit()
        if jit is None or not frame.address:
            return None
        nf = jit.function_at(frame.address)
        if nf is not None and any(frame.address in a for a in nf.stmts.values()):
            return None
        return Address(frame.address)


__all__ = ["NativeViews"]
