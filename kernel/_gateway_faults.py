"""Reporting bad input from bots without letting a flood of it flood the journal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec

from kernel.bounded import BoundedDict
from kernel.emitter import Emitter
from kernel.events import AnomalyDetected, Severity

log = logging.getLogger("kernel.gateway")

_PER_SECOND = 20
"""Anomalies of one kind journaled per second; the rest are counted and summarised."""
KINDS_KEPT = 256
"""Kinds counted at once. The kinds are the gateway's own codes (a few dozen), never a
bot's words; the bound only makes that a checked fact rather than a hope."""


class FaultReporter:
    """Publishes ``anomaly`` events, rate-limited per kind, never dropping the count."""

    def __init__(self, emitter: Emitter, clock: Callable[[], float]) -> None:
        self._emitter = emitter
        self._clock = clock
        # kind -> (second, sent, suppressed)
        self._window: BoundedDict[str, tuple[int, int, int]] = BoundedDict(KINDS_KEPT)
        self.counts: BoundedDict[str, int] = BoundedDict(KINDS_KEPT)

    def report(self, kind: str, severity: Severity, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        now = self._clock()
        second = int(now)
        window_second, sent, suppressed = self._window.get(kind, (second, 0, 0))
        if window_second != second:
            sent = 0
        if sent >= _PER_SECOND:
            self._window[kind] = (second, sent, suppressed + 1)
            return
        if suppressed:
            detail = f"{detail} (+{suppressed} more of this kind not itemised)"
        self._window[kind] = (second, sent + 1, 0)
        # Not logged here: the console log tells every journaled anomaly once (_narrator.py).
        try:
            self._emitter.emit(AnomalyDetected(kind=kind, severity=severity, ts=now,
                                               source=self._emitter.source,
                                               detail=detail[:4096]))
        except Exception as exc:  # a failed journal must not stop the answer that follows
            log.error("anomaly %s could not be journaled: %s", kind, exc)


def salvage_request_id(frame: bytes) -> tuple[str | None, str]:
    """If an undecodable frame still looks like an order_request, return its id
    (and bot_id) so that it can be answered with an explicit DENY."""
    try:
        raw: Any = (msgspec.json.decode(frame) if frame[:1] == b"{"
                    else msgspec.msgpack.decode(frame))
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None, ""
    if not isinstance(raw, dict) or raw.get("type") != "order_request":
        return None, ""
    request_id, bot_id = raw.get("request_id"), raw.get("bot_id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 128:
        return None, ""
    return request_id, bot_id if isinstance(bot_id, str) and len(bot_id) <= 128 else ""
