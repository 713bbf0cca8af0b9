"""The allocator setting is glibc's alone: elsewhere it does nothing and says so."""

from __future__ import annotations

import sys

import pytest

from kernel import _memory


def test_it_does_nothing_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")  # the one module object _memory reads
    assert _memory.keep_large_blocks_returnable() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's setting")
def test_on_linux_it_never_raises() -> None:
    assert _memory.keep_large_blocks_returnable() in (True, False)  # False under musl
