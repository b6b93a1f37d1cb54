"""The engine's errors are typed (vyndbg/model.py): every failure is a subclass of
`DebugError` with a stable `code` and structured fields, so a front end that does not
print gdb's words (a Debug Adapter Protocol server) maps them without reading prose;
`str(e)` stays gdb's sentence, which the line mode prints as it is."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

from compiler.lower import compile_file
from vyndbg import model
from vyndbg.engine import Session
from vyndbg.linemode import LineMode
from vyndbg.model import (
    BadArgumentError,
    BadExpressionError,
    CallError,
    DebugError,
    EvaluationError,
    LocationError,
    MemoryAccessError,
    NoBreakpointError,
    NoFrameError,
    NoProcessError,
    NoSymbolError,
    NotAllowedError,
    NoThreadError,
    StopReason,
    UnavailableError,
)

ROOT = Path(__file__).resolve().parent.parent
ENGINE_FILES = ("model.py", "engine.py", "control.py", "core.py", "evaluate.py", "exprs.py",
                "fibers.py", "heapview.py", "locations.py", "native_views.py")

PROGRAM = """\
fn boom(n: Int) -> Int {
  if n > 2 { panic("too big") }
  n * 2
}
fn main() {
  var total = 0
  let xs = [1, 2, 3]
  for i in 0..<3 {
    total += xs[i]
  }
  println(total)
}
"""


def error_classes() -> list[type[DebugError]]:
    return [c for c in vars(model).values()
            if isinstance(c, type) and issubclass(c, DebugError) and c is not DebugError]


# ---------------------------------------------------------------------- the source


@pytest.mark.parametrize("name", ENGINE_FILES)
def test_no_engine_file_raises_a_bare_debug_error(name):
    """Every error the engine makes is a subclass: no `raise DebugError(...)`, and no
    `DebugError(...)` built to be raised later."""
    tree = ast.parse((ROOT / "vyndbg" / name).read_text(), name)
    bare = [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == "DebugError") or
                (isinstance(node.func, ast.Attribute) and node.func.attr == "DebugError"))]
    assert bare == [], f"vyndbg/{name}: DebugError(...) at lines {bare}; use a subclass"


@pytest.mark.parametrize("name", ENGINE_FILES)
def test_every_raised_error_class_is_a_typed_debug_error(name):
    """What the engine files raise by name is one of the model's typed errors (or not a
    DebugError at all)."""
    tree = ast.parse((ROOT / "vyndbg" / name).read_text(), name)
    typed = {c.__name__ for c in error_classes()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                isinstance(node.exc.func, ast.Name):
            cls = getattr(model, node.exc.func.id, None)
            if isinstance(cls, type) and issubclass(cls, DebugError):
                assert cls.__name__ in typed, f"vyndbg/{name}:{node.lineno}"


def test_codes_are_unique_and_fields_are_declared():
    classes = error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), codes
    assert DebugError.code not in codes
    for c in classes:
        assert c.code and c.code == c.code.lower() and " " not in c.code
        for f in c.FIELDS:
            assert f not in ("code", "message", "args"), (c, f)


def test_fields_are_keywords_and_unknown_ones_are_refused():
    e = NoFrameError("No frame at level 7.", level=7)
    assert (e.level, e.function, e.thread) == (7, None, None)
    assert str(e) == "No frame at level 7." and e.args == ("No frame at level 7.",)
    assert e.as_dict() == {"code": "no-frame", "message": "No frame at level 7.", "level": 7}
    with pytest.raises(TypeError, match="no field colour"):
        NoFrameError("x", colour=1)
    assert issubclass(BadExpressionError, EvaluationError)
    assert issubclass(CallError, EvaluationError)


# ---------------------------------------------------------------------- the engine


def session() -> Session:
    return Session(compile_file("p.vyn", PROGRAM).program)


@pytest.fixture
def stopped():
    """Stopped on line 9 (`total += xs[i]`), in main."""
    s = session()
    s.break_at("9")
    assert s.run().reason is StopReason.BREAKPOINT
    try:
        yield s
    finally:
        s.kill()


def raised(call, cls: type[DebugError]) -> DebugError:
    with pytest.raises(DebugError) as info:
        call()
    assert type(info.value) is cls, (type(info.value), str(info.value))
    return info.value


def test_no_process_before_run():
    s = session()
    e = raised(s.frames, NoProcessError)
    assert (e.code, str(e)) == ("no-process", "The program is not being run.")
    e = raised(lambda: s.watch("total"), NoProcessError)
    assert str(e) == "Cannot watch an expression before the program runs; use `start` first."


def test_locations():
    s = session()
    e = raised(lambda: s.break_at("nosuch"), LocationError)
    assert e.code == "bad-location"
    assert (e.location, e.function, e.file, e.line) == ("nosuch", "nosuch", None, None)
    assert str(e) == 'Function "nosuch" not defined.'
    e = raised(lambda: s.break_at("99"), LocationError)
    assert (e.location, e.file, e.line) == ("99", "p.vyn", 99)
    assert str(e) == 'No line 99 in file "p.vyn".'
    e = raised(lambda: s.break_at("other.vyn:3"), LocationError)
    assert (e.location, e.file, e.line) == ("other.vyn:3", "other.vyn", None)
    assert str(e) == "No source file named other.vyn."
    e = raised(lambda: s.line_info("99"), LocationError)
    assert (e.location, e.file, e.line) == ("99", "p.vyn", 99)
    assert str(e) == 'Line number 99 is out of range for "p.vyn".'


def test_breakpoint_numbers():
    s = session()
    e = raised(lambda: s.delete([42]), NoBreakpointError)
    assert (e.code, e.number, str(e)) == ("no-breakpoint", 42, "No breakpoint number 42.")


def test_symbols(stopped):
    e = raised(lambda: stopped.evaluate("nosuch"), NoSymbolError)
    assert (e.code, e.name, e.kind) == ("no-symbol", "nosuch", "variable")
    assert str(e) == 'No symbol "nosuch" in current context.'
    e = raised(lambda: stopped.set_var("nosuch", "1"), NoSymbolError)
    assert (e.name, e.kind) == ("nosuch", "variable")
    e = raised(lambda: stopped.frame_of_function("nope"), NoSymbolError)
    assert (e.name, e.kind, str(e)) == ("nope", "function", 'Function "nope" not defined.')
    e = raised(lambda: stopped.disassemble("nope"), NoSymbolError)
    assert (e.name, e.kind, str(e)) == ("nope", "function",
                                        'No symbol "nope" in current context.')


def test_frames_and_threads(stopped):
    e = raised(lambda: stopped.select_frame(7), NoFrameError)
    assert (e.code, e.level, e.thread, str(e)) == ("no-frame", 7, 1, "No frame at level 7.")
    e = raised(lambda: stopped.frame_of_function("boom"), NoFrameError)
    assert (e.function, str(e)) == ("boom", 'No frame for function "boom".')
    e = raised(lambda: stopped.select_thread(9), NoThreadError)
    assert (e.code, e.thread, str(e)) == ("no-thread", 9, "Unknown thread 9.")


def test_not_allowed(stopped):
    e = raised(stopped.finish, NotAllowedError)
    assert (e.code, e.command, e.reason) == ("not-allowed", "finish", "outermost-frame")
    assert str(e) == '"finish" not meaningful in the outermost frame.'
    e = raised(stopped.return_from, NotAllowedError)
    assert (e.command, e.reason) == ("return", "outermost-frame")
    assert str(e) == "Can not force return from the outermost frame."
    e = raised(lambda: stopped.jump("2"), LocationError)
    assert (e.location, e.line) == ("2", 2)
    assert str(e) == "Line 2 is not in `main'; vyn can only jump within the current function."


def test_expressions(stopped):
    e = raised(lambda: stopped.evaluate("1 +"), BadExpressionError)
    assert (e.code, e.expression, e.diagnostic) == ("bad-expression", "1 +", None)
    assert e.detail == "expected an expression, found end of line"
    assert str(e) == ("A syntax error in expression, near `1 +`: expected an expression, "
                      "found end of line.")
    e = raised(lambda: stopped.evaluate('total + "a"'), BadExpressionError)
    assert (e.expression, e.diagnostic) == ('total + "a"', "T2010")
    assert str(e).splitlines() == ["error[T2010]: cannot apply `+` to `Int` and `String`",
                                   '  total + "a"',
                                   "  ^^^^^^^^^^^ `Int` + `String` is not defined"]
    e = raised(lambda: stopped.evaluate("boom(5)"), CallError)
    assert (e.code, e.reason, e.detail) == ("call-failed", "panic", "too big")
    assert str(e) == ("The program being debugged panicked while in a function called from "
                      "the debugger: too big.")
    e = raised(lambda: stopped.set_var("1 + 2", "3"), EvaluationError)
    assert (e.code, e.expression) == ("evaluation", "1 + 2")
    assert str(e) == "Left operand of assignment is not an lvalue."
    e = raised(lambda: stopped.evaluate("&total"), EvaluationError)
    assert str(e) == "Attempt to take address of value not located in memory."


def test_memory_and_arguments(stopped):
    e = raised(lambda: stopped.read_memory(0x10, 4), MemoryAccessError)
    assert (e.code, e.address, str(e)) == ("memory", 0x10,
                                           "Cannot access memory at address 0x10")
    e = raised(lambda: stopped.format_value(stopped.evaluate("xs"), "x"), BadArgumentError)
    assert (e.code, e.argument, e.value) == ("bad-argument", "format", "x")
    assert str(e) == "Format /x applies to integers; this value is a [Int; 3]."
    e = raised(lambda: stopped.set_scheduler_locking("sometimes"), BadArgumentError)
    assert (e.argument, e.value, str(e)) == ("scheduler-locking", "sometimes",
                                             'Undefined item: "sometimes".')
    e = raised(lambda: stopped.fibers(sort_by="size"), BadArgumentError)
    assert (e.argument, e.value) == ("sort", "size")
    e = raised(lambda: stopped.mailbox(1), BadArgumentError)
    assert (e.argument, e.value, str(e)) == ("thread", 1, "Thread 1 (main) is not an actor.")


def test_native_views_without_native_code(stopped):
    e = raised(stopped.jit_functions, UnavailableError)
    assert (e.code, str(e)) == ("unavailable",
                                "The program runs in bytecode only (vyn debug --jit=off).")
    e = raised(stopped.registers, UnavailableError)
    assert e.function == "main"
    assert str(e) == "The selected frame runs bytecode; it has no machine registers."


def test_the_line_mode_prints_the_engine_message_unchanged():
    out, err = io.StringIO(), io.StringIO()
    lm = LineMode(compile_file("p.vyn", PROGRAM).program, path="p.vyn", out=out, err=err)
    try:
        for line in ("break nosuch", "break 9", "run", "print nosuch", "frame 7", "finish"):
            lm.execute(line)
    finally:
        lm.close()
    assert err.getvalue().splitlines() == [
        'Function "nosuch" not defined.',
        'No symbol "nosuch" in current context.',
        "No frame at level 7.",
        '"finish" not meaningful in the outermost frame.',
    ]
