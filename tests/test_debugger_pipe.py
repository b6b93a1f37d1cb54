"""`vyn debug` into a pipe whose reader closes early (`... | head`): every command ends
with exit 141, as a process killed by SIGPIPE, or 0 when its output fit in the pipe; it
never hangs and never reports an internal error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOOD = """\
fn show(i: Int) {
  println("line {}", i)
}
fn main() {
  var i = 0
  while i < 200000 {
    show(i)
    i += 1
  }
}
"""
COMMANDS = [
    ["run"],
    ["break show", "run", "bt", "info locals", "continue 100"],
    ["info functions"],
    ["list 1,9"],
    ["break show", "run", "info threads", "info frame", "display i", "next", "next"],
    ["help"],
]


def pipe_into_head(args: list[str], merge_stderr: bool) -> tuple[int, str]:
    """Run `vyn debug ... [2>&1] | head -1`: the exit code and what stderr said."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "vyndbg.cli", "debug", *args],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    proc.stdout.readline()
    proc.stdout.close()                  # the reader goes away, as `head -1` does
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"`vyn debug {' '.join(args)}` hung after its reader closed the pipe")
    err = "" if merge_stderr else proc.stderr.read().decode()
    if not merge_stderr:
        proc.stderr.close()
    return code, err


@pytest.mark.slow
@pytest.mark.parametrize("merge_stderr", [False, True], ids=["stdout", "2>&1"])
@pytest.mark.parametrize("commands", COMMANDS, ids=[c[-1] for c in COMMANDS])
def test_a_closed_pipe_ends_the_debugger_with_141(tmp_path, commands, merge_stderr):
    program = tmp_path / "flood.vyn"
    program.write_text(FLOOD)
    args = [str(program), "--batch"]
    for c in commands:
        args += ["-ex", c]
    code, err = pipe_into_head(args, merge_stderr)
    assert code in (0, 141), (code, err)
    assert "internal error" not in err and "Traceback" not in err, err
    if commands == ["run"]:
        assert code == 141      # 200,000 lines never fit in a pipe
