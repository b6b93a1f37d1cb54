"""The lexer: source text -> tokens, with statement ends and indentation blocks resolved.

Statement ends: a newline or `;` ends a statement, except inside `(`/`[` pairs or after a
line that ends with a binary operator or `,` (SEMANTICS.md, Syntax). Indentation blocks
(guide 8.1.1): a line holding a block-header keyword that does not end with `{`, followed
by more-indented lines, opens a block; the lexer emits synthetic `{` and `}` tokens so the
parser sees one block structure for both forms.
"""

from __future__ import annotations

import re

from compiler.diagnostics import DiagnosticSink
from compiler.span import SourceFile, Span
from compiler.tokens import BLOCK_HEADERS, CONTINUATION_OPS, KEYWORDS, OPERATORS, T, Token

MAX_NESTING = 200
INT_MAX = (1 << 63) - 1

_IDENT_START = re.compile(r"[A-Za-z_\u0080-\U0010ffff]")
_IDENT = re.compile(r"[A-Za-z0-9_\u0080-\U0010ffff]*")
_NUMBER = re.compile(
    r"0[xX][0-9A-Fa-f_]*|0[bB][01_]*|0[oO][0-7_]*"
    r"|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9_]+)?"
)
# Alternatives are tried in order and OPERATORS is sorted longest first: greedy matching.
_OPERATOR = re.compile("|".join(re.escape(op) for op in OPERATORS))
_MASTER = re.compile(
    r"(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<lc>//[^\n]*)|(?P<bc>/\*)"
    r"|(?P<id>[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)"
    r"|(?P<other>[0-9\"'@#])"
    r"|(?P<op>" + "|".join(re.escape(op) for op in OPERATORS) + ")")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}
_OPENERS = {"(": ")", "[": "]", "{": "}"}


class _Line:
    """Tokens of one physical line plus its indentation."""

    __slots__ = ("indent", "tokens", "start")

    def __init__(self, indent: int, start: int):
        self.indent = indent
        self.tokens: list[Token] = []
        self.start = start


def lex(source: SourceFile, sink: DiagnosticSink) -> list[Token]:
    """Tokenize a whole file. Errors go to `sink`; the token list always ends with EOF."""
    raw = _RawLexer(source, sink).run()
    return _Layout(source, sink).run(raw)


class _RawLexer:
    """Characters -> physical lines of tokens (no layout decisions yet)."""

    def __init__(self, source: SourceFile, sink: DiagnosticSink):
        self.src = source
        self.text = source.text
        self.sink = sink
        self.pos = 0
        self.line_no = 1        # the physical line being lexed, and where it starts
        self.line_start = 0

    def span(self, start: int, end: int) -> Span:
        """Span of [start, end); the fast path is a range inside the current line."""
        ls = self.line_start
        if start >= ls and self.text.find("\n", start, end) == -1:
            n = self.line_no
            return Span(self.src.name, start, end, n, start - ls + 1, n, end - ls + 1)
        return self.src.span(start, end)

    def error(self, code: str, msg: str, start: int, end: int, label: str = "") -> None:
        self.sink.error(code, msg, self.span(start, max(end, start + 1)), label)

    def run(self) -> list[_Line]:
        text, n = self.text, len(self.text)
        lines: list[_Line] = []
        line: _Line | None = None
        pos = 0
        master = _MASTER.match
        name = self.src.name
        ident, keyword, op_kind = T.IDENT, T.KEYWORD, T.OP
        new = tuple.__new__      # Token/Span without namedtuple's Python-level __new__
        while pos < n:
            if line is None:
                # Start of a physical line: measure indentation (a tab counts as 4 columns).
                start = pos
                indent = 0
                while pos < n and text[pos] in " \t":
                    indent += 4 if text[pos] == "\t" else 1
                    pos += 1
                self.line_start = start
                self.line_no = self.src.location(start)[0]
                line = _Line(indent, start)
                lines.append(line)
                toks = line.tokens
                continue
            m = master(text, pos)
            if m is None:
                c = text[pos]
                shown = c if c.isprintable() else repr(c)
                self.error("L0001", f"unexpected character `{shown}`", pos, pos + 1)
                pos += 1
                continue
            group = m.lastgroup
            end = m.end()
            if group == "ws" or group == "lc":
                pos = end
            elif group == "nl":
                pos = end
                line = None
            elif group == "id":
                word = m.group()
                ls = self.line_start
                ln = self.line_no
                span = new(Span, (name, pos, end, ln, pos - ls + 1, ln, end - ls + 1))
                if word in KEYWORDS:
                    value = (word == "true") if word in ("true", "false") else None
                    toks.append(new(Token, (keyword, word, span, value, False)))
                else:
                    toks.append(new(Token, (ident, word, span, None, False)))
                pos = end
            elif group == "op":
                ls = self.line_start
                ln = self.line_no
                span = new(Span, (name, pos, end, ln, pos - ls + 1, ln, end - ls + 1))
                toks.append(new(Token, (op_kind, m.group(), span, None, False)))
                pos = end
            elif group == "bc":
                # Tokens after a comment that spans lines stay on the line it started on.
                pos = self.block_comment(pos)
            else:
                tok, pos = self.token(pos)
                if tok is not None:
                    toks.append(tok)
        return lines

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
        text = self.text
        c = text[pos]
        if c.isdigit():
            return self.number(pos)
        if _IDENT_START.match(c):
            m = _IDENT.match(text, pos + 1)
            end = m.end()
            word = text[pos:end]
            kind = T.KEYWORD if word in KEYWORDS else T.IDENT
            if word in ("true", "false"):
                return Token(kind, word, self.span(pos, end), word == "true"), end
            return Token(kind, word, self.span(pos, end)), end
        if c == '"':
            return self.string(pos)
        if c == "'":
            return self.char(pos)
        if c in "@#" and pos + 1 < len(text) and _IDENT_START.match(text[pos + 1]):
            m = _IDENT.match(text, pos + 2)
            end = m.end()
            kind = T.ATTR if c == "@" else T.HASH_ATTR
            return Token(kind, text[pos + 1:end], self.span(pos, end)), end
        m = _OPERATOR.match(text, pos)
        if m is not None:
            op = m.group()
            return Token(T.OP, op, self.span(pos, pos + len(op))), pos + len(op)
        shown = c if c.isprintable() else repr(c)
        self.error("L0001", f"unexpected character `{shown}`", pos, pos + 1)
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
        text, n = self.text, len(self.text)
        start = pos
        pos += 1
        out: list[str] = []
        while pos < n:
            c = text[pos]
            if c == '"':
                pos += 1
                return Token(T.STRING, text[start:pos], self.span(start, pos), "".join(out)), pos
            if c == "\\":
                ch, pos = self.escape(pos, '"')
                out.append(ch)
                continue
            out.append(c)
            pos += 1
        self.error("L0002", "unterminated string literal", start, start + 1,
                   "string starts here")
        return Token(T.STRING, text[start:], self.span(start, n), "".join(out)), n

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


class _Layout:
    """Physical lines -> a token stream with NEWLINE and synthetic braces.

    Only indentation blocks live on the level stack; code in braces is insensitive to
    indentation except that a dedent closes indentation blocks opened inside it.
    """

    def __init__(self, source: SourceFile, sink: DiagnosticSink):
        self.src = source
        self.sink = sink

    def run(self, lines: list[_Line]) -> list[Token]:
        out: list[Token] = []
        delims: list[Token] = []          # open ( [ { tokens, synthetic `{` included
        blocks: list[tuple[int, int]] = []  # open indentation blocks: (header, body) indent
        header = False                   # the current logical line holds a header keyword
        prev_last: Token | None = None   # last token of the previous non-empty line
        prev_before: Token | None = None  # the token before it on that line
        prev_indent = 0                  # indentation of the current logical line
        for line in lines:
            toks = line.tokens
            if not toks:
                continue
            ind = line.indent
            if prev_last is not None and not self._continues(prev_last, prev_before, delims):
                if header and ind > prev_indent and not prev_last.is_op("{"):
                    tok = self._synth(T.OP, "{", prev_last.span)
                    out.append(tok)
                    delims.append(tok)
                    blocks.append((prev_indent, ind))
                    prev_indent = ind
                    header = False
                elif ind > prev_indent and not prev_last.is_op("{") and not header:
                    pass  # more indented, no header: the statement goes on
                else:
                    out.append(self._synth(T.NEWLINE, "\n", prev_last.span))
                    closed = None
                    while blocks and ind < blocks[-1][1] and delims and delims[-1].synthetic:
                        closed = blocks.pop()
                        self._close(out, delims, toks[0].span)
                    if closed is not None and ind > closed[0] and (
                            not blocks or ind != blocks[-1][1]):
                        self.sink.error("L0008", "inconsistent indentation", toks[0].span,
                                        "this line's indentation matches no enclosing block")
                    prev_indent = ind
                    header = False
            elif prev_last is None:
                prev_indent = ind
            for tok in toks:
                if tok.kind is T.OP:
                    text = tok.text
                    if text in _OPENERS:
                        if len(delims) >= MAX_NESTING:
                            self.sink.error("L0010", "nesting too deep", tok.span,
                                            f"more than {MAX_NESTING} open delimiters")
                            out.append(Token(T.EOF, "", tok.span, synthetic=True))
                            return out
                        delims.append(tok)
                        if text == "{":
                            header = False
                    elif text in ")]}":
                        if text == "}":
                            # A real `}` also ends indentation blocks opened inside it.
                            while delims and delims[-1].synthetic:
                                blocks.pop()
                                out.append(self._synth(T.NEWLINE, "\n", tok.span))
                                self._close(out, delims, tok.span)
                        if delims:
                            delims.pop()
                    elif text == ";":
                        out.append(Token(T.NEWLINE, ";", tok.span))
                        continue
                elif tok.kind is T.KEYWORD and tok.text in BLOCK_HEADERS:
                    header = True
                out.append(tok)
            prev_last = toks[-1]
            prev_before = toks[-2] if len(toks) > 1 else None
        end = self.src.span(len(self.src.text), len(self.src.text))
        if prev_last is not None:
            out.append(self._synth(T.NEWLINE, "\n", end))
        while blocks and delims and delims[-1].synthetic:
            blocks.pop()
            self._close(out, delims, end)
        out.append(Token(T.EOF, "", end, synthetic=True))
        return out

    @staticmethod
    def _continues(prev_last: Token, prev_before: Token | None, delims: list[Token]) -> bool:
        """Whether the line after `prev_last` continues the same statement."""
        if delims and delims[-1].text in "([":
            return True
        if prev_last.is_op("*") and prev_before is not None and prev_before.is_op("::"):
            return False   # `import a::*` ends its line
        if prev_last.kind is T.OP:
            return prev_last.text in CONTINUATION_OPS
        return prev_last.kind is T.KEYWORD and prev_last.text == "as"

    def _close(self, out: list[Token], delims: list[Token], span: Span) -> None:
        delims.pop()
        out.append(self._synth(T.OP, "}", span))
        out.append(self._synth(T.NEWLINE, "\n", span))

    @staticmethod
    def _synth(kind: T, text: str, span: Span) -> Token:
        return Token(kind, text, span, synthetic=True)
