"""``kernel run`` with the feeds pointed at the local vendor server: live plans see the market.

The kernel runs as a child process with ``config/feeds.yaml`` on and both feeds
aimed at the local server (Massive's key in the environment). A raw bot sends
SPY bars; the feeds publish the cross-asset snapshot and prefetch SPY's chain
by themselves, before any plan is asked for. The plans in the journal must show
a Macro verdict that is not NEUTRAL, and the first plan must already be an
OPTIONS plan whose contract is one of the fed chain's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kernel.journal import read_journal
from tests.support.fake_vendors import Vendor, fake_vendors
from tests.support.link import RawBot
from tests.support.planner_market import bars_message, trend_bars
from tests.support.processes import KernelProcess

KEY = "test-key-e2e-3b7d"
SPOT = 690.0
pytestmark = pytest.mark.timeout(180)
PLANNER = """\
live:
  account_size: 100000
  debounce_s: 0.2
"""


def feeds_yaml(base: str) -> str:
    return f"""\
enabled: true
timeout_s: 5
crypto: {{enabled: true, base_url: "{base}"}}
massive:
  enabled: true
  base_url: "{base}"
  options: {{underlyings: [SPY], min_interval_s: 0.5}}
"""


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    with fake_vendors() as running:
        yield running


def rows(kernel: KernelProcess, topic: str) -> list[dict[str, Any]]:
    found = read_journal(kernel.journal_path, topic_prefix=topic, limit=100_000)
    return [msgspec.msgpack.decode(r.payload) for r in found if r.topic == topic]


async def until(condition: Any, what: str, kernel: KernelProcess, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout_s} s; kernel stderr: {kernel.stderr()}")


def spy_bars(n: int) -> Any:
    """A rising SPY that ends near the fed chain's spot, one bar a minute up to now."""
    drift = 0.0004
    start = SPOT / (1 + drift * (n - 1))
    return trend_bars(n, start=start, drift=drift, t0=time.time() - 60 * n)


async def test_live_plans_use_the_fed_macro_data_and_option_chain(
        tmp_path: Path, vendor: Vendor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASSIVE_API_KEY", KEY)
    kernel = KernelProcess(tmp_path)
    (kernel.config_dir / "feeds.yaml").write_text(feeds_yaml(vendor.base), encoding="utf-8")
    (kernel.config_dir / "planner.yaml").write_text(PLANNER, encoding="utf-8")
    kernel.start(timeout_s=30)
    bot = RawBot(kernel.endpoint("link"))
    try:
        cross = await until(lambda: [c for c in rows(kernel, "market.cross_asset")
                                     if c["source"] == "ccxt:binance+massive"],
                            "cross-asset data from both feeds", kernel)
        assert not cross[0]["stale"] and cross[0]["vix"] == pytest.approx(14.0)
        await until(lambda: rows(kernel, "market.options_chain"), "prefetched chain", kernel)
        await bot.greet()
        await bot.send(bars_message("SPY", spy_bars(200), atr_30d=8.0, asset_class="stock"))
        options = await until(lambda: [p for p in rows(kernel, "plan.trade")
                                       if p.get("options")], "options plan", kernel)
        status = kernel.status()
    finally:
        bot.close()
        kernel.stop()
    plans = rows(kernel, "plan.trade")
    assert any(p["synthesis"]["macro"]["direction"] != "NEUTRAL" for p in plans
               if p.get("synthesis")), plans[-1]
    chain = rows(kernel, "market.options_chain")[0]
    tickers = {c["symbol"] for c in chain["contracts"]}
    stock = [p for p in plans if not p.get("options")]
    assert len(stock) == 1  # the options plan answers the very first stock plan
    unavailable = [a for a in rows(kernel, "anomaly") if a["kind"] == "options_unavailable"]
    assert unavailable == []  # never "No option chain for SPY yet"
    block = options[0]["options"]
    assert block["status"] == "SELECTED", block
    assert block["symbol"] in tickers and chain["source"] == "massive"
    assert status is not None
    latest: Any = status["latest"]
    feeds = latest["feeds.state"]["feeds"]
    assert {f["name"]: f["condition"] for f in feeds} == {
        "crypto": "ok", "massive": "ok", "chains": "ok"}
    journal = b"".join(r.payload for r in read_journal(kernel.journal_path, limit=100_000))
    assert KEY.encode() not in journal


def test_a_hanging_vendor_holds_neither_the_kernel_nor_its_stop(
        tmp_path: Path, vendor: Vendor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASSIVE_API_KEY", KEY)
    vendor.faults.update({"/api/v3/exchangeInfo": "hang", "/v2/aggs": "hang"})
    kernel = KernelProcess(tmp_path)
    (kernel.config_dir / "feeds.yaml").write_text(
        feeds_yaml(vendor.base).replace("timeout_s: 5", "timeout_s: 60"), encoding="utf-8")
    kernel.start(timeout_s=30)
    try:
        deadline = time.monotonic() + 30
        while not (vendor.count("/api/v3/exchangeInfo") and vendor.count("/v2/aggs")):
            assert time.monotonic() < deadline, "the feeds never asked"
            time.sleep(0.1)
        status = kernel.status()  # the control socket answers while both requests hang
    finally:
        started = time.monotonic()
        code = kernel.stop()
    stopped_in = time.monotonic() - started
    assert code == 0 and stopped_in < 15  # not held for the 60 s the requests may take
    assert status is not None
    latest: Any = status["latest"]
    conditions = {f["name"]: f["condition"] for f in latest["feeds.state"]["feeds"]}
    assert conditions["crypto"] == "waiting" and conditions["massive"] == "waiting"
