"""`vyn debug`: what a user types at the shell and what they see, end to end through
`vyndbg.cli.main`."""

from __future__ import annotations

import io
import sys

import pytest

from tests.test_debugger_linemode import FIB, normalize
from vyndbg import prompt
from vyndbg.cli import main
from vyndbg.linemode import LineMode


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fib.vyn").write_text(FIB, encoding="utf-8")
    return tmp_path


def vyn(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, normalize(out), err


def test_batch_runs_the_commands_and_exits(workdir, capsys):
    code, out, err = vyn(capsys, "debug", "fib.vyn", "--batch", "-ex", "break fib if n == 3",
                         "-ex", "run", "-ex", "bt", "-ex", "print n * 10")
    assert (code, err) == (0, "")
    assert out.splitlines() == [      # as gdb -batch: no "Starting program:"
        "Breakpoint 1 at pc 0: file fib.vyn, line 2.",
        "",
        "Breakpoint 1, fib (n=3) at fib.vyn:2",
        "2\t  if n < 2 {",
        "#0  fib (n=3) at fib.vyn:2",
        "#1  main () at fib.vyn:11",
        "$1 = 30",
    ]


def test_batch_exit_status_is_1_when_the_last_command_failed(workdir, capsys):
    code, out, err = vyn(capsys, "debug", "fib.vyn", "--batch", "-ex", "frobnicate")
    assert (code, out, err) == (1, "", 'Undefined command: "frobnicate".  Try "help".\n')
    code, _, _ = vyn(capsys, "debug", "fib.vyn", "--batch", "-ex", "frobnicate", "-ex",
                     "info breakpoints")
    assert code == 0


def test_program_arguments_after_the_double_dash(workdir, capsys):
    code, out, _ = vyn(capsys, "debug", "fib.vyn", "--batch", "-ex", "run", "--", "a", "-b")
    assert code == 0
    assert out.splitlines() == ["total = 7", "[Inferior 1 (process 4242) exited normally]"]


def test_command_file_runs_in_order_with_ex_and_stops_at_an_error(workdir, capsys):
    (workdir / "cmds.gdb").write_text("# set up\nbreak fib\n\nrun\nnosuch\nbt\n")
    code, out, err = vyn(capsys, "debug", "fib.vyn", "--batch", "-ex", "tbreak main", "-x",
                         "cmds.gdb", "-ex", "info breakpoints")
    assert code == 0
    assert err == 'Undefined command: "nosuch".  Try "help".\n'
    assert out.splitlines() == [  # `bt` after the error in the file is skipped
        "Temporary breakpoint 1 at pc 0: file fib.vyn, line 9.",
        "Breakpoint 2 at pc 0: file fib.vyn, line 2.",
        "",
        "Temporary breakpoint 1, main () at fib.vyn:9",
        "9\t  var total = 0",
        "Num     Type           Disp Enb Address            What",
        "2       breakpoint     keep y   pc 0               in fib at fib.vyn:2",
    ]


def test_unreadable_command_file_exits_1(workdir, capsys):
    code, out, err = vyn(capsys, "debug", "fib.vyn", "--batch", "-x", "missing.gdb", "-ex",
                         "info breakpoints")
    assert code == 1
    assert err == "missing.gdb: No such file or directory.\n"
    assert out == "No breakpoints or watchpoints.\n"


def test_quit_sets_the_exit_status(workdir, capsys):
    code, _, _ = vyn(capsys, "debug", "fib.vyn", "--batch", "-ex", "start", "-ex", "quit 4",
                     "-ex", "info breakpoints")
    assert code == 4


def test_compile_errors_are_diagnostics_and_exit_1(workdir, capsys):
    (workdir / "bad.vyn").write_text("fn main() {\n  let x = 1\n  x = 2\n}\n")
    code, out, err = vyn(capsys, "debug", "bad.vyn", "--batch", "-ex", "run")
    assert code == 1
    assert out == ""
    assert "error[" in err and "bad.vyn:3" in err


def test_missing_program_is_a_usage_error(workdir, capsys):
    code, _, err = vyn(capsys, "debug", "nope.vyn", "--batch")
    assert code == 2
    assert err.startswith("vyn: cannot read 'nope.vyn'")


def test_cli_and_tui_exclude_each_other(workdir, capsys):
    code, _, err = vyn(capsys, "debug", "fib.vyn", "--cli", "--tui")
    assert code == 2
    assert "not allowed with argument" in err


def test_debugging_an_image(workdir, capsys):
    pytest.importorskip("llvmlite")
    assert vyn(capsys, "build", "fib.vyn", "-o", "fib")[0] == 0
    code, out, _ = vyn(capsys, "debug", "fib", "--batch", "-ex", "break fib if n == 2",
                       "-ex", "run", "-ex", "info args")
    assert code == 0
    assert out.splitlines()[-3:] == ["Breakpoint 1, fib (n=2) at fib.vyn:2",
                                     "2\t  if n < 2 {", "n = 2"]


def test_interactive_prompt_reads_standard_input(workdir, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("break 11\nrun\nnext\n\ninfo locals\n"))
    code, out, _ = vyn(capsys, "debug", "fib.vyn")
    assert code == 0
    assert out.split("(vyn) ") == [
        "",
        "Breakpoint 1 at pc 5: file fib.vyn, line 11.\n",
        "Starting program: fib.vyn\n\nBreakpoint 1, main () at fib.vyn:11\n"
        "11\t    total += fib(i)\n",
        "10\t  for i in 0..<5 {\n",
        "\nBreakpoint 1, main () at fib.vyn:11\n11\t    total += fib(i)\n",  # repeated next
        "i = 1\ntotal = 0\n",
        "quit\n",
    ]


def test_tui_hook_is_called_with_the_program(workdir, capsys, monkeypatch):
    app = pytest.importorskip("tui.app")
    calls = []
    monkeypatch.setattr(app, "run_tui", lambda program, **kw: calls.append(kw) or 0)
    code, _, _ = vyn(capsys, "debug", "fib.vyn", "--tui", "-ex", "break fib",
                     "--max-depth", "50", "--", "x")
    assert code == 0
    assert calls == [{"argv": ["x"], "path": "fib.vyn", "commands": ["break fib"],
                      "heap_limit": None, "max_depth": 50}]


def test_interact_quits_on_eof_and_ctrl_c_at_the_prompt_says_quit():
    out = io.StringIO()
    from compiler.lower import compile_file

    lm = LineMode(compile_file("fib.vyn", FIB).program, path="fib.vyn", out=out)
    typed = iter(["start", "\x03", "quit 7"])

    def read(prompt_text: str) -> str:
        line = next(typed)
        if line == "\x03":
            raise KeyboardInterrupt
        return line

    assert prompt.interact(lm, read) == 7
    assert "Quit\n" in out.getvalue()
    assert not lm.session.running
