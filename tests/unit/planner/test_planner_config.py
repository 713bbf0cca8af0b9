"""``config/planner.yaml`` decodes into ``PlannerConfig`` and states exactly the defaults."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from kernel.config import ConfigError, load_yaml
from planner.config import PlannerConfig

PLANNER_YAML = Path(__file__).parents[3] / "config" / "planner.yaml"


def test_shipped_file_equals_the_documented_defaults() -> None:
    assert load_yaml(PLANNER_YAML, PlannerConfig) == PlannerConfig()


def test_misspelt_key_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "planner.yaml"
    path.write_text("chase:\n  zone_atr_percent: 10\n")
    with pytest.raises(ConfigError, match=r"`chase\.zone_atr_percent` is not a known setting"):
        load_yaml(path, PlannerConfig)


def test_out_of_range_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "planner.yaml"
    path.write_text("risk:\n  risk_pct: 150\n")
    with pytest.raises(ConfigError, match=r"risk\.risk_pct"):
        load_yaml(path, PlannerConfig)


def test_a_style_needs_every_distance() -> None:
    raw = msgspec.to_builtins(PlannerConfig())
    del raw["styles"]["DAY"]["max_stop_atr"]
    with pytest.raises(msgspec.ValidationError, match="max_stop_atr"):
        msgspec.convert(raw, PlannerConfig)


def test_partial_file_keeps_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "planner.yaml"
    path.write_text("risk:\n  risk_pct: 0.5\n")
    config = load_yaml(path, PlannerConfig)
    assert config.risk.risk_pct == 0.5
    assert config.chase == PlannerConfig().chase
