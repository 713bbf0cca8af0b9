"""An external bot (no command in ``bots:``) is not started, but watched: its state is
reported under its id, and its silence is said once, then its return."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from kernel.journal import read_journal
from kernel.registry import watchdogs
from tests.conftest import KernelHarness
from tests.integration._fleet import Shipped, beat_of
from tests.support.link import RawBot


def journaled(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic,
                        limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


async def _until(predicate: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_an_external_bots_silence_is_reported_once(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel(actors=[Shipped(watchdogs, 0)],
                                                bots="- {id: far-1}\n")
    await _until(lambda: any(s["bot_id"] == "far-1" for s in journaled(harness, "bot.state")))
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.greet("far-1")
        await bot.send(beat_of("far-1", 1))
        await _until(lambda: any(a["kind"] == "bot_silent" for a in journaled(harness, "anomaly")))
        await asyncio.sleep(1.2)  # several reports later: still said once
        silent = [a for a in journaled(harness, "anomaly") if a["kind"] == "bot_silent"]
        await bot.send(beat_of("far-1", 2))
        await _until(lambda: any(a["kind"] == "bot_heard_again"
                                 for a in journaled(harness, "anomaly")))
    finally:
        bot.close()
    assert len(silent) == 1 and "far-1: no heartbeat for" in silent[0]["detail"]
    assert "cannot restart it" in silent[0]["detail"]
    states = [s["state"] for s in journaled(harness, "bot.state") if s["bot_id"] == "far-1"]
    assert "external" in states
