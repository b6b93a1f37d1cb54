"""Fibers as the debugger shows them: `info threads` pages with filters and groups, actor
mailboxes, channels and the message history (what gdb shows for threads, plus what
Erlang's observer shows for processes).

A mixin of `Session` (vyndbg/engine.py), which provides `vm`, the selected fiber, value
printing and frame records. Everything here reads the scheduler's state
(runtime/sched.py) while the program is stopped and returns records of vyndbg/model.py.
Counting and filtering read Fiber fields only; a FiberInfo (which reads frames and
arguments) is built only for the fibers of the page asked for, so a program with tens of
thousands of actors answers at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from runtime import sched as rs
from vyndbg.evaluate import TypedValue
from vyndbg.model import (
    BadArgumentError,
    ChannelInfo,
    FiberInfo,
    FiberPage,
    MessageInfo,
    NoThreadError,
)

STATES = (rs.RUNNABLE, rs.RUNNING, rs.BLOCKED, rs.IDLE, rs.FINISHED)
FIELDS = ("state", "kind", "template", "location")
SORTS = ("id", "state", "mailbox", "reductions")
_STATE_ORDER = {s: i for i, s in enumerate((rs.RUNNING, rs.RUNNABLE, rs.BLOCKED, rs.IDLE,
                                            rs.FINISHED))}
KINDS = ("main", "task", "actor", "thread")
_FIELD_ALIASES = {"loc": "location", "status": "state"}
NO_VALUE = "(none)"      # the group key of fibers without a template or a frame


def field_name(name: str) -> str:
    """The filter field `name` means (`loc` is `location`); BadArgumentError if none."""
    name = _FIELD_ALIASES.get(name, name)
    if name not in FIELDS:
        raise BadArgumentError(f'Unknown field "{name}": one of {", ".join(FIELDS)}.',
                               argument="field", value=name)
    return name


class FiberViews:
    """`fibers`, `fiber`, `mailbox`, `channels`, `messages`: the scheduler's state."""

    # ------------------------------------------------------------------ lookups

    def _stopped_vm(self):
        """The VM when its program is stopped (fibers can be read), else None."""
        if self.state.state != "stopped" or self.vm is None:
            return None
        return self.vm

    def _fiber_obj(self, n: int) -> rs.Fiber:
        """Fiber number `n` of the stopped program; NoThreadError worded as gdb's `thread N`."""
        vm = self._stopped_vm()
        if vm is None or not 1 <= n <= len(vm.sched.fibers):
            raise NoThreadError(f"Unknown thread {n}.", thread=n)
        return vm.sched.fiber(n)

    def _top(self, f: rs.Fiber):
        """The innermost frame of fiber `f`: the VM's for the fiber that is running (or
        stopped), the fiber's own for the others; None when it has no frames."""
        vm = self.vm
        if f is vm.sched.current:
            return vm.frame
        return f.frame

    def _shown_top(self, f: rs.Fiber):
        """(level, frame) of the innermost frame `bt` shows (the globals initializer's is
        not shown), or (0, None)."""
        fr = self._top(f)
        level = 0
        while fr is not None and fr.fn.name == "<globals>":
            fr = fr.parent
            level += 1
        return (level, fr) if fr is not None else (0, None)

    def _where(self, f: rs.Fiber) -> tuple[str, str] | None:
        """(function, "FILE:LINE") of a fiber's innermost shown frame, or None."""
        level, fr = self._shown_top(f)
        if fr is None:
            return None
        row = fr.fn.line_at(self._pc_for(fr, level))
        return fr.fn.name, f"{fr.fn.file}:{row.line if row is not None else fr.fn.line}"

    # ------------------------------------------------------------------ records

    def _fiber_info(self, f: rs.Fiber) -> FiberInfo:
        level, fr = self._shown_top(f)
        frame = self._frame_info(fr, level) if fr is not None else None
        return FiberInfo(
            f.id, f.kind, f.name, f.state, f.template,
            waiting=f.wait.what if f.wait is not None and f.state == rs.BLOCKED else None,
            mailbox=len(f.mailbox) if f.mailbox is not None else None,
            capacity=f.capacity,
            function=frame.function if frame is not None else None,
            location=frame.location if frame is not None else None,
            selected=f.id == self._fiber_sel,
            current=f is self.vm.sched.current,
            reductions=f.reductions, frame=frame, parent=f.parent, slices=f.slices,
            created_step=f.created_step, handled=f.handled)

    def _fiber_name(self, fid: int | None) -> str:
        sched = self.vm.sched
        if not fid or fid > len(sched.fibers):
            return NO_VALUE
        return sched.fiber(fid).name

    def _values_text(self, values: tuple, tids: tuple) -> str:
        texts = [self._text(TypedValue(v, t)) for v, t in zip(values, tids, strict=False)]
        return texts[0] if len(texts) == 1 else "(" + ", ".join(texts) + ")"

    def _message_info(self, m: rs.Message) -> MessageInfo:
        receiver = self._fiber_name(m.receiver) if m.target == "actor" else \
            f"channel #{m.receiver}"
        return MessageInfo(
            m.id, m.sender, self._fiber_name(m.sender), m.target, m.receiver, receiver,
            self._values_text(m.values, m.tids), m.sent_step, m.received_step,
            self._fiber_name(m.received_by) if m.received_by else None)

    # ------------------------------------------------------------------ fibers

    def _predicate(self, name: str, value: str) -> Callable[[rs.Fiber], bool]:
        name = field_name(name)
        if name == "state":
            if value not in STATES:
                raise BadArgumentError(f'Invalid state "{value}": one of {", ".join(STATES)}.',
                                       argument="state", value=value)
            return lambda f: f.state == value
        if name == "kind":
            return lambda f: f.kind == value
        if name == "template":
            return lambda f: f.template == value

        def at(f: rs.Fiber) -> bool:
            where = self._where(f)
            return where is not None and (value in where[1] or value in where[0])
        return at

    def _group_key(self, name: str) -> Callable[[rs.Fiber], str]:
        name = field_name(name)
        if name == "state":
            return lambda f: f.state
        if name == "kind":
            return lambda f: f.kind
        if name == "template":
            return lambda f: f.template or NO_VALUE

        def where(f: rs.Fiber) -> str:
            w = self._where(f)
            return f"{w[0]} at {w[1]}" if w is not None else NO_VALUE
        return where

    def fibers(self, *, state: str | None = None, kind: str | None = None,
               template: str | None = None, location: str | None = None,
               without: tuple[str, str] | Iterable[tuple[str, str]] | None = None,
               group_by: str | None = None, start: int = 0, count: int | None = None,
               sort_by: str = "id", descending: bool = False) -> FiberPage:
        """The fibers that pass the filters, a page of them from `start` (`count` of
        them; None: all), in id order, as delve's `goroutines -with/-without/-group`.

        Args:
            state: runnable, running, blocked, idle or finished.
            kind: main, task, actor or thread.
            template: an actor's template (`Counter`), a pool worker's `pool #1`.
            location: a substring of the innermost frame's "FILE:LINE" or function name.
            without: a (field, value) pair, or several, that a fiber must not match (the
                fields above).
            group_by: one of the fields above: FiberPage.groups then holds (key, count)
                for the fibers that pass, most numerous first.
            sort_by: the order of the page, as Erlang's observer sorts its process
                table: "id"; "state" (running, runnable, blocked, idle, finished, each by
                id); "mailbox" (mailbox depth, then id; fibers that are not actors last
                either way); "reductions" (then id). `descending` reverses it.

        Without a stopped program the page is empty (gdb: "No threads.").
        """
        preds = []
        for name, value in (("state", state), ("kind", kind), ("template", template),
                            ("location", location)):
            if value is not None:
                preds.append(self._predicate(name, value))
        if without is not None:
            pairs = [without] if isinstance(without, tuple) and len(without) == 2 and \
                isinstance(without[0], str) else list(without)
            for name, value in pairs:
                p = self._predicate(name, value)
                preds.append(lambda f, p=p: not p(f))
        key = self._group_key(group_by) if group_by is not None else None
        if sort_by not in SORTS:
            raise BadArgumentError(f'Unknown sort "{sort_by}": one of {", ".join(SORTS)}.',
                                   argument="sort", value=sort_by)
        if start < 0 or (count is not None and count < 0):
            bad = ("start", start) if start < 0 else ("count", count)
            raise BadArgumentError("Start and count must not be negative.", argument=bad[0],
                                   value=bad[1])
        vm = self._stopped_vm()
        if vm is None:
            return FiberPage(0, start, ())
        every = vm.sched.fibers
        if preds:
            matching = [f for f in every if all(p(f) for p in preds)]
        else:
            matching = every
        if sort_by != "id" or descending:
            matching = _sorted(matching, sort_by, descending)
        groups: tuple[tuple[str, int], ...] = ()
        if key is not None:
            counts = Counter(key(f) for f in matching)
            groups = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        page = matching[start:] if count is None else matching[start:start + count]
        return FiberPage(len(matching), start, tuple(self._fiber_info(f) for f in page),
                         groups)

    def fiber(self, n: int) -> FiberInfo:
        """Fiber N (gdb's thread N); NoThreadError "Unknown thread N." if there is none."""
        return self._fiber_info(self._fiber_obj(n))

    def fiber_count(self) -> int:
        """How many fibers the stopped program has made (0 when it is not stopped)."""
        vm = self._stopped_vm()
        return len(vm.sched.fibers) if vm is not None else 0

    # ------------------------------------------------------------------ messages

    def mailbox(self, n: int) -> list[MessageInfo]:
        """The messages queued for actor N, oldest first (not the one it is handling)."""
        f = self._fiber_obj(n)
        if f.kind != "actor":
            raise BadArgumentError(f"Thread {n} ({f.name}) is not an actor.",
                                   argument="thread", value=n)
        return [self._message_info(m) for m in f.mailbox]

    def handling(self, n: int) -> MessageInfo | None:
        """The message actor N is handling now (its `handle` is on its stack), or None."""
        f = self._fiber_obj(n)
        if f.kind != "actor":
            raise BadArgumentError(f"Thread {n} ({f.name}) is not an actor.",
                                   argument="thread", value=n)
        return self._message_info(f.current_msg) if f.current_msg is not None else None

    def channels(self) -> list[ChannelInfo]:
        """Every channel the program has made, in order of creation."""
        vm = self._stopped_vm()
        if vm is None:
            return []
        out = []
        for ch in vm.sched.channels:
            out.append(ChannelInfo(
                ch.id, self._channel_type(ch.elem_tid), ch.capacity, ch.closed,
                tuple(self._values_text(m.values, m.tids) for m in ch.queue),
                tuple(f.id for f in ch.senders if f.state == rs.BLOCKED),
                tuple(f.id for f in ch.receivers if f.state == rs.BLOCKED),
                ch.sent, ch.received))
        return out

    def _channel_type(self, elem_tid: int) -> str:
        for d in self.program.types:
            if d.kind == "channel" and d.elem == elem_tid:
                return d.name
        return f"Channel<{self._type_name(elem_tid)}>"

    def messages(self, fiber: int | None = None, limit: int | None = None
                 ) -> list[MessageInfo]:
        """The sends the program made (to actors and into channels), oldest first; with
        `fiber`, those it sent or that were sent to it or taken by it; with `limit`, the
        last `limit` of them. The runtime remembers the last sched.MESSAGE_HISTORY."""
        vm = self._stopped_vm()
        if fiber is not None:
            self._fiber_obj(fiber)
        if vm is None:
            return []
        picked = []
        for m in reversed(vm.sched.messages):
            if limit is not None and len(picked) >= limit:
                break
            if fiber is None or m.sender == fiber or m.received_by == fiber or (
                    m.target == "actor" and m.receiver == fiber):
                picked.append(m)
        picked.reverse()
        return [self._message_info(m) for m in picked]

    def messages_total(self) -> int:
        """How many sends the program has made (the history keeps the last ones)."""
        vm = self._stopped_vm()
        return vm.sched.messages_total if vm is not None else 0


def _sorted(fibers: list[rs.Fiber], sort_by: str, descending: bool) -> list[rs.Fiber]:
    """`fibers` (in id order) in the order `sort_by` names (see `fibers`)."""
    if sort_by == "id":
        return fibers[::-1]
    if sort_by == "mailbox":
        have = [f for f in fibers if f.mailbox is not None]
        have.sort(key=lambda f: (-len(f.mailbox), f.id) if descending
                  else (len(f.mailbox), f.id))
        return have + [f for f in fibers if f.mailbox is None]
    if sort_by == "state":
        def key(f):
            return _STATE_ORDER.get(f.state, len(_STATE_ORDER)), f.id
    else:
        def key(f):
            return f.reductions, f.id
    return sorted(fibers, key=key, reverse=descending)


__all__ = ["FiberViews", "FIELDS", "KINDS", "SORTS", "STATES", "field_name"]
