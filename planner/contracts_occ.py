"""What an option ticker and a vendor timestamp say by themselves.

Shared by the lenient and the typed decoders of the Polygon / Massive snapshot
(``planner.contracts_polygon`` and ``planner.contracts_polygon_typed``), so that
both read tickers and timestamps the same way.
"""

from __future__ import annotations

import re

import msgspec

from planner.contracts import ContractType

_OCC = re.compile(r"^O:(?P<root>[A-Z0-9.]{1,6})(?P<date>\d{6})(?P<cp>[CP])(?P<strike>\d{8})$")


class OccSymbol(msgspec.Struct, frozen=True, kw_only=True):
    """What an OCC-style option ticker says by itself."""

    root: str
    expiration: str
    contract_type: ContractType
    strike: float


def parse_occ(ticker: str) -> OccSymbol | None:
    """``O:SPY251219C00650000`` -> SPY, 2025-12-19, call, 650.0; None if not that shape."""
    match = _OCC.match(ticker)
    if match is None:
        return None
    d = match["date"]
    return OccSymbol(root=match["root"], expiration=f"20{d[:2]}-{d[2:4]}-{d[4:]}",
                     contract_type="call" if match["cp"] == "C" else "put",
                     strike=int(match["strike"]) / 1000)


def vendor_seconds(*stamps: float | None) -> float:
    """The newest vendor timestamp, in seconds (Polygon writes nanoseconds)."""
    best = 0.0
    for stamp in stamps:
        if stamp is None or stamp <= 0:
            continue
        best = max(best, stamp / 1e9 if stamp > 1e15 else stamp / 1e3 if stamp > 1e11 else stamp)
    return best
