"""A local HTTP server that answers like Binance (through ccxt) and Massive (Polygon.io).

The answers are the vendors' REST shapes: recorded files in ``tests/fixtures/feeds``
(exchange info, premium index, treasury yields), and series made here in the
same shape, their times shifted to the present so the data is fresh (daily
klines and aggregates ending today, an option chain from the fixture generator
with today's expiries and quotes stamped now). ``faults`` turns any path into a
vendor's bad day: ``"429"`` (rate limited, with ``Retry-After``), ``"500"``,
``"malformed"`` (not JSON), ``"empty"`` (a valid answer with no results) or
``"hang"`` (no answer until the server stops). Every request is recorded with
its headers, so a test can check which key was sent and how often.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fixtures.options.make_chain import make_results, strikes_around

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
DAY_MS = 86_400_000
UPTREND = [100.0 * (1.004 ** i) for i in range(200)]
"""A steady climb: every trend the Macro analysis reads from it is risk-on."""
LEVELS = {"SPY": 690.0, "QQQ": 610.0, "IWM": 240.0, "UUP": 27.0, "I:VIX": 14.0,
          "BTCUSDT": 91_000.0, "ETHUSDT": 3_100.0}


def _today_ms() -> int:
    return int(time.time() // 86_400) * DAY_MS


def series(level: float, n: int, *, falling: bool = False) -> list[float]:
    """``n`` closes ending at ``level``, rising (or falling) smoothly."""
    path = UPTREND[-n:] if not falling else list(reversed(UPTREND))[-n:]
    return [level * p / path[-1] for p in path]


class Vendor:
    """What the server knows: its faults, its request log, and how it answers."""

    def __init__(self) -> None:
        self.faults: dict[str, str] = {}
        self.retry_after_s = 1
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self.base = ""
        self.falling: set[str] = {"I:VIX", "UUP"}
        """Series that fall: a falling VIX and dollar read risk-on, like the rising index."""

    def count(self, fragment: str) -> int:
        return sum(1 for path, _ in self.requests if fragment in path)

    def fault_for(self, path: str) -> str | None:
        return next((kind for fragment, kind in self.faults.items() if fragment in path), None)

    def answer(self, path: str, query: dict[str, list[str]]) -> Any:
        arg = {k: v[0] for k, v in query.items()}
        if path.endswith("/api/v3/exchangeInfo"):
            return _fixture("binance_exchange_info_spot.json")
        if path.endswith("/fapi/v1/exchangeInfo"):
            return _fixture("binance_exchange_info_linear.json")
        if path.endswith("/klines"):
            return self._klines(arg.get("symbol", "BTCUSDT"), int(arg.get("limit", "100")))
        if path.endswith("/fapi/v1/premiumIndex"):
            answer = _fixture("binance_premium_index.json")
            answer["time"] = int(time.time() * 1000)
            answer["nextFundingTime"] = _today_ms() + DAY_MS
            return answer
        if path.startswith("/v2/aggs/ticker/"):
            return self._aggregates(path.split("/")[4])
        if path.startswith("/fed/v1/treasury-yields"):
            return _yields()
        if path.startswith("/v3/snapshot/options/"):
            return self._chain(path.rsplit("/", 1)[1], arg)
        return None

    def _klines(self, symbol: str, limit: int) -> list[list[Any]]:
        today = _today_ms()
        closes = series(LEVELS.get(symbol, 50.0), min(limit, 200))
        rows = []
        for i, close in enumerate(closes):
            start = today - (len(closes) - 1 - i) * DAY_MS
            open_ = closes[i - 1] if i else close
            rows.append([start, f"{open_:.2f}", f"{max(open_, close) * 1.01:.2f}",
                         f"{min(open_, close) * 0.99:.2f}", f"{close:.2f}", "1234.5",
                         start + DAY_MS - 1, "0", 100, "0", "0", "0"])
        return rows

    def _aggregates(self, ticker: str) -> dict[str, Any]:
        today = _today_ms()
        closes = series(LEVELS.get(ticker, 50.0), 60, falling=ticker in self.falling)
        results = [{"v": 1e6, "vw": c, "o": c, "c": round(c, 2), "h": c * 1.01, "l": c * 0.99,
                    "t": today - (len(closes) - 1 - i) * DAY_MS, "n": 1000}
                   for i, c in enumerate(closes)]
        return {"ticker": ticker, "queryCount": len(results), "resultsCount": len(results),
                "adjusted": True, "results": results, "status": "OK",
                "request_id": "b2f0e8d5a1c3", "count": len(results)}

    def _chain(self, underlying: str, arg: dict[str, str]) -> dict[str, Any]:
        today = datetime.now(UTC).date()
        results = chain_today(underlying, today)
        size = int(arg.get("limit", "250"))
        start = int(arg.get("cursor", "0") or 0)
        page: dict[str, Any] = {"request_id": f"chain-{start}", "status": "OK",
                                "results": results[start:start + size]}
        if start + size < len(results):
            page["next_url"] = (f"{self.base}/v3/snapshot/options/{underlying}"
                                f"?cursor={start + size}")
        return page


def chain_today(underlying: str, today: date) -> list[dict[str, Any]]:
    """The SPY-like chain of the fixtures, listed from ``today``, every quote stamped now."""
    spot = LEVELS.get(underlying, 100.0)
    expiries = [today + timedelta(days=d) for d in (0, 1, 2, 5, 7, 9, 16, 44)]
    results = make_results(underlying, spot, expiries, strikes_around(spot, 2.5, 7), seed=1,
                           liquidity=8000.0, today=today)
    stamp = int(time.time() * 1e9)
    for result in results:
        for block in ("last_quote", "day", "underlying_asset"):
            if result.get(block):
                result[block]["last_updated"] = stamp
    return results


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _yields() -> dict[str, Any]:
    """The recorded answer, its two days moved to the last two days."""
    answer = _fixture("massive_treasury_yields.json")
    today = datetime.now(UTC).date()
    for back, row in zip((2, 1), answer["results"], strict=True):
        row["date"] = (today - timedelta(days=back)).isoformat()
    return answer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        vendor = self.server.vendor
        url = urlparse(self.path)
        vendor.requests.append((self.path, dict(self.headers.items())))
        fault = vendor.fault_for(url.path)
        if fault == "hang":
            vendor.stopping.wait(120)
            return
        if fault == "429":
            self._send(429, b'{"status":"ERROR","error":"rate limited"}',
                       {"Retry-After": str(vendor.retry_after_s)})
            return
        if fault == "500":
            self._send(500, b'{"status":"ERROR","error":"internal"}')
            return
        if fault == "malformed":
            self._send(200, b'{"results": [{"c": "not a number", ')
            return
        answer = vendor.answer(url.path, parse_qs(url.query))
        if answer is None:
            self._send(404, b'{"status":"NOT_FOUND"}')
            return
        if fault == "empty":
            answer = ({"results": [], "status": "OK", "request_id": "empty"}
                      if isinstance(answer, dict) else [])
        self._send(200, json.dumps(answer).encode())

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is ``Vendor.requests``."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    vendor: Vendor


@contextmanager
def fake_vendors() -> Iterator[Vendor]:
    """A running server on an ephemeral loopback port; ``vendor.base`` is its URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.vendor = vendor = Vendor()
    vendor.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-vendors", daemon=True)
    thread.start()
    try:
        yield vendor
    finally:
        vendor.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
