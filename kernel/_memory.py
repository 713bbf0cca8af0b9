"""Keep the kernel's memory and its collector's pauses in hand after start-up and floods.

glibc serves an allocation of 128 kB or more with its own ``mmap``, returned to the
system when freed, but it raises that threshold to the size of each such block
freed: after one burst of large frames (a bot's 200 kB garbage), every later one
comes from the heap, whose top is only returned when it is free, so the kernel's
RSS stayed at its peak long after the flood. Fixing the threshold at 128 kB cured
that, but made every frame over it a fresh ``mmap``, fifty page faults and a
``munmap``, in the loop's thread (its copy of the frame) and in ZeroMQ's I/O thread
(the message it reads from TCP) alike: about 150 µs of each thread's CPU per 200 kB
frame against 20 to 35 µs from the heap, and a flood of such frames kept both cores
busy. So the threshold is fixed just above the largest frame a bot may send
(``max_frame_bytes`` plus 64 kB: 320 kB by default), and the heap's free top is
handed back once it passes 8 MiB (``M_TRIM_THRESHOLD``): a flood's frames reuse the
same heap pages, anything larger (a saved risk state with thousands of open orders
and its JSONL copy, about a megabyte each) still gets its own ``mmap`` returned on
free, which left about 2 MB less behind after an order flood than a threshold of
1 MiB; at most 8 MiB of free heap stays between trims, and ``malloc_trim`` hands
the rest back once a flood is over
(:class:`kernel._after_flood.AfterFlood`). Elsewhere (Windows, macOS, musl) both do
nothing: their allocators return large blocks on their own.

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

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
FRAME_SLACK = 64 * 1024
"""Above ``max_frame_bytes``, the blocks still served from the heap (a frame's copy
with its allocator overhead)."""
TRIM_THRESHOLD = 8 * 1024 * 1024
"""Free memory at the heap's top beyond this is returned to the system at once."""


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


def mmap_threshold(max_frame_bytes: int) -> int:
    """Blocks this large or larger get their own ``mmap``; smaller ones (every frame up
    to ``max_frame_bytes``) come from the heap and reuse its pages."""
    return max_frame_bytes + FRAME_SLACK


def keep_large_blocks_returnable(max_frame_bytes: int = 256 * 1024) -> bool:
    """Fix glibc's mmap threshold at :func:`mmap_threshold` and its trim threshold at
    :data:`TRIM_THRESHOLD`; True if both were set."""
    libc = _glibc()
    return libc is not None and \
        bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold(max_frame_bytes))) \
        and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


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
