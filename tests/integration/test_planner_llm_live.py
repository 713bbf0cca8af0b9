"""The live planner actor in LLM mode: each due TRADE plan is refined before it is published.

The planner actor runs its own loop (``run()``) with a short debounce, a real
journal and a recording emitter; the LLM is the real SDK talking to the local
Messages API server. A refinement that fails the checks publishes the
deterministic plan with the reason in ``warnings``; one that passes is published.
The bot link's ``plan()`` stays deterministic and never calls the LLM.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from agents.planner.actor import PlannerActor
from agents.planner.llm import FALLBACK
from agents.planner.slice import PlannerSlice
from bus.protocol import Message, PlanRequest
from kernel.actor import ActorContext, KernelServices
from kernel.journal import Journal
from kernel.registry import planner_slice
from kernel.settings import load_settings
from planner.messages import TradePlan
from tests.conftest import write_config
from tests.integration.test_planner_actors_handle import NOW, snapshot
from tests.support.messages_api import MessagesApi, messages_api, tool_answer

PLANNER = """\
    live:
      account_size: 10000
      debounce_s: 0.01
    """


def llm_yaml(base_url: str) -> str:
    return (f"base_url: {base_url}\nretries: 0\ntimeout_s: 2\ndeadline_s: 5\n"
            "planner: {enabled: true}\n")


class Recorder:
    """Stands in for the kernel's emitter: every published message, in order."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def emit(self, message: Message, *, topic: str | None = None) -> bytes:
        self.sent.append(message)
        return b""


@dataclass
class Live:
    actor: PlannerActor
    recorder: Recorder
    config: PlannerSlice

    def plans(self) -> list[TradePlan]:
        return [m for m in self.recorder.sent if isinstance(m, TradePlan)]

    async def next_plan(self, seen: int, timeout_s: float = 10.0) -> TradePlan:
        async with asyncio.timeout(timeout_s):
            while len(self.plans()) <= seen:
                await asyncio.sleep(0.01)
        return self.plans()[seen]


@pytest.fixture
def api() -> Iterator[MessagesApi]:
    with messages_api() as server:
        yield server


@pytest.fixture
async def live(tmp_path: Path, api: MessagesApi,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Live]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-planner-key")
    settings = load_settings(write_config(tmp_path, planner_yaml=PLANNER,
                                          llm_yaml=llm_yaml(api.base_url)))
    journal = await Journal.open(tmp_path / "journal.sqlite3")
    config = planner_slice(settings)
    recorder, actor = Recorder(), PlannerActor(config=config)
    services = KernelServices(set_gate=lambda _: None, send_command=lambda *a, **k: 0,
                              request_stop=lambda _: None, set_planner=lambda _: None)
    await actor.start(ActorContext(name=actor.name, emitter=cast(Any, recorder),
                                   journal=journal, clock=lambda: NOW, services=services))
    task = asyncio.create_task(actor.run())
    try:
        yield Live(actor, recorder, config)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await actor.stop()
        await journal.close()


async def test_each_due_trade_plan_is_refined_and_checked_before_it_is_published(
    live: Live, api: MessagesApi,
) -> None:
    assert live.actor.llm is not None
    assert await live.actor.handle(snapshot()) == ()  # planned in run(), after the debounce
    bare = live.actor.book.plan("BTCUSDT", NOW, live.config.planner, live.config.events)
    assert bare.decision == "TRADE" and bare.entry is not None
    zone = bare.entry.zone
    targets = [{"low": t.price_range.low, "high": t.price_range.high} for t in bare.targets]

    api.script(tool_answer({"decision": "TRADE", "narrative": "Chase the breakout.",
                            "targets": [targets[0], {"low": 90_000.0, "high": 91_000.0}]}))
    hallucinated = await live.next_plan(0)
    notes = [w for w in hallucinated.warnings if w.startswith(FALLBACK)]
    assert len(notes) == 1 and "hallucinated level: target 2 low" in notes[0]
    assert hallucinated.targets == bare.targets and hallucinated.entry == bare.entry

    api.script(tool_answer({"decision": "TRADE", "narrative": "Buy the pullback to VWAP.",
                            "entry_zone": {"low": zone.low, "mid": zone.mid, "high": zone.high},
                            "targets": targets}))
    await live.actor.handle(snapshot())
    refined = await live.next_plan(1)
    assert not [w for w in refined.warnings if w.startswith(FALLBACK)]
    assert refined.entry is not None
    assert "Adviser: Buy the pullback to VWAP." in refined.entry.strategy
    assert any("refined by the LLM adviser" in w for w in refined.warnings)
    assert [s.forced_tool for s in api.requests] == ["refine_plan", "refine_plan"]

    served = live.actor.plan(PlanRequest(request_id="p-1", symbol="BTCUSDT"), NOW)
    assert served.entry == bare.entry and len(api.requests) == 2  # the bot link: no LLM
