"""When to try a feed again, and what to journal about it: pure, with time passed in.

A feed that fails is retried after a backoff that doubles from
``backoff_initial_s`` up to ``backoff_max_s``, or later when the vendor said so
(a 429's ``Retry-After``). Its first failure journals ``feed_degraded``; while
it keeps failing the anomaly is repeated at most every ``anomaly_repeat_s``
(with the count), so a dead vendor cannot flood the journal; the first success
after that journals ``feed_recovered`` with how long it was down.
"""

from __future__ import annotations

import msgspec

from kernel.events import AnomalyDetected
from kernel.untrusted import one_line


class Backoff(msgspec.Struct, frozen=True, kw_only=True):
    initial_s: float
    max_s: float
    repeat_s: float
    """An ongoing degradation is journaled again at most this often."""


class FeedHealth(msgspec.Struct, frozen=True, kw_only=True):
    """One feed's standing; ``FeedHealth()`` is a feed never tried."""

    failures: int = 0
    retry_at: float = 0.0
    down_since: float | None = None
    reported_at: float | None = None
    last_error: str = ""
    last_ok: float | None = None

    @property
    def degraded(self) -> bool:
        return self.down_since is not None

    def due(self, now: float) -> bool:
        return now >= self.retry_at


def failed(health: FeedHealth, feed: str, error: str, *, now: float, backoff: Backoff,
           retry_after_s: float | None = None) -> tuple[FeedHealth, AnomalyDetected | None]:
    """The standing after a failure, and the anomaly to journal (None: said recently)."""
    failures = health.failures + 1
    wait = min(backoff.max_s, backoff.initial_s * 2 ** min(failures - 1, 30))
    if retry_after_s is not None:
        wait = max(wait, min(retry_after_s, backoff.max_s))
    error = one_line(error)[:300]
    down_since = health.down_since if health.down_since is not None else now
    new = msgspec.structs.replace(health, failures=failures, retry_at=now + wait,
                                  down_since=down_since, last_error=error)
    if health.reported_at is not None and now - health.reported_at < backoff.repeat_s:
        return new, None
    again = f" ({failures} failures since it went down)" if failures > 1 else ""
    anomaly = AnomalyDetected(
        kind="feed_degraded", severity="warning", ts=now, source="feeds",
        detail=f"feed {feed} failed{again}: {error}; next try in {wait:.0f} s. Plans go on "
               "without its data (Macro counts it as missing) until it recovers.")
    return msgspec.structs.replace(new, reported_at=now), anomaly


def succeeded(health: FeedHealth, feed: str, *, now: float
              ) -> tuple[FeedHealth, AnomalyDetected | None]:
    """The standing after a success, and ``feed_recovered`` when it had been degraded."""
    recovered = FeedHealth(last_ok=now)
    if health.down_since is None:
        return recovered, None
    return recovered, AnomalyDetected(
        kind="feed_recovered", severity="info", ts=now, source="feeds",
        detail=f"feed {feed} recovered after {now - health.down_since:.0f} s and "
               f"{health.failures} failures")


def describe(health: FeedHealth, now: float) -> str:
    """One line for ``kernel status`` and the dashboard."""
    if health.degraded:
        return (f"degraded: {health.last_error} (retry in "
                f"{max(0.0, health.retry_at - now):.0f} s)")
    if health.last_ok is None:
        return "waiting for the first fetch"
    return f"ok, {now - health.last_ok:.0f} s ago"
