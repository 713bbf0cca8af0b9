"""The running totals of a scope (risk/tally.py): the very figures ``sums`` adds up,
digit and exponent, as states come and go; or None, never a figure that could differ."""

from __future__ import annotations

import random
from decimal import Decimal, localcontext
from types import SimpleNamespace
from typing import Any

import msgspec

from agents.risk.fleet import FleetGate
from risk.exposure import carry_pending
from risk.limits import LossLimit, PortfolioLimits
from risk.portfolio import Exposure, sums
from risk.state import OpenOrder, PositionState, RiskState
from risk.tally import Tally

D = Decimal
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def amount(rng: random.Random, digits: int = 5) -> Decimal:
    places = rng.choice((0, 2, 5, 8))
    return D(rng.randint(-10 ** (digits + places), 10 ** (digits + places))).scaleb(-places)


def ledger(rng: random.Random) -> RiskState:
    cash = None if rng.random() < 0.1 else amount(rng)
    positions = {s: PositionState(qty=amount(rng, 1), avg_price=D(100),
                                  mark_price=abs(amount(rng, 4)) + 1) for s in SYMBOLS}
    orders = {f"o{i}": OpenOrder(symbol=rng.choice(SYMBOLS), side=rng.choice(("buy", "sell")),
                                 qty=abs(amount(rng, 1)), price=D(1), ts=0.0)
              for i in range(rng.randint(0, 3))}
    return RiskState(day="2026-12-07", cash=cash, positions=positions, open_orders=orders,
                     start_equity=None if cash is None or rng.random() < 0.3 else cash + 5,
                     high_water=None if rng.random() < 0.3 else amount(rng))


def reserved(state: RiskState, symbol: str, size: str) -> RiskState:
    orders = {**state.open_orders, f"r{len(state.open_orders)}": OpenOrder(
        symbol=symbol, side="buy", qty=D(size), price=D(1), ts=0.0)}
    after = msgspec.structs.replace(state, open_orders=orders)
    return carry_pending(state, after, symbol, "buy", D(size))


def fresh(engines: dict[str, Any], bot_id: str, symbol: str, after: Exposure) -> object:
    return repr(sums([(b, "", e.state) for b, e in engines.items()], symbol, bot_id, after))


def test_each_figure_is_the_fresh_sums_to_the_exponent_as_states_change() -> None:
    rng = random.Random(7)
    engines = {f"b{i}": SimpleNamespace(state=ledger(rng)) for i in range(6)}
    tally = Tally(list(engines.items()))
    used = 0
    for n in range(3000):
        bot_id = rng.choice(list(engines))
        engine = engines[bot_id]
        match n % 3:
            case 0:  # its order's reservation: the same ledger, more pending
                engine.state = reserved(engine.state, rng.choice(SYMBOLS), "0.5")
            case 1:  # a heartbeat: new cash and marks
                engine.state = msgspec.structs.replace(engine.state, cash=amount(rng))
            case _:
                engine.state = ledger(rng)
        symbol = rng.choice(SYMBOLS)
        after = Exposure(abs(amount(rng)), abs(amount(rng)))
        found = tally.sums(bot_id, symbol, after)
        if found is not None:
            used += 1
            assert repr(found) == fresh(engines, bot_id, symbol, after)
    assert used > 2500  # everything fits in 28 digits here: the totals serve


def test_a_state_put_back_after_another_counts_its_own_figures_again() -> None:
    rng = random.Random(3)
    engines = {b: SimpleNamespace(state=ledger(rng)) for b in "abc"}
    first = engines["b"].state
    tally = Tally(list(engines.items()))
    after = Exposure(D("10"), D("1"))
    tally.sums("a", "BTCUSDT", after)
    engines["b"].state = reserved(first, "BTCUSDT", "3")
    assert repr(tally.sums("a", "BTCUSDT", after)) == fresh(engines, "a", "BTCUSDT", after)
    engines["b"].state = first
    assert repr(tally.sums("a", "BTCUSDT", after)) == fresh(engines, "a", "BTCUSDT", after)


def test_figures_past_the_contexts_precision_are_left_to_the_fresh_sum() -> None:
    engines = {b: SimpleNamespace(state=RiskState(day="d", cash=D("1E+20") + D("0.12345678")))
               for b in "ab"}
    tally = Tally(list(engines.items()))
    after = Exposure(D(0), D(0))
    assert tally.sums("a", "BTCUSDT", after) is None  # 29 digits: sums would round
    with localcontext() as ctx:
        ctx.prec = 40
        assert repr(tally.sums("a", "BTCUSDT", after)) == fresh(engines, "a", "BTCUSDT", after)


def test_a_bot_that_cannot_be_valued_is_left_to_the_fresh_sum_until_it_can() -> None:
    unpriced = RiskState(day="d", cash=D(100), positions={
        "BTCUSDT": PositionState(qty=D(1), avg_price=D(1), mark_price=None)})
    engines = {"a": SimpleNamespace(state=RiskState(day="d", cash=D(100))),
               "b": SimpleNamespace(state=unpriced)}
    tally = Tally(list(engines.items()))
    after = Exposure(D(5), D(5))
    assert tally.sums("a", "ETHUSDT", after) is None
    engines["b"].state = RiskState(day="d", cash=D(100), positions={
        "BTCUSDT": PositionState(qty=D(1), avg_price=D(1), mark_price=D(2))})
    assert repr(tally.sums("a", "ETHUSDT", after)) == fresh(engines, "a", "ETHUSDT", after)


def test_the_gate_counts_a_bot_detached_and_attached_again_with_its_new_engine() -> None:
    rng = random.Random(5)
    gate = FleetGate(accounts={b: "main" for b in "abc"},
                     limits=PortfolioLimits(max_gross_notional=1e12))
    engines: dict[str, Any] = {b: SimpleNamespace(state=ledger(rng)) for b in "abc"}
    for bot_id, engine in engines.items():
        gate.attach(bot_id, engine)
    ctx: Any = SimpleNamespace(order=SimpleNamespace(symbol="BTCUSDT"))
    ctx.__dict__["exposure_after"] = (D(0), D(0))
    assert gate.veto("a", ctx) is None
    gate.detach("b", engines["b"])
    assert gate.veto("a", ctx) is not None  # its ledger is not loaded
    engines["b"] = SimpleNamespace(state=RiskState(day="d", cash=D(1), positions={
        "BTCUSDT": PositionState(qty=D(10**9), avg_price=D(1), mark_price=D(10**4))}))
    gate.attach("b", engines["b"])  # back with another engine, whose bot holds a lot
    denied = gate.veto("a", ctx)
    assert denied is not None and denied.code == "portfolio_gross_limit"


def test_the_totals_with_no_order_are_what_readings_sum() -> None:
    rng = random.Random(11)
    engines = {f"b{i}": SimpleNamespace(state=ledger(rng)) for i in range(4)}
    tally = Tally(list(engines.items()))
    for _ in range(300):
        engines[rng.choice(list(engines))].state = ledger(rng)
        found = tally.totals()
        assert found is not None
        assert repr(found) == fresh(engines, "", "", Exposure(D(0), D(0)))


def test_without_a_symbol_limit_the_notional_on_the_symbol_is_not_summed() -> None:
    rng = random.Random(13)
    engines = {f"b{i}": SimpleNamespace(state=ledger(rng)) for i in range(3)}
    tally = Tally(list(engines.items()))
    after = Exposure(D("25.5"), D("3"))
    found = tally.sums("b1", "ETHUSDT", after, on_symbol=False)
    assert found is not None and found.symbol == 0 and not tally._columns
    summed = sums([(b, "", e.state) for b, e in engines.items()], "ETHUSDT", "b1", after)
    assert repr(found._replace(symbol=summed.symbol)) == repr(summed)


def test_the_loss_check_kept_by_the_gate_follows_each_ledger_change() -> None:
    gate = FleetGate(accounts={"a": "main", "b": "main"},
                     limits=PortfolioLimits(max_daily_loss=LossLimit(usdt=100)))
    engines: dict[str, Any] = {b: SimpleNamespace(state=RiskState(
        day="d", cash=D(1000), start_equity=D(1000))) for b in "ab"}
    for bot_id, engine in engines.items():
        gate.attach(bot_id, engine)
    ctx: Any = SimpleNamespace(order=SimpleNamespace(symbol="BTCUSDT"))
    ctx.__dict__["exposure_after"] = (D(0), D(0))
    assert gate.veto("a", ctx) is None
    assert gate.veto("a", ctx) is None  # the kept answer
    engines["b"].state = msgspec.structs.replace(engines["b"].state, cash=D(899))
    denied = gate.veto("a", ctx)
    assert denied is not None and denied.code == "portfolio_loss_limit"
    engines["b"].state = msgspec.structs.replace(engines["b"].state, cash=D(950))
    assert gate.veto("a", ctx) is None


def test_a_told_tally_takes_in_the_bots_it_is_told_of_and_gives_the_same_figures() -> None:
    rng = random.Random(11)
    engines = {f"b{i}": SimpleNamespace(state=ledger(rng)) for i in range(6)}
    told, compared = Tally(list(engines.items()), told=True), Tally(list(engines.items()))
    for n in range(1500):
        bot_id = rng.choice(list(engines))
        engine = engines[bot_id]
        if n % 2:
            engine.state = reserved(engine.state, rng.choice(SYMBOLS), "0.5")
        else:
            engine.state = ledger(rng)
        told.moved(bot_id)
        if n % 5 == 0:  # told twice, or told with no change: taken in once, or not at all
            told.moved(bot_id)
            told.moved(rng.choice(list(engines)))
        symbol, after = rng.choice(SYMBOLS), Exposure(abs(amount(rng)), abs(amount(rng)))
        assert repr(told.sums(bot_id, symbol, after)) == repr(compared.sums(bot_id, symbol, after))


def test_a_told_tally_looks_only_at_the_bots_it_was_told_of() -> None:
    rng = random.Random(3)
    engines = {f"b{i}": SimpleNamespace(state=ledger(rng)) for i in range(3)}
    tally = Tally(list(engines.items()), told=True)
    before = tally.totals()
    engines["b1"].state = msgspec.structs.replace(engines["b1"].state, cash=D("123456"))
    assert tally.totals() == before  # not told: the contract is the holders' to keep
    tally.moved("b1")
    assert tally.totals() != before
