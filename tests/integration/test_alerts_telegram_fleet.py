"""The Telegram command bot in a two-bot kernel (docs/alerts.md, "Bots"; docs/fleet.md).

A named bot's command acts on that bot alone, as ``kernel halt --bot ID`` does; an
unnamed one is the portfolio's and reaches every bot. ``/bots`` is the fleet table
of ``kernel status``; ``/report`` and a resume's limit prompt read each bot's own
risk figures, never whichever bot reported last.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agents.alerts.config import AlertsConfig, TelegramConfig
from agents.alerts.slice import AlertsSlice
from agents.alerts.telegram_bot import TelegramBot
from kernel.console.control_client import ask
from kernel.control_protocol import SnapshotReply, SnapshotRequest
from kernel.journal_file import read_journal
from tests.conftest import KernelHarness
from tests.integration._fleet import FleetEngines, ready
from tests.integration._fleet import ask as order_ask
from tests.integration.test_fleet_switches import TWO, WIDE
from tests.support.fake_telegram import TOKEN, FakeTelegram, fake_telegram

CHAT = 111


class _Bot:
    """The Telegram actor's spec, with the fleet's ids as the composition root gives them."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    def bind(self, settings: Any) -> Any:
        config = AlertsConfig(telegram=TelegramConfig(
            enabled=True, allowed_chats=[CHAT], base_url=self._base_url, poll_timeout_s=0.5))
        slice_ = AlertsSlice(alerts=config, config_path=Path("alerts.yaml"),
                             bots=tuple(b.id for b in settings.paths.bots))
        return lambda: TelegramBot(config=slice_)


@pytest.fixture
async def fleet_world(start_kernel: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    fleet = FleetEngines(["qe-1", "qe-2"])
    with fake_telegram() as api:
        harness: KernelHarness = await start_kernel(actors=[*fleet.specs, _Bot(api.base_url)],
                                                    bots=TWO, risk_yaml=WIDE)
        link = harness.endpoints["bot_link"]
        one = await ready(link, fleet, "qe-1")
        two = await ready(link, fleet, "qe-2", equity=12_000.0)
        try:
            yield harness, api, fleet, one, two
        finally:
            one.close()
            two.close()
            await harness.stop()


async def reply(api: FakeTelegram, text: str, needle: str) -> Any:
    before = len(api.sent)
    api.say(CHAT, text)
    return await asyncio.to_thread(api.wait_sent, CHAT, needle, 20.0, before)


def commands(harness: KernelHarness) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix="operator.command")
    return [msgspec.msgpack.decode(r.payload) for r in rows]


def code_in(text: str) -> str:
    found = re.search(r"/confirm (\d{6})", text)
    assert found, text
    return found.group(1)


async def until_snapshot(harness: KernelHarness, states: dict[str, str]) -> None:
    """The state cache (what the chat's answers read) has each bot's ``trading_state``."""
    deadline = time.monotonic() + 10
    seen: dict[str, str] = {}
    while time.monotonic() < deadline:
        snap: SnapshotReply = await asyncio.to_thread(ask, harness.endpoints["control"],
                                                      SnapshotRequest())
        seen = {b: msgspec.msgpack.decode(p)["trading_state"] for b in states
                if (p := snap.latest.get(f"risk.state/{b}"))}
        if seen == states:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"risk snapshots {seen}, expected {states}")


async def test_a_named_bots_halt_halts_that_bot_only(fleet_world: Any) -> None:
    harness, api, _fleet, one, two = fleet_world
    done = await reply(api, "/halt qe-2 odd fills", "done")
    assert "bot qe-2" in done.text
    assert [(c["action"], c["bot_id"]) for c in commands(harness)] == [("halt", "qe-2")]
    assert (await order_ask(two, "qe-2", "h2", qty=0.001)).code == "halted"
    assert (await order_ask(one, "qe-1", "h1", qty=0.001)).verdict == "ALLOW"
    await until_snapshot(harness, {"qe-1": "ACTIVE", "qe-2": "HALTED"})
    status = await reply(api, "/status", "worst of the bots")
    assert "qe-2: HALTED manual_halt" in status.text and "qe-1: HALTED" not in status.text
    assert 'to lift it: kernel resume --bot qe-2 --reason "<why>"' in status.text
    prompt = await reply(api, "/resume qe-2 checked", "/confirm")
    assert "halted by a limit" not in prompt.text  # a manual halt: no limit to re-arm
    await reply(api, f"/confirm {code_in(prompt.text)}", "done: resume trading (bot qe-2)")
    assert [(c["action"], c["bot_id"]) for c in commands(harness)][-1] == ("resume", "qe-2")
    assert (await order_ask(two, "qe-2", "h3", qty=0.001)).verdict == "ALLOW"


async def test_an_unnamed_halt_is_the_portfolios(fleet_world: Any) -> None:
    harness, api, _fleet, one, two = fleet_world
    done = await reply(api, "/halt CPI in a minute", "done")
    assert "every bot" in done.text and "bot:qe-1: applied" in done.text \
        and "bot:qe-2: applied" in done.text
    assert sorted(c["bot_id"] for c in commands(harness)) == ["qe-1", "qe-2"]
    assert (await order_ask(one, "qe-1", "p1", qty=0.001)).code == "halted"
    assert (await order_ask(two, "qe-2", "p2", qty=0.001)).code == "halted"


async def test_bots_lists_the_fleet_and_report_each_bots_figures(fleet_world: Any) -> None:
    harness, api, _fleet, _one, _two = fleet_world
    await reply(api, "/halt qe-1 pause", "done")
    await until_snapshot(harness, {"qe-1": "HALTED", "qe-2": "ACTIVE"})
    listed = await reply(api, "/bots", "portfolio:")
    lines = listed.text.splitlines()
    assert lines[0].startswith("qe-1: HALTED") and lines[1].startswith("qe-2: ACTIVE")
    assert "equity 10,000.00" in lines[0] and "equity 12,000.00" in lines[1]
    assert all("PnL today +0.00" in line and "heartbeat" in line and "restarts 0" in line
               for line in lines[:2])
    assert lines[2].startswith("portfolio: HALTED (worst), equity 22,000.00")
    one = await reply(api, "/report qe-2", "day")
    assert one.text.startswith("qe-2: day") and "qe-1" not in one.text
    assert "equity 12000" in one.text
    both = await reply(api, "/report", "day")
    assert "qe-1: day" in both.text and "qe-2: day" in both.text


async def test_an_unknown_bot_is_refused_with_the_fleets_ids(fleet_world: Any) -> None:
    harness, api, _fleet, _one, _two = fleet_world
    sent = await reply(api, "/halt qe-9 news", "no bot qe-9 here")
    assert "bots: qe-1, qe-2" in sent.text and "nothing was done" in sent.text
    assert commands(harness) == []
