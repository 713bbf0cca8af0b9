"""A Polygon / Massive snapshot page read once, its contracts built only when asked for.

``decode_chain`` builds every contract of a page: on a 10,000-contract page that
is ~4.5 µs of Python per contract plus the garbage-collector passes that 10,000
tracked objects set off, about 140 ms, while a selection reads only the
contracts of one type inside its expiry window. :func:`read_page` decodes the
bytes once into small untracked records (``details`` and ``underlying_asset``
typed, the other blocks kept as raw JSON text) and :class:`ChainPage` answers
what the selector asks (``planner.contracts.ChainView``): an index pass over the
records (symbols, underlyings, duplicates) on the first question, then a
contract is built, once, only when it is in a pool or looked up.

Exactness: every contract, price, count and expiry is what ``decode_chain`` of
the same bytes gives. A page the typed decode refuses is not read here at all
(``read_page`` returns None: decode it with ``decode_chain``); a doubt found
later (a block of the wrong kind, or of unread fields only) hands every answer
to ``decode_chain``. ``ts`` (one pass over the stamps) and ``notes`` (the whole
chain) are worked out only when asked.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeAlias

import msgspec

from planner.contracts import OptionChain, OptionContract
from planner.contracts_occ import parse_occ
from planner.contracts_polygon import decode_chain
from planner.contracts_polygon_typed import (
    _NO_SPOT,
    _SHAPES,
    _Day,
    _Details,
    _Greeks,
    _Quote,
    _Result,
    _seconds,
    _Spot,
)
from planner.contracts_polygon_typed import _contract as typed_contract

__all__ = ["ChainPage", "read_page"]

_LIMIT = 1e15
_BLANK = b" \t\r\n"


class _Record(msgspec.Struct, gc=False):
    """One result as read up front: what the index needs typed, the rest as raw text."""

    details: _Details | None = None
    greeks: msgspec.Raw = msgspec.Raw()
    implied_volatility: float | None = None
    last_quote: msgspec.Raw = msgspec.Raw()
    day: msgspec.Raw = msgspec.Raw()
    open_interest: float | None = None
    underlying_asset: _Spot | None = None


class _RecordPage(msgspec.Struct, gc=False):
    results: list[_Record] = []


class _Stamp(msgspec.Struct, gc=False):
    last_updated: float | None = None


_READ = msgspec.json.Decoder(_RecordPage | list[_RecordPage])
_GREEKS = msgspec.json.Decoder(list[_Greeks | None])
_QUOTES = msgspec.json.Decoder(list[_Quote | None])
_DAYS = msgspec.json.Decoder(list[_Day | None])
_STAMPS = msgspec.json.Decoder(list[_Stamp | None])
_EMPTY_BLOCKS = (("greeks", _Greeks()), ("last_quote", _Quote()), ("day", _Day()))
_Terms: TypeAlias = tuple[str | None, str | None]


class _Doubt(Exception):
    """The typed reading is not sure of a record: ``decode_chain`` decides instead."""


def read_page(data: bytes | str, *, underlying: str | None = None) -> ChainPage | None:
    """The page (or list of pages) read for lazy use; None when the typed decode refuses it.

    ``underlying`` keeps only that underlying's contracts, as in ``decode_chain``.
    """
    try:
        decoded = _READ.decode(data)
    except msgspec.MsgspecError:
        return None
    pages = decoded if isinstance(decoded, list) else [decoded]
    records = pages[0].results if len(pages) == 1 else [r for p in pages for r in p.results]
    return ChainPage(data, records, underlying)


def _root(ticker: str) -> str | None:
    """The underlying an OCC ticker names, for a result that does not say it."""
    occ = parse_occ(ticker)
    return occ.root if occ is not None else None


def _terms(details: _Details) -> _Terms:
    """Type and expiry, the ticker filling in for what ``details`` leaves out."""
    named = details.contract_type.lower() if details.contract_type is not None else None
    kind = named if named == "call" or named == "put" else None
    expiry = details.expiration_date[:256] if details.expiration_date else None
    if kind is None or expiry is None:
        occ = parse_occ(details.ticker or "")
        kind = kind or (occ.contract_type if occ is not None else None)
        expiry = expiry or (occ.expiration if occ is not None else None)
    return kind, expiry


def _blocks(decoder: msgspec.json.Decoder[list[Any]], raws: list[msgspec.Raw]) -> list[Any]:
    """Raw blocks decoded in one call (None where absent or null); a wrong kind is a doubt."""
    try:
        return decoder.decode(b"[" + b",".join([raw or b"null" for raw in raws]) + b"]")
    except msgspec.MsgspecError:
        raise _Doubt from None


class ChainPage:
    """The chain of one snapshot read (see the module), answering as a ``ChainView``."""

    def __init__(self, data: bytes | str, records: list[_Record], want: str | None) -> None:
        self._data, self._records, self._given = data, records, want
        self._want = want.upper() if want else None
        self._kept: dict[str, int] | None = None
        """Symbol -> the record that stands for it, in chain order (the later copy wins);
        ``_passed``: every record on the chain's underlying, duplicates too."""
        self._passed: list[int] = []
        self._terms: dict[int, _Terms] = {}
        self._made: dict[int, OptionContract] = {}
        self._price: tuple[float | None] | None = None
        self._shapes: Any = None
        self._whole: OptionChain | None = None
        self._full: OptionChain | None = None
        """``decode_chain`` of the bytes, once a doubt has handed every answer to it."""

    def _index(self) -> dict[str, int]:
        """One pass over the records: which stand for the chain's contracts, of what type
        and expiry (skipped, other underlyings and duplicates as ``decode_chain`` does)."""
        if self._kept is not None:
            return self._kept
        kept, passed, terms, want = {}, self._passed, self._terms, self._want
        for i, record in enumerate(self._records):
            details = record.details
            if details is None or not details.ticker:
                continue
            ticker = details.ticker
            spot = record.underlying_asset
            named = spot.ticker if spot is not None else None
            under = named.upper()[:64] if named else _root(ticker)
            if under is None:
                continue
            want = want or under
            if under == want:
                kept[ticker[:64]] = i
                passed.append(i)
                kind, expiry = details.contract_type, details.expiration_date
                terms[i] = (kind, expiry[:256]) if (kind == "call" or kind == "put") and \
                    expiry else _terms(details)
        self._kept, self._want = kept, want
        return kept

    @property
    def underlying(self) -> str:
        self._index()
        return self._want or "UNKNOWN"

    def count(self) -> int:
        return len(self._index()) if self._full is None else self._full.count()

    def expirations(self) -> set[str | None]:
        if self._full is not None:
            return self._full.expirations()
        terms = self._terms
        return {terms[i][1] for i in self._index().values()}

    def pool(self, kind: str, window: Collection[str]) -> list[OptionContract]:
        """The contracts of one type expiring in ``window``, in chain order, built now."""
        if self._full is None:
            terms = self._terms
            wanted = [i for i in self._index().values()
                      if terms[i][0] == kind and terms[i][1] in window]
            try:
                return self._contracts(wanted)
            except _Doubt:
                self._fall_back()
        assert self._full is not None
        return self._full.pool(kind, window)

    def find(self, symbol: str) -> OptionContract | None:
        if self._full is None:
            i = self._index().get(symbol)
            try:
                return self._contracts([i])[0] if i is not None else None
            except _Doubt:
                self._fall_back()
        assert self._full is not None
        return self._full.find(symbol)

    @property
    def underlying_price(self) -> float | None:
        """The price of the underlying the newest-stamped ``underlying_asset`` gives."""
        if self._full is not None:
            return self._full.underlying_price
        if self._price is None:
            self._index()
            price, price_ts = None, -1.0
            for i in self._passed:
                spot = self._records[i].underlying_asset
                value = spot.price if spot is not None else None
                if value is not None and 0 < value < _LIMIT:
                    stamp = _seconds(spot.last_updated)  # type: ignore[union-attr]
                    if stamp > price_ts:
                        price, price_ts = value, stamp
            self._price = (price,)
        return self._price[0]

    @property
    def ts(self) -> float | None:
        """The newest quote, day or underlying stamp; a pass over every record, when asked."""
        if self._full is None:
            try:
                return self._newest()
            except _Doubt:
                self._fall_back()
        assert self._full is not None
        return self._full.ts

    def _newest(self) -> float | None:
        self._index()
        records = [self._records[i] for i in self._passed]
        quotes = _blocks(_STAMPS, [r.last_quote for r in records])
        days = _blocks(_STAMPS, [r.day for r in records])
        newest = 0.0
        for record, quote, day in zip(records, quotes, days, strict=True):
            spot = record.underlying_asset
            newest = max(newest, _seconds(spot.last_updated) if spot is not None else 0.0,
                         _seconds(quote.last_updated) if quote is not None else 0.0,
                         _seconds(day.last_updated) if day is not None else 0.0)
        return newest if 0 < newest <= 1e11 else None

    @property
    def notes(self) -> list[str]:
        """What the decoder noticed; this builds the whole chain (``chain``)."""
        return self.chain().notes

    def chain(self) -> OptionChain:
        """The whole chain as ``decode_chain`` gives it: every contract, built now."""
        if self._full is not None:
            return self._full
        if self._whole is None:
            self._whole = decode_chain(self._data, underlying=self._given)
        return self._whole

    def _fall_back(self) -> None:
        self._full = self.chain()

    def _contracts(self, wanted: list[int]) -> list[OptionContract]:
        """The contracts of these records, the ones not built yet built now (their raw
        blocks decoded three calls in all, not three per contract)."""
        made, records = self._made, self._records
        new = [i for i in wanted if i not in made]
        if new:
            greeks = _blocks(_GREEKS, [records[i].greeks for i in new])
            quotes = _blocks(_QUOTES, [records[i].last_quote for i in new])
            days = _blocks(_DAYS, [records[i].day for i in new])
            for i, g, q, d in zip(new, greeks, quotes, days, strict=True):
                record = records[i]
                made[i] = self._build(i, _Result(
                    details=record.details, greeks=g, last_quote=q, day=d,
                    implied_volatility=record.implied_volatility,
                    open_interest=record.open_interest, underlying_asset=record.underlying_asset))
        return [made[i] for i in wanted]

    def _build(self, i: int, result: _Result) -> OptionContract:
        vague: list[int] = []
        built = typed_contract(result, i, vague)
        if isinstance(built, str) or (vague and not self._plain(i, result)):
            raise _Doubt
        return built[0]

    def _plain(self, i: int, result: _Result) -> bool:
        """Whether every block of record ``i`` that yielded no read field was written ``{}``."""
        record = self._records[i]
        for name, empty in _EMPTY_BLOCKS:
            if getattr(result, name) == empty and \
                    bytes(getattr(record, name)).translate(None, _BLANK) != b"{}":
                return False
        if result.underlying_asset == _NO_SPOT:
            if self._shapes is None:
                shapes = _SHAPES[False].decode(self._data)
                pages = shapes if isinstance(shapes, list) else [shapes]
                self._shapes = [s for page in pages for s in page.results]
            raw = self._shapes[i].underlying_asset
            return bytes(raw).translate(None, _BLANK) == b"{}"
        return True
