"""An actor's inbox holds at most its ``inbox_frames``: past it, frames are dropped,
counted and reported as ``subscriber_behind``, in a real kernel with a real bot link."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from agents.audit.actor import Auditor
from bus.protocol import Message, OrderDecision
from kernel.actor import Actor
from tests.conftest import KernelHarness
from tests.integration._risk_link import journal_bodies, until
from tests.support.link import RawBot, order


class StuckListener(Actor):
    """Reads one decision, then holds its turn until released: every later one waits."""

    name: ClassVar[str] = "stuck_listener"
    subscriptions: ClassVar[tuple[str, ...]] = ("order.decision",)
    inbox_frames: ClassVar[int] = 4
    release: ClassVar[asyncio.Event]

    async def handle(self, message: Message) -> Sequence[Message]:
        await self.release.wait()
        return ()


async def test_frames_past_an_actors_inbox_bound_are_dropped_and_reported(
    start_kernel: Any,
) -> None:
    StuckListener.release = asyncio.Event()
    harness: KernelHarness = await start_kernel(actors=[StuckListener])
    bot = RawBot(harness.endpoints["bot_link"])
    try:
        await bot.greet()
        for n in range(12):  # denied (no risk engine), and each decision is published
            await bot.send(order(f"o{n}"))
            assert isinstance(await bot.recv(timeout_s=15), OrderDecision)
        StuckListener.release.set()  # it reads on, and says what it lost
        await until(lambda: [a for a in journal_bodies(harness, "anomaly")
                             if a["kind"] == "subscriber_behind"], "subscriber_behind",
                    timeout_s=15.0)
    finally:
        bot.close()
    behind = [a for a in journal_bodies(harness, "anomaly") if a["kind"] == "subscriber_behind"]
    assert behind[0]["source"] == "stuck_listener"
    # four waiting, one in handle (unless the twelve came before its first turn): the
    # rest were dropped, and said so
    assert re.search(r"\b[78] frames dropped \([78] in all", behind[0]["detail"]), behind[0]


def test_the_auditors_inbox_is_smaller_than_the_default() -> None:
    """Its live rules are the only reader of its frames that may fall behind (the daily
    audit reads the journal): a flood costs it findings, not a hundred MB kept."""
    assert Auditor.inbox_frames == 20_000 < Actor.inbox_frames
