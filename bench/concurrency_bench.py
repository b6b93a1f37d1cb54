"""Actor messaging and spawning in Vyn against CPython's asyncio, in one run.

    python bench/concurrency_bench.py [--round-trips N] [--spawns N] [--repeat N]

Rows (best of N runs each, default 3):
    round trips  two actors play ping-pong N times (A sends to B, B replies to A) against
                 two asyncio tasks doing the same through two asyncio.Queue objects
    spawns       N actors spawned, each sent one message that adds to a shared total,
                 against N asyncio tasks created with create_task and gathered

The Vyn side runs in-process through the project's entry points, as `vyn run` does:
`compiler.lower.compile_file` (timed apart, reported as compile time) then
`runtime.run.run_program` (the run time, from which the rates are computed). The asyncio
side is timed around `asyncio.run`, which like `run_program` includes setting up its
scheduler. Every run's output is checked, so a broken runtime fails the benchmark
instead of timing an error.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compiler.lower import compile_file  # noqa: E402
from runtime.run import run_program  # noqa: E402

# Ping starts with Ball(0); each round trip is Ping -> Pong (n + 1) -> Ping (Ball(n + 1)).
# Ping learns Pong's address from a Connect message, since each needs the other's.
PINGPONG = """\
enum PingMsg {
  Connect(Actor<Pong>),
  Ball(Int)
}

template Ping {
  var limit: Int
  var peer: Option<Actor<Pong>> = None
  fn handle(&mut self, msg: PingMsg) {
    match msg {
      Connect(pong) => {
        self.peer = Some(pong)
      }
      Ball(n) => {
        if n < self.limit {
          self.peer.unwrap().send(n + 1)
        } else {
          println("{}", n)
        }
      }
    }
  }
}

template Pong {
  var peer: Actor<Ping>
  fn handle(&mut self, n: Int) {
    self.peer.send(Ball(n))
  }
}

fn main() {
  let ping = actor Ping(limit=@N@)
  let pong = actor Pong(peer=ping)
  ping.send(Connect(pong))
  ping.send(Ball(0))
}
"""

# Each actor adds its message to a total shared by all of them (a class instance is a
# shared reference); the one that brings the count to N prints the total.
SPAWNS = """\
class Total {
  var count: Int = 0
  var sum: Int = 0
}

template Cell {
  var total: Total
  var limit: Int
  fn handle(&mut self, x: Int) {
    self.total.count += 1
    self.total.sum += x
    if self.total.count == self.limit {
      println("{}", self.total.sum)
    }
  }
}

fn main() {
  let total = Total()
  for i in 0..<@N@ {
    let cell = actor Cell(total=total, limit=@N@)
    cell.send(i)
  }
}
"""


async def py_pingpong(n: int) -> int:
    to_pong: asyncio.Queue = asyncio.Queue()
    to_ping: asyncio.Queue = asyncio.Queue()

    async def ping() -> int:
        await to_ping.put(0)
        while True:
            ball = await to_ping.get()
            if ball < n:
                await to_pong.put(ball + 1)
            else:
                await to_pong.put(None)   # tells pong to stop
                return ball

    async def pong() -> None:
        while True:
            ball = await to_pong.get()
            if ball is None:
                return
            await to_ping.put(ball)

    result, _ = await asyncio.gather(ping(), pong())
    return result


async def py_spawns(n: int) -> int:
    total = [0, 0]

    async def cell(x: int) -> None:
        total[0] += 1
        total[1] += x

    await asyncio.gather(*[asyncio.create_task(cell(i)) for i in range(n)])
    assert total[0] == n
    return total[1]


def best(fn, repeat: int) -> float:
    """The fastest of `repeat` timed calls of fn(), in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def vyn_times(name: str, source: str, expected: str, repeat: int) -> tuple[float, float]:
    """(compile seconds, run seconds) of `source`, best of `repeat` each; each run must
    print `expected` and exit 0."""
    def compile_it():
        out = compile_file(name, source)
        if out.program is None:
            sys.exit(f"concurrency_bench: {name} does not compile:\n"
                     + "\n".join(str(d) for d in out.diagnostics))
        return out.program

    program = compile_it()
    compile_s = best(compile_it, repeat)

    def run_it():
        stdout, stderr = io.StringIO(), io.StringIO()
        code = run_program(program, [name], stdout=stdout, stderr=stderr)
        if code != 0 or stdout.getvalue() != expected:
            sys.exit(f"concurrency_bench: {name} exited {code} and printed "
                     f"{stdout.getvalue()!r} (expected {expected!r}); stderr:\n"
                     f"{stderr.getvalue()}")

    return compile_s, best(run_it, repeat)


def python_time(coro_fn, n: int, expected: int, repeat: int) -> float:
    def run_it():
        got = asyncio.run(coro_fn(n))
        if got != expected:
            sys.exit(f"concurrency_bench: {coro_fn.__name__}({n}) gave {got}, expected "
                     f"{expected}")
    return best(run_it, repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=50_000, metavar="N",
                        help="ping-pong round trips (default 50000)")
    parser.add_argument("--spawns", type=int, default=50_000, metavar="N",
                        help="actors / tasks spawned (default 50000)")
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="runs per measurement; the best time counts (default 3)")
    args = parser.parse_args(argv)
    if min(args.round_trips, args.spawns, args.repeat) < 1:
        parser.error("sizes and --repeat must be at least 1")

    trips, spawns = args.round_trips, args.spawns
    rows = []
    compile_s, run_s = vyn_times("pingpong.vyn", PINGPONG.replace("@N@", str(trips)),
                                 f"{trips}\n", args.repeat)
    py_s = python_time(py_pingpong, trips, trips, args.repeat)
    rows.append((f"round trips ({trips})", compile_s, run_s, py_s, trips, "round trips/s"))

    total = spawns * (spawns - 1) // 2
    compile_s, run_s = vyn_times("spawns.vyn", SPAWNS.replace("@N@", str(spawns)),
                                 f"{total}\n", args.repeat)
    py_s = python_time(py_spawns, spawns, total, args.repeat)
    rows.append((f"spawns ({spawns})", compile_s, run_s, py_s, spawns, "spawns/s"))

    print(f"best of {args.repeat} runs; vyn in-process (compile_file, then run_program); "
          f"python {sys.version.split()[0]} asyncio")
    print(f"{'benchmark':<22}{'compile (s)':>12}{'vyn run (s)':>12}{'asyncio (s)':>12}"
          f"{'vyn /s':>12}{'asyncio /s':>12}{'ratio':>8}")
    for name, compile_s, run_s, py_s, n, _unit in rows:
        print(f"{name:<22}{compile_s:>12.4f}{run_s:>12.3f}{py_s:>12.3f}"
              f"{n / run_s:>12,.0f}{n / py_s:>12,.0f}{run_s / py_s:>7.1f}x")
    print("ratio: vyn run time / asyncio time (above 1: vyn is slower); "
          "rates use the run time only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
