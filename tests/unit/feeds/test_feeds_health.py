"""Backoff and the degraded/recovered anomalies: rate-limited, with the vendor's Retry-After."""

from __future__ import annotations

from agents.feeds.health import Backoff, FeedHealth, describe, failed, succeeded

POLICY = Backoff(initial_s=5, max_s=60, repeat_s=300)


def test_failures_back_off_doubling_up_to_the_cap() -> None:
    health, waits = FeedHealth(), []
    for i in range(6):
        health, _ = failed(health, "massive", "boom", now=1000.0 + i, backoff=POLICY)
        waits.append(health.retry_at - (1000.0 + i))
    assert waits == [5, 10, 20, 40, 60, 60]
    assert not health.due(1005.0 + 59) and health.due(1005.0 + 60)


def test_retry_after_is_honoured_within_the_cap() -> None:
    health, _ = failed(FeedHealth(), "massive", "429", now=0.0, backoff=POLICY, retry_after_s=30)
    assert health.retry_at == 30
    health, _ = failed(FeedHealth(), "massive", "429", now=0.0, backoff=POLICY,
                       retry_after_s=10_000)
    assert health.retry_at == 60


def test_degraded_is_journaled_once_per_repeat_window_with_the_count() -> None:
    health, first = failed(FeedHealth(), "crypto", "timeout", now=0.0, backoff=POLICY)
    assert first is not None and first.kind == "feed_degraded" and first.severity == "warning"
    assert "feed crypto failed: timeout; next try in 5 s" in first.detail
    anomalies = []
    for t in range(10, 300, 10):
        health, anomaly = failed(health, "crypto", "timeout", now=float(t), backoff=POLICY)
        anomalies.append(anomaly)
    assert anomalies == [None] * len(anomalies)
    health, again = failed(health, "crypto", "timeout", now=301.0, backoff=POLICY)
    assert again is not None and "31 failures since it went down" in again.detail


def test_recovery_is_journaled_once_with_how_long_it_was_down() -> None:
    health, _ = failed(FeedHealth(), "massive", "x", now=100.0, backoff=POLICY)
    health, _ = failed(health, "massive", "x", now=110.0, backoff=POLICY)
    health, anomaly = succeeded(health, "massive", now=160.0)
    assert anomaly is not None and anomaly.kind == "feed_recovered"
    assert anomaly.detail == "feed massive recovered after 60 s and 2 failures"
    assert not health.degraded and health.last_ok == 160.0
    _, quiet = succeeded(health, "massive", now=170.0)
    assert quiet is None


def test_an_error_is_shown_on_one_line() -> None:
    health, anomaly = failed(FeedHealth(), "massive", "bad\nline\x1b[31m", now=0.0, backoff=POLICY)
    assert anomaly is not None and "\n" not in anomaly.detail and "\x1b" not in anomaly.detail
    assert describe(health, 2.0).startswith("degraded: bad")
    assert describe(FeedHealth(), 0.0) == "waiting for the first fetch"
