"""Running one actor under supervision: lifecycle, message loop, restarts.

The lifecycle follows a small table (READY, STARTING, RUNNING, STOPPING,
STOPPED, FAULTED) driven here, not by the actor. A crash is judged by the pure
:func:`kernel.supervision.decide_restart`; a restart builds a fresh instance
after the backoff; giving up raises :class:`ActorGaveUp` for the kernel to halt.

A first ``start()`` that raises is not a crash: nothing has run yet, so a restart
would only repeat the same error until the limit halts trading. It raises
:class:`ActorStartFailed` instead, and ``kernel run`` stops with the start-failure
exit code, naming the actor and the error (the "started" handshake of trio and anyio).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable

import msgspec

from bus.pubsub import LocalSubscription, Publisher
from kernel.actor import Actor, ActorContext
from kernel.emitter import Emitter, bot_of
from kernel.events import ActorState, ActorStatusChanged, AnomalyDetected
from kernel.journal import JournalDamaged
from kernel.journal_file import corruption_in
from kernel.messages import decode_message
from kernel.supervision import RestartPolicy, decide_restart

log = logging.getLogger("kernel.actor")


_YIELD_EVERY = 64
"""Frames an actor handles before it lets the loop run others. ``receive`` does not
suspend while frames wait, so an actor with a backlog (a flood of heartbeats) would
otherwise run through all of it in one step while the gateway waits to decide. As
many as the gateway reads per wake-up (64): with fewer, the risk engine took a
burst's order updates more slowly than the gate made decisions, and at 64 orders
in flight their reservations piled up to ``open_orders_limit``."""

class ActorStartFailed(Exception):
    """An actor's first ``start()`` raised: the kernel cannot start as configured."""

    def __init__(self, actor: str, error: str) -> None:
        super().__init__(f"actor {actor} failed to start: {error}")
        self.actor = actor
        self.error = error


class ActorGaveUp(Exception):
    """An actor crashed more often than the restart policy allows."""

    def __init__(self, actor: str, reason: str) -> None:
        super().__init__(f"actor {actor} gave up: {reason}")
        self.actor = actor
        self.reason = reason


class ActorRunner:
    """Owns one actor slot: starts it, feeds it, restarts it, reports its state."""

    def __init__(
        self,
        *,
        factory: Callable[[], Actor],
        publisher: Publisher,
        make_context: Callable[[str], ActorContext],
        kernel_emitter: Emitter,
        policy: RestartPolicy,
        clock: Callable[[], float],
        stop_timeout_s: float,
    ) -> None:
        probe = factory()
        self.name = probe.name
        self._factory = factory
        self._publisher = publisher
        self._make_context = make_context
        self._emitter = kernel_emitter
        self._policy = policy
        self._clock = clock
        self._stop_timeout_s = stop_timeout_s
        self.state: ActorState = "READY"
        self.restarts = 0
        self.last_error = ""
        self._history: tuple[float, ...] = ()
        self._started_once = False
        """Whether a ``start()`` has ever returned: before that, a failure is a start failure."""
        self._dropped_told_at = -1e18

    async def supervise(self, ready: asyncio.Event) -> None:
        """Run the actor until cancelled; restart on crash; raise ActorGaveUp."""
        while True:
            try:
                await self._run_once(self._factory(), ready)
                return  # a source whose run() ended, with nothing to listen to
            except (asyncio.CancelledError, ActorStartFailed, JournalDamaged):
                raise
            except Exception as exc:
                await self._on_crash(exc)

    async def _on_crash(self, exc: Exception) -> None:
        while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # the task group's wrapper hides the real cause
        self.last_error = "".join(traceback.format_exception_only(exc)).strip()
        log.error("actor %s crashed: %s", self.name, self.last_error,
                  exc_info=(type(exc), exc, exc.__traceback__))
        self._stop_if_the_journal_is_damaged(exc)
        decision = decide_restart(self._history, self._clock(), self._policy)
        self._history = decision.history
        self._set_state("FAULTED", f"{self.last_error}; {decision.reason}")
        if not decision.restart:
            raise ActorGaveUp(self.name, f"{decision.reason}; last error: {self.last_error}")
        self.restarts += 1
        await asyncio.sleep(decision.delay_s)

    def _stop_if_the_journal_is_damaged(self, exc: BaseException) -> None:
        """A damaged journal file is no crash to restart from: the next start meets
        the same pages. The kernel stops instead, naming the file."""
        damage = corruption_in(exc)
        if damage is not None:
            raise JournalDamaged(f"actor {self.name}", damage) from exc
        if isinstance(exc, JournalDamaged):
            raise exc

    async def _run_once(self, actor: Actor, ready: asyncio.Event) -> None:
        # live at once (frames are handed over in-process): nothing published
        # from here on is missed, not even while the actor starts
        subscriber = self._publisher.subscribe_local(actor.subscriptions, bots=actor.bots(),
                                                     limit=actor.inbox_frames,
                                                     kept=actor.kept_topics)
        try:
            self._set_state("STARTING")
            try:
                ctx = self._make_context(self.name)
                ctx.spare_copy = lambda message: self._publisher.spare_last(
                    subscriber, message.topic, bot_of(message))
                ctx.inbox = subscriber.waiting
                await actor.start(ctx)
            except Exception as exc:
                if self._started_once:
                    raise  # a restart that fails to start is one more crash
                self.last_error = "".join(traceback.format_exception_only(exc)).strip()
                log.error("actor %s failed to start: %s", self.name, self.last_error,
                          exc_info=(type(exc), exc, exc.__traceback__))
                self._set_state("FAULTED", f"failed to start: {self.last_error}")
                self._stop_if_the_journal_is_damaged(exc)
                raise ActorStartFailed(self.name, self.last_error) from exc
            self._started_once = True
            self._set_state("RUNNING")
            ready.set()
            async with asyncio.TaskGroup() as group:
                if actor.subscriptions:
                    group.create_task(self._feed(actor, subscriber))
                if actor.has_run():
                    group.create_task(actor.run())
        finally:
            subscriber.close()
            self._set_state("STOPPING")
            try:
                await asyncio.wait_for(actor.stop(), self._stop_timeout_s)
            except Exception as exc:  # a failing stop must not hide the original cause
                log.error("actor %s failed to stop cleanly: %s", self.name, exc)
            self._set_state("STOPPED")

    async def _feed(self, actor: Actor, subscriber: LocalSubscription) -> None:
        """Hand each frame's message to the actor: the object itself for a frame of this
        process (``BusFrame.message``, no decode), decoded from the payload for one from
        another process; ``ActorContext.as_sent`` tells the actor which."""
        ctx = actor.ctx
        told = 0  # frames dropped for this actor that an anomaly has counted
        seen = 0  # frames dropped for this actor that it has been told of
        handled = 0
        while True:
            frame = await subscriber.receive()
            handled += 1
            if handled % _YIELD_EVERY == 0:  # a backlog never holds the loop (the gate) long
                await asyncio.sleep(0)
            if subscriber.dropped != told:  # one int compare per frame in the common case
                if subscriber.dropped != seen:
                    seen = subscriber.dropped
                    actor.frames_dropped(seen)
                told = self._tell_dropped(subscriber.dropped, told)
            message = frame.message
            if message is None:
                try:
                    message = decode_message(frame.payload)
                except msgspec.DecodeError as exc:
                    log.warning("actor %s: undecodable %s frame skipped: %s",
                                self.name, frame.topic, exc)
                    for reply in await actor.rejected(frame.topic, frame.header.source,
                                                      str(exc)):
                        self._publisher_for(actor).emit(reply)
                    continue
                ctx.as_sent = False
            else:
                ctx.as_sent = True
            for reply in await actor.handle(message):
                self._publisher_for(actor).emit(reply)

    def _tell_dropped(self, dropped: int, told: int) -> int:
        """Journal (at most once a second) how many frames this actor lost being behind."""
        now = self._clock()
        if now - self._dropped_told_at < 1.0:
            return told
        self._dropped_told_at = now
        self._emitter.emit(AnomalyDetected(
            kind="subscriber_behind", severity="error", ts=now, source=self.name,
            detail=f"actor {self.name} fell behind its subscriptions: {dropped - told} "
                   f"frames dropped ({dropped} in all since it started)"))
        return dropped

    def _publisher_for(self, actor: Actor) -> Emitter:
        return actor.ctx.emitter

    def _set_state(self, state: ActorState, detail: str = "") -> None:
        self.state = state
        self._emitter.emit(ActorStatusChanged(actor=self.name, state=state, ts=self._clock(),
                                              detail=detail[:4096], restarts=self.restarts))
