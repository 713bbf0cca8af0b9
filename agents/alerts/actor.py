"""The notifier: turns events into alerts and hands them to Apprise, off the loop.

It listens to the events a person away from the terminal must hear about
(``mapping.py`` says which and in what words), keeps the same alert from being
repeated within ``repeat_window_s`` (``fatigue.py``), and routes each alert to the
targets that want its kind and severity. Sending is ``sender.Outbox``'s: bounded
queues, worker threads, retries with backoff, ``alert_failed`` journaled. Because
it runs inside the supervisor, not the bot, a bot that dies still gets its alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import ClassVar

from agents.alerts.config import wants
from agents.alerts.fatigue import Fatigue
from agents.alerts.mapping import Alert, alerts_for, with_bots
from agents.alerts.messages import AlertsDropped
from agents.alerts.sender import Outbox, Send, send_now
from agents.alerts.slice import AlertsSlice
from agents.watchdog.messages import BotStateReported
from bus.protocol import Message
from kernel.actor import Actor, ActorContext
from kernel.bounded import BoundedDict

log = logging.getLogger("agents.alerts")
STOP_DRAIN_S = 4.0
"""At stop, how long the last alerts (the kernel stopping) may take to go out: under
the kernel's 5 s per actor (``supervision.shutdown_timeout_s``), and long enough for
Apprise's send on a busy machine, where 1.5 s lost the stop alert."""
TICK_S = 1.0
"""How often ended repeat windows are summarised and drops reported."""


class Notifier(Actor):
    name: ClassVar[str] = "notifier"
    subscriptions: ClassVar[tuple[str, ...]] = (
        "risk.halt", "risk.state", "bot.lifecycle", "kernel.state", "anomaly",
        "order.decision", "moderator.applied", "llm.budget", "audit.daily", "bot.state",
    )
    kept_topics: ClassVar[tuple[str, ...]] = ("risk.halt", "kernel.state", "bot.lifecycle")
    """A flood of decisions or anomalies never costs the alert of a halt, a stop or a bot
    given up on."""

    def __init__(self, *, config: AlertsSlice, send: Send = send_now) -> None:
        super().__init__()
        self._config = config.alerts
        self._send = send
        self._fatigue = Fatigue(window_s=self._config.repeat_window_s)
        self._armed: frozenset[str] = frozenset()
        self._outbox: Outbox | None = None
        self._reported_drops = 0
        self._bots: BoundedDict[str, None] = BoundedDict(1024)

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "start() first"
        return self._outbox

    async def start(self, ctx: ActorContext) -> None:
        await super().start(ctx)
        cfg = self._config
        self._outbox = Outbox(cfg.targets, size=cfg.queue_size, retry=cfg.retry,
                              publish=ctx.publish, clock=ctx.clock, send=self._send)

    async def handle(self, message: Message) -> Sequence[Message]:
        now = self.ctx.clock()
        if isinstance(message, BotStateReported) and message.bot_id:
            self._bots[message.bot_id] = None
        alerts, self._armed = alerts_for(message, now=now,
                                         fraction=self._config.limit_warning_fraction,
                                         armed=self._armed)
        for alert in alerts:
            if self._fatigue.admit(alert, now):
                self.route(with_bots(alert, sorted(self._bots)))
        return ()

    def route(self, alert: Alert) -> int:
        """Queue ``alert`` for every target that wants it; how many took it."""
        taken = 0
        for target in self._config.targets:
            if wants(target, alert.kind, alert.severity):
                taken += self.outbox.offer(target, alert)
        return taken

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.outbox.run())
            group.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            for summary in self._fatigue.due(self.ctx.clock()):
                self.route(summary)
            self._report_drops()

    def _report_drops(self) -> None:
        outbox = self.outbox
        new = outbox.dropped - self._reported_drops
        if new <= 0:
            return
        self._reported_drops = outbox.dropped
        log.warning("%d alerts dropped: the send queue was full", new)
        with contextlib.suppress(Exception):
            self.ctx.publish(AlertsDropped(count=new, last_kind=outbox.last_dropped_kind,
                                           ts=self.ctx.clock()))

    async def stop(self) -> None:
        """Give the last alerts (the kernel stopping) a bounded time to go out."""
        if self._outbox is None:
            return
        if not await self._outbox.flush(STOP_DRAIN_S):
            log.warning("some alerts were not sent at stop (within %g s)", STOP_DRAIN_S)
        self._report_drops()
