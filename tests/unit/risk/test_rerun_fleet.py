"""The replay of a fleet's journal (risk/rerun_fleet.py): one ledger per bot, each under
its own limits, the portfolio's veto and halts over all of them, people's commands to
one bot or to all; and the report's part per bot and the portfolio's summed outcome."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bus.protocol import Heartbeat, OrderRequest
from risk import RiskLimits, apply_heartbeat, initial_state, order_decision
from risk.decision import Decision
from risk.limits import LossLimit, PortfolioLimits
from risk.rerun import rerun
from risk.rerun_facts import Based, Fact, Halted, Loaded, Restarted, Row
from risk.rerun_fleet import Fleet, Ledgers
from risk.rerun_report import report
from tests.unit.risk.risk_world import MARKS, NOW, fill, heartbeat, limits, order

FLEET = Fleet(accounts={"a": "main", "b": "main"}, based=frozenset({"a", "b"}))
LOSS = PortfolioLimits(max_daily_loss=LossLimit(usdt=400))


def beat(bot_id: str, ts: float, equity: float, btc: float = 0.0,
         mark: float = 50_000.0) -> Heartbeat:
    held = {"BTCUSDT": (btc, 50_000.0)} if btc else None
    marks = {**MARKS, "BTCUSDT": mark}
    return msgspec.structs.replace(heartbeat(equity, held, marks, tick_ts=ts, ts=ts),
                                   bot_id=bot_id)


class Journal:
    """Rows as a fleet's kernel journals them, each bot's engine having saved first."""

    def __init__(self, lim: RiskLimits) -> None:
        self.rows: list[Row] = []
        for bot in ("a", "b"):
            self.add(NOW - 10, Based(state=initial_state(lim.for_bot(bot), NOW - 10),
                                     bot_id=bot))

    def add(self, ts: float, fact: Fact) -> None:
        self.rows.append(Row(len(self.rows) + 1, ts, fact))

    def asked(self, ts: float, request: OrderRequest, verdict: str = "ALLOW",
              code: str = "allowed") -> None:
        """An order and the decision the live gate journaled for it."""
        self.add(ts, request)
        live = Decision(verdict, code, "as decided live")  # type: ignore[arg-type]
        self.add(ts, order_decision(request, live, "ACTIVE", ts))


def losing_day(lim: RiskLimits) -> Journal:
    """Each bot loses 250 USDT on 0.05 BTC (within its own 300); bot a then asks for an
    order."""
    day = Journal(lim)
    for bot in ("a", "b"):
        day.add(NOW, beat(bot, NOW, 10_000.0))
        day.add(NOW + 1, msgspec.structs.replace(
            fill("BTCUSDT", qty=0.05, price=50_000.0, request_id=f"in-{bot}"), bot_id=bot))
    for bot in ("a", "b"):
        day.add(NOW + 2, beat(bot, NOW + 2, 9_750.0, btc=0.05, mark=45_000.0))
    day.asked(NOW + 3, order("BTCUSDT", qty=0.01, price=45_000.0, bot_id="a",
                             request_id="late"))
    return day


def test_a_portfolio_loss_halts_every_bot_on_its_own_timer() -> None:
    lim = limits(max_daily_loss=LossLimit(usdt=300), portfolio=LOSS)
    day = losing_day(lim)
    found = report(rerun(day.rows, lim, fleet=FLEET), [])
    assert sorted((t.bot_id, t.code) for t in found.trips) == [
        ("a", "portfolio_loss_limit"), ("b", "portfolio_loss_limit")]
    flip = found.flips[0]
    assert (flip.request_id, flip.new_verdict, flip.new_code) == ("late", "DENY", "halted")
    assert flip.new_reason.startswith("bot:a: ")
    assert found.outcome.start_equity == Decimal(20_000)
    assert found.outcome.pnl == Decimal(-500)
    assert found.bots["a"].outcome.pnl == Decimal(-250)
    assert found.bots["a"].trips == found.bots["b"].trips == 1


def test_without_the_portfolio_limit_no_bot_halts() -> None:
    lim = limits(max_daily_loss=LossLimit(usdt=300))
    found = report(rerun(losing_day(lim).rows, lim, fleet=FLEET), [])
    assert found.trips == [] and found.exact


def test_a_live_trip_is_matched_by_the_bot_that_tripped() -> None:
    lim = limits(max_daily_loss=LossLimit(usdt=300), portfolio=LOSS)
    found = report(rerun(losing_day(lim).rows, lim, fleet=FLEET), [],
                   {"a": [(NOW + 3, "portfolio_loss_limit")]})
    assert sorted((t.bot_id, t.live) for t in found.trips) == [("a", True), ("b", False)]
    assert found.outcome.halted_at == NOW + 3  # b's new halt


def test_a_halt_of_one_bot_halts_that_bot_alone() -> None:
    lim = limits()
    day = Journal(lim)
    for bot in ("a", "b"):
        day.add(NOW, beat(bot, NOW, 10_000.0))
    day.add(NOW + 0.5, Halted(reason="enough (by ops)", bot_id="a"))
    for bot in ("a", "b"):
        day.asked(NOW + 0.6, order("BTCUSDT", qty=0.01, price=50_000.0, bot_id=bot,
                                   request_id=f"after-{bot}"))
    found = report(rerun(day.rows, lim, fleet=FLEET), [])
    assert [(f.request_id, f.new_code) for f in found.flips] == [("after-a", "halted")]
    assert found.bots["b"].exact and not found.bots["a"].exact


def test_a_restart_before_a_bots_save_is_in_that_save() -> None:
    """A bot whose replay starts at a save made after a restart gets no ledger from the
    restart (its save holds it); one with a save before it is restored."""
    lim = limits()
    saved = initial_state(lim, NOW - 10)
    rows = [Row(1, NOW - 10, Based(state=saved, bot_id="a")), Row(2, NOW - 5, Restarted()),
            Row(3, NOW - 4, Based(state=saved, bot_id="b"))]
    ran = rerun(rows[:2], lim, fleet=FLEET)
    assert set(ran.states) == {"a"}
    assert set(rerun(rows, lim, fleet=FLEET).states) == {"a", "b"}


def test_each_bot_is_held_to_its_own_overrides() -> None:
    lim = msgspec.convert({"bots": {"b": {"max_order_notional": 100}}}, RiskLimits)
    books = Ledgers(lim, FLEET)
    assert books.limits("b").max_order_notional == 100
    assert books.limits("a").max_order_notional == lim.max_order_notional
    assert Ledgers(lim, None).key("b") == ""  # one engine's journal: one ledger


def test_after_a_start_opening_orders_wait_for_every_bots_ledger() -> None:
    """As the fleet's gate: with portfolio limits, until every bot's engine has restored
    (its first save after the start) the sums are unknown and opening orders denied."""
    lim = limits(portfolio=LOSS)
    day = Journal(lim)
    day.add(NOW - 5, Restarted())
    day.add(NOW - 4, Loaded(bot_id="a"))
    for bot in ("a", "b"):
        day.add(NOW, beat(bot, NOW, 10_000.0))
    reason = ("portfolio: the ledger of bot b is not loaded (its risk engine is not "
              "running), so the sums across bots are unknown; opening orders are refused "
              "until it is")
    early = order("BTCUSDT", qty=0.01, price=50_000.0, bot_id="a", request_id="early")
    day.add(NOW + 0.1, early)
    day.add(NOW + 0.1, order_decision(
        early, Decision("DENY", "portfolio_gross_limit", reason), "ACTIVE", NOW + 0.1))
    day.add(NOW + 0.2, Loaded(bot_id="b"))
    day.asked(NOW + 0.3, order("BTCUSDT", qty=0.01, price=50_000.0, bot_id="a",
                               request_id="later"))
    ran = rerun(day.rows, lim, fleet=FLEET)
    assert ran.rows[0].new == ran.rows[0].old  # the very denial, word for word
    assert (ran.rows[1].new.verdict, ran.rows[1].old.verdict) == ("ALLOW", "ALLOW")


def test_before_every_bots_save_is_reached_the_live_decisions_stand() -> None:
    """Each bot starts from its own save, at its own time: until the last of them is
    reached a bot's ledger is unknown (its save holds it), so the sums across bots are
    too. An order decided then is not decided again over part of the fleet (that would
    allow what the whole fleet's sums denied): the live decision stands, and is
    recorded as the live engine recorded it."""
    lim = limits(portfolio=PortfolioLimits(max_gross_notional=2_000))
    day = Journal.__new__(Journal)
    day.rows = []
    day.add(NOW - 10, Based(state=initial_state(lim.for_bot("a"), NOW - 10), bot_id="a"))
    day.add(NOW, beat("a", NOW, 10_000.0))
    early = order("BTCUSDT", qty=0.01, price=50_000.0, bot_id="a", request_id="early")
    day.add(NOW + 1, early)
    live = Decision("DENY", "portfolio_gross_limit", "portfolio: gross notional 3000 USDT")
    day.add(NOW + 1, order_decision(early, live, "ACTIVE", NOW + 1))
    held = initial_state(lim.for_bot("b"), NOW - 10)
    held, _ = apply_heartbeat(held, beat("b", NOW, 10_000.0, btc=0.05), lim.for_bot("b"), NOW)
    day.add(NOW + 5, Based(state=held, bot_id="b"))  # b's ledger: 2,500 USDT of BTC
    day.add(NOW + 6, beat("a", NOW + 6, 10_000.0))
    day.add(NOW + 6, beat("b", NOW + 6, 10_000.0, btc=0.05))
    day.asked(NOW + 7, order("BTCUSDT", qty=0.01, price=50_000.0, bot_id="a",
                             request_id="later"), "DENY", "portfolio_gross_limit")
    ran = rerun(day.rows, lim, fleet=FLEET)
    assert ran.rows[0].new == ran.rows[0].old and ran.rows[0].by_kernel
    assert "early" not in ran.states["a"].open_orders
    assert "early" in ran.states["a"].request_ids
    assert (ran.rows[1].new.verdict, ran.rows[1].new.code) == ("DENY", "portfolio_gross_limit")
