"""Turning Ctrl-C and SIGTERM into an orderly stop, on POSIX and on Windows.

POSIX loops take signal handlers directly. Windows loops cannot, so there the
handler is a plain ``signal.signal`` callback that hands the stop to the loop
thread-safely (and SIGBREAK, Ctrl-Break, is honoured as well).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any


def install_stop_signals(
    loop: asyncio.AbstractEventLoop, request_stop: Callable[[str], None]
) -> Callable[[], None]:
    """Route SIGINT/SIGTERM to ``request_stop``; return a function undoing it."""
    names = ["SIGINT", "SIGTERM"] + (["SIGBREAK"] if sys.platform == "win32" else [])
    signals = [getattr(signal, name) for name in names if hasattr(signal, name)]
    if sys.platform != "win32":
        installed = []
        for sig in signals:
            try:
                loop.add_signal_handler(sig, request_stop, f"received {sig.name}")
                installed.append(sig)
            except (RuntimeError, ValueError):  # not the main thread: the caller stops us
                pass

        def remove() -> None:
            for sig in installed:
                loop.remove_signal_handler(sig)

        return remove

    previous: dict[int, Any] = {}

    def on_signal(signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(request_stop, f"received {signal.Signals(signum).name}")

    for sig in signals:
        with contextlib.suppress(ValueError):  # not the main thread: the caller stops us
            previous[sig] = signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
