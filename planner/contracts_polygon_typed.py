"""The fast path of the Polygon / Massive snapshot decode: typed, or not at all.

A 10,000-contract page is ~6 MB of JSON, most of it fields the selector never
reads (``day.open``, ``last_quote.bid_size``, ``break_even_price``...). Decoding
it untyped builds all of them as Python objects and then walks dicts per
contract; here ``msgspec`` decodes straight into small Structs that declare only
the fields read, skipping the rest in C, and each contract is built once.

The typed path must give exactly what the lenient path
(``planner.contracts_polygon``) gives, so it only accepts pages it can read
without doubt and returns None otherwise, and the caller decodes leniently:

* any value of the wrong kind (a string where a number belongs, a block that is
  not an object, a result that is not an object, a page without a ``results``
  list, bytes that are not JSON) fails the typed decode;
* a block that is present but yields none of the read fields is either ``{}``
  (an untraded contract's ``day``, said as the block missing) or an object
  with only other fields (said field by field); a second, cheap pass keeps
  each such block's raw text and the page stays on the typed path only when
  every one of them is ``{}``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import msgspec

from planner.contracts import ContractType, OptionContract
from planner.contracts_occ import OccSymbol, parse_occ

Made: TypeAlias = tuple[OptionContract, float, float] | str
"""A contract with its newest timestamp and its underlying price's; or why it was skipped."""

_Four: TypeAlias = tuple[float | None, float | None, float | None, float | None]
_NONE4: _Four = (None, None, None, None)
_NONE3: tuple[float | None, ...] = (None, None, None)
_LIMIT = 1e15
_GREEK_LABELS = ("greeks.delta", "greeks.gamma", "greeks.theta", "greeks.vega")
_BLOCKS = ("greeks", "last_quote", "day", "underlying_asset")


class _Details(msgspec.Struct, gc=False):
    ticker: str | None = None
    contract_type: str | None = None
    expiration_date: str | None = None
    strike_price: float | None = None
    shares_per_contract: float | None = None


class _Greeks(msgspec.Struct, gc=False):
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None


class _Quote(msgspec.Struct, gc=False):
    bid: float | None = None
    ask: float | None = None
    midpoint: float | None = None
    last_updated: float | None = None


class _Day(msgspec.Struct, gc=False):
    volume: float | None = None
    last_updated: float | None = None


class _Spot(msgspec.Struct, gc=False):
    price: float | None = None
    ticker: str | None = None
    last_updated: float | None = None


class _Result(msgspec.Struct, gc=False):
    details: _Details | None = None
    greeks: _Greeks | None = None
    implied_volatility: float | None = None
    last_quote: _Quote | None = None
    day: _Day | None = None
    open_interest: float | None = None
    underlying_asset: _Spot | None = None


class _Page(msgspec.Struct, gc=False):
    results: list[_Result] = []


class _Shape(msgspec.Struct, gc=False):
    """The raw text of each block, to tell ``{}`` from an object of unread fields."""

    greeks: msgspec.Raw = msgspec.Raw()
    last_quote: msgspec.Raw = msgspec.Raw()
    day: msgspec.Raw = msgspec.Raw()
    underlying_asset: msgspec.Raw = msgspec.Raw()


class _ShapePage(msgspec.Struct, gc=False):
    results: list[_Shape] = []


_Decoders: TypeAlias = dict[bool, msgspec.json.Decoder[Any]]
_DECODERS: _Decoders = {False: msgspec.json.Decoder(_Page | list[_Page]),
                        True: msgspec.json.Decoder(_Page)}
"""By ``one_page``: a page or a list of pages; one page only."""
_SHAPES: _Decoders = {False: msgspec.json.Decoder(_ShapePage | list[_ShapePage]),
                      True: msgspec.json.Decoder(_ShapePage)}
_NO_GREEKS, _NO_QUOTE, _NO_DAY, _NO_SPOT = _Greeks(), _Quote(), _Day(), _Spot()
_EMPTY: dict[str, msgspec.Struct] = {"greeks": _NO_GREEKS, "last_quote": _NO_QUOTE,
                                     "day": _NO_DAY, "underlying_asset": _NO_SPOT}


def typed_contracts(data: bytes | str, *, one_page: bool = False) -> list[Made] | None:
    """Every result of the page(s) in order, as the lenient path would make them; or None.

    ``one_page``: the data must be one page (an object), not a list of pages.
    """
    try:
        decoded = _DECODERS[one_page].decode(data)
    except msgspec.MsgspecError:
        return None
    pages = decoded if isinstance(decoded, list) else [decoded]
    results = [r for page in pages for r in page.results]
    vague: list[int] = []
    made = [_contract(result, i, vague) for i, result in enumerate(results)]
    if vague and not _all_empty(_SHAPES[one_page].decode(data), results, vague):
        return None
    return made


def _all_empty(decoded: _ShapePage | list[_ShapePage], results: list[_Result],
               vague: list[int]) -> bool:
    """Whether every block that yielded no read field was written ``{}``."""
    shapes = [s for page in (decoded if isinstance(decoded, list) else [decoded])
              for s in page.results]
    for i in vague:
        for name in _BLOCKS:
            if getattr(results[i], name) == _EMPTY[name] and \
                    bytes(getattr(shapes[i], name)).translate(None, b" \t\r\n") != b"{}":
                return False
    return True


def _bad(value: float | None, label: str, missing: list[str]) -> None:
    """Notes a number that is absent or out of range (the caller kept the good ones)."""
    missing.append(label if value is None else f"{label} (malformed)")


def _quiet(value: float | None) -> float | None:
    return value if value is not None and -_LIMIT < value < _LIMIT else None


def _contract(result: _Result, i: int, vague: list[int]) -> Made:
    """The contract of result ``i``; ``vague`` gets ``i`` when a block yielded no read field."""
    details = result.details
    ticker = details.ticker if details is not None else None
    if details is None or not ticker:
        return "no details.ticker"
    missing: list[str] = []
    spot, quote, day, greeks = (result.underlying_asset, result.last_quote, result.day,
                                result.greeks)
    if not _live(spot, _NO_SPOT, "underlying_asset", missing, i, vague):
        spot = None
    occ = None if spot is not None and spot.ticker else parse_occ(ticker)
    underlying = spot.ticker.upper()[:64] if spot is not None and spot.ticker else \
        occ.root if occ else None
    if underlying is None:
        return "no underlying_asset.ticker and a ticker not in OCC form"
    if not _live(quote, _NO_QUOTE, "last_quote", missing, i, vague):
        quote = None
    if not _live(day, _NO_DAY, "day", missing, i, vague):
        day = None
    if not _live(greeks, _NO_GREEKS, "greeks", missing, i, vague):
        greeks = None
    bid, ask, mid = _prices(quote, missing) if quote is not None else _NONE3
    kind, expiry, strike, shares = _terms(details, occ, ticker, missing)
    delta, gamma, theta, vega = _NONE4 if greeks is None else _greeks(greeks, missing)
    iv, volume, interest, price = _rest(result, day, spot, missing)
    contract = OptionContract(
        symbol=ticker[:64], underlying=underlying, contract_type=kind, expiration=expiry,
        strike=strike, shares_per_contract=shares, delta=delta, gamma=gamma, theta=theta,
        vega=vega, implied_volatility=iv, bid=bid, ask=ask, midpoint=mid, volume=volume,
        open_interest=interest, underlying_price=price, missing=missing)
    spot_ts = _seconds(spot.last_updated) if spot is not None else 0.0
    return contract, max(spot_ts, _seconds(quote.last_updated) if quote is not None else 0.0,
                         _seconds(day.last_updated) if day is not None else 0.0), spot_ts


def _rest(result: _Result, day: _Day | None, spot: _Spot | None, missing: list[str]) -> _Four:
    """Implied volatility, volume, open interest and the underlying's price, noted in order."""
    iv, volume, interest = result.implied_volatility, None, result.open_interest
    if iv is None or not -_LIMIT < iv < _LIMIT:
        _bad(iv, "implied_volatility", missing)
        iv = None
    if day is not None:
        volume = day.volume
        if volume is None or not -_LIMIT < volume < _LIMIT:
            _bad(volume, "day.volume", missing)
            volume = None
    if interest is None or not -_LIMIT < interest < _LIMIT:
        _bad(interest, "open_interest", missing)
        interest = None
    price = spot.price if spot is not None else None
    if spot is not None and (price is None or not -_LIMIT < price < _LIMIT):
        _bad(price, "underlying_asset.price", missing)
        price = None
    return iv, volume, interest, price


def _seconds(stamp: float | None) -> float:
    """A vendor timestamp in seconds (Polygon writes nanoseconds); 0 when there is none."""
    if stamp is None or stamp <= 0:
        return 0.0
    return stamp / 1e9 if stamp > 1e15 else stamp / 1e3 if stamp > 1e11 else stamp


def _prices(quote: _Quote, missing: list[str]) -> tuple[float | None, ...]:
    bid, ask = quote.bid, quote.ask
    if bid is None or not -_LIMIT < bid < _LIMIT:
        _bad(bid, "last_quote.bid", missing)
        bid = None
    if ask is None or not -_LIMIT < ask < _LIMIT:
        _bad(ask, "last_quote.ask", missing)
        ask = None
    mid = _quiet(quote.midpoint)
    if mid is None and bid is not None and ask is not None:
        mid = (bid + ask) / 2
    return bid, ask, mid


def _live(block: msgspec.Struct | None, empty: msgspec.Struct, name: str, missing: list[str],
          i: int, vague: list[int]) -> bool:
    """Whether a block has a read field; if not it is noted missing, and result ``i`` is
    vague when the block was there (it may not be ``{}``)."""
    if block is None:
        missing.append(name)
        return False
    if block == empty:
        missing.append(name)
        vague.append(i)
        return False
    return True


def _terms(details: _Details, occ: OccSymbol | None, ticker: str, missing: list[str]
           ) -> tuple[ContractType | None, str | None, float | None, float]:
    """Type, expiry, strike and share count, in the order the lenient path notes them.

    The ticker is parsed only when the vendor left out something it states.
    """
    named = details.contract_type.lower() if details.contract_type is not None else None
    kind: ContractType | None = "call" if named == "call" else "put" if named == "put" else None
    if kind is None:
        missing.append("details.contract_type")
        occ = occ or parse_occ(ticker)
        kind = occ.contract_type if occ else None
    expiry = details.expiration_date[:256] if details.expiration_date else None
    if expiry is None:
        missing.append("details.expiration_date")
        occ = occ or parse_occ(ticker)
        expiry = occ.expiration if occ else None
    strike = _quiet(details.strike_price)
    if strike is None:
        _bad(details.strike_price, "details.strike_price", missing)
        occ = occ or parse_occ(ticker)
        strike = occ.strike if occ is not None else None
    shares = _quiet(details.shares_per_contract)
    if shares is None or shares <= 0:
        missing.append("details.shares_per_contract (assumed 100)")
        shares = 100.0
    return kind, expiry, strike, shares


def _greeks(greeks: _Greeks, missing: list[str]) -> _Four:
    delta, gamma, theta, vega = greeks.delta, greeks.gamma, greeks.theta, greeks.vega
    if delta is not None and gamma is not None and theta is not None and vega is not None \
            and -_LIMIT < delta < _LIMIT and -_LIMIT < gamma < _LIMIT \
            and -_LIMIT < theta < _LIMIT and -_LIMIT < vega < _LIMIT:
        return delta, gamma, theta, vega
    good = [_quiet(v) for v in (delta, gamma, theta, vega)]
    for value, kept, label in zip((delta, gamma, theta, vega), good, _GREEK_LABELS, strict=True):
        if kept is None:
            _bad(value, label, missing)
    return good[0], good[1], good[2], good[3]
