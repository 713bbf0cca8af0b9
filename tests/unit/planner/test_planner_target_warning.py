"""The seed's ATR target warnings: one threshold per style, a warning and nothing more."""

from __future__ import annotations

import msgspec
import pytest

from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.exits import target_warning
from planner.parts import Style
from tests.unit.planner.planner_factories import CONFIG, NOW, account, macro, snap, tech, wild

SEED_THRESHOLDS = {"SCALP": 0.5, "DAY": 1.0, "SWING": 2.0, "INVESTMENT": 5.0}


@pytest.mark.parametrize(("style", "threshold"), SEED_THRESHOLDS.items())
def test_config_holds_the_seed_thresholds(style: Style, threshold: float) -> None:
    assert CONFIG.style(style).target_warning_atr == threshold


@pytest.mark.parametrize(("style", "threshold"), SEED_THRESHOLDS.items())
def test_warns_only_past_the_threshold(style: Style, threshold: float) -> None:
    atr = 2.0
    assert target_warning(100.0, 100.0 + threshold * atr, atr, style, threshold) is None
    warning = target_warning(100.0, 100.0 + 1.2 * threshold * atr, atr, style, threshold)
    assert warning is not None
    assert warning.endswith(f"— verify achievable in {style} timeframe")
    assert f"(threshold: {threshold:.1f}x)" in warning


def test_message_matches_the_seed_example() -> None:
    assert target_warning(100.0, 101.8, 1.0, "DAY", 1.0) == (
        "TP1 is 1.8x ATR from entry (threshold: 1.0x) — verify achievable in DAY timeframe")


def test_short_targets_measure_the_distance_below_entry() -> None:
    assert target_warning(100.0, 98.2, 1.0, "DAY", 1.0) == (
        "TP1 is 1.8x ATR from entry (threshold: 1.0x) — verify achievable in DAY timeframe")


def test_warning_changes_nothing_else_in_the_plan() -> None:
    """"Trade plan passes through unchanged": only ``target_warning`` differs."""
    raw = msgspec.to_builtins(CONFIG)
    raw["styles"]["DAY"]["target_warning_atr"] = 50.0
    lenient = msgspec.convert(raw, PlannerConfig)
    args = (tech(), macro(), wild(), snap(), account(), "DAY", NOW)
    warned = build_plan(*args, CONFIG)  # type: ignore[arg-type]
    quiet = build_plan(*args, lenient)  # type: ignore[arg-type]
    assert warned.target_warning is not None and quiet.target_warning is None
    assert warned.decision == quiet.decision == "TRADE"
    assert msgspec.structs.replace(warned, target_warning=None) == quiet
