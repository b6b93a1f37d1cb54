"""The Threads tab's view model: which fibers to list, in what order, and what to show of
the selected one. No Textual.

A `FiberQuery` is what the user asked for: a filter typed into the tab (`parse_filter`)
and a sort key. `fetch_rows` turns a query and a window of rows [start, start+count) into
one `Session.fibers(...)` call that asks the engine for those rows only, filtered and
sorted by the engine, and returns a `FiberRows`. `collect_detail` reads the selected
fiber and its mailbox. The rest are plain functions from engine records to the text the
widgets show.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields

from tui.model import PAGE, VarNode, location_text, short, var_nodes
from vyndbg.model import DebugError, FiberInfo, MessageInfo

STATES = ("running", "runnable", "blocked", "idle", "finished")   # the order of a state sort
KINDS = ("main", "task", "actor", "thread")
SORTS = ("id", "state", "mailbox")   # of the engine's sorts, those the tab offers
MAILBOX_SHOWN = 100      # queued messages of the selected actor listed in its detail

# A bare word of a filter: a state, a kind (singular or plural), else a template.
_WORDS = {**{s: ("state", s) for s in STATES},
          **{k: ("kind", k) for k in KINDS},
          **{k + "s": ("kind", k) for k in KINDS if k != "main"}}
_PREFIXES = {"state": "state", "kind": "kind", "template": "template", "t": "template",
             "at": "location"}


class FilterError(ValueError):
    """A filter the Threads tab cannot read; `str(e)` is one sentence."""


# -- the query -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FiberFilter:
    """The filters `Session.fibers` takes; None: no filter of that kind. `without` holds
    (field, value) pairs a fiber must not match."""

    state: str | None = None
    kind: str | None = None
    template: str | None = None
    location: str | None = None
    without: tuple[tuple[str, str], ...] = ()

    def engine_args(self) -> dict[str, object]:
        """The keyword arguments of `Session.fibers` for this filter."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) not in (None, ())}


def parse_filter(text: str) -> FiberFilter:
    """The filter typed into the Threads tab.

    Words, all of which must hold: a state (`blocked`, `idle`, ...) or a kind (`actor`,
    `tasks`, ...) filters by it; any other word is a template (`Counter`, an actor's
    template, exactly). `state:`, `kind:`, `template:` (or `t:`) and `at:` (a piece of the
    innermost frame's `FILE:LINE` or function name) say which explicitly; `-WORD` leaves
    out what WORD matches (`-finished`, `-actor`); quotes keep spaces (`t:"pool #1"`).
    Raises FilterError for a word it cannot read.
    """
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise FilterError(f"Unmatched quote in the filter ({e}).") from None
    found: dict[str, str] = {}
    without: list[tuple[str, str]] = []
    for word in words:
        if word.startswith("-") and len(word) > 1:
            without.append(_term(word[1:]))
            continue
        key, value = _term(word)
        if key in found and found[key] != value:
            raise FilterError(f'The filter has two {key}s: "{found[key]}" and "{value}".')
        found[key] = value
    return FiberFilter(**found, without=tuple(without))


def _term(word: str) -> tuple[str, str]:
    """(field, value) of one word of a filter."""
    prefix, sep, value = word.partition(":")
    if not (sep and prefix.lower() in _PREFIXES):
        return _WORDS.get(word.lower(), ("template", word))
    key = _PREFIXES[prefix.lower()]
    if not value:
        raise FilterError(f'"{word}" needs a value after the colon.')
    if key == "state" and value.lower() not in STATES:
        raise FilterError(f'"{value}" is not a state (one of {", ".join(STATES)}).')
    if key == "kind" and _WORDS.get(value.lower(), ("",))[0] != "kind":
        raise FilterError(f'"{value}" is not a kind (one of {", ".join(KINDS)}).')
    return (key, _WORDS[value.lower()][1] if key in ("state", "kind") else value)


@dataclass(frozen=True)
class FiberQuery:
    """The fibers the Threads tab lists and their order.

    sort: one of `Session.fibers`'s `sort_by` keys: `id`; `state` (running, runnable,
    blocked, idle, finished, each by id); `mailbox` (mailbox depth, then id; fibers without
    a mailbox last either way). `descending` reverses it, as the engine does.
    """

    filter: FiberFilter = FiberFilter()
    sort: str = "id"
    descending: bool = False

    def sorted_by(self, key: str) -> FiberQuery:
        """Sorted by `key`: the same key again reverses the order; a new key starts in its
        natural direction (the deepest mailboxes first, as Erlang's observer lists MsgQ)."""
        if key == self.sort:
            return FiberQuery(self.filter, key, not self.descending)
        return FiberQuery(self.filter, key, key == "mailbox")

    def filtered(self, f: FiberFilter) -> FiberQuery:
        return FiberQuery(f, self.sort, self.descending)


@dataclass(frozen=True)
class FiberRows:
    """Rows [start, start+len(rows)) of `query`'s list, of `total`, read at `generation`
    (a row is only good for the generation that read it). `error` says why there are none
    (the program is not running, a filter the engine refused)."""

    query: FiberQuery
    start: int
    total: int
    rows: tuple[FiberInfo, ...] = ()
    generation: int = 0
    error: str = ""


def fetch_rows(session, query: FiberQuery, start: int, count: int, generation: int = 0
               ) -> FiberRows:
    """Rows [start, start+count) of `query`, read from `session` (stopped): the engine
    filters, sorts and pages the list (`Session.fibers(sort_by=, descending=, start=,
    count=)`), so only the rows asked for are read. Raises DebugError as the engine does.
    """
    start, count = max(0, start), max(0, count)
    page = session.fibers(**query.filter.engine_args(), sort_by=query.sort,
                          descending=query.descending, start=start, count=count)
    return FiberRows(query, start, page.total, tuple(page.fibers), generation)


# -- the selected fiber --------------------------------------------------------------------

@dataclass(frozen=True)
class FiberDetail:
    """The selected fiber, as the Threads tab shows it under the list.

    `mailbox` holds the first MAILBOX_SHOWN queued messages (oldest first) of `queued`.
    `state` is an actor's state (`self`, fields loaded) while it handles a message.
    """

    info: FiberInfo
    mailbox: tuple[MessageInfo, ...] = ()
    queued: int = 0
    state: VarNode | None = None
    error: str = ""


def collect_detail(session, frames=()) -> FiberDetail | None:
    """The selected fiber of a stopped `session`; `frames` is its call stack (read already
    for the Call stack pane), where an actor's state is `self` of its outermost frame."""
    try:
        info = session.fiber(session.selected_thread)
    except DebugError:
        return None
    try:
        messages = session.mailbox(info.id) if info.kind == "actor" else []
    except DebugError as e:
        return FiberDetail(info, error=str(e))
    state = None
    if info.kind == "actor" and frames:
        me = next((v for v in frames[-1].args if v.name == "self"), None)
        if me is not None:
            node = var_nodes([me], ("$fiber", str(info.id)))[0]
            if node.expandable:
                kids = session.children(node.value.ref, 0, min(node.value.count, PAGE))
                node = VarNode(node.name, node.value, node.path, node.kind,
                               tuple(var_nodes(kids, node.path)))
            state = node
    return FiberDetail(info, tuple(messages[:MAILBOX_SHOWN]), len(messages), state)


# -- text ----------------------------------------------------------------------------------

def state_text(f: FiberInfo) -> str:
    """`blocked: receiving from channel #1`, `idle`."""
    return f"{f.state}: {f.waiting}" if f.waiting else f.state


def mailbox_text(f: FiberInfo) -> str:
    """Queued messages, `/capacity` when the mailbox is bounded; empty for a fiber without
    a mailbox."""
    if f.mailbox is None:
        return ""
    return f"{f.mailbox}/{f.capacity}" if f.capacity is not None else str(f.mailbox)


def where_text(f: FiberInfo) -> str:
    """`Counter::handle at a.vyn:5`; empty for a fiber that is not in a call."""
    if f.location is None and not f.function:
        return ""
    if f.location is None:
        return f.function or ""
    loc = location_text(f.location)
    return f"{f.function} at {loc}" if f.function else loc


def message_text(m: MessageInfo) -> str:
    """A queued message: `3  (from main)`."""
    return f"{short(m.value, 120)}  (from {m.sender_name or 'outside any fiber'})"


def title_text(f: FiberInfo) -> str:
    """`#5 task 5: blocked: receiving from channel #2`."""
    return f"#{f.id} {f.name}: {state_text(f)}"


def facts_text(f: FiberInfo) -> str:
    """What a fiber is: `actor of Counter · unbounded mailbox · 3 handled · 120
    reductions`."""
    facts = [f"{f.kind} of {f.template}" if f.template else f.kind]
    if f.kind == "actor":
        facts.append(f"mailbox capacity {f.capacity}" if f.capacity is not None
                     else "unbounded mailbox")
        facts.append(f"{f.handled} handled")
    facts.append(f"{f.reductions} reductions")
    return " · ".join(facts)


# -- what a snapshot holds -----------------------------------------------------------------

@dataclass(frozen=True)
class FiberWindow:
    """The rows of the Threads tab's list on screen: `count` rows of `query` from
    `start` (the snapshot reads those, and the widget asks for more as it scrolls)."""

    query: FiberQuery = FiberQuery()
    start: int = 0
    count: int = 60


@dataclass(frozen=True)
class FiberView:
    """The Threads tab after a stop: the rows on screen (None when the tab is not shown),
    the selected fiber, and how many fibers the program has in all (filters aside)."""

    rows: FiberRows | None = None
    detail: FiberDetail | None = None
    count: int = 0


def collect_fibers(session, window: FiberWindow | None, generation: int = 0, frames=()
                   ) -> FiberView:
    """The Threads tab of a stopped `session`: the rows of `window` (none without one),
    the selected fiber (whose stack is `frames`) and the number of fibers."""
    rows = None
    if window is not None:
        try:
            rows = fetch_rows(session, window.query, window.start, window.count, generation)
        except DebugError as e:
            rows = FiberRows(window.query, window.start, 0, generation=generation,
                             error=str(e))
    if rows is not None and not rows.error and not window.query.filter.engine_args():
        count = rows.total
    else:
        try:
            count = session.fibers(start=0, count=0).total
        except DebugError:
            count = 0
    return FiberView(rows, collect_detail(session, frames), count)
