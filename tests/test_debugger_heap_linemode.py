"""The heap commands as a gdb user types them: `x`, `info heap`, `info regions`,
`info object`, `info path`, `gc`, `print &x`, `print/a`, `print *ADDR`, and
`vyn debug --gc-trace`.

Transcripts as in tests/test_debugger_linemode.py. The heap's addresses change from run
to run, so each transcript shows them moved to HEAP (an address's offset in the heap is
the same every run), and collection pauses as 0.05 ms.
"""

from __future__ import annotations

import io
import re

import pytest

from tests.test_debugger_heap import LIST, TASKS, compiled
from vyndbg import prompt
from vyndbg.cli import main
from vyndbg.linemode import LineMode

PROMPT = "(vyn) "
HEAP = 0x7ffff6a00000


def normalize(text: str, base: int | None) -> str:
    def moved(m: re.Match) -> str:
        value = int(m.group(0), 16)
        if base is None or not base <= value < base + (1 << 30):
            return m.group(0)
        return f"0x{HEAP + value - base:0{len(m.group(0)) - 2}x}"
    text = re.sub(r"0x[0-9a-f]+", moved, text)
    text = re.sub(r"\b\d+\.\d\d ms\b", "0.05 ms", text)
    return re.sub(r"\(process \d+\)", "(process 4242)", text)


def transcript(source: str, *commands: str, **kw) -> list[str]:
    """What a user sees typing `commands` (one run of the program at most)."""
    out = io.StringIO()
    lm = LineMode(compiled(source), path="prog.vyn", out=out, **kw)
    base = None
    try:
        for command in commands:
            out.write(PROMPT + command + "\n")
            lm.execute(command)
            if lm.session.vm is not None:
                base = lm.session.vm.heap.base
    finally:
        lm.close()
    return normalize(out.getvalue(), base).splitlines()


def output_of(lines: list[str], command: str, nth: int = 0) -> list[str]:
    starts = [i for i, line in enumerate(lines) if line == PROMPT + command]
    start = starts[nth] + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(PROMPT)),
               len(lines))
    return lines[start:end]


STOP = ("break 25", "run")        # LIST, inside its scoped block


def test_heap_commands_need_a_running_program():
    lines = transcript(LIST, "x/4xg 0", "info heap", "info regions", "info object 0",
                       "info path 0", "gc")
    assert [line for line in lines if not line.startswith(PROMPT)] == \
        ["The program is not being run."] * 6


def test_info_heap_lists_generations_and_types_like_jmap_histo():
    lines = transcript(LIST, *STOP, "info heap", "info heap 2")
    assert output_of(lines, "info heap") == [
        "Heap at 0x7ffff6a00000 (limit 1.0 GiB): 6016 bytes used: 6016 live (213 objects), "
        "0 dead (0 objects), 0 free.",
        "0 collections so far (0 minor, 0 full), 0.05 ms in total.",
        "",
        "Generation  Address range                  Capacity    Used  Live  Objects  "
        "Collections",
        "young       0x7ffff6a00000-0x7ffff6a01780  4194304     6016  6016  213      0",
        "old         -                              1073741824  0     0     0        0",
        "",
        " num     #instances         #bytes  type",
        "----------------------------------------------",
        "   1:           104           3328  Node",
        "   2:           102           2448  Option<Node>::None",
        "   3:             3             96  Option<Node>::Some",
        "   4:             2             64  String",
        "   5:             1             48  Vec<String>.data",
        "   6:             1             32  Vec<String>",
        "Total           213           6016",
    ]
    assert output_of(lines, "info heap 2")[-4:] == [
        "   1:           104           3328  Node",
        "   2:           102           2448  Option<Node>::None",
        "Total           213           6016",
        '(4 more types: "info heap 6" lists them all.)',
    ]


def test_gc_frees_garbage_and_info_heap_shows_it_old():
    lines = transcript(LIST, *STOP, "print b", "gc", "info heap 1", "print $1",
                       "info object $1")
    assert output_of(lines, "gc") == [
        "Collection #1 (full): 5.9 KiB -> 416 B in use, 200 objects freed (5.5 KiB), "
        "pause 0.05 ms."]
    heap = output_of(lines, "info heap 1")
    assert heap[:2] == [
        "Heap at 0x7ffff6a00000 (limit 1.0 GiB): 6016 bytes used: 416 live (13 objects), "
        "0 dead (0 objects), 5600 free.",
        "1 collection so far (0 minor, 1 full), 0.05 ms in total."]
    assert heap[4:6] == [
        "young       -                              4194304     0     0     0        0",
        "old         0x7ffff6a00000-0x7ffff6a01780  1073741824  416   416   13       1"]
    assert output_of(lines, "print $1") == ["$2 = Node { value: 7, next: None }"]
    assert output_of(lines, "info object $1")[0] == \
        "Object at 0x7ffff6a01760: Node, 32 bytes, region 1, live."


def test_gc_keeps_printed_values_alive_after_their_variables_are_gone():
    lines = transcript(LIST, "break 20 if i == 5", "run", "print tmp", "print &tmp",
                       "delete", "break 22", "continue", "gc", "info object $1",
                       "print *$2", "info path $1")
    assert output_of(lines, "info object $1") == [
        "Object at 0x7ffff6a00298: Node, 32 bytes, old generation, live.",
        "Flags: none",
        "  value = 5",
        "  next = None",
    ]
    assert output_of(lines, "print *$2") == ["$3 = Node { value: 5, next: None }"]
    assert output_of(lines, "info path $1") == [
        "#0  0x7ffff6a00298  Node  the debugger (the value history, values shown, "
        "watchpoints)"]


def test_info_regions():
    lines = transcript(LIST, *STOP, "info regions", "info regions 1", "info regions 2",
                       "info regions x")
    table = [
        "Region  Thread    Depth  Objects  Live  Bytes  Address range                  "
        "Block",
        "1       1 (main)  1      1        1     32     0x7ffff6a01760-0x7ffff6a01780  "
        "frame #0 main at prog.vyn:23",
    ]
    assert output_of(lines, "info regions") == table
    assert output_of(lines, "info regions 1") == table
    assert output_of(lines, "info regions 2") == ["No active scoped regions."]
    assert output_of(lines, "info regions x") == ["Invalid thread ID: x"]


def test_info_regions_of_tasks():
    lines = transcript(TASKS, "break 8", "run", "info regions")
    assert output_of(lines, "info regions") == [
        "Region  Thread      Depth  Objects  Live  Bytes  Address range                  "
        "Block",
        "1       1 (main)    1      1        1     24     0x7ffff6a00030-0x7ffff6a00048  "
        "frame #0 main at prog.vyn:14",
        "2       2 (task 2)  1      1        1     24     0x7ffff6a00048-0x7ffff6a00060  "
        "frame #0 fill at prog.vyn:6",
    ]


def test_x_formats_sizes_defaults_and_continuing():
    lines = transcript(LIST, *STOP, "x", "x/4xg b", "x/8db b", "x/3dw", "x", "x/2s names[0]",
                       "x", "x/2xh b", "x/2ub b", "x/2ob b", "x/2tb b", "x/2zh b", "x/a b",
                       "x/2c names[0]", "x/2fg b")
    assert output_of(lines, "x") == ["Argument required (starting display address)."]
    assert output_of(lines, "x/4xg b") == [
        "0x7ffff6a01760:\t0x0000008800000003\t0x0000000100000010",
        "0x7ffff6a01770:\t0x0000000000000007\t0x00007ffff6a01748",
    ]
    assert output_of(lines, "x/8db b") == ["0x7ffff6a01760:\t3\t0\t0\t0\t-120\t0\t0\t0"]
    assert output_of(lines, "x/3dw") == ["0x7ffff6a01768:\t16\t1\t7"]
    assert output_of(lines, "x", 1) == ["0x7ffff6a01774:\t0"]
    assert output_of(lines, "x/2s names[0]") == [
        '0x7ffff6a00000:\t"ada"', '0x7ffff6a00020:\t"grace"']
    assert output_of(lines, "x", 2) == ['0x7ffff6a00040:\t"\\006"']   # not a String: bytes
    assert output_of(lines, "x/2xh b") == ["0x7ffff6a01760:\t0x0003\t0x0000"]
    assert output_of(lines, "x/2ub b") == ["0x7ffff6a01760:\t3\t0"]
    assert output_of(lines, "x/2ob b") == ["0x7ffff6a01760:\t03\t0"]
    assert output_of(lines, "x/2tb b") == ["0x7ffff6a01760:\t00000011\t00000000"]
    assert output_of(lines, "x/2zh b") == ["0x7ffff6a01760:\t0x0003\t0x0000"]
    assert output_of(lines, "x/a b") == ["0x7ffff6a01760:\t0x8800000003"]
    assert output_of(lines, "x/2c names[0]") == ["0x7ffff6a00000:\t1 '\\001'\t0 '\\000'"]
    assert output_of(lines, "x/2fg b") == [
        "0x7ffff6a01760:\t2.88591427573e-312\t2.121995799e-314"]


def test_x_errors_as_gdb_words_them():
    lines = transcript(LIST, *STOP, "x/q b", "x/2xg 16", "x/6xg b", "x/i b", "x/s 0x10")
    assert output_of(lines, "x/q b") == ['Undefined output format "q".']
    assert output_of(lines, "x/2xg 16") == ["Cannot access memory at address 0x10"]
    assert output_of(lines, "x/i b") == [
        'Format "i" reads machine instructions; the heap has none ("disassemble" shows '
        'bytecode).']
    # A read past the end of the heap prints what it could, then the error.
    assert output_of(lines, "x/6xg b") == [
        "0x7ffff6a01760:\t0x0000008800000003\t0x0000000100000010",
        "0x7ffff6a01770:\t0x0000000000000007\t0x00007ffff6a01748",
        "Cannot access memory at address 0x7ffff6a01780",
    ]
    assert output_of(lines, "x/s 0x10") == ["Cannot access memory at address 0x10"]


def test_x_examines_history_values_and_dollar_underscore():
    lines = transcript(LIST, *STOP, "print &b.value", "x/dg $", "print $_", "x/dg $_",
                       "print list", "x/2xg $", "print 12", "x/2xg $")
    assert output_of(lines, "print &b.value") == ["$1 = (Int *) 0x7ffff6a01770"]
    assert output_of(lines, "x/dg $") == ["0x7ffff6a01770:\t7"]
    assert output_of(lines, "print $_") == ["$2 = 0x7ffff6a01770"]
    assert output_of(lines, "x/2xg $", 0) == [
        "0x7ffff6a000f8:\t0x0000008000000007\t0x0000000000000010"]
    assert output_of(lines, "x/2xg $", 1) == ["Cannot access memory at address 0xc"]


def test_print_addresses_and_objects_by_address():
    lines = transcript(LIST, *STOP, "print &b", "print &list", "print &garbage",
                       "print &b.value", "print &names[1]", "p/a b", "p/a b.value",
                       "p/x &b", "p/x b", "print *$1", "print *(Node *) $1",
                       "print *(Option<Node> *) $2", "print *(String *) $1", "print *0x10",
                       "print *$4")
    assert output_of(lines, "print &b") == ["$1 = (Node *) 0x7ffff6a01760"]
    assert output_of(lines, "print &list") == ["$2 = (Option<Node> *) 0x7ffff6a000f8"]
    assert output_of(lines, "print &garbage") == [
        "Attempt to take address of value not located in memory."]
    assert output_of(lines, "print &b.value") == ["$3 = (Int *) 0x7ffff6a01770"]
    assert output_of(lines, "print &names[1]") == ["$4 = (String *) 0x7ffff6a00020"]
    assert output_of(lines, "p/a b") == ["$5 = 0x7ffff6a01760"]
    assert output_of(lines, "p/a b.value") == ["$6 = 0x7"]
    assert output_of(lines, "p/x &b") == ["$7 = 0x7ffff6a01760"]
    assert output_of(lines, "p/x b") == ["Format /x applies to integers; this value is a Node."]
    assert output_of(lines, "print *$1") == ["$9 = Node { value: 7, next: None }"]
    assert output_of(lines, "print *(Node *) $1") == ["$10 = Node { value: 7, next: None }"]
    assert output_of(lines, "print *(Option<Node> *) $2") == [
        "$11 = Some(Node { value: 2, next: Some(Node { value: 1, next: Some(Node { value: 0, "
        "next: None }) }) })"]
    assert output_of(lines, "print *(String *) $1") == [
        "The object at 0x7ffff6a01760 is a Node, not a String."]
    assert output_of(lines, "print *0x10") == ["Cannot access memory at address 0x10"]
    assert output_of(lines, "print *$4") == ['$12 = "grace"']


def test_info_object():
    lines = transcript(LIST, *STOP, "info object b", "info object list", "info object names",
                       "info object names[0]", "print &b.value", "info object $",
                       "info object", "info object nosuch")
    assert output_of(lines, "info object b") == [
        "Object at 0x7ffff6a01760: Node, 32 bytes, region 1, live.",
        "Flags: REGION YOUNG",
        "  value = 7",
        "  next = None",
    ]
    assert output_of(lines, "info object list") == [
        "Object at 0x7ffff6a000f8: Option<Node>::Some, 32 bytes, young generation, live.",
        "Flags: YOUNG",
        "  0 = Node { value: 2, next: Some(Node { value: 1, next: Some(Node { value: 0, "
        "next: None }) }) }",
    ]
    assert output_of(lines, "info object names") == [
        "Object at 0x7ffff6a00148: Vec<String>, 32 bytes, young generation, length 2, live.",
        "Flags: YOUNG",
        '  [0] = "ada"',
        '  [1] = "grace"',
    ]
    assert output_of(lines, "info object names[0]") == [
        "Object at 0x7ffff6a00000: String, 32 bytes, young generation, length 3, live.",
        "Flags: BYTES YOUNG",
        'Value: "ada"',
    ]
    assert output_of(lines, "info object $") == [
        "0x7ffff6a01770 is not the address of an object: it is 16 bytes into the Node at "
        "0x7ffff6a01760."]
    assert output_of(lines, "info object") == ["Argument required (address of an object)."]
    assert output_of(lines, "info object nosuch") == ['No symbol "nosuch" in current context.']


def test_info_object_of_a_freed_object():
    source = ("class P {\n  var x: Int\n}\nfn main() {\n  var p = alloc<P>()\n  p.x = 4\n"
              "  free(p)\n  println(\"freed\")\n}\n")
    lines = transcript(source, "break 8", "run", "info object p", "print *p")
    assert output_of(lines, "info object p") == [
        "Object at 0x7ffff6a00000: P, 24 bytes, young generation, freed at prog.vyn:7.",
        "Flags: FREED YOUNG",
    ]
    assert output_of(lines, "print *p") == [
        "Cannot access memory at address 0x7ffff6a00000: the object was freed."]


def test_info_path():
    lines = transcript(LIST, *STOP, "info path list.unwrap().next", "info path b",
                       "info path names[1]", "info path 0x10")
    assert output_of(lines, "info path list.unwrap().next") == [
        "#0  0x7ffff6a000f8  Option<Node>::Some  thread 1 (main), frame #0 main, variable list",
        "#1  0x7ffff6a000d8  Node                Some.0",
        "#2  0x7ffff6a000b8  Option<Node>::Some  .next",
    ]
    assert output_of(lines, "info path b") == [
        "#0  0x7ffff6a01760  Node  thread 1 (main), frame #0 main, variable b"]
    assert output_of(lines, "info path names[1]") == [
        "#0  0x7ffff6a00148  Vec<String>  thread 1 (main), frame #0 main, variable names",
        "#1  0x7ffff6a00020  String       [1]",
    ]
    assert output_of(lines, "info path 0x10") == ["Cannot access memory at address 0x10"]


def test_info_path_of_garbage():
    lines = transcript(LIST, "break 20 if i == 5", "run", "x/xg tmp", "delete", "break 22",
                       "continue", "info path $_", "gc", "info path $_")
    # `x` does not keep what it reads alive: the Node is garbage at line 22.
    assert output_of(lines, "info path $_") == [
        "No root reaches the Node at 0x7ffff6a00298: the next full collection frees it."]
    assert output_of(lines, "info path $_", 1) == [
        "0x7ffff6a00298 is in free memory: the collector reclaimed what was there."]


def test_help_for_the_heap_commands():
    lines = transcript(LIST, "help x", "help gc", "help info heap", "info")
    assert output_of(lines, "help x")[0] == "Examine memory: x/FMT ADDRESS."
    assert output_of(lines, "help gc")[0] == "Collect garbage now: a full collection."
    assert output_of(lines, "help info heap")[0] == \
        "The heap: generations, and live objects by type."
    listing = output_of(lines, "info")
    for name in ("heap", "regions", "object", "path"):
        assert any(line.startswith(f"info {name} -- ") for line in listing)


def test_gc_trace_in_the_line_mode_goes_to_stderr():
    out, err = io.StringIO(), io.StringIO()
    lm = LineMode(compiled(LIST), path="prog.vyn", out=out, err=err, gc_trace=True)
    try:
        for command in ("break 25", "run", "gc", "continue"):
            lm.execute(command)
    finally:
        lm.close()
    trace = normalize(err.getvalue(), None).splitlines()
    assert trace == ["[gc] #1 full (requested): 5.9 KiB -> 416 B, 200 objects freed, "
                     "pause 0.05 ms", "[gc] region 1 released: 1 objects, 32 B"]
    assert "Collection #1 (full)" in out.getvalue()


def test_gc_stress_in_the_line_mode():
    lines = transcript(LIST, *STOP, "print list", "continue", gc_stress=True)
    assert output_of(lines, "continue")[:2] == [
        "Continuing.", "7"]


def test_an_empty_line_repeats_x_from_where_it_stopped():
    out = io.StringIO()
    lm = LineMode(compiled(LIST), path="prog.vyn", out=out)
    typed = iter(["break 25", "run", "x/2dw b", "", "", "quit"])
    assert prompt.interact(lm, lambda _: next(typed)) == 0
    dumps = [line.split(":\t")[1] for line in out.getvalue().splitlines() if ":\t" in line]
    assert dumps == ["3\t136", "16\t1", "7\t0"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prog.vyn").write_text(LIST, encoding="utf-8")
    return tmp_path


def test_vyn_debug_gc_trace(workdir, capsys):
    code = main(["debug", "prog.vyn", "--batch", "--gc-trace", "-ex", "break 25", "-ex", "run",
                 "-ex", "gc"])
    out, err = capsys.readouterr()
    assert code == 0
    assert normalize(err, None) == ("[gc] #1 full (requested): 5.9 KiB -> 416 B, 200 objects "
                                    "freed, pause 0.05 ms\n")
    assert out.endswith("pause " + out.rsplit("pause ", 1)[1])


def test_the_tui_gets_the_gc_options_only_when_given(workdir, capsys, monkeypatch):
    app = pytest.importorskip("tui.app")
    calls = []
    monkeypatch.setattr(app, "run_tui", lambda program, **kw: calls.append(kw) or 0)
    assert main(["debug", "prog.vyn", "--tui"]) == 0
    assert main(["debug", "prog.vyn", "--tui", "--gc-trace", "--gc-stress"]) == 0
    assert "gc_trace" not in calls[0] and "gc_stress" not in calls[0]
    assert (calls[1]["gc_trace"], calls[1]["gc_stress"]) == (True, True)


def test_a_long_path_shows_its_ends():
    source = ("class Node {\n  var next: Option<Node>\n}\nfn main() {\n"
              "  var head: Option<Node> = None\n  for i in 0..<30 {\n"
              "    head = Some(Node(next=head))\n  }\n  println(\"done\")\n}\n")
    out = io.StringIO()
    lm = LineMode(compiled(source), path="prog.vyn", out=out)
    try:
        lm.execute("break 9")
        lm.execute("run")
        first = min(o.addr for o in lm.session.vm.heap.walk()
                    if lm.session.object_at(o.addr).type_name == "Node")
        out.truncate(0)
        out.seek(0)
        lm.execute(f"info path {first}")
    finally:
        lm.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 41 and lines[20] == "... 20 more references ..."
    assert lines[0].startswith("#0 ") and "variable head" in lines[0]
    assert lines[-1].startswith("#59 ") and lines[-1].endswith("  Some.0")
