"""The line mode's commands for native code: `disassemble` of machine code (`/r`, `/s`,
`/m`), `info registers`, `info jit`, `x/i` (docs/debugger.md, "Native code").

The engine gives the data (vyndbg/native_views.py); this mixin words it as gdb does.
"""

from __future__ import annotations

import re

from vyndbg.commands import CommandError
from vyndbg.model import DebugError, NativeInstruction, SourceLine, Tier, ValueInfo

# gdb's types of $pc and $sp: printed as such, used in expressions as their address.
CODE_POINTER, DATA_POINTER = "void (*)()", "void *"
_REGISTER = re.compile(r"\$(pc|sp|fp|rip|rsp|rbp|rax|rbx|rcx|rdx|rsi|rdi|r8|r9|r1[0-5]|"
                       r"eflags)")


class NativeCommands:
    """Mixin of vyndbg.linemode.LineMode."""

    # ------------------------------------------------------------ disassemble

    def native_disassemble(self, modifiers: str, name: str | None) -> bool:
        """`disassemble` of machine code when the function has some; False otherwise
        (the caller then shows bytecode)."""
        if not self.session.has_native_code(name):
            return False
        listing = self.session.native_disassembly(name)
        raw = "r" in modifiers
        with_source = "s" in modifiers or "m" in modifiers
        sources: dict[int, SourceLine] = {}
        located = [i.location for i in listing.instructions if i.location is not None]
        if with_source and located:
            try:
                sources = {s.number: s for s in self.session.source_lines(
                    located[0].file, min(x.line for x in located),
                    max(x.line for x in located))}
            except DebugError:
                sources = {}
        lines = [f"Dump of assembler code for function {listing.function}"
                 f" (native, tier {listing.tier}):"]
        shown = None
        for ins in listing.instructions:
            loc = ins.location
            if with_source and loc is not None and loc.line != shown:
                if shown is None:
                    lines.append(f"{loc.file}:")
                else:
                    lines.append("")
                src = sources.get(loc.line)
                lines.append(f"{loc.line}\t{src.text if src else ''}".rstrip())
                shown = loc.line
            lines.append(self._instruction_line(ins, listing.function, raw))
        lines.append("End of assembler dump.")
        self.write(*lines)
        return True

    @staticmethod
    def _instruction_line(ins: NativeInstruction, function: str, raw: bool) -> str:
        mark = "=> " if ins.current else "   "
        text = f"{mark}0x{ins.address:016x} <+{ins.offset}>:\t"
        if raw:
            text += " ".join(f"{b:02x}" for b in ins.raw) + "\t"
        return (text + f"{ins.mnemonic:<6} {ins.operands}").rstrip()

    # ------------------------------------------------------------ x/i

    def examine_instructions(self, addr: int, count: int) -> None:
        if getattr(self.session, "jit_mode", "off") == "off":
            raise CommandError("Format \"i\" reads machine instructions; the heap has none "
                               "(\"disassemble\" shows bytecode).")
        try:
            instructions = self.session.instructions_at(addr, count)
        except DebugError as e:
            raise CommandError(str(e)) from None
        for ins in instructions:
            mark = "=> " if ins.current else "   "
            symbol = self.session.symbol_at(ins.address)
            where = f" <{symbol}>" if symbol else ""
            self.write(f"{mark}0x{ins.address:x}{where}:\t{ins.mnemonic:<6} "
                       f"{ins.operands}".rstrip())
            self._x_last = ins.address
            self._x_next = ins.address + len(ins.raw)

    def register_convenience(self, name: str) -> ValueInfo | None:
        """`print $pc`, `$sp`, `$rax`... in a native frame, as gdb prints them: the pc as a
        code address with its symbol, `$sp`/`$fp` as data addresses, other registers as
        signed integers. None when the selected frame runs bytecode or `name` is no
        register."""
        if _REGISTER.fullmatch("$" + name) is None or not self.stopped:
            return None
        try:
            if self.session.selected_frame().tier is not Tier.NATIVE:
                return None
            value = self.session.register_value(name)
        except DebugError as e:
            raise CommandError(str(e)) from None
        if name in ("pc", "rip"):
            symbol = self.session.symbol_at(value)
            text = f"(void (*)()) 0x{value:x}" + (f" <{symbol}>" if symbol else "")
            return ValueInfo(CODE_POINTER, text, address=value)
        if name in ("sp", "fp", "rsp", "rbp"):
            return ValueInfo(DATA_POINTER, f"(void *) 0x{value:x}", address=value)
        signed = value - (1 << 64) if value >> 63 else value
        return ValueInfo("Int", str(signed))

    def register_address(self, text: str) -> int | None:
        """`$pc`, `$sp`, `$rax`...: a register of the selected native frame (None when
        `text` names no register)."""
        m = _REGISTER.fullmatch(text.strip())
        if m is None:
            return None
        try:
            return self.session.register_value(m.group(1))
        except DebugError as e:
            raise CommandError(str(e)) from None

    # ------------------------------------------------------------ info

    def info_registers(self, rest: str) -> None:
        try:
            regs = self.session.registers()
        except DebugError as e:
            raise CommandError(str(e)) from None
        wanted = [w.lstrip("$") for w in rest.split()]
        wanted = [{"pc": "rip", "sp": "rsp", "fp": "rbp"}.get(w, w) for w in wanted]
        names = dict(regs)
        for w in wanted:
            if w not in names:
                raise CommandError(f"Invalid register `{w}'")
        for name, value in regs:
            if wanted and name not in wanted:
                continue
            if name == "rip":
                symbol = self.session.symbol_at(value)
                natural = f"0x{value:x} <{symbol}>" if symbol else f"0x{value:x}"
            elif name in ("rsp", "rbp"):
                natural = f"0x{value:x}"
            elif name == "eflags":
                natural = _eflags_text(value)
            else:
                signed = value - (1 << 64) if value >> 63 else value
                natural = str(signed)
            self.write(f"{name:<15}0x{value:<18x}{natural}")

    def info_jit(self, rest: str) -> None:
        try:
            rows = self.session.jit_functions()
        except DebugError as e:
            raise CommandError(str(e)) from None
        self.write(f"{'Function':<28} {'Tier':<9} {'Calls':>8} {'Compile ms':>10} "
                   f"{'Bytes':>6} {'Exits':>6}  Address range")
        for r in rows:
            if r.tier:
                tier = f"native {r.tier}" + (" (image)" if r.source == "image" else "")
                self.write(f"{r.function[:28]:<28} {tier:<9} {r.calls:>8} "
                           f"{r.compile_ms:>10.2f} {r.code_bytes:>6} {r.side_exits:>6}  "
                           f"0x{r.start:x}-0x{r.end:x}")
            else:
                self.write(f"{r.function[:28]:<28} {'bytecode':<9} {'':>8} {'':>10} "
                           f"{'':>6} {'':>6}  {r.reason}")


_FLAGS = ((0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"),
          (10, "DF"), (11, "OF"))


def _eflags_text(value: int) -> str:
    return "[ " + " ".join(name for bit, name in _FLAGS if value >> bit & 1) + " ]"


__all__ = ["NativeCommands"]
