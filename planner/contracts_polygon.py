"""Decoding the Polygon.io (now Massive) option-chain snapshot into the project's contracts.

The vendor format is ``GET /v3/snapshot/options/{underlying}``: a page with
``results[]``, each holding ``details``, ``greeks``, ``implied_volatility``,
``last_quote``, ``day``, ``open_interest`` and ``underlying_asset``, and a
``next_url`` when more pages follow. Any block may be absent (deep in-the-money
contracts often have no greeks, untraded ones no ``day.volume``), so decoding is
lenient: a missing or malformed field becomes None and is named in the
contract's ``missing``; only a result without a ticker is skipped. Values the
ticker itself states (type, expiry, strike) fill in for missing ``details``.
The caller reads the file or the HTTP body; this module only sees the bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from planner.contracts import ContractType, OptionChain, OptionContract
from planner.contracts_occ import OccSymbol, parse_occ, vendor_seconds
from planner.contracts_polygon_typed import Made, typed_contracts

__all__ = ["ChainError", "OccSymbol", "decode_chain", "decode_pages", "parse_occ"]

class ChainError(ValueError):
    """The data is not an option-chain snapshot at all; the message says what was found."""


def decode_chain(data: bytes | str | Any, *, underlying: str | None = None) -> OptionChain:
    """One chain from a page, a list of pages (joined in order) or their decoded JSON.

    ``underlying`` keeps only that underlying's contracts (others are counted in
    the notes); without it the first result's underlying is taken.
    """
    want = underlying.upper() if underlying else None
    if isinstance(data, bytes | str):
        made = typed_contracts(data)
        if made is not None:
            return _assemble(made, want)
        data = msgspec.json.decode(data)
    return _assemble(map(_contract, _results(data)), want)


def decode_pages(pages: Sequence[bytes], *, underlying: str | None = None) -> OptionChain:
    """One chain from each page's bytes, as ``decode_chain`` of them as one JSON list.

    A page at a time: msgspec holds the GIL for a whole call, so a feed decoding in
    a worker thread stalls the event loop for one page (about a millisecond), not for
    a whole chain. A page the typed path refuses is decoded leniently on its own.
    """
    made: list[Made] = []
    for i, page in enumerate(pages):
        typed = typed_contracts(page, one_page=True)
        made.extend(typed if typed is not None else
                    map(_contract, _results([msgspec.json.decode(page)], first=i)))
    return _assemble(made, underlying.upper() if underlying else None)


def _results(raw: Any, *, first: int = 0) -> list[Any]:
    pages = raw if isinstance(raw, list) else [raw]
    out: list[Any] = []
    for i, page in enumerate(pages, start=first):
        if not isinstance(page, dict) or not isinstance(page.get("results", []), list):
            found = type(page).__name__ if not isinstance(page, dict) else "results that is "\
                f"not a list ({type(page.get('results')).__name__})"
            raise ChainError(f"page {i}: expected an option-chain snapshot page (an object with "
                             f"a `results` list, from GET /v3/snapshot/options/{{underlying}}), "
                             f"found {found}")
        out.extend(page.get("results", []))
    return out


class _Counts(msgspec.Struct, kw_only=True):
    missing: Counter[str] = msgspec.field(default_factory=Counter)
    skipped: Counter[str] = msgspec.field(default_factory=Counter)
    duplicates: int = 0


def _assemble(made_all: Iterable[Made], want: str | None) -> OptionChain:
    counts = _Counts()
    by_symbol: dict[str, OptionContract] = {}
    newest, price, price_ts = 0.0, None, -1.0
    for made in made_all:
        if isinstance(made, str):
            counts.skipped[made] += 1
            continue
        contract, ts, spot_ts = made
        want = want or contract.underlying
        if contract.underlying != want:
            counts.skipped[f"underlying {contract.underlying}, not {want}"] += 1
            continue
        if contract.symbol in by_symbol:
            counts.duplicates += 1  # overlapping pages: the later copy is the fresher one
        by_symbol[contract.symbol] = contract
        counts.missing.update(contract.missing)
        newest = max(newest, ts)
        if contract.underlying_price is not None and contract.underlying_price > 0 \
                and spot_ts > price_ts:
            price, price_ts = contract.underlying_price, spot_ts
    contracts = list(by_symbol.values())
    return OptionChain(underlying=want or "UNKNOWN", contracts=contracts,
                       ts=newest if 0 < newest <= 1e11 else None, underlying_price=price,
                       notes=_notes(counts, len(contracts)))


def _notes(counts: _Counts, total: int) -> list[str]:
    notes = [f"{what} missing on {n} of {total} contracts"
             for what, n in sorted(counts.missing.items(), key=lambda kv: (-kv[1], kv[0]))]
    notes += [f"{n} results skipped: {why}" for why, n in sorted(counts.skipped.items())]
    if counts.duplicates:
        notes.append(f"{counts.duplicates} contracts appeared on more than one page: "
                     "the later copy was kept")
    return notes[:256]


def _block(result: dict[str, Any], name: str, missing: list[str]) -> dict[str, Any]:
    block = result.get(name)
    if isinstance(block, dict) and block:
        return block
    missing.append(f"{name} (malformed)" if block is not None and not isinstance(block, dict)
                   else name)
    return {}


def _num(block: dict[str, Any], key: str, label: str, missing: list[str],
         *, report: bool = True) -> float | None:
    value = block.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e15:
        return float(value)
    if report:
        missing.append(label if value is None else f"{label} (malformed)")
    return None


def _stamp(block: dict[str, Any]) -> float | None:
    value = block.get("last_updated")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _contract(result: Any) -> Made:
    """The contract, its newest timestamp and its underlying price's; or why it was skipped."""
    if not isinstance(result, dict):
        return f"a result that is {type(result).__name__}, not an object"
    missing: list[str] = []
    details = _block(result, "details", missing)
    ticker = details.get("ticker")
    if not isinstance(ticker, str) or not ticker:
        return "no details.ticker"
    occ = parse_occ(ticker)
    spot = _block(result, "underlying_asset", missing)
    underlying = _underlying(spot, occ)
    if underlying is None:
        return "no underlying_asset.ticker and a ticker not in OCC form"
    quote = _block(result, "last_quote", missing)
    day = _block(result, "day", missing)
    greeks = _block(result, "greeks", missing)
    bid = _num(quote, "bid", "last_quote.bid", missing, report=bool(quote))
    ask = _num(quote, "ask", "last_quote.ask", missing, report=bool(quote))
    mid = _num(quote, "midpoint", "last_quote.midpoint", missing, report=False)
    if mid is None and bid is not None and ask is not None:
        mid = (bid + ask) / 2
    contract = OptionContract(
        symbol=ticker[:64], underlying=underlying,
        contract_type=_type(details, occ, missing), expiration=_expiry(details, occ, missing),
        strike=_strike(details, occ, missing), shares_per_contract=_shares(details, missing),
        delta=_num(greeks, "delta", "greeks.delta", missing, report=bool(greeks)),
        gamma=_num(greeks, "gamma", "greeks.gamma", missing, report=bool(greeks)),
        theta=_num(greeks, "theta", "greeks.theta", missing, report=bool(greeks)),
        vega=_num(greeks, "vega", "greeks.vega", missing, report=bool(greeks)),
        implied_volatility=_num(result, "implied_volatility", "implied_volatility", missing),
        bid=bid, ask=ask, midpoint=mid,
        volume=_num(day, "volume", "day.volume", missing, report=bool(day)),
        open_interest=_num(result, "open_interest", "open_interest", missing),
        underlying_price=_num(spot, "price", "underlying_asset.price", missing,
                              report=bool(spot)),
        missing=missing)
    stamps = [_stamp(b) for b in (quote, day, spot)]
    return contract, vendor_seconds(*stamps), vendor_seconds(stamps[2])


def _underlying(spot: dict[str, Any], occ: OccSymbol | None) -> str | None:
    named = spot.get("ticker")
    if isinstance(named, str) and named:
        return named.upper()[:64]
    return occ.root if occ is not None else None


def _type(details: dict[str, Any], occ: OccSymbol | None,
          missing: list[str]) -> ContractType | None:
    value = details.get("contract_type")
    if isinstance(value, str) and value.lower() in ("call", "put"):
        return "call" if value.lower() == "call" else "put"
    missing.append("details.contract_type")
    return occ.contract_type if occ else None


def _expiry(details: dict[str, Any], occ: OccSymbol | None, missing: list[str]) -> str | None:
    value = details.get("expiration_date")
    if isinstance(value, str) and value:
        return value[:256]
    missing.append("details.expiration_date")
    return occ.expiration if occ else None


def _strike(details: dict[str, Any], occ: OccSymbol | None, missing: list[str]) -> float | None:
    value = _num(details, "strike_price", "details.strike_price", missing, report=bool(details))
    if value is None and occ is not None:
        return occ.strike
    return value


def _shares(details: dict[str, Any], missing: list[str]) -> float:
    value = _num(details, "shares_per_contract", "details.shares_per_contract", missing,
                 report=False)
    if value is None or value <= 0:
        missing.append("details.shares_per_contract (assumed 100)")
        return 100.0
    return value
