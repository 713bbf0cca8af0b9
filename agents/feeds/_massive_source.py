"""Massive (formerly Polygon.io) through its official client: closes, yields, option chains.

Blocking (the client is urllib3): the actor calls it in a worker thread (``_threads.py``).
The key is read from the environment variable the config names (then
``POLYGON_API_KEY``), handed to the client and to nothing else; every error
text is scrubbed of it. The client's own retries are replaced by one attempt
whose 429 raises :class:`FeedError` with the vendor's ``Retry-After``, so the
feed's backoff (``health.py``) is the only retry policy and the one that is
journaled. Answers are taken raw and parsed by ``parsing.py``; chain pages by
``planner/contracts_polygon.py``, following the vendor's cursor page by page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Self, TypeVar
from urllib.parse import parse_qs, urlparse

import msgspec
from urllib3.util.retry import Retry

from agents.feeds._source import FeedError, retry_after, scrubbed
from agents.feeds.config import MassiveFeed
from agents.feeds.parsing import FeedDataError, Reading, Series, aggregate_closes, yield_change_bp
from planner.contracts import OptionChain
from planner.contracts_polygon import ChainError, decode_pages

T = TypeVar("T")


class _OneTry(Retry):
    """No retry at all; a 429 becomes a FeedError carrying the vendor's Retry-After."""

    def increment(self, method: Any = None, url: Any = None, response: Any = None,
                  error: Any = None, _pool: Any = None, _stacktrace: Any = None) -> Self:
        if response is not None and response.status == 429:
            raise FeedError("massive: rate limited (HTTP 429)",
                            retry_after_s=retry_after(response.headers.get("Retry-After")))
        return super().increment(method, url, response, error, _pool, _stacktrace)


class MassiveSource:
    name = "massive"

    def __init__(self, cfg: MassiveFeed, *, timeout_s: float, daily_closes: int,
                 key: str) -> None:
        from massive import RESTClient  # imported only when the feed is on

        self.cfg = cfg
        self._key = key
        self._days = daily_closes * 7 // 5 + 10  # calendar days holding that many sessions
        pool = {"retries": _OneTry(total=0, status_forcelist=[429, 500, 502, 503, 504],
                                   raise_on_status=True)}
        options: dict[str, Any] = {"base": cfg.base_url.rstrip("/")} if cfg.base_url else {}
        self.client: Any = RESTClient(api_key=key, connect_timeout=timeout_s,
                                      read_timeout=timeout_s, retries=0,
                                      connection_pool_kw=pool, **options)

    def closes(self, ticker: str, now: float) -> Series:
        today = datetime.fromtimestamp(now, UTC).date()
        start = today - timedelta(days=self._days)
        return self._call(lambda: aggregate_closes(self._raw(
            self.client.get_aggs(ticker, 1, "day", start.isoformat(), today.isoformat(),
                                 adjusted=True, sort="asc", limit=5000, raw=True)), ticker))

    def yields(self) -> Reading:
        return self._call(lambda: yield_change_bp(self._raw(self.client.list_treasury_yields(
            params={"sort": "date.desc", "limit": 5}, raw=True))))

    def chain(self, underlying: str) -> OptionChain:
        """Every page of the snapshot, up to ``max_pages`` (a note says when cut)."""
        opts = self.cfg.options
        pages: list[bytes] = []
        params: dict[str, Any] = {"limit": opts.page_limit}
        while True:
            page, cursor = self._call(partial(self._page, underlying, params))
            pages.append(page)
            if cursor is None or len(pages) >= opts.max_pages:
                break
            params = {"limit": opts.page_limit, "cursor": cursor}
        try:
            chain = decode_pages(pages, underlying=underlying)
        except (ChainError, msgspec.DecodeError) as exc:
            raise FeedError(f"massive: {underlying} chain: {scrubbed(exc, (self._key,))}") from None
        if cursor is not None:
            chain = msgspec.structs.replace(chain, notes=[
                *chain.notes, f"cut at {opts.max_pages} pages (feeds.yaml options.max_pages)"])
        return msgspec.structs.replace(chain, source="massive")

    def _page(self, underlying: str, params: dict[str, Any]) -> tuple[bytes, str | None]:
        """The page's bytes (decoded with the others by ``decode_pages``) and its cursor."""
        page = self._raw(
            self.client.list_snapshot_options_chain(underlying, params=params, raw=True))
        return page, _cursor(page)

    def _raw(self, response: Any) -> bytes:
        data = getattr(response, "data", None)
        if not isinstance(data, bytes):
            raise FeedDataError(f"expected a response body, found {type(response).__name__}")
        return data

    def _call(self, fetch: Callable[[], T]) -> T:
        from massive.exceptions import AuthError, BadResponse

        try:
            return fetch()
        except FeedError:
            raise
        except (FeedDataError, msgspec.DecodeError) as exc:
            raise FeedError(f"massive: {scrubbed(exc, (self._key,))}") from None
        except (BadResponse, AuthError) as exc:
            raise FeedError(f"massive: refused: {scrubbed(exc, (self._key,))}") from None
        except Exception as exc:  # urllib3's errors: connection, timeout, too many 5xx
            raise FeedError(f"massive: {type(exc).__name__}: "
                            f"{scrubbed(exc, (self._key,))}") from None


class _Next(msgspec.Struct):
    next_url: Any = None


_NEXT = msgspec.json.Decoder(_Next)


def _cursor(page: bytes) -> str | None:
    """The ``cursor`` of a page's ``next_url``, which the client sends as a parameter.

    Bytes that are not JSON raise ``msgspec.DecodeError`` (a failed fetch); JSON
    that is not a page has no cursor, and ``decode_chain`` says what it is.
    """
    try:
        next_url = _NEXT.decode(page).next_url
    except msgspec.ValidationError:
        return None
    if not isinstance(next_url, str):
        return None
    values = parse_qs(urlparse(next_url).query).get("cursor")
    return values[0] if values else None
