"""The reference bot's pure parts: the seeded market, the scalper's rules, the books."""

from __future__ import annotations

import json

import pytest

import scripts._paper_account as paper


def test_the_same_seed_gives_the_same_market() -> None:
    one, two = paper.RandomWalk(["BTCUSDT", "ETHUSDT"], seed=5), paper.RandomWalk(
        ["BTCUSDT", "ETHUSDT"], seed=5)
    runs = [[walk.step() for _ in range(50)] for walk in (one, two)]
    assert runs[0] == runs[1]
    assert paper.RandomWalk(["BTCUSDT"], seed=6).step() != runs[0][0]
    assert all(price > 0 for tick in runs[0] for price in tick.values())


def test_opening_adding_reducing_and_closing_a_long() -> None:
    account = paper.PaperAccount(start_equity=1_000.0)
    assert account.apply_fill("BTCUSDT", "buy", 1.0, 100.0, 0.1) == pytest.approx(-0.1)
    account.apply_fill("BTCUSDT", "buy", 1.0, 110.0, 0.0)
    assert account.books["BTCUSDT"].qty == 2.0
    assert account.books["BTCUSDT"].avg_price == pytest.approx(105.0)
    assert account.apply_fill("BTCUSDT", "sell", 0.5, 125.0, 0.0) == pytest.approx(10.0)
    assert account.books["BTCUSDT"].avg_price == pytest.approx(105.0)
    assert account.unrealized_pnl({"BTCUSDT": 115.0}) == pytest.approx(15.0)
    assert account.equity({"BTCUSDT": 115.0}) == pytest.approx(1_000 - 0.1 + 10 + 15)
    account.apply_fill("BTCUSDT", "sell", 1.5, 95.0, 0.0)
    assert account.open_books() == {}
    assert account.realized_pnl == pytest.approx(-0.1 + 10 - 15)


def test_a_short_gains_when_price_falls_and_a_flip_starts_fresh() -> None:
    account = paper.PaperAccount(start_equity=0.0)
    account.apply_fill("ETHUSDT", "sell", 2.0, 50.0, 0.0)
    assert account.unrealized_pnl({"ETHUSDT": 45.0}) == pytest.approx(10.0)
    assert account.apply_fill("ETHUSDT", "buy", 3.0, 40.0, 0.0) == pytest.approx(20.0)
    book = account.books["ETHUSDT"]
    assert book.qty == pytest.approx(1.0)
    assert book.avg_price == 40.0


def test_a_float_residue_counts_as_flat() -> None:
    account = paper.PaperAccount(start_equity=0.0)
    for _ in range(3):
        account.apply_fill("BTCUSDT", "buy", 0.1, 10.0, 0.0)
    account.apply_fill("BTCUSDT", "sell", 0.3, 10.0, 0.0)
    assert account.open_books() == {}


def test_sizes_fees_and_signals() -> None:
    assert paper.entry_qty(1_000.0, 60_000.0) == 0.016666
    assert paper.entry_qty(0.0, 60_000.0) == 0.0
    assert paper.fee_for(1.0, 1_000.0) == pytest.approx(0.4)
    assert paper.momentum_side([100.0, 100.2], 0.001) == "buy"
    assert paper.momentum_side([100.0, 99.8], 0.001) == "sell"
    assert paper.momentum_side([100.0, 100.05], 0.001) is None
    assert paper.momentum_side([100.0], 0.0) is None


@pytest.mark.parametrize(("qty", "price", "held", "expected"), [
    (1.0, 100.3, 1, "take profit"), (1.0, 99.7, 1, "stop loss"), (-1.0, 99.7, 1, "take profit"),
    (-1.0, 100.3, 1, "stop loss"), (1.0, 100.0, 8, "held 8 ticks"), (1.0, 100.1, 2, None),
])
def test_exit_reasons(qty: float, price: float, held: int, expected: str | None) -> None:
    why = paper.exit_reason(qty, 100.0, price, held, take_profit=0.002, stop_loss=0.002,
                            max_hold_ticks=8)
    assert why == expected if expected is None else why.startswith(expected)


def test_the_scalper_waits_for_history_then_enters_then_cools_down() -> None:
    scalper = paper.Scalper(lookback=2, threshold=0.001, cooldown_ticks=2)
    assert scalper.on_tick("BTCUSDT", 100.0, None, 1.0) is None
    assert scalper.on_tick("BTCUSDT", 100.1, None, 1.0) is None  # not enough history yet
    intent = scalper.on_tick("BTCUSDT", 100.5, None, 1.0)
    assert (intent.side, intent.qty, intent.reduce_only) == ("buy", 9.950248, False)
    scalper.acted("BTCUSDT")
    assert scalper.on_tick("BTCUSDT", 101.0, None, 1.0) is None
    assert scalper.on_tick("BTCUSDT", 101.5, None, 1.0) is None
    assert scalper.on_tick("BTCUSDT", 102.0, None, 0.0) is None  # risk multiplier 0: no entries
    assert scalper.on_tick("BTCUSDT", 102.5, None, 0.5).qty == paper.entry_qty(500, 102.5)


def test_the_scalper_exits_the_whole_position_reduce_only() -> None:
    scalper = paper.Scalper(lookback=2, max_hold_ticks=2)
    book = paper.Book(qty=-0.5, avg_price=100.0)
    assert scalper.on_tick("ETHUSDT", 100.0, book, 1.0) is None
    intent = scalper.on_tick("ETHUSDT", 100.0, book, 1.0)
    assert (intent.side, intent.qty, intent.reduce_only) == ("buy", 0.5, True)


def test_closing_intents_flatten_every_position() -> None:
    account = paper.PaperAccount(start_equity=0.0)
    account.apply_fill("ETHUSDT", "sell", 2.0, 50.0, 0.0)
    account.apply_fill("BTCUSDT", "buy", 0.1, 60_000.0, 0.0)
    account.apply_fill("SOLUSDT", "buy", 1.0, 10.0, 0.0)
    account.apply_fill("SOLUSDT", "sell", 1.0, 11.0, 0.0)
    intents = paper.closing_intents(account, "close_all")
    assert [(i.symbol, i.side, i.qty, i.reduce_only) for i in intents] == [
        ("BTCUSDT", "sell", 0.1, True), ("ETHUSDT", "buy", 2.0, True)]


def test_the_account_survives_a_round_trip_through_its_saved_form() -> None:
    account = paper.PaperAccount(10_000.0)
    account.apply_fill("ETHUSDT", "buy", 0.166331, 3_000.0, 0.2)
    account.apply_fill("BTCUSDT", "sell", 0.01, 60_000.0, 0.24)
    account.apply_fill("BTCUSDT", "buy", 0.01, 59_000.0, 0.236)
    saved = json.loads(json.dumps(paper.account_state(account, 7, {"ETHUSDT": 3_050.5})))
    restored, placed = paper.restore_account(saved)
    assert placed == 7 and saved["open_orders"] == []
    assert paper.restore_marks(saved) == {"ETHUSDT": 3_050.5}
    assert restored.open_books() == account.open_books()
    assert (restored.realized_pnl, restored.fees) == (account.realized_pnl, account.fees)
    assert restored.equity({"ETHUSDT": 3_100.0}) == account.equity({"ETHUSDT": 3_100.0})


@pytest.mark.parametrize("data", [None, {}, {"format": 1}, {"format": 99, "books": {}},
                                  {"format": 1, "start_equity": "nan", "realized_pnl": 0,
                                   "fees": 0, "orders_placed": 0, "books": {}}])
def test_a_damaged_account_is_refused_not_guessed(data: object) -> None:
    with pytest.raises(ValueError, match="paper account"):
        paper.restore_account(data)
