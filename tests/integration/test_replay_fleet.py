"""``kernel replay`` on the journal of a real ``kernel run`` fleet: one ledger per bot.

Each bot's engine saves its own state (``risk.<id>``) at its own moments; the replay
starts each bot from its own newest save before the stretch, decides each order
under that bot's limits and then the portfolio's veto over every bot's ledger, as
the fleet's gate does live. With the limits in force every decision comes out the
same (the portfolio's DENY included, which needs the other bots' reservations from
their own saves); a what-if portfolio or per-bot limit changes the decisions it
should, and ``kernel replay`` shows each bot and the portfolio (docs/replay.md).
"""

from __future__ import annotations

import itertools
import json
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agents.risk.replay_journal import replay_window
from bus.protocol import OrderDecision
from kernel.journal import read_journal
from kernel.settings import load_settings
from risk.limits import RiskLimits
from risk.rerun_report import Report
from tests.integration._fleet import FLEET_RISK_YAML
from tests.integration.test_fleet_restart import FleetBot
from tests.integration.test_risk_engine_restart import journaled
from tests.support.processes import KILLED, KernelProcess

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
              pytest.mark.timeout(120)]

TWO = "- {id: qe-1}\n- {id: qe-2}\n"
THREE = "- {id: qe-1}\n- {id: qe-2}\n- {id: qe-3, account: sub}\n"
ETH = {"symbol": "ETHUSDT", "price": 3_000.0}
BEATS = itertools.count(1)


def fleet_kernel(tmp_path: Path, bots: str) -> KernelProcess:
    process = KernelProcess(tmp_path, bots=bots)
    (process.config_dir / "risk.yaml").write_text(textwrap.dedent(FLEET_RISK_YAML),
                                                  encoding="utf-8")
    return process.start()


@pytest.fixture
def two(tmp_path: Path) -> Iterator[KernelProcess]:
    process = fleet_kernel(tmp_path, TWO)
    yield process
    process.kill()


@pytest.fixture
def three(tmp_path: Path) -> Iterator[KernelProcess]:
    process = fleet_kernel(tmp_path, THREE)
    yield process
    process.kill()


def saved(kernel: KernelProcess, bot_id: str, match: Callable[[dict[str, Any]], bool],
          timeout_s: float = 10.0) -> int:
    """Wait until ``bot_id``'s own engine has saved a state ``match`` accepts; its seq."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for row in reversed(read_journal(kernel.journal_path, topic_prefix="risk.saved",
                                         limit=100_000)):
            if row.source == f"risk.{bot_id}" and match(msgpack(row.payload)["state"]):
                return row.seq
        time.sleep(0.02)
    raise AssertionError(f"no save of {bot_id} as expected within {timeout_s} s")


def msgpack(payload: bytes) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.msgpack.decode(payload)
    return body


def greeted(kernel: KernelProcess, names: list[str]) -> dict[str, FleetBot]:
    bots = {b: FleetBot(kernel.endpoint("link"), b) for b in names}
    for name, bot in bots.items():
        bot.greet()
        bot.beat(next(BEATS))
        saved(kernel, name, lambda s: s["last_heartbeat_ts"] is not None)
    return bots


def ask(bot: FleetBot, request_id: str, **fields: Any) -> OrderDecision:
    """An order after a fresh heartbeat (waiting for another bot's save takes seconds:
    the marks would be stale)."""
    bot.beat(next(BEATS))
    return bot.order(request_id, **fields)


def active_since(bot_id: str, since: float) -> Callable[[dict[str, Any]], bool]:
    return lambda b: (b.get("bot_id") == bot_id and b["ts"] > since
                      and b["trading_state"] == "ACTIVE")


def holding(request_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda state: request_id in state["open_orders"]


def replayed(kernel: KernelProcess, start: float, limits: RiskLimits | None = None,
             accounts: dict[str, str] | None = None) -> Report:
    live = load_settings(kernel.config_dir).risk
    return replay_window(kernel.journal_path, start, start + 3_600, limits or live,
                         accounts=accounts)


def with_portfolio(limits: RiskLimits, **changed: Any) -> RiskLimits:
    return msgspec.structs.replace(
        limits, portfolio=msgspec.structs.replace(limits.portfolio, **changed))


def test_two_bots_from_their_own_saves_replay_exactly_and_what_ifs_change(
    two: KernelProcess,
) -> None:
    bots = greeted(two, ["qe-1", "qe-2"])
    one, other = bots["qe-1"], bots["qe-2"]
    try:
        assert ask(one, "a", qty=0.05).verdict == "ALLOW"  # 2,500 BTC reserved
        first = saved(two, "qe-1", holding("a"))
        c = ask(other, "c", qty=0.3, **ETH)
        assert c.verdict == "ALLOW", c.reason  # 900 ETH
        second = saved(two, "qe-2", holding("c"))
        mid = time.time()
        time.sleep(0.05)
        b = ask(one, "b", qty=0.04)  # 2,000: 5,400 gross across the bots
        d = ask(other, "d", qty=0.3, **ETH)  # 900 more: 6,300 over the portfolio's 6,000
        big = ask(other, "big", qty=0.03)  # 1,500 over qe-2's own 1,000
    finally:
        one.close()
        other.close()
    assert first != second
    assert b.verdict == "ALLOW", b.reason
    assert (d.verdict, d.code) == ("DENY", "portfolio_gross_limit")
    assert (big.verdict, big.code) == ("DENY", "fat_finger_notional")
    assert two.stop() == 0

    same = replayed(two, mid)
    assert same.exact and same.flips == [], same.flips
    assert (same.counts.orders, same.counts.same, same.counts.reason_differs) == (3, 3, 0)
    assert set(same.bots) == {"qe-1", "qe-2"}
    assert same.bots["qe-1"].counts.orders == 1 and same.bots["qe-2"].counts.orders == 2
    assert all(part.exact for part in same.bots.values())

    live = load_settings(two.config_dir).risk
    looser = replayed(two, mid, with_portfolio(live, max_gross_notional=100_000.0))
    assert looser.counts.deny_to_allow == {"portfolio_gross_limit": 1}
    assert [f.request_id for f in looser.flips] == ["d"]
    assert looser.bots["qe-2"].counts.deny_to_allow == {"portfolio_gross_limit": 1}
    assert not looser.bots["qe-1"].counts.deny_to_allow

    tighter = replayed(two, mid, with_portfolio(live, max_gross_notional=5_000.0))
    assert tighter.counts.allow_to_deny == {"portfolio_gross_limit": 1}
    flip = tighter.flips[0]
    assert (flip.request_id, flip.new_code) == ("b", "portfolio_gross_limit")
    assert flip.new_reason.startswith("portfolio: gross notional would be 5400")

    own = live.bots["qe-2"]
    per_bot = msgspec.structs.replace(live, bots={
        "qe-1": msgspec.structs.replace(own, max_order_notional=1_500.0), "qe-2": own})
    mine = replayed(two, mid, per_bot)
    # b denied by qe-1's own tighter limit leaves room in the portfolio for d: approximate
    assert [(f.request_id, f.new_code, f.exact) for f in mine.flips] == [
        ("b", "fat_finger_notional", True), ("d", "allowed", False)]
    assert mine.flips[0].new_reason.startswith("bot:qe-1: ")
    assert mine.bots["qe-2"].exact_through_seq == mine.flips[0].seq  # coupled by the sums


def test_kernel_replay_shows_each_bot_and_the_portfolio(two: KernelProcess) -> None:
    bots = greeted(two, ["qe-1", "qe-2"])
    try:
        assert ask(bots["qe-1"], "a", qty=0.05).verdict == "ALLOW"
        assert ask(bots["qe-2"], "c", qty=0.3, **ETH).verdict == "ALLOW"
        assert ask(bots["qe-1"], "b", qty=0.04).verdict == "ALLOW"  # 5,400 in all
        assert ask(bots["qe-2"], "d", qty=0.3, **ETH).verdict == "DENY"  # 6,300 > 6,000
    finally:
        for bot in bots.values():
            bot.close()
    assert two.stop() == 0
    whatif = two.config_dir / "risk.whatif.yaml"
    whatif.write_text(textwrap.dedent(FLEET_RISK_YAML).replace(
        "max_gross_notional: 6000", "max_gross_notional: 100000"), encoding="utf-8")
    today = datetime.now(UTC).date()
    days = ["--from", (today - timedelta(days=1)).isoformat(), "--to",
            (today + timedelta(days=1)).isoformat()]
    said = two.cli("replay", *days, "--risk", str(whatif), "--json")
    assert said.returncode == 0, said.stderr.decode()
    found = json.loads(said.stdout)
    assert found["counts"]["orders"] == 4, found
    assert found["counts"]["deny_to_allow"] == {"portfolio_gross_limit": 1}, found
    assert found["bots"]["qe-2"]["counts"]["deny_to_allow"] == {"portfolio_gross_limit": 1}
    assert found["bots"]["qe-1"]["counts"]["orders"] == 2
    assert Decimal(found["outcome"]["start_equity"]) == 20_000  # both bots' 10,000 summed
    text = two.cli("replay", *days, "--risk", str(two.config_dir / "risk.yaml"))
    assert text.returncode == 0, text.stderr.decode()
    words = " ".join(text.stdout.decode().split())
    assert "bot qe-1: orders 2: same 2" in words and "bot qe-2: orders 2: same 2" in words
    assert "portfolio (every bot's orders; equity summed):" in words
    assert "exact: no verdict flipped" in words


def test_three_bots_each_from_its_own_save_through_a_kill_9(three: KernelProcess) -> None:
    names = ["qe-1", "qe-2", "qe-3"]
    bots = greeted(three, names)
    try:
        assert ask(bots["qe-1"], "a", qty=0.05).verdict == "ALLOW"  # 2,500
        seqs = {saved(three, "qe-1", holding("a"))}
        assert ask(bots["qe-2"], "c", qty=0.3, **ETH).verdict == "ALLOW"  # 900
        seqs.add(saved(three, "qe-2", holding("c")))
        assert ask(bots["qe-3"], "e", qty=0.3, **ETH).verdict == "ALLOW"  # 900, account sub
        seqs.add(saved(three, "qe-3", holding("e")))
    finally:
        for bot in bots.values():
            bot.close()
    assert len(seqs) == 3
    mid = time.time()
    time.sleep(0.05)
    assert three.proc is not None
    three.proc.kill()
    assert three.proc.wait(10) == KILLED
    three.start()
    restarted = time.time()
    bots = greeted(three, names)
    for name in names:  # each engine reconciles its bot's first heartbeat after the restart
        journaled(three, "risk.state", active_since(name, restarted), timeout_s=15)
    try:
        over = ask(bots["qe-3"], "f", qty=0.04)  # 2,000: 6,300 summed over the bots
        fine = ask(bots["qe-1"], "g", qty=0.3, **ETH)  # 900: 5,200
    finally:
        for bot in bots.values():
            bot.close()
    assert (over.verdict, over.code) == ("DENY", "portfolio_gross_limit")
    assert over.reason.startswith("portfolio: "), over.reason
    assert fine.verdict == "ALLOW", fine.reason
    assert three.stop() == 0

    accounts = {"qe-1": "main", "qe-2": "main", "qe-3": "sub"}
    same = replayed(three, mid, accounts=accounts)
    assert same.exact and same.flips == [], same.flips
    assert (same.counts.orders, same.counts.same, same.counts.reason_differs) == (2, 2, 0)
    assert set(same.bots) == set(names)
    # the account's own scope: qe-3 alone in "sub" would be at 2,900 / 10,000 = 0.29x,
    # the portfolio at 6,300 / 30,000 = 0.21x
    live = load_settings(three.config_dir).risk
    levered = with_portfolio(live, max_gross_notional=100_000.0, max_leverage=0.25)
    scoped = replayed(three, mid, levered, accounts)
    assert [(f.request_id, f.new_code) for f in scoped.flips] == [
        ("f", "portfolio_leverage_limit")]
    assert scoped.flips[0].new_reason.startswith("account:sub: gross leverage would be 0.29")
    assert scoped.counts.other_code == 1
