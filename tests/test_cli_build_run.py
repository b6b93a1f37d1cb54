"""`vyn build`, `vyn run` and `vyn disasm`: what a user types and what they see.

The story: write hello.vyn, `vyn build hello.vyn` (silent), `vyn run hello` (the program's
output), `vyn disasm hello main` (the bytecode). Mistakes (a missing file, a damaged image,
a bad option) end in one sentence and exit code 2; compile errors in diagnostics and 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.bytecode_format import BYTECODE_SECTION
from compiler.serialize import program_to_sections
from tests.sample_programs import sample_program
from vyndbg.cli import main, parse_positive_int, parse_size

ROOT = Path(__file__).resolve().parent.parent

HELLO = 'fn main() {\n  println("Hello, Vyn!")\n}\n'
BROKEN = "fn main() {\n  let x = 1\n  x = 2\n  println(x)\n}\n"
PANICS = "fn main() {\n  println(\"before\")\n  panic(\"boom\")\n}\n"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current directory holding hello.vyn."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    (tmp_path / "hello.vyn").write_text(HELLO, encoding="utf-8")
    return tmp_path


def vyn(capsys, *args: str) -> tuple[int, str, str]:
    """`vyn ARGS...` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_image_file(path: Path, sections: dict[str, bytes]) -> None:
    from compiler.image_writer import write_image

    write_image(path, sections)


# -- build -----------------------------------------------------------------------------------

def test_build_writes_an_image_named_after_the_source_and_prints_nothing(workdir, capsys):
    assert vyn(capsys, "build", "hello.vyn") == (0, "", "")
    assert (workdir / "hello").read_bytes().startswith(b"\x7fELF")


def test_build_writes_where_o_says(workdir, capsys):
    (workdir / "out").mkdir()
    assert vyn(capsys, "build", "hello.vyn", "-o", "out/greeter") == (0, "", "")
    assert (workdir / "out" / "greeter").exists()


def test_build_puts_the_default_output_in_the_current_directory(workdir, capsys):
    (workdir / "src").mkdir()
    (workdir / "src" / "app.vyn").write_text(HELLO, encoding="utf-8")
    assert vyn(capsys, "build", "src/app.vyn")[0] == 0
    assert (workdir / "app").exists() and not (workdir / "src" / "app").exists()


def test_build_with_compile_errors_prints_diagnostics_and_writes_nothing(workdir, capsys):
    (workdir / "broken.vyn").write_text(BROKEN, encoding="utf-8")
    code, out, err = vyn(capsys, "build", "broken.vyn")
    assert (code, out) == (1, "")
    assert "error[T2002]" in err and "--> broken.vyn:3:3" in err
    assert not (workdir / "broken").exists()


def test_build_refuses_to_overwrite_its_source(workdir, capsys):
    (workdir / "hello").write_text(HELLO, encoding="utf-8")
    code, _, err = vyn(capsys, "build", "hello")
    assert code == 2
    assert err == ("vyn: the output 'hello' would overwrite the source file "
                   "(choose another with -o)\n")
    assert (workdir / "hello").read_text(encoding="utf-8") == HELLO


def test_build_of_an_image_is_refused(workdir, capsys):
    vyn(capsys, "build", "hello.vyn")
    assert vyn(capsys, "build", "hello", "-o", "again") == (
        2, "", "vyn: 'hello' is a built image, not a source file\n")


# -- run -------------------------------------------------------------------------------------

def test_run_a_source_file(workdir, capsys):
    assert vyn(capsys, "run", "hello.vyn") == (0, "Hello, Vyn!\n", "")


def test_run_a_built_image(workdir, capsys):
    vyn(capsys, "build", "hello.vyn")
    (workdir / "hello.vyn").unlink()  # the image stands alone
    assert vyn(capsys, "run", "hello") == (0, "Hello, Vyn!\n", "")


def test_run_reports_a_panic_with_exit_code_101(workdir, capsys):
    (workdir / "boom.vyn").write_text(PANICS, encoding="utf-8")
    code, out, err = vyn(capsys, "run", "boom.vyn")
    assert (code, out) == (101, "before\n")
    assert err.startswith("panic: boom\n  at main (boom.vyn:3)")


def test_run_with_compile_errors_exits_1(workdir, capsys):
    (workdir / "broken.vyn").write_text(BROKEN, encoding="utf-8")
    code, out, err = vyn(capsys, "run", "broken.vyn")
    assert (code, out) == (1, "")
    assert "error[T2002]" in err


def test_run_a_missing_file(workdir, capsys):
    assert vyn(capsys, "run", "nope.vyn") == (
        2, "", "vyn: cannot read 'nope.vyn': No such file or directory\n")


def test_run_a_damaged_image(workdir, capsys):
    sections = program_to_sections(sample_program())
    sections[BYTECODE_SECTION] = sections[BYTECODE_SECTION][:-3]
    write_image_file(workdir / "app", sections)
    assert vyn(capsys, "run", "app") == (
        2, "", "vyn: 'app' is corrupted: the .vyn.bytecode section (function 3) ends too "
               "early\n")


def test_run_a_file_whose_bytes_were_flipped(workdir, capsys):
    vyn(capsys, "build", "hello.vyn")
    data = bytearray((workdir / "hello").read_bytes())
    at = data.index(b"Hello, Vyn!")
    data[at] ^= 0x20
    (workdir / "hello").write_bytes(bytes(data))
    code, out, err = vyn(capsys, "run", "hello")
    assert (code, out) == (2, "")
    assert err.startswith("vyn: 'hello' is corrupted: the hash of section ")


class RecordingVM:
    """A stand-in for runtime.run.run_program that records its arguments."""

    def __init__(self):
        self.calls = []

    def __call__(self, program, argv, *, stdout, stderr, heap_limit, max_depth,
                 gc_stress=False, gc_trace=False, jit=None, after_run=None):
        self.calls.append({"argv": argv, "heap_limit": heap_limit, "max_depth": max_depth,
                           "main": program.functions[program.entry].name,
                           "gc": (gc_stress, gc_trace)})
        stdout.write("ran\n")
        return 0


@pytest.fixture
def recording_vm(monkeypatch):
    vm = RecordingVM()
    monkeypatch.setattr("runtime.run.run_program", vm)
    return vm


def test_run_passes_arguments_limits_and_the_program(workdir, capsys, recording_vm):
    code = main(["run", "--heap-limit", "64m", "--max-depth", "500", "hello.vyn", "--",
                 "a", "-b", "--c"])
    assert code == 0
    assert recording_vm.calls == [{"argv": ["hello.vyn", "a", "-b", "--c"],
                                   "heap_limit": 64 << 20, "max_depth": 500, "main": "main",
                                   "gc": (False, False)}]


def test_run_passes_the_collector_options(workdir, capsys, recording_vm):
    assert main(["run", "--gc-stress", "--gc-trace", "hello.vyn"]) == 0
    assert recording_vm.calls[0]["gc"] == (True, True)


def test_run_without_limits_leaves_them_to_the_runtime(workdir, capsys, recording_vm):
    assert main(["run", "hello.vyn"]) == 0
    assert recording_vm.calls[0]["heap_limit"] is None
    assert recording_vm.calls[0]["max_depth"] is None


@pytest.mark.parametrize("option, value, message", [
    ("--heap-limit", "64x", "argument --heap-limit: '64x' is not a size; write bytes or a "
                            "number with k, m or g, such as 64m"),
    ("--heap-limit", "0", "argument --heap-limit: '0' is not a size; write bytes or a "
                          "number with k, m or g, such as 64m"),
    ("--max-depth", "-3", "argument --max-depth: '-3' is not a whole number of at least 1"),
    ("--max-depth", "lots", "argument --max-depth: 'lots' is not a whole number of at "
                            "least 1"),
])
def test_run_with_a_bad_limit_is_a_usage_error(workdir, capsys, option, value, message):
    code, out, err = vyn(capsys, "run", "hello.vyn", f"{option}={value}")
    assert (code, out) == (2, "")
    assert err == f"vyn: {message} (see 'vyn run --help')\n"


@pytest.mark.parametrize("text, size", [
    ("65536", 65536), ("512k", 512 << 10), ("64m", 64 << 20), ("64M", 64 << 20),
    ("64MB", 64 << 20), ("1g", 1 << 30), ("2kb", 2048),
])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "m", "1.5m", "-1", "1t", "0k"])
def test_bad_sizes(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


def test_positive_ints():
    assert parse_positive_int("12") == 12
    with pytest.raises(argparse.ArgumentTypeError):
        parse_positive_int("0")


def test_run_follows_imports_next_to_the_importing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.vyn").write_text("import utils::helper\nfn main() { helper() }\n",
                                               encoding="utf-8")
    (tmp_path / "app" / "utils.vyn").write_text('fn helper() {\n  println("helped")\n}\n',
                                                encoding="utf-8")
    assert vyn(capsys, "run", "app/main.vyn") == (0, "helped\n", "")


# -- disasm ----------------------------------------------------------------------------------

def test_disasm_a_source_file(workdir, capsys):
    code, out, err = vyn(capsys, "disasm", "hello.vyn")
    assert (code, err) == (0, "")
    assert out.startswith("function main (hello.vyn:1) params=0 regs=")
    assert '   2 |   println("Hello, Vyn!")\n' in out


def test_disasm_an_image_lists_the_same(workdir, capsys):
    _, from_source, _ = vyn(capsys, "disasm", "hello.vyn", "main")
    vyn(capsys, "build", "hello.vyn")
    assert vyn(capsys, "disasm", "hello", "main") == (0, from_source, "")


def test_disasm_an_unknown_function(workdir, capsys):
    assert vyn(capsys, "disasm", "hello.vyn", "nope") == (2, "", "vyn: no function named 'nope'\n")


# -- what `vyn run` does not import ----------------------------------------------------------

def test_run_imports_neither_llvmlite_nor_unicorn_nor_textual(workdir, capsys):
    vyn(capsys, "build", "hello.vyn")
    script = (
        "import sys\n"
        "from vyndbg.cli import main\n"
        "for target in sys.argv[1:]:\n"
        "    assert main(['run', target]) == 0\n"
        "heavy = [m for m in ('llvmlite', 'unicorn', 'textual') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, "hello.vyn", "hello"], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello, Vyn!\n" * 2
