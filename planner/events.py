"""The event calendar the Wild Card analysis reads (``config/events.yaml``).

Times must carry a zone (``2026-03-18T18:00:00Z`` or ``…-04:00``): an event
time without one is ambiguous across New York, London and UTC, so it is refused
with the field named. ``covers_until`` says how far ahead the file was kept up
to date; beyond it the Wild Card verdict is less confident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from planner.parts import AssetClass, Severity

AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


class CalendarEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One scheduled event. No ``symbols``: market-wide; no ``asset_classes``: all."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """FOMC, CPI, NFP, earnings, …: the kind gives the default severity."""
    at: AwareTime
    symbols: list[str] = []
    asset_classes: list[AssetClass] = []
    severity: Severity | None = None
    note: str = ""

    @property
    def ts(self) -> float:
        return self.at.timestamp()

    def applies_to(self, symbol: str, asset_class: AssetClass) -> bool:
        symbol_ok = not self.symbols or symbol.upper() in {s.upper() for s in self.symbols}
        return symbol_ok and (not self.asset_classes or asset_class in self.asset_classes)


class EventCalendar(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole of ``config/events.yaml``."""

    covers_until: AwareTime | None = None
    events: list[CalendarEvent] = []

    def between(
        self, start: float, end: float, symbol: str, asset_class: AssetClass
    ) -> list[CalendarEvent]:
        """Events for this symbol from ``start`` to ``end``, soonest first."""
        found = [e for e in self.events
                 if start <= e.ts <= end and e.applies_to(symbol, asset_class)]
        return sorted(found, key=lambda e: e.ts)

    def covers(self, until: float) -> bool:
        return self.covers_until is None or self.covers_until.timestamp() >= until
