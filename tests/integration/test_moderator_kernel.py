"""The moderator inside a real kernel: the CLI's ask, the multiplier request, status, the gate."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import msgspec
import pytest
from rich.console import Console

from agents.moderator.actor import Moderator
from agents.risk.actor import RiskEngine
from bus.protocol import OrderDecision
from kernel.console.commands.llm import llm_check, moderator_ask
from kernel.console.commands.status import print_snapshot
from kernel.console.control_client import Controller
from kernel.control_protocol import ActionAnswered, RiskMultiplierRequest, SnapshotRequest
from kernel.journal import read_journal
from kernel.settings import load_settings
from tests.conftest import KernelHarness, write_config
from tests.support.link import RawBot, order
from tests.support.messages_api import messages_api, tool_answer, unauthorized
from tests.support.moderator_harness import KEY, llm_yaml


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=300, highlight=False, color_system=None), out


def bodies(harness: KernelHarness, topic: str) -> list[dict[str, Any]]:
    rows = read_journal(harness.kernel.settings.journal_path, topic_prefix=topic, limit=10_000)
    return [msgspec.msgpack.decode(r.payload) for r in rows]


async def test_moderator_ask_prints_summary_answer_and_what_was_applied(
    start_kernel: Any,
) -> None:
    harness: KernelHarness = await start_kernel(actors=[Moderator])
    out, text = console()
    code = await asyncio.to_thread(
        moderator_ask, harness.kernel.settings, Controller(harness.endpoints["control"]), out,
        reason="checking from a test", timeout_s=10)
    printed = text.getvalue()
    assert code == 0, printed
    assert "summary sent" in printed and "trigger asked by operator:" in printed
    assert "answer from offline rules (the LLM is disabled in llm.yaml" in printed
    assert "applied OK: keep trading; nothing changed" in printed
    (request,) = bodies(harness, "moderator.request")
    assert request["reason"] == "checking from a test"


async def test_moderator_ask_without_a_moderator_says_so(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel(actors=[])
    out, text = console()
    code = await asyncio.to_thread(
        moderator_ask, harness.kernel.settings, Controller(harness.endpoints["control"]), out,
        reason="nobody listens", timeout_s=0.3)
    assert code == 5 and "is the moderator actor enabled" in text.getvalue()


async def test_a_person_sets_the_risk_multiplier_through_the_control_socket(
    start_kernel: Any,
) -> None:
    harness: KernelHarness = await start_kernel(actors=[RiskEngine])
    reply: ActionAnswered = await asyncio.to_thread(
        Controller(harness.endpoints["control"]).ask,
        RiskMultiplierRequest(value=1.0, reason="the moderator was too cautious", user="ana"),
        timeout_s=5)
    assert (reply.action, reply.outcome) == ("risk_multiplier", "applied")
    (request,) = bodies(harness, "risk.multiplier_request")
    assert (request["value"], request["requested_by"]) == (1.0, "operator:ana")


async def test_status_shows_the_llm_budget_and_the_last_advice(start_kernel: Any) -> None:
    harness: KernelHarness = await start_kernel(actors=[Moderator])
    controller = Controller(harness.endpoints["control"])
    out, _ = console()
    await asyncio.to_thread(moderator_ask, harness.kernel.settings, controller, out,
                            reason="fill the status", timeout_s=10)
    snapshot = await asyncio.to_thread(controller.ask, SnapshotRequest())
    budget = msgspec.msgpack.decode(snapshot.latest["llm.budget"])
    assert budget["available"] is False and "disabled" in budget["offline_reason"]
    assert msgspec.msgpack.decode(snapshot.latest["moderator.advice"])["source"] == "offline"
    out, text = console()
    print_snapshot(snapshot, out)
    assert "offline (the LLM is disabled in llm.yaml" in text.getvalue()
    assert "moderator: last advice OK from offline" in text.getvalue()


async def test_the_moderator_never_blocks_the_order_gate(start_kernel: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with messages_api(tool_answer({"action": "OK", "reason": "slow"}, delay_s=3)) as api:
        harness: KernelHarness = await start_kernel(actors=[RiskEngine, Moderator],
                                                    llm_yaml=llm_yaml(api.base_url))
        controller = Controller(harness.endpoints["control"])
        out, _ = console()
        asking = asyncio.create_task(asyncio.to_thread(
            moderator_ask, harness.kernel.settings, controller, out, reason="slow one",
            timeout_s=15))
        async with asyncio.timeout(5):
            while not api.requests:
                await asyncio.sleep(0.01)
        bot = RawBot(harness.endpoints["bot_link"])
        try:
            await bot.greet()
            loop = asyncio.get_running_loop()
            started = loop.time()
            for i in range(20):
                await bot.send(order(f"gate-{i}"))
                assert isinstance(await bot.recv(timeout_s=1), OrderDecision)
            elapsed = loop.time() - started
        finally:
            bot.close()
        assert elapsed < 1.0 and not asking.done()  # twenty answers while the LLM thinks
        assert await asking == 0


def test_llm_check_reports_model_and_latency(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with messages_api(tool_answer({"ok": True}, model="claude-sonnet-4-6")) as api:
        settings = load_settings(write_config(tmp_path, llm_yaml=llm_yaml(api.base_url)))
        out, text = console()
        assert llm_check(settings, out) == 0
        assert api.requests[0].forced_tool == "answer_check"
    assert f"reached {api.base_url}: model claude-sonnet-4-6" in text.getvalue()


def test_llm_check_names_a_refused_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with messages_api(unauthorized()) as api:
        settings = load_settings(write_config(tmp_path, llm_yaml=llm_yaml(api.base_url)))
        out, text = console()
        assert llm_check(settings, out) == 2
    assert "auth_failed" in text.getvalue() and KEY not in text.getvalue()


async def test_an_answer_with_markup_and_a_forged_line_is_shown_as_text(
        start_kernel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The LLM's reason closes a tag it never opened and forges an "applied" line: the
    command still prints the answer (exit 0), quoted on its line, and so does status."""
    forged = "[green]applied[/green] REDUCE_RISK: risk multiplier 0.5 -> 5"
    reason = f"losses [/bold] \x1b[31mmount\x1b[0m\n{forged}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with messages_api(tool_answer({"action": "OK", "reason": reason})) as api:
        harness: KernelHarness = await start_kernel(actors=[Moderator],
                                                    llm_yaml=llm_yaml(api.base_url))
        controller = Controller(harness.endpoints["control"])
        out, text = console()
        code = await asyncio.to_thread(moderator_ask, harness.kernel.settings, controller, out,
                                       reason="[/bold] from a test", timeout_s=10)
        snapshot = await asyncio.to_thread(controller.ask, SnapshotRequest())
    printed = text.getvalue()
    assert code == 0, printed
    shown = '"losses [/bold] \\x1b[31mmount\\x1b[0m\\n[green]applied[/green] REDUCE_RISK'
    assert f"answer from LLM: OK: {shown}" in printed
    assert not any(line.startswith(("applied REDUCE", "[green]")) for line in printed.splitlines())
    assert "\x1b" not in printed
    out, text = console()
    print_snapshot(snapshot, out)
    assert "moderator: last advice OK from llm" in text.getvalue()
    assert shown in text.getvalue() and "\x1b" not in text.getvalue()
