"""The Polygon / Massive option-chain snapshot decodes leniently into the project's contracts."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from planner.contracts import OptionChain
from planner.contracts_polygon import ChainError, decode_chain, parse_occ
from tests.fixtures.options.make_chain import aapl_pages, spy_pages
from tests.unit.planner.options_factories import FIXTURES, fixture_chain


def result(ticker: str = "O:SPY260211C00695000", **blocks: Any) -> dict[str, Any]:
    """A complete vendor result; a block given as None is left out."""
    full: dict[str, Any] = {
        "details": {"contract_type": "call", "expiration_date": "2026-02-11",
                    "shares_per_contract": 100, "strike_price": 695, "ticker": ticker},
        "greeks": {"delta": 0.41, "gamma": 0.02, "theta": -0.5, "vega": 0.3},
        "implied_volatility": 0.17,
        "last_quote": {"bid": 4.8, "ask": 4.9, "midpoint": 4.85,
                       "last_updated": 1_770_217_190_000_000_000},
        "day": {"volume": 1200, "last_updated": 1_770_217_190_000_000_000},
        "open_interest": 5000,
        "underlying_asset": {"price": 690.0, "ticker": "SPY",
                             "last_updated": 1_770_217_195_000_000_000},
    }
    for name, block in blocks.items():
        if block is None:
            full.pop(name, None)
        else:
            full[name] = block
    return full


def page(*results: Any) -> dict[str, Any]:
    """One vendor page; a result may be anything, as junk in real pages is."""
    return {"request_id": "x", "status": "OK", "results": list(results)}


def test_the_fixture_files_decode_with_their_gaps_noted() -> None:
    spy, aapl = fixture_chain("spy"), fixture_chain("aapl")
    assert (spy.underlying, len(spy.contracts), spy.underlying_price) == ("SPY", 240, 690.0)
    assert (aapl.underlying, len(aapl.contracts)) == ("AAPL", 104)
    assert len({c.expiration for c in spy.contracts}) == 8
    assert any(note.startswith("greeks missing on") for note in spy.notes)
    no_greeks = [c for c in spy.contracts if c.delta is None]
    assert no_greeks and all("greeks" in c.missing for c in no_greeks)
    assert spy.ts is not None and abs(spy.ts - 1_770_217_200) < 120


def test_the_fixture_files_are_what_the_generator_makes() -> None:
    """The generator is deterministic: rerunning it would rewrite the same bytes."""
    for name, pages in (("spy", spy_pages()), ("aapl", aapl_pages())):
        on_disk = json.loads((FIXTURES / f"{name}_chain.json").read_text(encoding="utf-8"))
        assert on_disk == pages


def test_pages_are_joined_in_order_and_a_repeated_contract_keeps_the_later_copy() -> None:
    first = page(result(), result("O:SPY260211C00700000"))
    later = result(last_quote={"bid": 5.0, "ask": 5.2})
    chain = decode_chain(msgspec.json.encode([first, page(later)]))
    assert [c.symbol for c in chain.contracts] == ["O:SPY260211C00695000",
                                                   "O:SPY260211C00700000"]
    assert chain.contracts[0].bid == 5.0 and chain.contracts[0].midpoint == 5.1
    assert any("more than one page" in note for note in chain.notes)


def test_a_complete_result_maps_every_field() -> None:
    c = decode_chain(page(result())).contracts[0]
    assert (c.symbol, c.underlying, c.contract_type, c.expiration, c.strike) == (
        "O:SPY260211C00695000", "SPY", "call", "2026-02-11", 695.0)
    assert (c.delta, c.gamma, c.theta, c.vega, c.implied_volatility) == (0.41, 0.02, -0.5, 0.3,
                                                                          0.17)
    assert (c.bid, c.ask, c.midpoint, c.volume, c.open_interest) == (4.8, 4.9, 4.85, 1200, 5000)
    assert c.underlying_price == 690.0 and c.shares_per_contract == 100 and c.missing == []


@pytest.mark.parametrize(("block", "noted"), [
    ("greeks", ["greeks"]), ("last_quote", ["last_quote"]), ("day", ["day"]),
    ("open_interest", ["open_interest"]), ("underlying_asset", ["underlying_asset"]),
    ("implied_volatility", ["implied_volatility"]),
])
def test_a_missing_block_becomes_none_and_is_noted(block: str, noted: list[str]) -> None:
    gone: dict[str, Any] = {block: None}
    chain = decode_chain(page(result(**gone)))
    contract = chain.contracts[0]
    assert contract.missing == noted
    assert f"{noted[0]} missing on 1 of 1 contracts" in chain.notes


def test_an_untraded_contract_has_an_empty_day_block() -> None:
    assert decode_chain(page(result(day={}))).contracts[0].volume is None


def test_details_missing_fields_are_read_from_the_ticker() -> None:
    details = {"ticker": "O:AAPL260213P00230000"}
    c = decode_chain(page(result(details=details, underlying_asset=None))).contracts[0]
    assert (c.underlying, c.contract_type, c.expiration, c.strike) == (
        "AAPL", "put", "2026-02-13", 230.0)
    assert c.shares_per_contract == 100
    assert {"details.contract_type", "details.expiration_date", "details.strike_price",
            "details.shares_per_contract (assumed 100)"} <= set(c.missing)


def test_adjusted_contracts_keep_their_share_count() -> None:
    details = {"ticker": "O:AAPL1260213C00230000", "shares_per_contract": 150,
               "contract_type": "call", "expiration_date": "2026-02-13", "strike_price": 230}
    c = decode_chain(page(result(details=details,
                                 underlying_asset={"ticker": "AAPL", "price": 232}))).contracts[0]
    assert (c.underlying, c.shares_per_contract) == ("AAPL", 150)


def test_malformed_values_are_noted_not_fatal() -> None:
    chain = decode_chain(page(result(greeks={"delta": "n/a", "theta": -0.2}, day=[1, 2])))
    c = chain.contracts[0]
    assert c.delta is None and c.theta == -0.2 and c.gamma is None and c.volume is None
    assert {"greeks.delta (malformed)", "greeks.gamma", "day (malformed)"} <= set(c.missing)


def test_a_midpoint_is_computed_when_only_bid_and_ask_are_given() -> None:
    c = decode_chain(page(result(last_quote={"bid": 1.0, "ask": 1.2}))).contracts[0]
    assert c.midpoint == pytest.approx(1.1)


def test_results_without_a_ticker_or_of_another_underlying_are_skipped_and_counted() -> None:
    raw = page(result(), result(details=None), result(details={"contract_type": "call"}),
               result("O:QQQ260211C00500000", underlying_asset={"ticker": "QQQ"}), "junk")
    chain = decode_chain(raw, underlying="spy")
    assert [c.symbol for c in chain.contracts] == ["O:SPY260211C00695000"]
    assert "2 results skipped: no details.ticker" in chain.notes
    assert "1 results skipped: underlying QQQ, not SPY" in chain.notes
    assert "1 results skipped: a result that is str, not an object" in chain.notes


@pytest.mark.parametrize("data", [b'"text"', b"[1, 2]", b'{"results": {"a": 1}}'])
def test_something_that_is_not_a_chain_is_refused_with_what_was_found(data: bytes) -> None:
    with pytest.raises(ChainError, match=r"page 0: expected an option-chain snapshot page"):
        decode_chain(data)


def test_an_empty_page_is_an_empty_chain() -> None:
    chain = decode_chain(b'{"results": [], "status": "OK"}', underlying="SPY")
    assert chain == OptionChain(underlying="SPY", contracts=[], ts=None, notes=[])


def test_occ_tickers_parse_and_other_shapes_do_not() -> None:
    parsed = parse_occ("O:SPY251219C00650000")
    assert parsed is not None
    assert (parsed.root, parsed.expiration, parsed.contract_type, parsed.strike) == (
        "SPY", "2025-12-19", "call", 650.0)
    assert parse_occ("SPY251219C00650000") is None
    assert parse_occ("O:SPY251219X00650000") is None


def test_a_chain_travels_the_bus_as_a_message() -> None:
    chain = fixture_chain("aapl")
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(chain), type=OptionChain) == chain
