"""Give memory freed after a flood back to the operating system (glibc on Linux).

glibc serves an allocation of 128 kB or more with its own ``mmap``, returned to the
system when freed, but it raises that threshold to the size of each such block
freed: after one burst of large frames (a bot's 200 kB garbage), every later one
comes from the heap, whose top is only returned when it is free, so the kernel's
RSS stays at its peak long after the flood. A fixed threshold keeps large blocks
in ``mmap``. Elsewhere (Windows, macOS, musl) this does nothing: their allocators
return large blocks on their own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_MMAP_THRESHOLD = -3
_LARGE = 128 * 1024


def keep_large_blocks_returnable() -> bool:
    """Fix glibc's mmap threshold at 128 kB; True if it was set."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): nothing to fix
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _LARGE))

