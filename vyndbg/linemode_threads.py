"""The line mode's thread commands: `info threads`, `thread`, `thread apply`,
`info mailbox`, `info channels`, `info messages`, and the `scheduler-locking` setting.
Threads are the program's fibers (main, tasks, actors, threads). A mixin of `LineMode`
(vyndbg/linemode.py), which provides `session`, `render`, `write`, `error` and
`run_command`.
"""

from __future__ import annotations

import io
import re

from vyndbg.commands import CommandError
from vyndbg.fibers import field_name
from vyndbg.model import DebugError, FiberInfo

_ID_RANGE = re.compile(r"(\d+)(?:-(\d+))?")
_APPLY_FLAGS = ("-q", "-c", "-s", "-ascending")


def parse_thread_ids(words: list[str]) -> tuple[list[int], list[str]]:
    """Thread IDs and ranges (`1 3-5`) at the start of `words`, and the words after."""
    ids: list[int] = []
    i = 0
    while i < len(words):
        m = _ID_RANGE.fullmatch(words[i])
        if not m:
            break
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            raise CommandError(f"inverted range {words[i]}")
        ids.extend(range(lo, hi + 1))
        i += 1
    return ids, words[i:]


def thread_id(word: str) -> int:
    """A thread ID argument; gdb's "Invalid thread ID: X" when it is not a number."""
    if not word.isdigit():
        raise CommandError(f"Invalid thread ID: {word}")
    return int(word)


class ThreadCommands:
    """Threads (fibers), mailboxes, channels and messages; never resumes the program."""

    # ------------------------------------------------------------------ info threads

    def info_threads(self, rest: str) -> None:
        words = rest.split()
        with_: dict[str, str] = {}
        without: list[tuple[str, str]] = []
        group = None
        start, count = 0, None
        ids: list[int] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word in ("-with", "-without"):
                i, name, value = self._filter_arg(words, i)
                if word == "-without":
                    without.append((name, value))
                elif name in with_:
                    raise CommandError(f"Only one -with {name}.")
                else:
                    with_[name] = value
            elif word in ("-group", "-start", "-count"):
                if i + 1 >= len(words):
                    raise CommandError(f"Argument required for {word}.")
                value = words[i + 1]
                if word == "-group":
                    group = field_name(value)
                elif not value.isdigit():
                    raise CommandError(f"Invalid number \"{value}\" after {word}.")
                elif word == "-start":
                    start = int(value)
                else:
                    count = int(value)
                i += 2
            elif word.startswith("-") and not word[1:].isdigit():
                raise CommandError(f"Unrecognized option at: {' '.join(words[i:])}")
            else:
                more, tail = parse_thread_ids(words[i:])
                if not more:
                    raise CommandError(f"Invalid thread ID: {' '.join(words[i:])}")
                ids.extend(more)
                i = len(words) - len(tail)
        session = self.session
        if not session.fiber_count():
            self.write("No threads.")
            return
        if ids:
            self._threads_by_id(ids, rest)
            return
        if group is not None:
            start, count = 0, 0          # the counts only: no thread records to build
        page = session.fibers(**with_, without=without or None, group_by=group,
                              start=start, count=count)
        if group is not None:
            self.write(*self.render.thread_groups(group, page.groups, page.total))
            return
        if not page.fibers:
            if page.total:
                raise CommandError(f"No threads after the first {page.total}.")
            raise CommandError(f"No threads match '{rest}'.")
        self.write(*self.render.threads_table(page.fibers))
        if start + len(page.fibers) < page.total:
            self.write(self.render.more_threads(len(page.fibers), start, page.total))

    @staticmethod
    def _filter_arg(words: list[str], i: int) -> tuple[int, str, str]:
        """`-with FIELD=VALUE` or `-with FIELD VALUE` at words[i]: (next index, field,
        value)."""
        if i + 1 >= len(words):
            raise CommandError(f"Argument required for {words[i]} (FIELD=VALUE).")
        arg = words[i + 1]
        if "=" in arg:
            name, _, value = arg.partition("=")
            return i + 2, field_name(name), value
        if i + 2 >= len(words):
            raise CommandError(f"Argument required for {words[i]} {arg} (a value).")
        return i + 3, field_name(arg), words[i + 2]

    def _threads_by_id(self, ids: list[int], rest: str) -> None:
        fibers = []
        for n in ids:
            try:
                fibers.append(self.session.fiber(n))
            except DebugError:
                continue
        if not fibers:
            raise CommandError(f"No threads match '{rest}'.")
        self.write(*self.render.threads_table(fibers))

    # ------------------------------------------------------------------ thread

    def do_thread(self, rest: str) -> None:
        words = rest.split()
        if words and "apply".startswith(words[0]):
            self._thread_apply(rest.split(None, 1)[1] if len(words) > 1 else "")
            return
        session = self.session
        if not words:
            if not session.selected_thread:
                raise CommandError("No thread selected")
            self.write(self.render.current_thread(session.fiber(session.selected_thread)))
            return
        if len(words) > 1:
            raise CommandError(f"Invalid thread ID: {rest}")
        fiber = session.select_thread(thread_id(words[0]))
        self.write(self.render.switched_thread(fiber))
        self._show_selected(fiber)

    def _show_selected(self, fiber: FiberInfo) -> None:
        """`#0  frame` and its source line, after selecting a thread."""
        if fiber.frame is None:
            self.write("No stack.")
            return
        frame = self.session.selected_frame()
        self.write(self.render.backtrace_line(frame, self.session.mid_line_pc(frame)))
        self.show_source(frame.location)

    def _thread_apply(self, rest: str) -> None:
        words = rest.split()
        if not words:
            raise CommandError("Please specify a thread ID list")
        session = self.session
        if words[0] == "all":
            words = words[1:]
            flags, words = _apply_flags(words, all_threads=True)
            if not words:
                raise CommandError("Please specify a command at the end of "
                                   "'thread apply all'")
            total = session.fiber_count()
            ids = list(range(1, total + 1))
            if "-ascending" not in flags:
                ids.reverse()
        else:
            ids, words = parse_thread_ids(words)
            if not ids:
                raise CommandError(f"Invalid thread ID: {' '.join(words)}")
            flags, words = _apply_flags(words, all_threads=False)
            if not words:
                raise CommandError("Please specify a command following the thread ID list")
        command = " ".join(words)
        before = (session.selected_thread, session.selected, session.state.last_stop)
        try:
            for n in ids:
                self._apply_one(n, command, flags)
        finally:
            if session.state.last_stop is before[2] and before[0]:
                session.select_thread(before[0])
                session.select_frame(before[1])

    def _apply_one(self, n: int, command: str, flags: set[str]) -> None:
        session = self.session
        try:
            fiber = session.select_thread(n)
        except DebugError:
            self.error(f"warning: Unknown thread {n}")
            return
        header = [] if "-q" in flags else self.render.apply_header(fiber)
        if "-s" in flags:
            out, err = self.out, self.err
            buf = io.StringIO()
            self.out = self.err = buf
            try:
                self.run_command(command)
            except DebugError:
                return
            finally:
                self.out, self.err = out, err
            if buf.getvalue():
                self.write(*header)
                self.out.write(buf.getvalue())
            return
        self.write(*header)
        try:
            self.run_command(command)
        except DebugError as e:
            # A thread without frames (an idle actor, a finished task) is not a failure
            # of the command: `thread apply all bt` goes on past it.
            if "-c" not in flags and fiber.frame is not None:
                raise
            self.error(str(e))

    # ------------------------------------------------------------------ actors, channels

    def info_mailbox(self, rest: str) -> None:
        session = self.session
        if rest.strip():
            n = thread_id(rest.strip())
        else:
            n = session.selected_thread
            if not n:
                raise CommandError("No thread selected")
        queued = session.mailbox(n)
        self.write(*self.render.mailbox(session.fiber(n), queued, session.handling(n)))

    def info_channels(self, rest: str) -> None:
        channels = self.session.channels()
        if not channels:
            self.write("No channels.")
            return
        ids = {i for c in channels for i in (*c.senders, *c.receivers)}
        names = {i: self.session.fiber(i).name for i in ids}
        self.write(*self.render.channels(channels, names))

    def info_messages(self, rest: str) -> None:
        words = rest.split()
        fiber = None
        limit = None
        i = 0
        while i < len(words):
            word = words[i]
            if word == "-count":
                if i + 1 >= len(words) or not words[i + 1].isdigit():
                    raise CommandError("Argument required for -count (a number).")
                limit = int(words[i + 1])
                i += 2
            elif fiber is None:
                fiber = thread_id(word)
                i += 1
            else:
                raise CommandError(f"Unrecognized option at: {' '.join(words[i:])}")
        messages = self.session.messages(fiber, limit)
        if not messages:
            self.write("No messages.")
            return
        self.write(*self.render.messages(messages))

    # ------------------------------------------------------------------ settings

    def set_scheduler_locking(self, value: str) -> None:
        if not value:
            raise CommandError("Requires an argument. Valid arguments are off, on, step, "
                               "replay.")
        self.session.set_scheduler_locking(value)

    def show_scheduler_locking(self) -> str:
        return (f'Mode for locking scheduler during execution is '
                f'"{self.session.scheduler_locking}".')


def _apply_flags(words: list[str], all_threads: bool) -> tuple[set[str], list[str]]:
    """The options before `thread apply`'s command, and the command's words."""
    flags: set[str] = set()
    while words and words[0] in _APPLY_FLAGS:
        if words[0] == "-ascending" and not all_threads:
            break
        flags.add(words[0])
        words = words[1:]
    return flags, words
