"""The line mode's thread commands, as a gdb user sees them: `info threads` (with delve's
filters, groups and pages), `thread`, `thread apply`, `info mailbox`, `info channels`,
`info messages`, `break LOC thread N`, `set/show scheduler-locking`, and how stops in
other fibers, panics in actors and deadlocks are reported.
"""

from __future__ import annotations

import pytest

from tests.test_debugger_linemode import FIB, normalize, output_of, transcript
from tests.test_debugger_threads import ACCOUNT, COUNTERS, DEADLOCK, MANY, RELAY, SPIN, TASKS
from vyndbg.cli import main

COUNTERS_STOP = [
    "(vyn) break Counter::handle",
    "Breakpoint 1 at pc 0: file counters.vyn, line 4.",
    "(vyn) run",
    "Starting program: counters.vyn",
    "main sent",
    "[Switching to actor Counter#2]",
    "",
    'Thread 2 "actor Counter#2" hit Breakpoint 1, Counter::handle (self=Counter '
    '{ count: 0 }, n=1) at counters.vyn:4',
    "4\t    self.count += n",
]


def counters(*commands: str) -> list[str]:
    return transcript(COUNTERS, "break Counter::handle", "run", *commands,
                      name="counters.vyn")


# -- stops ---------------------------------------------------------------------------------

def test_a_stop_in_another_fiber_switches_to_it_and_names_it():
    lines = counters("continue", "continue")
    assert lines[:len(COUNTERS_STOP)] == COUNTERS_STOP
    assert output_of(lines, "continue", 0) == [      # the same fiber: no [Switching ...]
        "Continuing.",
        "count 1",
        "",
        'Thread 2 "actor Counter#2" hit Breakpoint 1, Counter::handle (self=Counter '
        '{ count: 1 }, n=2) at counters.vyn:4',
        "4\t    self.count += n",
    ]
    assert output_of(lines, "continue", 1)[2:4] == ["[Switching to actor Counter#3]", ""]


def test_a_program_with_one_fiber_stops_as_before():
    lines = transcript(FIB, "break fib", "run", "info threads", "thread")
    assert output_of(lines, "run") == ["Starting program: fib.vyn", "",
                                       "Breakpoint 1, fib (n=0) at fib.vyn:2",
                                       "2\t  if n < 2 {"]
    assert output_of(lines, "info threads") == [
        "  Id   Target Id      Frame ",
        "* 1    main (running) fib (n=0) at fib.vyn:2",
    ]
    assert output_of(lines, "thread") == ["[Current thread is 1 (main)]"]


def test_a_panic_in_an_actor_names_the_actor():
    lines = transcript(ACCOUNT, "run", "bt", "continue", name="account.vyn")
    assert output_of(lines, "run") == [
        "Starting program: account.vyn",
        "main done",
        "[Switching to actor Account#2]",
        "",
        'Thread 2 "actor Account#2" received panic: balance went negative: -5.',
        "pc 5 in check (balance=-5) at account.vyn:3",   # mid-line: its pc
        '3\t    panic("balance went negative: " + balance.to_string())',
    ]
    assert output_of(lines, "bt") == [
        "#0  pc 5 in check (balance=-5) at account.vyn:3",
        "#1  Account::handle (self=Account { balance: -5 }, amount=-20) at account.vyn:11",
    ]
    assert output_of(lines, "continue") == [
        "Continuing.",
        "panic: balance went negative: -5",
        "  in actor Account#2",
        "  at check (account.vyn:3)",
        "  at Account::handle (account.vyn:11)",
        "[Inferior 1 (process 4242) exited with code 101]",
    ]


DEADLOCK_REPORT = [
    "panic: deadlock: all fibers are blocked",
    "fiber 1 (main), blocked waiting for task 2:",
    "  at main (deadlock.vyn:18)",
    "fiber 2 (task 2), blocked receiving from channel #1:",
    "  at take (deadlock.vyn:2)",
    "  at main::{lambda@8:17} (deadlock.vyn:9)",
    "fiber 3 (task 3), blocked receiving from channel #2:",
    "  at take (deadlock.vyn:2)",
    "  at main::b (deadlock.vyn:14)",
]


def test_a_deadlock_prints_the_report_and_stops_like_a_panic():
    lines = transcript(DEADLOCK, "run", "thread 2", "print ch", "print take(ch)", "up",
                       "continue", "info threads", name="deadlock.vyn")
    assert output_of(lines, "run") == [
        "Starting program: deadlock.vyn",
        "main waits for task 2",
        "",
        *DEADLOCK_REPORT,
        "pc 14 in main () at deadlock.vyn:18",
        '18\t  println("{}", await a)',
    ]
    assert output_of(lines, "thread 2") == [
        "[Switching to thread 2 (task 2)]",
        "#0  pc 1 in take (ch=channel #1) at deadlock.vyn:2",
        "2\t  ch.recv().unwrap()",
    ]
    assert output_of(lines, "print ch") == ["$1 = channel #1"]
    assert output_of(lines, "print take(ch)") == [
        "The called function would have to wait (receiving from channel #1); a function "
        "called from the debugger cannot wait for other threads."]
    assert output_of(lines, "up") == ["#1  main::{lambda@8:17} () at deadlock.vyn:9",
                                      "9\t    let v = take(to_a)"]
    assert output_of(lines, "continue") == [
        "Continuing.", *DEADLOCK_REPORT, "[Inferior 1 (process 4242) exited with code 101]"]
    assert output_of(lines, "info threads") == ["No threads."]


# -- info threads ----------------------------------------------------------------------------

def test_info_threads():
    lines = counters("info threads", "thread 3", "info threads")
    assert output_of(lines, "info threads") == [
        "  Id   Target Id                               Frame ",
        "  1    main (finished)                         (no stack)",
        "* 2    actor Counter#2 (running, mailbox 1)    Counter::handle (self=Counter "
        "{ count: 0 }, n=1) at counters.vyn:4",
        "  3    actor Counter#3 (runnable, mailbox 1/4) (no stack)",
    ]
    assert [line[:6] for line in output_of(lines, "info threads", 1)[1:]] == [
        "  1   ", "  2   ", "* 3   "]


def test_info_threads_shows_what_blocked_fibers_wait_on():
    lines = transcript(TASKS, "break square", "run", "info threads", name="tasks.vyn")
    assert output_of(lines, "info threads") == [
        "  Id   Target Id                         Frame ",
        "  1    main (blocked waiting for task 2) main () at tasks.vyn:10",
        "* 2    task 2 (running)                  square (n=3) at tasks.vyn:2",
        "  3    thread 3 (runnable)               (no stack)",
        "  4    thread 4 (runnable, pool #1)      (no stack)",
    ]


def test_info_threads_without_a_program():
    lines = transcript(COUNTERS, "info threads", "thread", name="counters.vyn")
    assert output_of(lines, "info threads") == ["No threads."]
    assert output_of(lines, "thread") == ["No thread selected"]


def test_info_threads_filters():
    lines = counters("info threads -with state=runnable", "info threads -with kind actor",
                     "info threads -without kind=actor",
                     "info threads -with kind=actor -without state=running",
                     "info threads -with loc=counters.vyn:4", "info threads -with state=blocked")
    assert output_of(lines, "info threads -with state=runnable") == [
        "  Id   Target Id                               Frame ",
        "  3    actor Counter#3 (runnable, mailbox 1/4) (no stack)",
    ]
    assert [line[2:3] for line in output_of(lines, "info threads -with kind actor")[1:]] == [
        "2", "3"]
    assert output_of(lines, "info threads -without kind=actor")[1:] == [
        "  1    main (finished) (no stack)"]
    assert [line[2:3] for line in output_of(
        lines, "info threads -with kind=actor -without state=running")[1:]] == ["3"]
    assert [line[2:3] for line in output_of(
        lines, "info threads -with loc=counters.vyn:4")[1:]] == ["2"]
    assert output_of(lines, "info threads -with state=blocked") == [
        "No threads match '-with state=blocked'."]


def test_info_threads_groups_and_pages():
    lines = counters("info threads -group state", "info threads -group kind",
                     "info threads -start 1 -count 1", "info threads -count 2",
                     "info threads -start 5", "info threads 1 3", "info threads 9")
    assert output_of(lines, "info threads -group state") == [
        "Thread group 1: state finished [1 thread]",
        "Thread group 2: state runnable [1 thread]",
        "Thread group 3: state running [1 thread]",
        "Total threads: 3",
    ]
    assert output_of(lines, "info threads -group kind")[0] == \
        "Thread group 1: kind actor [2 threads]"
    assert output_of(lines, "info threads -start 1 -count 1") == [
        "  Id   Target Id                            Frame ",
        "* 2    actor Counter#2 (running, mailbox 1) Counter::handle (self=Counter "
        "{ count: 0 }, n=1) at counters.vyn:4",
        '(More threads follow: 1 of 3 shown; "-start 2" shows the next.)',
    ]
    assert output_of(lines, "info threads -count 2")[-1] == \
        '(More threads follow: 2 of 3 shown; "-start 2" shows the next.)'
    assert output_of(lines, "info threads -start 5") == ["No threads after the first 3."]
    assert [line[2:3] for line in output_of(lines, "info threads 1 3")[1:]] == ["1", "3"]
    assert output_of(lines, "info threads 9") == ["No threads match '9'."]


def test_info_threads_errors():
    lines = counters("info threads -frob", "info threads -with colour=red",
                     "info threads -with state=asleep", "info threads -group",
                     "info threads -with", "info threads -count x", "info threads x")
    assert output_of(lines, "info threads -frob") == ["Unrecognized option at: -frob"]
    assert output_of(lines, "info threads -with colour=red") == [
        'Unknown field "colour": one of state, kind, template, location.']
    assert output_of(lines, "info threads -with state=asleep") == [
        'Invalid state "asleep": one of runnable, running, blocked, idle, finished.']
    assert output_of(lines, "info threads -group") == ["Argument required for -group."]
    assert output_of(lines, "info threads -with") == [
        "Argument required for -with (FIELD=VALUE)."]
    assert output_of(lines, "info threads -count x") == ['Invalid number "x" after -count.']
    assert output_of(lines, "info threads x") == ["Invalid thread ID: x"]


def test_info_threads_with_ten_thousand_actors():
    lines = transcript(MANY, "break 15", "run", "info threads -with state=idle -count 3",
                       "info threads -group state", "info threads -with state=runnable",
                       name="many.vyn")
    assert output_of(lines, "info threads -with state=idle -count 3") == [
        "  Id   Target Id                      Frame ",
        "  4    actor Cell#4 (idle, mailbox 0) (no stack)",
        "  5    actor Cell#5 (idle, mailbox 0) (no stack)",
        "  6    actor Cell#6 (idle, mailbox 0) (no stack)",
        '(More threads follow: 3 of 9998 shown; "-start 3" shows the next.)',
    ]
    assert output_of(lines, "info threads -group state") == [
        "Thread group 1: state idle [9998 threads]",
        "Thread group 2: state runnable [2 threads]",
        "Thread group 3: state running [1 thread]",
        "Total threads: 10001",
    ]
    assert output_of(lines, "info threads -with state=runnable") == [
        "  Id   Target Id                          Frame ",
        "  2    actor Cell#2 (runnable, mailbox 1) (no stack)",
        "  3    actor Cell#3 (runnable, mailbox 1) (no stack)",
    ]


# -- thread, thread apply ---------------------------------------------------------------------

def test_thread_shows_and_selects():
    lines = counters("thread", "thread 3", "thread", "bt", "print n", "thread 2", "thread 9",
                     "thread x", "thread 1 2")
    assert output_of(lines, "thread") == ["[Current thread is 2 (actor Counter#2)]"]
    assert output_of(lines, "thread 3") == ["[Switching to thread 3 (actor Counter#3)]",
                                            "No stack."]
    assert output_of(lines, "thread", 1) == ["[Current thread is 3 (actor Counter#3)]"]
    assert output_of(lines, "bt") == ["No stack."]
    assert output_of(lines, "print n") == ["No stack."]
    assert output_of(lines, "thread 2") == [
        "[Switching to thread 2 (actor Counter#2)]",
        "#0  Counter::handle (self=Counter { count: 0 }, n=1) at counters.vyn:4",
        "4\t    self.count += n",
    ]
    assert output_of(lines, "thread 9") == ["Unknown thread 9."]
    assert output_of(lines, "thread x") == ["Invalid thread ID: x"]
    assert output_of(lines, "thread 1 2") == ["Invalid thread ID: 1 2"]


def test_frames_and_variables_follow_the_selected_thread():
    lines = transcript(RELAY, "break 4 if n == 2", "run", "thread 3", "bt", "info locals",
                       "up", "info frame", "print n + 1", "next", "thread", "finish",
                       name="relay.vyn")
    assert output_of(lines, "bt") == [
        '#0  pc 12 in relay (name="b", inbox=channel #1, outbox=channel #2) at relay.vyn:6',
        "#1  main::b () at relay.vyn:18",
    ]
    assert output_of(lines, "info locals") == ["n = 1"]
    assert output_of(lines, "info frame")[:2] == [
        "Stack level 1, frame in main::b:",
        " pc = 3 in main::b (relay.vyn:18); outermost"]
    assert output_of(lines, "print n + 1") == ['No symbol "n" in current context.']
    assert output_of(lines, "next") == ["a got 2", "3\t  while n < 6 {"]   # in thread 3
    assert output_of(lines, "thread") == ["[Current thread is 3 (task 3)]"]
    assert output_of(lines, "finish") == [
        'Run till exit from #0  relay (name="b", inbox=channel #1, '
        'outbox=channel #2) at relay.vyn:3',
        "b got 3", "a got 4", "b got 5",
        "main::b () at relay.vyn:19",     # the call ended its line: the next one starts
        "19\t  }",
    ]


def test_thread_apply():
    lines = transcript(DEADLOCK, "run", "thread 3", "thread apply all bt",
                       "thread apply 1 2 -q print $pc", "thread apply 2-3 info args", "thread",
                       name="deadlock.vyn")
    assert output_of(lines, "thread apply all bt") == [
        "",
        "Thread 3 (task 3):",
        "#0  pc 1 in take (ch=channel #2) at deadlock.vyn:2",
        "#1  main::b () at deadlock.vyn:14",
        "",
        "Thread 2 (task 2):",
        "#0  pc 1 in take (ch=channel #1) at deadlock.vyn:2",
        "#1  main::{lambda@8:17} () at deadlock.vyn:9",
        "",
        "Thread 1 (main):",
        "#0  pc 14 in main () at deadlock.vyn:18",
    ]
    assert output_of(lines, "thread apply 1 2 -q print $pc") == ["$1 = 14", "$2 = 1"]
    assert output_of(lines, "thread apply 2-3 info args") == [
        "", "Thread 2 (task 2):", "ch = channel #1",
        "", "Thread 3 (task 3):", "ch = channel #2"]
    assert output_of(lines, "thread") == ["[Current thread is 3 (task 3)]"]   # restored


def test_thread_apply_options_and_errors():
    lines = counters("thread apply all -ascending -q info args", "thread apply all bt",
                     "thread apply all -s bt", "thread apply 1 2 -c print nosuch",
                     "thread apply 2 3 print nosuch", "thread apply 2 9 print n",
                     "thread apply", "thread apply 2", "thread apply all", "thread apply x p 1")
    assert output_of(lines, "thread apply all -ascending -q info args") == [
        "No stack.", "self = Counter { count: 0 }", "n = 1", "No stack."]
    assert output_of(lines, "thread apply all bt") == [
        "", "Thread 3 (actor Counter#3):", "No stack.",
        "", "Thread 2 (actor Counter#2):",
        "#0  Counter::handle (self=Counter { count: 0 }, n=1) at counters.vyn:4",
        "", "Thread 1 (main):", "No stack."]
    assert output_of(lines, "thread apply all -s bt") == [
        "", "Thread 2 (actor Counter#2):",
        "#0  Counter::handle (self=Counter { count: 0 }, n=1) at counters.vyn:4"]
    assert output_of(lines, "thread apply 1 2 -c print nosuch") == [
        "", "Thread 1 (main):", "No stack.",
        "", "Thread 2 (actor Counter#2):", 'No symbol "nosuch" in current context.']
    assert output_of(lines, "thread apply 2 3 print nosuch") == [   # an error ends it
        "", "Thread 2 (actor Counter#2):", 'No symbol "nosuch" in current context.']
    assert output_of(lines, "thread apply 2 9 print n") == [
        "", "Thread 2 (actor Counter#2):", "$1 = 1", "warning: Unknown thread 9"]
    assert output_of(lines, "thread apply") == ["Please specify a thread ID list"]
    assert output_of(lines, "thread apply 2") == [
        "Please specify a command following the thread ID list"]
    assert output_of(lines, "thread apply all") == [
        "Please specify a command at the end of 'thread apply all'"]
    assert output_of(lines, "thread apply x p 1") == ["Invalid thread ID: x p 1"]


# -- actors, channels, messages ---------------------------------------------------------------

def test_info_mailbox():
    lines = counters("info mailbox", "info mailbox 3", "info mailbox 1", "info mailbox 7",
                     "thread 1", "info mailbox")
    assert output_of(lines, "info mailbox") == [
        "Mailbox of thread 2 (actor Counter#2): 1 message queued (unbounded), 0 handled.",
        "Handling message 1 from main: 1",
        "Id  From  Sent  Value",
        "2   main  1     2",
    ]
    assert output_of(lines, "info mailbox 3") == [
        "Mailbox of thread 3 (actor Counter#3): 1 message queued (capacity 4), 0 handled.",
        "Id  From  Sent  Value",
        "3   main  1     10",
    ]
    assert output_of(lines, "info mailbox 1") == ["Thread 1 (main) is not an actor."]
    assert output_of(lines, "info mailbox 7") == ["Unknown thread 7."]
    assert output_of(lines, "info mailbox", 1) == ["Thread 1 (main) is not an actor."]


def test_info_channels():
    lines = transcript(DEADLOCK, "info channels", "run", "info channels", name="d.vyn")
    assert output_of(lines, "info channels") == ["No channels."]
    assert output_of(lines, "info channels", 1) == [
        "Id  Type          Capacity   State  Queued  Sent  Received",
        "1   Channel<Int>  unbounded  open   0       0     0",
        "\tblocked receiving: thread 2 (task 2)",
        "2   Channel<Int>  unbounded  open   0       0     0",
        "\tblocked receiving: thread 3 (task 3)",
    ]


def test_info_channels_shows_queued_values():
    source = RELAY.replace("ba.send(0)", "ba.send(0)\n  ba.send(100)")
    lines = transcript(source, "break 4", "run", "info channels", name="relay.vyn")
    assert output_of(lines, "info channels") == [
        "Id  Type          Capacity   State  Queued  Sent  Received",
        "1   Channel<Int>  unbounded  open   0       0     0",
        "2   Channel<Int>  unbounded  open   1       2     1",
        "\tqueued: 100",
    ]


def test_info_messages():
    lines = transcript(RELAY, "info messages", "break 4 if n == 4", "run", "info messages",
                       "info messages 3", "info messages -count 2",
                       "info messages 3 -count 1", "info messages 9", "info messages x",
                       name="relay.vyn")
    assert output_of(lines, "info messages") == ["No messages."]
    assert output_of(lines, "info messages", 1) == [
        "Id  Sent  From    To          Received     Value",
        "1   1     main    channel #2  2 by task 2  0",
        "2   2     task 2  channel #1  3 by task 3  1",
        "3   3     task 3  channel #2  4 by task 2  2",
        "4   4     task 2  channel #1  5 by task 3  3",
        "5   5     task 3  channel #2  6 by task 2  4",
    ]
    assert [line[:2] for line in output_of(lines, "info messages 3")[1:]] == [
        "2 ", "3 ", "4 ", "5 "]
    assert [line[:2] for line in output_of(lines, "info messages -count 2")[1:]] == [
        "4 ", "5 "]
    assert [line[:2] for line in output_of(lines, "info messages 3 -count 1")[1:]] == ["5 "]
    assert output_of(lines, "info messages 9") == ["Unknown thread 9."]
    assert output_of(lines, "info messages x") == ["Invalid thread ID: x"]


def test_actor_messages_show_their_value_as_print_does():
    lines = counters("info messages")
    assert output_of(lines, "info messages") == [
        "Id  Sent  From  To               Received              Value",
        "1   1     main  actor Counter#2  2 by actor Counter#2  1",
        "2   1     main  actor Counter#2  queued                2",
        "3   1     main  actor Counter#3  queued                10",
    ]


# -- breakpoints and stepping per thread -----------------------------------------------------

def test_break_in_one_thread():
    lines = transcript(RELAY, "break relay", "run", "delete", "break 4 thread 3",
                       "break 4 thread 9", "break 4 thread x", "break 4 thread",
                       "tbreak 5 thread 2 if n > 0", "info breakpoints", "continue",
                       "print n", "continue", name="relay.vyn")
    assert output_of(lines, "break 4 thread 3") == [
        "Breakpoint 2 at pc 4: file relay.vyn, line 4."]
    assert output_of(lines, "break 4 thread 9") == ["Unknown thread 9."]
    assert output_of(lines, "break 4 thread x") == ["Invalid thread ID: x"]
    assert output_of(lines, "break 4 thread") == ["Missing thread number."]
    assert output_of(lines, "info breakpoints") == [
        "Num     Type           Disp Enb Address            What",
        "2       breakpoint     keep y   pc 4               in relay at relay.vyn:4 thread 3",
        "\tstop only in thread 3",
        "3       breakpoint     del  y   pc 8               in relay at relay.vyn:5 thread 2",
        "\tstop only if n > 0",
        "\tstop only in thread 2",
    ]
    assert output_of(lines, "continue")[-3:] == [
        "",
        'Thread 3 "task 3" hit Breakpoint 2, relay (name="b", inbox=channel #1, '
        'outbox=channel #2) at relay.vyn:4',
        '4\t    println("{} got {}", name, n)',
    ]
    assert output_of(lines, "print n") == ["$1 = 1"]
    assert 'Thread 2 "task 2" hit Temporary breakpoint 3' in \
        output_of(lines, "continue", 1)[-2]


def test_next_stays_in_its_thread():
    lines = transcript(RELAY, "break 4", "run", "delete", "next", "next", "next", "next",
                       name="relay.vyn")
    steps = [output_of(lines, "next", i) for i in range(4)]
    assert steps == [["a got 0", "5\t    outbox.send(n + 1)"],
                     ["6\t    n = inbox.recv().unwrap()"],
                     ["b got 1", "3\t  while n < 6 {"],
                     ['4\t    println("{} got {}", name, n)']]


def test_scheduler_locking():
    lines = transcript(SPIN, "show scheduler-locking", "set scheduler-locking on",
                       "show scheduler-locking", "set scheduler-locking sometimes",
                       "set scheduler-locking", "break 5 if i == 1000", "run", "delete",
                       "continue", "show", name="spin.vyn")
    assert output_of(lines, "show scheduler-locking") == [
        'Mode for locking scheduler during execution is "replay".']
    assert output_of(lines, "show scheduler-locking", 1) == [
        'Mode for locking scheduler during execution is "on".']
    assert output_of(lines, "set scheduler-locking sometimes") == [
        'Undefined item: "sometimes".']
    assert output_of(lines, "set scheduler-locking") == [
        "Requires an argument. Valid arguments are off, on, step, replay."]
    assert output_of(lines, "continue") == [
        "Continuing.", "a 1000", "a 2000", "a 3000", "a 4000", "a done", "b 0", "b 1000",
        "b 2000", "b 3000", "b 4000", "b done",
        "[Inferior 1 (process 4242) exited normally]"]
    shown = output_of(lines, "show")
    assert "confirm:  Whether to confirm potentially dangerous operations is on." in shown
    assert "listsize:  Number of source lines vyn will list by default is 10." in shown
    assert 'scheduler-locking:  Mode for locking scheduler during execution is "on".' in shown


def test_show_errors():
    lines = transcript(SPIN, "show colours", "show list", name="spin.vyn")
    assert output_of(lines, "show colours") == [
        'Undefined show command: "colours".  Try "help show".']
    assert output_of(lines, "show list") == [
        "Number of source lines vyn will list by default is 10."]


@pytest.mark.parametrize("typed, name", [
    ("t", "thread"), ("thr", "thread"), ("sh", "show"), ("info th", "info threads"),
    ("info mai", "info mailbox"), ("info mes", "info messages"), ("info ch", "info channels"),
])
def test_abbreviations(typed, name):
    from vyndbg import commands as cmds
    words = typed.split()
    cmd = cmds.lookup(cmds.COMMANDS, words[0])
    if len(words) > 1:
        cmd = cmds.lookup(cmds.INFO_COMMANDS, words[1], "info ")
        assert f"info {cmd.name}" == name
    else:
        assert cmd.name == name


def test_help_for_the_thread_commands():
    lines = transcript(SPIN, "help thread", "help info threads", "info", name="spin.vyn")
    assert output_of(lines, "help thread")[:2] == [
        "Use this command to switch between threads.", "Usage: thread [ID]"]
    assert output_of(lines, "help info threads")[:2] == [
        "Display currently known threads.", "Usage: info threads [OPTION]... [ID]..."]
    assert "info threads -- Display currently known threads." in output_of(lines, "info")


# -- the command line ----------------------------------------------------------------------

@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deadlock.vyn").write_text(DEADLOCK, encoding="utf-8")
    (tmp_path / "counters.vyn").write_text(COUNTERS, encoding="utf-8")
    return tmp_path


def test_batch_session_over_fibers(workdir, capsys):
    code = main(["debug", "counters.vyn", "--batch", "-ex", "break Counter::handle thread 3",
                 "-ex", "tbreak 15", "-ex", "run", "-ex", "break Counter::handle thread 3",
                 "-ex", "continue", "-ex", "info threads", "-ex", "thread apply all -s bt",
                 "-ex", "info mailbox 2", "-ex", "info messages 3"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "Unknown thread 3.\n")       # no fiber 3 before the run
    assert normalize(out).splitlines() == [
        "Temporary breakpoint 1 at pc 17: file counters.vyn, line 15.",
        "",
        'Thread 1 "main" hit Temporary breakpoint 1, main () at counters.vyn:15',
        '15\t  println("main sent")',
        "Breakpoint 2 at pc 0: file counters.vyn, line 4.",
        "main sent",
        "count 1",
        "count 3",
        "[Switching to actor Counter#3]",
        "",
        'Thread 3 "actor Counter#3" hit Breakpoint 2, Counter::handle (self=Counter '
        '{ count: 0 }, n=10) at counters.vyn:4',
        "4\t    self.count += n",
        "  Id   Target Id                              Frame ",
        "  1    main (finished)                        (no stack)",
        "  2    actor Counter#2 (idle, mailbox 0)      (no stack)",
        "* 3    actor Counter#3 (running, mailbox 0/4) Counter::handle (self=Counter "
        "{ count: 0 }, n=10) at counters.vyn:4",
        "",
        "Thread 3 (actor Counter#3):",
        "#0  Counter::handle (self=Counter { count: 0 }, n=10) at counters.vyn:4",
        "Mailbox of thread 2 (actor Counter#2): 0 messages queued (unbounded), 2 handled.",
        "Id  Sent  From  To               Received              Value",
        "3   1     main  actor Counter#3  3 by actor Counter#3  10",
    ]


def test_batch_deadlock_exit_status(workdir, capsys):
    code = main(["debug", "deadlock.vyn", "--batch", "-ex", "run", "-ex", "info threads",
                 "-ex", "continue"])
    out, err = capsys.readouterr()
    assert code == 0
    lines = normalize(out).splitlines()
    assert lines[2:11] == DEADLOCK_REPORT      # gdb -batch: no "Starting program:"
    assert lines[-1] == "[Inferior 1 (process 4242) exited with code 101]"
    assert err == "\n".join(DEADLOCK_REPORT) + "\n"
