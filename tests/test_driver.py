"""The driver: files and the files their imports name, each parsed once, checked as one."""

from __future__ import annotations

from compiler.diagnostics import DiagnosticSink
from compiler.driver import check_sources, import_paths
from compiler.parser import parse
from compiler.span import SourceFile

FILES = {
    "main": "import utils::helper\nimport vyn::*\nfn main() { println(helper(1)) }\n",
    "utils": "import main\nmodule inner {\n  import more::x\n}\nfn helper(n: Int) -> Int { n }\n",
    "more": "fn x() {}\n",
}


def test_imports_are_followed_once_each_even_in_a_cycle():
    asked: list[tuple[str, list[str]]] = []
    files = {name: SourceFile(name, text) for name, text in FILES.items()}

    def load(importer: SourceFile, path: list[str]) -> SourceFile | None:
        asked.append((importer.name, path))
        return files.get(path[0])

    result = check_sources([files["main"]], load)
    assert [d.message for d in result.diagnostics if d.is_error] == []
    assert list(result.sources) == ["main", "utils", "more"]
    assert asked == [("main", ["utils", "helper"]), ("main", ["vyn", "*"]),
                     ("utils", ["main"]), ("utils", ["more", "x"])]


def test_without_a_loader_only_the_given_files_are_read():
    result = check_sources([SourceFile("main", FILES["main"])])
    assert list(result.sources) == ["main"]
    assert any(d.is_error for d in result.diagnostics)   # `utils` is unknown


def test_import_paths_include_those_in_inline_modules():
    module = parse(SourceFile("utils", FILES["utils"]), DiagnosticSink())
    assert import_paths(module) == [["main"], ["more", "x"]]
