"""Sending alerts through Apprise without ever holding the kernel's loop.

Apprise's ``notify`` blocks (an HTTP call, an SMTP session), so each send runs on
a worker thread. Each target has its own bounded queue and worker: a target that
is down (and being retried with backoff) delays no other target, and when a queue
is full the newest alert is dropped and counted rather than the loop waiting.
After the last attempt an ``alert_failed`` event is published (journaled) with the
error, every secret in it masked. Nothing here raises into the actor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from agents.alerts.config import Retry, Target
from agents.alerts.envvars import MissingSecret, expand, redact, secret_values, shown
from agents.alerts.mapping import Alert
from agents.alerts.messages import AlertFailed
from bus.protocol import Message
from kernel.untrusted import one_line

log = logging.getLogger("agents.alerts")
logging.getLogger("apprise").setLevel(logging.CRITICAL)
"""Apprise's own log lines could name a service's address; its errors reach the
journal through ``alert_failed`` instead, masked."""
SEND_TIMEOUT_S = 15.0
FLUSH_NEWEST = 3
"""At stop, the queued alerts each target may still send: the newest (the stop's own)."""


def apprise_module() -> ModuleType:
    """Apprise, imported on first use: 0.1 to 0.3 s that a kernel without alert targets,
    and every short command, need not pay. An :class:`Outbox` with targets imports it
    when it is made, on the loop before any order, so that no sending thread does it
    later while holding the GIL for that long."""
    import apprise

    return apprise


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    error: str = ""


def send_now(urls: Sequence[str], title: str, body: str, *,
             timeout_s: float = SEND_TIMEOUT_S) -> Outcome:
    """Send one message to every URL of one target; blocking. Never raises."""
    secrets = secret_values(urls)
    try:
        apprise = apprise_module()
        notifier = apprise.Apprise()
        for url in urls:
            if not notifier.add(expand(url)):
                return Outcome(False, f"not a URL Apprise knows: {shown(url)}")
        notes: list[str] = []

        def note(entry: Any, _plugin: Any) -> None:
            notes.append(str(getattr(entry, "message", entry)))

        sent = notifier.notify(body=body or title, title=title, timeout=timeout_s,
                               body_format=apprise.NotifyFormat.TEXT, log_callback=note)
    except MissingSecret as exc:
        return Outcome(False, str(exc))
    except Exception as exc:  # a plugin's bug must not end the worker
        return Outcome(False, redact(f"{type(exc).__name__}: {exc}", secrets))
    if sent:
        return Outcome(True)
    said = "; ".join(notes[-3:]) or "the service did not take it"
    return Outcome(False, one_line(redact(said, secrets), 1000))


Send = Callable[[Sequence[str], str, str], Outcome]


class Outbox:
    """One bounded queue and worker per target; :meth:`offer` never waits."""

    def __init__(self, targets: Sequence[Target], *, size: int, retry: Retry,
                 publish: Callable[[Message], None], clock: Callable[[], float],
                 send: Send = send_now) -> None:
        self._targets = list(targets)
        if self._targets:
            apprise_module()
        self._queues = {t.name: asyncio.Queue[Alert](size) for t in self._targets}
        self._retry = retry
        self._publish = publish
        self._clock = clock
        self._send = send
        self.dropped = 0
        self.last_dropped_kind = ""
        self.sent = 0
        self.failed = 0

    def offer(self, target: Target, alert: Alert) -> bool:
        try:
            self._queues[target.name].put_nowait(alert)
        except asyncio.QueueFull:
            self.dropped += 1
            self.last_dropped_kind = alert.kind
            return False
        return True

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for target in self._targets:
                group.create_task(self._work(target))

    async def flush(self, timeout_s: float) -> bool:
        """Send the newest few still queued, one attempt each, all targets at once; bounded.

        For the stop: the workers are gone by then (an alert they were sending goes
        on in its thread), and the last alert (the kernel stopping) must still leave.
        Only the newest :data:`FLUSH_NEWEST` per target are tried, so a long queue to a
        dead service cannot keep threads (and the process's exit) busy; the rest are
        counted as dropped."""
        pending = []
        for target in self._targets:
            queue = self._queues[target.name]
            queued = [queue.get_nowait() for _ in range(queue.qsize())]
            self.dropped += max(0, len(queued) - FLUSH_NEWEST)
            pending += [(target, alert) for alert in queued[-FLUSH_NEWEST:]]
        if not pending:
            return True
        sends = [asyncio.to_thread(self._send, t.urls, a.title, a.body) for t, a in pending]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                outcomes = await asyncio.gather(*sends)
                self.sent += sum(o.ok for o in outcomes)
                return all(o.ok for o in outcomes)
        return False

    async def _work(self, target: Target) -> None:
        queue = self._queues[target.name]
        while True:
            alert = await queue.get()
            try:
                await self._deliver(target, alert)
            finally:
                queue.task_done()

    async def _deliver(self, target: Target, alert: Alert) -> None:
        retry, outcome = self._retry, Outcome(False)
        for attempt in range(1, retry.attempts + 1):
            outcome = await asyncio.to_thread(self._send, target.urls, alert.title, alert.body)
            if outcome.ok:
                self.sent += 1
                return
            if attempt < retry.attempts:
                await asyncio.sleep(min(retry.backoff_max_s,
                                        retry.backoff_initial_s * 2 ** (attempt - 1)))
        self.failed += 1
        log.warning("alert %s to %s failed after %d attempts: %s", alert.kind, target.name,
                    retry.attempts, outcome.error)
        try:
            self._publish(AlertFailed(target=target.name, kind=alert.kind,
                                      attempts=retry.attempts, error=outcome.error[:4000],
                                      ts=self._clock()))
        except Exception:  # a journal that fails is the kernel's to report
            log.exception("could not journal alert_failed")
