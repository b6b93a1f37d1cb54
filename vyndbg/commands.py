"""The line mode's command table: gdb's command names, their aliases and help text.

A `Command` names the `LineMode` method that runs it (`do_break`); `lookup` finds a
command by name, alias or unique prefix as gdb does (`cont`, `disas`, `info b`) and
raises `CommandError` worded as gdb's messages otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vyndbg.model import DebugError


class CommandError(DebugError):
    """A command line the front end cannot run; `str(e)` is gdb's wording."""


@dataclass(frozen=True)
class Command:
    """One command of the line mode.

    Attributes:
        name: the full gdb name (`continue`).
        method: the LineMode method that runs it (`do_continue`).
        summary: the one-line help shown by `help`.
        doc: the full help shown by `help NAME` (the first line is `summary`).
        aliases: exact short names (`c`, `cont`); any unique prefix of `name` works too.
        completes: what tab completion offers for arguments: "location", "expression",
            "info", "command" or "" (nothing).
    """

    name: str
    method: str
    summary: str
    doc: str = ""
    aliases: tuple[str, ...] = ()
    completes: str = ""

    @property
    def help_text(self) -> str:
        return self.summary + ("\n" + self.doc if self.doc else "")


def _c(name: str, summary: str, doc: str = "", aliases: tuple[str, ...] = (),
       completes: str = "", method: str = "") -> Command:
    return Command(name, method or "do_" + name.replace("-", "_"), summary, doc.strip("\n"),
                   aliases, completes)


COMMANDS: tuple[Command, ...] = (
    _c("run", "Start the debugged program.", """
Usage: run [ARGS...]
ARGS are passed to the program; without ARGS, the arguments of the previous run
(or of `vyn debug PROG -- ARGS`) are used again. A running program is restarted.""",
       ("r",)),
    _c("start", "Start the debugged program, stopping at the beginning of `main`.", """
Usage: start [ARGS...]
Sets a temporary breakpoint on `main` and runs the program with ARGS, as `run`."""),
    _c("continue", "Continue the program being debugged.", """
Usage: continue [N]
With N, ignore the breakpoint the program stopped at N-1 more times.""",
       ("c", "cont", "fg")),
    _c("next", "Step program, proceeding through function calls.", """
Usage: next [N]
Runs to the next source line in the current function (or its caller, when the
function returns); does it N times.""", ("n",)),
    _c("step", "Step program until it reaches a different source line.", """
Usage: step [N]
Like `next`, but enters functions called on the current line.""", ("s",)),
    _c("finish", "Execute until the selected stack frame returns.", """
Usage: finish
Prints the value the function returned, which is added to the value history.""",
       ("fin",)),
    _c("until", "Execute until past the current line or past a LOCATION.", """
Usage: until [LOCATION]
Without an argument, like `next`, but does not go backwards in a loop. With LOCATION,
runs until LOCATION is reached in the current frame (deeper calls, recursive ones
included, pass it by) or the current frame returns.""",
       ("u",), "location"),
    _c("advance", "Continue the program up to the given location.", """
Usage: advance LOCATION
Runs until LOCATION (FILE:LINE, LINE, FUNCTION, FILE:FUNCTION) is reached, in any
frame, or the current frame returns.""", completes="location"),
    _c("return", "Make selected stack frame return to its caller.", """
Usage: return [EXPR]
Pops the selected frame and the frames it called, without running the rest of its
function; EXPR (a Vyn expression) is the value its caller receives. The caller is
then frame #0, stopped just after the call. Asks first, unless `set confirm off`.
Only the thread that stopped can be changed.""", completes="expression"),
    _c("jump", "Continue program being debugged at specified line or address.", """
Usage: jump LOCATION
Resumes the selected thread at LOCATION, a line (or FILE:LINE) of the function its
innermost frame runs: the lines between are skipped, or run again. A breakpoint at
LOCATION stops there at once.""", ("j",), "location"),
    _c("stepi", "Step one bytecode instruction exactly.", """
Usage: stepi [N]
Enters a called function at its first instruction.""", ("si",)),
    _c("nexti", "Step one bytecode instruction, but proceed through calls.", """
Usage: nexti [N]""", ("ni",)),
    _c("break", "Set breakpoint at specified location.", """
Usage: break [LOCATION] [thread THREADNUM] [if CONDITION]
LOCATION is FILE:LINE, LINE, FUNCTION or FILE:FUNCTION; without it, the current line
of the selected frame. *ADDRESS (`*0x40001021`, `*$pc`) stops at that machine
instruction of native code (vyn debug --jit=auto|eager). With `thread THREADNUM`, stop
only in that thread (a fiber:
see `info threads`). With `if CONDITION`, stop only when the Vyn expression
CONDITION is true there.""", ("b", "br", "bre", "brea"), "location"),
    _c("tbreak", "Set a temporary breakpoint.", """
Usage: tbreak [LOCATION] [thread THREADNUM] [if CONDITION]
Like `break`, but the breakpoint is deleted when it is hit.""", completes="location"),
    _c("condition", "Specify breakpoint number N to break only if COND is true.", """
Usage: condition N [COND]
Without COND, breakpoint N becomes unconditional.""", completes="expression"),
    _c("ignore", "Set ignore-count of breakpoint number N to COUNT.", """
Usage: ignore N COUNT
The next COUNT times breakpoint N is reached, the program does not stop."""),
    _c("enable", "Enable all or some breakpoints.", """
Usage: enable [N...]
N may be a range such as 2-4; without N, every breakpoint.""", ("en",)),
    _c("disable", "Disable all or some breakpoints.", """
Usage: disable [N...]""", ("dis", "disa")),
    _c("delete", "Delete all or some breakpoints.", """
Usage: delete [N...]""", ("d",)),
    _c("dprintf", "Set a dynamic printf at specified location.", """
Usage: dprintf LOCATION,"FORMAT",ARG...
Each time LOCATION is reached, prints FORMAT (with %d, %s, %f, %x, %c taking the next
ARG, a Vyn expression) and continues without stopping.""", completes="location"),
    _c("watch", "Set a watchpoint for an expression.", """
Usage: watch EXPRESSION
The program stops when the value of EXPRESSION changes. A watchpoint on a local
variable is deleted when its function returns. Needs a running program.""",
       completes="expression"),
    _c("rwatch", "Set a read watchpoint for an expression.", """
Usage: rwatch EXPRESSION
The program stops just after an instruction reads EXPRESSION: a local variable or
parameter, a global, a field (`s.total`) or an element (`v[2]`). Needs a running
program; a watchpoint on a local variable is deleted when its function returns.""",
       completes="expression"),
    _c("awatch", "Set an access watchpoint for an expression.", """
Usage: awatch EXPRESSION
As rwatch, and also when an instruction writes EXPRESSION: the stop shows the old and
new value when it changed, else its value.""", completes="expression"),
    _c("info", "Generic command for showing things about the program being debugged.",
       "", ("i", "inf"), "info"),
    _c("backtrace", "Print backtrace of all stack frames.", """
Usage: backtrace [N | -N] [full]
With N, only the innermost N frames; with -N, the outermost N. With `full`, also
the local variables of each frame.""", ("bt", "where"), ),
    _c("frame", "Select and print a stack frame.", """
Usage: frame [N | level N | function NAME]
Without an argument, prints the selected frame; `frame function NAME` selects the
innermost frame running NAME.""", ("f",)),
    _c("up", "Select and print the stack frame that called this one.", """
Usage: up [N]"""),
    _c("down", "Select and print the stack frame called by this one.", """
Usage: down [N]""", ("do", "dow")),
    _c("print", "Print value of expression EXP.", """
Usage: print[/FMT] [EXP]
EXP is a Vyn expression evaluated in the selected frame; it may call the program's
functions. The value is recorded in the value history as $N; `$`, `$$`, `$N` and
`$$N` refer to history values. FMT is x (hex), d (decimal), u (unsigned), o (octal),
t (binary) or c (character) for every integer in the value, or a (address: a heap
value's address).
`print &EXP` is the address of the heap object EXP is, as a pointer
(`(Node *) 0x7f...`), or of the slot holding EXP when it is a field or element;
`print *ADDR` and `print *(TYPE *) ADDR` print the object at address ADDR.""",
       ("p", "inspect"), "expression"),
    _c("ptype", "Print definition of type of the expression EXP.", """
Usage: ptype EXP
For a class, its fields and methods; for an enum, its variants.""",
       completes="expression"),
    _c("whatis", "Print data type of expression EXP.", """
Usage: whatis EXP""", completes="expression"),
    _c("set", "Evaluate expression EXP and assign result to variable VAR.", """
Usage: set var VAR = EXP
       set SETTING VALUE
VAR may also be a field (`p.x`) or an element (`v[2]`). SETTING is one of: args,
confirm (on|off: ask before killing, restarting, returning), listsize (N|unlimited),
print pretty (on|off: structures on several lines), print elements (N|unlimited),
print address, pagination, height, width (kept; the line mode never pages),
scheduler-locking (off|on|step|replay), disassembly-flavor, startup-with-shell,
style enabled, verbose. `show SETTING` shows each.""",
       completes="expression"),
    _c("show", "Generic command for showing things about the debugger.", """
Usage: show [SETTING]
Shows a setting (see `help set`); `show print` shows the print settings; without an
argument, every setting."""),
    _c("call", "Call a function in the program.", """
Usage: call[/FMT] EXP
As print, but a value of type () (a function that returns nothing) is not printed
or recorded.""", completes="expression"),
    _c("output", "Like \"print\" but don't put in value history and don't print newline.", """
Usage: output[/FMT] EXP
Prints the value of EXP alone: no `$N = `, no newline.""", completes="expression"),
    _c("printf", "Formatted output, as C's printf.", """
Usage: printf "FORMAT", ARG...
FORMAT takes C's conversions (%d %i %u %x %X %o %c %f %e %g %s %p %%) with their flags,
width and precision, and C escapes (\\n, \\t, \\"). Each ARG is a Vyn expression.""",
       completes="expression"),
    _c("echo", "Print a constant string.", """
Usage: echo TEXT
Prints TEXT with C escapes (\\n for a newline: none is added); leading spaces are
dropped."""),
    _c("thread", "Use this command to switch between threads.", """
Usage: thread [ID]
Threads are the program's fibers: main (1), tasks, actors and threads, numbered in
order of creation. `thread ID` selects one: frames, variables, expressions and
stepping then work in it. Without ID, shows the selected thread.

thread apply ID... [-q] [-c] [-s] COMMAND
thread apply all [-ascending] [-q] [-c] [-s] COMMAND
  Runs COMMAND in each thread (ID may be a range such as 2-4; `all` goes from the
  newest thread to main unless -ascending). -q: no thread headers; -c: print an
  error and go on; -s: skip threads where COMMAND fails or prints nothing.""", ("t",)),
    _c("display", "Print value of expression EXP each time the program stops.", """
Usage: display [EXP]
Without EXP, shows every display now. `undisplay N` removes one; `info display`
lists them.""", completes="expression"),
    _c("undisplay", "Cancel some expressions to be displayed when program stops.", """
Usage: undisplay [N...]"""),
    _c("list", "List specified function or line.", """
Usage: list [LINE | FUNCTION | FILE:LINE | FIRST,LAST | -]
Shows ten lines centred on the location; `list` again shows the ten after the last
printed, `list -` the ten before.""", ("l",), "location"),
    _c("disassemble", "Disassemble a function's machine code or bytecode.", """
Usage: disassemble[/rsmb] [FUNCTION]
Shows the code of FUNCTION (default: the selected frame's). A function running as
native code (vyn debug --jit=auto|eager) shows its x86-64 instructions, with /r their
raw bytes and /s (or /m) the source lines interleaved; `set disassembly-flavor`
chooses AT&T or Intel syntax. Other functions, and /b, show bytecode with its source
lines. `=>` marks the instruction the selected frame is at.""", completes="location"),
    _c("x", "Examine memory: x/FMT ADDRESS.", """
Usage: x[/NFU] [ADDRESS]
ADDRESS is a heap address: a number, a value printed before ($, $N), $_ (the last
address examined) or an expression (a heap value's address, or an Int).
N is how many units to show (default 1); F a format: x (hex), d (decimal), u
(unsigned), o (octal), t (binary), a (address), c (char), f (float), z (zero-padded
hex) or s (a String object's text, else a NUL-terminated string); U a unit size:
b (byte), h (2 bytes), w (4 bytes), g (8 bytes). F and U are remembered; `x` alone
shows the units after the last ones examined.""", completes="expression"),
    _c("gc", "Collect garbage now: a full collection.", """
Usage: gc
Runs a full collection of the program's heap, as the runtime would, and says what it
freed. Values the debugger holds (the value history, displayed values, watchpoints)
are kept alive."""),
    _c("kill", "Kill execution of program being debugged.", "", ("k",)),
    _c("quit", "Exit the debugger.", """
Usage: quit [EXIT-CODE]""", ("q", "exit")),
    _c("help", "Print list of commands.", """
Usage: help [COMMAND]""", ("h",), "command"),
)

INFO_COMMANDS: tuple[Command, ...] = (
    _c("breakpoints", "Status of breakpoints, watchpoints and dprintfs.", """
Usage: info breakpoints
The table has a row per breakpoint: its number, type, disposition (keep, or del for a
temporary one), whether it is enabled, its pc and where it is; hit counts,
conditions and ignore counts follow on their own lines.""", ("b", "br", "break"),
       method="info_breakpoints"),
    _c("watchpoints", "Status of watchpoints.", "", method="info_watchpoints"),
    _c("frame", "All about the selected stack frame.", """
Usage: info frame [N | level N | function NAME]""", ("f",), method="info_frame"),
    _c("locals", "All local variables of current stack frame.", "", method="info_locals"),
    _c("args", "All argument variables of current stack frame.", "", method="info_args"),
    _c("source", "Information about the current source file.", "", method="info_source"),
    _c("functions", "All function names, or those matching REGEXP.", """
Usage: info functions [REGEXP]""", method="info_functions"),
    _c("line", "Core addresses of the code for a source line.", """
Usage: info line [LOCATION]""", completes="location", method="info_line"),
    _c("display", "Expressions to display when program stops.", "",
       method="info_display"),
    _c("program", "Execution status of the program.", """
Usage: info program
Whether the program runs, where it stopped and why.""", method="info_program"),
    _c("stack", "Backtrace of the stack, or innermost COUNT frames.", "", ("s",),
       method="info_stack"),
    _c("threads", "Display currently known threads.", """
Usage: info threads [OPTION]... [ID]...
Threads are the program's fibers. With ID..., only those threads. Options:
  -with FIELD=VALUE     only threads whose FIELD is VALUE
  -without FIELD=VALUE  only threads whose FIELD is not VALUE
  -group FIELD          count threads by FIELD instead of listing them
  -start N              skip the first N threads that match
  -count N              show at most N threads
FIELD is state (runnable, running, blocked, idle, finished), kind (main, task,
actor, thread), template (an actor's template, a pool worker's `pool #N`) or
location (loc: a substring of the innermost frame's FILE:LINE or function name).
`-with FIELD VALUE` works too. -with and -without may be repeated.""",
       method="info_threads"),
    _c("mailbox", "Messages queued for an actor.", """
Usage: info mailbox [ID]
The message actor ID (default: the selected thread) is handling, and those queued
for it, oldest first.""", method="info_mailbox"),
    _c("channels", "Every channel: capacity, state, queued values, blocked threads.",
       method="info_channels"),
    _c("heap", "The heap: generations, and live objects by type.", """
Usage: info heap [N]
The arena's address and limit, bytes used, live, dead (freed or released objects
still referenced) and free; a row per generation (address range, capacity, bytes
used and live, objects, collections so far); then the N types with the most live
bytes (default 20), as `jmap -histo` lists them.""", method="info_heap"),
    _c("regions", "Active scoped regions of every thread.", """
Usage: info regions [THREAD-ID]
A row per `scoped` block still running: its region, thread, nesting depth, objects
(and how many are still live), bytes, address range and the frame whose block
entered it.""", method="info_regions"),
    _c("object", "The heap object at an address.", """
Usage: info object ADDRESS
Its type, size, generation or region, flags, state (live, freed, released) and its
fields or elements as `print` shows them. ADDRESS as for `x`.""",
       completes="expression", method="info_object"),
    _c("path", "Why the heap object at an address is alive.", """
Usage: info path ADDRESS
A shortest chain of references from a root (a variable of a frame of a thread, an
actor's state, a message, a global, a scoped region, the value history) to the
object, one reference per line.""", completes="expression", method="info_path"),
    _c("registers", "List of registers and their contents, for the selected frame.", """
Usage: info registers [REGISTER...]
The selected frame must run native code (vyn debug --jit=auto|eager). The innermost
native frame has every general register, rip and eflags; an outer one, those the
frame-pointer chain gives (rip, rbp, rsp).""", ("r",), method="info_registers"),
    _c("jit", "The native tier: each function's tier, calls and code.", """
Usage: info jit
A row per function: native (tier 1 unoptimized, 2 optimized; from the JIT or the
image) with its calls from the interpreter, compile time, code size and address
range, or bytecode with the reason it stays there.""", method="info_jit"),
    _c("messages", "The messages the program sent, oldest first.", """
Usage: info messages [ID] [-count N]
Sends to actors and into channels, with the scheduler step (slices run) at which
each was sent and received. With ID, those thread ID sent, received or was sent;
with -count N, the last N.""", method="info_messages"),
)


def lookup(table: Sequence[Command], word: str, what: str = "") -> Command:
    """The command `word` names: a name, an alias, or a unique prefix of a name.

    Args:
        what: "" for top-level commands, "info " for `info` subcommands (in messages).

    Raises:
        CommandError: no command or several commands match.
    """
    for cmd in table:
        if word == cmd.name or word in cmd.aliases:
            return cmd
    matches = [cmd for cmd in table if cmd.name.startswith(word)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        hint = f'help {what.strip()}' if what else "help"
        raise CommandError(f'Undefined {what}command: "{word}".  Try "{hint}".')
    names = ", ".join(sorted(cmd.name for cmd in matches))
    raise CommandError(f'Ambiguous {what}command "{word}": {names}.')

