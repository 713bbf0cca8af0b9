"""config/meta.yaml: the shipped file is valid, mistakes are named with their fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.meta.config import MetaConfig
from kernel.config import ConfigError, load_yaml
from kernel.settings import CONFIG_FILES

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "meta.yaml"


def test_the_shipped_file_loads_and_is_checked_by_kernel_check() -> None:
    config = load_yaml(SHIPPED, MetaConfig)
    assert CONFIG_FILES["meta.yaml"] is MetaConfig
    assert config.enabled and config.start_delay_s >= 60  # harmless right after a start
    assert config.trading_hours, "the shipped file keeps jobs out of trading hours"
    assert config.cadence("daily-logs") == "daily"
    assert config.cadence("code-audit") == "weekly"


def test_a_partial_job_keeps_its_natural_cadence_and_the_global_timeout() -> None:
    config = MetaConfig()
    assert config.cadence("retrain") == "weekly"
    assert config.timeout("retrain") == config.timeout_s


@pytest.mark.parametrize(("text", "expected"), [
    ("trading_hours: [{start: '25:00'}]", "`trading_hours[0].start`"),
    ("jobs: {daily_logs: {enabled: false}}", "`jobs.daily_logs` is not a known setting"),
    ("jobs: {code-audit: {every: monthly}}", "`jobs.code-audit.every`: invalid enum value"),
    ("timeout_s: 0", "`timeout_s`"),
    ("trading_hours: [{days: [monday]}]", "`trading_hours[0].days[0]`: invalid enum"),
])
def test_mistakes_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "meta.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, MetaConfig)
    assert expected in str(caught.value)
    assert "Fix:" in str(caught.value)
