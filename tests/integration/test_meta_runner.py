"""The scheduler actor with a fake clock: off-market only, after the start delay, one retry
in the next window, and its history rebuilt from the journal after a restart.

No kernel and no bus: the actor's context journals what it publishes (a real
journal file), the clock is a number the test moves, and the Meta-Agent is the
real external program of ``tests/support/meta_world.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from agents.meta.actor import MetaRunner
from agents.meta.messages import MetaJobFinished
from agents.moderator.messages import PauseStarted
from agents.watchdog.messages import BotStateReported
from bus.codec import encode
from bus.protocol import Message
from kernel.actor import ActorContext, KernelServices
from kernel.emitter import tag_of
from kernel.journal import Journal, JournalEntry
from kernel.registry import meta_slice
from kernel.settings import Settings, load_settings
from tests.support.meta_world import meta_config

pytestmark = pytest.mark.timeout(60)
NOON = datetime(2026, 11, 23, 12, tzinfo=UTC).timestamp()  # a Monday, inside 06:00-22:00
NIGHT = NOON + 11 * 3600  # 23:00, outside
ONLY_CODE_AUDIT = """\
enabled: true
start_delay_s: 300
tick_s: 0.05
timeout_s: 20
trading_hours: [{start: "06:00", end: "22:00"}]
jobs:
  daily-logs: {enabled: false}
  risk-report: {enabled: false}
  code-audit: {enabled: true, every: weekly}
  feature-proposals: {enabled: false}
  retrain: {enabled: false}
"""


class JournalingEmitter:
    """Stands in for the kernel's emitter: every message is journaled and kept."""

    def __init__(self, journal: Journal, clock: Callable[[], float]) -> None:
        self.journal, self.clock, self.sent = journal, clock, cast(list[Message], [])

    def emit(self, message: Message, *, topic: str | None = None) -> bytes:
        self.sent.append(message)
        payload = encode(message)
        self.journal.append(JournalEntry(ts=self.clock(), topic=topic or message.topic,
                                         source="meta", kind=tag_of(message), payload=payload))
        return payload

    async def emit_durable(self, message: Message, *, topic: str | None = None) -> int:
        self.emit(message, topic=topic)
        await self.journal.flush()
        return self.journal.last_seq


class World:
    def __init__(self, settings: Settings, journal: Journal) -> None:
        self.settings, self.journal, self.now = settings, journal, NOON

    @asynccontextmanager
    async def runner(self) -> AsyncIterator[tuple[MetaRunner, JournalingEmitter]]:
        emitter = JournalingEmitter(self.journal, lambda: self.now)
        actor = MetaRunner(config=meta_slice(self.settings))
        services = KernelServices(set_gate=lambda _: None, send_command=lambda *a, **k: 0,
                                  request_stop=lambda _: None)
        await actor.start(ActorContext(name=actor.name, emitter=cast(Any, emitter),
                                       journal=self.journal, clock=lambda: self.now,
                                       services=services))
        try:
            yield actor, emitter
        finally:
            await actor.stop()


@asynccontextmanager
async def world(tmp_path: Path, behaviour: str) -> AsyncIterator[World]:
    settings = load_settings(meta_config(tmp_path, behaviour, meta_yaml=ONLY_CODE_AUDIT))
    journal = await Journal.open(settings.journal_path)
    try:
        yield World(settings, journal)
    finally:
        await journal.close()


def bot(state: str, now: float) -> BotStateReported:
    return BotStateReported(state=state, mode="paper", ts=now)  # type: ignore[arg-type]


def outcomes(emitter: JournalingEmitter) -> list[tuple[str, int]]:
    return [(m.outcome, m.attempt) for m in emitter.sent if isinstance(m, MetaJobFinished)]


async def test_nothing_runs_before_the_start_delay_nor_while_the_bot_trades(
        tmp_path: Path) -> None:
    async with world(tmp_path, "ok") as w, w.runner() as (runner, emitter):
        await runner.handle(bot("running", w.now))
        w.now = NOON + 60
        assert await runner.tick() == []  # within start_delay_s
        w.now = NOON + 600
        assert await runner.tick() == []  # trading hours, the bot trades
        await runner.handle(bot("stopped", w.now))
        [result] = await runner.tick()  # the bot is idle: off-market
        assert result.finished.outcome == "ok"
        assert result.finished.trigger == "schedule"
        assert result.finished.key == "2026-W48"
        assert await runner.tick() == []  # done for this week
        assert outcomes(emitter) == [("ok", 1)]


async def test_a_failed_job_is_retried_once_in_the_next_off_market_window(
        tmp_path: Path) -> None:
    async with world(tmp_path, "fail") as w, w.runner() as (runner, emitter):
        await runner.handle(bot("running", w.now))
        w.now = NIGHT
        [first] = await runner.tick()
        assert (first.finished.outcome, first.finished.will_retry) == ("exit_nonzero", True)
        w.now = NIGHT + 1800
        assert await runner.tick() == []  # same window: no retry yet
        w.now = NOON + 86_400  # the next day, inside hours: the window closes
        assert await runner.tick() == []
        w.now = NIGHT + 86_400  # the next window
        [second] = await runner.tick()
        assert (second.finished.attempt, second.finished.will_retry) == (2, False)
        w.now = NIGHT + 2 * 86_400
        assert await runner.tick() == []  # max_attempts reached for the week
        assert outcomes(emitter) == [("exit_nonzero", 1), ("exit_nonzero", 2)]


async def test_after_a_restart_the_history_comes_back_from_the_journal(tmp_path: Path) -> None:
    async with world(tmp_path, "fail") as w:
        async with w.runner() as (runner, _):
            w.now = NIGHT
            await runner.tick()
        await w.journal.flush()
        async with w.runner() as (again, _):
            assert [(a.job, a.ok) for a in again.history] == [("code-audit", False)]
            w.now = NIGHT + 600  # a new window for this instance: the retry is allowed
            [retry] = await again.tick()
            assert retry.finished.attempt == 2
        await w.journal.flush()
        async with w.runner() as (third, _):
            w.now = NIGHT + 86_400
            assert await third.tick() == []
            assert len(third.history) == 2


async def test_a_pause_journaled_before_the_start_makes_the_market_off(tmp_path: Path) -> None:
    async with world(tmp_path, "ok") as w:
        pause = PauseStarted(request_id="mod-1", minutes=240, until_ts=NOON + 4 * 3600, ts=NOON)
        await w.journal.append_durable(JournalEntry(ts=NOON, topic=pause.topic,
                                                    source="moderator", kind=tag_of(pause),
                                                    payload=encode(pause)))
        async with w.runner() as (runner, _):
            await runner.handle(bot("running", w.now))
            assert runner.activity.paused_until == NOON + 4 * 3600
            w.now = NOON + 600  # trading hours, the bot runs, but it is paused
            [result] = await runner.tick()
            assert result.finished.outcome == "ok"
