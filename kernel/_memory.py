"""Keep the kernel's memory and its collector's pauses in hand after start-up and floods.

glibc serves an allocation of 128 kB or more with its own ``mmap``, returned to the
system when freed, but it raises that threshold to the size of each such block
freed: after one burst of large frames (a bot's 200 kB garbage), every later one
comes from the heap, whose top is only returned when it is free, so the kernel's
RSS stays at its peak long after the flood. A fixed threshold keeps large blocks
in ``mmap``, and ``malloc_trim`` hands the heap's free pages back once a flood is
over (:class:`kernel._after_flood.AfterFlood`). Elsewhere (Windows, macOS, musl)
both do nothing: their allocators return large blocks on their own.

Python's cyclic collector walks every tracked object of the oldest generation on
each full collection: after start-up that is everything the kernel loaded (modules,
config, actors, hundreds of thousands of objects that never become garbage), and a
full collection in the middle of a flood held the loop, and so every bot's next
decision, for 50 to 90 ms. :func:`freeze_start_up` takes them out of its sight
once the kernel is ready (``gc.freeze``: reference counting still frees them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from typing import Any

_M_MMAP_THRESHOLD = -3
_LARGE = 128 * 1024


def _glibc() -> Any | None:
    """glibc's functions, or None off Linux or under another C library (musl)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both exist, or this is not glibc
    except (OSError, AttributeError):
        return None
    return libc


def keep_large_blocks_returnable() -> bool:
    """Fix glibc's mmap threshold at 128 kB; True if it was set."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, _LARGE))


def freeze_start_up() -> int:
    """Collect once, then keep every object alive now out of later collections;
    return how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def give_back() -> bool:
    """Collect cycles, then return the heap's free pages to the system (glibc only);
    True if pages were returned. A full collection: call it while the loop is quiet."""
    gc.collect()
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))
