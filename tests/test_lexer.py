"""The lexer, token by token: every kind of token the guide uses, statement ends and
indentation blocks, and each lexer error code with the line:col it points at."""

from __future__ import annotations

from textwrap import dedent

import pytest

from compiler.diagnostics import CODES, DiagnosticSink
from compiler.lexer import MAX_NESTING, lex
from compiler.span import SourceFile
from compiler.tokens import T, Token


def tokens(text: str) -> list[Token]:
    """Tokens of `text`, which must lex without diagnostics."""
    sink = DiagnosticSink()
    toks = lex(SourceFile("t.vyn", text), sink)
    assert [d.message for d in sink.items] == []
    return toks


def kinds(text: str) -> list[tuple[str, str]]:
    """(kind, text) of each token, without the final NEWLINE and EOF."""
    toks = tokens(text)
    assert toks[-1].kind is T.EOF
    out = [(t.kind.name, t.text) for t in toks[:-1]]
    if out and out[-1] == ("NEWLINE", "\n"):
        out.pop()
    return out


def one(text: str) -> Token:
    """The single token `text` lexes to."""
    toks = [t for t in tokens(text) if t.kind not in (T.NEWLINE, T.EOF)]
    assert len(toks) == 1, toks
    return toks[0]


def errors(text: str) -> list[tuple[str, str]]:
    """(code, "line:col") of each diagnostic the lexer reports for `text`."""
    sink = DiagnosticSink()
    lex(SourceFile("t.vyn", text), sink)
    return [(d.code, f"{d.primary.span.line}:{d.primary.span.col}") for d in sink.items]


# ---------------------------------------------------------------- literals (guide 3.1)

@pytest.mark.parametrize("text, value", [
    ("42", 42),
    ("0", 0),
    ("123", 123),
    ("100_000", 100_000),
    ("1_000_000", 1_000_000),
    ("0xDE", 0xDE),
    ("0xde", 0xDE),
    ("0XFF_FF", 0xFFFF),
    ("0b101", 5),
    ("0B1111_0000", 0xF0),
    ("0o17", 15),
    ("0O777", 0o777),
    ("9223372036854775807", (1 << 63) - 1),
])
def test_integer_literals_in_every_base_with_separators(text, value):
    tok = one(text)
    assert tok.kind is T.INT
    assert tok.value == value
    assert tok.text == text


def test_hex_literals_may_use_all_64_bits_and_wrap_to_negative():
    assert one("0xFFFFFFFFFFFFFFFF").value == -1
    assert one("0x8000000000000000").value == -(1 << 63)
    assert one("0x7FFFFFFFFFFFFFFF").value == (1 << 63) - 1


@pytest.mark.parametrize("text, value", [
    ("3.14", 3.14),
    ("1.5", 1.5),
    ("1e100", 1e100),
    ("2.5e-3", 2.5e-3),
    ("1e-7", 1e-7),
    ("1.5E+5", 1.5e5),
    ("1_000.5", 1000.5),
    ("0.1", 0.1),
])
def test_float_literals_with_fraction_and_exponent(text, value):
    tok = one(text)
    assert tok.kind is T.FLOAT
    assert tok.value == value


def test_a_range_between_integers_is_not_a_float():
    assert kinds("1..5") == [("INT", "1"), ("OP", ".."), ("INT", "5")]
    assert kinds("0..<10") == [("INT", "0"), ("OP", "..<"), ("INT", "10")]
    assert kinds("1.5..2.5") == [("FLOAT", "1.5"), ("OP", ".."), ("FLOAT", "2.5")]


def test_a_tuple_field_after_a_dot_is_an_integer():
    assert kinds("t.0") == [("IDENT", "t"), ("OP", "."), ("INT", "0")]
    # `t.0.1` lexes `0.1` as one float; the parser splits it into two fields.
    assert kinds("t.0.1") == [("IDENT", "t"), ("OP", "."), ("FLOAT", "0.1")]
    assert kinds("1.max(2)") == [("INT", "1"), ("OP", "."), ("IDENT", "max"), ("OP", "("),
                                 ("INT", "2"), ("OP", ")")]


@pytest.mark.parametrize("text, value", [
    ("'A'", "A"),
    ("'💡'", "💡"),
    ("'\\n'", "\n"),
    ("'\\t'", "\t"),
    ("'\\''", "'"),
    ("'\\\\'", "\\"),
    ("'\\0'", "\0"),
    ("'\\u{1F4A1}'", "💡"),
    ("'\\x41'", "A"),
    ("'\"'", '"'),
])
def test_character_literals(text, value):
    tok = one(text)
    assert tok.kind is T.CHAR
    assert tok.value == value


@pytest.mark.parametrize("text, value", [
    ('"Hello, Vyn!"', "Hello, Vyn!"),
    ('""', ""),
    ('"a\\nb"', "a\nb"),
    ('"tab\\there"', "tab\there"),
    ('"back\\\\slash"', "back\\slash"),
    ('"say \\"hi\\""', 'say "hi"'),
    ('"\\u{1F4A1} idea"', "💡 idea"),
    ('"\\u{41}\\x42\\r\\0"', "AB\r\0"),
    ('"it\'s"', "it's"),
    ('"{} and {{}}"', "{} and {{}}"),
    ('"💡"', "💡"),
])
def test_string_literals_decode_their_escapes(text, value):
    tok = one(text)
    assert tok.kind is T.STRING
    assert tok.value == value
    assert tok.text == text


def test_booleans_and_nil_are_keywords():
    assert one("true").kind is T.KEYWORD and one("true").value is True
    assert one("false").value is False
    assert one("nil").kind is T.KEYWORD


# ---------------------------------------------------------------- names, comments, attributes

def test_identifiers_and_keywords():
    assert kinds("let x_1 = é") == [("KEYWORD", "let"), ("IDENT", "x_1"), ("OP", "="),
                                     ("IDENT", "é")]
    for kw in ("fn", "let", "var", "if", "else", "while", "for", "in", "match", "return",
               "template", "class", "enum", "scoped", "actor", "spawn", "await", "async",
               "unsafe", "extern", "macro", "as", "self", "import", "module"):
        assert one(kw).kind is T.KEYWORD, kw
    # Contextual words stay identifiers.
    assert one("mut").kind is T.IDENT
    assert one("Self").kind is T.IDENT


def test_line_comments_and_nested_block_comments_are_skipped():
    text = dedent("""\
        fn main() {  // a comment
          /* one /* two */ still a comment */ println("x")
        }
    """)
    assert kinds(text) == [
        ("KEYWORD", "fn"), ("IDENT", "main"), ("OP", "("), ("OP", ")"), ("OP", "{"),
        ("NEWLINE", "\n"),
        ("IDENT", "println"), ("OP", "("), ("STRING", '"x"'), ("OP", ")"), ("NEWLINE", "\n"),
        ("OP", "}"),
    ]


def test_a_block_comment_may_span_lines():
    assert kinds("a /* x\n y \n z */ b") == [("IDENT", "a"), ("IDENT", "b")]
    assert kinds("a\n/* x\n/* y */\n*/\nb") == [("IDENT", "a"), ("NEWLINE", "\n"),
                                                 ("IDENT", "b")]


def test_attributes():
    assert kinds("@test") == [("ATTR", "test")]
    assert kinds("@log_calls fn") == [("ATTR", "log_calls"), ("KEYWORD", "fn")]
    assert kinds('#cfg(linux) extern "C"') == [
        ("HASH_ATTR", "cfg"), ("OP", "("), ("IDENT", "linux"), ("OP", ")"),
        ("KEYWORD", "extern"), ("STRING", '"C"')]
    tok = one("@prop")
    assert (tok.span.line, tok.span.col, tok.span.end - tok.span.start) == (1, 1, 5)


# ---------------------------------------------------------------- operators

@pytest.mark.parametrize("op", [
    "..<", "...", "<<=", ">>=", "..", "=>", "->", "::", "==", "!=", "<=", ">=", "&&", "||",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "+", "-", "*", "/", "%", "=",
    "<", ">", "!", "&", "|", "^", "~", ".", ",", ":", "(", ")", "[", "]", "{", "}", "?",
])
def test_every_operator_is_one_token(op):
    toks = [t for t in tokens(f"a {op} b") if t.kind is T.OP]
    assert [t.text for t in toks] == [op]


def test_any_two_operators_in_a_row_split_by_longest_match():
    from compiler.tokens import OPERATORS

    def munch(text: str) -> list[str]:     # the reference: longest operator first
        out = []
        while text:
            op = max((o for o in OPERATORS if text.startswith(o)), key=len)
            out.append(op)
            text = text[len(op):]
        return out

    for a in OPERATORS:
        for b in OPERATORS:
            text = a + b
            if "//" in text or "/*" in text or ";" in text:
                continue     # comments, and `;` ends a statement
            toks = [t.text for t in lex(SourceFile("t.vyn", f"x {text} y"), DiagnosticSink())
                    if t.kind is T.OP]
            assert toks == munch(text), text


def test_operators_match_greedily():
    assert kinds("a..<b") == [("IDENT", "a"), ("OP", "..<"), ("IDENT", "b")]
    assert kinds("x<<=1") == [("IDENT", "x"), ("OP", "<<="), ("INT", "1")]
    assert kinds("Vec<Vec<Int>>") == [("IDENT", "Vec"), ("OP", "<"), ("IDENT", "Vec"),
                                      ("OP", "<"), ("IDENT", "Int"), ("OP", ">>")]
    assert kinds("a->b=>c::d") == [("IDENT", "a"), ("OP", "->"), ("IDENT", "b"), ("OP", "=>"),
                                   ("IDENT", "c"), ("OP", "::"), ("IDENT", "d")]
    assert kinds("fn f(x: *char, ...)")[-2:] == [("OP", "..."), ("OP", ")")]


def test_and_mut_is_an_ampersand_and_the_identifier_mut():
    assert kinds("&mut self") == [("OP", "&"), ("IDENT", "mut"), ("KEYWORD", "self")]
    assert kinds("&&x") == [("OP", "&&"), ("IDENT", "x")]


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="])
def test_compound_assignments(op):
    assert kinds(f"n {op} 1") == [("IDENT", "n"), ("OP", op), ("INT", "1")]


def test_spans_count_characters_from_one():
    toks = tokens('let s = "💡"\n  s.len()')
    s2 = [t for t in toks if t.text == "s"][1]
    assert (s2.span.line, s2.span.col) == (2, 3)
    paren = [t for t in toks if t.text == "("][0]
    assert (paren.span.line, paren.span.col) == (2, 8)
    string = [t for t in toks if t.kind is T.STRING][0]
    assert (string.span.col, string.span.end_col) == (9, 12)


# ---------------------------------------------------------------- statement ends

def test_newlines_and_semicolons_end_statements():
    assert kinds("let a = 1\nlet b = 2") == [
        ("KEYWORD", "let"), ("IDENT", "a"), ("OP", "="), ("INT", "1"), ("NEWLINE", "\n"),
        ("KEYWORD", "let"), ("IDENT", "b"), ("OP", "="), ("INT", "2")]
    assert kinds("a; b;c") == [("IDENT", "a"), ("NEWLINE", ";"), ("IDENT", "b"),
                               ("NEWLINE", ";"), ("IDENT", "c")]


def test_blank_and_comment_lines_make_no_tokens():
    assert kinds("a\n\n   \n// c\n\nb") == [("IDENT", "a"), ("NEWLINE", "\n"), ("IDENT", "b")]


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "&&", "||", "==", "<", ",", ".", "=", "..<",
                                "as", "=>", "->"])
def test_a_line_ending_with_a_binary_operator_or_comma_continues(op):
    toks = kinds(f"let x = a {op}\n    b")
    assert ("NEWLINE", "\n") not in toks


def test_lines_continue_inside_parentheses_and_brackets():
    assert ("NEWLINE", "\n") not in kinds("f(1\n, 2\n)")
    assert ("NEWLINE", "\n") not in kinds("[1\n2]")
    # ... but not inside braces, where lines are statements.
    assert ("NEWLINE", "\n") in kinds("{ a\nb }")
    assert ("NEWLINE", "\n") in kinds("f(fn() {\n a\n b\n})")


def test_a_glob_import_ends_its_line():
    assert kinds("import a::*\nfn") == [("KEYWORD", "import"), ("IDENT", "a"), ("OP", "::"),
                                        ("OP", "*"), ("NEWLINE", "\n"), ("KEYWORD", "fn")]


# ---------------------------------------------------------------- indentation blocks

def test_an_indented_block_after_a_header_gets_synthetic_braces():
    text = dedent("""\
        fn main()
            let x = 1
            x
        fn g() {}
    """)
    toks = tokens(text)
    shown = [(t.kind.name, t.text, t.synthetic) for t in toks]
    assert shown == [
        ("KEYWORD", "fn", False), ("IDENT", "main", False), ("OP", "(", False),
        ("OP", ")", False),
        ("OP", "{", True),
        ("KEYWORD", "let", False), ("IDENT", "x", False), ("OP", "=", False), ("INT", "1", False),
        ("NEWLINE", "\n", True), ("IDENT", "x", False), ("NEWLINE", "\n", True),
        ("OP", "}", True), ("NEWLINE", "\n", True),
        ("KEYWORD", "fn", False), ("IDENT", "g", False), ("OP", "(", False), ("OP", ")", False),
        ("OP", "{", False), ("OP", "}", False), ("NEWLINE", "\n", True),
        ("EOF", "", True),
    ]


def test_nested_indentation_blocks_close_on_dedent_and_at_end_of_file():
    text = "fn main()\n    if x\n        y\n    else\n        z"
    shown = [t.text for t in tokens(text) if t.kind is T.OP and t.synthetic]
    assert shown == ["{", "{", "}", "{", "}", "}"]


def test_a_more_indented_line_without_a_header_continues_the_statement():
    assert kinds("let x = foo\n    .bar()") == [
        ("KEYWORD", "let"), ("IDENT", "x"), ("OP", "="), ("IDENT", "foo"), ("OP", "."),
        ("IDENT", "bar"), ("OP", "("), ("OP", ")")]


def test_a_brace_at_the_end_of_a_header_line_opens_no_indentation_block():
    toks = tokens("fn main() {\n    x\n}")
    assert not any(t.synthetic and t.kind is T.OP for t in toks)


def test_tabs_count_as_four_columns_of_indentation():
    toks = tokens("fn main()\n\tx\n    y")
    assert [t.text for t in toks if t.synthetic and t.kind is T.OP] == ["{", "}"]


# ---------------------------------------------------------------- errors

def test_every_lexer_code_is_documented():
    assert [c for c in CODES if c.startswith("L")] == [f"L000{i}" for i in range(1, 10)] + [
        "L0010"]


@pytest.mark.parametrize("text, expected", [
    # L0001 unexpected character: points at the character.
    ("let a = 1\nlet b = $x", [("L0001", "2:9")]),
    ("let c = `x`", [("L0001", "1:9"), ("L0001", "1:11")]),
    # L0002 unterminated string: points at the opening quote.
    ('fn main() {\n  println("oops)\n}', [("L0002", "2:11")]),
    # L0003 unterminated block comment: points at the `/*`.
    ("a\n  /* one /* two */\nb", [("L0003", "2:3")]),
    # L0004 invalid escape: points at the backslash.
    ('let s = "a\\qb"', [("L0004", "1:11")]),
    ('let s = "\\u{D800}"', [("L0004", "1:10")]),
    ('let s = "\\u{110000}"', [("L0004", "1:10")]),
    ('let s = "\\xFF"', [("L0004", "1:10")]),
    # L0005 invalid character literal: points at the opening quote.
    ("let c = 'ab'", [("L0005", "1:9")]),
    ("let c = ''", [("L0005", "1:9")]),
    # L0006 malformed number.
    ("let n = 12abc", [("L0006", "1:9")]),
    ("let n = 0x", [("L0006", "1:9")]),
    ("let n = 0b102", [("L0006", "1:9")]),
    ("let n = 1e", [("L0006", "1:9")]),
    # L0007 integer out of range.
    ("let n = 9223372036854775808", [("L0007", "1:9")]),
    ("let n = 0x1_0000_0000_0000_0000", [("L0007", "1:9")]),
    ("let n = " + "9" * 5000, [("L0007", "1:9")]),
    ("let f = 1e400", [("L0007", "1:9")]),
    # A string must close on its own line; the next line lexes on its own.
    ('let s = "ab\ncd"', [("L0002", "1:9"), ("L0002", "2:3")]),
    # L0008 inconsistent indentation: a dedent to a column that matches no block.
    ("fn main()\n        let x = 1\n    let y = 2", [("L0008", "3:5")]),
    # L0010 nesting too deep: points at the first delimiter over the limit.
    ("let x = " + "(" * (MAX_NESTING + 1), [("L0010", f"1:{9 + MAX_NESTING}")]),
])
def test_each_lexer_error_code_and_where_it_points(text, expected):
    assert errors(text) == expected


def test_errors_do_not_stop_the_lexer():
    text = "let a = $\nlet b = 'xy'\nlet c = 0x\nlet d = 1"
    assert errors(text) == [("L0001", "1:9"), ("L0005", "2:9"), ("L0006", "3:9")]
    toks = lex(SourceFile("t.vyn", text), DiagnosticSink())
    assert [t.text for t in toks if t.kind is T.KEYWORD] == ["let"] * 4
    assert toks[-1].kind is T.EOF


def test_invalid_utf8_decoded_with_replacement_characters_lexes_as_unexpected_characters():
    # L0009 (invalid UTF-8) is reported by the driver before lexing; text that was decoded
    # with errors="replace" holds U+FFFD, which the lexer takes as an identifier character.
    text = b"let x\xff = 1".decode("utf-8", errors="replace")
    assert kinds(text)[:2] == [("KEYWORD", "let"), ("IDENT", "x\ufffd")]


def test_the_token_list_always_ends_with_eof():
    for text in ["", "\n", "   ", "// only a comment", "/*", '"', "'", "@", "#", "\\"]:
        toks = lex(SourceFile("t.vyn", text), DiagnosticSink())
        assert toks[-1].kind is T.EOF


def test_tokens_after_multi_line_comments_have_their_true_line_and_column():
    text = 'let a = /* one\ntwo */ b + /*\n\n*/ c\nd\n'
    src = SourceFile("t.vyn", text)
    toks = [t for t in lex(src, DiagnosticSink()) if not t.synthetic]
    where = {t.text: (t.span.line, t.span.col) for t in toks}
    assert where["b"] == (2, 8)
    assert where["c"] == (4, 4)
    assert where["d"] == (5, 1)
    # The comments do not end the statement: `b` and `c` belong to line 1's statement, and
    # only the real newline after `c` ends it.
    kinds = [(t.kind.name, t.text) for t in lex(src, DiagnosticSink())]
    first_end = kinds.index(("NEWLINE", "\n"))
    assert kinds[first_end - 1] == ("IDENT", "c")
