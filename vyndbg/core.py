"""`vyn debug --core FILE`: a read-only session over a post-mortem dump.

`vyn run --dump-on-panic FILE` writes the dump (runtime/dump.py describes its format).
`CoreSession` reads it and answers the engine calls the line mode makes for the stack,
variables, threads, mailboxes and the heap, with the same records (vyndbg/model.py) a
live `Session` returns. `CoreLineMode` is the line mode over it: the commands that only
look run unchanged; the ones that would run the program say "The program is not being
run.", and the others that need a process "You can't do that without a process to
debug.", as gdb says over a core file.

`print` takes a variable name or a field path (`s.total`, `v[2]`, `o.0`) of the selected
frame; the dump keeps values a few levels deep (runtime/dump.EXPAND_DEPTH).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections import Counter
from types import SimpleNamespace

from runtime.dump import FORMAT, VERSION
from vyndbg.commands import CommandError
from vyndbg.model import (
    BadArgumentError,
    DebugError,
    EvaluationError,
    FiberInfo,
    FiberPage,
    FrameDetail,
    FrameInfo,
    GenerationInfo,
    HeapInfo,
    Location,
    LocationError,
    MessageInfo,
    NoFrameError,
    NoProcessError,
    NoSymbolError,
    NoThreadError,
    NotSupportedError,
    RunState,
    SourceLine,
    StopEvent,
    StopReason,
    TypeUsage,
    UnavailableError,
    ValueInfo,
    Variable,
)

NOT_RUN = "The program is not being run."
NO_PROCESS = "You can't do that without a process to debug."
NO_OBJECTS = ("A core file keeps the heap's summary, not its objects: the object view is not "
              "available.")
ONLY_PATHS = ("A core file holds values, not a program to evaluate in: print a variable "
              "name or a field path such as `s.total` or `v[2]`.")
_PATH = re.compile(r"\s*([A-Za-z_]\w*)((?:\s*\.\s*\w+|\s*\[\s*\d+\s*\])*)\s*")
_STEP = re.compile(r"\s*\.\s*(\w+)|\s*\[\s*(\d+)\s*\]")


class DumpError(Exception):
    """A file that is not a readable dump; the message is one sentence."""


def load_dump(path: str) -> dict:
    """The dump in `path`, gzip-compressed or not. DumpError (one sentence) when it cannot
    be read, is cut short, or is not a dump of this version."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DumpError(f"{path}: {e.strerror or e}.") from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError):
        raise DumpError(f"{path} is not a Vyn post-mortem dump, or it was cut short.") \
            from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DumpError(f"{path} is not a Vyn post-mortem dump.")
    if data.get("version") != VERSION:
        raise DumpError(f"{path} is a dump of version {data.get('version')}; this vyn "
                        f"reads version {VERSION}.")
    try:
        for fiber in data["fibers"]:
            fiber["id"], fiber["frames"]  # noqa: B018 - the fields every answer needs
        data["panic"]["message"]  # noqa: B018
    except (KeyError, TypeError):
        raise DumpError(f"{path} is a damaged Vyn post-mortem dump.") from None
    return data


def _value(tree: dict) -> ValueInfo:
    """A dump's VALUE as the engine's ValueInfo; `ref` is the tree, for `children`."""
    return ValueInfo(tree.get("type", "?"), tree.get("text", ""),
                     tree if tree.get("children") else None, tree.get("count", 0),
                     tree.get("address", 0))


def _variable(var: dict) -> Variable:
    return Variable(var["name"], _value(var["value"]), var.get("kind", "local"))


class CoreSession:
    """The engine's read-only calls over a dump (see the module docstring)."""

    pid = 0
    running = False
    # The TUI's Heap tab shows it where the regions go (short: the tab is narrow).
    heap_note = "Object view: not in a core file."
    scheduler_locking = "off"

    def __init__(self, data: dict, path: str = ""):
        self.data = data
        self.path = path
        self._fibers = {f["id"]: f for f in data["fibers"]}
        self._sel = data.get("selected") or 1
        if self._sel not in self._fibers and self._fibers:
            self._sel = min(self._fibers)
        self.selected = 0
        self.state = RunState("stopped")
        self.state.last_stop = self.stop_event()
        # What the TUI's snapshot (tui/model.collect_snapshot) reads of the program.
        self.program = SimpleNamespace(sources=data.get("sources", {}))

    # ------------------------------------------------------------------ the stop

    @property
    def message(self) -> str:
        return self.data["panic"]["message"]

    def stop_event(self) -> StopEvent:
        frames = self.frames(1) if self._fibers else []
        fiber = self.fiber(self._sel) if self._fibers else None
        return StopEvent(StopReason.PANIC, frames[0] if frames else None,
                         message=self.message, fiber=fiber,
                         report=self.data["panic"].get("text", ""))

    def program_line(self) -> str:
        return " ".join(self.data.get("argv") or [self.data.get("program", "")])

    # ------------------------------------------------------------------ threads

    @property
    def selected_thread(self) -> int:
        return self._sel

    def _fiber_obj(self, n: int) -> dict:
        f = self._fibers.get(n)
        if f is None:
            raise NoThreadError(f"Unknown thread {n}.", thread=n)
        return f

    def _fiber_info(self, f: dict) -> FiberInfo:
        frames = [self._frame_info(fr) for fr in f["frames"][:1]]
        frame = frames[0] if frames else None
        return FiberInfo(
            f["id"], f.get("kind", "main"), f.get("name", ""), f.get("state", ""),
            f.get("template"), waiting=f.get("waiting"), mailbox=f.get("mailbox"),
            capacity=f.get("capacity"),
            function=frame.function if frame is not None else None,
            location=frame.location if frame is not None else None,
            selected=f["id"] == self._sel, current=bool(f.get("current")),
            reductions=f.get("reductions", 0), frame=frame, parent=f.get("parent"),
            slices=f.get("slices", 0), created_step=f.get("created_step", 0),
            handled=f.get("handled", 0))

    def fiber(self, n: int) -> FiberInfo:
        return self._fiber_info(self._fiber_obj(n))

    def fiber_count(self) -> int:
        return len(self._fibers)

    def select_thread(self, n: int) -> FiberInfo:
        self._fiber_obj(n)
        self._sel = n
        self.selected = 0
        return self.fiber(n)

    def fibers(self, *, state=None, kind=None, template=None, location=None, without=None,
               group_by=None, start: int = 0, count: int | None = None, sort_by: str = "id",
               descending: bool = False) -> FiberPage:
        infos = [self._fiber_info(f) for _, f in sorted(self._fibers.items())]

        def field(fi: FiberInfo, name: str) -> str:
            if name == "location":
                loc = fi.location
                return f"{fi.function} {loc.file}:{loc.line}" if loc is not None else ""
            return str(getattr(fi, name) or "")

        wanted = {"state": state, "kind": kind, "template": template}
        for name, value in wanted.items():
            if value is not None:
                infos = [fi for fi in infos if field(fi, name) == value]
        if location is not None:
            infos = [fi for fi in infos if location in field(fi, "location")]
        if without:
            pairs = [without] if isinstance(without, tuple) else list(without)
            for name, value in pairs:
                infos = [fi for fi in infos if not (
                    value in field(fi, name) if name == "location" else
                    field(fi, name) == value)]
        groups: tuple = ()
        if group_by is not None:
            counts = Counter(field(fi, group_by) for fi in infos)
            groups = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        page = infos[start:] if count is None else infos[start:start + count]
        return FiberPage(len(infos), start, tuple(page), groups)

    def _message(self, m: dict, receiver: dict) -> MessageInfo:
        sender = self._fibers.get(m.get("sender"))
        return MessageInfo(m["id"], m.get("sender", 0), sender["name"] if sender else "-",
                           "actor", receiver["id"], receiver.get("name", ""),
                           m.get("value", ""), m.get("sent_step", 0))

    def _actor(self, n: int) -> dict:
        f = self._fiber_obj(n)
        if f.get("kind") != "actor":
            raise BadArgumentError(f"Thread {n} ({f.get('name')}) is not an actor.",
                                   argument="thread", value=n)
        return f

    def mailbox(self, n: int) -> list[MessageInfo]:
        f = self._actor(n)
        return [self._message(m, f) for m in f.get("queued", [])]

    def handling(self, n: int) -> MessageInfo | None:
        f = self._actor(n)
        m = f.get("handling")
        return self._message(m, f) if m else None

    def events(self) -> list[tuple[int, str, str]]:
        """The last events before the panic, oldest first: (scheduler step, kind, text)."""
        return [tuple(e) for e in self.data.get("events", [])]

    # ------------------------------------------------------------------ frames

    def _frame_dicts(self) -> list[dict]:
        return self._fibers[self._sel]["frames"] if self._fibers else []

    def _frame_dict(self, level: int) -> dict:
        frames = self._frame_dicts()
        if not frames:
            raise NoFrameError("No stack.", level=level)
        for fr in frames:
            if fr["level"] == level:
                return fr
        raise NoFrameError(f"No frame at level {level}.", level=level)

    @staticmethod
    def _frame_info(fr: dict) -> FrameInfo:
        loc = Location(fr["file"], fr["line"], fr.get("col", 0)) if fr.get("file") else None
        return FrameInfo(fr["level"], fr["function"], loc, fr.get("pc", 0),
                         args=tuple(_variable(v) for v in fr.get("params", [])),
                         function_index=fr.get("function_index", -1))

    def frames(self, limit: int | None = None) -> list[FrameInfo]:
        frames = self._frame_dicts()
        if limit is not None:
            frames = [fr for fr in frames if fr["level"] < limit]
        return [self._frame_info(fr) for fr in frames]

    def depth(self) -> int:
        frames = self._frame_dicts()
        return frames[-1]["level"] + 1 if frames else 0

    def select_frame(self, level: int) -> FrameInfo:
        info = self._frame_info(self._frame_dict(level))
        self.selected = level
        return info

    def selected_frame(self) -> FrameInfo:
        return self._frame_info(self._frame_dict(self.selected))

    def mid_line_pc(self, frame) -> int | None:
        if frame is None or frame.level != 0:
            return None
        try:
            fr = self._frame_dict(0)
        except DebugError:
            return None
        return frame.pc if fr.get("mid_line") else None

    def frame_of_function(self, name: str) -> int:
        for fr in self._frame_dicts():
            if fr["function"] == name:
                return fr["level"]
        raise NoFrameError(f'No frame for function "{name}".', function=name)

    def frame_detail(self, level: int | None = None) -> FrameDetail:
        explicit = level is not None and level != self.selected
        level = self.selected if level is None else level
        fr = self._frame_dict(level)
        callers = [f for f in self._frame_dicts() if f["level"] > level]
        caller = self._frame_info(callers[0]) if callers else None
        return FrameDetail(self._frame_info(fr), caller, level - 1 if level > 0 else None,
                           fr.get("nregs", 0), len(fr.get("locals", [])), fr["file"],
                           explicit)

    def current_location(self) -> Location | None:
        try:
            return self.selected_frame().location
        except DebugError:
            return None

    # ------------------------------------------------------------------ variables

    def locals(self, shadowed: bool = False) -> list[Variable]:
        variables = [_variable(v) for v in self._frame_dict(self.selected).get("locals", [])]
        if shadowed:
            return variables
        seen: set[str] = set()
        out = []
        for v in variables:
            if v.name not in seen:
                seen.add(v.name)
                out.append(v)
        return out

    def args(self) -> list[Variable]:
        return [_variable(v) for v in self._frame_dict(self.selected).get("params", [])]

    def children(self, ref: object, start: int = 0, count: int | None = None
                 ) -> list[Variable]:
        if not isinstance(ref, dict):
            return []
        kids = ref.get("children", [])
        kids = kids[start:] if count is None else kids[start:start + count]
        return [Variable(name, _value(tree), "field") for name, tree in kids]

    def evaluate(self, expr: str) -> ValueInfo:
        """A variable of the selected frame, or a field path into one."""
        m = _PATH.fullmatch(expr)
        if m is None:
            raise NotSupportedError(ONLY_PATHS, command="print")
        name = m.group(1)
        fr = self._frame_dict(self.selected)
        found = None
        for var in [*fr.get("locals", []), *fr.get("params", [])]:
            if var["name"] == name:
                found = var["value"]
                break
        if found is None:
            raise NoSymbolError(f'No symbol "{name}" in current context.', name=name,
                                kind="variable")
        tree = found
        for step in _STEP.finditer(m.group(2)):
            member, index = step.group(1), step.group(2)
            key = f"[{index}]" if index is not None else member
            kids = dict((k, v) for k, v in tree.get("children", []))
            if key in kids:
                tree = kids[key]
                continue
            if tree.get("count", 0) and not tree.get("children"):
                raise UnavailableError(f"The dump does not keep `{expr.strip()}`: values are "
                                       "kept only a few levels deep.")
            if index is not None:
                raise EvaluationError(f"No element {index} in `{tree.get('type', '?')}`"
                                      f" (it has {tree.get('count', 0)}, or the dump kept "
                                      "fewer).", expression=expr.strip())
            raise NoSymbolError(f"There is no member named {member}.", name=member,
                                kind="member", type_name=tree.get("type"))
        return _value(tree)

    def format_value(self, value: ValueInfo, fmt: str) -> str:
        raise NoProcessError(NO_PROCESS)

    def pretty_text(self, value: ValueInfo) -> str:
        return value.text

    # ------------------------------------------------------------------ the heap

    def heap_info(self, top: int = 20) -> HeapInfo:
        h = self.data.get("heap")
        if not h:
            raise UnavailableError("The dump has no heap summary (the heap could not be "
                                   "read).")
        gens = tuple(GenerationInfo(*g) for g in h["generations"])
        rows = h.get("types", [])
        types = tuple(TypeUsage(*row) for row in rows[:max(0, top)])
        return HeapInfo(h["base"], h["limit"], h["used"], h["live_bytes"], h["dead_bytes"],
                        h["free_bytes"], gens, types, h["collections"], h["gc_seconds"],
                        h.get("live_objects", 0), h.get("dead_objects", 0),
                        max(0, len(rows) - max(0, top)))

    def regions(self) -> list:
        """The dump keeps no scoped regions."""
        return []

    def object_at(self, addr: int):
        raise UnavailableError(NO_OBJECTS)

    def path_to(self, addr: int):
        raise UnavailableError(NO_OBJECTS)

    # ------------------------------------------------------------------ source

    def _source(self, file: str) -> str:
        sources = self.data.get("sources", {})
        if file in sources:
            return sources[file]
        for name, text in sources.items():
            if name.endswith("/" + file) or name.rsplit("/", 1)[-1] == file:
                return text
        raise LocationError(f"No source file named {file}.", file=file)

    def source_lines(self, file: str, start: int, end: int) -> list[SourceLine]:
        text = self._source(file)
        lines = text.split("\n")
        if text.endswith("\n"):
            lines = lines[:-1]
        stmt = set(self.data.get("stmt_lines", {}).get(file, ()))
        start = max(1, start)
        end = min(len(lines), end)
        return [SourceLine(n, lines[n - 1], n in stmt) for n in range(start, end + 1)]

    def line_count(self, file: str) -> int:
        text = self._source(file)
        return text.count("\n") + (0 if text.endswith("\n") else 1)

    def default_file(self) -> str:
        sources = self.data.get("sources", {})
        return next(iter(sources), self.data.get("program", ""))

    # ------------------------------------------------------------------ no process

    def breakpoints(self) -> list:
        return []

    def take_output(self) -> list:
        return []

    def interrupt(self) -> None:
        pass

    def kill(self) -> None:
        raise NoProcessError(NOT_RUN)

    def break_at(self, *args, **kw):
        """The TUI's F9 (the line mode refuses `break` before asking)."""
        raise NoProcessError(NO_PROCESS)

    enable = delete = condition = collect = break_at

    def close(self) -> None:
        pass


# Line-mode commands that only look at what the dump holds; the others are refused.
_ALLOWED = {
    "do_backtrace", "do_frame", "do_up", "do_down", "do_print", "do_info", "do_thread",
    "do_echo", "do_help", "do_quit", "do_show", "do_list", "do_output",
}
_ALLOWED_INFO = {
    "info_frame", "info_locals", "info_args", "info_stack", "info_threads",
    "info_mailbox", "info_heap", "info_program", "info_source",
}
# `set` subcommands that change only how things are shown.
_SETTINGS = [["print"], ["p"], ["listsize"], ["confirm"], ["pagination"], ["height"],
             ["width"], ["logging"]]
# Commands that would run (or resume, or end) the program.
_RUNS = {
    "do_run", "do_start", "do_continue", "do_next", "do_step", "do_finish", "do_until",
    "do_advance", "do_return", "do_jump", "do_stepi", "do_nexti", "do_kill",
}


def _make_line_mode():
    """CoreLineMode, defined when first asked for (the line mode imports the engine)."""
    from vyndbg import commands as cmds
    from vyndbg.linemode import LineMode

    class CoreLineMode(LineMode):
        """The line mode over a CoreSession: the looking commands as they are, the rest
        refused with gdb's words for a core file."""

        def __init__(self, session: CoreSession, **kw):
            super().__init__(None, session=session, path=session.data.get("program", ""),
                             **kw)

        def run_command(self, line: str) -> None:
            text = line.strip()
            if not text or text.startswith("#"):
                return
            cmd, rest = self.lookup(text)
            self._check(cmd.method, rest.strip())
            super().run_command(line)

        def _check(self, method: str, rest: str) -> None:
            if method in _RUNS:
                raise CommandError(NOT_RUN)
            if method == "do_info" and rest:
                sub = cmds.lookup(cmds.INFO_COMMANDS, rest.split()[0], "info ")
                if sub.method not in _ALLOWED_INFO:
                    raise CommandError(NO_PROCESS)
            elif method == "do_print" and rest.lstrip("/xdotcau ").startswith(("*", "&")):
                raise CommandError(NO_PROCESS)
            elif method == "do_list" and (self.current_file is None or not re.fullmatch(
                    r"-?|\d+(\s*,\s*\d+)?", rest)):
                raise CommandError(NO_PROCESS)
            elif method == "do_set" and rest.split()[:1] in _SETTINGS:
                return
            elif method not in _ALLOWED:
                raise CommandError(NO_PROCESS)

        def info_program(self, rest: str) -> None:
            s = self.session
            self.write(f"\tCore file of `{s.program_line()}`.",
                       f"The program terminated with a panic: {s.message}.")
            events = s.events()
            if events:
                self.write(f"The last {len(events)} events, oldest first (slice, event):")
                self.write(*(f"  {step:<5} {text}" for step, _, text in events))

        def close(self) -> None:
            pass

        def banner(self) -> None:
            """What gdb prints when it opens a core file."""
            s = self.session
            self.write(f"Core was generated by `vyn run {s.program_line()}'.",
                       f"Program terminated with panic: {s.message}.")
            frames = s.frames(1)
            if frames:
                frame = frames[0]
                self.write(self.render.frame_line(frame, s.mid_line_pc(frame)))
                self.show_source(frame.location)
            if s.fiber_count() > 1:
                f = s.fiber(s.selected_thread)
                self.write(f"[Current thread is {f.id} ({f.name})]")
            self.last_report = s.state.last_stop

    return CoreLineMode


def core_line_mode(session: CoreSession, **kw):
    """A line mode over `session` (keyword arguments as LineMode's: out, err, batch...)."""
    return _make_line_mode()(session, **kw)
