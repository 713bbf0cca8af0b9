"""``config/planner.yaml`` decodes into ``PlannerConfig`` and states exactly the defaults."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import yaml

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


def _day_with(tmp_path: Path, **fields: object) -> Path:
    """planner.yaml with a whole DAY frame (a style needs every distance), some fields changed."""
    day = {**msgspec.to_builtins(PlannerConfig().styles.DAY), **fields}
    path = tmp_path / "planner.yaml"
    path.write_text(yaml.safe_dump({"styles": {"DAY": day}}), encoding="utf-8")
    return path


def test_notional_cap_is_per_style_and_defaults_to_a_quarter_of_the_account(
    tmp_path: Path,
) -> None:
    assert {PlannerConfig().style(s).notional_cap_pct
            for s in ("SCALP", "DAY", "SWING", "INVESTMENT")} == {25.0}
    config = load_yaml(_day_with(tmp_path, notional_cap_pct=40), PlannerConfig)
    assert config.style("DAY").notional_cap_pct == 40
    assert config.style("SCALP").notional_cap_pct == 25


def test_a_non_positive_notional_cap_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    path = _day_with(tmp_path, notional_cap_pct=0)
    with pytest.raises(ConfigError) as info:
        load_yaml(path, PlannerConfig)
    assert str(path) in str(info.value)
    assert "styles.DAY.notional_cap_pct" in str(info.value) and "> 0" in str(info.value)


def test_a_maximum_stop_below_the_minimum_is_refused_with_both_values(tmp_path: Path) -> None:
    path = _day_with(tmp_path, min_stop_atr=2.0, max_stop_atr=1.0)
    with pytest.raises(ConfigError) as info:
        load_yaml(path, PlannerConfig)
    text = str(info.value)
    assert str(path) in text and "styles.DAY" in text
    assert "found max_stop_atr 1 and min_stop_atr 2" in text
    assert "raise max_stop_atr or lower min_stop_atr" in text


def test_conviction_words_in_the_wrong_order_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "planner.yaml"
    path.write_text("synthesis:\n  strong_conviction: 40\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"synthesis.*found moderate_conviction 50 and "
                                          r"strong_conviction 40"):
        load_yaml(path, PlannerConfig)


def test_swing_and_investment_stops_ignore_todays_extremes() -> None:
    config = PlannerConfig()
    assert [config.style(s).session_stop_levels
            for s in ("SCALP", "DAY", "SWING", "INVESTMENT")] == [True, True, False, False]
