"""Which feeds run, with their vendor clients: shared by the actor and ``kernel feeds check``.

A feed is off for a reason a person can act on: the master switch, its own
switch, or a missing key. ``chains`` (option chains) runs only beside
``massive`` and only when some underlying is followed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.feeds._ccxt_source import CryptoSource
from agents.feeds.config import FeedsConfig, MassiveFeed
from agents.feeds.parsing import CrossParts
from bus.protocol import Bars

if TYPE_CHECKING:  # imported by open_sources: urllib3 only for a kernel that polls Massive
    from agents.feeds._massive_source import MassiveSource

CRYPTO, MASSIVE, CHAINS = "crypto", "massive", "chains"
FALLBACK_KEY_ENV = "POLYGON_API_KEY"
Polled = tuple[CrossParts, list[Bars]]


@dataclass
class Sources:
    crypto: CryptoSource | None = None
    massive: MassiveSource | None = None
    chains: bool = False
    off: dict[str, str] = field(default_factory=dict)
    """Feeds that do not run, and why."""
    cfg: FeedsConfig = field(default_factory=FeedsConfig)

    def running(self) -> list[str]:
        return [name for name, on in ((CRYPTO, self.crypto is not None),
                                      (MASSIVE, self.massive is not None),
                                      (CHAINS, self.chains)) if on]

    def names(self, feeds: Iterable[str]) -> list[str]:
        """Vendor names for a snapshot's ``source``: ``ccxt:binance``, ``massive``."""
        return [self.crypto.name if f == CRYPTO and self.crypto else f for f in feeds]

    def poller(self, name: str, now: float) -> Callable[[], Polled]:
        """The blocking fetch of a polled feed (run it in a thread)."""
        if name == CRYPTO and self.crypto is not None:
            crypto = self.crypto
            return lambda: (CrossParts(btc=crypto.btc(), funding=crypto.funding(now)),
                            [crypto.bars(s) for s in crypto.cfg.bar_symbols])
        if name == MASSIVE and self.massive is not None:
            massive, cfg = self.massive, self.cfg.massive
            return lambda: (CrossParts(index=massive.closes(cfg.index_symbol, now),
                                       vix=massive.closes(cfg.vix_symbol, now),
                                       dollar=massive.closes(cfg.dollar_symbol, now),
                                       yields=massive.yields() if cfg.yields else None), [])
        raise LookupError(f"{name} is not a polled feed that runs")

    def what(self, name: str, underlyings: Iterable[str]) -> str:
        """What a running feed fetches, for its status line."""
        if name == CRYPTO and self.crypto is not None:
            c = self.crypto.cfg
            bars = f", bars {', '.join(c.bar_symbols)} ({c.timeframe})" if c.bar_symbols else ""
            funding = f", funding {c.funding_symbol}" if c.funding_symbol else ""
            return f"{self.crypto.name}: {c.btc_symbol} closes{funding}{bars}"
        if name == MASSIVE:
            m = self.cfg.massive
            return (f"{m.index_symbol}, {m.vix_symbol}, {m.dollar_symbol}"
                    + (", 10-year yield" if m.yields else ""))
        return "on demand: " + (", ".join(sorted(underlyings)) or "none")


def massive_key(cfg: MassiveFeed, env: Mapping[str, str] | None = None) -> str | None:
    """The Massive key from ``cfg.key_env``, else from the vendor's former name's variable."""
    env = os.environ if env is None else env
    return env.get(cfg.key_env) or env.get(FALLBACK_KEY_ENV) or None


def open_sources(cfg: FeedsConfig, env: dict[str, str] | None = None,
                 option_symbols: Iterable[str] = ()) -> Sources:
    """The clients of the feeds that are on (blocking: ccxt's import takes a while)."""
    key = massive_key(cfg.massive, env)
    standing = cfg.standing(key_present=key is not None, option_symbols=list(option_symbols))
    sources = Sources(cfg=cfg, off={n: why for n, why in standing.items() if why != "on"})
    if standing[CRYPTO] == "on":
        sources.crypto = CryptoSource(cfg.crypto, timeout_s=cfg.timeout_s,
                                      daily_closes=cfg.daily_closes)
    if standing[MASSIVE] == "on" and key is not None:
        from agents.feeds._massive_source import MassiveSource  # here: see the import above

        sources.massive = MassiveSource(cfg.massive, timeout_s=cfg.timeout_s,
                                        daily_closes=cfg.daily_closes, key=key)
    sources.chains = standing[CHAINS] == "on"
    return sources
