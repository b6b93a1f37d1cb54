"""The user docs stay in step with the code: every diagnostic code has its section in
docs/errors.md, and each section's example program produces the diagnostic shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.diagnostics import CODES
from compiler.driver import check_sources
from compiler.render import render_diagnostic
from compiler.span import SourceFile

ERRORS_MD = Path(__file__).resolve().parent.parent / "docs" / "errors.md"

UNREPRODUCED = {
    "L0009": "vyn reports a non-UTF-8 file before compiling (exit 2); no example program",
    "L0010": "the example is shortened; the real limit needs a line hundreds of `(` long",
}

# Documented from the language's rules before the checker reported them; each example must
# match exactly once the checker does.
NOT_YET_REPORTED: set[str] = set()


def sections() -> dict[str, str]:
    """The text of each `### CODE: summary` section of docs/errors.md, by code."""
    text = ERRORS_MD.read_text(encoding="utf-8")
    parts = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    return {part[:5]: part for part in parts}


def fenced(section: str, lang: str) -> str | None:
    found = re.search(rf"^```{lang}\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    return found.group(1) if found else None


def test_errors_md_has_one_section_per_code_in_order():
    text = ERRORS_MD.read_text(encoding="utf-8")
    headings = re.findall(r"^### ([A-Z]\d{4}): (.+)$", text, flags=re.MULTILINE)
    assert headings == list(CODES.items())


@pytest.mark.parametrize("code", [c for c in CODES if c not in UNREPRODUCED])
def test_example_program_produces_the_documented_diagnostic(code):
    section = sections()[code]
    program, shown = fenced(section, "vyn"), fenced(section, "text")
    assert program is not None and shown is not None
    source = SourceFile("main.vyn", program)
    reported = [d for d in check_sources([source]).diagnostics if d.code == code]
    if not reported and code in NOT_YET_REPORTED:
        pytest.xfail(f"the checker does not report {code} yet")
    assert reported, f"the example of {code} does not produce {code}"
    assert render_diagnostic(reported[0], {"main.vyn": source}) == shown
