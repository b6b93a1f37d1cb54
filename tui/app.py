"""`vyn debug` on a terminal: a Textual app over the debugger engine.

The app renders and asks; it never computes. Every engine call runs on one engine thread
(tui.controller.EngineThread) and comes back as a message carrying a Snapshot (tui.model);
program output arrives through an OutputChannel from the program's thread. Widgets are
touched only on the UI thread, so a running program never freezes the screen, and Ctrl+C
reaches Session.interrupt() at once.

Layout: Source and Call stack on the left, a TabbedContent on the right (Variables,
Breakpoints, Watches, Threads, Heap, and Disassembly when the program runs with a JIT:
later panes such as Timeline slot in as more tabs), the Console below, then the status bar
and the key footer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Static, TabbedContent, TabPane

from tui.console_input import Completion, complete
from tui.controller import Children, Controller, EngineThread, OutputChannel, ViewState
from tui.disasm import DisasmView
from tui.fibers import FiberRows
from tui.heap import HeapView, node_address
from tui.model import Snapshot, Status, gutter_markers, same_file
from tui.screens import ConditionScreen, HelpScreen, binding_rows, key_name
from tui.widgets.console import CommandInput, Console
from tui.widgets.disasm import AsmListing, DisasmPane
from tui.widgets.fiber_table import FiberTable
from tui.widgets.heap import HeapPane, ObjectTree
from tui.widgets.panes import BreakpointTable, CallStack, StatusBar, WatchesPane
from tui.widgets.source import SourceView
from tui.widgets.threads import ThreadsPane
from tui.widgets.variables import VariableTree
from vyndbg.model import DebugError

RUNNING_MESSAGE = "The program is running; press Ctrl+C to interrupt it.\n"
# The right-hand tabs: (id, label, label when the pane is narrow, so that all five fit).
TABS = (("tab-variables", "Variables", "Vars"), ("tab-breakpoints", "Breakpoints", "Brk"),
        ("tab-watches", "Watches", "Watch"), ("tab-threads", "Threads", "Threads"),
        ("tab-heap", "Heap", "Heap"))
# With a JIT (`vyn debug --jit=auto|eager`) a sixth tab; the narrow labels are shorter so
# that all six fit in 36 columns.
JIT_TABS = (*TABS[:3], ("tab-threads", "Threads", "Thr"), TABS[4],
            ("tab-disasm", "Disassembly", "Asm"))
NO_JIT_MESSAGE = ("The program runs in bytecode only: `disassemble` lists the selected "
                  "frame's bytecode (vyn debug --jit=eager shows machine code in F2).\n")
WIDE_TABS = 120     # from this many columns the tabs take 45% of the width (app.tcss)
# Below this the panes do not fit (the Source pane would have no rows): the screen says so.
MIN_WIDTH, MIN_HEIGHT = 60, 16


class VynDebugApp(App[int]):
    """The debugger TUI over one program."""

    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = False
    TITLE = "vyn debug"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-low"), (24, "-short"), (36, "-tall")]

    BINDINGS = [
        Binding("f5", "resume('continue')", "Run/Cont",
                tooltip="Run the program, or continue it when it is stopped"),
        Binding("f10", "resume('next')", "Next", tooltip="Next line (over calls)"),
        Binding("f11", "resume('step')", "Step", tooltip="Step into calls"),
        Binding("shift+f11", "resume('finish')", "Finish",
                tooltip="Run until the selected frame returns"),
        Binding("f9", "toggle_breakpoint", "Break",
                tooltip="Toggle a breakpoint on the Source pane's cursor line"),
        Binding("ctrl+c", "interrupt", "Interrupt", priority=True, show=False,
                tooltip="Interrupt the running program (else: copy in an input)"),
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="Quit the debugger"),
        Binding("f1,question_mark", "help", "Help", tooltip="This help screen"),
        Binding("escape,colon", "focus_console", "Console", show=False,
                tooltip="Put the focus on the console's command line"),
        Binding("f6", "focus_pane('source')", "Source", show=False,
                tooltip="Focus the Source pane"),
        Binding("f7", "focus_pane('stack')", "Stack", show=False,
                tooltip="Focus the Call stack"),
        Binding("f8", "focus_pane('tabs')", "Panes", show=False,
                tooltip="Focus the right-hand pane (Variables, Breakpoints, Watches, "
                        "Threads, Heap)"),
        Binding("f4", "threads", "Threads", show=False,
                tooltip="Show the Threads tab and focus its list of fibers"),
        Binding("f3", "heap", "Heap", show=False,
                tooltip="Show the Heap tab: generations, live types, regions, the open "
                        "object"),
        Binding("f2", "disasm", "Disassembly", show=False,
                tooltip="Show the Disassembly tab (with --jit): the frame's machine code "
                        "and registers"),
    ]

    def get_key_display(self, binding: Binding) -> str:
        """The footer names keys as the help screen does: `Shift+F11`, `Ctrl+Q`."""
        return binding.key_display or key_name(binding.key.split(",")[0])

    class SnapshotReady(Message):
        """The engine thread finished a job; this is what the panes show now."""

        def __init__(self, snapshot: Snapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    class ChildrenReady(Message):
        def __init__(self, children: Children) -> None:
            super().__init__()
            self.children = children

    class RowsReady(Message):
        def __init__(self, rows: FiberRows) -> None:
            super().__init__()
            self.rows = rows

    class HeapReady(Message):
        def __init__(self, view: HeapView) -> None:
            super().__init__()
            self.view = view

    class DisasmReady(Message):
        def __init__(self, view: DisasmView) -> None:
            super().__init__()
            self.view = view

    class OutputReady(Message):
        """Console text is waiting in the OutputChannel."""

    def __init__(self, program=None, *, argv: list[str] | None = None, path: str = "x.vyn",
                 commands: Sequence[str] = (), heap_limit: int | None = None,
                 max_depth: int | None = None, line_mode=None, core: str | None = None,
                 **session_options) -> None:
        """Debug `program` (compiled from `path`) with arguments `argv`; `commands` are
        console commands run first (as `-ex`). Or, read-only, the post-mortem dump `core`
        (or the CoreLineMode `line_mode` over one): see Controller."""
        super().__init__()
        self.channel = OutputChannel(self._output_waiting)
        self.controller = Controller(program, self.channel, path=path, argv=argv,
                                     heap_limit=heap_limit, max_depth=max_depth,
                                     line_mode=line_mode, core=core, **session_options)
        if self.controller.core:
            path = core or getattr(self.controller.session, "path", "") or "core"
        self.path = path
        self.title = f"vyn debug --core {path}" if self.controller.core \
            else f"vyn debug {path}"
        self.startup = tuple(commands)
        self.session = self.controller.session
        self.jit = self.controller.jit and not self.controller.core
        self.tabs = JIT_TABS if self.jit else TABS
        self.engine = EngineThread(self._deliver)
        self.snapshot: Snapshot | None = None
        self._quitting = False
        self._stop_shown: tuple | None = None
        self._focus_before_small = None
        self._disasm_stop: tuple | None = None

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SourceView(id="source")
                yield CallStack(id="stack")
            with TabbedContent(id="tabs"):
                with TabPane(TABS[0][1], id="tab-variables"):
                    yield VariableTree("The program is not running.", id="variables")
                with TabPane(TABS[1][1], id="tab-breakpoints"):
                    yield BreakpointTable(id="breakpoints")
                with TabPane(TABS[2][1], id="tab-watches"):
                    yield WatchesPane(id="watches")
                with TabPane(TABS[3][1], id="tab-threads"):
                    yield ThreadsPane(id="threads")
                with TabPane(TABS[4][1], id="tab-heap"):
                    yield HeapPane(id="heap")
                if self.jit:
                    with TabPane(JIT_TABS[5][1], id="tab-disasm"):
                        yield DisasmPane(id="disasm")
        yield Console(id="console")
        yield Static("", id="too-small")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#stack").border_title = "Call stack"
        self.query_one("#console").border_title = "Console"
        console = self.query_one(Console)
        console.input.completer = self._complete
        console.input.focus()
        self._label_tabs(self.size.width)
        self._fit(self.size.width, self.size.height)
        self._focus_before_small = console.input    # where the focus starts, once shown
        self.query_one(StatusBar).show(Status("idle"))
        self.set_interval(0.1, self._poll_running)
        self._submit(self.controller.banner)
        for line in self.startup:
            self.on_console_command(Console.Command(line))
        self._submit(lambda: self.controller.snapshot(self.view_state()))

    def on_resize(self, event) -> None:
        self._label_tabs(event.size.width)
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Below MIN_WIDTH x MIN_HEIGHT, a line that says so takes the panes' place (the
        status bar and the keys stay); the focus comes back to where it was."""
        main = self.screen_stack[0] if self.screen_stack else None
        if main is None:
            return
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small:
            main.query_one("#too-small", Static).update(
                f"Make the terminal at least {MIN_WIDTH}x{MIN_HEIGHT} to debug\n"
                f"(it is {width}x{height}).")
        if small == main.has_class("-too-small"):
            return
        if small:
            self._focus_before_small = main.focused
        main.set_class(small, "-too-small")
        if not small:
            before, self._focus_before_small = self._focus_before_small, None
            target = before if before is not None and before.is_attached \
                else main.query_one(Console).input
            self.call_after_refresh(target.focus)

    def _label_tabs(self, width: int) -> None:
        """Full tab labels where they fit, short ones on a narrow screen."""
        tabs = self.query_one(TabbedContent)
        for pane_id, wide, narrow in self.tabs:
            tab = tabs.get_tab(pane_id)
            label = wide if width >= WIDE_TABS else narrow
            if tab.label_text != label:
                tab.label = label

    def on_unmount(self) -> None:
        self._quitting = True
        if self.engine.busy:
            self.controller.interrupt()
        self.engine.submit(self.controller.shutdown)
        self.engine.stop()

    # -- the engine thread ---------------------------------------------------------------

    def _submit(self, job: Callable[[], object]) -> None:
        self.engine.submit(job)

    def _deliver(self, result: object) -> None:
        """On the engine thread: hand a job's result to the UI as a message."""
        if self._quitting:
            return
        if isinstance(result, Snapshot):
            self.post_message(self.SnapshotReady(result))
        elif isinstance(result, Children):
            self.post_message(self.ChildrenReady(result))
        elif isinstance(result, FiberRows):
            self.post_message(self.RowsReady(result))
        elif isinstance(result, HeapView):
            self.post_message(self.HeapReady(result))
        elif isinstance(result, DisasmView):
            self.post_message(self.DisasmReady(result))
        elif isinstance(result, Exception):
            self.channel.write("error", f"internal error: {type(result).__name__}: "
                                        f"{result}\n")

    def _output_waiting(self) -> None:
        """On any thread: console text was written."""
        if not self._quitting:
            self.post_message(self.OutputReady())

    @property
    def _alive(self) -> bool:
        """The app still has its panes (a result can arrive while it closes)."""
        return not self._quitting and bool(self.screen_stack)

    def view_state(self) -> ViewState:
        variables = self.query_one("#variables", VariableTree)
        watches = self.query_one(WatchesPane)
        heap = self.query_one(HeapPane)
        expanded = {**variables.expanded, **watches.results.expanded,
                    **heap.object_tree.expanded}
        active = self.query_one(TabbedContent).active
        return ViewState(tuple(watches.watches), expanded,
                         self.query_one(ThreadsPane).window if active == "tab-threads"
                         else None,
                         heap.request if active == "tab-heap" else None,
                         active == "tab-disasm")

    @property
    def running(self) -> bool:
        """The program is running (not stopped): only interrupt and quit make sense."""
        return self.session.state.state == "running"

    def _refuse_while_running(self) -> bool:
        if self.running:
            self.channel.write("error", RUNNING_MESSAGE)
            return True
        return False

    def _poll_running(self) -> None:
        if self.running and self.engine.busy:
            status = self.query_one(StatusBar)
            if not status.has_class("-running"):
                status.show(Status("running"))
                self.query_one("#tabs").add_class("-stale")
                self.query_one("#stack").add_class("-stale")

    # -- actions -------------------------------------------------------------------------

    def action_resume(self, how: str) -> None:
        if self._refuse_while_running():
            return
        view = self.view_state()
        self._submit(lambda: self.controller.resume(how, view))

    def action_toggle_breakpoint(self) -> None:
        source = self.query_one(SourceView)
        self._toggle_at(source.file, source.cursor_line)

    def _toggle_at(self, file: str, line: int) -> None:
        if not file or self._refuse_while_running():
            return
        view = self.view_state()
        self._submit(lambda: self.controller.toggle_breakpoint(file, line, view))

    def action_interrupt(self) -> None:
        if not self.running:
            raise SkipAction()  # let an Input copy its selection
        self.controller.interrupt()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        sections = [
            ("Everywhere", binding_rows(self.BINDINGS)
             + [("Tab / Shift+Tab", "Move the focus between panes (in the console: "
                                    "complete)")]),
            ("Source", binding_rows(SourceView.BINDINGS)),
            ("Console", binding_rows(CommandInput.BINDINGS)
             + [("Enter", "Run the command (any gdb line-mode command)")]),
            ("Call stack", binding_rows(CallStack.BINDINGS)),
            ("Variables and Watches", binding_rows(VariableTree.BINDINGS)
             + binding_rows(WatchesPane.BINDINGS)),
            ("Breakpoints", binding_rows(BreakpointTable.BINDINGS)),
            ("Threads", binding_rows(FiberTable.BINDINGS)
             + [("Enter (in the filter)", "Back to the list; the list follows the filter "
                                          "as it is typed")]),
            ("Heap", binding_rows(HeapPane.BINDINGS) + binding_rows(ObjectTree.BINDINGS)
             + [("Enter (why alive)", "Open the object of that step of the path")]),
        ]
        if self.jit:
            sections.append(("Disassembly", binding_rows(AsmListing.BINDINGS) + [
                ("Up / Down / PgUp / PgDn / Home / End",
                 "Scroll the listing (Left / Right: sideways)")]))
        self.push_screen(HelpScreen(sections))

    def action_focus_console(self) -> None:
        self.query_one(Console).input.focus()

    def action_focus_pane(self, which: str) -> None:
        if which == "tabs":
            tabs = self.query_one(TabbedContent)
            pane = tabs.get_pane(tabs.active) if tabs.active else None
            target = pane.query("VariableTree, BreakpointTable, FiberTable, Input").first() \
                if pane else None
            if pane is not None and pane.query(FiberTable):
                target = pane.query_one(FiberTable)
            if pane is not None and pane.query(HeapPane):
                target = pane.query_one(HeapPane).focus_target
            if pane is not None and pane.query(AsmListing):
                target = pane.query_one(AsmListing)
            if target is not None:
                target.focus()
            return
        self.query_one(f"#{which}").focus()

    def action_threads(self) -> None:
        self.query_one(TabbedContent).active = "tab-threads"
        self.query_one(FiberTable).focus()

    def action_heap(self) -> None:
        self.query_one(TabbedContent).active = "tab-heap"
        # After the switch has shown the tab: a hidden widget cannot take the focus.
        self.call_after_refresh(lambda: self.query_one(HeapPane).focus_target.focus())

    def action_disasm(self) -> None:
        if not self.jit:
            self.channel.write("error", NO_JIT_MESSAGE)
            return
        self.query_one(TabbedContent).active = "tab-disasm"
        self.call_after_refresh(lambda: self.query_one(AsmListing).focus())

    async def action_quit(self) -> None:
        self._quit()

    def _quit(self) -> None:
        self._quitting = True
        if self.running:
            self.controller.interrupt()
        self.exit(0)

    # -- console -------------------------------------------------------------------------

    def _complete(self, line: str) -> Completion:
        if self.engine.busy:
            # The line mode reads the session to complete names; not while a job runs.
            return Completion(line)
        return complete(line, self.controller.completions)

    def on_console_command(self, event: Console.Command) -> None:
        line = event.line
        if self.controller.is_quit(line):
            self._quit()
            return
        if line.strip() == "interrupt":
            self.channel.write("echo", f"(vyn) {line}\n")
            self.controller.interrupt()
            return
        if self.running:
            self.channel.write("echo", f"(vyn) {line}\n")
            self.channel.write("error", RUNNING_MESSAGE)
            return
        view = self.view_state()
        # The echo is written by the job, so it follows the output of queued commands.
        self._submit(lambda: self.controller.execute(line, view, echo=True))

    def on_vyn_debug_app_output_ready(self, _: OutputReady) -> None:
        if not self._alive:
            return
        console = self.query_one(Console)
        for chunk in self.channel.drain():
            console.write(chunk.kind, chunk.text)

    # -- results -------------------------------------------------------------------------

    def on_vyn_debug_app_snapshot_ready(self, event: SnapshotReady) -> None:
        if not self._alive:
            return
        snap = event.snapshot
        self.snapshot = snap
        self.query_one(StatusBar).show(snap.status)
        self.query_one("#tabs").remove_class("-stale")
        self.query_one("#stack").remove_class("-stale")
        self._show_source(snap)
        stopped = snap.status.state == "stopped"
        stack = self.query_one(CallStack)
        threads = snap.threads
        fiber = threads.detail.info if threads and threads.detail else None
        # With more than one fiber, the stack says whose it is.
        stack.border_title = f"Call stack of {fiber.name}" if fiber is not None and (
            threads.count > 1 or fiber.kind != "main") else "Call stack"
        stack.show(snap.frames, snap.selected,
                   "No stack." if not stopped or fiber is None else f"{fiber.name} is not "
                   "in a call.")
        empty = "No locals." if stopped else "The program is not running."
        self.query_one("#variables", VariableTree).show(snap.args + snap.locals,
                                                        snap.generation, empty)
        self.query_one(WatchesPane).results.show(snap.watches, snap.generation)
        self.query_one(BreakpointTable).show(snap.breakpoints)
        pane = self.query_one(ThreadsPane)
        pane.show(threads, snap.generation, stopped)
        if self.query_one(TabbedContent).active == "tab-threads":
            pane.table.request_visible()
        self.query_one(HeapPane).show(snap.heap, snap.generation, stopped)
        if self.jit:
            self._show_disasm(snap)

    @staticmethod
    def _place(snap: Snapshot) -> tuple:
        """Where the program is as far as the Disassembly tab goes: the stop, the fiber,
        the frame."""
        detail = snap.threads.detail if snap.threads is not None else None
        fiber = detail.info.id if detail is not None else None
        return (snap.stop, fiber, snap.selected, snap.file, snap.line)

    def _show_disasm(self, snap: Snapshot) -> None:
        """The Disassembly tab follows the current instruction when the program stopped
        anew or another frame or fiber was selected."""
        pane = self.query_one(DisasmPane)
        shown = pane.view
        follow = shown is None or snap.disasm is None or shown.error != "" or \
            self._disasm_stop != self._place(snap)
        stopped = snap.status.state == "stopped"
        if snap.disasm is not None:
            self._disasm_stop = self._place(snap)
        elif stopped and self.query_one(TabbedContent).active == "tab-disasm":
            # The tab was shown after the job that made this snapshot started.
            self._submit(self.controller.disasm)
        pane.show(snap.disasm, snap.generation, stopped, follow)

    def _show_source(self, snap: Snapshot) -> None:
        source = self.query_one(SourceView)
        file = snap.file
        text = snap.sources.get(file)
        if text is None:
            match = next((f for f in snap.sources if same_file(f, file)), None)
            text = snap.sources.get(match, "") if match else ""
        # A document new to the pane scrolls once the pane knows its new height.
        fresh = file != source.file
        source.document(file, text)
        source.set_markers(gutter_markers(snap.breakpoints, file))
        source.current_line = snap.line
        source.top_frame = snap.top
        # Scroll to the line (and move the cursor there) only when the program stopped
        # anew or another frame was selected, not when a breakpoint was toggled.
        shown = (snap.stop, file, snap.line, snap.selected)
        if snap.line and (self._stop_shown is None or snap.stop is not self._stop_shown[0]
                          or shown[1:] != self._stop_shown[1:]):
            if fresh:
                self.call_after_refresh(source.show_line, snap.line)
            else:
                source.show_line(snap.line)
        self._stop_shown = shown

    def on_vyn_debug_app_children_ready(self, event: ChildrenReady) -> None:
        if not self._alive:
            return
        c = event.children
        for tree in (self.query_one("#variables", VariableTree), self.query_one(
                WatchesPane).results, self.query_one(HeapPane).object_tree):
            if tree.node_at(c.path) is not None:
                tree.add_page(c.path, c.start, c.nodes, c.total, c.generation)

    def on_vyn_debug_app_rows_ready(self, event: RowsReady) -> None:
        if self._alive:
            self.query_one(ThreadsPane).add_rows(event.rows)

    def on_vyn_debug_app_heap_ready(self, event: HeapReady) -> None:
        if self._alive:
            self.query_one(HeapPane).show(event.view, event.view.generation, True)

    def on_vyn_debug_app_disasm_ready(self, event: DisasmReady) -> None:
        if self._alive and self.jit:
            snap = self.snapshot
            if snap is not None:
                self._disasm_stop = self._place(snap)
            self.query_one(DisasmPane).show(event.view, event.view.generation, True)

    # -- pane requests -------------------------------------------------------------------

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-threads" and not self.running:
            self.query_one(FiberTable).request_visible()
        heap = self.query_one(HeapPane)
        if event.pane.id == "tab-heap" and not self.running and not heap.loading \
                and self.snapshot is not None and self.snapshot.status.state == "stopped" \
                and heap.generation != self.snapshot.generation:
            heap.loading = True
            self._load_heap(heap.request)
        if event.pane.id == "tab-disasm" and not self.running and self.snapshot is not None \
                and self.snapshot.status.state == "stopped" \
                and self.query_one(DisasmPane).generation != self.snapshot.generation:
            self._submit(self.controller.disasm)

    def on_asm_listing_step(self, event: AsmListing.Step) -> None:
        """`s` / `n` in the Disassembly tab: `stepi` / `nexti`."""
        self.action_resume(event.how)

    def _load_heap(self, request) -> None:
        expanded = dict(self.query_one(HeapPane).object_tree.expanded)
        self._submit(lambda: self.controller.heap(request, expanded))

    def on_heap_pane_load(self, event: HeapPane.Load) -> None:
        if not self.running:
            self._load_heap(event.request)

    def on_heap_pane_collect(self, _: HeapPane.Collect) -> None:
        if self._refuse_while_running():
            return
        view = self.view_state()
        self._submit(lambda: self.controller.collect(view))

    def on_variable_tree_open_object(self, event: VariableTree.OpenObject) -> None:
        """`o` on a value in Variables, Watches or an open object: the Heap tab shows the
        object it is."""
        if self._refuse_while_running():
            return
        try:
            addr = node_address(event.node)
        except DebugError as e:
            self.channel.write("error", f"{e}\n")
            return
        heap = self.query_one(HeapPane)
        heap.go(heap.request.opened(addr))
        self.query_one(TabbedContent).active = "tab-heap"
        self.call_after_refresh(heap.object_tree.focus)

    def on_fiber_table_load_rows(self, event: FiberTable.LoadRows) -> None:
        if self.running:
            return
        self._submit(lambda: self.controller.fiber_rows(event.generation, event.query,
                                                        event.start, event.count))

    def on_fiber_table_fiber_selected(self, event: FiberTable.FiberSelected) -> None:
        if self._refuse_while_running():
            return
        view = self.view_state()
        self._submit(lambda: self.controller.select_thread(event.number, view))

    def on_source_view_gutter_clicked(self, event: SourceView.GutterClicked) -> None:
        self._toggle_at(self.query_one(SourceView).file, event.line)

    def on_source_view_toggle_requested(self, event: SourceView.ToggleRequested) -> None:
        self._toggle_at(self.query_one(SourceView).file, event.line)

    def on_call_stack_frame_selected(self, event: CallStack.FrameSelected) -> None:
        if self._refuse_while_running():
            return
        view = self.view_state()
        self._submit(lambda: self.controller.select_frame(event.level, view))

    def on_variable_tree_load_children(self, event: VariableTree.LoadChildren) -> None:
        if self.running:
            return
        self._submit(lambda: self.controller.children(event.generation, event.path,
                                                      event.ref, event.start, event.total))

    def on_breakpoint_table_toggle(self, event: BreakpointTable.Toggle) -> None:
        if self._refuse_while_running():
            return
        view = self.view_state()
        self._submit(lambda: self.controller.set_enabled(event.number, event.enabled, view))

    def on_breakpoint_table_delete(self, event: BreakpointTable.Delete) -> None:
        if self._refuse_while_running():
            return
        view = self.view_state()
        self._submit(lambda: self.controller.delete(event.number, view))

    def on_breakpoint_table_edit_condition(self, event: BreakpointTable.EditCondition) -> None:
        number = event.number

        def done(condition: str | None) -> None:
            if condition is None or self._refuse_while_running():
                return
            view = self.view_state()
            self._submit(lambda: self.controller.set_condition(number, condition, view))
        self.push_screen(ConditionScreen(number, event.condition), done)

    def on_breakpoint_table_show(self, event: BreakpointTable.Show) -> None:
        loc = event.breakpoint.location
        snap = self.snapshot
        if loc is None or snap is None:
            return
        source = self.query_one(SourceView)
        match = next((f for f in snap.sources if same_file(f, loc.file)), loc.file)
        source.document(match, snap.sources.get(match, ""))
        source.set_markers(gutter_markers(snap.breakpoints, match))
        source.current_line = snap.line if same_file(snap.file, match) else 0
        source.show_line(loc.line)

    def on_watches_pane_changed(self, _: WatchesPane.Changed) -> None:
        if self.running:
            return
        view = self.view_state()
        self._submit(lambda: self.controller.snapshot(view))


def run_tui(program=None, *, argv: list[str] | None = None, path: str = "x.vyn",
            commands: Sequence[str] = (), heap_limit: int | None = None,
            max_depth: int | None = None, line_mode=None, core: str | None = None,
            **session_options) -> int:
    """Run the debugger TUI over `program` (compiled from `path`) until the user quits.

    Args:
        argv: the program's arguments (argv[1:]).
        commands: console commands to run first (`vyn debug -ex CMD`).
        heap_limit, max_depth: as for `vyn run`.
        line_mode, core: instead of `program`, a line mode built already, or the path of
            a post-mortem dump to open read-only (`vyn debug --core FILE`).
        session_options: the line mode's and the engine's (gc_trace, gc_stress, events).

    Returns the exit status for `vyn debug`: 0.
    """
    app = VynDebugApp(program, argv=list(argv or []), path=path, commands=commands,
                      heap_limit=heap_limit, max_depth=max_depth, line_mode=line_mode,
                      core=core, **session_options)
    code = app.run()
    return code if isinstance(code, int) else 0
