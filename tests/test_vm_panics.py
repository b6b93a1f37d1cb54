"""Panics that depend on the runtime's limits: out of memory under --heap-limit, stack
overflow under --max-depth, dangling references after a scoped block, and Ctrl-C."""

from __future__ import annotations

import pytest

from vyndbg.cli import main

GROW = """\
fn main() {
  var v = vec![0]
  var i = 0
  while true {
    v.push(i)
    i += 1
  }
}
"""

DEEP = """\
fn down(n: Int) -> Int {
  down(n + 1) + 1
}
fn main() {
  println(down(0))
}
"""

DANGLING = """\
class Node {
  var value: Int
}
fn keep(v: Vec<Node>, n: Node) {
  v.push(n)
}
fn main() {
  var saved = Vec<Node>()
  scoped {
    let n = Node(7)
    keep(saved, n)
  }
  println(saved[0].value)
}
"""


def run(tmp_path, monkeypatch, capsys, text: str, *options: str) -> tuple[int, str, str]:
    (tmp_path / "p.vyn").write_text(text)
    monkeypatch.chdir(tmp_path)
    code = main(["run", *options, "p.vyn"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_program_that_exhausts_its_heap_panics_with_out_of_memory(tmp_path, monkeypatch,
                                                                    capsys):
    code, _, err = run(tmp_path, monkeypatch, capsys, GROW, "--heap-limit", "1m")
    assert code == 101
    assert err.startswith("panic: out of memory\n")
    assert "  at main (p.vyn:5)" in err


def test_unbounded_recursion_panics_with_stack_overflow(tmp_path, monkeypatch, capsys):
    code, _, err = run(tmp_path, monkeypatch, capsys, DEEP, "--max-depth", "300")
    lines = err.splitlines()
    assert code == 101
    assert lines[0] == "panic: stack overflow"
    assert lines[1] == "  at down (p.vyn:2)"
    assert lines[-1] == "  at main (p.vyn:5)"
    # 299 frames of `down` (3 shown, the rest counted) and main's.
    assert lines[4] == "  ... 296 more frames of down (p.vyn:2) ..." and len(lines) == 6


def test_an_object_released_with_its_scoped_block_panics_when_used(tmp_path, monkeypatch,
                                                                   capsys):
    # The checker cannot see the escape through `keep`, so the runtime must catch it.
    code, _, err = run(tmp_path, monkeypatch, capsys, DANGLING)
    assert code == 101
    assert err.startswith("panic: dangling reference")
    assert "  at main (p.vyn:13)" in err


@pytest.mark.parametrize("text,message", [
    ("fn main() {\n  let v = vec![1]\n  println(v[3])\n}\n",
     "panic: index out of bounds: the len is 1 but the index is 3"),
    ("fn main() {\n  let x: Option<Int> = None\n  println(x.unwrap())\n}\n",
     "panic: called unwrap on None"),
    ("fn main() {\n  let d = 0\n  println(7 % d)\n}\n", "panic: division by zero"),
    ("fn main() {\n  panic(\"boom\")\n}\n", "panic: boom"),
])
def test_each_panic_prints_its_message_and_a_backtrace(tmp_path, monkeypatch, capsys, text,
                                                       message):
    code, _, err = run(tmp_path, monkeypatch, capsys, text)
    assert code == 101
    assert err.splitlines()[0] == message
    assert err.splitlines()[-1].startswith("  at main (p.vyn:")


def test_a_stack_overflow_backtrace_collapses_the_recursion(tmp_path, monkeypatch, capsys):
    code, _, err = run(tmp_path, monkeypatch, capsys, DEEP)
    assert code == 101
    lines = err.splitlines()
    assert lines[:5] == ["panic: stack overflow",
                         "  at down (p.vyn:2)", "  at down (p.vyn:2)", "  at down (p.vyn:2)",
                         "  ... 19,996 more frames of down (p.vyn:2) ..."]
    assert lines[-1] == "  at main (p.vyn:5)" and len(lines) == 6


def test_a_mutual_recursion_collapses_by_its_cycle(tmp_path, monkeypatch, capsys):
    text = "fn a(n: Int) -> Int { b(n) + 1 }\nfn b(n: Int) -> Int { a(n) + 1 }\n" \
           "fn main() { println(a(1)) }\n"
    code, _, err = run(tmp_path, monkeypatch, capsys, text, "--max-depth", "100")
    assert code == 101
    assert "  ... 92 more frames of the 2 frames above ..." in err.splitlines()


SPIN = """\
fn spin(n: Int) -> Int {
  var i = 0
  var t = 0
  while i < n {
    t += i % 7
    i += 1
  }
  t
}
fn main() {
  println("started")
  var k = 0
  while true {
    k += spin(100000)
  }
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("jit", ["off", "eager"])
def test_ctrl_c_stops_vyn_run_in_bytecode_and_in_native_code(tmp_path, jit):
    """SIGINT sets the VM's interrupt flag, which native code's reduction polls see too
    (a KeyboardInterrupt raised inside a native helper's callback would be swallowed)."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "spin.vyn").write_text(SPIN)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "vyndbg.cli", "run", f"--jit={jit}",
                             "spin.vyn"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.stdout.readline() == "started\n"
    import time
    time.sleep(1.0)                      # deep in the loop (native with eager)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("vyn run did not stop on Ctrl-C")
    assert proc.returncode == 130
    assert err.endswith("vyn: interrupted\n")
