"""The Telegram command bot against a local fake Bot API server, in a real kernel.

A person's messages are scripted on the fake server; the bot long-polls it, answers
through it, and carries commands out through the control socket's handlers, so the
journal shows them as the terminal's commands are shown, with the chat as the user.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agents.alerts.config import AlertsConfig, TelegramConfig
from agents.alerts.slice import AlertsSlice
from agents.alerts.telegram_bot import TelegramBot
from agents.risk.actor import RiskEngine
from kernel.console.control_client import ask
from kernel.control_protocol import SnapshotReply, SnapshotRequest, StatusReply, StatusRequest
from kernel.journal_file import read_journal
from tests.conftest import KernelHarness
from tests.integration._risk_link import RISK_YAML, Engines, beat, heartbeat, ready_bot
from tests.support.fake_telegram import TOKEN, FakeTelegram, fake_telegram
from tests.support.processes import free_ports

ALLOWED, STRANGER = 111, 999
INJECTED = '<b>CPI</b> *now* [x](http://evil.example) `code` _u_'


class Clock:
    """The confirmation window's clock: real time plus what the test skips."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped


@pytest.fixture
async def world(start_kernel: Any, monkeypatch: pytest.MonkeyPatch,
                caplog: pytest.LogCaptureFixture) -> Any:
    """A kernel with the bot polling the fake server; afterwards, no log line held the
    token (httpx logs every request's URL, and the Bot API puts the token in it)."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    clock = Clock()
    with fake_telegram() as api:
        config = AlertsConfig(telegram=TelegramConfig(
            enabled=True, allowed_chats=[ALLOWED], base_url=api.base_url, poll_timeout_s=0.5))
        bot = partial(TelegramBot, config=AlertsSlice(alerts=config,
                                                      config_path=Path("alerts.yaml")),
                      clock=clock)
        harness = await start_kernel(actors=[RiskEngine, bot])
        yield harness, api, clock
        await harness.stop()
    assert "getUpdates" in caplog.text  # the libraries did log their requests...
    assert TOKEN not in caplog.text  # ...with the token masked
    journal = read_journal(harness.kernel.settings.journal_path, limit=100_000)
    assert not any(TOKEN.encode() in r.payload for r in journal)


async def reply(api: FakeTelegram, chat: int, text: str, needle: str) -> Any:
    """The answer to ``text`` (an earlier answer with the same words does not count)."""
    before = len(api.sent)
    api.say(chat, text)
    return await asyncio.to_thread(api.wait_sent, chat, needle, 20.0, before)


async def journaled(harness: KernelHarness, topic: str) -> list[Any]:
    deadline = time.monotonic() + 10
    while not (rows := read_journal(harness.kernel.settings.journal_path, topic_prefix=topic)):
        assert time.monotonic() < deadline, f"nothing journaled on {topic}"
        await asyncio.sleep(0.05)
    return rows


def commands(harness: KernelHarness) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix="operator.command")
    return [msgspec.msgpack.decode(r.payload) for r in rows]


async def trading_state(harness: KernelHarness) -> str:
    status: StatusReply = await asyncio.to_thread(ask, harness.endpoints["control"],
                                                  StatusRequest())
    return status.trading_state


def code_in(text: str) -> str:
    found = re.search(r"/confirm (\d{6})", text)
    assert found, text
    return found.group(1)


async def test_a_stranger_gets_no_answer_and_is_journaled(world: Any) -> None:
    harness, api, _ = world
    api.say(STRANGER, "/halt let me in")
    await reply(api, ALLOWED, "/status", "trading")  # handled after the stranger's
    assert api.sent_to(STRANGER) == []
    assert commands(harness) == []
    refused = await journaled(harness, "alerts.chat_refused")
    body = msgspec.msgpack.decode(refused[0].payload)
    assert (body["chat_id"], body["user"], body["text"]) == (STRANGER, "ana", "/halt let me in")


async def test_a_halt_is_journaled_like_the_terminals_with_markup_as_plain_text(
    world: Any,
) -> None:
    harness, api, _ = world
    sent = await reply(api, ALLOWED, f"/halt {INJECTED}", "done")
    assert "parse_mode" not in sent.params  # plain text: nothing in it is formatted
    assert INJECTED.replace('"', '\\"') in sent.text
    (command,) = commands(harness)
    assert (command["action"], command["reason"], command["user"]) == (
        "halt", INJECTED, f"telegram:{ALLOWED}:ana")
    assert await trading_state(harness) == "HALTED"


async def test_a_resume_waits_for_its_confirmation(world: Any) -> None:
    harness, api, _ = world
    await reply(api, ALLOWED, "/halt news", "done")
    prompt = await reply(api, ALLOWED, "/resume news over", "/confirm")
    assert prompt.params.get("reply_markup"), "a Confirm button comes with the code"
    await asyncio.sleep(0.5)
    assert [c["action"] for c in commands(harness)] == ["halt"]  # nothing yet
    assert await trading_state(harness) == "HALTED"
    done = await reply(api, ALLOWED, f"/confirm {code_in(prompt.text)}", "done")
    assert "resume trading" in done.text
    _halt, resume = commands(harness)
    assert (resume["action"], resume["confirmed"], resume["user"]) == (
        "resume", True, f"telegram:{ALLOWED}:ana")
    again = await reply(api, ALLOWED, f"/confirm {code_in(prompt.text)}", "no command waits")
    assert "nothing was done" in again.text


async def test_a_confirmation_too_late_does_nothing(world: Any) -> None:
    harness, api, clock = world
    await reply(api, ALLOWED, "/halt news", "done")
    prompt = await reply(api, ALLOWED, "/closeall flatten", "/confirm")
    clock.skipped = 61.0
    late = await reply(api, ALLOWED, f"/confirm {code_in(prompt.text)}", "expired")
    assert "nothing was done" in late.text
    assert [c["action"] for c in commands(harness)] == ["halt"]


async def test_the_button_confirms_and_another_chats_code_does_not(world: Any) -> None:
    harness, api, _ = world
    await reply(api, ALLOWED, "/halt news", "done")
    prompt = await reply(api, ALLOWED, "/resume ok", "/confirm")
    before = len(api.sent)
    api.press(ALLOWED, f"confirm:{code_in(prompt.text)}")
    await asyncio.to_thread(api.wait_sent, ALLOWED, "done: resume trading", 20.0, before)
    assert [c["action"] for c in commands(harness)] == ["halt", "resume"]
    assert await trading_state(harness) != "HALTED"


async def test_an_unknown_bot_is_refused_and_nothing_is_done(world: Any) -> None:
    harness, api, _ = world
    sent = await reply(api, ALLOWED, "/halt qe-9 news", "no bot qe-9 here")
    assert "nothing was done" in sent.text
    assert commands(harness) == []
    words = await reply(api, ALLOWED, "/halt stop-loss hit hard", "done")  # not an id
    assert "stop-loss hit hard" in words.text


async def test_queries_and_help(world: Any) -> None:
    _, api, _ = world
    status = await reply(api, ALLOWED, "/status", "trading")
    assert "gate" in status.text and "journal #" in status.text
    await reply(api, ALLOWED, "/bots", "no bot connected")
    await reply(api, ALLOWED, "/help", "/confirm CODE")
    await reply(api, ALLOWED, "/mode demo", "demo is switched at the terminal")
    await reply(api, ALLOWED, "/frobnicate", "unknown command")


async def test_a_resume_after_a_limit_halt_says_so_and_is_sent_confirmed(
    start_kernel: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The terminal asks y/N here (or takes --yes); the chat's confirmation is that."""
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    engines = Engines()
    with fake_telegram() as api:
        config = AlertsConfig(telegram=TelegramConfig(
            enabled=True, allowed_chats=[ALLOWED], base_url=api.base_url, poll_timeout_s=0.5))
        bot = partial(TelegramBot, config=AlertsSlice(alerts=config,
                                                      config_path=Path("alerts.yaml")))
        harness = await start_kernel(actors=[engines, bot], risk_yaml=RISK_YAML)
        raw = await ready_bot(harness, engines, heartbeat(
            1, positions=[("BTCUSDT", 0.1, 50_000.0, 50_000.0)]))
        try:
            await beat(raw, engines, heartbeat(2, equity=9_650.0, marks={"BTCUSDT": 46_500.0},
                                               positions=[("BTCUSDT", 0.1, 50_000.0,
                                                           46_500.0)]))
            assert engines.current.state.trading_state == "HALTED"  # 350 USDT down
            await until_snapshot_halted(harness)
            prompt = await reply(api, ALLOWED, "/resume reviewed the loss", "/confirm")
            assert "halted by a limit" in prompt.text and "daily_loss" in prompt.text
            assert engines.current.state.trading_state == "HALTED"
            done = await reply(api, ALLOWED, f"/confirm {code_in(prompt.text)}", "done")
            assert "trading ACTIVE" in done.text
            resume = commands(harness)[-1]
            assert (resume["action"], resume["confirmed"]) == ("resume", True)
        finally:
            raw.close()
            await harness.stop()


async def until_snapshot_halted(harness: KernelHarness) -> None:
    """The state cache (what /resume reads) has the engine's HALTED snapshot."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reply_: SnapshotReply = await asyncio.to_thread(ask, harness.endpoints["control"],
                                                        SnapshotRequest())
        payload = reply_.latest.get("risk.state")
        if payload and msgspec.msgpack.decode(payload)["trading_state"] == "HALTED":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no HALTED risk snapshot in the state cache")


async def test_an_unreachable_telegram_does_not_stop_the_kernel_and_is_retried(
    start_kernel: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    (port,) = free_ports(1)
    config = AlertsConfig(telegram=TelegramConfig(
        enabled=True, allowed_chats=[ALLOWED], base_url=f"http://127.0.0.1:{port}",
        poll_timeout_s=0.5))
    bot = partial(TelegramBot, config=AlertsSlice(alerts=config, config_path=Path("a.yaml")),
                  retry_s=0.2)
    harness = await start_kernel(actors=[RiskEngine, bot])  # ready although nobody answers
    try:
        assert await trading_state(harness) in {"ACTIVE", "REDUCING"}
        with fake_telegram(port) as api:  # Telegram is back
            await reply(api, ALLOWED, "/status", "trading")
    finally:
        await harness.stop()
