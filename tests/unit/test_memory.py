"""The allocator setting is glibc's alone: elsewhere it does nothing and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel import _memory


def test_it_does_nothing_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")  # the one module object _memory reads
    assert _memory.keep_large_blocks_returnable() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's setting")
def test_on_linux_it_never_raises() -> None:
    assert _memory.keep_large_blocks_returnable() in (True, False)  # False under musl


_COUNT_MMAPPED = r"""
import ctypes, sys
from kernel import _memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
if not hasattr(libc, "mallinfo2"):
    print("skip"); sys.exit(0)
libc.mallinfo2.restype = MallInfo2
assert _memory.keep_large_blocks_returnable()

def mmapped_while_holding(size):
    before = libc.mallinfo2().hblks
    held = [bytes(size) for _ in range(8)]
    return libc.mallinfo2().hblks - before

print(mmapped_while_holding(256 * 1024), mmapped_while_holding(800 * 1024))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's setting")
def test_a_frame_up_to_max_frame_bytes_comes_from_the_heap_not_its_own_mmap() -> None:
    """Eight frames of 256 kB (the default max_frame_bytes) take no mmap of their own,
    so a flood of them reuses the heap's pages instead of faulting in fresh ones for
    every frame; blocks over the threshold (a saved risk state of 800 kB) still get
    theirs, returned on free."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _COUNT_MMAPPED], capture_output=True,
                          text=True, timeout=60, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    if done.stdout.strip() == "skip":
        pytest.skip("not glibc 2.33 or later (no mallinfo2)")
    frames, over = map(int, done.stdout.split())
    assert frames <= 0 < over
