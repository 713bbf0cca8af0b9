"""The bot side of the bot link: ask the kernel before every order, and fail closed.

A bot that cannot hear the kernel must not trade as if it had been allowed to, so
``can_execute`` never raises and never waits past its timeout: when no decision
comes in time, when the order cannot be sent, or when the kernel rejects the
frame, it returns a DENY made by the link itself (``code`` ``timeout``,
``link_error`` or ``invalid_request``) with a sentence saying why.

Two flavours with the same methods: :class:`BotLink` for a plain loop and
:class:`AsyncBotLink` for asyncio (many orders in flight, matched by
``request_id``). Both say hello again on their own when a restarted kernel comes
back, and both tell the bot how long the kernel has been gone
(``kernel_seen_s_ago()``) so that it can stop instead of trading unsupervised::

    with BotLink("tcp://127.0.0.1:7710", bot_id="qe-1", mode="paper") as link:
        welcome = link.hello(timeout_s=5)
        decision = link.can_execute(order, timeout_s=0.5)
        if decision.verdict == "ALLOW":
            ...  # place the order: link.report_order_update(update) as the venue
                 # accepts, cancels, rejects or expires it, link.report_fill(fill)
        for command in link.poll_commands():
            ...  # obey it, then link.ack(command.command_id, ok=True)
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Self

import zmq

from bus._client_core import (
    DEFAULT_ENDPOINT,
    CurveKeys,
    Encoding,
    LinkCore,
    LinkError,
    LinkStats,
    LinkTimeout,
    Resolver,
    check_timeout,
)
from bus._deadlines import Deadlines
from bus.protocol import BotMode, Command, OrderDecision, OrderRequest, Welcome

__all__ = [
    "DEFAULT_ENDPOINT",
    "AsyncBotLink",
    "BotLink",
    "CurveKeys",
    "Encoding",
    "LinkError",
    "LinkStats",
    "LinkTimeout",
    "new_request_id",
]

Context = zmq.Context[zmq.Socket[bytes]]


def new_request_id() -> str:
    """A fresh id for an order request: a link refuses to reuse one."""
    return uuid.uuid4().hex


class BotLink(LinkCore):
    """Blocking client over one DEALER socket; every wait is bounded.

    Work happens only inside calls: a bot that calls ``poll_commands`` (or any
    other method) in its loop also gets reconnects handled and hello re-sent.
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        bot_id: str,
        mode: BotMode = "paper",
        version: str = "",
        encoding: Encoding = "msgpack",
        context: Context | None = None,
        zmtp_heartbeat_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        curve: CurveKeys | None = None,
    ) -> None:
        super().__init__(endpoint, bot_id=bot_id, mode=mode, version=version,
                         encoding=encoding, context=context,
                         zmtp_heartbeat_s=zmtp_heartbeat_s, clock=clock, curve=curve)
        self._poller = zmq.Poller()
        self._poller.register(self._socket, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self, *, linger_s: float = 0.0) -> None:
        """Close the socket; ``linger_s`` > 0 gives queued frames (a last ack) time to go."""
        self._close(linger_s)

    def hello(self, *, timeout_s: float = 5.0) -> Welcome:
        """Introduce the bot and wait for the welcome; raise ``LinkTimeout`` if none comes."""
        deadline = self._clock() + timeout_s
        self._pump()
        welcomes, errors = self._welcomes, self._errors
        while not self.send(self._make_hello()):
            if not self._wait(deadline):
                raise LinkTimeout(f"no connection to the kernel at {self.endpoint} within "
                                  f"{timeout_s:g} s: is `kernel run` running?")
        while self._welcomes == welcomes:
            if self._errors != errors and self.last_error is not None:
                raise LinkError(f"the kernel refused hello: {self.last_error.reason}")
            if not self._wait(deadline):
                raise LinkTimeout(f"no welcome from the kernel at {self.endpoint} "
                                  f"within {timeout_s:g} s")
        assert self.welcome is not None  # set with every welcome counted
        return self.welcome

    def can_execute(self, order: OrderRequest, *, timeout_s: float = 1.0) -> OrderDecision:
        """The kernel's ALLOW or DENY for ``order``; a DENY of the link's own on any failure."""
        check_timeout(timeout_s)
        box: list[OrderDecision] = []
        denied = self._begin(order, box.append)
        if denied is not None:
            return denied
        deadline = self._clock() + timeout_s
        while not box and self._wait(deadline):
            pass
        return box[0] if box else self._expire(order.request_id, timeout_s)

    def poll_commands(self, *, timeout_s: float = 0.0) -> list[Command]:
        """Every command received, oldest first; waits up to ``timeout_s`` for the first.

        With a timeout this doubles as the bot's sleep between ticks, so that a
        command (say ``close_all``) is seen at once rather than at the next tick.
        """
        self._pump()
        deadline = self._clock() + timeout_s
        while not self._commands and self._wait(deadline):
            pass
        return self._take_commands()

    def _before_io(self) -> None:
        self._pump()

    def _wait(self, deadline: float) -> bool:
        """Wait for anything from the kernel or the monitor; False once past ``deadline``."""
        remaining = deadline - self._clock()
        if remaining > 0 and not self.closed:
            self._poller.poll(math.ceil(remaining * 1000))
        self._pump()
        return self._clock() < deadline and not self.closed


class AsyncBotLink(LinkCore):
    """Asyncio client: the socket's file descriptor is watched by the event loop.

    Frames are read as soon as they arrive and matched to their waiting
    ``can_execute`` by ``request_id``, so any number of orders can be in flight.
    Needs a loop with ``add_reader``: any selector loop. Windows' default loop (the
    proactor) has none, so start yours through a loop factory, not a policy::

        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            runner.run(main())  # Python 3.12+: asyncio.run(main(), loop_factory=...)

    (``bus.loops.run(main())`` does the same.) Use it from one loop only.
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        bot_id: str,
        mode: BotMode = "paper",
        version: str = "",
        encoding: Encoding = "msgpack",
        context: Context | None = None,
        zmtp_heartbeat_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        curve: CurveKeys | None = None,
    ) -> None:
        super().__init__(endpoint, bot_id=bot_id, mode=mode, version=version,
                         encoding=encoding, context=context,
                         zmtp_heartbeat_s=zmtp_heartbeat_s, clock=clock, curve=curve)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadlines: Deadlines | None = None
        self._wakeup = asyncio.Event()
        self._waiting = 0
        """Calls in ``_wait``: with none, a change has no one to wake."""
        self._fresh = False
        """The socket and the monitor were read during this turn of the loop."""
        self._turn_end_due = False

    async def __aenter__(self) -> Self:
        self._before_io()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()

    def close(self, *, linger_s: float = 0.0) -> None:
        """Stop watching the socket and close it; waiting calls return or raise at once."""
        if self._loop is not None and not self.closed and not self._loop.is_closed():
            self._loop.remove_reader(self._socket.FD)
            self._loop.remove_reader(self._monitor.FD)
        if self._deadlines is not None:
            self._deadlines.cancel_all()
        self._close(linger_s)

    async def hello(self, *, timeout_s: float = 5.0) -> Welcome:
        """Introduce the bot and wait for the welcome; raise ``LinkTimeout`` if none comes."""
        deadline = self._clock() + timeout_s
        self._before_io()
        welcomes, errors = self._welcomes, self._errors
        while not self.send(self._make_hello()):
            if not await self._wait(deadline):
                raise LinkTimeout(f"no connection to the kernel at {self.endpoint} within "
                                  f"{timeout_s:g} s: is `kernel run` running?")
        while self._welcomes == welcomes:
            if self._errors != errors and self.last_error is not None:
                raise LinkError(f"the kernel refused hello: {self.last_error.reason}")
            if not await self._wait(deadline):
                raise LinkTimeout(f"no welcome from the kernel at {self.endpoint} "
                                  f"within {timeout_s:g} s")
        assert self.welcome is not None  # set with every welcome counted
        return self.welcome

    async def can_execute(self, order: OrderRequest, *, timeout_s: float = 1.0) -> OrderDecision:
        """The kernel's ALLOW or DENY for ``order``; a DENY of the link's own on any failure."""
        check_timeout(timeout_s)
        loop = asyncio.get_running_loop()
        if self._started() is not loop and not self.closed:
            return self._deny(order.request_id, "link_error", "the link reads its socket in "
                              "another event loop: use one link per loop")
        decided: asyncio.Future[OrderDecision] = loop.create_future()

        def resolve(decision: OrderDecision) -> None:
            if not decided.done():
                decided.set_result(decision)

        denied = self._begin(order, resolve)
        if denied is not None:
            return denied
        assert self._deadlines is not None  # set with the loop, before anything is sent
        self._deadlines.add(order.request_id, resolve, timeout_s)
        try:
            return await decided
        finally:  # cancelled: a later answer must not land anywhere; but an answered id
            if self._is_waiting(order.request_id, resolve):  # may be waited on anew already
                self._forget(order.request_id)

    async def next_command(self, *, timeout_s: float | None = None) -> Command:
        """The oldest command not yet taken; waits for one (``LinkTimeout`` past ``timeout_s``)."""
        self._before_io()
        deadline = None if timeout_s is None else self._clock() + timeout_s
        while not self._commands:
            if self.closed:
                raise LinkError("the link is closed")
            if not await self._wait(deadline) and not self.closed:
                raise LinkTimeout(f"no command from the kernel within {timeout_s} s")
        return self._commands.popleft()

    async def commands(self) -> AsyncIterator[Command]:
        """Every command as it comes, until the link is closed."""
        while not self.closed:
            try:
                yield await self.next_command()
            except LinkError:
                if self.closed:
                    return
                raise

    def _started(self) -> asyncio.AbstractEventLoop:
        """Watch the sockets from the running loop (once); the first async use does it."""
        if self._loop is not None:
            return self._loop
        loop = asyncio.get_running_loop()
        if not self.closed:
            try:
                loop.add_reader(self._socket.FD, self._pump)
                loop.add_reader(self._monitor.FD, self._pump)
            except NotImplementedError as exc:
                raise LinkError("AsyncBotLink needs an event loop with add_reader, and "
                                "Windows' default loop has none: run your code with "
                                "asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) "
                                "(Python 3.12+: asyncio.run(main(), loop_factory="
                                "asyncio.SelectorEventLoop))") from exc
            self._loop = loop
            self._deadlines = Deadlines(loop, self._is_waiting, self._time_out)
        return loop

    def _before_io(self) -> None:
        """Read the socket and the monitor once per turn of the loop, not per call.

        Each read asks ZeroMQ for ``EVENTS`` (a system call each), and with 64
        orders in flight a turn runs dozens of sends. Within one turn nothing is
        waited for, so what the first call read is as current as a read per call
        would be; the loop's readers and the turn's end read again. Except while a
        hello is due (a kernel came back): the read sends it once the handshake is
        done, and nothing of this turn may reach the new kernel before it.
        """
        self._started()
        if (not self._fresh or self._reach.hello_due) and not self.closed:
            self._pump()
            self._fresh = True
            self._end_turn_soon()

    def _after_send(self) -> None:
        """A send may swallow the socket's wake-up (its FD is edge-triggered): read
        again once this turn's sends are done."""
        self._end_turn_soon()

    def _end_turn_soon(self) -> None:
        if self._loop is not None and not self._turn_end_due:
            self._turn_end_due = True
            self._loop.call_soon(self._turn_end)

    def _turn_end(self) -> None:
        self._turn_end_due = False
        self._fresh = False
        self._pump()

    def _is_waiting(self, request_id: str, resolve: Resolver) -> bool:
        return self._pending.get(request_id) is resolve

    def _time_out(self, request_id: str, timeout_s: float) -> None:
        """The timer of a ``can_execute`` fired: deny, and drop any later answer."""
        resolve = self._pending.get(request_id)
        if resolve is not None:
            resolve(self._expire(request_id, timeout_s))

    def _changed(self) -> None:
        if self._waiting:
            self._wakeup.set()
            self._wakeup = asyncio.Event()

    async def _wait(self, deadline: float | None) -> bool:
        """Wait until something arrives; False once past ``deadline`` or closed."""
        wakeup = self._wakeup
        self._waiting += 1
        try:
            if deadline is None:
                await wakeup.wait()
                return not self.closed
            remaining = deadline - self._clock()
            if remaining > 0:
                try:
                    async with asyncio.timeout(remaining):
                        await wakeup.wait()
                except TimeoutError:
                    pass
        finally:
            self._waiting -= 1
        return self._clock() < deadline and not self.closed
