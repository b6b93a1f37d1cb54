"""Free blocks: memory the collector reclaimed, indexed by size for reuse.

A free block is laid out like an object (type id 0, FLAG_FREE_BLOCK, payload size) so the
heap stays walkable; every byte of its payload is zero, so a block handed out again needs
no clearing. This module only keeps the index; the heap writes the headers.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, insort

from runtime.heap_layout import HEADER_SIZE


class FreeBlocks:
    """Free blocks by total size (header included): exact fit first, else best fit to split.

    Attributes:
        by_size: total size -> offsets of blocks of that size, in the order they were
            added (an int64 array: a collection adds a native core's output at once, and
            forgetting them all costs no per-block work). Truthy iff any block is free
            (the allocator tests it on every allocation).
        bytes: total bytes in free blocks.
    """

    def __init__(self) -> None:
        self.by_size: dict[int, array] = {}
        self._sizes: list[int] = []  # the keys of by_size, sorted
        self.bytes = 0

    def add(self, offset: int, total: int) -> None:
        """Index a block of `total` bytes at arena offset `offset`."""
        blocks = self.by_size.get(total)
        if blocks is None:
            self.by_size[total] = blocks = array("q")
            insort(self._sizes, total)
        blocks.append(offset)
        self.bytes += total

    def add_runs(self, runs) -> None:
        """`add(start, end - start)` for each (start, end) of the flat sequence `runs`
        (start, end, start, end, ...), in order (the native sweep's output)."""
        by_size, sizes = self.by_size, self._sizes
        added = 0
        it = iter(runs[:])
        for start, end in zip(it, it, strict=False):
            total = end - start
            blocks = by_size.get(total)
            if blocks is None:
                by_size[total] = blocks = array("q")
                insort(sizes, total)
            blocks.append(start)
            added += total
        self.bytes += added

    def add_blocks(self, total: int, offsets) -> None:
        """`add(offset, total)` for each of `offsets` (a buffer of int64s), in order."""
        blocks = self.by_size.get(total)
        if blocks is None:
            self.by_size[total] = blocks = array("q")
            insort(self._sizes, total)
        n = len(blocks)
        blocks.frombytes(offsets)
        self.bytes += total * (len(blocks) - n)

    def take(self, need: int) -> tuple[int, int] | None:
        """Remove and return (offset, total) of a block for an object of `need` bytes.

        The block is either exactly `need` bytes or large enough that the rest, at least
        a header, can become a free block again; None if there is no such block.
        """
        total = need
        blocks = self.by_size.get(need)
        if not blocks:
            i = bisect_left(self._sizes, need + HEADER_SIZE)
            if i == len(self._sizes):
                return None
            total = self._sizes[i]
            blocks = self.by_size[total]
        offset = blocks.pop()
        if not blocks:
            del self.by_size[total]
            del self._sizes[bisect_left(self._sizes, total)]
        self.bytes -= total
        return offset, total

    def take_largest(self, at_least: int) -> tuple[int, int] | None:
        """Remove and return (offset, total) of a largest block, if it has at least
        `at_least` bytes (a run lent to native code: runtime/jit.py `_tlab_open`)."""
        if not self._sizes or self._sizes[-1] < at_least:
            return None
        return self.take(self._sizes[-1])

    def clear(self) -> None:
        """Forget every block (the collector rebuilds the index while it sweeps)."""
        self.by_size.clear()
        self._sizes.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return sum(len(blocks) for blocks in self.by_size.values())
