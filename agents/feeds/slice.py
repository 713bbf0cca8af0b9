"""What the feeds actor is given: ``config/feeds.yaml`` and the underlyings options follow."""

from __future__ import annotations

from dataclasses import dataclass

from agents.feeds.config import FeedsConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedsSlice:
    feeds: FeedsConfig
    option_symbols: tuple[str, ...] = ()
    """``options.yaml`` ``live.symbols``: the chains fetched when ``feeds.yaml`` names none."""
