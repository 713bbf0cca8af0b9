"""Ctrl-C wakes the loop at once on the Windows route (kernel/_shutdown.py).

On Windows the C-level signal handler runs in a thread of its own while the loop's
thread sits in ``select()``. POSIX can show the same: with SIGINT blocked in the
loop's thread, the signal is taken by another thread, and only the wakeup socket
can end the loop's ``select()`` (here one with no timeout at all). Without it the
loop would sleep until the guard timer: the control case shows that too.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import sys
import threading
import time

import pytest

from bus.loops import loop_mode, new_selector, selector_loop
from kernel import _shutdown
from kernel._shutdown import install_stop_signals

if sys.platform == "win32":  # and mypy --platform win32 checks no POSIX-only call below
    pytest.skip("blocks SIGINT with pthread_sigmask, which Windows lacks; on Windows the "
                "console handler's own thread plays that part", allow_module_level=True)

GUARD_S = 30.0
"""Long enough for any load; the loop is asleep in select() until a signal wakes it."""


class _WatchedSelect(selectors.SelectSelector):
    """select() that says when the loop is about to sleep in it."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout > 0:
            self.sleeping.set()
        return super().select(timeout)


def _sigint_once_asleep(selector: _WatchedSelect) -> threading.Thread:
    """A thread that takes SIGINT itself (it starts with the loop thread's mask, blocked),
    sent once the loop sleeps in select() (and a moment more, to be inside the call)."""

    def send() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        selector.sleeping.wait(GUARD_S)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    return threading.Thread(target=send)


def _stop_by_signal_from_another_thread(*, portable: bool, guard_s: float) -> float:
    """Run a select() loop whose only timer is ``guard_s`` away until a SIGINT sent from
    another thread stops it; how long after the start the stop was handled."""
    selector = _WatchedSelect()
    loop = asyncio.SelectorEventLoop(selector)
    stopped_at: list[float] = []

    def request_stop(reason: str) -> None:
        assert reason == "received SIGINT"
        stopped_at.append(loop.time())
        loop.stop()

    sender = _sigint_once_asleep(selector)
    remove = install_stop_signals(loop, request_stop, portable=portable)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        started = loop.time()
        loop.call_later(guard_s, loop.stop)
        loop.call_soon(sender.start)  # from inside the first turn: the loop then sleeps
        loop.run_forever()
        sender.join(5)
        loop.run_until_complete(asyncio.sleep(0))  # a turn for the handler, if still due
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        remove()
        loop.close()
    assert stopped_at, "the signal was never handled"
    return stopped_at[0] - started


def test_a_signal_taken_by_another_thread_wakes_the_loop_at_once() -> None:
    """Handled before the loop's only timer, which it would otherwise sleep until."""
    assert _stop_by_signal_from_another_thread(portable=True, guard_s=GUARD_S) < GUARD_S


def test_without_the_wakeup_socket_the_loop_sleeps_until_its_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: the same route without the wakeup socket handles the signal only
    when select() returns for the loop's timer."""
    monkeypatch.setattr(_shutdown, "_wake_on_signal", lambda loop: _shutdown._nothing)
    assert _stop_by_signal_from_another_thread(portable=True, guard_s=2.0) >= 1.9


def test_the_select_mode_builds_select_loops() -> None:
    assert isinstance(new_selector({"QE_LOOP": "select"}), selectors.SelectSelector)
    loop = selector_loop()
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
    finally:
        loop.close()


async def test_this_suite_runs_on_the_selector_its_mode_asks_for() -> None:
    """Under ``QE_LOOP=select`` every async test here runs on select() (tests/conftest.py)."""
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined, unused-ignore]
    if loop_mode() == "select":
        assert isinstance(selector, selectors.SelectSelector)
    else:
        assert isinstance(selector, type(selectors.DefaultSelector()))
