"""Errors the heap raises. `HeapError` is the one base; `str(error)` is the panic text.

The VM turns these into Vyn panics (SEMANTICS.md, "Memory"): the message is exactly what
follows `panic: `; the attributes carry the details a debugger shows.
"""

from __future__ import annotations


class HeapError(Exception):
    """Base of every heap error.

    Attributes:
        message: the sentence a user sees.
        addr: the address involved, if any.
        detail: a longer explanation for debuggers and internal-error reports.
    """

    def __init__(self, message: str, addr: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.addr = addr
        self.detail = detail or message


class HeapExhausted(HeapError):
    """An allocation would pass the heap limit (`--heap-limit`): panic "out of memory"."""

    def __init__(self, requested: int, used: int, limit: int) -> None:
        super().__init__(
            "out of memory",
            detail=f"cannot allocate {requested} bytes: {used} of the {limit}-byte heap "
            "limit in use",
        )
        self.requested = requested
        self.used = used
        self.limit = limit


class UseAfterFree(HeapError):
    """Access to an object that `free` (or a refcount reaching zero) released."""

    def __init__(self, addr: int, detail: str = "") -> None:
        super().__init__("use after free", addr, detail or f"object at 0x{addr:x} was freed")


class DanglingReference(HeapError):
    """Access to an object whose `scoped` region has exited."""

    def __init__(self, addr: int, detail: str = "") -> None:
        super().__init__(
            "dangling reference",
            addr,
            detail or f"object at 0x{addr:x} was released when its scoped region exited",
        )


class BadAccess(HeapError):
    """An address or slot that is not part of any object: null, outside the heap, misaligned,
    a slot index past the object's end, or an operation the object's type does not allow."""
