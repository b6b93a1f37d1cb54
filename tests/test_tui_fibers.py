"""The Threads tab's view model without a terminal or an engine: a fake session that answers
`Session.fibers(...)` as the engine's contract says, and what the tab would list.
"""

from __future__ import annotations

import pytest

from tui.fibers import (
    FiberFilter,
    FiberQuery,
    FiberWindow,
    FilterError,
    collect_detail,
    collect_fibers,
    facts_text,
    fetch_rows,
    mailbox_text,
    message_text,
    parse_filter,
    state_text,
    title_text,
    where_text,
)
from vyndbg.model import (
    DebugError,
    FiberInfo,
    FiberPage,
    FrameInfo,
    Location,
    MessageInfo,
    ValueInfo,
    Variable,
)

_STATE_ORDER = ("running", "runnable", "blocked", "idle", "finished")


class FakeSession:
    """The fiber part of vyndbg.engine.Session, over a list of FiberInfo; it records every
    `fibers` call so a test can see what the tab asked for. It filters, groups, sorts and
    pages as `Session.fibers` says it does (vyndbg/fibers.py)."""

    def __init__(self, fibers: list[FiberInfo], mailboxes: dict | None = None):
        self._fibers = fibers
        self._mailboxes = mailboxes or {}
        self.calls: list[dict] = []
        self.selected_thread = 1

    def fibers(self, *, state=None, kind=None, template=None, location=None, without=None,
               group_by=None, start=0, count=None, sort_by="id", descending=False
               ) -> FiberPage:
        self.calls.append(dict(state=state, kind=kind, template=template, group_by=group_by,
                               start=start, count=count, sort_by=sort_by,
                               descending=descending))
        if sort_by not in ("id", "state", "mailbox", "reductions"):
            raise DebugError(f'Unknown sort "{sort_by}".')
        out = [f for f in self._fibers
               if (state is None or f.state == state) and (kind is None or f.kind == kind)
               and (template is None or f.template == template)
               and not any(getattr(f, k) == v for k, v in without or ())]
        if sort_by == "mailbox":
            have = sorted((f for f in out if f.mailbox is not None),
                          key=lambda f: (-f.mailbox if descending else f.mailbox, f.id))
            out = have + [f for f in out if f.mailbox is None]
        else:
            def key(f):
                if sort_by == "state":
                    return _STATE_ORDER.index(f.state), f.id
                return (f.reductions, f.id) if sort_by == "reductions" else f.id
            out = sorted(out, key=key, reverse=descending)
        groups = ()
        if group_by == "state":
            seen: dict[str, int] = {}
            for f in out:
                seen[f.state] = seen.get(f.state, 0) + 1
            groups = tuple(seen.items())
        end = None if count is None else start + count
        return FiberPage(len(out), start, tuple(out[start:end]), groups)

    def fiber(self, n: int) -> FiberInfo:
        for f in self._fibers:
            if f.id == n:
                return f
        raise DebugError(f"Invalid thread ID: {n}")

    def select_thread(self, n: int) -> FiberInfo:
        self.selected_thread = self.fiber(n).id
        return self.fiber(n)

    def mailbox(self, n: int) -> list[MessageInfo]:
        return list(self._mailboxes.get(n, []))

    def children(self, ref, start=0, count=None):
        return [Variable("count", ValueInfo("Int", "5"), "field")][start:]

    @property
    def rows_read(self) -> int:
        """FiberInfo records the tab asked the engine for (an unbounded call: all)."""
        return sum(c["count"] if c["count"] is not None else len(self._fibers)
                   for c in self.calls)


def actor(n: int, state: str = "idle", queued: int = 0, template: str = "Counter",
          capacity: int | None = None) -> FiberInfo:
    return FiberInfo(n, "actor", f"actor {template}#{n}", state, template, mailbox=queued,
                     capacity=capacity)


def program() -> FakeSession:
    """main blocked on a channel, three actors with 3, 0 and 2 queued messages, a task."""
    return FakeSession([
        FiberInfo(1, "main", "main", "blocked", waiting="receiving from channel #1",
                  function="main", location=Location("a.vyn", 20)),
        actor(2, "runnable", 3),
        actor(3, "idle", 0),
        actor(4, "runnable", 2, "Logger", capacity=4),
        FiberInfo(5, "task", "task 5", "running", function="work",
                  location=Location("a.vyn", 9)),
    ], {2: [MessageInfo(7, 1, "main", "actor", 2, "actor Counter#2", "40", 3),
            MessageInfo(8, 1, "main", "actor", 2, "actor Counter#2", "2", 3)]})


def ids(rows) -> list[int]:
    return [f.id for f in rows.rows]


# -- the filter box -------------------------------------------------------------------------

def test_a_word_filters_by_state_kind_or_template():
    assert parse_filter("blocked") == FiberFilter(state="blocked")
    assert parse_filter("actors") == FiberFilter(kind="actor")
    assert parse_filter("Counter") == FiberFilter(template="Counter")
    assert parse_filter("  Idle  Counter ") == FiberFilter(state="idle", template="Counter")
    assert parse_filter("") == FiberFilter()
    assert parse_filter('t:"pool #1" -finished -Logger at:a.vyn:12') == FiberFilter(
        template="pool #1", location="a.vyn:12",
        without=(("state", "finished"), ("template", "Logger")))
    assert parse_filter("state:BLOCKED kind:tasks") == FiberFilter(state="blocked",
                                                                  kind="task")
    assert FiberFilter(state="idle", template="Counter").engine_args() == \
        {"state": "idle", "template": "Counter"}


@pytest.mark.parametrize("text, says", [
    ("blocked idle", "two states"),
    ("state:asleep", "not a state"),
    ("kind:", "needs a value"),
    ('t:"pool', "Unmatched quote"),
])
def test_a_filter_that_cannot_be_read_says_why(text, says):
    with pytest.raises(FilterError, match=says):
        parse_filter(text)


# -- rows, asked for a page at a time -------------------------------------------------------

def asked(s: FakeSession) -> list[tuple]:
    """(start, count, sort_by, descending) of each `fibers` call."""
    return [(c["start"], c["count"], c["sort_by"], c["descending"]) for c in s.calls]


def test_rows_by_id_come_from_the_engine_a_window_at_a_time():
    s = program()
    rows = fetch_rows(s, FiberQuery(), 1, 2)
    assert (rows.start, rows.total, ids(rows)) == (1, 5, [2, 3])
    assert s.calls == [dict(state=None, kind=None, template=None, group_by=None, start=1,
                            count=2, sort_by="id", descending=False)]
    down = fetch_rows(s, FiberQuery(sort="id", descending=True), 0, 2)
    assert (down.total, ids(down)) == (5, [5, 4])
    assert ids(fetch_rows(s, FiberQuery(sort="id", descending=True), 4, 10)) == [1]
    assert asked(s)[1:] == [(0, 2, "id", True), (4, 10, "id", True)]


def test_a_filter_narrows_the_rows():
    s = program()
    q = FiberQuery(parse_filter("Counter"))
    assert ids(fetch_rows(s, q, 0, 10)) == [2, 3]
    assert s.calls[-1]["template"] == "Counter"
    assert fetch_rows(s, FiberQuery(parse_filter("blocked")), 0, 10).total == 1


def test_the_engine_sorts_by_state_one_window_per_call():
    s = program()
    q = FiberQuery().sorted_by("state")
    assert not q.descending
    rows = fetch_rows(s, q, 0, 10)
    # running, runnable, blocked, idle: each group by id.
    assert ids(rows) == [5, 2, 4, 1, 3] and rows.total == 5
    assert ids(fetch_rows(s, q, 2, 2)) == [4, 1]
    assert ids(fetch_rows(s, q.sorted_by("state"), 0, 2)) == [3, 1]
    assert asked(s) == [(0, 10, "state", False), (2, 2, "state", False),
                        (0, 2, "state", True)]


def test_the_engine_sorts_by_mailbox_depth_the_deepest_first_and_fibers_without_one_last():
    s = program()
    q = FiberQuery().sorted_by("mailbox")
    assert q.descending
    rows = fetch_rows(s, q, 0, 3)
    assert ids(rows) == [2, 4, 3] and rows.total == 5
    assert ids(fetch_rows(s, q, 3, 3)) == [1, 5]
    assert ids(fetch_rows(s, q.sorted_by("mailbox"), 0, 5)) == [3, 4, 2, 1, 5]
    # Each window is one call for that window: the tab never reads the whole list.
    assert asked(s) == [(0, 3, "mailbox", True), (3, 3, "mailbox", True),
                        (0, 5, "mailbox", False)]


def test_ten_thousand_fibers_cost_only_the_rows_on_screen():
    s = FakeSession([actor(n, queued=n % 7) for n in range(1, 10_001)])
    window = FiberWindow(FiberQuery(), 9_980, 40)
    view = collect_fibers(s, window, generation=3)
    assert view.count == 10_000 and view.rows.total == 10_000
    assert ids(view.rows)[0] == 9_981 and len(view.rows.rows) == 20
    assert view.rows.generation == 3
    assert s.rows_read <= 41
    for sort in ("state", "mailbox"):
        s.calls.clear()
        rows = fetch_rows(s, FiberQuery().sorted_by(sort), 5_000, 40)
        assert len(rows.rows) == 40 and s.rows_read == 40
    deepest_first = sorted(range(1, 10_001), key=lambda n: (-(n % 7), n))
    assert ids(rows) == deepest_first[5_000:5_040]


def test_without_a_window_the_snapshot_reads_no_rows():
    s = program()
    view = collect_fibers(s, None)
    assert view.rows is None and view.count == 5
    assert view.detail.info.name == "main"


def test_an_engine_error_is_kept_in_the_rows():
    class Refusing(FakeSession):
        def fibers(self, **kw):
            raise DebugError("The program is not being run.")
    view = collect_fibers(Refusing([]), FiberWindow())
    assert view.rows.error == "The program is not being run." and view.rows.rows == ()
    assert view.count == 0 and view.detail is None


# -- the selected fiber ---------------------------------------------------------------------

def test_the_detail_of_an_actor_lists_its_queued_messages_and_its_state():
    s = program()
    s.select_thread(2)
    me = Variable("self", ValueInfo("Counter", "Counter { count: 5 }", ref=("obj", 1),
                                    count=1), "param")
    frames = (FrameInfo(0, "Counter::handle", Location("a.vyn", 4), 0, args=(me,)),)
    d = collect_detail(s, frames)
    assert d.info.id == 2 and d.queued == 2
    assert [message_text(m) for m in d.mailbox] == ["40  (from main)", "2  (from main)"]
    assert d.state.label == "self: Counter = Counter { count: 5 }"
    assert [c.label for c in d.state.children] == ["count: Int = 5"]
    assert title_text(d.info) == "#2 actor Counter#2: runnable"
    assert facts_text(d.info) == "actor of Counter · unbounded mailbox · 0 handled · " \
        "0 reductions"


def test_row_text_says_what_a_fiber_waits_on_and_where_it_is():
    s = program()
    main, logger = s.fiber(1), s.fiber(4)
    assert state_text(main) == "blocked: receiving from channel #1"
    assert where_text(main) == "main at a.vyn:20"
    assert mailbox_text(main) == "" and mailbox_text(logger) == "2/4"
    assert where_text(logger) == ""
    assert title_text(main) == "#1 main: blocked: receiving from channel #1"
    assert facts_text(main) == "main · 0 reductions"
    assert facts_text(logger) == "actor of Logger · mailbox capacity 4 · 0 handled · " \
        "0 reductions"
