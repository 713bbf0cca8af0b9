"""The moderator's own task: triggers, the interval, its pause ending, and restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents.moderator.messages import (
    AdviceApplied,
    ModeratorAdviceGiven,
    PauseEnded,
    PauseStarted,
)
from bus.codec import encode
from kernel.journal import JournalEntry
from risk.messages import TradingStateChanged
from tests.support.moderator_harness import ModeratorWorld, moderator_world
from tests.support.moderator_world import NOW, bot, risk

OFFLINE = "enabled: false\n"
TRIGGERED = ("interval_s: 0\nmin_gap_s: 0\n"
             "triggers: {on_halt: true, daily_loss_fraction: 0.5, loss_streak: 3}\n")


async def until(predicate: object, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def running(world: ModeratorWorld) -> asyncio.Task[None]:
    task = asyncio.create_task(world.moderator.run())
    await asyncio.sleep(0)
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_halt_triggers_a_moderation_at_once(tmp_path: Path) -> None:
    async with moderator_world(tmp_path, llm=OFFLINE, moderator=TRIGGERED) as world:
        task = await running(world)
        try:
            await world.feed(risk(), TradingStateChanged(
                previous="ACTIVE", current="HALTED", by="limits", cause="daily loss", ts=NOW))
            await until(lambda: world.of(ModeratorAdviceGiven))
        finally:
            await stop(task)
        (advice,) = world.of(ModeratorAdviceGiven)
        assert advice.trigger == "trading halted: daily loss" and advice.source == "offline"


async def test_a_burst_of_triggers_is_one_moderation(tmp_path: Path) -> None:
    async with moderator_world(tmp_path, llm=OFFLINE, moderator=TRIGGERED) as world:
        await world.feed(risk(daily_loss=200, losses=3, state="HALTED"))
        task = await running(world)
        try:
            await until(lambda: world.of(AdviceApplied))
            await asyncio.sleep(0.05)
        finally:
            await stop(task)
        (advice,) = world.of(ModeratorAdviceGiven)
        assert advice.trigger == ("trading halted; daily loss at 67% of its limit; 3 losing "
                                  "trades in a row")


async def test_the_interval_asks_periodically(tmp_path: Path) -> None:
    async with moderator_world(tmp_path, llm=OFFLINE, moderator="interval_s: 0.05\n") as world:
        task = await running(world)
        try:
            await until(lambda: len(world.of(ModeratorAdviceGiven)) >= 2)
        finally:
            await stop(task)
        assert {a.trigger for a in world.of(ModeratorAdviceGiven)} == {"periodic"}


async def test_the_moderators_pause_ends_with_a_resume(tmp_path: Path) -> None:
    async with moderator_world(tmp_path, llm=OFFLINE) as world:
        await world.feed(risk(drawdown=450), bot("paper"))  # offline rules: PAUSE
        task = await running(world)
        try:
            await world.moderator.moderate("test")
            assert [c.action for c in world.commands] == ["pause"]
            world.now += 31 * 60
            world.moderator._wake.set()
            await until(lambda: world.of(PauseEnded))
        finally:
            await stop(task)
        assert [c.action for c in world.commands] == ["pause", "resume"]
        assert world.of(PauseEnded)[0].request_id == world.of(PauseStarted)[0].request_id


async def test_a_restarted_moderator_resumes_its_pause_and_tells_a_new_bot(
    tmp_path: Path,
) -> None:
    async with moderator_world(tmp_path, llm=OFFLINE) as first:
        pause = PauseStarted(request_id="mod-1", minutes=30, until_ts=NOW + 1800, ts=NOW)
        await first.journal.append_durable(JournalEntry(
            ts=NOW, topic=pause.topic, source="moderator", kind="moderator_pause_started",
            payload=encode(pause)))
    async with moderator_world(tmp_path, llm=OFFLINE) as world:
        assert world.moderator.effects.pause_until == NOW + 1800
        await world.feed(bot("paper", pid=1), bot("paper", pid=1), bot("paper", pid=2))
        assert [c.action for c in world.commands] == ["pause", "pause"]


async def test_a_starting_moderator_takes_the_newest_state_from_the_journal(
    tmp_path: Path,
) -> None:
    async with moderator_world(tmp_path, llm=OFFLINE) as first:
        for message in (risk(multiplier=0.7, losses=2), bot("demo", pid=77)):
            await first.journal.append_durable(JournalEntry(
                ts=NOW, topic=message.topic, source="risk", kind="x", payload=encode(message)))
    async with moderator_world(tmp_path, llm=OFFLINE) as world:
        advice = await world.moderator.moderate("test")
        assert advice.summary.bounds.current_multiplier == 0.7
        assert advice.summary.mode == "demo" and advice.summary.stats.loss_streak == 2
