"""The lexer: source text -> tokens, with statement ends and indentation blocks resolved.

Statement ends: a newline or `;` ends a statement, except inside `(`/`[` pairs or after a
line that ends with a binary operator or `,` (SEMANTICS.md, Syntax). Indentation blocks
(guide 8.1.1): a line holding a block-header keyword that does not end with `{`, followed
by more-indented lines, opens a block; the lexer emits synthetic `{` and `}` tokens so the
parser sees one block structure for both forms.

One pass: a master regular expression finds each token together with the blanks before
it; identifiers, keywords, operators and newlines are handled inline, rarer tokens
(numbers, strings, characters, attributes, block comments) by methods. Layout decisions
are taken at the first token of each non-empty line, when its indentation is known.
"""

from __future__ import annotations

import re

from compiler.diagnostics import DiagnosticSink
from compiler.gcpause import pauses_gc
from compiler.span import SourceFile, Span
from compiler.tokens import BLOCK_HEADERS, CONTINUATION_OPS, KEYWORDS, OPERATORS, T, Token

MAX_NESTING = 200
INT_MAX = (1 << 63) - 1

# Identifier characters: ASCII letters, `_` (and digits after the first) and every code
# point from U+0080 up. The classes are written as complements within ASCII
# (`[^...]` of the ASCII characters that are not in them): the same sets, but `re`
# compiles `[A-Za-z_\u0080-\U0010ffff]` by walking 65,536 code points in Python (about
# 8 ms each, four of them: a third of the front end's import time).
_ID_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"          # [A-Za-z_\u0080-\U0010ffff]
_ID_CONTINUE = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"  # [A-Za-z0-9_\u0080-\U0010ffff]
# [0-9_.eExXbBoOA-Za-z\u0080-\U0010ffff]: what may not follow a plain decimal Int.
_AFTER_INT = r"[^\x00-\x2d\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_IDENT_START = re.compile(_ID_START)
_IDENT = re.compile(_ID_CONTINUE + "*")
_NUMBER = re.compile(
    r"0[xX][0-9A-Fa-f_]*|0[bB][01_]*|0[oO][0-7_]*"
    r"|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9_]+)?"
)


def _operator_pattern(operators: list[str]) -> str:
    """A regex matching the longest operator at a position, branching on its first
    character: `<(?:<=|<|=)?` instead of trying every operator in turn."""
    by_first: dict[str, list[str]] = {}
    for op in operators:
        by_first.setdefault(op[0], []).append(op[1:])
    single = "".join(re.escape(c) for c, rests in by_first.items() if rests == [""])
    branches = [f"[{single}]"] if single else []
    for c, rests in by_first.items():
        longer = sorted((r for r in rests if r), key=len, reverse=True)
        if longer:
            tail = "|".join(re.escape(r) for r in longer)
            branches.append(f"{re.escape(c)}(?:{tail})" + ("?" if "" in rests else ""))
    return "|".join(branches)


# Group numbers of _MASTER.
_ID, _LC, _BC, _OP, _NL, _INT, _OTHER, _BAD = range(1, 9)
# Blanks, then one token. Alternatives are tried in order: `//` and `/*` before the
# operators, and each operator branch tries its longest forms first (greedy matching).
_MASTER = re.compile(
    r"[ \t\r\f\v]*(?:"
    r"(" + _ID_START + _ID_CONTINUE + "*)"
    r"|(//[^\n]*)|(/\*)"
    r"|(" + _operator_pattern(OPERATORS) + ")"
    r"|(\n[ \t]*)"
    r"|([0-9]{1,18})(?!" + _AFTER_INT + ")"   # a plain decimal Int
    r"|([0-9\"'@#])"
    r"|(.)|\Z)", re.S)
_STRING_RUN = re.compile(r'[^"\\\n]*')    # string characters up to a quote, escape or newline
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}
# What the layout does with an operator: open or close a delimiter, or end a statement.
_OPEN, _CLOSE, _SEMI = 1, 2, 3
_OP_ROLE = {"(": _OPEN, "[": _OPEN, "{": _OPEN, ")": _CLOSE, "]": _CLOSE, "}": _CLOSE,
            ";": _SEMI}
_BOOL_VALUE = {"true": True, "false": False}


@pauses_gc
def lex(source: SourceFile, sink: DiagnosticSink) -> list[Token]:
    """Tokenize a whole file. Errors go to `sink`; the token list always ends with EOF."""
    return _Lexer(source, sink).run()


class _Lexer:
    """Characters -> the token stream the parser reads, in one pass."""

    def __init__(self, source: SourceFile, sink: DiagnosticSink):
        self.src = source
        self.text = source.text
        self.sink = sink
        self.line_no = 1        # the physical line being lexed, and where it starts
        self.line_start = 0
        # Layout state (see `begin_line`).
        self.out: list[Token] = []
        self.delims: list[Token] = []          # open ( [ { tokens, synthetic `{` included
        self.blocks: list[tuple[int, int]] = []  # open indentation blocks: (header, body) indent
        self.header = False                   # the current logical line holds a header keyword
        self.prev_last: Token | None = None   # last token of the previous non-empty line
        self.prev_before: Token | None = None  # the token before it on that line
        self.prev_indent = 0                  # indentation of the current logical line

    def span(self, start: int, end: int) -> Span:
        """Span of [start, end); the fast path is a range inside the current line."""
        ls = self.line_start
        if start >= ls and self.text.find("\n", start, end) == -1:
            n = self.line_no
            return Span(self.src.name, start, end, n, start - ls + 1, n, end - ls + 1)
        return self.src.span(start, end)

    def error(self, code: str, msg: str, start: int, end: int, label: str = "") -> None:
        self.sink.error(code, msg, self.span(start, max(end, start + 1)), label)

    def run(self) -> list[Token]:
        text = self.text
        name = self.src.name
        out = self.out
        append = out.append
        delims = self.delims
        ident, keyword, op_kind, int_kind, newline = T.IDENT, T.KEYWORD, T.OP, T.INT, T.NEWLINE
        keywords, headers, bool_value, op_role = KEYWORDS, BLOCK_HEADERS, _BOOL_VALUE, _OP_ROLE
        new = tuple.__new__      # Token/Span without namedtuple's Python-level __new__
        pos = 0
        ln = 1                   # line number, and base = offset of its start - 1,
        base = -1                # so that a column is `offset - base`
        indent = _indent(text, 0)
        pending = True           # the next token is the first of its line
        last = before = None     # the last two tokens of the current line
        scan = _MASTER.finditer(text)
        while scan is not None:
            # One iterator over the text; a token the expression only starts (a number,
            # string, block comment ...) is finished by a method, and scanning restarts
            # where it ends.
            restart, scan = scan, None
            for m in restart:
                k = m.lastindex
                if k == _ID:
                    s, pos = m.span(1)
                    word = m.group(1)
                    span = new(Span, (name, s, pos, ln, s - base, ln, pos - base))
                    if word in keywords:
                        tok = new(Token, (keyword, word, span, bool_value.get(word), False))
                        if pending:
                            pending = False
                            self.begin_line(tok, indent)
                        if word in headers:
                            self.header = True
                    else:
                        tok = new(Token, (ident, word, span, None, False))
                        if pending:
                            pending = False
                            self.begin_line(tok, indent)
                    append(tok)
                elif k == _OP:
                    s, pos = m.span(4)
                    word = m.group(4)
                    span = new(Span, (name, s, pos, ln, s - base, ln, pos - base))
                    tok = new(Token, (op_kind, word, span, None, False))
                    if pending:
                        pending = False
                        self.begin_line(tok, indent)
                    role = op_role.get(word)
                    if role is None:
                        append(tok)
                    elif role == _OPEN:
                        if len(delims) >= MAX_NESTING:
                            self.sink.error("L0010", "nesting too deep", span,
                                            f"more than {MAX_NESTING} open delimiters")
                            append(Token(T.EOF, "", span, synthetic=True))
                            return out
                        delims.append(tok)
                        if word == "{":
                            self.header = False
                        append(tok)
                    elif role == _CLOSE:
                        if word == "}":
                            # A real `}` also ends indentation blocks opened inside it.
                            while delims and delims[-1].synthetic:
                                self.blocks.pop()
                                append(_synth(newline, "\n", span))
                                self.close(span)
                        if delims:
                            delims.pop()
                        append(tok)
                    else:
                        append(new(Token, (newline, ";", span, None, False)))
                elif k == _NL:
                    s, pos = m.span(5)
                    if last is not None:
                        self.prev_last, self.prev_before = last, before
                        last = before = None
                    ln += 1
                    base = s
                    indent = pos - s - 1
                    if text.find("\t", s, pos) != -1:
                        indent += 3 * text.count("\t", s, pos)   # a tab counts as 4 columns
                    pending = True
                    continue
                elif k == _INT:
                    s, pos = m.span(6)
                    word = m.group(6)
                    span = new(Span, (name, s, pos, ln, s - base, ln, pos - base))
                    tok = new(Token, (int_kind, word, span, int(word), False))
                    if pending:
                        pending = False
                        self.begin_line(tok, indent)
                    append(tok)
                elif k == _LC:
                    continue
                elif k is None:     # end of text
                    break
                else:
                    s = m.start(k)
                    self.line_no, self.line_start = ln, base + 1
                    if k == _BC:
                        # Tokens after a comment that spans lines stay on the line it started
                        # on; their columns count from the physical line they are on.
                        pos = self.block_comment(s)
                        nl = text.rfind("\n", s, pos)
                        if nl != -1:
                            ln += text.count("\n", s, pos)
                            base = nl
                        scan = _MASTER.finditer(text, pos)
                        break
                    if k == _BAD:
                        c = text[s]
                        shown = c if c.isprintable() else repr(c)
                        self.error("L0001", f"unexpected character `{shown}`", s, s + 1)
                        pos = s + 1
                        continue
                    tok, pos = self.token(s)
                    nl = text.rfind("\n", s, pos)
                    if nl != -1:     # a string with a raw newline, or an error that ran on
                        ln += text.count("\n", s, pos)
                        base = nl
                    if tok is not None:
                        if pending:
                            pending = False
                            self.begin_line(tok, indent)
                        append(tok)
                        before = last
                        last = tok
                    if pos != m.end():
                        scan = _MASTER.finditer(text, pos)
                        break
                    continue
                before = last
                last = tok
        if last is not None:
            self.prev_last = last
        return self.finish()

    def begin_line(self, first: Token, ind: int) -> None:
        """Layout at the first token of a non-empty line, indented `ind` columns: does the
        previous line's statement go on, end, open an indentation block or close some?"""
        prev_last = self.prev_last
        if prev_last is None:
            self.prev_indent = ind
            return
        delims = self.delims
        if delims and delims[-1].text in "([":
            return      # inside ( ) or [ ]
        kind = prev_last.kind
        if kind is T.OP:
            if prev_last.text in CONTINUATION_OPS and not (
                    prev_last.text == "*" and self.prev_before is not None
                    and self.prev_before.text == "::"):    # `import a::*` ends its line
                return
        elif kind is T.KEYWORD and prev_last.text == "as":
            return
        out = self.out
        if self.header and ind > self.prev_indent and not prev_last.is_op("{"):
            tok = _synth(T.OP, "{", prev_last.span)
            out.append(tok)
            self.delims.append(tok)
            self.blocks.append((self.prev_indent, ind))
            self.prev_indent = ind
            self.header = False
        elif ind > self.prev_indent and not prev_last.is_op("{") and not self.header:
            pass  # more indented, no header: the statement goes on
        else:
            out.append(_synth(T.NEWLINE, "\n", prev_last.span))
            blocks = self.blocks
            closed = None
            while blocks and ind < blocks[-1][1] and delims and delims[-1].synthetic:
                closed = blocks.pop()
                self.close(first.span)
            if closed is not None and ind > closed[0] and (not blocks or ind != blocks[-1][1]):
                self.sink.error("L0008", "inconsistent indentation", first.span,
                                "this line's indentation matches no enclosing block")
            self.prev_indent = ind
            self.header = False

    def finish(self) -> list[Token]:
        """Close what the end of the file leaves open and append EOF."""
        out = self.out
        n = len(self.text)
        end = self.src.span(n, n)
        if self.prev_last is not None:
            out.append(_synth(T.NEWLINE, "\n", end))
        while self.blocks and self.delims and self.delims[-1].synthetic:
            self.blocks.pop()
            self.close(end)
        out.append(Token(T.EOF, "", end, synthetic=True))
        return out

    def close(self, span: Span) -> None:
        """Close the innermost indentation block."""
        self.delims.pop()
        self.out.append(_synth(T.OP, "}", span))
        self.out.append(_synth(T.NEWLINE, "\n", span))

    def block_comment(self, pos: int) -> int:
        start = pos
        depth = 0
        text, n = self.text, len(self.text)
        while pos < n:
            if text.startswith("/*", pos):
                depth += 1
                pos += 2
            elif text.startswith("*/", pos):
                depth -= 1
                pos += 2
                if depth == 0:
                    return pos
            else:
                pos += 1
        self.error("L0003", "unterminated block comment", start, start + 2,
                   "comment starts here")
        return n

    def token(self, pos: int) -> tuple[Token | None, int]:
        """The token at a digit, quote, `@` or `#` (the master expression's rare cases)."""
        text = self.text
        c = text[pos]
        if c.isdigit():
            return self.number(pos)
        if c == '"':
            return self.string(pos)
        if c == "'":
            return self.char(pos)
        if pos + 1 < len(text) and _IDENT_START.match(text[pos + 1]):
            m = _IDENT.match(text, pos + 2)
            end = m.end()
            kind = T.ATTR if c == "@" else T.HASH_ATTR
            return Token(kind, text[pos + 1:end], self.span(pos, end)), end
        self.error("L0001", f"unexpected character `{c}`", pos, pos + 1)
        return None, pos + 1

    def number(self, pos: int) -> tuple[Token, int]:
        text = self.text
        m = _NUMBER.match(text, pos)
        end = m.end()
        # `1..5`: the `.` belongs to the range operator, not to a float.
        lit = text[pos:end]
        if "." in lit and not lit.startswith(("0x", "0X", "0b", "0B", "0o", "0O")):
            dot = lit.index(".")
            if text.startswith("..", pos + dot):
                end = pos + dot
                lit = text[pos:end]
        # Trailing identifier characters make a malformed literal (`12abc`, `0xZZ`).
        m2 = _IDENT.match(text, end)
        if m2.end() > end:
            end = m2.end()
            self.error("L0006", f"malformed number literal `{text[pos:end]}`", pos, end)
            return Token(T.INT, text[pos:end], self.span(pos, end), 0), end
        span = self.span(pos, end)
        digits = lit.replace("_", "")
        try:
            low = digits[:2].lower()
            if low in ("0x", "0b", "0o"):
                if len(digits) == 2:
                    raise ValueError
                value = int(digits[2:], {"0x": 16, "0b": 2, "0o": 8}[low])
            elif any(ch in digits for ch in ".eE"):
                value = float(digits)
                if value == float("inf"):
                    self.error("L0007", f"float literal `{lit}` is out of range", pos, end,
                               "too large for Float")
                    value = 0.0
                return Token(T.FLOAT, lit, span, value), end
            elif len(digits.lstrip("0")) > 19:
                value = INT_MAX + 1   # too large (and int() refuses > 4300 digits)
            else:
                value = int(digits)
        except ValueError:
            self.error("L0006", f"malformed number literal `{lit}`", pos, end)
            return Token(T.INT, lit, span, 0), end
        # Hex/binary/octal literals may use all 64 bits (two's complement); decimal may not.
        limit = INT_MAX if low not in ("0x", "0b", "0o") else (1 << 64) - 1
        if value > limit:
            self.error("L0007", f"integer literal `{lit}` does not fit in 64 bits", pos, end,
                       "too large for Int")
            value = 0
        elif value > INT_MAX:
            value -= 1 << 64
        return Token(T.INT, lit, span, value), end

    def escape(self, pos: int, quote: str) -> tuple[str, int]:
        """Decode the escape at text[pos] == '\\'; returns (char, new pos)."""
        text = self.text
        if pos + 1 >= len(text) or text[pos + 1] == "\n":
            self.error("L0004", "invalid escape sequence", pos, pos + 1)
            return "", pos + 1
        e = text[pos + 1]
        if e in _ESCAPES:
            return _ESCAPES[e], pos + 2
        if e == "u" and text.startswith("{", pos + 2):
            close = text.find("}", pos + 3, pos + 12)
            if close != -1:
                digits = text[pos + 3:close]
                try:
                    cp = int(digits, 16)
                    if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
                        return chr(cp), close + 1
                except ValueError:
                    pass
            self.error("L0004", "invalid unicode escape", pos, (close + 1) if close != -1
                       else pos + 2, "expected `\\u{HEX}` with at most 6 hex digits")
            return "", (close + 1) if close != -1 else pos + 2
        if e == "x":
            digits = text[pos + 2:pos + 4]
            if len(digits) == 2 and all(ch in "0123456789abcdefABCDEF" for ch in digits):
                cp = int(digits, 16)
                if cp < 0x80:
                    return chr(cp), pos + 4
            self.error("L0004", "invalid escape `\\x`", pos, pos + 4,
                       "expected two hex digits, at most 7f")
            return "", pos + 2
        self.error("L0004", f"invalid escape sequence `\\{e}`", pos, pos + 2)
        return e, pos + 2

    def string(self, pos: int) -> tuple[Token, int]:
        """A string literal; it must close on the line it opens on."""
        text = self.text
        start = pos
        pos += 1
        out: list[str] = []
        while True:
            m = _STRING_RUN.match(text, pos)
            out.append(m.group())
            pos = m.end()
            c = text[pos:pos + 1]
            if c == '"':
                pos += 1
                return Token(T.STRING, text[start:pos], self.span(start, pos), "".join(out)), pos
            if c != "\\":
                break       # a newline or the end of the file
            ch, pos = self.escape(pos, '"')
            out.append(ch)
        self.error("L0002", "unterminated string literal", start, start + 1,
                   "string starts here")
        return Token(T.STRING, text[start:pos], self.span(start, pos), "".join(out)), pos

    def char(self, pos: int) -> tuple[Token, int]:
        text, n = self.text, len(self.text)
        start = pos
        pos += 1
        if pos < n and text[pos] == "\\":
            ch, pos = self.escape(pos, "'")
        elif pos < n and text[pos] not in "'\n":
            ch = text[pos]
            pos += 1
        else:
            ch = ""
        if pos < n and text[pos] == "'" and len(ch) == 1:
            pos += 1
            return Token(T.CHAR, text[start:pos], self.span(start, pos), ch), pos
        # Recover: skip to the closing quote on this line, if any.
        close = text.find("'", pos)
        nl = text.find("\n", pos)
        end = close + 1 if close != -1 and (nl == -1 or close < nl) else pos
        self.error("L0005", "invalid character literal", start, max(end, start + 1),
                   "a character literal holds exactly one character")
        return Token(T.CHAR, text[start:end], self.span(start, end), "\0"), max(end, start + 1)


def _indent(text: str, pos: int) -> int:
    """Indentation of the line starting at `pos` (a tab counts as 4 columns)."""
    indent = 0
    n = len(text)
    while pos < n and text[pos] in " \t":
        indent += 4 if text[pos] == "\t" else 1
        pos += 1
    return indent


def _synth(kind: T, text: str, span: Span) -> Token:
    return tuple.__new__(Token, (kind, text, span, None, True))
