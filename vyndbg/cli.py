"""The `vyn` command line: parse arguments, run one subcommand, turn every failure into an
exit code and at most a few lines on standard error; a user never sees a traceback.

Exit codes (SEMANTICS.md, "Failure and exit codes"):
    0    success (warnings allowed)
    1    compile errors
    2    bad usage, an unreadable or invalid input file, or an internal error
    101  `vyn run`: the program panicked
    130  interrupted (Ctrl-C)
    141  standard output closed early (broken pipe), as for a process killed by SIGPIPE

A subcommand is a `Subcommand` row in `SUBCOMMANDS`: a function that declares its arguments
and a function that runs it and returns the exit code.
"""

from __future__ import annotations

import os
import sys
from collections import namedtuple
from collections.abc import Callable, Sequence

from compiler.span import SourceFile
from vyndbg import __version__
from vyndbg.profile_cli import configure_profile, run_profile
from vyndbg.trace_cli import add_recording_options, configure_trace, run_recorded, run_trace

# `vyn run FILE` imports neither argparse (vyndbg/cli_parser.py, imported when a command
# line needs parsing) nor re, typing, dataclasses or pathlib: about 15 ms of every start.
TYPE_CHECKING = False   # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn, TextIO

    from compiler.bytecode import Program

if __name__ == "__main__":
    # `python -m vyndbg.cli`: this module is vyndbg.cli too, so that the modules importing
    # CliError from vyndbg.cli raise the class caught here.
    sys.modules.setdefault("vyndbg.cli", sys.modules[__name__])

PROG = "vyn"

EXIT_OK = 0
EXIT_COMPILE_ERRORS = 1
EXIT_USAGE = 2
# SEMANTICS.md allows only 0, 1, 2 and 101, and 101 means "the program panicked":
# an internal error of the toolchain shares 2 with the other "vyn could not do its job" cases.
EXIT_INTERNAL_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

ISSUES_URL = "https://github.com/vyn-lang/vyn/issues"
TRACEBACK_ENV = "VYN_INTERNAL_TRACEBACK"


class CliError(Exception):
    """A bad command line or input file; the message is one sentence for the user (exit 2)."""


class Subcommand(namedtuple("Subcommand", "name help configure run fast_exit",
                             defaults=(True,))):
    """One `vyn` subcommand.

    Attributes:
        name: the word after `vyn`.
        help: one line for `vyn --help`.
        configure: adds the subcommand's arguments to its parser.
        run: runs it with the parsed arguments; returns the exit code. Raises CliError
            for bad input; anything else it raises is reported as an internal error.
        fast_exit: the process may end right after it without tearing its objects down
            (see `entry`).
    """

    __slots__ = ()


# -- shared by subcommands -------------------------------------------------------------------

def read_source(path: str) -> SourceFile:
    """The file at `path` as a SourceFile named `path` (a leading UTF-8 BOM dropped).

    Raises:
        CliError: the file cannot be read, or is not valid UTF-8.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CliError(f"cannot read '{path}': {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CliError(f"cannot read '{path}': it is not valid UTF-8 "
                       f"(byte 0x{data[exc.start]:02x} on line {line})") from None
    return SourceFile(path, text.removeprefix("\ufeff"))


def use_color(choice: str, stream: TextIO) -> bool:
    """Whether to colour output to `stream`: `--color=always|never` decide; `auto` means a
    terminal, unless the NO_COLOR environment variable is set and not empty."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _add_color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour diagnostics: auto (default; a terminal and NO_COLOR "
                             "unset), always or never")


# -- vyn check -------------------------------------------------------------------------------

def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="Vyn source files (.vyn)")
    parser.add_argument("--error-format", choices=("human", "json"), default="human",
                        help="human (default): annotated source on standard error; "
                             "json: one JSON object per diagnostic per line on standard output")
    _add_color_option(parser)


def _run_check(args: argparse.Namespace) -> int:
    """Type-check the files, and the files their imports name, as one program; print its
    diagnostics.

    Returns 1 if there is an error, else 0 (warnings alone do not fail a check).
    """
    sources = read_sources(args.files)
    # Imported here, not at the top: `vyn --version` and `vyn --help` need no front end.
    from compiler.driver import check_sources
    from compiler.render import render_human, render_json

    result = check_sources(sources, import_loader(sources))
    diagnostics = result.diagnostics
    if args.error_format == "json":
        sys.stdout.write(render_json(diagnostics))
    else:
        color = use_color(args.color, sys.stderr)
        sys.stderr.write(render_human(diagnostics, result.sources, color=color))
    return EXIT_COMPILE_ERRORS if any(d.is_error for d in diagnostics) else EXIT_OK


# -- vyn build / run / disasm ----------------------------------------------------------------

def read_sources(paths: Sequence[str]) -> list[SourceFile]:
    """The files at `paths`, each once (by normalized path), in order.

    Raises:
        CliError: a file cannot be read.
    """
    sources: list[SourceFile] = []
    seen: set[str] = set()
    for path in paths:
        if os.path.normpath(path) not in seen:
            seen.add(os.path.normpath(path))
            sources.append(read_source(path))
    return sources


def import_loader(sources: list[SourceFile]) -> Callable[[SourceFile, list[str]],
                                                         SourceFile | None]:
    """For the compiler's driver: the file an `import` names, beside the importing file
    (guide 3.4: `import utils::helper` in `src/main.vyn` reads `src/utils.vyn`), or None
    when there is none (the prelude's `vyn`, a `module` declared inline): the checker then
    resolves or reports it. A file named twice, however its path is spelled, is the same
    SourceFile (one of `sources` if it is one), so the driver parses it once.

    The loader raises CliError when the file exists but cannot be read.
    """
    known = {os.path.normpath(s.name): s for s in sources}

    def load(importer: SourceFile, path: list[str]) -> SourceFile | None:
        imported = os.path.normpath(
            os.path.join(os.path.dirname(importer.name), f"{path[0]}.vyn"))
        if imported not in known:
            if not os.path.isfile(imported):
                return None
            known[imported] = read_source(imported)
        return known[imported]

    return load


def _print_diagnostics(diagnostics: Sequence, sources: dict[str, SourceFile],
                       color: str) -> None:
    """Diagnostics on standard error, rendered as `vyn check` renders them."""
    if diagnostics:
        from compiler.render import render_human  # (and json, unicodedata): only if needed

        sys.stderr.write(render_human(diagnostics, sources, color=use_color(color, sys.stderr)))


def _compile(path: str, color: str) -> Program | None:
    """The Program compiled from the source file at `path` (and the files it imports), or
    None after printing its compile errors. Warnings are printed too."""
    from compiler.lower import compile_sources

    sources = [read_source(path)]
    output = compile_sources(sources, import_loader(sources))
    _print_diagnostics(output.diagnostics, output.sources, color)
    if any(d.is_error for d in output.diagnostics):
        return None
    if output.program is None:
        raise RuntimeError(f"the compiler reported no error for '{path}' but built nothing")
    return output.program


def _load_program(path: str, color: str) -> Program | None:
    """The Program in `path`: loaded if it is an image, else compiled from source.

    Returns None after printing compile errors.

    Raises:
        CliError: the file cannot be read, or is a damaged image.
    """
    from runtime.image import ImageError, is_image

    if not is_image(path):
        return _compile(path, color)
    from runtime.loader import load_program

    try:
        return load_program(path)
    except ImageError as e:
        raise CliError(e.message.removesuffix(".")) from None


_SIZE_SUFFIXES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text: str) -> int:
    """A byte count such as `65536`, `512k`, `64m` or `1g` (binary multiples; a trailing
    `b` and upper case are accepted: `64MB`).

    Raises:
        argparse.ArgumentTypeError: not a positive size.
    """
    import re

    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)b?\s*", text, re.IGNORECASE)
    value = int(match[1]) * _SIZE_SUFFIXES[match[2].lower()] if match else 0
    if value <= 0:
        import argparse

        raise argparse.ArgumentTypeError(
            f"'{text}' is not a size; write bytes or a number with k, m or g, such as 64m")
    return value


def parse_positive_int(text: str) -> int:
    """A whole number >= 1.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    import re

    if not re.fullmatch(r"\s*\d+\s*", text) or int(text) < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def _configure_build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the Vyn source file (.vyn) with `main`")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="the image to write (default: FILE's name without .vyn, in the "
                             "current directory)")
    native = parser.add_mutually_exclusive_group()
    native.add_argument("-O0", dest="opt", action="store_const", const=0,
                        help="native code unoptimized and fully debuggable (tier 1)")
    native.add_argument("-O2", dest="opt", action="store_const", const=2,
                        help="native code optimized (tier 2; the default)")
    native.add_argument("--no-native", dest="opt", action="store_const", const=None,
                        help="bytecode only: no native code or DWARF in the image")
    parser.set_defaults(opt=2)
    _add_color_option(parser)


def _run_build(args: argparse.Namespace) -> int:
    """Compile FILE (and the files it imports) into an image. Prints nothing on success but
    warnings; compile errors exit 1."""
    from runtime.image import is_image

    if is_image(args.file):
        raise CliError(f"'{args.file}' is a built image, not a source file")
    output = args.output or os.path.splitext(os.path.basename(os.path.normpath(args.file)))[0]
    if _same_file(output, args.file):
        raise CliError(f"the output '{output}' would overwrite the source file "
                       f"(choose another with -o)")
    program = _compile(args.file, args.color)
    if program is None:
        return EXIT_COMPILE_ERRORS
    # Only `build` imports the image writer (and through it llvmlite).
    from compiler.image_writer import ImageWriteError, write_image
    from compiler.serialize import program_to_sections

    sections = program_to_sections(program)
    native_ir = None
    if args.opt is not None:
        from compiler.native_image import native_sections
        from runtime.jit import plain_builtins

        native_ir, extra = native_sections(program, args.opt, plain_builtins())
        sections.update(extra)
    try:
        write_image(output, sections, llvm_ir_module=native_ir,
                    **({"opt": args.opt} if native_ir is not None else {}))
    except ImageWriteError as e:
        raise CliError(str(e).removesuffix(".")) from None
    return EXIT_OK


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="a Vyn source file (compiled first) or an image from `vyn build`")
    parser.add_argument("args", nargs="*", metavar="ARGS",
                        help="arguments for the program (put them after `--`)")
    parser.add_argument("--heap-limit", type=parse_size, metavar="SIZE",
                        help="the most heap the program may use: bytes, or k, m, g (64m)")
    parser.add_argument("--max-depth", type=parse_positive_int, metavar="N",
                        help="the deepest the call stack may grow before `stack overflow`")
    parser.add_argument("--gc-trace", action="store_true",
                        help="one line on stderr per garbage collection and region release")
    parser.add_argument("--gc-stress", action="store_true",
                        help="collect garbage at every safepoint (slow; finds missing roots)")
    parser.add_argument("--dump-on-panic", metavar="FILE",
                        help="on a panic, write a post-mortem dump to FILE (gzip if it ends "
                             "in .gz) for `vyn debug --core FILE`")
    add_recording_options(parser)
    _add_jit_options(parser)
    _add_color_option(parser)


def _add_jit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jit", choices=("off", "auto", "eager"), default="auto",
                        help="native code: none; for hot functions (default); for every "
                             "function before main runs")
    parser.add_argument("--jit-stats", action="store_true",
                        help="at exit, each native function's tier, calls, compile time "
                             "and code size on stderr")
    parser.add_argument("--jit-threshold", type=parse_positive_int, metavar="N",
                        help="calls plus loop back-edges that make a function hot "
                             "(default 1000)")
    parser.add_argument("--jit-tier", type=int, choices=(1, 2), default=2,
                        help="compile hot functions unoptimized (1) or optimized (2, default)")
    parser.add_argument("--perf-map", action="store_true",
                        help="name native code for Linux perf in /tmp/perf-PID.map")
    parser.add_argument("--jitdump", action="store_true",
                        help="write /tmp/jit-PID.dump (code and Vyn lines) for "
                             "`perf inject --jit`; record with `perf record -k mono`")


def _jit_options(args: argparse.Namespace) -> dict:
    """`run_program`'s `jit` argument for `vyn run` (runtime/jit.py); none for --jit=off."""
    if getattr(args, "jit", "off") == "off":
        return {}
    from runtime.image import is_image
    from runtime.jit import DEFAULT_THRESHOLD, JitOptions

    return {"jit": JitOptions(mode=args.jit, threshold=args.jit_threshold or DEFAULT_THRESHOLD,
                              opt=0 if args.jit_tier == 1 else 2,
                              stats=sys.stderr if args.jit_stats else None,
                              image=args.file if is_image(args.file) else None,
                              perf_map=getattr(args, "perf_map", False),
                              jitdump=getattr(args, "jitdump", False))}


def _run_program_function():
    """`run_program` from the runtime (imported on demand: `vyn build` needs no VM)."""
    try:
        from runtime.run import run_program
    except ModuleNotFoundError as e:
        if e.name != "runtime.run":
            raise
        from runtime.vm import run_program
    return run_program


class _CachedBuild:
    """`vyn run FILE.vyn` through the build cache (runtime/build_cache.py): the program
    from the cache when its entry is intact and its sources unchanged (printing the
    warnings the compile printed), else compiled as `_compile` does; after the run,
    `store` writes the entry, with native code for the functions the JIT compiled."""

    def __init__(self, path: str, color: str, traced: bool = False) -> None:
        from runtime.build_cache import BuildCache, source_key

        self.cache = BuildCache.open()
        source = read_source(path)
        self.source = source
        self.key = ""
        # `--trace`: its own entry, whose native code reports calls (runtime/jit.py).
        self.traced = traced
        if self.cache is not None:
            try:
                self.key = source_key(source.name, source.text, "traced" if traced else "")
            except OSError:          # no working directory: no cache
                self.cache = None
        self.hit = self.cache.lookup(self.key) if self.cache is not None else None
        self.compiled: list[tuple[tuple[int, ...], int]] = []
        self.jit = None
        self.deps: list = []
        self.warnings = ("", "")
        if self.hit is not None:
            plain, colored = self.hit.warnings
            text = colored if use_color(color, sys.stderr) else plain
            if text:
                sys.stderr.write(text)
            self.program = self.hit.program
            return
        from compiler.lower import compile_sources

        sources = [source]
        loader = import_loader(sources)
        if self.cache is not None:
            from runtime.build_cache import recording_loader

            loader = recording_loader(loader, self.deps)
        output = compile_sources(sources, loader)
        _print_diagnostics(output.diagnostics, output.sources, color)
        if any(d.is_error for d in output.diagnostics):
            self.program = None
            return
        if output.program is None:
            raise RuntimeError(f"the compiler reported no error for '{path}' but built nothing")
        self.program = output.program
        if output.diagnostics and self.cache is not None:
            from compiler.render import render_human

            self.warnings = tuple(render_human(output.diagnostics, output.sources, color=c)
                                  for c in (False, True))

    def use_native_code(self, options: dict) -> None:
        """Point the JIT at the cached image's native code when it is of the tier asked
        for: loaded (not compiled) when the first of its functions gets hot."""
        self.jit = options.get("jit")
        hit = self.hit
        if (hit is not None and self.jit is not None and self.jit.mode != "off"
                and hit.native_opt == self.jit.opt):
            self.jit.image = hit.image_path

    def after_run(self, vm) -> None:
        jit = getattr(vm, "jit", None)
        if jit is not None:
            self.compiled = [(tuple(c.functions), c.opt) for c in jit.compilations]

    def store(self) -> None:
        """Write the cache entry (a miss), or rewrite it with more native code (a hit whose
        image lacked some of what the JIT compiled this time). Never fails the run."""
        if self.cache is None or self.program is None:
            return
        try:
            self._store()
        except Exception:  # an unwritable cache, a backend failure: the next run compiles
            if os.environ.get(TRACEBACK_ENV) == "1":
                import traceback

                traceback.print_exc(file=sys.stderr)

    def close(self) -> None:
        if self.hit is not None:
            self.hit.close()

    def _store(self) -> None:
        from runtime.build_cache import CACHE_SECTION, encode_cache_section

        opt = self.jit.opt if self.jit is not None else 2
        hot = {fi for functions, o in self.compiled if o == opt for fi in functions}
        hit = self.hit
        if hit is not None:
            have = hit.native_functions if hit.native_opt == opt else frozenset()
            if not hot or hot <= have:
                return
            hot |= have
            sections = {k: v for k, v in hit.sections.items() if k != ".vyn.native"}
        else:
            # Nothing got native code (or --jit=off): an image of bytecode alone, which
            # compiler/image_writer.py writes without LLVM.
            from compiler.serialize import program_to_sections

            sections = dict(program_to_sections(self.program))
            sections[CACHE_SECTION] = encode_cache_section(self.key, self.deps, self.warnings)
        native_ir = None
        if hot:
            from compiler.native_image import native_sections
            from runtime.jit import plain_builtins

            native_ir, extra = native_sections(self.program, opt, plain_builtins(),
                                               functions=hot, trace=self.traced)
            sections.update(extra)
        self.cache.store(self.key, sections, native_ir, opt)


def _run_run(args: argparse.Namespace) -> int:
    """Run FILE's `main`: the program's exit code (0, or 101 after a panic); 1 if a source
    file has compile errors. A source file goes through the build cache."""
    from runtime.image import is_image

    build = None
    if is_image(args.file):
        program = _load_program(args.file, args.color)
    else:
        build = _CachedBuild(args.file, args.color, traced=bool(getattr(args, "trace", None)))
        program = build.program
    if program is None:
        return EXIT_COMPILE_ERRORS
    if program.entry < 0:
        raise CliError(f"'{args.file}' has no `main` function to run")
    run_program = _run_program_function()
    jit_options = _jit_options(args)
    extra = {}
    if build is not None and build.cache is not None:
        build.use_native_code(jit_options)
        extra["after_run"] = build.after_run
    try:
        # --trace/--profile (vyndbg/trace_cli.py) attach recorders through `events`.
        code = run_recorded(args, lambda events: run_program(
            program, [args.file, *args.args], stdout=sys.stdout, stderr=sys.stderr,
            heap_limit=args.heap_limit, max_depth=args.max_depth, gc_stress=args.gc_stress,
            gc_trace=args.gc_trace, **({"events": events} if events else {}),
            **({"dump_on_panic": args.dump_on_panic} if args.dump_on_panic else {}),
            **jit_options, **extra))
        if build is not None:
            build.store()
    finally:
        if build is not None:
            build.close()
    return code


def _configure_disasm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="a Vyn source file (compiled first) or an image from `vyn build`")
    parser.add_argument("function", metavar="FUNC", nargs="?",
                        help="list only the function(s) of this name")
    _add_color_option(parser)


def _run_disasm(args: argparse.Namespace) -> int:
    """Print the bytecode of FILE (or of its function FUNC) with the source interleaved."""
    program = _load_program(args.file, args.color)
    if program is None:
        return EXIT_COMPILE_ERRORS
    from compiler.disasm import NoSuchFunction, disassemble

    try:
        sys.stdout.write(disassemble(program, args.function))
    except NoSuchFunction as e:
        raise CliError(f"no function named '{e.name}'") from None
    return EXIT_OK


# -- vyn debug -------------------------------------------------------------------------------

def _configure_debug(parser: argparse.ArgumentParser) -> None:
    import argparse

    from vyndbg.cli_parser import IntermixedParser, StartupAction

    parser.__class__ = IntermixedParser
    parser.add_argument("file", metavar="PROG", nargs="?",
                        help="a Vyn source file (compiled first) or an image from `vyn build`")
    parser.add_argument("args", nargs="*", metavar="ARGS",
                        help="arguments for the program (put them after `--`)")
    parser.add_argument("--core", metavar="FILE",
                        help="open a post-mortem dump from `vyn run --dump-on-panic` "
                             "(read-only; no PROG)")
    parser.add_argument("--batch", "-batch", action="store_true",
                        help="run the -ex/-x commands, then exit (killing the program)")
    parser.add_argument("-ex", "--eval-command", dest="startup", action=StartupAction,
                        const="ex", metavar="CMD", help="run the debugger command CMD "
                        "(repeatable; in order with -x)")
    parser.add_argument("-x", "--command", dest="startup", action=StartupAction, const="x",
                        metavar="FILE", help="run the debugger commands in FILE")
    ui = parser.add_mutually_exclusive_group()
    ui.add_argument("--cli", action="store_true", help="the gdb-style line mode, even on a "
                    "terminal")
    ui.add_argument("--tui", action="store_true", help="the full-screen debugger")
    parser.add_argument("-q", "-quiet", "--quiet", "-nx", "--nx", action="store_true",
                        dest="quiet", help=argparse.SUPPRESS)
    parser.add_argument("--heap-limit", type=parse_size, metavar="SIZE",
                        help="the most heap the program may use: bytes, or k, m, g (64m)")
    parser.add_argument("--max-depth", type=parse_positive_int, metavar="N",
                        help="the deepest the call stack may grow before `stack overflow`")
    parser.add_argument("--gc-trace", action="store_true",
                        help="one line on stderr per garbage collection and region release")
    parser.add_argument("--gc-stress", action="store_true",
                        help="collect garbage at every safepoint (slow; finds missing roots)")
    parser.add_argument("--jit", choices=("off", "auto", "eager"), default="off",
                        help="native code under the debugger, run inside unicorn: none "
                             "(default); for hot functions; for every function before main")
    parser.add_argument("--jit-threshold", type=parse_positive_int, metavar="N",
                        help="calls plus loop back-edges that make a function hot "
                             "(default 1000)")
    parser.add_argument("--jit-tier", type=int, choices=(1, 2), default=1,
                        help="compile unoptimized (1, default: every variable visible) or "
                             "optimized (2)")
    add_recording_options(parser)
    parser.set_defaults(startup=[])
    _add_color_option(parser)


def _debug_jit(args: argparse.Namespace) -> dict:
    """The engine's `jit` option for `vyn debug --jit=auto|eager` (none for off)."""
    if args.jit == "off":
        return {}
    from runtime.image import is_image
    from runtime.jit import DEFAULT_THRESHOLD, JitOptions

    return {"jit": JitOptions(mode=args.jit, threshold=args.jit_threshold or DEFAULT_THRESHOLD,
                              opt=0 if args.jit_tier == 1 else 2,
                              image=args.file if is_image(args.file) else None)}


def _tui_available() -> bool:
    """Whether the full-screen debugger (tui.app.run_tui) can be imported."""
    import importlib.util

    try:
        return importlib.util.find_spec("tui.app") is not None
    except (ImportError, ValueError):
        return False


def _run_debug(args: argparse.Namespace) -> int:
    """Debug PROG: the TUI when asked for (or on a terminal when it exists), else the
    gdb-compatible line mode. In batch, 0, or 1 if a command file could not be read or
    the last command failed; `quit N` exits with N."""
    if args.core is not None:
        return _run_core(args)
    if args.file is None:
        raise CliError("`vyn debug` needs a program to debug (PROG), or --core FILE")
    program = _load_program(args.file, args.color)
    if program is None:
        return EXIT_COMPILE_ERRORS
    tui = _tui_wanted(args)
    if tui is not None:
        run_tui, commands = tui
        # The collector's options only when given (tests stand in for run_tui).
        gc_options = {name: True for name in ("gc_trace", "gc_stress") if getattr(args, name)}
        code = run_recorded(args, lambda events: run_tui(
            program, argv=list(args.args), path=args.file, commands=commands,
            heap_limit=args.heap_limit, max_depth=args.max_depth, **gc_options,
            **_debug_jit(args), **({"events": events} if events else {})))
        return code if isinstance(code, int) else EXIT_OK
    from vyndbg.linemode import LineMode
    from vyndbg.prompt import run_line_mode

    interactive = not args.batch and sys.stdin.isatty()

    def line_mode(events) -> int:
        lm = LineMode(program, path=args.file, args=list(args.args), out=sys.stdout,
                      err=sys.stderr, interactive=interactive, heap_limit=args.heap_limit,
                      max_depth=args.max_depth, gc_trace=args.gc_trace,
                      gc_stress=args.gc_stress, events=events, **_debug_jit(args))
        try:
            return run_line_mode(lm, args.startup, batch=args.batch)
        finally:
            lm.close()

    # --trace/--profile record the first run (vyndbg/trace_cli.py).
    return run_recorded(args, line_mode)


def _tui_wanted(args: argparse.Namespace) -> tuple[Callable, list[str]] | None:
    """When `vyn debug` opens the full-screen debugger (--tui, or on a terminal unless
    --cli/--batch): tui/app.py's run_tui and the startup commands (-ex, and the lines of
    each -x FILE) in order; None for the line mode."""
    on_terminal = sys.stdin.isatty() and sys.stdout.isatty()
    if not (args.tui or (on_terminal and not args.cli and not args.batch
                         and _tui_available())):
        return None
    try:
        from tui.app import run_tui
    except ImportError:
        raise CliError("the full-screen debugger is not available; use --cli") from None
    commands: list[str] = []
    for item in args.startup:
        if item.kind == "ex":
            commands.append(item.text)
            continue
        try:
            with open(item.text, encoding="utf-8") as f:
                commands.extend(f.read().splitlines())
        except OSError as e:
            raise CliError(f"{item.text}: {e.strerror or e}.") from None
    return run_tui, commands


def _run_core(args: argparse.Namespace) -> int:
    """`vyn debug --core FILE`: the TUI (read-only) over a post-mortem dump when asked
    for or on a terminal, as for a program; else the line mode over it."""
    from vyndbg.core import CoreSession, DumpError, core_line_mode, load_dump
    from vyndbg.prompt import run_line_mode

    if args.file is not None:
        raise CliError("`vyn debug --core FILE` takes no PROG: the dump holds what it needs")
    try:
        session = CoreSession(load_dump(args.core), args.core)
    except DumpError as e:
        raise CliError(str(e)) from None
    tui = _tui_wanted(args)
    if tui is not None:
        run_tui, commands = tui
        code = run_tui(line_mode=core_line_mode(session), commands=commands)
        return code if isinstance(code, int) else EXIT_OK
    lm = core_line_mode(session, out=sys.stdout, err=sys.stderr,
                        interactive=not args.batch and sys.stdin.isatty())
    lm.banner()
    return run_line_mode(lm, args.startup, batch=args.batch)


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("check", "type-check Vyn source files and report diagnostics",
               _configure_check, _run_check),
    Subcommand("build", "compile a Vyn program into an image", _configure_build,
               _run_build),
    Subcommand("run", "run a Vyn program (a source file or an image)", _configure_run,
               _run_run),
    Subcommand("disasm", "list a program's bytecode beside its source", _configure_disasm,
               _run_disasm),
    Subcommand("debug", "debug a Vyn program with gdb's commands", _configure_debug,
               _run_debug, fast_exit=False),
    Subcommand("trace", "summarize or export a file written by `vyn run --trace/--profile`",
               configure_trace, run_trace),
    Subcommand("profile", "what the JIT did in a recorded run (`vyn profile jitted --hot FILE`)",
               configure_profile, run_profile),
)


# -- entry point ------------------------------------------------------------------------------

_EPILOG = f"""\
exit status:
  0    success (warnings allowed)
  1    the program has compile errors
  2    bad usage, an unreadable or invalid input file, or an internal error
  101  the program run by `vyn run` panicked
  130  interrupted

Run '{PROG} COMMAND --help' for a command's options."""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `vyn` argument parser, with one sub-parser per row of SUBCOMMANDS. Given the
    command line, only the sub-parser of the command it names gets its options (the
    others are named with their help, as `vyn --help` lists them): configuring every
    one cost about 8 ms at each start."""
    wanted = None
    if argv is not None:
        words = [a for a in argv if not a.startswith("-")]
        names = {sub.name for sub in SUBCOMMANDS}
        if words and words[0] in names:
            wanted = words[0]
    import argparse

    from vyndbg.cli_parser import Parser

    parser = Parser(prog=PROG, description="Vyn toolchain: compiler, runtime and debugger.",
                    epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                    allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                     required=True)
    for sub in SUBCOMMANDS:
        sub_parser = commands.add_parser(sub.name, help=sub.help, description=sub.help,
                                         allow_abbrev=False)
        if wanted is None or sub.name == wanted:
            sub.configure(sub_parser)
        sub_parser.set_defaults(run=sub.run, fast_exit=sub.fast_exit)
    return parser


# `vyn run FILE`'s arguments as the parser gives them (tests/test_cli_basic.py checks that
# they are the same): the command line of nearly every run, read without argparse.
_RUN_DEFAULTS = {
    "command": "run", "heap_limit": None, "max_depth": None, "gc_trace": False,
    "gc_stress": False, "dump_on_panic": None, "trace": None, "profile": None,
    "sample_every": None, "jit": "auto", "jit_stats": False, "jit_threshold": None,
    "jit_tier": 2, "perf_map": False, "jitdump": False, "color": "auto", "fast_exit": True,
}


def _plain_run(argv: list[str]):
    """The arguments of `vyn run FILE` or `vyn run FILE -- ARGS` (no options, no other
    `--`), else None: those are parsed by argparse."""
    if len(argv) < 2 or argv[0] != "run" or argv[1].startswith("-"):
        return None
    if len(argv) > 2 and (argv[2] != "--" or "--" in argv[3:]):
        return None
    from types import SimpleNamespace

    return SimpleNamespace(**_RUN_DEFAULTS, file=argv[1], args=argv[3:], run=_run_run)


def _complain(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _report_internal_error(exc: Exception) -> None:
    if os.environ.get(TRACEBACK_ENV) == "1":
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    _complain(f"internal error: {detail}")
    print(f"please report this at {ISSUES_URL} (set {TRACEBACK_ENV}=1 for details)",
          file=sys.stderr)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's last flush of it
    cannot fail again with "Exception ignored ... BrokenPipeError"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor behind stdout: nothing to do
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run `vyn` with `argv` (default: `sys.argv[1:]`) and return its exit code.

    Never raises: usage and input errors print one line, internal errors two (see the
    module docstring for the codes).
    """
    return _main(argv)[0]


def _main(argv: Sequence[str] | None) -> tuple[int, bool]:
    """main(), and whether the process may end with a fast exit after it."""
    fast_exit = False
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = _plain_run(argv)
        if args is None:
            parser = build_parser(argv)
            try:
                args = parser.parse_args(argv)
            except SystemExit as stop:  # --help and --version print, then stop argparse here
                return (stop.code if isinstance(stop.code, int) else EXIT_OK), False
        fast_exit = args.fast_exit
        return args.run(args), fast_exit
    except CliError as exc:
        _complain(str(exc))
        return EXIT_USAGE, fast_exit
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED, fast_exit
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE, fast_exit
    except Exception as exc:  # the last line of defence: no traceback reaches the user
        _report_internal_error(exc)
        return EXIT_INTERNAL_ERROR, fast_exit


def entry() -> NoReturn:
    """The `vyn` console command: main(), then exit.

    After `check`, `build`, `run` and `disasm`, the process ends at once (flushing its
    output, then `os._exit`) rather than letting the interpreter free every object it
    made: the compiler's tree, types and symbols refer to each other in cycles, and the
    collection and teardown at exit took 0.4 s after checking a 1 MB program. (mypy ends
    the same way.) `debug` exits normally: the line mode saves its history at exit.
    """
    code, fast_exit = _main(None)
    if fast_exit:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            _silence_stdout()
            code = EXIT_BROKEN_PIPE
        except (OSError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
