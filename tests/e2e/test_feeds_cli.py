"""``kernel feeds check`` in a child process against the local vendor server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.fake_vendors import Vendor, fake_vendors
from tests.support.processes import ROOT, kernel_command

KEY = "test-key-cli-90d2"
pytestmark = pytest.mark.timeout(120)


def feeds_yaml(base: str) -> str:
    return f"""\
        enabled: true
        timeout_s: 3
        crypto: {{enabled: true, base_url: "{base}", bar_symbols: [ETH/USDT]}}
        massive:
          enabled: true
          base_url: "{base}"
          options: {{underlyings: [SPY]}}
        """


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    with fake_vendors() as running:
        yield running


def check(config: Path, *, key: str | None = KEY, command: str = "check"
          ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MASSIVE_API_KEY", "POLYGON_API_KEY")}
    if key is not None:
        env["MASSIVE_API_KEY"] = key
    return subprocess.run(kernel_command("--config-dir", str(config), "feeds", command),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=100)


def test_every_configured_feed_answers(tmp_path: Path, vendor: Vendor) -> None:
    config = write_config(tmp_path, feeds_yaml=feeds_yaml(vendor.base))
    result = check(config)
    assert result.returncode == 0, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "crypto: ok, BTC/USDT, BTC/USDT:USDT, ETHUSDT; as of" in out
    assert "massive: ok, SPY, I:VIX, UUP, US10Y; as of" in out
    assert "chains SPY: ok, SPY; as of" in out and "240 contracts" in out
    assert "STALE" not in out and KEY not in result.stdout + result.stderr


def test_a_failing_feed_exits_8_naming_it(tmp_path: Path, vendor: Vendor) -> None:
    vendor.faults["/v2/aggs"] = "malformed"
    config = write_config(tmp_path, feeds_yaml=feeds_yaml(vendor.base))
    result = check(config)
    assert result.returncode == 8
    out = " ".join(result.stdout.split())
    assert "massive: FAILED" in out and "not JSON" in out and "crypto: ok" in out


def test_without_a_key_massive_is_off_and_says_how(tmp_path: Path, vendor: Vendor) -> None:
    config = write_config(tmp_path, feeds_yaml=feeds_yaml(vendor.base))
    result = check(config, key=None)
    assert result.returncode == 0
    assert "massive: off: no key (set $MASSIVE_API_KEY" in " ".join(result.stdout.split())
    assert not any(path.startswith("/v2/") for path, _ in vendor.requests)


def test_shipped_off_nothing_is_fetched_and_kernel_check_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = check(config)
    assert result.returncode == 0
    assert "no feed is configured" in result.stdout
    checked = subprocess.run(kernel_command("--config-dir", str(config), "check"),
                             capture_output=True, text=True, cwd=ROOT, timeout=100)
    assert checked.returncode == 0
    assert "feed crypto: off (feeds.yaml enabled: false)" in checked.stdout
