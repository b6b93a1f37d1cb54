"""The line mode's heap commands: `x`, `info heap`, `info regions`, `info object`,
`info path`, `gc`, and the addresses `print` gives (`print &x`, `print/a`, `print *ADDR`).
A mixin of `LineMode` (vyndbg/linemode.py), which provides `session`, `render`, `write`,
the value history and `evaluate`.

`x` is gdb's: `x/NFU ADDR` with N a count, F a format (x d u o t a c f s z) and U a unit
size (b h w g), in any order; the format and size are remembered, and `x` alone goes on
after the last address examined. Addresses are the heap's real addresses.
"""

from __future__ import annotations

import re
import struct

from runtime.values import format_float
from vyndbg.commands import CommandError
from vyndbg.heapview import c_string
from vyndbg.model import DebugError, ValueInfo

_SIZES = {"b": 1, "h": 2, "w": 4, "g": 8}
_X_FORMATS = "xduotacfsiz"
_PER_LINE = {1: 8, 2: 8, 4: 4, 8: 2}        # gdb's elements per line for each unit size
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|\d+")
_HISTORY_REF = re.compile(r"\$(\$?)(\d*)")
_DEREF = re.compile(r"\*\s*(?:\(\s*([^()]*?)\s*\*\s*\)\s*)?(.+)", re.S)


def parse_x_format(text: str, fmt: str, size: str) -> tuple[int, str, str, bool]:
    """`/NFU` (without the slash): (count, format, size, size given)."""
    m = re.fullmatch(r"(-?\d*)([a-zA-Z]*)", text)
    if not m:
        raise CommandError(f"Invalid number \"{text}\".")
    count = int(m.group(1)) if m.group(1) not in ("", "-") else 1
    given = False
    for letter in m.group(2):
        if letter in _SIZES:
            size, given = letter, True
        elif letter in _X_FORMATS:
            fmt = letter
        else:
            raise CommandError(f'Undefined output format "{letter}".')
    return count, fmt, size, given


def format_unit(data: bytes, fmt: str) -> str:
    """One unit of memory (little-endian) as `x/F` prints it."""
    size = len(data)
    u = int.from_bytes(data, "little")
    s = int.from_bytes(data, "little", signed=True)
    if fmt in ("x", "z"):
        return f"0x{u:0{2 * size}x}"
    if fmt == "d":
        return str(s)
    if fmt == "u":
        return str(u)
    if fmt == "o":
        return f"0{u:o}" if u else "0"
    if fmt == "t":
        return f"{u:0{8 * size}b}"
    if fmt == "a":
        return f"0x{u:x}"
    if fmt == "c":
        return f"{s} {char_literal(u & 0xFF)}"
    if fmt == "f":
        if size == 8:
            return format_float(struct.unpack("<d", data)[0])
        if size == 4:
            return format_float(struct.unpack("<f", data)[0])
        return str(s)
    return f"0x{u:x}"


def char_literal(b: int) -> str:
    """A byte as gdb prints a char: `'h'`, `'\\n'`, `'\\000'`."""
    if b == 0x27:
        return "'\\''"
    if b == 0x22:
        return "'\"'"
    return "'" + c_string(bytes([b]))[1:-1] + "'"


class HeapCommands:
    """`x`, `gc`, `info heap`, `info regions`, `info object`, `info path`."""

    def _init_heap_commands(self) -> None:
        self._x_format = "x"          # gdb's defaults: hex words
        self._x_size = "w"
        self._x_next: int | None = None
        self._x_last: int | None = None    # `$_`: the last address examined

    # ------------------------------------------------------------------ addresses

    def address(self, text: str, what: str = "starting display address") -> int:
        """An address argument: a number, `$`, `$N`, `$$N` (a value printed before: a
        heap value's or a pointer's address, or an Int), `$_` (the last address `x`
        examined), or an expression (its heap address, or its Int value)."""
        text = text.strip()
        if not text:
            raise CommandError(f"Argument required ({what}).")
        if _NUMBER.fullmatch(text):
            return int(text, 0)
        if text == "$_":
            if self._x_last is None:
                raise CommandError("Convenience variable $_ is void.")
            return self._x_last
        m = _HISTORY_REF.fullmatch(text)
        value = self.history_value(m.group(1), m.group(2))[1] if m else self.evaluate(text)
        return self._value_address(value)

    @staticmethod
    def _value_address(value: ValueInfo) -> int:
        if value.address:
            return value.address
        if value.type_name in ("Int", "UInt", "Int64", "UInt64"):
            try:
                return int(value.text, 0) & 0xFFFF_FFFF_FFFF_FFFF
            except ValueError:
                pass
        raise CommandError("Value can't be converted to integer.")

    def convenience_address(self, name: str) -> ValueInfo | None:
        """`$_` for the line mode's convenience variables (None if not ours)."""
        if name == "_" and self._x_last is not None:
            return ValueInfo("Int", f"0x{self._x_last:x}", address=self._x_last)
        return None

    # ------------------------------------------------------------------ print extensions

    def print_dereference(self, rest: str) -> ValueInfo | None:
        """`print *ADDR` / `print *(TYPE *) ADDR`: the object at ADDR as `print` shows it
        (None when `rest` is not such an expression)."""
        m = _DEREF.fullmatch(rest.strip())
        if not m:
            return None
        wanted, target = m.group(1), m.group(2)
        addr = self.address(target, "an address")
        view = self.session.object_at(addr)
        if wanted and wanted != view.type_name and not view.type_name.startswith(wanted + "::"):
            raise CommandError(f"The object at 0x{addr:x} is a {view.type_name}, not a "
                               f"{wanted}.")
        if view.state != "live":
            raise CommandError(f"Cannot access memory at address 0x{addr:x}: the object was "
                               f"{view.state}.")
        if view.value is None:
            raise CommandError(f"The {view.type_name} at 0x{addr:x} has no value of its "
                               "own; try \"info object\".")
        return view.value

    # ------------------------------------------------------------------ x

    def do_x(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("The program is not being run.")
        count, fmt, size, given = 1, self._x_format, self._x_size, False
        rest = rest.strip()
        if rest.startswith("/"):
            spec, _, rest = rest[1:].partition(" ")
            count, fmt, size, given = parse_x_format(spec, fmt, size)
        if rest.strip():
            reg = self.register_address(rest)
            addr = reg if reg is not None else self.address(rest)
        elif self._x_next is not None:
            addr = self._x_next
        else:
            raise CommandError("Argument required (starting display address).")
        if fmt == "i":
            self._x_format = fmt
            self.examine_instructions(addr, count)
            return
        if fmt == "a":
            size = "g"
        elif fmt == "c" and not given:
            size = "b"
        elif fmt == "f" and size in ("b", "h"):
            size = "g"
        self._x_format = fmt
        if fmt != "s":
            self._x_size = size
        if count < 0:
            raise CommandError("Examining memory backwards is not supported.")
        if fmt == "s":
            self._examine_strings(addr, count)
        else:
            self._examine_units(addr, count, _SIZES[size], fmt)

    def _examine_strings(self, addr: int, count: int) -> None:
        for _ in range(count):
            text, after = self.session.string_at(addr)
            self.write(f"0x{addr:x}:\t{text}")
            self._x_last = addr
            addr = self._x_next = after

    def _examine_units(self, addr: int, count: int, size: int, fmt: str) -> None:
        per_line = 8 if fmt == "c" else _PER_LINE[size]
        done = 0
        while done < count:
            n = min(per_line, count - done)
            line = f"0x{addr:x}:"
            for i in range(n):
                unit_addr = addr + i * size
                try:
                    data = self.session.read_memory(unit_addr, size)
                except DebugError:
                    if i:
                        self.write(line)
                    raise
                line += "\t" + format_unit(data, fmt)
                self._x_last = unit_addr
                self._x_next = unit_addr + size
            self.write(line)
            addr += n * size
            done += n

    # ------------------------------------------------------------------ info

    def info_heap(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("The program is not being run.")
        top = 20
        if rest.strip():
            if not rest.strip().isdigit():
                raise CommandError(f"Invalid number \"{rest.strip()}\".")
            top = int(rest.strip())
        self.write(*self.render.heap_info(self.session.heap_info(top)))

    def info_regions(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("The program is not being run.")
        regions = self.session.regions()
        if rest.strip():
            word = rest.strip()
            if not word.isdigit():
                raise CommandError(f"Invalid thread ID: {word}")
            regions = [r for r in regions if r.fiber == int(word)]
        if not regions:
            self.write("No active scoped regions.")
            return
        self.write(*self.render.regions(regions))

    def info_object(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("The program is not being run.")
        addr = self.address(rest, "address of an object")
        self.write(*self.render.object_view(self.session.object_at(addr)))

    def info_path(self, rest: str) -> None:
        if not self.stopped:
            raise CommandError("The program is not being run.")
        addr = self.address(rest, "address of an object")
        steps = self.session.path_to(addr)
        if steps is None:
            view = self.session.object_at(addr)
            self.write(self.render.unreachable(view))
            return
        self.write(*self.render.path(steps))

    # ------------------------------------------------------------------ gc

    def do_gc(self, rest: str) -> None:
        if rest.strip():
            raise CommandError("The \"gc\" command takes no arguments.")
        if not self.stopped:
            raise CommandError("The program is not being run.")
        self.write(self.render.gc_result(self.session.collect()))
