"""The Variables tree: a frame's arguments and locals (or watch expressions), expandable.

A value's fields or elements are read when its node is first expanded (`LoadChildren`,
which the app answers with `add_page`), a page of `PAGE` at a time; the rest wait behind a
"more…" node. The tree remembers which paths are expanded, so after the next stop the app
can read those children again and the tree keeps its shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.model import PAGE, VarNode, more_label, short


@dataclass(frozen=True)
class More:
    """The "more…" node after a page of children of `path`."""

    path: tuple[str, ...]
    start: int
    total: int


class VariableTree(Tree):
    """Variables as a tree; `show(nodes, generation)` replaces them all."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Expand / collapse, or load more", show=False),
        Binding("space", "toggle_node", "Expand / collapse", show=False),
        Binding("o", "open_object", "Open the value's object in the Heap tab", show=False),
        Binding("left", "scroll_left", "Scroll left (a value wider than the pane)",
                show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]

    DEFAULT_CSS = """
    VariableTree {
        background: $surface;
        padding: 0;
    }
    """

    class LoadChildren(Message):
        """Children [start, start+PAGE) of the value at `path` are wanted."""

        def __init__(self, tree: VariableTree, path: tuple[str, ...], ref: object,
                     start: int, total: int, generation: int) -> None:
            super().__init__()
            self.tree = tree
            self.path = path
            self.ref = ref
            self.start = start
            self.total = total
            self.generation = generation

    class OpenObject(Message):
        """`o` on a value: open the heap object it is (or points to) in the Heap tab."""

        def __init__(self, tree: VariableTree, node: VarNode, generation: int) -> None:
            super().__init__()
            self.tree = tree
            self.node = node
            self.generation = generation

    def __init__(self, empty: str = "No frame selected.", *, id: str | None = None) -> None:
        super().__init__("variables", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.empty = empty
        self.generation = 0
        self.expanded: dict[tuple[str, ...], int] = {}
        self._by_path: dict[tuple[str, ...], TreeNode] = {}
        self._loading: set[tuple[str, ...]] = set()
        self._building = False

    # -- content -------------------------------------------------------------------------

    @staticmethod
    def label_of(node: VarNode) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(node.name, style="bold")
        if node.error:
            text.append(f" <{node.error}>", style="italic red")
            return text
        if node.value.type_name:
            text.append(f": {node.value.type_name}", style="dim")
        text.append(" = ")
        text.append(short(node.value.text))
        return text

    def show(self, nodes: tuple[VarNode, ...], generation: int, empty: str | None = None
             ) -> None:
        """Replace the tree with `nodes` (whose expanded children are already loaded)."""
        line = self.cursor_line
        self._building = True
        try:
            self.generation = generation
            self._loading.clear()
            self._by_path.clear()
            self.clear()
            if not nodes:
                self.root.add_leaf(Text(empty or self.empty, style="dim italic"))
            for node in nodes:
                self._add(self.root, node)
        finally:
            self._building = False
        self.cursor_line = min(line, max(0, self.last_line))

    def _add(self, parent: TreeNode, node: VarNode) -> None:
        if not node.expandable:
            self._by_path[node.path] = parent.add_leaf(self.label_of(node), data=node)
            return
        tree_node = parent.add(self.label_of(node), data=node, allow_expand=True)
        self._by_path[node.path] = tree_node
        if node.children is not None and node.path in self.expanded:
            for child in node.children:
                self._add(tree_node, child)
            self._add_more(tree_node, node.path, len(node.children), node.value.count)
            tree_node.expand()

    def _add_more(self, parent: TreeNode, path: tuple[str, ...], start: int, total: int
                  ) -> None:
        if start < total:
            parent.add_leaf(Text(more_label(total - start), style="italic"),
                            data=More(path, start, total))

    def add_page(self, path: tuple[str, ...], start: int, nodes: tuple[VarNode, ...],
                 total: int, generation: int) -> None:
        """Children [start, start+len(nodes)) of `path` arrived."""
        self._loading.discard(path)
        parent = self._by_path.get(path)
        if parent is None or generation != self.generation:
            return
        for child in list(parent.children):
            if isinstance(child.data, More):
                child.remove()
        for node in nodes:
            self._add(parent, node)
        shown = start + len(nodes)
        self._add_more(parent, path, shown, total)
        if path in self.expanded:
            self.expanded[path] = max(self.expanded[path], shown)
        if not parent.is_expanded:
            parent.expand()

    def node_at(self, path: tuple[str, ...]) -> TreeNode | None:
        return self._by_path.get(path)

    # -- events --------------------------------------------------------------------------

    def _request(self, path: tuple[str, ...], node: VarNode, start: int) -> None:
        if path in self._loading:
            return
        self._loading.add(path)
        self.post_message(self.LoadChildren(self, path, node.value.ref, start,
                                            node.value.count, self.generation))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        event.stop()
        data = event.node.data
        if not isinstance(data, VarNode):
            return
        loaded = sum(1 for c in event.node.children if isinstance(c.data, VarNode))
        self.expanded[data.path] = max(self.expanded.get(data.path, 0), loaded, PAGE)
        if not self._building and not event.node.children:
            self._request(data.path, data, 0)

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed) -> None:
        event.stop()
        data = event.node.data
        if isinstance(data, VarNode) and not self._building:
            self.expanded.pop(data.path, None)

    def action_open_object(self) -> None:
        node = self.cursor_node
        if node is not None and isinstance(node.data, VarNode):
            self.post_message(self.OpenObject(self, node.data, self.generation))

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        data = event.node.data
        if isinstance(data, More):
            parent = self._by_path.get(data.path)
            if parent is not None and isinstance(parent.data, VarNode):
                self._request(data.path, parent.data, data.start)
