"""docs/bytecode.md stays in step with the code: every opcode has its row, with its number
and operand string, and no row names an opcode that is gone; the on-disk section documents
every struct format and section version the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from compiler import bytecode_format
from compiler.bytecode import OPCODES

BYTECODE_MD = Path(__file__).resolve().parent.parent / "docs" / "bytecode.md"

# `| 3 | `ADD` | `rrr` | meaning |`
_ROW = re.compile(r"^\| (\d+) \| `([A-Z]+)` \| `([a-z]*)` \| .+ \|$", re.MULTILINE)


def documented_rows() -> dict[str, tuple[int, str]]:
    text = BYTECODE_MD.read_text(encoding="utf-8")
    rows: dict[str, tuple[int, str]] = {}
    for number, name, operands in _ROW.findall(text):
        assert name not in rows, f"{name} has two rows in docs/bytecode.md"
        rows[name] = (int(number), operands)
    return rows


def test_every_opcode_name_appears():
    text = BYTECODE_MD.read_text(encoding="utf-8")
    missing = [name for name, _, _ in OPCODES if f"`{name}`" not in text]
    assert not missing, f"docs/bytecode.md does not mention {missing}"


def test_every_opcode_has_a_row_with_its_number_and_operands():
    rows = documented_rows()
    for number, (name, operands, summary) in enumerate(OPCODES):
        expected = f"| {number} | `{name}` | `{operands}` | {summary} |"
        assert rows.get(name) == (number, operands), (
            f"docs/bytecode.md: the row of {name} should read like {expected!r}")


def test_no_row_names_an_opcode_that_is_gone():
    names = {name for name, _, _ in OPCODES}
    stale = sorted(set(documented_rows()) - names)
    assert not stale, f"docs/bytecode.md documents opcodes that do not exist: {stale}"


def test_every_struct_format_is_documented():
    text = BYTECODE_MD.read_text(encoding="utf-8")
    for name, value in vars(bytecode_format).items():
        if name.endswith("_FORMAT") and len(value) > 2:  # the multi-field formats
            assert f'{name} = "{value}"' in text, f"docs/bytecode.md lacks {name} = {value!r}"


def test_section_versions_are_documented():
    text = BYTECODE_MD.read_text(encoding="utf-8")
    # Each section's version as 'On disk' states it (update both when one changes).
    documented = {".vyn.bytecode": 2}
    for section, version in bytecode_format.SECTION_VERSIONS.items():
        assert version == documented.get(section, 1), \
            f"{section} is version {version}: update docs/bytecode.md, 'On disk'"
        assert f"### `{section}`" in text
    assert "`.vyn.bytecode` is version 2" in text
