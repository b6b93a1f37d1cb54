"""Key press to redraw in the debugger TUI: how long F10 (`next`) takes to show the new line.

Runs the app headless (80x24 unless told), stopped in a small loop, presses F10 N times
and, for each, times from the key event entering the app (as the terminal driver posts
it) to the first screen update that shows the new line in the status bar, including
turning that update into terminal escape codes. Prints the median and spread, and how
much of it is the engine (`next` plus reading the stack, variables and breakpoints on the
engine thread).

Run: python bench/tui_latency.py [PRESSES] [WIDTHxHEIGHT]   (target: median <= 30 ms)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402

from compiler.lower import compile_file  # noqa: E402
from tui.app import VynDebugApp  # noqa: E402
from tui.widgets.panes import StatusBar  # noqa: E402

SOURCE = """\
fn main() {
  var total = 0
  for i in 0..<100000 {
    total += i
    total -= 1
  }
  println("{}", total)
}
"""


async def measure(presses: int, size: tuple[int, int]) -> tuple[list[float], list[float]]:
    program = compile_file("loop.vyn", SOURCE).program
    app = VynDebugApp(program, path="loop.vyn")
    shown: list[tuple[float, str]] = []
    engine: list[float] = []

    async with app.run_test(size=size) as pilot:
        status = app.query_one(StatusBar)
        display = app._display

        def timed_display(screen, update) -> None:
            display(screen, update)
            if update is not None:
                update.render_segments(app.console)   # what a terminal would be sent
                shown.append((time.perf_counter(), status.status.where))
        app._display = timed_display

        resume = app.controller.resume

        def timed_resume(how, view):
            start = time.perf_counter()
            try:
                return resume(how, view)
            finally:
                engine.append(time.perf_counter() - start)
        app.controller.resume = timed_resume

        async def until(predicate, timeout=10.0) -> None:
            deadline = time.monotonic() + timeout
            while not predicate():
                if time.monotonic() > deadline:
                    raise SystemExit("timed out: the app did not respond")
                await asyncio.sleep(0.001)

        await until(lambda: app.snapshot is not None)
        app.controller.execute("break 4")
        app.post_message(events.Key("f5", None))
        await until(lambda: status.status.where.endswith("loop.vyn:4"))
        await pilot.pause(0.2)
        engine.clear()

        latencies = []
        for _ in range(presses):
            before = status.status.where
            shown.clear()
            start = time.perf_counter()
            app.post_message(events.Key("f10", None))
            await until(lambda before=before: any(where != before for _, where in shown))
            stamp = next(t for t, where in shown if where != before)
            latencies.append(stamp - start)
            await asyncio.sleep(0.02)
    return latencies, engine


def main() -> None:
    presses = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    width, height = (int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "80x24").split("x"))
    latencies, engine = asyncio.run(measure(presses, (width, height)))
    ms = sorted(x * 1000 for x in latencies)
    eng = sorted(x * 1000 for x in engine)
    print(f"F10 (next) key press -> redraw, {len(ms)} presses, {width}x{height} headless")
    print(f"  median {statistics.median(ms):6.1f} ms   min {ms[0]:6.1f}   "
          f"p90 {ms[int(len(ms) * 0.9) - 1]:6.1f}   max {ms[-1]:6.1f}")
    print(f"  engine thread (next + snapshot): median {statistics.median(eng):6.1f} ms")


if __name__ == "__main__":
    main()
