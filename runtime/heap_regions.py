"""Scoped regions: which objects each active `scoped { }` block allocated (part of `Heap`).

A region is entered and exited on a region stack, innermost last. The heap records the
arena offset of each object allocated while a region is the innermost of the current
stack; the region's exit marks exactly those objects RELEASED. Memory is not returned:
the collector reclaims released objects once nothing reaches them.
"""

from __future__ import annotations

from collections import namedtuple

from runtime.heap_errors import HeapError
from runtime.heap_layout import FLAGS_DEAD, HEADER_SIZE


class RegionInfo(namedtuple("RegionInfo", "region_id depth objects live_objects bytes lo hi")):
    """One scoped region, as the debugger shows it: its id; its depth (1 = outermost
    region of its stack); the objects allocated in it (freed ones included) and those
    live; the bytes its objects occupy, headers included; the address range [lo, hi)
    spanning its objects (0, 0 when it has none)."""

    __slots__ = ()


class Region:
    """An active region: its id, depth and the offsets of its objects."""

    __slots__ = ("region_id", "depth", "offsets")

    def __init__(self, region_id: int, depth: int) -> None:
        self.region_id = region_id
        self.depth = depth
        self.offsets: list[int] = []  # arena offsets, in allocation order


class RegionStack:
    """The scoped regions one task has entered, innermost last (opaque to the VM).

    A heap starts with one stack. A VM running several tasks gives each its own
    (`Heap.new_region_stack`) and switches with `Heap.use_region_stack`, so a task's
    allocations never land in a region another task entered.
    """

    __slots__ = ("regions",)

    def __init__(self) -> None:
        self.regions: list[Region] = []

    @property
    def depth(self) -> int:
        return len(self.regions)

    @property
    def innermost(self) -> Region | None:
        return self.regions[-1] if self.regions else None


class RegionTable:
    """Every active region, on all stacks, and the ids handed out so far."""

    def __init__(self) -> None:
        self.active: dict[int, Region] = {}
        self._next_id = 1

    def enter(self, stack: RegionStack) -> Region:
        """Push a new region on `stack` and return it."""
        region = Region(self._next_id, len(stack.regions) + 1)
        self._next_id += 1
        stack.regions.append(region)
        self.active[region.region_id] = region
        return region

    def exit(self, stack: RegionStack, region_id: int) -> Region:
        """Pop `region_id`, which must be the innermost region of `stack`."""
        if not stack.regions or stack.regions[-1].region_id != region_id:
            where = "the innermost" if region_id in self.active else "an"
            raise HeapError(f"region {region_id} is not {where} active region")
        del self.active[region_id]
        return stack.regions.pop()


def region_info(region: Region, u32: memoryview, base: int) -> RegionInfo:
    """Summarize `region` from the object headers (`u32` is the arena as u32 words)."""
    live = total = 0
    for off in region.offsets:
        h = off >> 2
        total += HEADER_SIZE + u32[h + 2]
        live += not u32[h + 1] & FLAGS_DEAD
    lo = hi = 0
    if region.offsets:
        last = max(region.offsets)
        lo = base + min(region.offsets)
        hi = base + last + HEADER_SIZE + u32[(last >> 2) + 2]
    return RegionInfo(region.region_id, region.depth, len(region.offsets), live, total, lo, hi)
