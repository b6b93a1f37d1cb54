"""What the TUI looks like, at 80x24 and 160x48: screenshots compared with the ones committed
under tests/snapshots/.

Each case is saved twice: the SVG that `App.export_screenshot()` writes (colours and all)
and the same screen as plain text (readable in a diff, and quoted in docs/tui.md). After a
deliberate change of the layout, rewrite them with

    VYN_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_tui_snapshots.py

and look at the new SVGs in a browser before committing them. The SVGs depend on the
Textual version's rendering (8.x); the text files only on what the panes show.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from tests.test_tui_app import (
    ACTORS,
    HEAP,
    IN_SCOPE,
    SENT,
    command,
    heap_shown,
    jit_app,
    key,
    new_app,
    ready,
    screen_text,
    shown_ids,
    status,
    until,
)
from tests.tui_programs import FIB, PANIC
from tui.screens import HelpScreen
from tui.widgets.console import CommandInput
from tui.widgets.disasm import DisasmPane
from tui.widgets.fiber_table import FiberTable
from tui.widgets.heap import HeapPane
from tui.widgets.variables import VariableTree

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("VYN_UPDATE_SNAPSHOTS") == "1"


def without_addresses(text: str) -> str:
    """`text` with heap addresses (which change from run to run: the heap is mmap'd) as
    `0x` and as many `X`s, so that the layout stays the same; in an SVG, the name of its
    styles too (a hash of the screen, addresses included)."""
    text = re.sub(r"0x[0-9a-f]{8,}", lambda m: "0x" + "X" * (len(m.group()) - 2), text)
    return re.sub(r"terminal-\d+-", "terminal-0-", text)


def check(name: str, text: str, svg: str) -> None:
    txt_path, svg_path = SNAPSHOTS / f"{name}.txt", SNAPSHOTS / f"{name}.svg"
    if UPDATE or not txt_path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        txt_path.write_text(text, encoding="utf-8")
        svg_path.write_text(svg, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote the new snapshot {txt_path.name}; check it and run again")
        return
    assert text == txt_path.read_text(encoding="utf-8"), f"{name}: the screen changed"
    assert svg == svg_path.read_text(encoding="utf-8"), f"{name}: the colours changed"


async def stopped_in_fib(pilot) -> None:
    """fib(1) called from fib(2): three frames, a breakpoint on line 7, a watch."""
    app = pilot.app
    app.query_one(CommandInput).cursor_blink = False
    await ready(pilot)
    await command(pilot, "break 7")
    await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
    await key(pilot, "f11", lambda: "fib.vyn:4" in status(app))
    await command(pilot, "print n")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_stopped_at_a_breakpoint(size):
    async def scenario():
        app = new_app(FIB, "fib.vyn")
        async with app.run_test(size=size) as pilot:
            await stopped_in_fib(pilot)
            check(f"tui_stopped_{size[0]}x{size[1]}", screen_text(app),
                  app.export_screenshot())
    asyncio.run(scenario())


def test_a_panic_at_80x24():
    async def scenario():
        app = new_app(PANIC, "panic.vyn")
        async with app.run_test(size=(80, 24)) as pilot:
            app.query_one(CommandInput).cursor_blink = False
            await ready(pilot)
            await key(pilot, "f5", lambda: "panicked" in status(app))
            await pilot.pause()
            check("tui_panic_80x24", screen_text(app), app.export_screenshot())
    asyncio.run(scenario())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_the_threads_tab(size):
    """Three actors with queued messages and a blocked task, by mailbox depth, the deepest
    mailbox selected."""
    async def scenario():
        app = new_app(ACTORS, "actors.vyn")
        async with app.run_test(size=size) as pilot:
            app.query_one(CommandInput).cursor_blink = False
            await ready(pilot)
            await command(pilot, f"break {SENT}")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            table = app.query_one(FiberTable)
            await key(pilot, "f4", lambda: len(shown_ids(table)) == 5)
            await key(pilot, "m", lambda: shown_ids(table) == [2, 4, 3, 1, 5])
            await key(pilot, "enter", lambda: table.selected == 2 and app.snapshot.threads
                      .detail.info.id == 2)
            await pilot.pause()
            check(f"tui_threads_{size[0]}x{size[1]}", screen_text(app),
                  app.export_screenshot())
    asyncio.run(scenario())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_the_heap_tab(size):
    """Stopped inside a scoped block, with 200 Items of garbage: the generations, the live
    types and main's region; the Shelf open, its items expanded (on a short screen the
    object takes the tab; on a tall one it shares it with the types)."""
    async def scenario():
        app = new_app(HEAP, "heap.vyn")
        async with app.run_test(size=size) as pilot:
            app.query_one(CommandInput).cursor_blink = False
            await ready(pilot)
            await command(pilot, f"break {IN_SCOPE}")
            await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
            pane = app.query_one(HeapPane)
            name = f"tui_heap_{size[0]}x{size[1]}"
            if size == (80, 24):
                await key(pilot, "f3", lambda: heap_shown(app) and app.focused is pane.types)
                await pilot.pause()
                check(name, screen_text(app), app.export_screenshot())
                return
            tree = app.query_one("#variables", VariableTree)
            await pilot.press("f8", "down", "down")         # shelf
            assert app.focused is tree
            obj = pane.object_tree
            await key(pilot, "o", lambda: heap_shown(app) and pane.view.object is not None
                      and app.focused is obj)
            items = obj.root.children[5]
            obj.move_cursor(items)
            await key(pilot, "space", lambda: len(items.children) == 3)
            await pilot.pause()
            check(name, without_addresses(screen_text(app)),
                  without_addresses(app.export_screenshot()))
    asyncio.run(scenario())


def test_the_help_screen_at_80x24():
    async def scenario():
        app = new_app(FIB, "fib.vyn")
        async with app.run_test(size=(80, 24)) as pilot:
            app.query_one(CommandInput).cursor_blink = False
            await ready(pilot)
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.pause()
            check("tui_help_80x24", screen_text(app), app.export_screenshot())
    asyncio.run(scenario())


# -- under a JIT (vyn debug --jit=eager) ----------------------------------------------------

def rebased_registers(session) -> None:
    """Registers that hold addresses read as if the code, heap and stacks were mapped at
    0x7f0000000000: where unicorn's memory lands differs from run to run (and from the
    first session of a process to the next), the offset in a page does not."""
    registers = session.registers

    def stable() -> list[tuple[str, int]]:
        return [(name, 0x7f0000000000 | (value & 0xfff) if value >= 1 << 24 else value)
                for name, value in registers()]
    session.registers = stable


async def stopped_in_native_fib(pilot) -> None:
    """As stopped_in_fib, compiled: fib(1) and fib(2) run machine code, main bytecode; a
    breakpoint on line 4 too, where fib(1) is."""
    app = pilot.app
    app.query_one(CommandInput).cursor_blink = False
    rebased_registers(app.session)
    await ready(pilot)
    await command(pilot, "break 7")
    await key(pilot, "f5", lambda: "breakpoint 1" in status(app))
    await key(pilot, "f11", lambda: "fib.vyn:4" in status(app))
    await command(pilot, "break 4")
    await pilot.pause()


def test_the_stack_shows_tiers_under_a_jit_at_80x24():
    async def scenario():
        app = jit_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await stopped_in_native_fib(pilot)
            check("tui_jit_stopped_80x24", without_addresses(screen_text(app)),
                  without_addresses(app.export_screenshot()))
    asyncio.run(scenario())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_the_disassembly_tab(size):
    """F2, then `s` (stepi): the arrow on the instruction after the breakpoint's, the
    registers that changed (rip, eflags) highlighted; below the listing at 80x24, beside
    it at 160x48."""
    async def scenario():
        app = jit_app()
        async with app.run_test(size=size) as pilot:
            await stopped_in_native_fib(pilot)
            pane = app.query_one(DisasmPane)
            await key(pilot, "f2", lambda: pane.view is not None
                      and pane.generation == app.snapshot.generation)
            await key(pilot, "s", lambda: "stepi" in status(app) and pane.generation
                      == app.snapshot.generation)
            await pilot.pause()
            await pilot.pause()
            check(f"tui_disasm_{size[0]}x{size[1]}", without_addresses(screen_text(app)),
                  without_addresses(app.export_screenshot()))
    asyncio.run(scenario())
