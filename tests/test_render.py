"""What a user sees for a diagnostic: rustc-style text, and JSON lines for tools."""

from __future__ import annotations

import json
from textwrap import dedent

from compiler.diagnostics import Diagnostic, Label, Severity
from compiler.render import render_diagnostic, render_human, render_json, render_summary
from compiler.span import NO_SPAN, SourceFile, Span


def source(text: str, name: str = "main.vyn") -> SourceFile:
    return SourceFile(name, dedent(text).lstrip("\n"))


def span_of(src: SourceFile, needle: str, nth: int = 0) -> Span:
    """The span of the nth occurrence of `needle` in `src`."""
    start = -1
    for _ in range(nth + 1):
        start = src.text.index(needle, start + 1)
    return src.span(start, start + len(needle))


def render(diag: Diagnostic, *sources: SourceFile) -> str:
    return render_diagnostic(diag, {s.name: s for s in sources})


def error(code: str, message: str, span: Span, label: str = "", **kwargs) -> Diagnostic:
    return Diagnostic(code, message, Label(span, label), **kwargs)


HELLO = """
    fn main() {
      println(greeting)
    }
"""


def test_primary_label_is_underlined_with_carets_under_its_span():
    src = source(HELLO)
    diag = error("T2000", "unknown name `greeting`", span_of(src, "greeting"), "not found")
    assert render(diag, src) == dedent("""\
        error[T2000]: unknown name `greeting`
         --> main.vyn:2:11
          |
        2 |   println(greeting)
          |           ^^^^^^^^ not found
        """)


def test_label_without_message_is_carets_only():
    src = source(HELLO)
    diag = error("T2000", "unknown name `greeting`", span_of(src, "greeting"))
    assert render(diag, src).splitlines()[-1] == "  |           ^^^^^^^^"


def test_empty_span_still_gets_one_caret():
    src = source(HELLO)
    at = src.text.index(")\n")
    diag = error("P1000", "unexpected token", src.span(at, at), "expected `,`")
    assert render(diag, src).splitlines()[-1] == "  |                   ^ expected `,`"


def test_tabs_are_drawn_as_four_spaces_and_the_caret_follows():
    src = source("fn main() {\n\tlet n: Int = \"no\"\n}\n")
    diag = error("T2001", "mismatched types", span_of(src, '"no"'), "expected `Int`")
    lines = render(diag, src).splitlines()
    assert lines[3] == '2 |     let n: Int = "no"'
    assert lines[4] == "  |                  ^^^^ expected `Int`"
    assert lines[3].index('"no"') == lines[4].index("^")


def test_wide_characters_take_two_columns():
    src = source('fn main() {\n  let s = "日本" + 1\n}\n')
    diag = error("T2010", "invalid operand types", span_of(src, "1"), "an Int")
    lines = render(diag, src).splitlines()
    # `  let s = "` is 11 columns, the two characters 4, then `" + ` 4 more.
    assert lines[4] == "  | " + " " * 19 + "^ an Int"


def test_control_characters_are_shown_harmlessly_and_crlf_is_dropped():
    src = SourceFile("main.vyn", 'fn main() {\r\n  let s = "\x1b[2J" + 1\r\n}\r\n')
    diag = error("T2010", "invalid operand types", span_of(src, "1"), "an Int")
    lines = render(diag, src).splitlines()
    assert lines[3] == '2 |   let s = "\u241b[2J" + 1'
    assert lines[4].index("^") == lines[3].index("1")


def test_span_over_several_lines_is_underlined_to_the_end_of_its_first_line():
    src = source("""
        fn main() {
          foo(1,
              2)
        }
    """)
    start = src.text.index("foo")
    end = src.text.index("2)") + 2
    diag = error("T2000", "unknown name `foo`", src.span(start, end), "not found")
    assert render(diag, src) == dedent("""\
        error[T2000]: unknown name `foo`
         --> main.vyn:2:3
          |
        2 |   foo(1,
          |   ^^^^^^ not found
        """)


def test_secondary_label_on_an_earlier_line_shows_that_line_with_dashes():
    src = source("""
        fn main() {
          let x = 1
          x = 2
        }
    """)
    diag = Diagnostic(
        "T2002", "cannot assign twice to immutable binding `x`",
        Label(span_of(src, "x = 2"), "cannot assign twice"),
        (Label(span_of(src, "x"), "first assigned here"),),
        notes=("`let` bindings are immutable",),
        suggestion="declare it with `var x` to allow assignment",
    )
    assert render(diag, src) == dedent("""\
        error[T2002]: cannot assign twice to immutable binding `x`
         --> main.vyn:3:3
          |
        2 |   let x = 1
          |       - first assigned here
        3 |   x = 2
          |   ^^^^^ cannot assign twice
          |
          = note: `let` bindings are immutable
          = help: declare it with `var x` to allow assignment
        """)


def test_labels_on_one_line_hang_their_messages_below_the_underline():
    src = source("""
        fn main() {
          let n: Int = "no"
        }
    """)
    diag = Diagnostic("T2001", "mismatched types", Label(span_of(src, '"no"'), "a String"),
                      (Label(span_of(src, "Int"), "expected because of this"),))
    assert render(diag, src).splitlines()[3:] == [
        '2 |   let n: Int = "no"',
        "  |          ---   ^^^^ a String",
        "  |          |",
        "  |          expected because of this",
    ]


def test_three_labels_on_one_line_stack_their_messages_right_to_left():
    src = source("fn f() {\n  g(a, b, c)\n}\n")
    diag = Diagnostic("T2001", "mismatched types", Label(span_of(src, "c"), "third"),
                      (Label(span_of(src, "a"), "first"), Label(span_of(src, "b"), "second")))
    assert render(diag, src).splitlines()[4:] == [
        "  |     -  -  ^ third",
        "  |     |  |",
        "  |     |  second",
        "  |     first",
    ]


def test_a_single_line_between_two_labels_is_shown_and_a_longer_gap_is_elided():
    src = SourceFile("main.vyn", "".join(f"line {n}\n" for n in range(1, 13)))
    near = Diagnostic("T2007", "duplicate definition", Label(span_of(src, "line 4"), "again"),
                      (Label(span_of(src, "line 2"), "first"),))
    assert render(near, src).splitlines()[3:8] == [
        "2 | line 2", "  | ------ first", "3 | line 3", "4 | line 4", "  | ^^^^^^ again"]
    far = Diagnostic("T2007", "duplicate definition", Label(span_of(src, "line 12"), "again"),
                     (Label(span_of(src, "line 1"), "first"),))
    assert render(far, src).splitlines()[1:] == [
        "  --> main.vyn:12:1",
        "   |",
        " 1 | line 1",
        "   | ------ first",
        "...",
        "12 | line 12",
        "   | ^^^^^^^ again",
    ]


def test_secondary_label_in_another_file_gets_its_own_location_line():
    main = source("fn main() {\n  helper(1)\n}\n")
    lib = source("fn helper() {\n}\n", name="lib.vyn")
    diag = Diagnostic("T2003", "wrong number of arguments",
                      Label(span_of(main, "helper(1)"), "1 argument given"),
                      (Label(span_of(lib, "helper()"), "takes none"),))
    assert render(diag, main, lib) == dedent("""\
        error[T2003]: wrong number of arguments
         --> main.vyn:2:3
          |
        2 |   helper(1)
          |   ^^^^^^^^^ 1 argument given
         ::: lib.vyn:1:4
          |
        1 | fn helper() {
          |    -------- takes none
        """)


def test_warning_with_multi_line_note_keeps_the_note_aligned():
    src = source(HELLO)
    diag = Diagnostic("W4001", "unused variable `greeting`", Label(span_of(src, "greeting")),
                      notes=("first line\nsecond line",), severity=Severity.WARNING)
    assert render(diag, src) == dedent("""\
        warning[W4001]: unused variable `greeting`
         --> main.vyn:2:11
          |
        2 |   println(greeting)
          |           ^^^^^^^^
          |
          = note: first line
                  second line
        """)


def test_without_its_source_file_a_diagnostic_still_names_the_location():
    src = source(HELLO)
    diag = error("T2000", "unknown name `greeting`", span_of(src, "greeting"), "not found",
                 notes=("a note",))
    assert render_diagnostic(diag, {}) == dedent("""\
        error[T2000]: unknown name `greeting`
         --> main.vyn:2:11
          = note: a note
        """)


def test_a_diagnostic_without_a_span_is_just_its_header():
    diag = error("T2000", "no `main` function", NO_SPAN)
    assert render_diagnostic(diag, {}) == "error[T2000]: no `main` function\n"


def test_colour_only_when_asked():
    src = source(HELLO)
    diag = error("T2000", "unknown name `greeting`", span_of(src, "greeting"), "not found")
    plain = render_diagnostic(diag, {src.name: src})
    coloured = render_diagnostic(diag, {src.name: src}, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31merror[T2000]\x1b[0m" in coloured
    assert "\x1b[1;31m^^^^^^^^\x1b[0m" in coloured


def test_human_output_ends_with_a_summary_line():
    src = source(HELLO)
    err = error("T2000", "unknown name `greeting`", span_of(src, "greeting"))
    text = render_human([err, err], {src.name: src})
    assert text.endswith("\n\nerror: aborting due to 2 previous errors\n")
    assert text.count("error[T2000]") == 2


def test_summary_counts_errors_and_warnings():
    src = source(HELLO)
    err = error("T2000", "unknown name", span_of(src, "greeting"))
    warn = Diagnostic("W4001", "unused", Label(span_of(src, "greeting")),
                      severity=Severity.WARNING)
    assert render_summary([err]) == "error: aborting due to 1 previous error\n"
    assert render_summary([err, err, warn]) == (
        "error: aborting due to 2 previous errors; 1 warning emitted\n")
    assert render_summary([warn, warn]) == "warning: 2 warnings emitted\n"
    assert render_summary([]) is None
    assert render_human([], {}) == ""


def test_json_is_one_object_per_diagnostic_per_line():
    src = source(HELLO)
    diag = Diagnostic("T2000", "unknown name `greeting`",
                      Label(span_of(src, "greeting"), "not found"),
                      (Label(span_of(src, "main"), "in this function"),),
                      notes=("a note",), suggestion="did you mean `greet`?")
    warn = Diagnostic("W4001", "unused", Label(span_of(src, "main")), severity=Severity.WARNING)
    lines = render_json([diag, warn]).splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first == {
        "code": "T2000",
        "severity": "error",
        "message": "unknown name `greeting`",
        "file": "main.vyn",
        "line": 2,
        "column": 11,
        "end_line": 2,
        "end_column": 19,
        "labels": [
            {"primary": True, "message": "not found", "file": "main.vyn",
             "line": 2, "column": 11, "end_line": 2, "end_column": 19},
            {"primary": False, "message": "in this function", "file": "main.vyn",
             "line": 1, "column": 4, "end_line": 1, "end_column": 8},
        ],
        "notes": ["a note"],
        "suggestion": "did you mean `greet`?",
    }
    assert json.loads(lines[1])["severity"] == "warning"
