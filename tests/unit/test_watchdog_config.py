"""config/watchdog.yaml: shipped valid, required, and strict about its keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.watchdog.config import WatchdogConfig
from kernel.config import ConfigError, load_yaml
from kernel.settings import CONFIG_FILES, check_all, load_settings
from tests.conftest import write_config

SHIPPED = Path(__file__).resolve().parents[2] / "config"


def test_the_shipped_file_is_valid_and_checked_by_kernel_check() -> None:
    cfg = load_yaml(SHIPPED / "watchdog.yaml", WatchdogConfig)
    assert cfg.on_hang in ("restart", "halt")
    assert cfg.heartbeat_gap_s < cfg.heartbeat_timeout_s
    assert CONFIG_FILES["watchdog.yaml"] is WatchdogConfig
    assert load_settings(SHIPPED).watchdog == cfg


def test_a_missing_watchdog_yaml_is_an_error_not_silent_defaults(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (config / "watchdog.yaml").unlink()
    with pytest.raises(ConfigError, match=r"watchdog\.yaml: file not found"):
        load_settings(config)
    assert any("watchdog.yaml" in problem for problem in check_all(config))


@pytest.mark.parametrize(("text", "expected"), [
    ("heartbeat_timout_s: 5\n", "field `heartbeat_timout_s` is not a known setting"),
    ("on_hang: reboot\n", "field `on_hang`"),
    ("heartbeat_timeout_s: 0\n", "field `heartbeat_timeout_s`"),
    ("max_restarts: -1\n", "field `max_restarts`"),
    ("backoff_initial_s: 10\nbackoff_max_s: 1\n", "must not exceed backoff_max_s"),
    ("output_log: {files_kept: 0}\n", "field `output_log.files_kept`"),
    ("output_log: {max_file_mb: 0}\n", "field `output_log.max_file_mb`"),
    ("output_log: {max_kb_per_sec: 5}\n", "`output_log.max_kb_per_sec` is not a known setting"),
])
def test_bad_values_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "watchdog.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_yaml(path, WatchdogConfig)
    assert expected in str(info.value) and "watchdog.yaml" in str(info.value)


def test_test_configs_get_fast_timings_that_tests_can_override(tmp_path: Path) -> None:
    config = write_config(tmp_path, watchdog={"on_hang": "halt"})
    cfg = load_settings(config).watchdog
    assert cfg.on_hang == "halt" and cfg.heartbeat_timeout_s <= 2
