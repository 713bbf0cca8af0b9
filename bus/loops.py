"""The event loop the bus runs on: a selector loop, on every platform.

pyzmq's asyncio support watches a socket's file descriptor with ``add_reader``,
which Windows' default loop (the proactor) does not have. So everything here that
runs a loop (``kernel run``, the console commands, the tests, and a bot using
:class:`bus.client.AsyncBotLink`) asks for a selector loop through a
``loop_factory`` (``asyncio.Runner(loop_factory=selector_loop)``; from Python
3.12 also ``asyncio.run(main(), loop_factory=...)``) rather than through an event
loop policy, which Python 3.14 deprecates.

The test mode: ``QE_LOOP=select`` in the environment makes :func:`new_selector`
return ``selectors.SelectSelector``, the selector Windows' ``SelectorEventLoop``
uses, so the integration suite can run on the Windows selector from Linux
(``QE_LOOP=select scripts/test tests/integration``). The kernel then also handles
Ctrl-C the Windows way (``kernel/_shutdown.py``). docs/windows.md says what this
mode does and does not prove.
"""

from __future__ import annotations

import asyncio
import os
import selectors
from collections.abc import Coroutine, Mapping
from typing import Any, Final, TypeVar

__all__ = ["LOOP_ENV", "LoopModeError", "loop_mode", "new_selector", "run", "selector_loop"]

_T = TypeVar("_T")

LOOP_ENV: Final = "QE_LOOP"
LOOP_MODES: Final = ("default", "select")


class LoopModeError(ValueError):
    """``QE_LOOP`` holds a value this module does not know."""


def loop_mode(environ: Mapping[str, str] | None = None) -> str:
    """``select`` when ``QE_LOOP=select`` forces the Windows selector, else ``default``."""
    value = (os.environ if environ is None else environ).get(LOOP_ENV, "").strip().lower()
    if value in ("", "default"):
        return "default"
    if value == "select":
        return "select"
    raise LoopModeError(f"environment variable {LOOP_ENV}={value[:40]!r} is not understood: "
                        f"expected one of {', '.join(LOOP_MODES)} (or unset). Fix: unset it, "
                        f"or set {LOOP_ENV}=select to run on the selector Windows uses")


def new_selector(environ: Mapping[str, str] | None = None) -> selectors.BaseSelector:
    """The platform's best selector, or ``select()`` itself in the ``QE_LOOP=select`` mode."""
    if loop_mode(environ) == "select":
        return selectors.SelectSelector()
    return selectors.DefaultSelector()


def selector_loop() -> asyncio.AbstractEventLoop:
    """A loop factory: a selector event loop on :func:`new_selector`."""
    return asyncio.SelectorEventLoop(new_selector())


def run(main: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run`` on :func:`selector_loop`, for Python 3.11 as well (whose
    ``asyncio.run`` takes no ``loop_factory``)."""
    with asyncio.Runner(loop_factory=selector_loop) as runner:
        return runner.run(main)
