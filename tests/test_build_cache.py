"""The build cache of `vyn run FILE.vyn` (runtime/build_cache.py, docs/cli.md): a second run
of unchanged sources loads the stored image (bytecode and the native code of the functions
that got hot) instead of compiling, and behaves exactly as the first; a changed source or
import, a damaged or foreign entry, is a miss; VYN_CACHE=off turns it off.

Every test points VYN_CACHE at its own directory (tests/conftest.py turns the cache off for
the rest of the suite). No timings are asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime import build_cache, elf64
from vyndbg.cli import main

pytest.importorskip("llvmlite", reason="the cache stores images, which LLVM writes")

ROOT = Path(__file__).resolve().parent.parent

# fib gets hot (the JIT compiles it), so the first run stores native code for it.
FIB = """fn fib(n: Int) -> Int {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}

fn main() {
  println(fib(@N@))
}
"""

# A warning (a match that misses `false`), a hot function, then a panic with a source line.
WARNS_AND_PANICS = """fn spin(n: Int) -> Int {
  var i = 0
  var s = 0
  while i < n {
    s += i % 7
    i += 1
  }
  s
}

fn main() {
  let b = spin(10) > 3
  match b {
    true => println("big"),
  }
  println(spin(5000))
  let v: Vec<Int> = vec![1, 2]
  println(v[5])
}
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A working directory with the cache on, in tmp_path/cache."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("NO_COLOR", raising=False)
    directory = tmp_path / "cache"
    monkeypatch.setenv("VYN_CACHE", str(directory))
    monkeypatch.setattr(build_cache, "_toolchain", None)
    return directory


def toolchain_now() -> bytes:
    build_cache._toolchain = None
    return build_cache.toolchain_id()


def skip_if_the_toolchain_changed(before: bytes) -> None:
    """Subprocesses compute the toolchain's identity afresh: a module of compiler/ or
    runtime/ edited while the test ran (a working tree being edited) changes the key."""
    if toolchain_now() != before:
        pytest.skip("the toolchain was edited while the test ran")


def entries(directory: Path) -> tuple[list[Path], list[Path]]:
    """(index entries, images) in the cache."""
    def files(sub):
        root = directory / sub
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return files("run"), files("img")


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["run", *args])
    out, err = capsys.readouterr()
    return code, out, err


def vyn_subprocess(*args: str, cwd: Path, env: dict | None = None
                   ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vyndbg.cli", *args], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          capture_output=True, text=True, timeout=120)


# -- hits and misses ---------------------------------------------------------------------------

def test_a_second_run_hits_and_uses_the_stored_native_code(cache, capsys):
    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    first = run(capsys, "--jit-stats", "fib.vyn")
    assert first[:2] == (0, "6765\n")
    assert " jit\n" in first[2]
    index, images = entries(cache)
    assert len(index) == 1 and len(images) == 1
    second = run(capsys, "--jit-stats", "fib.vyn")
    assert second[:2] == first[:2]
    # fib's native code came from the cached image, not from LLVM.
    assert [line.split()[-1] for line in second[2].splitlines() if line.startswith("fib ")] \
        == ["image"]
    assert entries(cache) == (index, images)


def test_a_traced_run_has_its_own_entry_with_code_that_reports_calls(cache, capsys,
                                                                      tmp_path):
    """`vyn run --trace`: native code that reports its calls, cached apart from the
    plain run's; a second traced run loads it and records the same calls."""
    from traces.reader import TraceReader

    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")

    def traced(name):
        code, out, err = run(capsys, "--jit-stats", "--trace", name, "fib.vyn")
        assert (code, out) == (0, "6765\n"), err
        source = [line.split()[-1] for line in err.splitlines() if line.startswith("fib ")]
        reader = TraceReader(name)
        calls = sum(1 for e in reader.events() if type(e).__name__ == "Call")
        return source, calls

    first = traced("a.trace")
    second = traced("b.trace")
    assert first[0] == ["jit"] and second[0] == ["image"]
    assert first[1] == second[1] > 20000
    plain = run(capsys, "--jit-stats", "fib.vyn")
    assert [line.split()[-1] for line in plain[2].splitlines()
            if line.startswith("fib ")] == ["jit"]        # not the traced entry's code
    assert len(entries(cache)[0]) == 2


def test_a_hit_runs_no_front_end_and_no_debugger(cache, tmp_path):
    """In a fresh process: the second run imports neither the front end nor textual,
    unicorn or capstone (nor the debugger)."""
    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    script = (
        "import sys\n"
        "from vyndbg.cli import main\n"
        "assert main(['run', 'fib.vyn']) == 0\n"
        "mods = [m for m in ('compiler.lower', 'compiler.parser', 'compiler.checker',\n"
        "        'textual', 'unicorn', 'capstone', 'traces.recorder', 'vyndbg.engine',\n"
        "        'tui') if m in sys.modules]\n"
        "print(' '.join(mods))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = toolchain_now()
    outs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], cwd=Path.cwd(), env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    skip_if_the_toolchain_changed(before)
    assert outs[0] == "6765\ncompiler.lower compiler.parser compiler.checker\n"  # a miss
    assert outs[1] == "6765\n\n"                                                 # a hit


def test_a_changed_source_is_a_miss(cache, capsys):
    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    assert run(capsys, "fib.vyn")[:2] == (0, "6765\n")
    Path("fib.vyn").write_text(FIB.replace("@N@", "21"), encoding="utf-8")
    assert run(capsys, "fib.vyn")[:2] == (0, "10946\n")
    assert len(entries(cache)[0]) == 2
    assert run(capsys, "fib.vyn")[:2] == (0, "10946\n")


def test_a_changed_import_is_a_miss(cache, capsys):
    Path("app").mkdir()
    Path("app/main.vyn").write_text(
        "import utils::helper\nfn main() {\n  println(helper(22))\n}\n", encoding="utf-8")
    Path("app/utils.vyn").write_text(
        FIB.split("fn main")[0].replace("fn fib", "fn helper").replace("fib(n", "helper(n"),
        encoding="utf-8")
    assert run(capsys, "app/main.vyn") == (0, "17711\n", "")
    assert len(entries(cache)[0]) == 1
    assert run(capsys, "app/main.vyn") == (0, "17711\n", "")
    # The same main file, another helper: the stored build must not be used.
    Path("app/utils.vyn").write_text(
        "fn helper(n: Int) -> Int {\n  var i = 0\n  var s = 0\n  while i < n {\n"
        "    s += 2\n    i += 1\n  }\n  s\n}\n", encoding="utf-8")
    assert run(capsys, "app/main.vyn") == (0, "44\n", "")


def test_output_exit_code_warnings_and_panics_are_the_same_when_cached(cache, capsys):
    Path("p.vyn").write_text(WARNS_AND_PANICS, encoding="utf-8")
    first = run(capsys, "p.vyn")
    assert first[0] == 101
    assert first[1] == f"big\n{sum(i % 7 for i in range(5000))}\n"
    assert "warning[W4000]" in first[2]
    assert "panic: " in first[2] and "(p.vyn:18)" in first[2]
    assert len(entries(cache)[1]) == 1
    for _ in range(2):
        assert run(capsys, "p.vyn") == first
    # Coloured diagnostics too.
    coloured = run(capsys, "--color=always", "p.vyn")
    assert "\x1b[" in coloured[2]
    assert run(capsys, "--color=always", "p.vyn") == coloured


@pytest.mark.parametrize("options", [["--jit=off"], ["--jit=eager"],
                                     ["--jit-tier=1", "--jit-threshold=1"], ["--gc-stress"]])
def test_jit_modes_behave_the_same_from_the_cache(cache, capsys, options):
    Path("fib.vyn").write_text(FIB.replace("@N@", "18"), encoding="utf-8")
    assert run(capsys, "fib.vyn") == (0, "2584\n", "")            # stores tier 2 fib
    for _ in range(2):
        assert run(capsys, *options, "fib.vyn") == (0, "2584\n", "")
    assert run(capsys, "fib.vyn") == (0, "2584\n", "")


def test_a_program_that_never_gets_hot_is_cached_without_llvm(cache, tmp_path):
    """Its image holds bytecode alone, which compiler/image_writer.py writes itself:
    neither the run that stores it nor the runs it serves import llvmlite."""
    Path("hello.vyn").write_text('fn main() {\n  println("hi")\n}\n', encoding="utf-8")
    probe = ("import sys\nfrom vyndbg.cli import main\ncode = main(['run', 'hello.vyn'])\n"
             "print(code, any(m.startswith('llvmlite') for m in sys.modules), file=sys.stderr)\n")
    env = {**os.environ, "VYN_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env=env, timeout=120)
        assert (p.stdout, p.stderr) == ("hi\n", "0 False\n")
    index, images = entries(cache)
    assert len(index) == 1 and len(images) == 1
    assert ".vyn.native" not in {s.name for s in elf64.sections(images[0].read_bytes())}


def test_cached_runs_import_no_llvm_traced_or_not(cache, tmp_path):
    """A hit links the cached native code itself; a traced one finds the trace buffer's
    converter in that code too: neither imports llvmlite."""
    Path("fib.vyn").write_text(FIB.replace("@N@", "22"), encoding="utf-8")
    env = {**os.environ, "VYN_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    for extra in ([], ["--trace", str(tmp_path / "t.trace")]):
        probe = ("import sys\nfrom vyndbg.cli import main\n"
                 f"code = main(['run', *{extra!r}, 'fib.vyn'])\n"
                 "print(code, any(m.startswith('llvmlite') for m in sys.modules), "
                 "file=sys.stderr)\n")
        seen = []
        for _ in range(2):
            p = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                               text=True, env=env, timeout=120)
            assert p.stdout == "17711\n", p.stderr
            seen.append(p.stderr)
        assert seen[1] == "0 False\n", (extra, seen)       # the second run: a hit


def test_vyn_cache_off_stores_nothing(cache, capsys, monkeypatch):
    monkeypatch.setenv("VYN_CACHE", "off")
    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    for _ in range(2):
        assert run(capsys, "fib.vyn") == (0, "6765\n", "")
    assert not cache.exists()


def test_the_default_directory_follows_xdg_cache_home(tmp_path):
    assert build_cache.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == str(tmp_path / "vyn")
    assert build_cache.cache_dir({"VYN_CACHE": "off", "XDG_CACHE_HOME": "/x"}) is None
    assert build_cache.cache_dir({"VYN_CACHE": str(tmp_path / "c")}) == str(tmp_path / "c")
    home = build_cache.cache_dir({})
    assert home is not None and home.endswith(os.path.join(".cache", "vyn"))


# -- damaged and foreign entries ----------------------------------------------------------------

def _stored(cache: Path, capsys) -> tuple[Path, Path]:
    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    assert run(capsys, "fib.vyn") == (0, "6765\n", "")
    (index,), (image,) = entries(cache)
    return index, image


def test_a_corrupt_image_is_ignored_and_rebuilt(cache, capsys):
    index, image = _stored(cache, capsys)
    good = image.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 0xFF           # anywhere: code, payload or ELF bookkeeping
    image.write_bytes(bytes(data))
    assert run(capsys, "--jit-stats", "fib.vyn")[:2] == (0, "6765\n")
    assert image.read_bytes() == good      # rebuilt: the same bytes again
    assert run(capsys, "fib.vyn") == (0, "6765\n", "")


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage-index", "missing-image"])
def test_damaged_entries_are_misses(cache, capsys, damage):
    index, image = _stored(cache, capsys)
    if damage == "truncate":
        image.write_bytes(image.read_bytes()[:100])
    elif damage == "empty":
        image.write_bytes(b"")
    elif damage == "garbage-index":
        index.write_bytes(b"\x00\xffnot an index")
    else:
        image.unlink()
    assert run(capsys, "fib.vyn") == (0, "6765\n", "")
    assert run(capsys, "fib.vyn") == (0, "6765\n", "")
    assert len(entries(cache)[0]) == 1


def test_an_image_of_another_build_is_not_used(cache, capsys):
    """An index entry naming an intact image stored for another source: a miss."""
    index, image = _stored(cache, capsys)
    Path("other.vyn").write_text('fn main() {\n  println("other")\n}\n', encoding="utf-8")
    run(capsys, "--jit=eager", "other.vyn")
    other_index = next(p for p in entries(cache)[0] if p != index)
    other_index.write_bytes(index.read_bytes())   # other.vyn's key -> fib's image
    assert run(capsys, "other.vyn") == (0, "other\n", "")


def test_cache_section_round_trip():
    data = build_cache.encode_cache_section("k" * 64, [("a.vyn", b"\1" * 32), ("b.vyn", None)],
                                            ("plain", "\x1b[1mcolour\x1b[0m"))
    assert build_cache.decode_cache_section(data) == (
        "k" * 64, [("a.vyn", b"\1" * 32), ("b.vyn", None)], ("plain", "\x1b[1mcolour\x1b[0m"))
    for cut in range(len(data)):
        with pytest.raises((ValueError, UnicodeDecodeError)):
            build_cache.decode_cache_section(data[:cut])


# -- concurrent runs ---------------------------------------------------------------------------

def test_concurrent_runs_do_not_corrupt_the_cache(cache):
    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = toolchain_now()
    procs = [subprocess.Popen([sys.executable, "-m", "vyndbg.cli", "run", "fib.vyn"],
                              cwd=Path.cwd(), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert (p.returncode, out, err) == (0, "6765\n", "")
    skip_if_the_toolchain_changed(before)
    index, images = entries(cache)
    assert len(index) == 1 and len(images) == 1
    assert not [p for p in cache.rglob("*.tmp")]
    done = vyn_subprocess("run", "--jit-stats", "fib.vyn", cwd=Path.cwd())
    skip_if_the_toolchain_changed(before)
    assert done.stdout == "6765\n" and " image\n" in done.stderr


# -- the corpus, cached ------------------------------------------------------------------------

def test_the_corpus_runs_the_same_from_the_cache(cache, capsys, monkeypatch):
    """Every corpus program, with every function hot at once (tier 1): the first run (a
    miss, which stores native code) and the second (a hit) print the same, exit the same."""
    import io

    from tests.test_programs import CORPUS, time_limit

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    for program in CORPUS:
        monkeypatch.chdir(program.directory)
        results = []
        for _ in range(2):
            capsys.readouterr()
            with time_limit(20):
                code = main(["run", "--jit-threshold=1", "--jit-tier=1", program.file])
            results.append((code, *capsys.readouterr()))
        assert results[0] == results[1], program.id
    stored = len(entries(cache)[0])
    assert stored > len(CORPUS) // 3, stored      # the others have no native code


# -- old entries ---------------------------------------------------------------------------------

def test_a_rewritten_entry_leaves_no_old_image_behind(cache, capsys):
    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    assert run(capsys, "fib.vyn") == (0, "6765\n", "")               # tier 2 code
    (first,) = entries(cache)[1]
    assert run(capsys, "--jit-tier=1", "fib.vyn") == (0, "6765\n", "")  # rewritten: tier 1
    index, images = entries(cache)
    assert len(index) == 1 and len(images) == 1 and images[0] != first


def test_entries_unused_for_five_days_are_trimmed(cache, capsys):
    import time

    Path("fib.vyn").write_text(FIB.replace("@N@", "20"), encoding="utf-8")
    Path("fib2.vyn").write_text(FIB.replace("@N@", "19"), encoding="utf-8")
    assert run(capsys, "fib.vyn") == (0, "6765\n", "")
    old_index, old_image = (p[0] for p in entries(cache))
    assert run(capsys, "fib2.vyn") == (0, "4181\n", "")
    now = time.time()
    six_days = now - 6 * 24 * 3600
    os.utime(old_index, (six_days, six_days))
    os.utime(old_image, (six_days, six_days))
    orphan = cache / "img" / "00" / ("0" * 64)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind")
    os.utime(orphan, (six_days, six_days))
    (cache / "gc").mkdir(exist_ok=True)
    old_core, new_core = cache / "gc" / "old.o", cache / "gc" / "new.o"
    old_core.write_bytes(b"an earlier toolchain's collector core")
    new_core.write_bytes(b"this one's")
    os.utime(old_core, (six_days, six_days))
    store = build_cache.BuildCache(str(cache))
    store.trim(now)                      # trimmed less than a day ago: nothing happens
    assert old_index.exists() and orphan.exists() and old_core.exists()
    store.trim(now + 2 * 24 * 3600 - 3600)
    assert not old_index.exists() and not old_image.exists() and not orphan.exists()
    assert not old_core.exists() and new_core.exists()
    index, images = entries(cache)
    assert len(index) == 1 and len(images) == 1             # fib2's, used recently
    assert run(capsys, "fib2.vyn") == (0, "4181\n", "")
    assert run(capsys, "fib.vyn") == (0, "6765\n", "")      # a miss again, stored again
