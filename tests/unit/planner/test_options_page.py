"""A page read lazily (``planner.contracts_page``) answers exactly as the decoded chain does.

Every question the selector asks (``ChainView``), and the selection itself, is
compared with ``decode_chain`` of the same bytes and with the lenient path alone
(``lenient``), on the recorded fixtures, a generated 10,000-contract page, the
junk of the typed-decode tests and mangled pages.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.config import load_yaml
from planner.contracts import ChainView, OptionChain
from planner.contracts_page import ChainPage, read_page
from planner.contracts_polygon import decode_chain
from planner.options import plan_with_options
from planner.options_config import OptionsConfig
from tests.fixtures.options.make_chain import NOW, sized_pages
from tests.unit.planner.options_factories import FIXTURES, spy_market, spy_plan
from tests.unit.planner.test_options_decode import page, result
from tests.unit.planner.test_options_decode_typed import JUNK, lenient, mangled

ROOT = FIXTURES.parents[2]
PLANS = [spy_plan(direction, style) for style in ("SCALP", "DAY", "SWING", "INVESTMENT")
         for direction in ("LONG", "SHORT")]


def read(data: bytes, underlying: str | None = None) -> ChainPage:
    lazy = read_page(data, underlying=underlying)
    assert lazy is not None, "the typed reading refused the page"
    return lazy


def answers(chain: ChainView) -> dict[str, object]:
    """Everything the selector may ask, in one comparable value."""
    expiries = sorted(e for e in chain.expirations() if e is not None)
    windows = [frozenset(expiries), *(frozenset([e]) for e in expiries[:4]), frozenset()]
    out: dict[str, object] = {"underlying": chain.underlying, "count": chain.count(),
                              "expirations": chain.expirations(),
                              "price": chain.underlying_price}
    for kind in ("call", "put", "straddle"):
        out[kind] = [chain.pool(kind, window) for window in windows]
    return out


def agrees(lazy: ChainPage, whole: OptionChain) -> None:
    assert answers(lazy) == answers(whole)
    for contract in whole.contracts:
        assert lazy.find(contract.symbol) == contract
    assert lazy.find("O:NOPE") is None and whole.find("O:NOPE") is None
    assert lazy.ts == whole.ts and lazy.notes == whole.notes and lazy.chain() == whole


@pytest.mark.parametrize("name", ["spy", "aapl"])
def test_the_fixtures_answer_as_their_decoded_chains(name: str) -> None:
    data = (FIXTURES / f"{name}_chain.json").read_bytes()
    lazy = read(data)
    agrees(lazy, decode_chain(data))
    assert lazy._full is None  # nothing was in doubt: every answer was the lazy one


def test_a_selection_builds_only_the_contracts_of_its_window() -> None:
    data = msgspec.json.encode(page(*[r for p in sized_pages(10_000) for r in p["results"]]))
    lazy, whole = read(data, "SPY"), decode_chain(data, underlying="SPY")
    config = load_yaml(ROOT / "config" / "options.yaml", OptionsConfig)
    plan = spy_plan("LONG", "DAY")
    assert plan_with_options(plan, lazy, spy_market(), NOW, config) == \
        plan_with_options(plan, whole, spy_market(), NOW, config)
    assert 0 < len(lazy._made) < whole.count() // 4 and lazy._whole is None


@pytest.mark.parametrize("underlying", [None, "SPY", "spy"])
def test_every_plan_on_a_10k_page_is_the_plan_on_its_decoded_chain(
        underlying: str | None) -> None:
    data = msgspec.json.encode(page(*[r for p in sized_pages(10_000) for r in p["results"]]))
    whole = decode_chain(data, underlying=underlying)
    lazy = read(data, underlying)
    config = load_yaml(ROOT / "config" / "options.yaml", OptionsConfig)
    for plan in PLANS:
        assert plan_with_options(plan, lazy, spy_market(), NOW, config) == \
            plan_with_options(plan, whole, spy_market(), NOW, config)
    agrees(lazy, whole)


@pytest.mark.parametrize("junk", JUNK, ids=[json.dumps(j)[:40] for j in JUNK])
def test_malformed_and_missing_fields_answer_as_the_lenient_path(junk: dict[str, Any]) -> None:
    data = msgspec.json.encode(page(result(), result("O:SPY260211P00700000", **junk),
                                    result("O:QQQ260211C00500000",
                                           underlying_asset={"ticker": "QQQ"})))
    lazy = read_page(data)
    if lazy is None:  # a details, a number or an underlying block the typed decode refuses
        assert decode_chain(data) == lenient(data)
        return
    agrees(lazy, lenient(data))


@pytest.mark.parametrize(("block", "doubt"), [
    ("greeks", {"rho": 0.1}), ("last_quote", {"timeframe": "DELAYED"}), ("day", {"close": 1}),
    ("underlying_asset", {"timeframe": "DELAYED"}), ("greeks", "none"), ("day", [1, 2]),
    ("last_quote", {"bid": "x"})])
def test_a_doubtful_block_hands_the_answers_to_the_whole_decode(block: str, doubt: Any) -> None:
    put = {"ticker": "O:SPY260211P00700000", "contract_type": "put",
           "expiration_date": "2026-02-11", "strike_price": 700}
    data = msgspec.json.encode(page(result(), result(details=put, **{block: doubt})))
    lazy = read(data)
    assert lazy.pool("call", frozenset(["2026-02-11"])) == lenient(data).contracts[:1]
    assert lazy._full is None  # the doubtful record was not asked for
    assert lazy.pool("put", frozenset(["2026-02-11"])) == lenient(data).contracts[1:]
    assert lazy._full is not None
    agrees(lazy, lenient(data))


def test_empty_blocks_written_with_spaces_stay_lazy() -> None:
    data = json.dumps(page(result(day={}), result("O:SPY260211P00690000", greeks={},
                                                  underlying_asset={}))).encode()
    lazy = read(data)
    agrees(lazy, lenient(data))
    assert lazy._full is None


def test_pages_joined_in_a_list_keep_the_later_copy_in_the_first_place() -> None:
    qqq = result("O:QQQ260211C00500000", underlying_asset={"ticker": "QQQ"})
    first = page(result(), result("O:SPY260211C00700000"), qqq)
    later = page(result(last_quote={"bid": 5.0, "ask": 5.2}), result(details={"ticker": ""}))
    data = msgspec.json.encode([first, later])
    lazy = read(data)
    agrees(lazy, lenient(data))
    assert lazy.pool("call", frozenset(["2026-02-11"]))[0].bid == 5.0


@pytest.mark.parametrize("data", [b'"text"', b'{"results": {"a": 1}}', b'{"results": null}',
                                  b'{"results": ["junk"]}', b"not json", b"",
                                  b'{"results": [{"details": []}]}'])
def test_what_the_typed_decode_refuses_is_not_read(data: bytes) -> None:
    assert read_page(data) is None


def test_an_empty_page_is_an_empty_chain() -> None:
    lazy = read(msgspec.json.encode(page()))
    assert (lazy.underlying, lazy.count(), lazy.expirations(), lazy.ts) == ("UNKNOWN", 0,
                                                                            set(), None)


@settings(max_examples=200, deadline=None)
@given(st.lists(mangled(), min_size=1, max_size=4), st.sampled_from([None, "SPY", "QQQ"]))
def test_any_mangled_page_answers_as_the_lenient_path(results: list[dict[str, Any]],
                                                      underlying: str | None) -> None:
    data = msgspec.json.encode(page(*results))
    lazy = read_page(data, underlying=underlying)
    if lazy is not None:
        agrees(lazy, lenient(data, underlying))


def test_contracts_are_not_tracked_by_the_garbage_collector() -> None:
    data = (FIXTURES / "spy_chain.json").read_bytes()
    whole = decode_chain(data)
    assert not any(gc.is_tracked(c) for c in whole.contracts)
    assert not gc.is_tracked(msgspec.msgpack.decode(msgspec.msgpack.encode(whole),
                                                    type=OptionChain).contracts[0])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(mangled(), max_size=3), min_size=1, max_size=3), st.randoms())
def test_questions_in_any_order_answer_as_the_lenient_path(
        pages: list[list[dict[str, Any]]], rnd: Any) -> None:
    data = msgspec.json.encode([page(*results) for results in pages])
    lazy = read_page(data)
    if lazy is None:
        return
    whole = lenient(data)
    symbols = [c.symbol for c in whole.contracts] + ["O:NOPE"]
    questions = [
        lambda c: c.find(rnd.choice(symbols)), lambda c: c.count(), lambda c: c.underlying,
        lambda c: c.expirations(), lambda c: c.underlying_price, lambda c: c.ts,
        lambda c: c.pool(rnd.choice(["call", "put"]), frozenset(
            e for e in whole.expirations() if e is not None and rnd.random() < 0.5))]
    for _ in range(8):
        question = rnd.choice(questions)
        state = rnd.getstate()
        mine = question(lazy)
        rnd.setstate(state)
        assert mine == question(whole)
