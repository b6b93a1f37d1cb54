"""Resolving gdb-style locations (`FILE:LINE`, `LINE`, `FUNC`, `FILE:FUNC`) against a
program's line tables."""

from __future__ import annotations

import os
from dataclasses import dataclass

from compiler.bytecode import Function, Program
from vyndbg.model import Location, LocationError


@dataclass(frozen=True)
class Resolved:
    """Where a location's breakpoint goes: (function index, pc) pairs and the source line."""

    sites: tuple[tuple[int, int], ...]
    location: Location
    function: str


def base_name(name: str) -> str:
    """`Pair<Int, String>::swap` -> `swap`; `outer::inner` -> `inner`."""
    depth = 0
    cut = 0
    for i, c in enumerate(name):
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == ":" and depth == 0 and name.startswith("::", i):
            cut = i + 2
    return name[cut:]


def find_functions(program: Program, name: str) -> list[Function]:
    """Functions named `name`: exact, then by last path component (all instances of a
    template, all methods of that name)."""
    exact = [f for f in program.functions if f.name == name and not f.name.startswith("<")]
    if exact:
        return exact
    return [f for f in program.functions if base_name(f.name) == name or
            base_name(f.name).split("<")[0] == name]


def same_file(a: str, b: str) -> bool:
    return a == b or os.path.basename(a) == os.path.basename(b) or a.endswith("/" + b)


def file_of(program: Program, name: str) -> str:
    for f in program.sources:
        if same_file(f, name):
            return f
    raise LocationError(f'No source file named {name}.', file=name)


def default_file(program: Program) -> str:
    if 0 <= program.entry < len(program.functions):
        return program.functions[program.entry].file
    return next(iter(program.sources), "")


def function_entry(f: Function) -> int:
    """The first statement of a function (past parameter set-up), as gdb skips prologues."""
    for row in f.lines:
        if row.is_stmt:
            return row.pc
    return 0


def line_sites(program: Program, file: str, line: int) -> tuple[list[tuple[int, int]], int]:
    """Statement starts on `line` of `file`, or on the next line that has any; returns
    (sites, the line used)."""
    nlines = program.sources[file].count("\n") + 1
    if line < 1 or line > nlines:
        raise LocationError(f'No line {line} in file "{file}".', file=file, line=line)
    best_line = None
    rows: dict[int, list[tuple[int, int]]] = {}
    for f in program.functions:
        if not same_file(f.file, file):
            continue
        for row in f.lines:
            if row.is_stmt and row.line >= line:
                rows.setdefault(row.line, []).append((f.index, row.pc))
    if rows:
        best_line = min(rows)
    if best_line is None:
        raise LocationError(f'No line {line} in file "{file}".', file=file, line=line)
    # One site per function: the first statement start on that line.
    seen: dict[int, int] = {}
    for fi, pc in rows[best_line]:
        seen[fi] = min(pc, seen.get(fi, pc))
    return sorted(seen.items()), best_line


def resolve(program: Program, spec: str, current: Location | None = None) -> Resolved:
    """Resolve a location spec. Raises LocationError worded as gdb's messages, its
    `location` the spec as given."""
    spec = spec.strip()
    try:
        return _resolve(program, spec, current)
    except LocationError as e:
        if e.location is None:
            e.location = spec
        raise


def _resolve(program: Program, spec: str, current: Location | None) -> Resolved:
    if not spec:
        if current is None:
            raise LocationError("No default breakpoint location now selected.")
        spec = str(current.line)
    file = None
    what = spec
    cut = spec.rfind(".vyn:")
    if cut >= 0:
        file, what = spec[:cut + 4], spec[cut + 5:]
    elif ":" in spec and spec.rsplit(":", 1)[1].isdigit() and "::" not in spec:
        file, what = spec.rsplit(":", 1)
    if file is None and current is not None:
        default = current.file
    else:
        default = default_file(program)
    if what.lstrip("+-").isdigit() and what.strip():
        fname = file_of(program, file) if file is not None else default
        n = int(what)
        if what[0] in "+-" and current is not None:
            n = current.line + n
        sites, used = line_sites(program, fname, n)
        names = {program.functions[fi].name for fi, _ in sites}
        return Resolved(tuple(sites), Location(fname, used), ", ".join(sorted(names)))
    funcs = find_functions(program, what)
    if file is not None:
        fname = file_of(program, file)
        funcs = [f for f in funcs if same_file(f.file, fname)]
    if not funcs:
        raise LocationError(f'Function "{what}" not defined.', file=file, function=what)
    sites = []
    for f in funcs:
        pc = function_entry(f)
        sites.append((f.index, pc))
    first = funcs[0]
    row = first.line_at(sites[0][1])
    line = row.line if row is not None else first.line
    return Resolved(tuple(sites), Location(first.file, line), first.name)
