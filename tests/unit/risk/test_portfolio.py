"""The portfolio's pure checks (risk/portfolio.py): sums over bots, scopes, readings."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from risk.limits import LossLimit, PortfolioLimits
from risk.portfolio import (
    Exposure,
    Member,
    Sums,
    all_scopes,
    check_groups,
    check_portfolio,
    exposure_of,
    readings,
    scopes,
    sums,
)
from risk.state import OpenOrder, PositionState, RiskState

D = Decimal


def state(*, equity: str = "10000", start: str | None = None, btc: str = "0",
          mark: str | None = "50000", high: str | None = None,
          pending: tuple[str, str] | None = None) -> RiskState:
    positions = {"BTCUSDT": PositionState(qty=D(btc), avg_price=D("50000"),
                                          mark_price=None if mark is None else D(mark))}
    orders = {} if pending is None else {"o": OpenOrder(symbol="BTCUSDT", side=pending[0],  # type: ignore[arg-type]
                                                      qty=D(pending[1]), price=D("50000"),
                                                      ts=0.0)}
    cash = D(equity) - D(btc) * (D(mark or "50000") - D("50000"))
    return RiskState(day="2026-12-06", cash=cash, start_equity=D(start or equity),
                     high_water=None if high is None else D(high), positions=positions,
                     open_orders=orders)


def test_exposure_counts_positions_and_pending_orders_at_the_worst_case() -> None:
    found = exposure_of(state(btc="0.1", pending=("buy", "0.05")), "BTCUSDT")
    assert (found.gross, found.symbol, found.unpriced) == (D("7500"), D("7500"), None)
    sold = exposure_of(state(btc="0.1", pending=("sell", "0.3")), "BTCUSDT")
    assert sold.gross == D("10000")  # the sells could leave 0.2 short


def test_an_unvalued_position_makes_the_sum_unknown_and_denies() -> None:
    members = [Member("a", "main", state(btc="0.1", mark=None)), Member("b", "main", state())]
    found = check_portfolio(members, "b", "ETHUSDT", Exposure(D("100"), D("100")),
                            PortfolioLimits(max_gross_notional=1e9))
    assert found is not None and found.code == "no_mark_price"
    assert found.reason.startswith("portfolio: no mark price for BTCUSDT")


@pytest.mark.parametrize(("limits", "code", "words"), [
    (PortfolioLimits(max_gross_notional=10_000), "portfolio_gross_limit",
     "portfolio: gross notional would be 10001 USDT"),
    (PortfolioLimits(max_leverage=0.5), "portfolio_leverage_limit",
     "portfolio: gross leverage would be 0.5"),
    (PortfolioLimits(max_notional_per_symbol=10_000), "portfolio_notional_limit",
     "portfolio: BTCUSDT notional summed over the bots would be 10001 USDT"),
])
def test_each_limit_denies_on_the_sum_and_names_scope_and_limit(
    limits: PortfolioLimits, code: str, words: str,
) -> None:
    members = [Member("a", "main", state(btc="0.1")), Member("b", "main", state())]
    after = Exposure(D("5001"), D("5001"))  # b's order: 5,001 more
    found = check_portfolio(members, "b", "BTCUSDT", after, limits)
    assert found is not None and (found.verdict, found.code) == ("DENY", code)
    assert found.reason.startswith(words), found.reason
    assert check_portfolio(members, "b", "BTCUSDT", Exposure(D("5000"), D("5000")),
                           limits) is None or code == "portfolio_leverage_limit"


def test_loss_and_drawdown_are_summed_over_the_bots() -> None:
    members = [Member("a", "main", state(equity="9800", start="10000", high="10000")),
               Member("b", "main", state(equity="9800", start="10000", high="10100"))]
    loss = PortfolioLimits(max_daily_loss=LossLimit(usdt=400))
    found = check_portfolio(members, "a", "BTCUSDT", Exposure(D(0), D(0)), loss)
    assert found is not None and found.reason.startswith(
        "portfolio: daily loss 400 USDT has reached max_daily_loss 400 USDT")
    drop = PortfolioLimits(max_drawdown=LossLimit(pct=2.5))  # of 20,100: 502.5
    found = check_portfolio(members, "a", "BTCUSDT", Exposure(D(0), D(0)), drop)
    assert found is None  # 500 from the sum of the high-water marks
    drop = PortfolioLimits(max_drawdown=LossLimit(usdt=500))
    found = check_portfolio(members, "a", "BTCUSDT", Exposure(D(0), D(0)), drop)
    assert found is not None and found.code == "portfolio_drawdown_limit"


def test_accounts_are_scopes_only_when_there_are_several() -> None:
    one = [Member("a", "main", state()), Member("b", "main", state())]
    assert [s for s, _ in scopes(one, "a")] == ["portfolio"]
    two = [*one, Member("c", "sub", state())]
    assert [s for s, _ in scopes(two, "c")] == ["portfolio", "account:sub"]
    assert [s for s, _ in all_scopes(two)] == ["portfolio", "account:main", "account:sub"]


def test_readings_measure_every_set_limit_of_every_scope() -> None:
    members = [Member("a", "main", state(btc="0.1", equity="9900", start="10000")),
               Member("b", "sub", state())]
    limits = PortfolioLimits(max_daily_loss=LossLimit(usdt=125), max_gross_notional=6000,
                             max_leverage=1)
    found = {(r.scope, r.code): r for r in readings(members, limits)}
    assert found["portfolio", "portfolio_loss_limit"].value == D("100")
    assert not found["portfolio", "portfolio_loss_limit"].reached
    assert found["account:main", "portfolio_gross_limit"].value == D("5000")
    assert found["account:sub", "portfolio_gross_limit"].value == D(0)
    assert found["portfolio", "portfolio_leverage_limit"].limit == D(1)


def test_an_exposure_is_worked_out_once_per_state_and_follows_every_change() -> None:
    held = state(btc="0.1")
    first = exposure_of(held, "BTCUSDT")
    assert exposure_of(held, "BTCUSDT") is first  # asked again for every other bot's order
    assert exposure_of(held, "ETHUSDT") == Exposure(D("5000"), D("0"), None)
    pending = msgspec.structs.replace(held, open_orders={"o": OpenOrder(
        symbol="BTCUSDT", side="buy", qty=D("0.05"), price=D("50000"), ts=0.0)})
    assert exposure_of(pending, "BTCUSDT") == (D("7500"), D("7500"), None)
    moved = msgspec.structs.replace(held, positions={"BTCUSDT": PositionState(
        qty=D("0.2"), avg_price=D("50000"), mark_price=D("50000"))})
    assert exposure_of(moved, "BTCUSDT") == (D("10000"), D("10000"), None)
    assert exposure_of(held, "BTCUSDT") is first  # the older state keeps its own


def plain_sums(group: list[Member], symbol: str, bot_id: str, after: Exposure) -> Sums:
    """The sums as written before each bot's figures were kept beside its state."""
    equity = start = high = gross = on_symbol = D(0)
    unpriced: str | None = None
    for member in group:
        now = member.state.equity
        if now is not None:
            equity += now
            start += member.state.start_equity if member.state.start_equity is not None \
                else now
            high += member.state.high_water if member.state.high_water is not None else now
        held = after if member.bot_id == bot_id else exposure_of(member.state, symbol)
        gross += held.gross
        on_symbol += held.symbol
        unpriced = unpriced or held.unpriced
    return Sums(equity, start, high, gross, on_symbol, unpriced)


def test_the_sums_kept_per_state_are_the_sums_worked_out_afresh() -> None:
    fresh = msgspec.structs.replace(state(), cash=None)  # no heartbeat yet: no equity
    members = [Member("a", "main", state(btc="0.1", equity="9900", start="10000",
                                         high="10200")),
               Member("b", "main", fresh),
               Member("c", "main", state(btc="-0.3", mark=None, pending=("sell", "0.1"))),
               Member("d", "main", state(pending=("buy", "0.02")))]
    after = Exposure(D("123.45"), D("67.8"))
    for symbol in ("BTCUSDT", "ETHUSDT", ""):
        for bot_id in ("a", "b", "c", "d", ""):
            assert sums(members, symbol, bot_id, after) == \
                plain_sums(members, symbol, bot_id, after)
            assert sums(members, symbol, bot_id, after) == \
                plain_sums(members, symbol, bot_id, after)  # asked again: kept figures
    moved = msgspec.structs.replace(members[0].state, positions={"BTCUSDT": PositionState(
        qty=D("0.2"), avg_price=D("50000"), mark_price=D("50000"))})
    members[0] = Member("a", "main", moved)
    assert sums(members, "BTCUSDT", "d", after) == plain_sums(members, "BTCUSDT", "d", after)


def test_check_groups_on_the_scopes_is_check_portfolio() -> None:
    members = [Member("a", "main", state(btc="0.1")), Member("b", "sub", state()),
               Member("c", "main", state(pending=("buy", "0.05")))]
    limits = PortfolioLimits(max_gross_notional=9000)
    for bot_id, size in (("a", "1000"), ("b", "7000"), ("c", "2000")):
        after = Exposure(D(size), D(size))
        assert check_groups(scopes(members, bot_id), bot_id, "BTCUSDT", after, limits) == \
            check_portfolio(members, bot_id, "BTCUSDT", after, limits)
