"""`vyn trace export`: each format checked here, and read by the real consumer where it
can be installed (`.ci/run` installs them; otherwise the test is skipped and says why):

- chrome: `@paulirish/trace_engine` (npm) parses it, with every message's flow attached;
- pprof: `go tool pprof` (Debian golang-go) prints `-top`, `-traces` and `-raw`;
- speedscope: valid against speedscope's own schema (npm `speedscope`, with `ajv`);
- perf: FlameGraph's stackcollapse-perf.pl, when FLAMEGRAPH_DIR names a checkout (no
  registry ships it), and the line patterns of it and of speedscope's perf importer;
- folded and svg: their own rules.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tracemalloc
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from compiler.lower import compile_file
from runtime.run import run_program
from traces import model as m
from traces.exporters import FORMATS
from traces.reader import TraceReader
from traces.recorder import Recorder
from vyndbg.cli import main

TOOLS = Path(os.environ.get("VYN_TRACE_TOOLS") or
             Path.home() / ".cache" / "vyn-trace-tools")

PROGRAM = """
template Echo {
  fn handle(&mut self, n: Int) { println("echo {}", n) }
}
fn work(n: Int) -> Int {
  scoped {
    let s = "x" + n.to_string()
    s.len()
  }
}
fn fib(n: Int) -> Int {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
fn main() {
  trace_event("app", "start")
  let e = actor Echo()
  let ch: Channel<Int> = Channel::unbounded()
  spawn fn producer() {
    ch.send(work(41))
  }
  let v = ch.recv().unwrap()
  e.send(v)
  e.send(fib(14))
  var words: Vec<String> = vec![]
  var i = 0
  while i < 2000 {
    words.push(i.to_string())
    i += 1
  }
}
"""


def _record(directory: Path, source: str, name: str, **options) -> Path:
    program = compile_file("prog.vyn", source).program
    path = directory / name
    rec = Recorder(str(path), properties={"program": "prog.vyn"}, **options)
    import io

    code = run_program(program, ["prog.vyn"], stdout=io.StringIO(), stderr=io.StringIO(),
                       events=rec.attach)
    rec.close(code)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("recordings")
    return {"trace": _record(d, PROGRAM, "run.vtrace", calls=True),
            "profile": _record(d, PROGRAM, "run.vprof", sample_every=40)}


def export(path: Path, fmt: str, out: Path, value: str = "cpu") -> Path:
    with TraceReader(str(path)) as reader:
        f = FORMATS[fmt]
        with open(out, "wb" if f.binary else "w", encoding=None if f.binary else "utf-8") as o:
            f.write(reader, o, value)
    return out


def events_of(path: Path) -> list:
    with TraceReader(str(path)) as reader:
        return list(reader.events())


# -- chrome ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["trace", "profile"])
def test_chrome_has_a_track_per_fiber_slices_counters_and_bound_flows(files, tmp_path, kind):
    data = json.loads(export(files[kind], "chrome", tmp_path / "t.json").read_text())
    ev = data["traceEvents"]
    pids = {e["pid"] for e in ev}
    assert len(pids) == 1
    threads = {e["tid"]: e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
    assert threads == {0: "collector", 1: "main", 2: "actor Echo#2", 3: "task 3"}
    slices = [e for e in ev if e["ph"] == "X"]
    if kind == "trace":
        calls = [e for e in slices if e["cat"] == "vyn.call"]
        assert Counter(e["name"] for e in calls)["fib"] == 1219
        assert {e["tid"] for e in calls if e["name"] == "work"} == {3}
        assert all(e["dur"] >= 0 for e in calls)
    else:
        assert {e["name"] for e in slices if e["cat"] == "vyn.sched"} == {"run"}
    assert any(e["ph"] == "C" and e["name"] == "heap" for e in ev)
    assert [e["name"] for e in ev if e["ph"] == "i" and e["cat"] == "app"] == ["start"]
    # A flow binds to the slice with the same ts, pid, tid and category.
    starts = {e["id"]: e for e in ev if e["ph"] == "s"}
    ends = {e["id"]: e for e in ev if e["ph"] == "f"}
    assert starts.keys() == ends.keys() == {1, 2, 3}
    for flow in (*starts.values(), *ends.values()):
        bound = [e for e in slices if (e["ts"], e["pid"], e["tid"], e["cat"]) ==
                 (flow["ts"], flow["pid"], flow["tid"], flow["cat"])]
        assert len(bound) == 1
    assert all(e["bp"] == "e" for e in ends.values())
    assert (starts[1]["tid"], ends[1]["tid"]) == (3, 1)
    assert (starts[2]["tid"], ends[2]["tid"]) == (1, 2)


TRACE_ENGINE_SCRIPT = """
import {pathToFileURL} from 'node:url';
const [tools, file] = process.argv.slice(2);
const {analyzeTrace} = await import(pathToFileURL(
  tools + '/node_modules/@paulirish/trace_engine/analyze-trace.mjs'));
const {parsedTrace} = await analyzeTrace(file);
const flows = parsedTrace.data.Flows.flows.map(f => f.map(e => ({
  name: e.name, ph: e.ph, tid: e.tid, ts: e.ts, cat: e.cat})));
const threads = [];
for (const [pid, proc] of parsedTrace.data.Renderer.processes) {
  for (const [tid, thread] of proc.threads) {
    threads.push({tid, name: thread.name, entries: thread.entries.length});
  }
}
console.log(JSON.stringify({flows, threads}));
"""


def _node_tool(package: str) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    where = TOOLS / "node_modules" / package
    if not where.is_dir():
        pytest.skip(f"npm {package} is not installed in {TOOLS} (.ci/run installs it; "
                    "set VYN_TRACE_TOOLS to another install)")
    return where


def _node(tmp_path: Path, script: str, *args: str) -> str:
    path = tmp_path / "check.mjs"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run(["node", str(path), str(TOOLS), *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("kind", ["trace", "profile"])
def test_trace_engine_reads_the_chrome_export_with_every_flow_attached(files, tmp_path, kind):
    _node_tool("@paulirish/trace_engine")
    out = export(files[kind], "chrome", tmp_path / "t.json")
    result = json.loads(_node(tmp_path, TRACE_ENGINE_SCRIPT, str(out)).splitlines()[-1])
    sends = [e for e in events_of(files[kind]) if type(e) is m.Send]
    flows = result["flows"]
    assert len(flows) == len(sends) == 3
    for flow in flows:
        assert [e["name"] for e in flow] == ["send", "receive"]
        assert all(e["ph"] == "X" and e["cat"] == "vyn.msg" for e in flow)
    assert sorted((f[0]["tid"], f[1]["tid"]) for f in flows) == [(1, 2), (1, 2), (3, 1)]
    threads = {t["tid"]: t for t in result["threads"]}
    assert threads[1]["name"] == "main" and threads[1]["entries"] > 0


# -- pprof -----------------------------------------------------------------------------------

def _fields(data: bytes):
    """(field number, wire type, value) of a protobuf message, enough to check ours."""
    pos = 0
    while pos < len(data):
        key, pos = _uvarint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _uvarint(data, pos)
        elif wire == 2:
            n, pos = _uvarint(data, pos)
            value, pos = data[pos:pos + n], pos + n
        else:
            raise AssertionError(f"wire type {wire}")
        yield field, wire, value


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def _packed(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        v, pos = _uvarint(data, pos)
        out.append(v)
    return out


@pytest.mark.parametrize("kind", ["trace", "profile"])
def test_pprof_is_a_gzipped_profile_proto_with_cpu_and_allocation_types(files, tmp_path, kind):
    raw = gzip.decompress(export(files[kind], "pprof", tmp_path / "p.pb.gz").read_bytes())
    fields = list(_fields(raw))
    strings = [v.decode() for f, _, v in fields if f == 6]
    assert strings[0] == ""
    types = [[strings[v] for _, _, v in _fields(b)] for f, _, b in fields if f == 1]
    assert types == [["samples", "count"], ["cpu", "nanoseconds"], ["alloc_space", "bytes"]]
    functions = {dict((f, v) for f, _, v in _fields(b))[1]:
                 strings[dict((f, v) for f, _, v in _fields(b))[2]]
                 for f, _, b in fields if f == 5}
    # A profile only has the functions its samples caught; a trace has every one called.
    expected = {"main", "fib", "work", "Echo::handle"} if kind == "trace" else {"main", "fib"}
    assert expected <= set(functions.values())
    samples = [b for f, _, b in fields if f == 2]
    values = [_packed(dict((f, v) for f, _, v in _fields(s))[2]) for s in samples]
    assert all(len(v) == 3 for v in values) and sum(v[1] for v in values) > 0
    if kind == "profile":
        assert sum(v[2] for v in values) > 2000 * 16


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed (Debian golang-go; .ci/run installs it)")
    return go


def _pprof(*args: str) -> str:
    done = subprocess.run([_go(), "tool", "pprof", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PPROF_TMPDIR": "/tmp"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("kind", ["trace", "profile"])
def test_go_tool_pprof_reads_the_profile(files, tmp_path, kind):
    _go()
    out = export(files[kind], "pprof", tmp_path / "p.pb.gz")
    top = _pprof("-top", str(out))
    assert "Type: cpu" in top
    assert re.search(r"^\s*\S+ +[\d.]+% .* fib$", top, re.MULTILINE), top
    assert re.search(r"main$", top, re.MULTILINE)
    traces = _pprof("-traces", str(out))
    assert re.search(r"fiber: +main$", traces, re.MULTILINE)
    if kind == "trace":
        assert re.search(r"fiber: +task 3$", traces, re.MULTILINE)
    lines = _pprof("-top", "-lines", str(out))
    assert "prog.vyn:" in lines
    raw = _pprof("-raw", str(out))
    assert "samples/count cpu/nanoseconds[dflt] alloc_space/bytes" in raw
    if kind == "profile":
        alloc = _pprof("-top", "-sample_index=alloc_space", str(out))
        assert "Type: alloc_space" in alloc and "main" in alloc


# -- speedscope ------------------------------------------------------------------------------

SCHEMA_SCRIPT = """
import {createRequire} from 'node:module';
import fs from 'node:fs';
const [tools, ...files] = process.argv.slice(2);
const require = createRequire(tools + '/package.json');
const Ajv = require('ajv');
const schema = JSON.parse(fs.readFileSync(
  tools + '/node_modules/speedscope/dist/release/file-format-schema.json', 'utf8'));
const ajv = new Ajv({strict: false, allErrors: true});
ajv.addSchema(schema, 'speedscope');
const validate = ajv.getSchema('speedscope#/definitions/FileFormat.File');
for (const f of files) {
  const ok = validate(JSON.parse(fs.readFileSync(f, 'utf8')));
  console.log(JSON.stringify({file: f, ok, errors: validate.errors}));
}
"""


def _check_speedscope(doc: dict) -> None:
    """What the schema does not check: frame indices in range, evented nesting."""
    n = len(doc["shared"]["frames"])
    for p in doc["profiles"]:
        if p["type"] == "sampled":
            assert len(p["samples"]) == len(p["weights"]) > 0
            assert all(0 <= i < n for s in p["samples"] for i in s)
            assert sum(p["weights"]) == p["endValue"]
        else:
            stack, at = [], 0
            for e in p["events"]:
                assert 0 <= e["frame"] < n and e["at"] >= at
                at = e["at"]
                if e["type"] == "O":
                    stack.append(e["frame"])
                else:
                    assert stack.pop() == e["frame"]
            assert stack == [] and at <= p["endValue"]


def test_speedscope_export_is_valid_against_speedscope_schema(files, tmp_path):
    _node_tool("speedscope")
    _node_tool("ajv")
    outs = [export(files[k], "speedscope", tmp_path / f"{k}.json") for k in files]
    for out in outs:
        _check_speedscope(json.loads(out.read_text()))
    for line in _node(tmp_path, SCHEMA_SCRIPT, *map(str, outs)).splitlines():
        result = json.loads(line)
        assert result["ok"], result


def test_speedscope_profiles_name_fibers_and_vyn_frames(files, tmp_path):
    trace = json.loads(export(files["trace"], "speedscope", tmp_path / "t.json").read_text())
    profile = json.loads(export(files["profile"], "speedscope", tmp_path / "p.json").read_text())
    _check_speedscope(trace)
    _check_speedscope(profile)
    assert [p["type"] for p in trace["profiles"]] == ["evented"]
    assert [p["name"] for p in profile["profiles"]] == ["CPU time", "allocated bytes"]
    names = {f["name"] for f in trace["shared"]["frames"]}
    assert {"main", "actor Echo#2", "task 3", "fib", "work", "Echo::handle"} <= names
    fib = next(f for f in trace["shared"]["frames"] if f["name"] == "fib")
    assert fib == {"name": "fib", "file": "prog.vyn", "line": 11}


# -- perf, folded, svg -----------------------------------------------------------------------

# The patterns stackcollapse-perf.pl (FlameGraph) and speedscope's importer
# (src/import/linux-tools-perf.ts) match a sample's first line and its frame lines with.
STACKCOLLAPSE_EVENT = re.compile(r"^(\S.+?)\s+(\d+)/*(\d+)*\s+")
STACKCOLLAPSE_PERIOD = re.compile(r":\s*(\d+)*\s+(\S+):\s*$")
STACKCOLLAPSE_FRAME = re.compile(r"^\s*(\w+)\s*(.+) \((.*)\)")
SPEEDSCOPE_EVENT = re.compile(r"^(\S.+?)\s+(\d+)(?:/?(\d+))?\s+")
SPEEDSCOPE_TIME = re.compile(r"\s+(\d+\.\d+):\s+")
SPEEDSCOPE_FRAME = re.compile(r"^\s*(\w+)\s*(.+) \((\S*)\)")


def _perf_blocks(text: str) -> list[list[str]]:
    return [b.splitlines() for b in text.strip("\n").split("\n\n")]


@pytest.mark.parametrize("kind", ["trace", "profile"])
def test_perf_script_text_matches_what_its_readers_parse(files, tmp_path, kind):
    text = export(files[kind], "perf", tmp_path / "out.perf").read_text()
    blocks = _perf_blocks(text)
    assert blocks
    for first, *frames in blocks:
        ev = STACKCOLLAPSE_EVENT.match(first)
        assert ev and ev.group(1) in ("main", "task_3", "actor_Echo#2")
        assert ev.group(3) in ("1", "2", "3")
        period = STACKCOLLAPSE_PERIOD.search(first)
        assert period and period.group(2) == "cpu-clock" and int(period.group(1)) > 0
        sp = SPEEDSCOPE_EVENT.match(first)
        assert sp and sp.group(1) == ev.group(1) and SPEEDSCOPE_TIME.search(first)
        assert frames
        for line in frames:
            c, s = STACKCOLLAPSE_FRAME.match(line), SPEEDSCOPE_FRAME.match(line)
            assert c and s and c.group(2) == s.group(2) and s.group(3) == "prog.vyn"
    leaf_names = Counter(b[1].split()[1] for b in blocks)
    assert leaf_names["fib"] > 0


def test_stackcollapse_perf_folds_the_perf_export_as_vyn_folds_it(files, tmp_path):
    flamegraph = os.environ.get("FLAMEGRAPH_DIR")
    script = Path(flamegraph) / "stackcollapse-perf.pl" if flamegraph else None
    if script is None or not script.is_file():
        pytest.skip("FlameGraph's stackcollapse-perf.pl is not available (no registry ships "
                    "it; set FLAMEGRAPH_DIR to a checkout to run this)")
    if shutil.which("perl") is None:
        pytest.skip("perl is not installed")
    perf = export(files["profile"], "perf", tmp_path / "p.perf")
    done = subprocess.run(["perl", str(script), str(perf)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    theirs = Counter()
    for line in done.stdout.splitlines():
        stack, value = line.rsplit(" ", 1)
        theirs[stack] += int(value)
    ours = Counter()
    for line in export(files["profile"], "folded", tmp_path / "p.folded").read_text().splitlines():
        stack, value = line.rsplit(" ", 1)
        root, _, rest = stack.partition(";")
        ours[";".join(filter(None, ["_".join(root.split()), rest]))] += int(value)
    assert theirs == ours


@pytest.mark.parametrize("kind", ["trace", "profile"])
def test_folded_stacks_sum_to_the_recorded_time(files, tmp_path, kind):
    lines = export(files[kind], "folded", tmp_path / "f.txt").read_text().splitlines()
    assert lines == sorted(lines)
    total = 0
    roots = set()
    for line in lines:
        match = re.fullmatch(r"([^;\n]+(?:;[^;\n]+)*) (\d+)", line)
        assert match, line
        roots.add(match.group(1).split(";")[0])
        total += int(match.group(2))
    assert roots <= {"main", "task 3", "actor Echo#2"} and "main" in roots
    with TraceReader(str(files[kind])) as reader:
        events = list(reader.events())
        duration = reader.duration()
    if kind == "profile":
        assert total == sum(e.cpu for e in events if type(e) is m.Sample)
    else:
        assert 0.3 * duration < total <= duration
    assert any(line.startswith("main;main;fib;fib") for line in lines)
    alloc = export(files[kind], "folded", tmp_path / "a.txt", value="alloc").read_text()
    assert (alloc != "") == (kind == "profile")


def test_svg_flame_graph_is_self_contained_and_interactive(files, tmp_path):
    out = export(files["profile"], "svg", tmp_path / "f.svg")
    root = ET.parse(out).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    frames = root.findall(".//s:g[@class='f']", ns)
    titles = [f.find("s:title", ns).text for f in frames]
    assert titles[0].startswith("all (") and any(t.startswith("fib (") for t in titles)
    assert root.find("s:script", ns) is not None
    text = out.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "addEventListener(\"click\"" in text


@pytest.mark.slow
def test_memory_stays_flat_however_long_the_trace(tmp_path, monkeypatch):
    """Exports hold a chunk at a time plus what is bounded by the program (functions,
    stacks, fibers): seven times the events take no more memory. (Chunks are made small
    here so that both traces have many.)"""
    import traces.recorder

    monkeypatch.setattr(traces.recorder, "FLUSH_WORDS", 2048)
    paths = {n: _record(tmp_path, PROGRAM.replace("fib(14)", f"fib({n})"), f"fib{n}.vtrace",
                        calls=True) for n in (15, 19)}

    def peak(n: int, fmt: str) -> tuple[int, int]:
        path = paths[n]
        tracemalloc.start()
        try:
            with TraceReader(str(path)) as reader:
                with open(tmp_path / "out", "wb" if FORMATS[fmt].binary else "w") as o:
                    count = FORMATS[fmt].write(reader, o, "cpu")
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    for fmt in ("chrome", "speedscope", "pprof", "folded"):
        small_events, small = peak(15, fmt)
        big_events, big = peak(19, fmt)
        assert big_events > 6 * small_events
        assert big < 1.3 * small + 64 * 1024, (fmt, small, big)


# -- the command line ------------------------------------------------------------------------

def vyn(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_format_from_the_command_line(files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for fmt in FORMATS:
        code, out, err = vyn(capsys, "trace", "export", str(files["profile"]), "--format", fmt,
                             "-o", f"out.{fmt}")
        assert (code, out, err) == (0, "", ""), fmt
        assert Path(f"out.{fmt}").stat().st_size > 0
    code, out, _ = vyn(capsys, "trace", "export", str(files["trace"]), "-f", "folded")
    assert code == 0 and "main;main;fib" in out


def test_a_cut_short_trace_exports_with_a_warning(files, tmp_path, capsys):
    data = files["trace"].read_bytes()
    cut = tmp_path / "cut.vtrace"
    cut.write_bytes(data[:-5])
    code, out, err = vyn(capsys, "trace", "export", str(cut), "-f", "chrome")
    assert code == 0 and json.loads(out)["traceEvents"]
    assert err.startswith(f"vyn: warning: '{cut}' was cut short (an incomplete END chunk)")
    assert err.count("\n") == 1
    assert "dropped the last" in err


def test_tracing_md_documents_every_format_and_option(capsys):
    doc = (Path(__file__).resolve().parent.parent / "docs" / "tracing.md").read_text()
    for name in FORMATS:
        assert f"### `{name}`" in doc, name
    for text in ("vyn run --trace FILE", "vyn run --profile FILE [--sample-every N]",
                 "vyn trace info FILE", "--value cpu|alloc|samples"):
        assert text in doc
    from traces.recorder import DEFAULT_SAMPLE_EVERY

    assert f"{DEFAULT_SAMPLE_EVERY} by default" in doc
    capsys.readouterr()
    assert main(["run", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert f"(default {DEFAULT_SAMPLE_EVERY})" in " ".join(help_text.split())
