"""Pausing Python's cyclic garbage collector while the front end builds its data.

Lexing, parsing and checking allocate hundreds of thousands of long-lived objects
(tokens, spans, tree nodes, types) and free almost none of them until the phase ends.
Every few hundred allocations the collector would scan the young ones, find no garbage
and promote them, and its older generations would rescan the growing tree: on a 1 MB
program that was about half of the front end's time. Reference counting still frees
what dies during a pause; only cycles wait for the collector, which runs again as soon
as the outermost pause ends. The pause nests, and is shared between threads: the
collector comes back when the last paused phase in the process ends.

When it comes back, everything allocated during the pause would still count as young,
and the first young collection would scan it all (0.3 s after a 1 MB program) to find
it alive. So an outermost pause that allocated much (PROMOTE_AFTER tracked objects) ends
by moving every tracked object to the oldest generation (`gc.freeze()` then
`gc.unfreeze()`: two list splices, no scan). Small pauses (a debugger expression, a
highlighted file) end normally, so a long-running debugger's young garbage is not
promoted each time it parses something. Nothing is
exempted from collection: cycles among those objects are found by the next full
collection. (This unfreezes objects that someone else froze; nothing in Vyn freezes.)
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

PROMOTE_AFTER = 50_000   # tracked objects a pause allocated; fewer are scanned cheaply

_lock = threading.Lock()
_depth = 0
_was_enabled = False

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off (restored to its prior state after)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                if gc.get_count()[0] >= PROMOTE_AFTER:
                    gc.freeze()      # all generations -> permanent, young count reset
                    gc.unfreeze()    # permanent -> oldest generation
                gc.enable()


def pauses_gc(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: the whole call runs inside `gc_paused()`."""
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with gc_paused():
            return fn(*args, **kwargs)
    return wrapper
