"""config/feeds.yaml: shipped off, equal to the defaults, mistakes named with their fix."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agents.feeds.config import FeedsConfig
from kernel.config import ConfigError, load_yaml
from kernel.settings import CONFIG_FILES

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "feeds.yaml"


def test_the_shipped_file_is_off_and_equals_the_defaults() -> None:
    config = load_yaml(SHIPPED, FeedsConfig)
    assert CONFIG_FILES["feeds.yaml"] is FeedsConfig
    assert config == FeedsConfig()
    assert not config.enabled and not config.crypto.enabled and not config.massive.enabled
    assert config.feeds() == {"crypto": "off (feeds.yaml enabled: false)",
                              "massive": "off (feeds.yaml enabled: false)"}


def test_each_feed_says_why_it_is_off() -> None:
    config = msgspec.convert({"enabled": True, "crypto": {"enabled": True}}, FeedsConfig)
    assert config.feeds() == {"crypto": "on",
                              "massive": "off (feeds.yaml massive.enabled: false)"}


@pytest.mark.parametrize(("text", "expected"), [
    ("crypto: {exchange: mtgox}", "`crypto.exchange`: invalid enum value"),
    ("massive: {key: abc}", "`massive.key` is not a known setting"),
    ("massive: {key_env: 'my key'}", "`massive.key_env`"),
    ("massive: {key_env: BOT_KEY}", "`massive.key_env`"),
    ("massive: {base_url: 'ftp://x'}", "`massive.base_url`"),
    ("interval_s: 1", "`interval_s`"),
    ("massive: {options: {page_limit: 1000}}", "`massive.options.page_limit`"),
    ("crypto: {timeframe: 2d}", "`crypto.timeframe`: invalid enum value"),
])
def test_mistakes_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, FeedsConfig)
    assert expected in str(caught.value)
    assert "Fix:" in str(caught.value)
