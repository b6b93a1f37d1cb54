"""gdb's words and layouts for the engine's records (vyndbg/model.py).

Every function here is pure: it takes records and returns text, one string per output
line (no trailing newline), so the line mode, its tests and the documentation agree on
one spelling. Where gdb prints a machine address, bytecode has a program counter, which
is printed as `pc N` (`Breakpoint 1 at pc 0: file fib.vyn, line 2.`).
"""

from __future__ import annotations

from collections.abc import Sequence

from vyndbg.model import (
    Address,
    Breakpoint,
    ChannelInfo,
    FiberInfo,
    FrameDetail,
    FrameInfo,
    FunctionInfo,
    GcResult,
    HeapInfo,
    Instruction,
    Location,
    MessageInfo,
    ObjectView,
    PathStep,
    RegionView,
    SourceLine,
    Tier,
    ValueInfo,
    Variable,
)

# `info breakpoints` column widths, as gdb's table: "Num     Type           Disp Enb ..."
_NUM_W, _TYPE_W, _DISP_W, _ENB_W, _ADDR_W = 7, 14, 4, 3, 18
_TYPE_NAMES = {"breakpoint": "breakpoint", "watchpoint": "watchpoint", "dprintf": "dprintf"}
_SET_WORDS = {"breakpoint": "Breakpoint", "dprintf": "Dprintf", "watchpoint": "Watchpoint"}
# Watchpoints as their stops name them (software ones: gdb's `Hardware ` dropped).
_WATCH_WORDS = {"watchpoint": "Watchpoint", "read watchpoint": "Read watchpoint",
                "acc watchpoint": "Access (read/write) watchpoint"}


def pc_text(pc: int) -> str:
    """A pc as gdb prints it before a frame or line: a machine address in hex (native
    code), `pc N` for a bytecode pc."""
    return f"0x{pc:016x}" if isinstance(pc, Address) else f"pc {pc}"


class Renderer:
    """Formats records exactly as gdb prints the corresponding things."""

    show_tiers = False      # bt names each frame's tier (the program runs with a JIT)

    # ------------------------------------------------------------------ frames and lines

    @staticmethod
    def args_text(args: Sequence[Variable]) -> str:
        return ", ".join(f"{a.name}={a.value.text}" for a in args)

    def frame_line(self, frame: FrameInfo, pc: int | None = None) -> str:
        """`fib (n=20) at fib.vyn:2`, the location line of a stop or `frame` command;
        with `pc` (frame #0 in the middle of a line), `pc 7 in fib (n=20) at ...`, as gdb
        prints the address there."""
        text = f"{frame.function} ({self.args_text(frame.args)})"
        if pc is not None:
            text = f"{pc_text(pc)} in {text}"
        if frame.location is not None:
            text += f" at {frame.location.file}:{frame.location.line}"
        return text

    def backtrace_line(self, frame: FrameInfo, pc: int | None = None) -> str:
        """`#0  fib (n=20) at fib.vyn:2` (`#0  pc 7 in fib ...` with `pc`). With a JIT
        (`show_tiers`), each frame ends with its tier, and a native caller shows its
        return address as gdb does."""
        if not self.show_tiers:
            return f"#{frame.level:<2} {self.frame_line(frame, pc)}"
        if frame.tier is Tier.NATIVE and frame.level > 0 and frame.address:
            pc = Address(frame.address)
        return f"#{frame.level:<2} {self.frame_line(frame, pc)} [{frame.tier.value}]"

    @staticmethod
    def source_line(line: SourceLine, pc: int | None = None) -> str:
        """`2\t  if n < 2 { return n }`; with `pc` (stepi in the middle of a line),
        `pc 5\t2\t...` as gdb prefixes the address."""
        prefix = f"{pc_text(pc)}\t" if pc is not None else ""
        return f"{prefix}{line.number}\t{line.text}"

    @staticmethod
    def no_source_line(location: Location) -> str:
        return f"{location.line}\tin {location.file}"

    # ------------------------------------------------------------------ stops

    # A stop names its thread when the program has more than one, as gdb does:
    # `Thread 3 "actor Counter#3" hit Breakpoint 1, ...`; `thread` is that prefix or None.

    def breakpoint_hit(self, bp: Breakpoint, frame: FrameInfo, thread: str | None = None,
                       pc: int | None = None) -> list[str]:
        """`Breakpoint 1, fib (n=3) at fib.vyn:2`; with `pc` (a breakpoint by address in
        the middle of a line), `Breakpoint 2, 0x0000000040001a2c in fib (n=3) at ...`."""
        word = "Temporary breakpoint" if bp.temporary else "Breakpoint"
        if thread:
            return ["", f"{thread} hit {word} {bp.number}, {self.frame_line(frame, pc)}"]
        return ["", f"{word} {bp.number}, {self.frame_line(frame, pc)}"]

    @staticmethod
    def watchpoint_hit(bp: Breakpoint, old: ValueInfo | None, new: ValueInfo | None,
                       thread: str | None = None) -> list[str]:
        """A watchpoint's stop: `Old value`/`New value` for a change, `Value` for a read
        (or an access that left the value as it was)."""
        head = f"{_WATCH_WORDS.get(bp.kind, 'Watchpoint')} {bp.number}: {bp.expression}"
        lines = ["", f"{thread} hit {head}" if thread else head, ""]
        new_text = new.text if new is not None else "<unreadable>"
        if bp.kind != "watchpoint" and old is None:
            lines.append(f"Value = {new_text}")
            return lines
        if old is not None:
            lines.append(f"Old value = {old.text}")
        lines.append(f"New value = {new_text}")
        return lines

    @staticmethod
    def panic(message: str, thread: str | None = None) -> list[str]:
        return ["", f"{thread or 'Program'} received panic: {message}."]

    @staticmethod
    def interrupted(thread: str | None = None) -> list[str]:
        return ["", f"{thread or 'Program'} received signal SIGINT, Interrupt."]

    @staticmethod
    def thread_prefix(fiber: FiberInfo) -> str:
        """`Thread 3 "actor Counter#3"`, as gdb's `Thread 2 "prog"` before `hit`."""
        return f'Thread {fiber.id} "{fiber.name}"'

    @staticmethod
    def switching(fiber: FiberInfo) -> str:
        """A stop in another fiber than the one selected (gdb: `[Switching to Thread
        0x7ffff7d89640 (LWP 12)]`)."""
        return f"[Switching to {fiber.name}]"

    @staticmethod
    def exited(pid: int, code: int | None) -> str:
        if not code:
            return f"[Inferior 1 (process {pid}) exited normally]"
        return f"[Inferior 1 (process {pid}) exited with code {code}]"

    @staticmethod
    def killed(pid: int) -> str:
        return f"[Inferior 1 (process {pid}) killed]"

    def run_till_exit(self, frame: FrameInfo, pc: int | None = None) -> str:
        return f"Run till exit from {self.backtrace_line(frame, pc)}"

    # ------------------------------------------------------------------ values

    @staticmethod
    def value(number: int, value: ValueInfo) -> str:
        return f"${number} = {value.text}"

    @staticmethod
    def variable(var: Variable) -> str:
        return f"{var.name} = {var.value.text}"

    @staticmethod
    def display(number: int, expr: str, value: ValueInfo, text: str | None = None) -> str:
        return f"{number}: {expr} = {value.text if text is None else text}"

    @staticmethod
    def type_text(text: str) -> str:
        return f"type = {text}"

    # ------------------------------------------------------------------ breakpoints

    @staticmethod
    def breakpoint_set(bp: Breakpoint) -> str:
        """`Breakpoint 1 at pc 0: file fib.vyn, line 2.` (`Temporary breakpoint`,
        `Dprintf`, `Watchpoint 2: total`)."""
        if bp.kind in _WATCH_WORDS:
            return f"{_WATCH_WORDS[bp.kind]} {bp.number}: {bp.expression}"
        word = "Temporary breakpoint" if bp.temporary else _SET_WORDS.get(bp.kind, "Breakpoint")
        if bp.address is not None:
            loc = bp.location
            where = f": file {loc.file}, line {loc.line}." if loc is not None else ""
            return f"{word} {bp.number} at 0x{bp.address:x}{where}"
        pc = bp.pcs[0][1] if bp.pcs else 0
        if len(bp.pcs) > 1:
            return f"{word} {bp.number} at pc {pc}: {bp.function}. ({len(bp.pcs)} locations)"
        loc = bp.location
        if loc is None:
            return f"{word} {bp.number} at pc {pc}"
        return f"{word} {bp.number} at pc {pc}: file {loc.file}, line {loc.line}."

    def breakpoint_table(self, bps: Sequence[Breakpoint], function_names: dict[int, str],
                         dprintf_text: dict[int, str]) -> list[str]:
        """`info breakpoints`: gdb's table, a row per breakpoint and its detail lines.

        Args:
            function_names: function index -> name, to name each location's function.
            dprintf_text: breakpoint number -> the `"fmt",args` the user typed.
        """
        # gdb widens the Type column for `read watchpoint`.
        tw = max([_TYPE_W, *(len(_TYPE_NAMES.get(b.kind, b.kind)) for b in bps)])
        lines = [self._row("Num", "Type", "Disp", "Enb", "Address", "What", tw)]
        for bp in bps:
            disp = "del" if bp.temporary else "keep"
            enb = "y" if bp.enabled else "n"
            kind = _TYPE_NAMES.get(bp.kind, bp.kind)
            if bp.kind in _WATCH_WORDS:
                lines.append(self._row(str(bp.number), kind, disp, enb, "", bp.expression, tw))
            elif bp.address is not None:
                what = self._where(bp.function, bp.location) if bp.function else ""
                if bp.thread is not None:
                    what += f" thread {bp.thread}"
                lines.append(self._row(str(bp.number), kind, disp, enb,
                                       f"0x{bp.address:016x}", what.strip(), tw))
            elif len(bp.pcs) > 1:
                lines.append(self._row(str(bp.number), kind, disp, enb, "<MULTIPLE>", "", tw))
            else:
                pc = bp.pcs[0][1] if bp.pcs else 0
                what = self._where(bp.function, bp.location)
                if bp.thread is not None:
                    what += f" thread {bp.thread}"
                lines.append(self._row(str(bp.number), kind, disp, enb, f"pc {pc}", what, tw))
            if bp.condition:
                lines.append(f"\tstop only if {bp.condition}")
            if bp.thread is not None:
                lines.append(f"\tstop only in thread {bp.thread}")
            if bp.hits:
                times = "1 time" if bp.hits == 1 else f"{bp.hits} times"
                lines.append(f"\tbreakpoint already hit {times}")
            if bp.ignore:
                lines.append(f"\tWill ignore next {bp.ignore} crossings of breakpoint.")
            if bp.kind == "dprintf":
                lines.append(f"        printf {dprintf_text.get(bp.number, bp.expression)}")
            if len(bp.pcs) > 1 and bp.kind not in _WATCH_WORDS:
                for i, (fi, pc) in enumerate(bp.pcs, 1):
                    name = function_names.get(fi, "?")
                    lines.append(self._row(f"{bp.number}.{i}", "", "", enb, f"pc {pc}",
                                           self._where(name, bp.location), tw))
        return lines

    @staticmethod
    def _where(function: str, loc: Location | None) -> str:
        if loc is None:
            return f"in {function}"
        return f"in {function} at {loc.file}:{loc.line}"

    @staticmethod
    def _row(num: str, kind: str, disp: str, enb: str, addr: str, what: str,
             type_width: int = _TYPE_W) -> str:
        row = (f"{num:<{_NUM_W}} {kind:<{type_width}} {disp:<{_DISP_W}} {enb:<{_ENB_W}} "
               f"{addr:<{_ADDR_W}} {what}")
        return row.rstrip()

    # ------------------------------------------------------------------ program listings

    def frame_detail(self, d: FrameDetail) -> list[str]:
        """`info frame`, with gdb's layout; registers and addresses become bytecode
        registers and program counters."""
        f = d.frame
        where = f"{f.location.file}:{f.location.line}" if f.location else d.source_file
        saved = f"saved pc = {d.caller.pc}" if d.caller is not None else "outermost"
        head = f"Stack frame in {f.function}:" if d.explicit else \
            f"Stack level {f.level}, frame in {f.function}:"
        lines = [head,
                 f" pc = {f.pc} in {f.function} ({where}); {saved}"]
        if f.tier is Tier.NATIVE and f.address:
            # Native code (vyn debug --jit): the machine pc too, and the caller's.
            c = d.caller
            saved_rip = (f"saved rip = 0x{c.address:x}" if c is not None and
                         c.tier is Tier.NATIVE and c.address else
                         "called from bytecode" if c is not None else "outermost")
            lines.append(f" rip = 0x{f.address:x} in {f.function} ({where}); {saved_rip}")
        if d.caller is not None:
            lines.append(f" called by frame at level {d.caller.level}")
        if d.callee_level is not None:
            lines.append(f" caller of frame at level {d.callee_level}")
        lines.append(" source language vyn.")
        lines.append(f" Arglist: {self.args_text(f.args) or 'none'}")
        lines.append(f" Locals: {d.locals_count}, registers: {d.nregs}")
        return lines

    @staticmethod
    def disassembly(function: str, instructions: Sequence[Instruction],
                    sources: dict[int, SourceLine]) -> list[str]:
        """`disassemble`: gdb's `/s` layout, source lines before their instructions and
        `=>` at the current one. `sources` maps a line number to its text."""
        lines = [f"Dump of assembler code for function {function}:"]
        shown_file = None
        shown_line = None
        for ins in instructions:
            loc = ins.location
            if loc is not None and loc.line != shown_line:
                if shown_file != loc.file:
                    lines.append(f"{loc.file}:")
                    shown_file = loc.file
                elif shown_line is not None:
                    lines.append("")
                src = sources.get(loc.line)
                lines.append(f"{loc.line}\t{src.text if src else ''}".rstrip())
                shown_line = loc.line
            mark = "=> " if ins.current else "   "
            lines.append(f"{mark}<+{ins.pc}>:\t{ins.opname:<11} {ins.operands}".rstrip())
        lines.append("End of assembler dump.")
        return lines

    @staticmethod
    def functions(infos: Sequence[FunctionInfo], regex: str | None,
                  declarations: dict[tuple[str, int], str]) -> list[str]:
        """`info functions`: grouped by file, `LINE:\\tfn NAME(PARAMS);`."""
        if regex:
            lines = [f'All functions matching regular expression "{regex}":']
        else:
            lines = ["All defined functions:"]
        current = None
        for f in sorted(infos, key=lambda f: (f.file, f.name)):
            if f.file != current:
                lines += ["", f"File {f.file}:"]
                current = f.file
            text = f.declaration or declarations.get((f.file, f.line), "fn " + f.name)
            lines.append(f"{f.line}:\t{text};" if f.line else f"\t{text};")
        return lines

    @staticmethod
    def line_info(loc: Location, ranges: Sequence[tuple[str, int, int]]) -> list[str]:
        """`info line`: `Line 2 of "fib.vyn" starts at pc 0 <fib+0> and ends at pc 3
        <fib+3>.`"""
        if not ranges:
            return [f'Line {loc.line} of "{loc.file}" is at pc 0 but contains no code.']
        sym = Renderer.symbol
        return [f'Line {loc.line} of "{loc.file}" is at pc {start} {sym(fn, start)} but '
                'contains no code.' if start == end else
                f'Line {loc.line} of "{loc.file}" starts at pc {start} {sym(fn, start)} and '
                f'ends at pc {end} {sym(fn, end)}.' for fn, start, end in ranges]

    @staticmethod
    def symbol(function: str, pc: int) -> str:
        """gdb's `<fib>`, `<fib+12>` after an address."""
        return f"<{function}+{pc}>" if pc else f"<{function}>"

    # ------------------------------------------------------------------ fibers (threads)

    @staticmethod
    def target_id(fiber: FiberInfo) -> str:
        """The Target Id column of `info threads`: the fiber's name, its state (and what
        it waits on), an actor's mailbox depth (`/capacity` when bounded), a pool
        worker's pool: `actor Relay#2 (blocked sending to channel #1, mailbox 1/1)`."""
        parts = [f"blocked {fiber.waiting}" if fiber.state == "blocked" and fiber.waiting
                 else fiber.state]
        if fiber.mailbox is not None:
            cap = f"/{fiber.capacity}" if fiber.capacity is not None else ""
            parts.append(f"mailbox {fiber.mailbox}{cap}")
        if fiber.kind == "thread" and fiber.template:
            parts.append(fiber.template)
        return f"{fiber.name} ({', '.join(parts)})"

    def fiber_frame(self, fiber: FiberInfo) -> str:
        """The Frame column: the innermost frame as `frame` prints it, or `(no stack)`."""
        return self.frame_line(fiber.frame) if fiber.frame is not None else "(no stack)"

    def threads_table(self, fibers: Sequence[FiberInfo]) -> list[str]:
        """`info threads`: gdb's table, `*` on the selected thread."""
        targets = [self.target_id(f) for f in fibers]
        tw = max([len("Target Id"), *map(len, targets)])
        iw = max([4, *(len(str(f.id)) for f in fibers)])
        lines = [f"  {'Id':<{iw}} {'Target Id':<{tw}} Frame "]
        for f, target in zip(fibers, targets, strict=True):
            mark = "*" if f.selected else " "
            lines.append(f"{mark} {f.id:<{iw}} {target:<{tw}} {self.fiber_frame(f)}")
        return lines

    @staticmethod
    def more_threads(shown: int, start: int, total: int) -> str:
        return (f"(More threads follow: {shown} of {total} shown; "
                f"\"-start {start + shown}\" shows the next.)")

    @staticmethod
    def thread_groups(field: str, groups: Sequence[tuple[str, int]], total: int
                      ) -> list[str]:
        """`info threads -group FIELD`, as delve's `goroutines -group`: a line per group,
        most numerous first."""
        lines = []
        for i, (key, count) in enumerate(groups, 1):
            noun = "thread" if count == 1 else "threads"
            lines.append(f"Thread group {i}: {field} {key} [{count} {noun}]")
        lines.append(f"Total threads: {total}")
        return lines

    @staticmethod
    def current_thread(fiber: FiberInfo) -> str:
        return f"[Current thread is {fiber.id} ({fiber.name})]"

    @staticmethod
    def switched_thread(fiber: FiberInfo) -> str:
        """`thread N` (gdb: `[Switching to thread 2 (Thread 0x7ffff7d89640 (LWP 12))]`)."""
        return f"[Switching to thread {fiber.id} ({fiber.name})]"

    @staticmethod
    def apply_header(fiber: FiberInfo) -> list[str]:
        """Before each thread's output in `thread apply`."""
        return ["", f"Thread {fiber.id} ({fiber.name}):"]

    @staticmethod
    def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
        """Left-aligned columns two spaces apart, the last one unpadded."""
        widths = [max([len(header[i]), *(len(r[i]) for r in rows)])
                  for i in range(len(header) - 1)]

        def line(cells: Sequence[str]) -> str:
            head = "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=False))
            return f"{head}  {cells[-1]}".rstrip()
        return [line(header), *(line(r) for r in rows)]

    def mailbox(self, fiber: FiberInfo, queued: Sequence[MessageInfo],
                handling: MessageInfo | None) -> list[str]:
        """`info mailbox N`: the actor, the message it is handling, its queue."""
        cap = f"capacity {fiber.capacity}" if fiber.capacity is not None else "unbounded"
        noun = "message" if len(queued) == 1 else "messages"
        lines = [f"Mailbox of thread {fiber.id} ({fiber.name}): {len(queued)} {noun} "
                 f"queued ({cap}), {fiber.handled} handled."]
        if handling is not None:
            lines.append(f"Handling message {handling.id} from {handling.sender_name}: "
                         f"{handling.value}")
        if queued:
            lines += self._table(("Id", "From", "Sent", "Value"),
                                 [(str(m.id), m.sender_name, str(m.sent_step), m.value)
                                  for m in queued])
        return lines

    def messages(self, messages: Sequence[MessageInfo]) -> list[str]:
        """`info messages`: one row per send, oldest first; Sent and Received are steps of
        the scheduler's clock (slices run)."""
        rows = []
        for m in messages:
            got = "queued" if m.received_step is None else \
                f"{m.received_step} by {m.received_by}"
            rows.append((str(m.id), str(m.sent_step), m.sender_name, m.receiver_name, got,
                         m.value))
        return self._table(("Id", "Sent", "From", "To", "Received", "Value"), rows)

    def channels(self, channels: Sequence[ChannelInfo], names: dict[int, str]) -> list[str]:
        """`info channels`: a row per channel, then what is queued in it and who waits
        on it. `names` maps fiber ids to names."""
        rows = [(str(c.id), c.type_name,
                 "unbounded" if c.capacity is None else str(c.capacity),
                 "closed" if c.closed else "open", str(len(c.queued)), str(c.sent),
                 str(c.received)) for c in channels]
        table = self._table(("Id", "Type", "Capacity", "State", "Queued", "Sent",
                             "Received"), rows)
        lines = [table[0]]
        for c, row in zip(channels, table[1:], strict=True):
            lines.append(row)
            if c.queued:
                lines.append(f"\tqueued: {', '.join(c.queued)}")
            for word, ids in (("sending", c.senders), ("receiving", c.receivers)):
                if ids:
                    who = ", ".join(f"thread {i} ({names.get(i, '?')})" for i in ids)
                    lines.append(f"\tblocked {word}: {who}")
        return lines

    # ------------------------------------------------------------------ the heap

    @staticmethod
    def size(n: int) -> str:
        """Bytes as `--gc-trace` writes them: `96 B`, `1.1 KiB`, `3.9 MiB`."""
        if n < 1024:
            return f"{n} B"
        if n < 1 << 20:
            return f"{n / 1024:.1f} KiB"
        if n < 1 << 30:
            return f"{n / (1 << 20):.1f} MiB"
        return f"{n / (1 << 30):.1f} GiB"

    def heap_info(self, h: HeapInfo) -> list[str]:
        """`info heap`: the arena, a row per generation, then the live objects by type
        as `jmap -histo` lists them (instances and bytes, headers included)."""
        minor = next((g.collections for g in h.generations if g.name == "young"), 0)
        full = next((g.collections for g in h.generations if g.name == "old"), 0)
        noun = "collection" if h.collections == 1 else "collections"
        lines = [f"Heap at 0x{h.base:x} (limit {self.size(h.limit)}): {h.used} bytes used: "
                 f"{h.live_bytes} live ({h.live_objects} objects), {h.dead_bytes} dead "
                 f"({h.dead_objects} objects), {h.free_bytes} free.",
                 f"{h.collections} {noun} so far ({minor} minor, {full} full), "
                 f"{h.gc_seconds * 1000:.2f} ms in total.", ""]
        rows = []
        for g in h.generations:
            span = f"0x{g.lo:x}-0x{g.hi:x}" if g.objects or g.used_bytes else "-"
            rows.append((g.name, span, str(g.capacity), str(g.used_bytes), str(g.live_bytes),
                         str(g.objects), str(g.collections)))
        lines += self._table(("Generation", "Address range", "Capacity", "Used", "Live",
                              "Objects", "Collections"), rows)
        lines += ["", " num     #instances         #bytes  type",
                  "----------------------------------------------"]
        for i, t in enumerate(h.types, 1):
            lines.append(f"{i:>4}: {t.objects:>13} {t.bytes:>14}  {t.type_name}")
        lines.append(f"Total {h.live_objects:>13} {h.live_bytes:>14}")
        if h.other_types:
            more = "type" if h.other_types == 1 else "types"
            lines.append(f"({h.other_types} more {more}: \"info heap "
                         f"{len(h.types) + h.other_types}\" lists them all.)")
        return lines

    def regions(self, regions: Sequence[RegionView]) -> list[str]:
        """`info regions`: a row per active `scoped` region, outermost first per thread."""
        rows = []
        for r in regions:
            span = f"0x{r.lo:x}-0x{r.hi:x}" if r.objects else "-"
            block = "?"
            if r.frame is not None:
                block = f"frame #{r.frame} {r.function}"
                if r.location is not None:
                    block += f" at {r.location.file}:{r.location.line}"
            rows.append((str(r.region_id), f"{r.fiber} ({r.fiber_name})", str(r.depth),
                         str(r.objects), str(r.live_objects), str(r.bytes), span, block))
        return self._table(("Region", "Thread", "Depth", "Objects", "Live", "Bytes",
                            "Address range", "Block"), rows)

    def object_view(self, o: ObjectView) -> list[str]:
        """`info object ADDR`: what the object is and where it lives, then its fields."""
        facts = [o.type_name, f"{o.size} bytes", o.where]
        if o.length is not None:
            facts.append(f"length {o.length}")
        if o.refcount is not None:
            facts.append(f"reference count {o.refcount}")
        state = o.state
        if o.state == "freed" and o.freed_at is not None:
            state = f"freed at {o.freed_at.file}:{o.freed_at.line}"
        elif o.state == "released":
            state = "released (its scoped region has exited)"
        facts.append(state)
        lines = [f"Object at 0x{o.addr:x}: {', '.join(facts)}.",
                 f"Flags: {' '.join(o.flags) if o.flags else 'none'}"]
        for f in o.fields:
            lines.append(f"  {f.name} = {f.value.text}")
        if not o.fields and o.value is not None:
            lines.append(f"Value: {o.value.text}")
        return lines

    @staticmethod
    def path(steps: Sequence[PathStep], shown: int = 40) -> list[str]:
        """`info path ADDR`: from the root (#0) to the object, one reference per line; of
        a path longer than `shown`, its first and last `shown // 2` steps."""
        keep = list(enumerate(steps))
        if len(keep) > shown:
            keep = keep[:shown // 2] + [None] + keep[-(shown // 2):]
        rows = [k for k in keep if k is not None]
        aw = max(len(f"0x{s.addr:x}") for _, s in rows)
        tw = max(len(s.type_name) for _, s in rows)
        nw = len(f"#{len(steps) - 1}")
        lines = []
        for k in keep:
            if k is None:
                lines.append(f"... {len(steps) - 2 * (shown // 2)} more references ...")
                continue
            i, s = k
            addr = f"0x{s.addr:x}"
            lines.append(f"{'#' + str(i):<{nw}}  {addr:<{aw}}  {s.type_name:<{tw}}  "
                         f"{s.label}".rstrip())
        return lines

    @staticmethod
    def unreachable(o: ObjectView) -> str:
        return (f"No root reaches the {o.type_name} at 0x{o.addr:x}: the next full "
                "collection frees it.")

    def gc_result(self, r: GcResult) -> str:
        """`gc`: as a `--gc-trace` line."""
        noun = "object" if r.objects_freed == 1 else "objects"
        return (f"Collection #{r.number} ({r.kind}): {self.size(r.bytes_before)} -> "
                f"{self.size(r.bytes_after)} in use, {r.objects_freed} {noun} freed "
                f"({self.size(r.bytes_freed)}), pause {r.seconds * 1000:.2f} ms.")
