"""Turning Ctrl-C, Ctrl-Break and SIGTERM into an orderly stop, at once, on every platform.

POSIX loops take signal handlers directly (``add_signal_handler``, which wakes
the loop through its own wakeup file descriptor). Windows' selector loop cannot,
so there the handler is a plain ``signal.signal`` callback that hands the stop to
the loop thread-safely (SIGINT for Ctrl-C and SIGBREAK for Ctrl-Break, which is
how the supervisor's own parents ask politely; see kernel/process_tree.py).

Why the socket pair: on Windows the C-level handler runs in a thread of its own
while the loop's thread sits in ``select()``, which no signal interrupts; the
Python handler would only run when ``select()`` returned by itself, at the next
timer. ``signal.set_wakeup_fd`` makes the C handler write a byte to a socket the
loop watches, so ``select()`` returns at once and the Python handler runs right
after. The same route is taken on POSIX in the ``QE_LOOP=select`` test mode
(bus/loops.py), so the suite exercises it; tests/integration/test_stop_signals.py
shows the wakeup with SIGINT blocked in the loop's thread, as on Windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from bus.loops import loop_mode


def install_stop_signals(
    loop: asyncio.AbstractEventLoop, request_stop: Callable[[str], None], *,
    portable: bool | None = None,
) -> Callable[[], None]:
    """Route SIGINT/SIGTERM (and SIGBREAK) to ``request_stop``; return a function undoing it.

    ``portable`` takes the Windows route (``signal.signal`` and a wakeup socket); by
    default on Windows and in the ``QE_LOOP=select`` mode.
    """
    names = ["SIGINT", "SIGTERM"] + (["SIGBREAK"] if sys.platform == "win32" else [])
    signals = [getattr(signal, name) for name in names if hasattr(signal, name)]
    if portable is None:
        portable = sys.platform == "win32" or loop_mode() == "select"
    if not portable and sys.platform != "win32":
        return _loop_handlers(loop, signals, request_stop)
    return _signal_handlers(loop, signals, request_stop)


def _loop_handlers(loop: asyncio.AbstractEventLoop, signals: list[signal.Signals],
                   request_stop: Callable[[str], None]) -> Callable[[], None]:
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


def _signal_handlers(loop: asyncio.AbstractEventLoop, signals: list[signal.Signals],
                     request_stop: Callable[[str], None]) -> Callable[[], None]:
    previous: dict[int, Any] = {}

    def on_signal(signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(request_stop, f"received {signal.Signals(signum).name}")

    for sig in signals:
        with contextlib.suppress(ValueError):  # not the main thread: the caller stops us
            previous[sig] = signal.signal(sig, on_signal)
    undo_wakeup = _wake_on_signal(loop) if previous else _nothing

    def restore() -> None:
        undo_wakeup()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _wake_on_signal(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Make a signal's arrival readable on a socket the loop watches."""
    receiver, sender = socket.socketpair()
    for sock in (receiver, sender):
        sock.setblocking(False)

    def drain() -> None:
        with contextlib.suppress(OSError):
            while receiver.recv(4096):
                pass

    try:
        loop.add_reader(receiver.fileno(), drain)
        earlier = signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
    except (ValueError, OSError, NotImplementedError):  # not the main thread, or no reader
        with contextlib.suppress(ValueError, OSError, NotImplementedError):
            loop.remove_reader(receiver.fileno())
        receiver.close()
        sender.close()
        return _nothing

    def undo() -> None:
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(earlier)
        with contextlib.suppress(ValueError, OSError, RuntimeError):
            loop.remove_reader(receiver.fileno())
        receiver.close()
        sender.close()

    return undo


def _nothing() -> None:
    return None
