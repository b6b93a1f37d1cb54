"""The collector's per-object loops as native code (part of `Heap`; docs/heap.md, "The
native core").

`heap_gc` is the reference: every function here does, over the raw arena, what one of its
Python loops does, in the same order, so that marks, free blocks, counters, statistics
and the "heap corrupted" error are the same either way (tests/test_heap_native.py runs
both on the same workloads):

    vyn_gc_young    the young generation's entries -> the offsets of its objects
                    (a run lent to native code is one entry pair: ~start, stop)
    vyn_gc_starts   the side table's object starts (`heap_gc._object_starts`)
    vyn_gc_mark     marking from the roots and active regions (`heap_gc._mark`); on a PTR
                    slot that is not an object it returns -1 and the slot, the object and
                    the value, and Python raises the HeapError
    vyn_gc_promote  clearing FLAG_YOUNG of the marked young objects (`heap_gc._promote`)
    vyn_gc_sweep    the address-order sweep (`heap_gc._sweep`): runs zeroed (the objects
                    in them; free blocks are zero but their headers), free-block headers
                    written, the runs returned for the free list's index
    vyn_gc_minor    a whole minor collection but the free list's index (`heap_gc.minor`)
    vyn_gc_select   the blocks of one size among those a minor collection freed

The code is LLVM IR built with llvmlite's IR builder, compiled at -O2 once: the object file
is kept in the build cache's directory (`gc/KEY.o`, KEY from the toolchain's identity, with
a SHA-256 of the object so that a damaged file is rebuilt) and loaded by `_load_object`
(runtime/native_loader.py: no llvmlite import when the object is cached).
With `VYN_CACHE=off` it is compiled in memory at each start. If anything fails (llvmlite
missing, an unwritable cache), the collector stays in Python, silently: `core()` is None.

`VYN_GC_NATIVE=off` keeps the collector in Python, `VYN_GC_NATIVE=on` makes every
collection native (the tests' way to run the suites through the core; read by
`heap_gc.native_mode`); `Heap.gc_native` (False, True, None for automatic) does the same
for one heap. This module is imported by the first collection. Automatic: native once a
collection has at least NATIVE_MIN bytes to visit (with `VYN_CACHE=off`, once Python
collections have visited COMPILE_AFTER bytes: compiling costs about that much; see
`for_heap`).

Scratch memory (the side table, the young offsets, the mark stack, the free runs) is one
anonymous mapping per heap, replaced by a larger one as the heap grows: pages are
committed when touched. The side table (a byte per 8 bytes of heap) is not rebuilt per
collection, which would walk every object and free block and clear the table: its START
bit, an object start, is kept from one native collection to the next (the young objects
get it, the reclaimed ones lose it; a Python collection or a new table means walking the
heap again, `Heap._gc_starts`), and its low bits are the state of one collection: each
has its own two values (`_scratch`), the table is cleared when they come round again.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from array import array
from collections.abc import Callable, Iterable

from compiler.image_format import sha256
from runtime.heap_errors import HeapError
from runtime.heap_layout import (
    FLAG_FREE_BLOCK,
    FLAG_YOUNG,
    FLAGS_DEAD,
    HEADER_SIZE,
    MAP_NORESERVE,
    TRACE_ALL,
)

NATIVE_MIN = 64 << 10   # automatic mode: native when a collection visits this many bytes
COMPILE_AFTER = 16 << 20  # ... and, with no cache, once Python collections visited these
FORMAT = 8              # of the IR below: part of the cache key
TRIPLE = "x86_64-unknown-linux-gnu"
_MAGIC = b"vyn-gc-core 1\n"
_NAMES = ("vyn_gc_young", "vyn_gc_starts", "vyn_gc_mark", "vyn_gc_promote",
          "vyn_gc_sweep", "vyn_gc_minor", "vyn_gc_select")
_NARGS = {"vyn_gc_young": 6, "vyn_gc_starts": 4, "vyn_gc_mark": 14, "vyn_gc_promote": 5,
          "vyn_gc_sweep": 6, "vyn_gc_minor": 22, "vyn_gc_select": 5}
MANY_SIZES = 16  # a minor collection's freed blocks are indexed by size up to this many
# The side table: a byte per 8 bytes of heap. START: an object starts here (kept from one
# collection to the next); the low bits: this collection's state, START | 2e for a young
# object of a minor collection, START | 2e + 1 for a marked object, e in 1..EPOCHS.
START = 0x80
EPOCHS = 63


# ------------------------------------------------------------------------------ the IR


def build_ir() -> str:
    """The LLVM IR of the core (llvmlite's IR builder; every argument an i64)."""
    from llvmlite import ir

    i1, i8, i32, i64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
    mod = ir.Module(name="vyn_gc")
    mod.triple = TRIPLE
    memset = mod.declare_intrinsic("llvm.memset", [ir.PointerType(i8), i64])

    def c64(v: int):
        return ir.Constant(i64, v)

    class F:
        """One function: i64 arguments, i64 result, helpers for raw memory."""

        def __init__(self, name: str, params: list[str]) -> None:
            assert len(params) == _NARGS[name], name
            self.fn = ir.Function(mod, ir.FunctionType(i64, [i64] * len(params)), name)
            self.fn.attributes.add("nounwind")
            self.a = dict(zip(params, self.fn.args, strict=True))
            for arg, p in zip(self.fn.args, params, strict=True):
                arg.name = p
            self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))

        def var(self, init) -> ir.AllocaInstr:     # only before the first branch
            v = self.b.alloca(i64)
            self.b.store(init if not isinstance(init, int) else c64(init), v)
            return v

        def get(self, v):
            return self.b.load(v)

        def set(self, v, value) -> None:
            self.b.store(value if not isinstance(value, int) else c64(value), v)

        def ptr(self, addr, ty):
            return self.b.inttoptr(addr, ir.PointerType(ty))

        def l32(self, addr):
            return self.b.zext(self.b.load(self.ptr(addr, i32)), i64)

        def s32(self, addr, value) -> None:
            v = self.b.trunc(value, i32) if value.type == i64 else value
            self.b.store(v, self.ptr(addr, i32))

        def l64(self, addr):
            return self.b.load(self.ptr(addr, i64))

        def s64(self, addr, value) -> None:
            self.b.store(value, self.ptr(addr, i64))

        def l8(self, addr):
            return self.b.zext(self.b.load(self.ptr(addr, i8)), i64)

        def s8(self, addr, value) -> None:
            v = ir.Constant(i8, value) if isinstance(value, int) else self.b.trunc(value, i8)
            self.b.store(v, self.ptr(addr, i8))

        def add(self, *xs):
            r = xs[0]
            for x in xs[1:]:
                r = self.b.add(r, x if not isinstance(x, int) else c64(x))
            return r

        def idx(self, base, i, scale=8):
            return self.b.add(base, self.b.mul(i, c64(scale)))

        def zero(self, addr, n) -> None:
            self.b.call(memset, [self.ptr(addr, i8), ir.Constant(i8, 0), n,
                                 ir.Constant(i1, 0)])

        def cmp(self, op: str, x, y, signed: bool = False):
            y = y if not isinstance(y, int) else c64(y)
            return (self.b.icmp_signed if signed else self.b.icmp_unsigned)(op, x, y)

        def bits(self, x, mask: int):       # x & mask != 0
            return self.cmp("!=", self.b.and_(x, c64(mask)), 0)

        def loop(self, cond: Callable, body: Callable) -> None:
            """while cond(): body()"""
            b = self.b
            head = self.fn.append_basic_block("head")
            inner = self.fn.append_basic_block("body")
            after = self.fn.append_basic_block("after")
            b.branch(head)
            b.position_at_end(head)
            b.cbranch(cond(), inner, after)
            b.position_at_end(inner)
            body()
            if b.block.terminator is None:
                b.branch(head)
            b.position_at_end(after)

        def count(self, i, n, body: Callable) -> None:
            """for i in range(n): body(i) (i: a variable)"""
            self.set(i, 0)

            def step():
                body(self.get(i))
                self.set(i, self.add(self.get(i), 1))
            self.loop(lambda: self.cmp("<", self.get(i), n, signed=True), step)

        def push_if_start(self, table, stack, sp, off, start: Callable, mk) -> None:
            """if start(table[off >> 3]): table[...] = mk; stack[sp++] = off"""
            b = self.b
            t = self.add(table, b.lshr(off, c64(3)))
            with b.if_then(start(self.l8(t))):
                self.s8(t, mk)
                n = self.get(sp)
                self.s64(self.idx(stack, n), off)
                self.set(sp, self.add(n, 1))

        def slots(self, base, off, ptroff, ptrlen, ptrs, ntypes, j, visit: Callable) -> None:
            """For each pointer slot of the object at `off` (its type's map, or every slot
            of a TRACE_ALL type), in order: visit(slot, value)."""
            b = self.b
            h = self.add(base, off)
            tid = self.l32(h)
            known = self.cmp("<", tid, ntypes)
            # Unknown type ids have no pointer map (ptrlen 0); read the tables in range.
            safe = b.select(known, tid, c64(0))
            plen = b.select(known, self.l64(self.idx(ptrlen, safe)), c64(0))
            poff = self.l64(self.idx(ptroff, safe))
            every = self.cmp("==", plen, -1, signed=True)
            n = b.select(every, b.lshr(self.l32(self.add(h, 8)), c64(3)), plen)

            def body(k):
                slot = b.select(every, k, self.l64(self.idx(ptrs, self.add(poff, k))))
                value = self.l64(self.add(h, 16, b.mul(slot, c64(8))))
                with b.if_then(self.cmp("!=", value, 0)):
                    visit(slot, value)
            self.count(j, n, body)

    # -- vyn_gc_young(base, young, n, out, table, bits) -> objects --------------------------
    f = F("vyn_gc_young", ["base", "young", "n", "out", "table", "bits"])
    a, b = f.a, f.b
    i, c, off, stop = f.var(0), f.var(0), f.var(0), f.var(0)

    def young_object(o):
        f.s64(f.idx(a["out"], f.get(c)), o)
        f.set(c, f.add(f.get(c), 1))
        f.s8(f.add(a["table"], b.lshr(o, c64(3))), a["bits"])

    def young_body():
        e = f.l64(f.idx(a["young"], f.get(i)))
        with b.if_else(f.cmp(">=", e, 0, signed=True)) as (single, run):
            with single:
                young_object(e)
                f.set(i, f.add(f.get(i), 1))
            with run:
                f.set(off, b.sub(c64(-1), e))
                f.set(stop, f.l64(f.idx(a["young"], f.add(f.get(i), 1))))

                def record():
                    o = f.get(off)
                    young_object(o)
                    f.set(off, f.add(o, HEADER_SIZE, f.l32(f.add(a["base"], o, 8))))
                f.loop(lambda: f.cmp("<", f.get(off), f.get(stop), signed=True), record)
                f.set(i, f.add(f.get(i), 2))
    f.loop(lambda: f.cmp("<", f.get(i), a["n"], signed=True), young_body)
    b.ret(f.get(c))

    # -- vyn_gc_starts(base, top, table, clear): the start bits, from scratch ---------------
    f = F("vyn_gc_starts", ["base", "top", "table", "clear"])
    a, b = f.a, f.b
    off = f.var(0)
    with b.if_then(f.cmp("!=", a["clear"], 0)):
        f.zero(a["table"], a["clear"])

    def starts_body():
        o = f.get(off)
        h = f.add(a["base"], o)
        with b.if_then(b.not_(f.bits(f.l32(f.add(h, 4)), FLAG_FREE_BLOCK))):
            f.s8(f.add(a["table"], b.lshr(o, c64(3))), START)
        f.set(off, f.add(o, HEADER_SIZE, f.l32(f.add(h, 8))))
    f.loop(lambda: f.cmp("<", f.get(off), a["top"]), starts_body)
    b.ret(c64(0))

    # -- vyn_gc_mark(...) -> marked objects, or -1 with err = [slot, object, value] --------
    f = F("vyn_gc_mark", ["base", "top", "table", "stack", "roots", "nroots", "regs",
                          "nregs", "ptroff", "ptrlen", "ptrs", "ntypes", "mk", "err"])
    a, b = f.a, f.b
    i, sp, marked, j = f.var(0), f.var(0), f.var(0), f.var(0)
    base, top, table, stack = a["base"], a["top"], a["table"], a["stack"]
    mk = a["mk"]

    def unmarked(v):    # an object start, not marked by this collection yet
        return b.and_(f.bits(v, START), f.cmp("!=", v, mk))

    def mark_root(k):
        o = b.sub(f.l64(f.idx(a["roots"], k)), base)
        ok = b.and_(f.cmp("<", o, top), b.not_(f.bits(o, 7)))
        with b.if_then(ok):
            f.push_if_start(table, stack, sp, o, unmarked, mk)
    f.count(i, a["nroots"], mark_root)
    f.count(i, a["nregs"], lambda k: f.push_if_start(table, stack, sp,
                                                     f.l64(f.idx(a["regs"], k)), unmarked, mk))
    f.set(marked, f.get(sp))

    def mark_body():
        n = b.sub(f.get(sp), c64(1))
        f.set(sp, n)
        o = f.l64(f.idx(stack, n))
        with b.if_then(b.not_(f.bits(f.l32(f.add(base, o, 4)), FLAGS_DEAD))):
            def visit(slot, value):
                target = b.sub(value, base)
                fine = b.and_(f.cmp("<", target, top), b.not_(f.bits(target, 7)))
                with b.if_else(fine) as (good, bad):
                    with good:
                        t = f.add(table, b.lshr(target, c64(3)))
                        state = f.l8(t)
                        with b.if_then(b.not_(f.bits(state, START))):  # not an object
                            f.s64(a["err"], slot)
                            f.s64(f.add(a["err"], 8), o)
                            f.s64(f.add(a["err"], 16), value)
                            b.ret(c64(-1))
                        with b.if_then(f.cmp("!=", state, mk)):
                            f.s8(t, mk)
                            f.set(marked, f.add(f.get(marked), 1))
                            s = f.get(sp)
                            f.s64(f.idx(stack, s), target)
                            f.set(sp, f.add(s, 1))
                    with bad:
                        f.s64(a["err"], slot)
                        f.s64(f.add(a["err"], 8), o)
                        f.s64(f.add(a["err"], 16), value)
                        b.ret(c64(-1))
            f.slots(base, o, a["ptroff"], a["ptrlen"], a["ptrs"], a["ntypes"], j, visit)
    f.loop(lambda: f.cmp("!=", f.get(sp), 0), mark_body)
    b.ret(f.get(marked))

    # -- vyn_gc_promote(base, table, flat, n) ----------------------------------------------
    f = F("vyn_gc_promote", ["base", "table", "flat", "n", "mk"])
    a, b = f.a, f.b
    i = f.var(0)

    def promote(k):
        o = f.l64(f.idx(a["flat"], k))
        with b.if_then(f.cmp("==", f.l8(f.add(a["table"], b.lshr(o, c64(3)))), a["mk"])):
            h = f.add(a["base"], o, 4)
            f.s32(h, b.and_(f.l32(h), c64(~FLAG_YOUNG & 0xFFFFFFFF)))
    f.count(i, a["n"], promote)
    b.ret(c64(0))

    # -- vyn_gc_sweep(base, top, table, runs, out) -> runs ---------------------------------
    f = F("vyn_gc_sweep", ["base", "top", "table", "runs", "out", "mk"])
    a, b = f.a, f.b
    base, top, table = a["base"], a["top"], a["table"]
    off, run, k, dirty = f.var(0), f.var(-1), f.var(0), f.var(-1)
    objs, nbytes, dobjs, dbytes = f.var(0), f.var(0), f.var(0), f.var(0)

    def free_block(start, end) -> None:
        h = f.add(base, start)
        f.s32(h, c64(0))
        f.s32(f.add(h, 4), c64(FLAG_FREE_BLOCK))
        f.s32(f.add(h, 8), b.sub(b.sub(end, start), c64(HEADER_SIZE)))
        f.s32(f.add(h, 12), c64(0))

    def flush(end) -> None:
        """Zero the run's objects not zeroed yet, up to `end` (a free block's payload is
        zero already: heap_gc._sweep)."""
        d = f.get(dirty)
        with b.if_then(f.cmp(">=", d, 0, signed=True)):
            f.zero(f.add(base, d), b.sub(end, d))
            f.set(dirty, -1)

    def sweep_body():
        o = f.get(off)
        h = f.add(base, o)
        flags = f.l32(f.add(h, 4))
        total = f.add(f.l32(f.add(h, 8)), HEADER_SIZE)
        free = f.bits(flags, FLAG_FREE_BLOCK)
        state = f.l8(f.add(table, b.lshr(o, c64(3))))
        kept = b.and_(b.not_(free), f.cmp("==", state, a["mk"]))
        with b.if_else(kept) as (keep, reclaim):
            with keep:
                r = f.get(run)
                with b.if_then(f.cmp(">=", r, 0, signed=True)):
                    flush(o)
                    free_block(r, o)
                    n = f.get(k)
                    f.s64(f.idx(a["runs"], b.mul(n, c64(2))), r)
                    f.s64(f.idx(a["runs"], f.add(b.mul(n, c64(2)), 1)), o)
                    f.set(k, f.add(n, 1))
                    f.set(run, -1)
            with reclaim:
                with b.if_else(free) as (block, obj):
                    with block:
                        flush(o)
                        f.s64(h, c64(0))
                        f.s64(f.add(h, 8), c64(0))
                    with obj:
                        f.s8(f.add(table, b.lshr(o, c64(3))), 0)   # no object here now
                        f.set(objs, f.add(f.get(objs), 1))
                        f.set(nbytes, f.add(f.get(nbytes), total))
                        with b.if_then(f.bits(flags, FLAGS_DEAD)):
                            f.set(dobjs, f.add(f.get(dobjs), 1))
                            f.set(dbytes, f.add(f.get(dbytes), total))
                        with b.if_then(f.cmp("<", f.get(dirty), 0, signed=True)):
                            f.set(dirty, o)
                with b.if_then(f.cmp("<", f.get(run), 0, signed=True)):
                    f.set(run, o)
        f.set(off, f.add(o, total))
    f.loop(lambda: f.cmp("<", f.get(off), top), sweep_body)
    out = a["out"]
    r = f.get(run)
    tail = f.cmp(">=", r, 0, signed=True)
    with b.if_then(tail):
        flush(top)
    f.s64(out, f.get(objs))
    f.s64(f.add(out, 8), f.get(nbytes))
    f.s64(f.add(out, 16), f.get(dobjs))
    f.s64(f.add(out, 24), f.get(dbytes))
    f.s64(f.add(out, 32), b.select(tail, r, top))
    b.ret(f.get(k))

    # -- vyn_gc_minor(...) -> blocks freed: offsets at `freed`, sizes at `flat` ----------
    f = F("vyn_gc_minor", ["base", "top", "table", "flat", "n", "stack", "roots", "nroots",
                           "regs", "nregs", "rem", "nrem", "ptroff", "ptrlen", "ptrs",
                           "ntypes", "st", "mk", "clear", "freed", "kinds", "out"])
    a, b = f.a, f.b
    base, top, table, stack = a["base"], a["top"], a["table"], a["stack"]
    st, mk = a["st"], a["mk"]
    i, sp, j, k = f.var(0), f.var(0), f.var(0), f.var(0)
    objs, nbytes, dobjs, dbytes = f.var(0), f.var(0), f.var(0), f.var(0)
    ki, found = f.var(0), f.var(0)
    with b.if_then(f.cmp("!=", a["clear"], 0)):
        f.zero(table, a["clear"])
    f.count(i, a["n"], lambda q: f.s8(
        f.add(table, b.lshr(f.l64(f.idx(a["flat"], q)), c64(3))), st))

    def reach(value):
        o = b.sub(value, base)
        with b.if_then(b.and_(f.cmp("<", o, top), b.not_(f.bits(o, 7)))):
            f.push_if_start(table, stack, sp, o, young_start, mk)

    def young_start(v):
        return f.cmp("==", v, st)
    f.count(i, a["nroots"], lambda q: reach(f.l64(f.idx(a["roots"], q))))
    f.count(i, a["nregs"], lambda q: f.push_if_start(table, stack, sp,
                                                     f.l64(f.idx(a["regs"], q)), young_start, mk))

    def trace(o):
        f.slots(base, o, a["ptroff"], a["ptrlen"], a["ptrs"], a["ntypes"], j,
                lambda slot, value: reach(value))

    def remembered(q):
        o = f.l64(f.idx(a["rem"], q))
        with b.if_then(b.not_(f.bits(f.l32(f.add(base, o, 4)), FLAGS_DEAD | FLAG_YOUNG))):
            trace(o)
    f.count(i, a["nrem"], remembered)

    def minor_mark():
        n = b.sub(f.get(sp), c64(1))
        f.set(sp, n)
        o = f.l64(f.idx(stack, n))
        with b.if_then(b.not_(f.bits(f.l32(f.add(base, o, 4)), FLAGS_DEAD))):
            trace(o)
    f.loop(lambda: f.cmp("!=", f.get(sp), 0), minor_mark)

    def note_size(total):
        """kinds = [n, size...]: the sizes freed, in order of first appearance; n = -1
        once there are more than MANY_SIZES."""
        kinds = a["kinds"]
        n = f.l64(kinds)
        with b.if_then(f.cmp(">=", n, 0, signed=True)):
            f.set(ki, 0)
            f.set(found, 0)

            def look():
                q = f.get(ki)
                with b.if_then(f.cmp("==", f.l64(f.idx(kinds, f.add(q, 1))), total)):
                    f.set(found, 1)
                f.set(ki, f.add(q, 1))
            f.loop(lambda: b.and_(f.cmp("<", f.get(ki), n, signed=True),
                                  f.cmp("==", f.get(found), 0)), look)
            with b.if_then(f.cmp("==", f.get(found), 0)):
                with b.if_else(f.cmp("<", n, MANY_SIZES, signed=True)) as (room, full):
                    with room:
                        f.s64(f.idx(kinds, f.add(n, 1)), total)
                        f.s64(kinds, f.add(n, 1))
                    with full:
                        f.s64(kinds, c64(-1))

    def minor_sweep(q):
        o = f.l64(f.idx(a["flat"], q))
        h = f.add(base, o)
        with b.if_else(f.cmp("==", f.l8(f.add(table, b.lshr(o, c64(3)))), mk)) as (
                keep, reclaim):
            with keep:
                fl = f.add(h, 4)
                f.s32(fl, b.and_(f.l32(fl), c64(~FLAG_YOUNG & 0xFFFFFFFF)))
            with reclaim:
                f.s8(f.add(table, b.lshr(o, c64(3))), 0)   # no object here now
                flags = f.l32(f.add(h, 4))
                total = f.add(f.l32(f.add(h, 8)), HEADER_SIZE)
                f.zero(h, total)
                f.set(objs, f.add(f.get(objs), 1))
                f.set(nbytes, f.add(f.get(nbytes), total))
                with b.if_then(f.bits(flags, FLAGS_DEAD)):
                    f.set(dobjs, f.add(f.get(dobjs), 1))
                    f.set(dbytes, f.add(f.get(dbytes), total))
                # The block's offset in `freed`, its size over the young offsets
                # already read (m <= q); an object right after the last block freed (a
                # run lent to native code) joins it.
                m = f.get(k)
                with b.if_else(f.cmp("!=", m, 0)) as (some, none):
                    with some:
                        last = b.sub(m, c64(1))
                        end = f.add(f.l64(f.idx(a["freed"], last)),
                                    f.l64(f.idx(a["flat"], last)))
                        with b.if_else(f.cmp("==", end, o)) as (joins, apart):
                            with joins:
                                f.s64(f.idx(a["flat"], last),
                                      f.add(f.l64(f.idx(a["flat"], last)), total))
                            with apart:
                                f.s64(f.idx(a["freed"], m), o)
                                f.s64(f.idx(a["flat"], m), total)
                                f.set(k, f.add(m, 1))
                    with none:
                        f.s64(f.idx(a["freed"], m), o)
                        f.s64(f.idx(a["flat"], m), total)
                        f.set(k, f.add(m, 1))
    f.count(i, a["n"], minor_sweep)

    def free_header(q):
        """Each freed block's header (its payload is zero: every object in it was
        zeroed), and its size noted."""
        h = f.add(base, f.l64(f.idx(a["freed"], q)))
        total = f.l64(f.idx(a["flat"], q))
        f.s32(f.add(h, 4), c64(FLAG_FREE_BLOCK))
        f.s32(f.add(h, 8), b.sub(total, c64(HEADER_SIZE)))
        note_size(total)
    f.count(i, f.get(k), free_header)
    out = a["out"]
    f.s64(out, f.get(objs))
    f.s64(f.add(out, 8), f.get(nbytes))
    f.s64(f.add(out, 16), f.get(dobjs))
    f.s64(f.add(out, 24), f.get(dbytes))
    b.ret(f.get(k))

    # -- vyn_gc_select(offs, sizes, n, size, out) -> count: the offsets of that size -------
    f = F("vyn_gc_select", ["offs", "sizes", "n", "size", "out"])
    a, b = f.a, f.b
    i, c = f.var(0), f.var(0)

    def select(q):
        with b.if_then(f.cmp("==", f.l64(f.idx(a["sizes"], q)), a["size"])):
            m = f.get(c)
            f.s64(f.idx(a["out"], m), f.l64(f.idx(a["offs"], q)))
            f.set(c, f.add(m, 1))
    f.count(i, a["n"], select)
    b.ret(f.get(c))
    return str(mod)


def compile_object() -> bytes:
    """The core as an x86-64 ELF relocatable object, at -O2 (imports llvmlite)."""
    from llvmlite import binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    module = llvm.parse_assembly(build_ir())
    module.verify()
    tm = llvm.Target.from_triple(TRIPLE).create_target_machine(
        reloc="pic", codemodel="small", opt=2)
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    try:
        pb.getModulePassManager().run(module, pb)
    finally:
        pb.close()
    return tm.emit_object(module)


# ------------------------------------------------------------------------------ loading


class _Mcjit:
    """An object loaded into llvmlite's MCJIT (until runtime/native_loader.py)."""

    def __init__(self, obj: bytes) -> None:
        from llvmlite import binding as llvm

        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        self.tm = llvm.Target.from_triple(TRIPLE).create_target_machine(opt=2)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()

    def address(self, name: str) -> int:
        return self.engine.get_function_address(name)


def _load_object(obj: bytes):
    """The ONE place that maps the object into executable memory: an object with
    `address(name) -> int`, kept alive as long as the code is used. runtime/native_loader
    links it without LLVM; MCJIT if it cannot."""
    from runtime import native_loader

    try:
        return native_loader.load_object(obj, lambda name: 0)   # libc's, through dlsym
    except native_loader.LinkError:
        return _Mcjit(obj)


def _cache_path() -> str | None:
    from runtime.build_cache import cache_dir, toolchain_id

    directory = cache_dir()
    if directory is None:
        return None
    key = sha256(toolchain_id() + f"\0gc-core {FORMAT} {TRIPLE}".encode()).hexdigest()
    return os.path.join(directory, "gc", key[:40] + ".o")


def _read_cached(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if not data.startswith(_MAGIC) or len(data) <= head:
        return None
    obj = data[head:]
    if sha256(obj).digest() != data[len(_MAGIC):head]:
        return None              # damaged: rebuilt and stored again
    return obj


def _store(path: str, obj: bytes) -> None:
    from runtime.build_cache import write_atomically

    try:
        write_atomically(path, _MAGIC + sha256(obj).digest() + obj)
    except OSError:
        pass                 # an unwritable cache: compiled again at the next start


class Core:
    """The loaded native functions, called through ctypes."""

    def __init__(self, loaded, source: str) -> None:
        self.loaded = loaded          # keeps the code mapped
        self.source = source          # "cache", "compiled"
        for name in _NAMES:
            address = loaded.address(name)
            if not address:
                raise OSError(f"no {name} in the collector's object")
            proto = ctypes.CFUNCTYPE(ctypes.c_int64, *[ctypes.c_int64] * _NARGS[name])
            setattr(self, name[7:], proto(address))


_core: list = []   # [Core | None] once tried


def core() -> Core | None:
    """The native core, loaded (or built) on first use; None if it cannot be."""
    if _core:
        return _core[0]
    found = None
    try:
        found = _load()
    except Exception:   # noqa: BLE001 -- no traceback for the user: Python collects
        found = None
    _core.append(found)
    return found


def _load() -> Core:
    path = _cache_path()
    if path is not None:
        obj = _read_cached(path)
        if obj is not None:
            try:
                return Core(_load_object(obj), "cache")
            except Exception:  # noqa: BLE001 -- a bad object: rebuild it
                pass
    obj = compile_object()
    found = Core(_load_object(obj), "compiled")
    if path is not None:
        _store(path, obj)
    return found


_python_work = [0]   # bytes Python collections visited while the core waited


def for_heap(heap, work: int) -> Core | None:
    """The core to collect `heap` with (`work`: bytes the collection visits), or None for
    the Python collector. Automatic mode loads the core at the first collection of at
    least NATIVE_MIN bytes when it is cached or will be (a cache directory); without one
    (`VYN_CACHE=off`) each process would compile it (about 0.25 s, llvmlite's import
    included), so only once Python collections have visited COMPILE_AFTER bytes, about
    what that costs them."""
    mode = heap.gc_native
    if mode is False or (mode is None and work < NATIVE_MIN):
        return None
    if not _core and mode is None and _python_work[0] < COMPILE_AFTER:
        try:
            cached = _cache_path() is not None
        except Exception:  # noqa: BLE001 -- no cache: as VYN_CACHE=off
            cached = False
        if not cached:
            _python_work[0] += work
            return None
    return core()


# ------------------------------------------------------------------------------ calls




class NoScratch(Exception):
    """The collector's scratch memory could not be mapped: collect in Python."""


def _map(size: int) -> tuple[mmap.mmap, int]:
    """Anonymous memory (committed when touched) and its address."""
    size = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
    mm = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | MAP_NORESERVE)
    anchor = ctypes.c_char.from_buffer(mm)
    address = ctypes.addressof(anchor)
    del anchor
    return mm, address


class _Scratch:
    """A heap's scratch memory. The side table (a byte per 8 bytes of heap) is one
    mapping for the whole limit, made once, so that what it keeps (start bits) stays;
    the young offsets and the stack (the mark stack, then the free runs or a minor
    collection's freed blocks) are another, for a bump pointer up to `cap`, replaced by a
    larger one when the heap grows past it. Pages are committed when touched."""

    __slots__ = ("table_mm", "table", "table_bytes", "dirty", "work_mm", "cap", "young",
                 "stack")

    def __init__(self, limit: int) -> None:
        self.table_bytes = ((limit >> 3) + 15) & ~7
        self.table_mm, self.table = _map(self.table_bytes)
        self.dirty = 0     # the table's bytes past this are zero (never written)
        self.work_mm = None
        self.cap = -1

    def fit(self, top: int, limit: int) -> None:
        if top <= self.cap:
            return
        cap = max(min(2 * top, limit), top, 1 << 20)
        young_words = (cap >> 4) + 2
        stack_words = (cap >> 3) + 8   # mark stack, runs; a minor's blocks twice
        self.work_mm = None            # unmapped first: the new one may be large
        self.work_mm, self.young = _map(8 * (young_words + stack_words))
        self.stack = self.young + 8 * young_words
        self.cap = cap


def _scratch(heap, top: int) -> tuple[_Scratch, int, int, int]:
    """The heap's scratch memory, and this collection's side table values: a young start
    and a marked object, and how many bytes of the table to clear first (0 but when the
    values come round again, which forgets the start bits too). NoScratch: no memory for
    it (the caller collects in Python)."""
    scratch = heap._gc_scratch
    try:
        if scratch is None:
            scratch = heap._gc_scratch = _Scratch(heap.limit)
            heap._gc_epoch = 0               # a fresh table is all zero
            heap._gc_starts = False
        scratch.fit(top, heap.limit)
    except OSError as e:
        raise NoScratch(str(e)) from None
    scratch.dirty = max(scratch.dirty, min((top >> 3) + 8, scratch.table_bytes))
    clear = 0
    if heap._gc_epoch == EPOCHS:
        clear = scratch.dirty
        heap._gc_starts = False
    epoch = heap._gc_epoch = heap._gc_epoch % EPOCHS + 1
    return scratch, START | 2 * epoch, START | (2 * epoch + 1), clear


def _pointer_maps(heap) -> tuple:
    """ptroff, ptrlen, ptrs arrays and ntypes (cached per registry size)."""
    types = heap.types
    n = len(types) + 1
    cached = heap._gc_maps
    if cached is not None and cached[0] == n:
        return cached[1]
    offs, lens, flat = [0] * n, [0] * n, []
    for tid, slots in types.pointer_slots.items():
        if 0 <= tid < n:
            offs[tid] = len(flat)
            if slots is TRACE_ALL:
                lens[tid] = -1
            else:
                lens[tid] = len(slots)
                flat.extend(slots)
    arrays = ((ctypes.c_int64 * n)(*offs), (ctypes.c_int64 * n)(*lens),
              (ctypes.c_int64 * max(1, len(flat)))(*flat), n)
    heap._gc_maps = (n, arrays)
    return arrays


def _array(values: Iterable[int]) -> array:
    """Root values as int64s; what does not fit cannot be an object address."""
    if not isinstance(values, (list, tuple)):
        values = list(values)
    try:
        return array("q", values)
    except (OverflowError, TypeError):
        return array("q", [v for v in values if isinstance(v, int)
                           and -(1 << 63) <= v < (1 << 63)])


def _addr(arr: array) -> int:
    return arr.buffer_info()[0] if len(arr) else 0


def _regions(heap) -> array:
    out = array("q")
    for region in heap._regions.active.values():
        out.extend(region.offsets)
    return out


def _young(core: Core, heap, scratch: _Scratch, bits: int) -> int:
    """Write the young objects' offsets in the scratch memory and their side table
    entries (`bits`); settle the runs' record count. Returns how many there are."""
    young = heap._young
    entries = array("q")
    entries.fromlist(young)
    n = core.young(heap.base, _addr(entries), len(entries), scratch.young, scratch.table,
                   bits)
    young.settle(n)
    return n


def mark(core: Core, heap, roots: Iterable[int]) -> tuple[_Scratch, int, int, int]:
    """The marking of a full collection (`heap_gc._object_starts` and `_mark`): the side
    table's start bits (kept from the last native full collection, else found by walking
    the heap), the young objects' offsets, and the marks. Returns the scratch memory, the
    marked objects' table value, the young objects and the marked ones. Raises
    HeapError("heap corrupted") having changed nothing in the heap."""
    base, top = heap.base, heap._top
    scratch, _, mk, clear = _scratch(heap, top)
    table = scratch.table
    if not heap._gc_starts:
        core.starts(base, top, table, scratch.dirty)
    n = _young(core, heap, scratch, START)
    heap._gc_starts = True
    roots_arr = _array(roots)
    regs = _regions(heap)
    ptroff, ptrlen, ptrs, ntypes = _pointer_maps(heap)
    err = (ctypes.c_int64 * 3)()
    marked = core.mark(base, top, table, scratch.stack, _addr(roots_arr), len(roots_arr),
                       _addr(regs), len(regs), ctypes.addressof(ptroff),
                       ctypes.addressof(ptrlen), ctypes.addressof(ptrs), ntypes, mk,
                       ctypes.addressof(err))
    if marked < 0:
        slot, off, value = err[0], err[1], err[2] & 0xFFFF_FFFF_FFFF_FFFF
        raise HeapError(
            "heap corrupted",
            value,
            f"slot {slot} of the object at 0x{base + off:x} holds 0x{value:x}, "
            "which is not an object",
        )
    return scratch, mk, n, marked


def full(core: Core, heap, roots: Iterable[int]) -> tuple[int, int, int]:
    """`heap_gc.mark_sweep`'s work but the statistics: (marked, reclaimed objects,
    reclaimed bytes). Raises HeapError("heap corrupted") having changed nothing."""
    base, top = heap.base, heap._top
    scratch, mk, n, marked = mark(core, heap, roots)
    table, stack = scratch.table, scratch.stack
    # Promotion before the sweep (which zeroes the young objects it reclaims, and with
    # them the sizes a lent run is walked by): the sweep does not read FLAG_YOUNG.
    core.promote(base, table, scratch.young, n, mk)
    out = (ctypes.c_int64 * 5)()
    nruns = core.sweep(base, top, table, stack, ctypes.addressof(out), mk)
    free = heap._free
    free.clear()
    if nruns:
        free.add_runs((ctypes.c_int64 * (2 * nruns)).from_address(stack))
    heap._nobjects -= out[0]
    heap._dead_objects -= out[2]
    heap._dead_bytes -= out[3]
    heap._top = out[4]
    return marked, out[0], out[1]


def _add_freed(core: Core, free, offs: int, sizes_at: int, k: int, kinds) -> None:
    """Index the k blocks a minor collection freed (offsets at `offs`, sizes at
    `sizes_at`, the sizes in order of first appearance in `kinds`) as `free.add` one by
    one in that order would: each size's blocks in order."""
    n = kinds[0]
    if n == 1:
        free.add_blocks(kinds[1], (ctypes.c_char * (8 * k)).from_address(offs))
    elif n > 1:
        out = offs + 8 * k
        for size in kinds[1 : n + 1]:
            count = core.select(offs, sizes_at, k, size, out)
            free.add_blocks(size, (ctypes.c_char * (8 * count)).from_address(out))
    else:
        add = free.add
        sizes = (ctypes.c_int64 * k).from_address(sizes_at)[:]
        for off, size in zip((ctypes.c_int64 * k).from_address(offs)[:], sizes, strict=True):
            add(off, size)


def minor(core: Core, heap, roots: Iterable[int]) -> tuple[int, int, int]:
    """`heap_gc.minor`'s work but the statistics: (marked, reclaimed objects, bytes)."""
    base, top = heap.base, heap._top
    scratch, st, mk, clear = _scratch(heap, top)
    table, young_at, stack = scratch.table, scratch.young, scratch.stack
    n = _young(core, heap, scratch, st)
    roots_arr = _array([r for r in roots if type(r) is int])
    regs = _regions(heap)
    rem = array("q", heap._remembered)
    ptroff, ptrlen, ptrs, ntypes = _pointer_maps(heap)
    out = (ctypes.c_int64 * 4)()
    kinds = (ctypes.c_int64 * (MANY_SIZES + 1))()
    # The freed blocks are written over the stack: it is empty once marking ends.
    k = core.minor(base, top, table, young_at, n, stack, _addr(roots_arr), len(roots_arr),
                   _addr(regs), len(regs), _addr(rem), len(rem), ctypes.addressof(ptroff),
                   ctypes.addressof(ptrlen), ctypes.addressof(ptrs), ntypes, st, mk, clear,
                   stack, ctypes.addressof(kinds), ctypes.addressof(out))
    if k:
        _add_freed(core, heap._free, stack, young_at, k, kinds)
    heap._nobjects -= out[0]
    heap._dead_objects -= out[2]
    heap._dead_bytes -= out[3]
    return n - out[0], out[0], out[1]
