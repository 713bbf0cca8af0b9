"""The notifier in a real kernel sends alerts to a local Apprise ``json://`` webhook.

A halt by an operator reaches the webhook with the reason and the command that
lifts it; a markup or HTML reason arrives as the same plain text; a target that
keeps failing is retried and then journaled as ``alert_failed`` without its secret;
the kernel's stop is still sent; ``kernel alerts test`` reports each target.
"""

from __future__ import annotations

import asyncio
import io
import time
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest
from rich.console import Console

from agents.alerts.actor import Notifier
from agents.alerts.config import AlertsConfig, Retry, Target
from agents.alerts.slice import AlertsSlice
from agents.risk.actor import RiskEngine
from kernel.console.commands.alerts import alerts_test
from kernel.console.control_client import ask
from kernel.control_protocol import HaltRequest
from kernel.journal_file import read_journal
from kernel.settings import load_settings
from tests.conftest import KernelHarness, write_config
from tests.support.webhook import Webhook, webhook

SECRET = "s3cr3t-path-token-123"


def notifier(*targets: Target, attempts: int = 2) -> Any:
    config = AlertsConfig(targets=list(targets), repeat_window_s=60,
                          retry=Retry(attempts=attempts, backoff_initial_s=0.05,
                                      backoff_max_s=0.1))
    return partial(Notifier, config=AlertsSlice(alerts=config, config_path=Path("alerts.yaml")))


def target(hook: Webhook, name: str = "hook", **options: Any) -> Target:
    return Target(name=name, urls=[hook.url()], min_severity="info", **options)


async def halt(harness: KernelHarness, reason: str) -> Any:
    return await asyncio.to_thread(ask, harness.endpoints["control"],
                                   HaltRequest(reason=reason, user="ana"))


def rows(harness: KernelHarness, topic: str) -> list[Any]:
    return read_journal(harness.kernel.settings.journal_path, topic_prefix=topic)


async def wait_rows(harness: KernelHarness, topic: str, timeout_s: float = 15) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = rows(harness, topic)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing journaled on {topic}")


async def test_a_halt_reaches_the_webhook_with_its_reason_and_way_out(start_kernel: Any) -> None:
    with webhook() as hook:
        harness = await start_kernel(actors=[RiskEngine, notifier(target(hook))])
        await asyncio.to_thread(hook.wait_for, "Supervisor started")
        await halt(harness, "<b>CPI</b> [bold]in 5 min[/bold]")
        post = await asyncio.to_thread(hook.wait_for, "Trading HALTED")
        assert "halted by hand: <b>CPI</b> [bold]in 5 min[/bold] (by ana)" in post.body["message"]
        assert 'kernel resume --reason "<why>"' in post.body["message"]
        assert post.body["type"] in {"info", "warning", "failure"}
        await harness.stop()
        await asyncio.to_thread(hook.wait_for, "Supervisor stopping")


async def test_a_failing_target_is_retried_then_journaled_without_its_secret(
    start_kernel: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPRISE_TEST_PATH", SECRET)
    with webhook(status=500) as broken, webhook() as good:
        bad = Target(name="broken", urls=[f"json://127.0.0.1:{broken.port}/${{APPRISE_TEST_PATH}}"],
                     min_severity="info")
        harness = await start_kernel(actors=[RiskEngine, notifier(bad, target(good))])
        await halt(harness, "test")
        await asyncio.to_thread(good.wait_for, "Trading HALTED")
        failed = [msgspec.msgpack.decode(r.payload) for r in await wait_rows(harness,
                                                                              "alerts.failed")]
        assert {f["target"] for f in failed} == {"broken"}
        assert all(f["attempts"] == 2 for f in failed)
        assert broken.posts and broken.posts[0].path == f"/{SECRET}"  # it was really tried
        journal = read_journal(harness.kernel.settings.journal_path, limit=100_000)
        assert not any(SECRET.encode() in r.payload for r in journal)


async def test_a_full_queue_drops_and_counts_without_waiting() -> None:
    """A target that hangs holds its worker thread, never the loop; the overflow is dropped."""
    import threading

    from agents.alerts.mapping import Alert
    from agents.alerts.sender import Outbox, Outcome

    release, published = threading.Event(), list[Any]()

    def stuck(urls: Any, title: str, body: str) -> Outcome:
        release.wait(10)
        return Outcome(True)

    hook_target = Target(name="slow", urls=["json://127.0.0.1:1/x"], min_severity="info")
    outbox = Outbox([hook_target], size=2, retry=Retry(attempts=1), publish=published.append,
                    clock=time.time, send=stuck)
    worker = asyncio.create_task(outbox.run())
    alert = Alert(kind="crash_loop", severity="error", key="k", title="t", body="b", ts=1.0)
    taken = [outbox.offer(hook_target, alert) for _ in range(10)]  # returns at once: no await
    await asyncio.sleep(0.1)
    assert taken[:2] == [True, True] and not all(taken)
    assert outbox.dropped >= 7
    release.set()
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker


def test_kernel_alerts_test_reports_each_target(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPRISE_MISSING", raising=False)
    with webhook() as good, webhook(status=500) as bad:
        config = write_config(tmp_path)
        (config / "alerts.yaml").write_text(
            "targets:\n"
            f"  - name: good\n    urls: ['{good.url()}']\n"
            f"  - name: bad\n    urls: ['{bad.url()}']\n"
            "  - name: unset\n    urls: ['json://127.0.0.1:1/${APPRISE_MISSING}']\n",
            encoding="utf-8")
        out = io.StringIO()
        code = alerts_test(load_settings(config), Console(file=out, width=200))
        text = out.getvalue()
        assert code == 1
        assert "sent good" in text
        assert "FAILED bad" in text
        assert "FAILED unset" in text and "APPRISE_MISSING is not set" in text
        assert good.posts[0].body["title"] == "QuantumEdge Supervisor: test alert"


async def test_a_failing_journal_is_one_alert_however_many_orders_it_denies(
    start_kernel: Any,
) -> None:
    import sqlite3

    from bus.protocol import OrderDecision
    from tests.support.link import RawBot, order

    with webhook() as hook:
        harness = await start_kernel(actors=[RiskEngine, notifier(target(hook))])
        bot = RawBot(harness.endpoints["bot_link"])
        await bot.greet()
        blocker = sqlite3.connect(harness.kernel.settings.journal_path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            for n in range(3):
                await bot.send(order(f"locked-{n}"))
                reply = await bot.recv(timeout_s=15)
                assert isinstance(reply, OrderDecision) and reply.code == "journal_unavailable"
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
            bot.close()
        await asyncio.to_thread(hook.wait_for, "Journal unavailable")
        await asyncio.sleep(0.5)
        with hook.lock:
            titles = [p.body["title"] for p in hook.posts]
        assert titles.count("Journal unavailable: orders denied") == 1, titles
