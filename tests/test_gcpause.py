"""The front end's collector pause: nests, survives exceptions, restores the prior state."""

from __future__ import annotations

import gc

import pytest

from compiler.diagnostics import DiagnosticSink
from compiler.gcpause import PROMOTE_AFTER, gc_paused, pauses_gc
from compiler.parser import parse
from compiler.span import SourceFile


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after_nested_pauses():
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()      # the outer pause still holds
    assert gc.isenabled()


def test_an_exception_inside_a_pause_still_restores_the_collector():
    @pauses_gc
    def boom():
        assert not gc.isenabled()
        raise ValueError("x")

    with pytest.raises(ValueError):
        boom()
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_parsing_runs_paused_and_leaves_the_collector_as_it_was():
    seen = []
    src = SourceFile("t.vyn", "fn main() {\n  println(1)\n}\n")

    @pauses_gc
    def inner():
        seen.append(gc.isenabled())
        return parse(src, DiagnosticSink())

    inner()
    assert seen == [False]
    assert gc.isenabled()


def test_what_a_pause_allocated_leaves_it_old_and_collectable_not_frozen():
    with gc_paused():
        made = [[i] for i in range(PROMOTE_AFTER)]   # tracked, young if nothing is done
    assert gc.get_count()[0] < 1_000            # nothing young left to scan
    assert gc.get_freeze_count() == 0           # and nothing exempt from collection
    assert gc.is_tracked(made[0])
    cycle: list = []
    cycle.append(cycle)
    with gc_paused():
        del cycle
    assert gc.collect() >= 1                    # a cycle that died in a pause is collected


def test_a_small_pause_ends_without_promoting_young_objects():
    gc.collect()
    with gc_paused():
        made = [[i] for i in range(100)]
    assert gc.get_count()[0] >= 100              # still young: a cheap scan will see them
    assert gc.is_tracked(made[0])
