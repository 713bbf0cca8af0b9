"""Position size = account × risk % ÷ stop distance, with numbers worked by hand."""

from __future__ import annotations

import pytest

from planner.config import RiskConfig
from planner.parts import AssetClass, PositionPlan
from planner.sizing import SizingRefusal, risk_budget, size_position, size_tier

CFG = RiskConfig()


def size(
    account: float, risk_pct: float, entry_worst: float, stop_worst: float, *,
    confidence: float = 75, entry_mid: float | None = None, symbol: str = "AAPL",
    asset_class: AssetClass = "stock", cfg: RiskConfig = CFG,
) -> PositionPlan | SizingRefusal:
    return size_position(account=account, risk_pct=risk_pct, entry_worst=entry_worst,
                         entry_mid=entry_mid if entry_mid is not None else entry_worst,
                         stop_worst=stop_worst, confidence=confidence, symbol=symbol,
                         asset_class=asset_class, cfg=cfg)


def plan(*args: float, **kw: object) -> PositionPlan:
    result = size(*args, **kw)  # type: ignore[arg-type]
    assert isinstance(result, PositionPlan), result
    return result


def test_full_position_shares_hand_computed() -> None:
    # 100,000 × 1% = 1,000; stop distance 50.50 − 49.00 = 1.50; 1,000 / 1.50 = 666.67 → 666
    p = plan(100_000, 1.0, 50.50, 49.00, entry_mid=50.25)
    assert (p.size, p.quantity, p.unit) == ("full", 666, "shares")
    assert p.max_risk == 999.00  # 666 × 1.50
    assert p.total_cost == 33_466.50  # 666 × 50.25
    assert p.risk_budget == 1_000.00
    assert p.stop_distance == 1.50


@pytest.mark.parametrize(("confidence", "tier", "quantity", "max_risk"), [
    (75, "full", 666, 999.00),
    (60, "half", 333, 499.50),     # 500 / 1.50 = 333.3
    (40, "quarter", 166, 249.00),  # 250 / 1.50 = 166.7
])
def test_tiers_scale_the_risk(
    confidence: float, tier: str, quantity: float, max_risk: float
) -> None:
    p = plan(100_000, 1.0, 50.50, 49.00, confidence=confidence)
    assert (p.size, p.quantity, p.max_risk) == (tier, quantity, max_risk)


@pytest.mark.parametrize(("confidence", "tier"), [
    (100, "full"), (70, "full"), (69.9, "half"), (50, "half"), (49.9, "quarter"), (0, "quarter"),
])
def test_tier_boundaries(confidence: float, tier: str) -> None:
    assert size_tier(confidence, CFG) == tier


def test_short_distance_is_stop_above_entry() -> None:
    # SHORT: worst entry is the zone's low 99.80, worst stop 100.30: 0.50 per share;
    # 100,000 × 0.5% = 500 → 1,000 shares
    p = plan(100_000, 0.5, 99.80, 100.30)
    assert p.quantity == 1_000 and p.max_risk == 500.00


def test_crypto_rounds_down_to_the_configured_step() -> None:
    # 100,000 × 0.5% = 500; distance 60,100 − 59,500 = 600; 0.833333… → 0.8333 coins
    p = plan(100_000, 0.5, 60_100, 59_500, entry_mid=60_050, symbol="SOLUSDT",
             asset_class="crypto")
    assert (p.quantity, p.unit) == (0.8333, "coins")
    assert p.max_risk == 499.98  # 0.8333 × 600
    assert p.total_cost == 50_039.67  # 0.8333 × 60,050 = 50,039.665 → cents, half up


def test_crypto_per_symbol_step_override() -> None:
    # BTCUSDT steps 0.00001: 0.83333; risk 499.998 rounds up to 500.00, still in budget
    p = plan(100_000, 0.5, 60_100, 59_500, symbol="BTCUSDT", asset_class="crypto")
    assert p.quantity == 0.83333
    assert p.max_risk == 500.00 <= p.risk_budget


def test_buying_power_caps_the_quantity() -> None:
    # risk allows 200 / 0.20 = 1,000 shares ($100,100) but the account holds 10,000:
    # 10,000 / 100.10 = 99.9 → 99 shares
    p = plan(10_000, 2.0, 100.10, 99.90)
    assert p.quantity == 99
    assert p.max_risk == 19.80
    assert p.total_cost <= 10_000


def test_quantity_that_rounds_to_zero_is_refused_with_the_numbers() -> None:
    # 1,000 × 1% = 10 budget; 10 / 15 per share = 0.67 → 0 shares
    result = size(1_000, 1.0, 115, 100)
    assert isinstance(result, SizingRefusal)
    assert "zero shares" in result.reason and "$10.00" in result.reason
    assert "$15.00" in result.reason


def test_zero_stop_distance_is_refused() -> None:
    assert isinstance(size(1_000, 1.0, 100, 100), SizingRefusal)


def test_budget_is_rounded_down_to_the_cent() -> None:
    assert float(risk_budget(12_345.67, 1.0)) == 123.45
