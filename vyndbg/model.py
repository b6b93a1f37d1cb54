"""What the debugger engine returns: frozen records that front ends render.

The engine never prints; the line mode (vyndbg/linemode.py), the TUI (tui/) and a future
DAP server turn these into text or widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar


class DebugError(Exception):
    """A request the engine cannot do; `str(e)` is one sentence worded as gdb words it.

    The engine raises the subclasses below; each has a stable machine-readable `code` and
    the structured fields (`FIELDS`) a front end needs to act without reading the
    message (a Debug Adapter Protocol server maps them to its responses). Fields are
    keyword arguments and default to None. `except DebugError` catches them all; the
    line mode prints `str(e)` and nothing else."""

    code: ClassVar[str] = "error"
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, message: str = "", **fields) -> None:
        unknown = sorted(set(fields) - set(self.FIELDS))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(unknown)}")
        super().__init__(message)
        self.message = message
        for name in self.FIELDS:
            setattr(self, name, fields.get(name))

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict:
        """The error as data: its code, its message and its fields that are set."""
        out: dict = {"code": self.code, "message": self.message}
        for name in self.FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


class NoProcessError(DebugError):
    """The request needs a stopped program and there is none (not started, running,
    exited, or a post-mortem dump): "The program is not being run."."""

    code = "no-process"


class NoThreadError(DebugError):
    """No fiber (gdb's thread) with that number: "Unknown thread 9."."""

    code = "no-thread"
    FIELDS = ("thread",)
    thread: int | None


class NoFrameError(DebugError):
    """No such frame in the selected fiber: "No frame at level 7.", "No stack." (the
    fiber has no frames), "No frame for function "f".", or no caller to return to."""

    code = "no-frame"
    FIELDS = ("level", "function", "thread")
    level: int | None
    function: str | None
    thread: int | None


class NoBreakpointError(DebugError):
    """No breakpoint, watchpoint or dprintf with that number."""

    code = "no-breakpoint"
    FIELDS = ("number",)
    number: int | None


class NoSymbolError(DebugError):
    """A name that is not there: a variable, a function, a member of a value, a method
    of a type, a machine register. `kind` is "variable", "function", "member", "method"
    or "register"."""

    code = "no-symbol"
    FIELDS = ("name", "kind", "type_name")
    name: str | None
    kind: str | None
    type_name: str | None


class LocationError(DebugError):
    """A location spec (`break`, `list`, `until`, `jump`, `info line`) that names no
    code: no such file, line or function. `location` is the spec as given."""

    code = "bad-location"
    FIELDS = ("location", "file", "line", "function")
    location: str | None
    file: str | None
    line: int | None
    function: str | None


class EvaluationError(DebugError):
    """An expression that cannot be evaluated here (a type mismatch, an index out of
    bounds, division by zero, an assignment to a non-lvalue, ...). `expression` is its
    text when the engine knows it."""

    code = "evaluation"
    FIELDS = ("expression",)
    expression: str | None


class BadExpressionError(EvaluationError):
    """An expression the parser or the checker rejects. `diagnostic` is the checker's
    code ("T2001"; None for a parse error), `detail` the parser's or checker's message."""

    code = "bad-expression"
    FIELDS = ("expression", "diagnostic", "detail")
    diagnostic: str | None
    detail: str | None


class CallError(EvaluationError):
    """A function of the program called by an expression failed. `reason` is "panic",
    "would-block", "unsupported" or "interrupted"; `detail` the panic message or what
    blocked."""

    code = "call-failed"
    FIELDS = ("expression", "reason", "detail")
    reason: str | None
    detail: str | None


class MemoryAccessError(DebugError):
    """An address that cannot be read, is not an object's, or is in free memory."""

    code = "memory"
    FIELDS = ("address",)
    address: int | None


class NotAllowedError(DebugError):
    """A command the program's state does not allow now (`finish` or `return` in the
    outermost frame, `return` or `jump` after a panic or in another fiber). `command` is
    the command, `reason` one of "outermost-frame", "after-panic", "after-deadlock",
    "other-thread", "builtin-caller", "scoped-region"."""

    code = "not-allowed"
    FIELDS = ("command", "reason", "thread")
    command: str | None
    reason: str | None
    thread: int | None


class NotSupportedError(DebugError):
    """Something this debugger does not do (in this tier, for this expression, or in a
    post-mortem dump). `command` is the command or feature when it matters."""

    code = "not-supported"
    FIELDS = ("command",)
    command: str | None


class UnavailableError(DebugError):
    """What was asked for does not exist in this session: no native code, no machine
    registers in a bytecode frame, a value or a heap a post-mortem dump did not keep."""

    code = "unavailable"
    FIELDS = ("function",)
    function: str | None


class BadArgumentError(DebugError):
    """An argument out of its range: an unknown setting, filter field, state or sort, a
    negative count, a print format for another type. `argument` names the parameter,
    `value` is what was given."""

    code = "bad-argument"
    FIELDS = ("argument", "value")
    argument: str | None
    value: object


class StopReason(Enum):
    BREAKPOINT = "breakpoint"
    STEP = "step"                # step, next, stepi, nexti, until, advance
    FINISH = "finish"
    WATCHPOINT = "watchpoint"
    WATCH_SCOPE = "watchpoint-scope"   # a watched local's frame returned
    PANIC = "panic"
    DEADLOCK = "deadlock"        # every fiber left is blocked
    INTERRUPT = "interrupt"      # Ctrl-C or Session.interrupt()
    EXITED = "exited"
    KILLED = "killed"


class Tier(Enum):
    BYTECODE = "bytecode"
    NATIVE = "native"


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int = 0


@dataclass(frozen=True)
class ValueInfo:
    """A value as the debugger shows it. `ref` (when not None) expands it lazily through
    Session.children(ref)."""

    type_name: str
    text: str
    ref: object = None
    count: int = 0               # number of children (fields, elements) when expandable
    address: int = 0             # the heap object the value is (0: not a heap value);
    #                              the debugger keeps it alive while this record lives


@dataclass(frozen=True)
class Variable:
    name: str
    value: ValueInfo
    kind: str = "local"          # "param" | "local" | "capture" | "global" | field/index


@dataclass(frozen=True)
class FrameInfo:
    level: int                   # 0 is the innermost frame
    function: str
    location: Location | None
    pc: int
    tier: Tier = Tier.BYTECODE
    args: tuple[Variable, ...] = ()
    function_index: int = -1
    address: int = 0             # a native frame's machine pc (its return address above #0)


@dataclass(frozen=True)
class Breakpoint:
    number: int
    kind: str                    # "breakpoint" | "watchpoint" | "dprintf"
    enabled: bool
    location: Location | None    # None for watchpoints
    function: str = ""
    condition: str | None = None
    hits: int = 0
    ignore: int = 0
    temporary: bool = False
    expression: str = ""         # watchpoints: the watched expression; dprintf: its format
    pcs: tuple[tuple[int, int], ...] = ()
    thread: int | None = None    # `break LOC thread N`: stops only in fiber N
    address: int | None = None   # `break *ADDRESS`: a machine instruction of native code


@dataclass(frozen=True)
class StopEvent:
    """Why and where the program stopped (or that it ended)."""

    reason: StopReason
    frame: FrameInfo | None = None
    breakpoint: Breakpoint | None = None
    exit_code: int | None = None
    message: str = ""            # panic message
    returned: ValueInfo | None = None      # `finish`: the value the frame returned
    finished: FrameInfo | None = None      # `finish`: the frame that returned
    old_value: ValueInfo | None = None     # watchpoint
    new_value: ValueInfo | None = None
    function_changed: bool = True          # the stop is in another function than before
    fiber: FiberInfo | None = None         # the fiber that stopped (selected after the stop)
    fiber_changed: bool = False            # another fiber than the one selected when the
    #                                        program was resumed (gdb's `[Switching to ...]`)
    report: str = ""                       # panic, deadlock: what `vyn run` prints on stderr
    also: tuple = ()                       # more watchpoints the same access triggered:
    #                                        (Breakpoint, old ValueInfo or None, new)
    new_frame: bool | None = None          # a step: it ended in another frame or function
    #                                        than it started in (gdb then shows the frame)


@dataclass(frozen=True)
class Output:
    """Program output or a dprintf line, in the order it was written."""

    stream: str                  # "stdout" | "stderr" | "dprintf"
    text: str


@dataclass(frozen=True)
class SourceLine:
    number: int
    text: str
    is_stmt: bool = False        # a breakpoint can be set here


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    file: str
    line: int
    index: int
    declaration: str = ""        # `fn pick<Int>(a: Int, b: Int) -> Int`


@dataclass(frozen=True)
class Instruction:
    pc: int
    opname: str
    operands: str
    location: Location | None
    is_stmt: bool
    current: bool = False
    breakpoint: bool = False


class Address(int):
    """A machine code address where a bytecode pc could be (a native frame's pc): front
    ends print it in hex, as gdb does."""


@dataclass(frozen=True)
class NativeInstruction:
    """One machine instruction of native code (`disassemble`, `x/i`)."""

    address: int
    offset: int                  # from the function's start (`<+4>`)
    raw: bytes
    mnemonic: str
    operands: str
    location: Location | None    # the Vyn line the DWARF line table gives it
    is_stmt: bool                # a statement starts here (a line breakpoint's address)
    current: bool = False        # the selected frame's pc
    breakpoint: bool = False     # a breakpoint's code hook is here


@dataclass(frozen=True)
class NativeListing:
    """A native function's machine code."""

    function: str
    tier: int
    start: int
    end: int
    instructions: tuple[NativeInstruction, ...]


@dataclass(frozen=True)
class JitFunction:
    """`info jit`: one function's place in the native tier."""

    function: str
    index: int
    tier: int                    # 0: bytecode, 1: unoptimized native, 2: optimized
    source: str                  # "jit" or "image" when native
    calls: int                   # entries from the interpreter
    compile_ms: float
    code_bytes: int
    start: int
    end: int
    reason: str                  # why it stays in bytecode
    side_exits: int = 0          # times its native code left at a side exit (--jit-stats)


@dataclass(frozen=True)
class FrameDetail:
    """`info frame`."""

    frame: FrameInfo
    caller: FrameInfo | None
    callee_level: int | None
    nregs: int
    locals_count: int
    source_file: str
    explicit: bool = False       # `info frame N` for another frame than the selected one


@dataclass
class RunState:
    """Where the session is: not started, running, stopped or exited."""

    state: str = "idle"          # idle | running | stopped | exited
    last_stop: StopEvent | None = None
    exit_code: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FiberInfo:
    """A fiber (task, actor, thread or main) as `info threads` lists it. Numbered as gdb
    numbers threads: main is 1, the others in order of creation."""

    id: int
    kind: str                    # main | task | actor | thread
    name: str                    # "main", "task 2", "actor Counter#3", "thread 4"
    state: str                   # runnable | running | blocked | idle | finished
    template: str | None = None  # an actor's template; a pool worker's "pool #1"
    waiting: str | None = None   # what a blocked fiber waits on: "receiving from channel #1"
    mailbox: int | None = None   # actors: messages queued
    capacity: int | None = None  # actors: mailbox capacity (None: unbounded)
    function: str | None = None  # the innermost frame's function
    location: Location | None = None
    selected: bool = False       # `thread N` selected it
    current: bool = False        # it was running when the program stopped
    reductions: int = 0          # calls and loop back-edges, counted at each slice's end
    frame: FrameInfo | None = None   # its innermost frame (with arguments), as `bt` shows it
    parent: int | None = None    # the fiber that created it
    slices: int = 0              # slices it has run
    created_step: int = 0        # the scheduler's clock (slices run) when it was created
    handled: int = 0             # actors: messages handled


@dataclass(frozen=True)
class FiberPage:
    """A page of `info threads`: the fibers that pass the filters, from `start`."""

    total: int                   # how many pass the filters
    start: int
    fibers: tuple[FiberInfo, ...]
    groups: tuple[tuple[str, int], ...] = ()   # (group key, count) when grouped


@dataclass(frozen=True)
class MessageInfo:
    """One send (`info messages`, `info mailbox`)."""

    id: int
    sender: int                  # fiber id (0: outside any fiber)
    sender_name: str
    target: str                  # "actor" | "channel"
    receiver: int                # actor fiber id or channel id
    receiver_name: str           # "actor Counter#3" | "channel #1"
    value: str                   # printed as `print` prints it
    sent_step: int
    received_step: int | None = None
    received_by: str | None = None


@dataclass(frozen=True)
class ChannelInfo:
    """`info channels`."""

    id: int
    type_name: str               # "Channel<Int>"
    capacity: int | None         # None: unbounded
    closed: bool
    queued: tuple[str, ...]      # queued values, oldest first, printed
    senders: tuple[int, ...]     # fibers blocked sending
    receivers: tuple[int, ...]   # fibers blocked receiving
    sent: int = 0
    received: int = 0


@dataclass(frozen=True)
class GenerationInfo:
    """One generation of the heap (`info heap`). Generations share the arena: `lo`/`hi`
    span the objects of this generation (0, 0 when it has none)."""

    name: str                    # "young" | "old"
    lo: int
    hi: int
    capacity: int                # young: the nursery size; old: the heap limit
    used_bytes: int              # objects of this generation, dead ones included
    live_bytes: int
    objects: int
    collections: int             # minor collections for young, full ones for old


@dataclass(frozen=True)
class TypeUsage:
    """A row of the live-types table (`jmap -histo`)."""

    type_name: str
    objects: int
    bytes: int


@dataclass(frozen=True)
class HeapInfo:
    """`info heap`."""

    base: int
    limit: int
    used: int                    # bump pointer: live + dead + free
    live_bytes: int
    dead_bytes: int              # tombstones (freed or released objects still reachable)
    free_bytes: int
    generations: tuple[GenerationInfo, ...]
    types: tuple[TypeUsage, ...]   # by live bytes, largest first (the `top` first)
    collections: int             # minor and full
    gc_seconds: float            # time spent collecting so far
    live_objects: int = 0
    dead_objects: int = 0
    other_types: int = 0         # types with live objects beyond the `top` shown


@dataclass(frozen=True)
class RegionView:
    """An active `scoped` region (`info regions`)."""

    region_id: int
    depth: int
    fiber: int                   # the fiber whose region stack holds it
    lo: int
    hi: int
    bytes: int
    objects: int
    live_objects: int
    fiber_name: str = ""         # "main", "task 2", ...
    function: str = ""           # the function whose `scoped` block entered it
    frame: int | None = None     # that function's frame level in its fiber (None: unknown)
    location: Location | None = None   # the `scoped` block's first line


@dataclass(frozen=True)
class ObjectView:
    """An object by address: what it is, where it lives, its fields."""

    addr: int
    type_name: str
    where: str                   # "young generation" | "old generation" | "region 3"
    size: int                    # bytes, header included
    flags: tuple[str, ...]
    state: str                   # "live" | "freed" | "released"
    fields: tuple[Variable, ...]
    heap_type: int = 0           # the header's type id
    refcount: int | None = None  # `ref<T>` objects: the count in the header
    length: int | None = None    # strings: bytes; vectors: elements; arrays: slots
    value: ValueInfo | None = None   # the object as `print` shows it (None when dead)
    freed_at: Location | None = None  # where `free` freed it, while the runtime knows


@dataclass(frozen=True)
class PathStep:
    """One step of `info path`: a root (`label` names it) or a field of the object
    before it."""

    label: str                   # "fiber 1 frame 0 `xs`", "global `cache`", ".next", "[3]"
    addr: int
    type_name: str


@dataclass(frozen=True)
class GcResult:
    """What `Session.collect()` (the `gc` command) did: one full collection."""

    number: int                  # collections so far, this one included (--gc-trace's #N)
    kind: str                    # "full"
    objects_freed: int
    bytes_freed: int
    bytes_before: int            # heap bytes in use (live and dead objects) before
    bytes_after: int             # ... and after
    objects_after: int           # objects left (tombstones included)
    seconds: float               # the pause
