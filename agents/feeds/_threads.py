"""Running a blocking vendor call off the event loop, in a thread that never holds up an exit.

``asyncio.to_thread`` uses the loop's default executor, which ``asyncio.Runner``
joins when ``kernel run`` stops: a request hanging on a vendor would hold the
stop for up to the client's timeout. Each call here gets its own daemon thread
instead, whose result is handed back to the loop; abandoned at a timeout or a
stop, it ends with its client's own timeout, or with the process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def off_loop(fetch: Callable[[], T], *, name: str) -> T:
    """``fetch()`` in a daemon thread; its result or its exception, on the loop."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result = fetch()
        except BaseException as exc:  # handed to the awaiting task, which decides
            loop.call_soon_threadsafe(settle, None, exc)
            return
        loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=work, name=f"feeds-{name}", daemon=True).start()
    return await done
