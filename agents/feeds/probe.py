"""One fetch from every configured feed, for ``kernel feeds check``: what came back, or why not.

Runs each feed's blocking fetch in a worker thread bounded by ``timeout_s`` (the
clients' own timeouts end a hanging request soon after), and turns the answer
into a :class:`Probe` a person can check: the symbols, the newest data's time,
whether it is stale. Nothing is published or journaled.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import partial
from typing import Any

from agents.feeds._source import FeedError
from agents.feeds.parsing import CrossParts
from agents.feeds.sources import CHAINS, CRYPTO, MASSIVE, Sources
from kernel.untrusted import one_line


@dataclass(frozen=True)
class Probe:
    feed: str
    ok: bool
    symbols: tuple[str, ...] = ()
    as_of: float | None = None
    stale: bool = False
    detail: str = ""
    """What came back (a count, a note), or the error."""


def probe_all(sources: Sources, underlyings: list[str], *, now: float,
              chain_max_age_s: float) -> list[Probe]:
    """Every running feed once; chains once per followed underlying (stale past
    ``options.yaml`` ``live.chain_max_age_s``, as the options selector judges them)."""
    out: list[Probe] = []
    wait = sources.cfg.timeout_s + 1.0
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="feeds-check") as pool:
        for name in (CRYPTO, MASSIVE):
            if name in sources.running():
                out.append(_run(pool, name, wait, sources.poller(name, now),
                                partial(_polled, name, sources=sources, now=now)))
        if sources.chains and sources.massive is not None:
            massive = sources.massive
            for symbol in underlyings:
                out.append(_run(pool, f"{CHAINS} {symbol}", wait, partial(massive.chain, symbol),
                                partial(_chain, now=now, max_age_s=chain_max_age_s)))
    return out


def _run(pool: ThreadPoolExecutor, feed: str, timeout: float, fetch: Callable[[], Any],
         describe: Callable[[Any], Probe]) -> Probe:
    try:
        return describe(pool.submit(fetch).result(timeout=timeout))
    except FeedError as exc:
        return Probe(feed=feed, ok=False, detail=one_line(exc, 400))
    except FutureTimeout:
        return Probe(feed=feed, ok=False, detail=f"no answer within {timeout:g} s")
    except Exception as exc:  # a client's surprise is a failed feed, not a crash
        return Probe(feed=feed, ok=False, detail=one_line(f"{type(exc).__name__}: {exc}", 400))


def _polled(name: str, got: tuple[CrossParts, list[Any]], *, sources: Sources,
            now: float) -> Probe:
    parts, bars = got
    found = [(label, part) for label, part in (
        ("index", parts.index), ("vix", parts.vix), ("dollar", parts.dollar),
        ("btc", parts.btc)) if part is not None]
    symbols = [part.symbol for _, part in found]
    stamps = [part.as_of for _, part in found]
    extra = []
    if parts.yields is not None:
        symbols.append("US10Y")
        stamps.append(parts.yields.as_of)
        extra.append(f"10y {parts.yields.value:+.1f} bp")
    if parts.funding is not None:
        symbols.append(sources.cfg.crypto.funding_symbol)
        stamps.append(parts.funding.as_of)
        extra.append(f"funding {parts.funding.value:+.5f}")
    for message in bars:
        symbols.append(message.symbol)
        stamps.append(message.bars[-1].ts)
        extra.append(f"{message.symbol} {len(message.bars)} bars")
    as_of = min(stamps) if stamps else None
    return Probe(feed=name, ok=True, symbols=tuple(symbols), as_of=as_of,
                 stale=as_of is not None and now - as_of > sources.cfg.stale_after_s,
                 detail=", ".join(extra))


def _chain(chain: Any, *, now: float, max_age_s: float) -> Probe:
    feed = f"{CHAINS} {chain.underlying}"
    if not chain.contracts:
        return Probe(feed=feed, ok=False, detail="the chain holds no contracts")
    return Probe(feed=feed, ok=True, symbols=(chain.underlying,), as_of=chain.ts,
                 stale=chain.ts is None or now - chain.ts > max_age_s,
                 detail=f"{len(chain.contracts)} contracts"
                        + (f"; {'; '.join(chain.notes[:2])}" if chain.notes else ""))
