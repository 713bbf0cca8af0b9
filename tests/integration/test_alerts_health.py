"""``/health`` and ``/metrics`` of a real kernel, over loopback HTTP.

``/health`` is 200 while the gate is open and the journal writes, 503 with a JSON
body saying why when the gate is closed or the journal fails (a write lock held by
another connection, as in test_audit_failures.py); ``/metrics`` is parsed with
prometheus_client's own parser. A non-loopback bind without a token is refused at
start; with a token, requests without it get 401.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agents.alerts.config import AlertsConfig, HealthConfig
from agents.alerts.health import HealthServer
from agents.alerts.slice import AlertsSlice
from agents.risk.actor import RiskEngine
from bus.protocol import OrderDecision
from kernel.console.control_client import ask
from kernel.control_protocol import HaltRequest
from kernel.registry import watchdogs
from tests.integration._fleet import FleetEngines, Shipped, ready
from tests.integration._fleet import ask as order_ask
from tests.integration._risk_link import heartbeat
from tests.support.link import RawBot, order


class Health:
    """A factory that keeps the instance, so the test knows the port it bound."""

    def __init__(self, bots: tuple[str, ...] = (), **options: Any) -> None:
        config = AlertsConfig(health=HealthConfig(enabled=True, **{"port": 0, **options}))
        self.slice = AlertsSlice(alerts=config, config_path=Path("config/alerts.yaml"),
                                 bots=bots)
        self.actor: HealthServer | None = None

    def __call__(self) -> HealthServer:
        self.actor = HealthServer(config=self.slice)
        return self.actor

    @property
    def url(self) -> str:
        assert self.actor is not None
        return f"http://127.0.0.1:{self.actor.port}"


def get(url: str, token: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                     if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def health(server: Health, token: str = "") -> tuple[int, dict[str, Any]]:
    code, body = await asyncio.to_thread(get, f"{server.url}/health", token)
    return code, json.loads(body)


def samples(text: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


async def test_healthy_then_metrics_count_a_decision(start_kernel: Any) -> None:
    server = Health()
    kernel = await start_kernel(actors=[RiskEngine, server])
    code, body = await health(server)
    assert code == 200, body
    assert body["status"] == "ok" and body["problems"] == []
    request = urllib.request.Request(f"{server.url}/health", method="HEAD")
    with await asyncio.to_thread(urllib.request.urlopen, request, timeout=10) as head:
        assert head.status == 200 and head.read() == b""  # for monitors that only knock
    assert body["gate"] != "ClosedGate" and body["trading_state"] in {"ACTIVE", "REDUCING"}
    bot = RawBot(kernel.endpoints["bot_link"])
    try:
        await bot.greet()
        await bot.send(heartbeat(1))
        await bot.send(order("m1"))
        decision = await bot.recv(timeout_s=15)
        assert isinstance(decision, OrderDecision)
    finally:
        bot.close()
    deadline = time.monotonic() + 10
    while True:
        code, raw = await asyncio.to_thread(get, f"{server.url}/metrics")
        found = samples(raw.decode())
        decided = [s for s in found.get("qe_decisions_total", [])
                   if s.labels == {"verdict": decision.verdict, "code": decision.code}]
        if (decided and "qe_heartbeat_age_seconds" in found) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert code == 200 and decided and decided[0].value == 1
    assert found["qe_journal_rows"][0].value > 0
    assert next(s.value for s in found["qe_journal_commit_seconds_count"]) > 0
    assert any(s.labels.get("scope") == "global" for s in found["qe_trading_state"])
    assert "qe_decision_latency_seconds_bucket" in found
    (age,) = found["qe_heartbeat_age_seconds"]
    assert age.labels == {"bot": "qe-1"} and 0 <= age.value < 60


async def test_the_health_is_503_with_the_journal_failing_and_recovers(start_kernel: Any) -> None:
    server = Health()
    kernel = await start_kernel(actors=[RiskEngine, server])
    path = kernel.kernel.settings.journal_path
    bot = RawBot(kernel.endpoints["bot_link"])
    await bot.greet()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        await bot.send(order("while-locked"))
        reply = await bot.recv(timeout_s=15)
        assert isinstance(reply, OrderDecision) and reply.code == "journal_unavailable"
        code, body = await health(server)
        assert code == 503, body
        assert body["status"] == "failing"
        assert any(p.startswith("journal: ") and "database is locked" in p
                   for p in body["problems"])
        blocker.execute("ROLLBACK")
        deadline = time.monotonic() + 15
        while (code := (await health(server))[0]) != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert code == 200
    finally:
        blocker.close()
        bot.close()


async def test_without_a_risk_engine_the_gate_is_closed_and_health_says_so(
    start_kernel: Any,
) -> None:
    server = Health()
    await start_kernel(actors=[server])
    code, body = await health(server)
    assert code == 503
    assert body["gate"] == "ClosedGate"
    assert any(p.startswith("gate: closed") for p in body["problems"])


async def test_a_non_loopback_bind_without_a_token_is_refused(start_kernel: Any) -> None:
    with pytest.raises(AssertionError, match=r"health.bind is '0.0.0.0'.*Fix: bind 127.0.0.1"):
        await start_kernel(actors=[Health(bind="0.0.0.0")])


async def test_with_a_token_every_request_needs_it(start_kernel: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPRISE_HEALTH_TOKEN", "t0ken-for-metrics")
    server = Health(auth_token="${APPRISE_HEALTH_TOKEN}")
    await start_kernel(actors=[RiskEngine, server])
    code, _ = await asyncio.to_thread(get, f"{server.url}/metrics")
    assert code == 401
    code, _ = await asyncio.to_thread(get, f"{server.url}/metrics", "wrong")
    assert code == 401
    code, raw = await asyncio.to_thread(get, f"{server.url}/metrics", "t0ken-for-metrics")
    assert code == 200 and b"qe_journal_rows" in raw


async def test_a_port_in_use_is_a_start_failure_that_names_the_field(start_kernel: Any) -> None:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        with pytest.raises(AssertionError, match=r"health.bind 127.0.0.1 port \d+: cannot "
                                                 r"listen .*choose another health.port"):
            await start_kernel(actors=[Health(port=holder.getsockname()[1])])
    finally:
        holder.close()


async def test_a_fleet_has_a_trading_state_per_bot_and_the_portfolio(start_kernel: Any) -> None:
    """Each bot's state from its own engine, never the newest of any bot; heartbeat age
    and restarts per bot, in /metrics and in /health's body."""
    fleet = FleetEngines(["qe-1", "qe-2"])
    server = Health(bots=("qe-1", "qe-2"))
    kernel = await start_kernel(actors=[*fleet.specs, Shipped(watchdogs, 0),
                                        Shipped(watchdogs, 1), server],
                                bots="- {id: qe-1}\n- {id: qe-2}\n")
    link = kernel.endpoints["bot_link"]
    one, two = await ready(link, fleet, "qe-1"), await ready(link, fleet, "qe-2")
    try:
        await asyncio.to_thread(ask, kernel.endpoints["control"], HaltRequest(
            reason="odd fills", user="ana", bot_id="qe-2"), timeout_s=10)
        assert (await order_ask(two, "qe-2", "h", qty=0.001)).code == "halted"
        wanted = {"bot:qe-1": "ACTIVE", "bot:qe-2": "HALTED", "portfolio": "HALTED",
                  "global": "HALTED"}
        deadline = time.monotonic() + 15
        while True:
            code, raw = await asyncio.to_thread(get, f"{server.url}/metrics")
            found = samples(raw.decode())
            states = {s.labels["scope"]: s.labels["qe_trading_state"]
                      for s in found["qe_trading_state"] if s.value == 1}
            ages = {s.labels["bot"] for s in found.get("qe_heartbeat_age_seconds", [])}
            restarts = {s.labels["bot"]: s.value for s in found.get("qe_bot_restarts", [])}
            if (states == wanted and ages == {"qe-1", "qe-2"} and set(restarts) ==
                    {"qe-1", "qe-2"}) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        code_h, body = await health(server)
    finally:
        one.close()
        two.close()
    assert code == 200 and states == wanted
    assert ages == {"qe-1", "qe-2"} and restarts == {"qe-1": 0, "qe-2": 0}
    assert code_h == 200  # a halt is not ill health
    assert body["scopes"] == dict(sorted(wanted.items()))
    assert body["per_bot"]["qe-2"]["trading_state"] == "HALTED"
    assert body["per_bot"]["qe-1"]["trading_state"] == "ACTIVE"
    assert all(0 <= b["heartbeat_age_s"] < 60 and b["restarts"] == 0
               for b in body["per_bot"].values())
