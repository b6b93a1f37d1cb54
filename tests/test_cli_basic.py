"""The `vyn` command line: versions, help, usage errors, unreadable files and exit codes.

Most `vyn check` tests run against a stand-in for `compiler.driver.check_sources`, so they
pin the CLI's own behaviour whatever the checker reports; the examples use the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from compiler.diagnostics import Diagnostic, Label, Severity
from compiler.span import SourceFile
from vyndbg import __version__
from vyndbg.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_vyn(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`vyn ARGS...` in a child process, as a user would run it (installed or not)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "vyndbg.cli", *args], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": path}, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


@dataclass
class FakeResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, SourceFile] = field(default_factory=dict)


@pytest.fixture
def driver(monkeypatch):
    """A stand-in `compiler.driver` whose check_sources reports `driver.diagnostics(sources)`
    and records the sources it was given in `driver.seen`."""
    module = types.ModuleType("compiler.driver")
    module.seen = []
    module.diagnostics = lambda sources: []

    def check_sources(sources: list[SourceFile], load_import=None) -> FakeResult:
        files = list(sources)
        if load_import is not None:     # as the real driver: follow `import NAME` lines
            for source in files:
                for line in source.text.splitlines():
                    if line.startswith("import "):
                        found = load_import(source, line.split()[1].split("::"))
                        if found is not None and found not in files:
                            files.append(found)
        module.seen.extend(files)
        return FakeResult(module.diagnostics(files), {s.name: s for s in files})

    module.check_sources = check_sources
    monkeypatch.setitem(sys.modules, "compiler.driver", module)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return module


def unknown_name(src: SourceFile) -> Diagnostic:
    start = src.text.index("greeting")
    return Diagnostic("T2000", "unknown name `greeting`",
                      Label(src.span(start, start + 8), "not found in this scope"))


def unused(src: SourceFile) -> Diagnostic:
    return Diagnostic("W4001", "unused variable `x`", Label(src.span(0, 2)),
                      severity=Severity.WARNING)


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "greet.vyn"
    path.write_text("fn main() {\n  println(greeting)\n}\n", encoding="utf-8")
    return path


# -- version and help -------------------------------------------------------------------------

def test_version_in_a_child_process():
    done = run_vyn("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"vyn {__version__}\n", "")
    assert __version__ == "0.1.0"


def test_version_in_process(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == "vyn 0.1.0\n"


def test_help_lists_the_commands_and_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: vyn" in out
    assert "check" in out
    assert "exit status" in out


def test_check_help(capsys):
    assert main(["check", "--help"]) == 0
    assert "--error-format" in capsys.readouterr().out


# -- usage errors: one line, exit 2 -----------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    ([], "vyn: the following arguments are required: COMMAND (see 'vyn --help')"),
    (["frobnicate"], "vyn: argument COMMAND: invalid choice: 'frobnicate'"),
    (["check"], "vyn: the following arguments are required: FILE (see 'vyn check --help')"),
    (["check", "--error-format=xml", "a.vyn"], "vyn: argument --error-format: invalid choice"),
    (["check", "--bogus", "a.vyn"], "vyn: unrecognized arguments: --bogus"),
])
def test_usage_errors_print_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert captured.err.count("\n") == 1


def test_usage_error_in_a_child_process_has_no_traceback():
    done = run_vyn("check")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr



@pytest.mark.parametrize("argv", [
    ["run", "f.vyn"], ["run", "f.vyn", "--"], ["run", "f.vyn", "--", "a", "-x", "b"],
    ["run", "dir/f.vyn", "--", ""],
])
def test_plain_run_is_read_as_the_parser_reads_it(argv):
    """`vyn run FILE [-- ARGS]` is read without argparse (start-up time): the same
    arguments, defaults included, as the parser gives; a new option of `vyn run` must
    get its default in cli._RUN_DEFAULTS too."""
    from vyndbg import cli

    fast = cli._plain_run(argv)
    assert fast is not None
    assert vars(fast) == vars(cli.build_parser(argv).parse_args(argv))


@pytest.mark.parametrize("argv", [
    ["run"], ["run", "--jit=off", "f.vyn"], ["run", "f.vyn", "--jit=off"], ["run", "-"],
    ["run", "f.vyn", "a"], ["run", "f.vyn", "--", "a", "--", "b"], ["check", "f.vyn"],
])
def test_other_command_lines_go_to_the_parser(argv):
    from vyndbg import cli

    assert cli._plain_run(argv) is None


def test_a_plain_run_imports_no_argparse(tmp_path):
    """The build cache's fast path: `vyn run FILE` from the cache imports none of argparse,
    re, enum, typing, dataclasses, hashlib or pathlib (each costs milliseconds at start-up;
    `python -m vyndbg.cli` pays for none of them, pip's `vyn` script imports re)."""
    program = tmp_path / "p.vyn"
    program.write_text('fn main() {\n  println("hi")\n}\n')
    code = ("import sys\nfrom vyndbg.cli import main\nmain(['run', sys.argv[1]])\n"
            "heavy = ('argparse', 'typing', 'dataclasses', 'hashlib', 'pathlib', 'inspect', 're', "
            "'enum')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    env = dict(os.environ, VYN_CACHE=str(tmp_path / "cache"))
    outputs = []
    for _ in ("stored", "from the cache"):
        done = subprocess.run([sys.executable, "-c", code, str(program)], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.splitlines())
    assert outputs[0][0] == "hi"
    assert outputs[1] == ["hi", "[]"]


# -- unreadable input: one sentence, exit 2 ---------------------------------------------------

def test_missing_file(capsys, driver, tmp_path):
    missing = tmp_path / "nope.vyn"
    assert main(["check", str(missing)]) == 2
    assert capsys.readouterr().err == f"vyn: cannot read '{missing}': No such file or directory\n"
    assert driver.seen == []


def test_missing_file_in_a_child_process(tmp_path):
    done = run_vyn("check", "nope.vyn", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "vyn: cannot read 'nope.vyn': No such file or directory\n"


def test_directory_is_not_a_source_file(capsys, driver, tmp_path):
    assert main(["check", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"vyn: cannot read '{tmp_path}': Is a directory\n"


def test_invalid_utf8(capsys, driver, tmp_path):
    path = tmp_path / "latin1.vyn"
    path.write_bytes(b"fn main() {\n  println(\"caf\xe9\")\n}\n")
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"vyn: cannot read '{path}': it is not valid UTF-8 (byte 0xe9 on line 2)\n")


# -- vyn check with a stand-in driver ---------------------------------------------------------

def test_clean_program_exits_0_silently(capsys, driver, program):
    assert main(["check", str(program)]) == 0
    assert capsys.readouterr() == ("", "")
    assert [s.name for s in driver.seen] == [str(program)]
    assert driver.seen[0].text == program.read_text(encoding="utf-8")


def test_every_file_is_passed_to_the_driver_in_order(driver, tmp_path):
    paths = [tmp_path / "a.vyn", tmp_path / "b.vyn"]
    for path in paths:
        path.write_text("fn f() {}\n", encoding="utf-8")
    assert main(["check", *map(str, paths)]) == 0
    assert [s.name for s in driver.seen] == [str(p) for p in paths]


def test_check_reads_the_files_imports_name_once_each(driver, tmp_path):
    (tmp_path / "main.vyn").write_text("import utils::helper\nfn main() { helper() }\n",
                                       encoding="utf-8")
    (tmp_path / "utils.vyn").write_text("fn helper() {}\n", encoding="utf-8")
    main_path, utils_path = str(tmp_path / "main.vyn"), str(tmp_path / "utils.vyn")
    assert main(["check", main_path]) == 0
    assert [s.name for s in driver.seen] == [main_path, utils_path]
    driver.seen.clear()
    assert main(["check", main_path, utils_path]) == 0
    assert [s.name for s in driver.seen] == [main_path, utils_path]


def test_check_follows_imports_with_the_real_checker(capsys, tmp_path):
    (tmp_path / "main.vyn").write_text("import utils::helper\nfn main() { helper(1) }\n",
                                       encoding="utf-8")
    (tmp_path / "utils.vyn").write_text("fn helper(n: Int) -> Int { n }\n", encoding="utf-8")
    assert main(["check", str(tmp_path / "main.vyn")]) == 0
    assert capsys.readouterr() == ("", "")


def test_byte_order_mark_is_dropped(driver, tmp_path):
    path = tmp_path / "bom.vyn"
    path.write_bytes(b"\xef\xbb\xbffn main() {}\n")
    assert main(["check", str(path)]) == 0
    assert driver.seen[0].text == "fn main() {}\n"


def test_errors_are_rendered_on_stderr_and_exit_1(capsys, driver, program):
    driver.diagnostics = lambda sources: [unknown_name(sources[0])]
    assert main(["check", "--color=never", str(program)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error[T2000]: unknown name `greeting`\n"
        f" --> {program}:2:11\n"
        f"  |\n"
        f"2 |   println(greeting)\n"
        f"  |           ^^^^^^^^ not found in this scope\n"
        f"\n"
        f"error: aborting due to 1 previous error\n")


def test_warnings_alone_exit_0(capsys, driver, program):
    driver.diagnostics = lambda sources: [unused(sources[0])]
    assert main(["check", str(program)]) == 0
    assert "warning[W4001]: unused variable `x`" in capsys.readouterr().err


def test_json_goes_to_stdout_one_object_per_line(capsys, driver, program):
    driver.diagnostics = lambda sources: [unknown_name(sources[0]), unused(sources[0])]
    assert main(["check", "--error-format=json", str(program)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    objects = [json.loads(line) for line in captured.out.splitlines()]
    assert [(o["code"], o["line"], o["column"]) for o in objects] == [
        ("T2000", 2, 11), ("W4001", 1, 1)]


def test_colour_when_forced_and_not_when_redirected(capsys, driver, program):
    driver.diagnostics = lambda sources: [unknown_name(sources[0])]
    main(["check", "--color=always", str(program)])
    assert "\x1b[" in capsys.readouterr().err
    main(["check", str(program)])  # auto, and captured stderr is not a terminal
    assert "\x1b[" not in capsys.readouterr().err


# -- failures inside vyn ----------------------------------------------------------------------

def test_internal_error_is_reported_without_a_traceback(capsys, driver, program, monkeypatch):
    monkeypatch.delenv("VYN_INTERNAL_TRACEBACK", raising=False)

    def crash(sources):
        raise ValueError("boom")

    driver.diagnostics = crash
    assert main(["check", str(program)]) == 2
    assert capsys.readouterr().err == (
        "vyn: internal error: ValueError: boom\n"
        "please report this at https://github.com/vyn-lang/vyn/issues "
        "(set VYN_INTERNAL_TRACEBACK=1 for details)\n")


def test_internal_traceback_on_request(capsys, driver, program, monkeypatch):
    monkeypatch.setenv("VYN_INTERNAL_TRACEBACK", "1")

    def crash(sources):
        raise ValueError("boom")

    driver.diagnostics = crash
    assert main(["check", str(program)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "vyn: internal error: ValueError: boom\n" in err


def test_ctrl_c_exits_130_quietly(capsys, driver, program):
    def interrupt(sources):
        raise KeyboardInterrupt

    driver.diagnostics = interrupt
    assert main(["check", str(program)]) == 130
    assert capsys.readouterr() == ("", "")


def test_closed_stdout_exits_141_quietly(capsys, driver, program):
    def broken_pipe(sources):
        raise BrokenPipeError

    driver.diagnostics = broken_pipe
    assert main(["check", str(program)]) == 141
    assert capsys.readouterr() == ("", "")


# -- the real front end ------------------------------------------------------------------------

@pytest.mark.parametrize("example", ["hello.vyn", "fib.vyn"])
def test_examples_check_clean(example):
    done = run_vyn("check", f"examples/{example}")
    assert (done.returncode, done.stderr) == (0, "")


def test_the_fast_exit_after_run_still_delivers_all_output_through_a_pipe(tmp_path):
    # `vyn run` ends with os._exit after flushing; a pipe must still get every line.
    (tmp_path / "many.vyn").write_text(
        "fn main() {\n  for i in 0..<20000 {\n    println(\"line {}\", i)\n  }\n}\n",
        encoding="utf-8")
    done = run_vyn("run", "many.vyn", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert len(lines) == 20000 and lines[-1] == "line 19999"
