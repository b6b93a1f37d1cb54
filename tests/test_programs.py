"""The program corpus (tests/programs/README.md): each program, run as `vyn run NAME.vyn`
from its own directory, prints exactly what its expectation files say and exits with the
expected code.

Each program runs in-process through `vyndbg.cli.main`, with standard output and error
captured, standard input empty and the working directory set to the program's directory
(so `FILE` in `dbg` output and backtraces is the bare name). A program that runs longer
than TIMEOUT seconds fails.

Every program that compiles is also put through the image payloads (`program_to_sections`
then `sections_to_program`) and must come back equal: whatever the compiler produces, an
image can hold.
"""

from __future__ import annotations

import io
import re
import signal
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from vyndbg.cli import main

PROGRAMS = Path(__file__).resolve().parent / "programs"
TIMEOUT = 10  # seconds, as the corpus README says
MULTI_FILE = {"s3_4_modules": "main"}  # directory -> the file that is run inside it

# `error[T2002]: ...` then, on a later line, ` --> NAME.vyn:LINE:COL`.
_DIAGNOSTIC = re.compile(r"^(?:error|warning)\[(\w+)\]:.*\n\s*--> ([^\n]+?):(\d+):(\d+)$",
                         re.MULTILINE)


@dataclass(frozen=True)
class CorpusProgram:
    """One program of the corpus and where its expectations are."""

    id: str          # "run/int_wrap", "guide/s3_4_modules"
    directory: Path  # the working directory to run it in
    stem: str        # NAME: the program is NAME.vyn, expectations NAME.out, ...
    in_run_dir: bool  # run/ compares stderr even without an expectation file

    @property
    def file(self) -> str:
        return f"{self.stem}.vyn"

    def expectation(self, suffix: str) -> str | None:
        path = self.directory / f"{self.stem}{suffix}"
        return path.read_text(encoding="utf-8") if path.exists() else None


def corpus() -> list[CorpusProgram]:
    programs = []
    for group in ("guide", "run"):
        for path in sorted((PROGRAMS / group).glob("*.vyn")):
            programs.append(CorpusProgram(f"{group}/{path.stem}", path.parent, path.stem,
                                          group == "run"))
        for directory, stem in MULTI_FILE.items():
            if (PROGRAMS / group / directory / f"{stem}.vyn").exists():
                programs.append(CorpusProgram(f"{group}/{directory}", PROGRAMS / group / directory,
                                              stem, group == "run"))
    return programs


CORPUS = corpus()


class ProgramTimeout(BaseException):
    """Raised in the test's thread when a program runs too long; a BaseException so that
    the CLI's last-resort `except Exception` does not swallow it."""


@contextmanager
def time_limit(seconds: float):
    def expire(signum, frame):
        raise ProgramTimeout(f"the program ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(program: CorpusProgram, capsys, monkeypatch) -> tuple[int, str, str]:
    """`vyn run NAME.vyn` inside the program's directory: (exit code, stdout, stderr)."""
    monkeypatch.chdir(program.directory)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.delenv("NO_COLOR", raising=False)
    capsys.readouterr()
    with time_limit(TIMEOUT):
        code = main(["run", program.file])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("program", CORPUS, ids=[p.id for p in CORPUS])
def test_program(program: CorpusProgram, capsys, monkeypatch):
    code, out, err = run_in_process(program, capsys, monkeypatch)
    expected_code = int((program.expectation(".code") or "0").strip())
    expected_out = program.expectation(".out") or ""
    diag = program.expectation(".diag")
    errprefix = program.expectation(".errprefix")
    expected_err = program.expectation(".err")

    assert out == expected_out, f"stdout differs; stderr was:\n{err}"
    if diag is not None:
        found = {(m[1], m[2], int(m[3]), int(m[4])) for m in _DIAGNOSTIC.finditer(err)}
        for line in diag.splitlines():
            if not line.strip():
                continue
            diag_code, position = line.split()
            diag_line, diag_col = map(int, position.split(":"))
            assert (diag_code, program.file, diag_line, diag_col) in found, (
                f"no {diag_code} at {program.file}:{position} in stderr:\n{err}")
    elif errprefix is not None:
        assert err.startswith(errprefix), f"stderr does not start as expected:\n{err}"
    elif expected_err is not None:
        assert err == expected_err
    elif program.in_run_dir:
        assert err == "", "stderr must be empty"
    assert code == expected_code, f"exit code {code}, expected {expected_code}; stderr:\n{err}"


def _concurrent(p: CorpusProgram) -> bool:
    text = (p.directory / p.file).read_text(encoding="utf-8")
    return re.search(r"\b(actor|spawn|Channel|Thread|ThreadPool|await)\b", text) is not None


CONCURRENT = [p for p in CORPUS if p.expectation(".diag") is None and _concurrent(p)]


@pytest.mark.parametrize("program", CONCURRENT, ids=[p.id for p in CONCURRENT])
def test_concurrent_program_runs_the_same_every_time(program: CorpusProgram, capsys,
                                                     monkeypatch):
    """SEMANTICS "Concurrency": the same program prints the same output every run."""
    runs = {run_in_process(program, capsys, monkeypatch) for _ in range(3)}
    assert len(runs) == 1, runs


RUNNABLE = [p for p in CORPUS if p.expectation(".diag") is None]


@pytest.mark.parametrize("program", RUNNABLE, ids=[p.id for p in RUNNABLE])
def test_compiled_program_survives_the_image_payloads(program: CorpusProgram, monkeypatch):
    from compiler.lower import compile_sources
    from compiler.serialize import program_to_sections
    from runtime.loader import sections_to_program
    from vyndbg.cli import import_loader, read_source

    monkeypatch.chdir(program.directory)
    sources = [read_source(program.file)]
    compiled = compile_sources(sources, import_loader(sources)).program
    assert compiled is not None, "the program does not compile"
    sections = program_to_sections(compiled)
    assert sections_to_program(sections, program.file) == compiled
