"""The typed decode of a Polygon / Massive page gives exactly what the lenient decode gives.

``decode_chain`` of bytes takes the typed path (``planner.contracts_polygon_typed``)
and falls back to the lenient one when the page holds anything it cannot read
without doubt; ``lenient`` below runs the lenient path alone, as ``decode_chain`` did
before it had a typed one, so comparing the two on the same bytes compares the paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.contracts import OptionChain
from planner.contracts_polygon import _assemble, _contract, _results, decode_chain, decode_pages
from planner.contracts_polygon_typed import typed_contracts
from tests.fixtures.options.make_chain import sized_pages
from tests.unit.planner.options_factories import FIXTURES
from tests.unit.planner.test_options_decode import page, result


def lenient(data: bytes, underlying: str | None = None) -> OptionChain:
    """The lenient path alone, as ``decode_chain`` ran before it had a typed one."""
    raw = msgspec.json.decode(data)
    return _assemble(map(_contract, _results(raw)), underlying.upper() if underlying else None)


def both(data: bytes, underlying: str | None = None) -> tuple[OptionChain, OptionChain]:
    return decode_chain(data, underlying=underlying), lenient(data, underlying)


@pytest.mark.parametrize("name", ["spy", "aapl"])
def test_the_recorded_fixtures_decode_identically_and_typed(name: str) -> None:
    data = (FIXTURES / f"{name}_chain.json").read_bytes()
    assert typed_contracts(data) is not None  # the fast path was taken, not the fallback
    typed, lenient = both(data)
    assert typed == lenient
    assert [c.missing for c in typed.contracts] == [c.missing for c in lenient.contracts]


def test_a_generated_10k_page_decodes_identically_and_typed() -> None:
    results = [r for p in sized_pages(10_000) for r in p["results"]]
    data = msgspec.json.encode(page(*results))
    assert typed_contracts(data) is not None
    typed, lenient = both(data, "SPY")
    assert len(typed.contracts) >= 9_000 and typed == lenient


def test_a_pretty_printed_page_with_empty_blocks_stays_typed() -> None:
    data = json.dumps(page(result(day={}), result("O:SPY260211P00690000", greeks={})),
                      indent=2).encode()
    assert typed_contracts(data) is not None
    typed, lenient = both(data)
    assert typed == lenient and typed.contracts[0].missing == ["day"]


JUNK: list[dict[str, Any]] = [
    {"greeks": {}}, {"greeks": {"rho": 0.1}}, {"greeks": {"delta": None}},
    {"day": {"close": 1.0}}, {"day": {}}, {"last_quote": {"timeframe": "DELAYED"}},
    {"underlying_asset": {"change_to_break_even": 1.0}}, {"underlying_asset": {"ticker": ""}},
    {"underlying_asset": {"ticker": "spy", "price": 0}}, {"last_quote": {"bid": "x"}},
    {"last_quote": {"bid": True, "ask": 1}}, {"last_quote": {"bid": 1e16, "ask": -1e16}},
    {"last_quote": {"midpoint": 2e15, "bid": 1, "ask": 2}}, {"implied_volatility": "n/a"},
    {"open_interest": None}, {"open_interest": 10**30}, {"day": [1, 2]}, {"greeks": "none"},
    {"details": {"ticker": "O:SPY260211C00695000", "contract_type": "CALL"}},
    {"details": {"ticker": "O:SPY260211C00695000", "contract_type": "straddle",
                 "strike_price": 1e20, "shares_per_contract": 0, "expiration_date": ""}},
    {"details": {"ticker": "O:SPY260211C00695000", "contract_type": 5}},
    {"details": {"ticker": "WEIRD", "shares_per_contract": -1}, "underlying_asset": None},
    {"details": {"ticker": ""}}, {"details": {"ticker": 5}}, {"details": None},
    {"details": []}, {"last_quote": {"last_updated": 1_770_217_190_000}},
    {"day": {"volume": 3, "last_updated": 1_770_217_190}}, {"day": {"last_updated": "x"}},
]


@pytest.mark.parametrize("junk", JUNK, ids=[json.dumps(j)[:40] for j in JUNK])
def test_malformed_and_missing_fields_are_read_exactly_as_the_lenient_path_reads_them(
        junk: dict[str, Any]) -> None:
    data = msgspec.json.encode(page(result(), result("O:SPY260211P00700000", **junk),
                                    result("O:QQQ260211C00500000",
                                           underlying_asset={"ticker": "QQQ"})))
    typed, lenient = both(data)
    assert typed == lenient


@pytest.mark.parametrize("data", [
    b'"text"', b"[1, 2]", b'{"results": {"a": 1}}', b'{"results": null}', b"{}",
    b'{"results": ["junk", null, 3]}', b"[{}, {\"results\": []}]", b"not json", b"",
])
def test_pages_that_are_not_chains_end_the_same_way(data: bytes) -> None:
    def outcome(decode: Callable[[bytes], OptionChain]) -> object:
        try:
            return decode(data)
        except (ValueError, msgspec.DecodeError) as exc:  # ChainError is a ValueError
            return type(exc), str(exc)

    assert outcome(decode_chain) == outcome(lenient)


def test_pages_are_joined_and_duplicates_kept_the_same_way() -> None:
    first = page(result(), result("O:SPY260211C00700000"))
    later = page(result(last_quote={"bid": 5.0, "ask": 5.2}))
    data = msgspec.json.encode([first, later])
    assert typed_contracts(data) is not None
    typed, lenient = both(data)
    assert typed == lenient and typed.contracts[0].bid == 5.0


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                   st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(
                       ["", "call", "PUT", "2026-02-11", "O:SPY260211C00695000", "spy"]),
                   st.just({}), st.just([]))
FIELDS = {"details": ["ticker", "contract_type", "expiration_date", "strike_price",
                      "shares_per_contract", "exercise_style"],
          "greeks": ["delta", "gamma", "theta", "vega", "rho"],
          "last_quote": ["bid", "ask", "midpoint", "last_updated", "bid_size"],
          "day": ["volume", "last_updated", "close"],
          "underlying_asset": ["price", "ticker", "last_updated", "timeframe"]}


@st.composite
def mangled(draw: st.DrawFn) -> dict[str, Any]:
    """A complete result with some blocks and fields dropped, nulled or replaced by junk."""
    out = result()
    for block, names in FIELDS.items():
        how = draw(st.sampled_from(["keep", "keep", "edit", "drop", "junk"]))
        if how == "drop":
            out.pop(block)
        elif how == "junk":
            out[block] = draw(VALUES)
        elif how == "edit":
            edits = draw(st.dictionaries(st.sampled_from(names), VALUES, max_size=3))
            out[block] = {**out[block], **edits} if draw(st.booleans()) else edits
    for name in ("implied_volatility", "open_interest"):
        if draw(st.booleans()):
            out[name] = draw(VALUES)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(mangled(), min_size=1, max_size=4))
def test_any_mangled_page_decodes_identically(results: list[dict[str, Any]]) -> None:
    data = msgspec.json.encode(page(*results))
    typed, lenient = both(data)
    assert typed == lenient


def each_page(data: bytes) -> list[bytes]:
    return [msgspec.json.encode(p) for p in msgspec.json.decode(data)]


@pytest.mark.parametrize("name", ["spy", "aapl"])
def test_pages_decoded_one_at_a_time_make_the_same_chain(name: str) -> None:
    data = (FIXTURES / f"{name}_chain.json").read_bytes()
    pages = each_page(data)
    assert len(pages) > 1 and decode_pages(pages) == lenient(data)
    assert decode_pages(pages, underlying="spy") == lenient(data, "spy")


@pytest.mark.parametrize("junk", [b'"text"', b"[1, 2]", b'{"results": {"a": 1}}',
                                  b'[{"results": []}]', b'{"results": ["junk"]}', b"{}"])
def test_a_bad_page_among_good_ones_ends_as_in_one_list(junk: bytes) -> None:
    good = msgspec.json.encode(page(result()))
    pages = [good, junk, msgspec.json.encode(page(result("O:SPY260211C00700000")))]
    joined = b"[" + b",".join(pages) + b"]"

    def outcome(decode: Callable[[], OptionChain]) -> object:
        try:
            return decode()
        except ValueError as exc:  # ChainError
            return type(exc), str(exc)

    assert outcome(lambda: decode_pages(pages)) == outcome(lambda: lenient(joined))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(mangled(), max_size=3), min_size=1, max_size=3))
def test_any_mangled_pages_decode_identically_a_page_at_a_time(
        pages: list[list[dict[str, Any]]]) -> None:
    raw = [msgspec.json.encode(page(*results)) for results in pages]
    assert decode_pages(raw) == lenient(b"[" + b",".join(raw) + b"]")
