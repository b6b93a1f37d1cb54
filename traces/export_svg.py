"""A self-contained, interactive SVG flame graph (as FlameGraph's flamegraph.pl draws).

The run's stacks, merged by function name, from the fiber at the bottom to the innermost
frame at the top; a frame's width is its share of the value (CPU time by default).
Opened in a browser, the SVG's own script lets you click a frame to zoom into it (click
the bottom bar or press Escape to zoom out), search with the Search button or Ctrl-F
(matching frames turn purple and the matched share is shown) and hover for a frame's
value. Frames narrower than 0.1 pixel are left out.
"""

from __future__ import annotations

import zlib
from html import escape
from typing import TextIO

from traces.export_text import FrameNames, frame_name, value_of
from traces.reader import TraceReader
from traces.stacks import weighted_stacks

WIDTH = 1200
FRAME_H = 16
PAD_TOP = 50
PAD_BOTTOM = 30
MIN_WIDTH_PX = 0.1

UNITS = {"cpu": "ns", "alloc": "bytes", "samples": "samples"}
VALUE_TITLES = {"cpu": "CPU time", "alloc": "allocated bytes", "samples": "samples"}


class _Node:
    __slots__ = ("name", "value", "children")

    def __init__(self, name: str):
        self.name = name
        self.value = 0
        self.children: dict[str, _Node] = {}


def _color(name: str) -> str:
    h = zlib.crc32(name.encode("utf-8"))
    return f"rgb({205 + h % 50},{(h >> 8) % 180 + 50},{(h >> 16) % 55})"


def _human(v: int, unit: str) -> str:
    if unit == "ns":
        for div, u in ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")):
            if v >= div:
                return f"{v / div:.3g} {u}"
        return f"{v} ns"
    if unit == "bytes":
        for div, u in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if v >= div:
                return f"{v / div:.3g} {u}"
        return f"{v} bytes"
    return f"{v:,} samples"


def export_svg(reader: TraceReader, out: TextIO, value: str = "cpu",
               title: str | None = None) -> int:
    """Write the flame graph; returns the samples read."""
    samples = weighted_stacks(reader)
    totals: dict[tuple[int, int], int] = {}
    count = 0
    for s in samples:
        count += 1
        v = value_of(s, value)
        if v:
            key = (s.fiber, s.stack)
            totals[key] = totals.get(key, 0) + v
    names = FrameNames(reader, samples.table)
    root = _Node("all")
    for (fiber, stack), v in totals.items():
        node = root
        node.value += v
        path = [frame_name(samples.fiber_name(fiber))]
        path.extend(names.name(n.function) for n in samples.table.frames(stack))
        for name in path:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = _Node(name)
            child.value += v
            node = child
    unit = UNITS[value]
    depth = _depth(root)
    height = PAD_TOP + PAD_BOTTOM + (depth + 1) * FRAME_H
    program = reader.info.get("program", "") or "vyn"
    heading = title or f"{program}: {VALUE_TITLES[value]}"
    w = out.write
    w(f'<?xml version="1.0" standalone="no"?>\n'
      f'<svg version="1.1" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
      f'xmlns="http://www.w3.org/2000/svg" data-total="{root.value}" data-unit="{unit}">\n'
      f'<style>text {{ font-family: monospace; font-size: 12px; fill: #000; }} '
      f'.f:hover rect {{ stroke: #000; stroke-width: 0.5; cursor: pointer; }} '
      f'#title {{ font-size: 17px; }} .hidden {{ display: none; }}</style>\n'
      f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fff8ee"/>\n'
      f'<text id="title" x="{WIDTH // 2}" y="24" text-anchor="middle">{escape(heading)}</text>\n'
      f'<text id="search" x="{WIDTH - 10}" y="24" text-anchor="end" '
      f'style="cursor: pointer">Search</text>\n'
      f'<text id="matched" x="{WIDTH - 10}" y="{height - 10}" text-anchor="end"></text>\n'
      f'<text id="details" x="10" y="{height - 10}"> </text>\n<g id="frames">\n')
    scale = WIDTH / root.value if root.value else 0.0
    stack = [(root, 0.0, 0)]
    while stack:
        node, x, d = stack.pop()
        width = node.value * scale
        if width < MIN_WIDTH_PX and node is not root:
            continue
        y = height - PAD_BOTTOM - (d + 1) * FRAME_H
        share = node.value / root.value * 100 if root.value else 0.0
        label = escape(f"{node.name} ({_human(node.value, unit)}, {share:.2f}%)")
        w(f'<g class="f" data-x="{x:.3f}" data-w="{width:.3f}" data-d="{d}">'
          f'<title>{label}</title><rect x="{x:.2f}" y="{y}" width="{width:.2f}" '
          f'height="{FRAME_H - 1}" fill="{"#e8c080" if node is root else _color(node.name)}" '
          f'rx="2"/><text x="{x + 3:.2f}" y="{y + FRAME_H - 4}">{escape(node.name)}</text></g>\n')
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            stack.append((child, cx, d + 1))
            cx += child.value * scale
    w("</g>\n<script><![CDATA[\n" + _SCRIPT + "]]></script>\n</svg>\n")
    return count


def _depth(root: _Node) -> int:
    best = 0
    todo = [(root, 0)]
    while todo:
        node, d = todo.pop()
        best = max(best, d)
        todo.extend((c, d + 1) for c in node.children.values())
    return best


_SCRIPT = r"""
(function () {
  var svg = document.documentElement, W = svg.viewBox.baseVal.width;
  var frames = Array.prototype.slice.call(document.querySelectorAll("g.f"));
  var details = document.getElementById("details"), matched = document.getElementById("matched");
  var total = +svg.getAttribute("data-total"), unit = svg.getAttribute("data-unit");
  function fit(g) {
    var r = g.querySelector("rect"), t = g.querySelector("text");
    var w = +r.getAttribute("width"), name = g.querySelector("title").textContent;
    name = name.replace(/ \([^()]*\)$/, "");
    var chars = Math.floor((w - 6) / 7);
    t.textContent = chars < 3 ? "" :
      (name.length <= chars ? name : name.slice(0, chars - 2) + "..");
    t.setAttribute("x", +r.getAttribute("x") + 3);
  }
  function zoom(g) {
    var x0 = +g.getAttribute("data-x"), w0 = +g.getAttribute("data-w");
    var d0 = +g.getAttribute("data-d");
    frames.forEach(function (f) {
      var x = +f.getAttribute("data-x"), w = +f.getAttribute("data-w");
      var d = +f.getAttribute("data-d");
      var r = f.querySelector("rect");
      var inside = x + w > x0 + 1e-6 && x < x0 + w0 - 1e-6;
      if (!inside || (d < d0 && !(x <= x0 + 1e-6 && x + w >= x0 + w0 - 1e-6))) {
        f.classList.add("hidden");
        return;
      }
      f.classList.remove("hidden");
      if (d < d0) { r.setAttribute("x", 0); r.setAttribute("width", W); }
      else {
        r.setAttribute("x", (x - x0) * W / w0);
        r.setAttribute("width", Math.max(0, w * W / w0));
      }
      fit(f);
    });
  }
  frames.forEach(function (f) {
    fit(f);
    f.addEventListener("click", function () { zoom(f); });
    f.addEventListener("mouseover", function () {
      details.textContent = f.querySelector("title").textContent;
    });
  });
  function search() {
    var term = prompt("Search frames (a regular expression):", "");
    if (term === null) return;
    var re = new RegExp(term), sum = 0, seen = [];
    frames.forEach(function (f) {
      var name = f.querySelector("title").textContent.replace(/ \([^()]*\)$/, "");
      var r = f.querySelector("rect");
      if (!r.getAttribute("data-fill")) r.setAttribute("data-fill", r.getAttribute("fill"));
      if (term && re.test(name)) {
        r.setAttribute("fill", "rgb(230,0,230)");
        var x = +f.getAttribute("data-x"), w = +f.getAttribute("data-w");
        if (!seen.some(function (s) { return x >= s[0] && x + w <= s[1] + 1e-6; })) {
          seen.push([x, x + w]); sum += w;
        }
      } else r.setAttribute("fill", r.getAttribute("data-fill"));
    });
    matched.textContent = term ? "Matched: " + (100 * sum / W).toFixed(2) + "%" : "";
  }
  document.getElementById("search").addEventListener("click", search);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") zoom(frames[0]);
    if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); search(); }
  });
})();
"""
