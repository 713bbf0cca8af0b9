"""The reviewed patch to risk.yaml: comments kept, only the proposed lines change, validated."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.meta.risk_patch import PatchRefused, check_risk_yaml, patch_risk_yaml, unified_diff

SHIPPED = (Path(__file__).resolve().parents[2] / "config" / "risk.yaml").read_text(
    encoding="utf-8")


def test_a_top_level_change_keeps_every_other_line_and_its_comment() -> None:
    after = patch_risk_yaml(SHIPPED, {"max_leverage": 1.5}, note="n")
    diff = unified_diff(SHIPPED, after, before_name="risk.yaml", after_name="risk.yaml.proposed")
    changed = [line for line in diff.splitlines() if line[:1] in "+-"
               and not line.startswith(("+++", "---"))]
    assert changed == ["-max_leverage: 2", "+max_leverage: 1.5"]
    assert yaml.safe_load(after)["max_leverage"] == 1.5


def test_a_dotted_key_changes_one_nested_setting_and_keeps_its_siblings() -> None:
    after = yaml.safe_load(patch_risk_yaml(SHIPPED, {"risk_multiplier.max": 0.8,
                                                     "risk_multiplier.default": 0.8}, note="n"))
    assert after["risk_multiplier"] == {"min": 0.1, "max": 0.8, "default": 0.8}
    symbols = patch_risk_yaml(SHIPPED, {"symbols.BTCUSDT.max_order_qty": 0.02}, note="n")
    assert yaml.safe_load(symbols)["symbols"]["BTCUSDT"] == {"max_order_qty": 0.02}
    assert yaml.safe_load(symbols)["symbols"]["ETHUSDT"] == {"max_order_qty": 1}


def test_an_inline_comment_survives_and_a_missing_key_is_appended_with_a_note() -> None:
    text = "max_leverage: 2   # the cap\nmax_drawdown: {pct: 5}\n"
    after = patch_risk_yaml(text, {"max_leverage": 1, "max_consecutive_losses": 4},
                            note="added by proposal 7")
    assert "max_leverage: 1   # the cap" in after
    assert after.endswith("# added by proposal 7\nmax_consecutive_losses: 4\n")


@pytest.mark.parametrize(("changes", "why"), [
    ({"max_leverage": -1}, "the proposed limits are not valid"),
    ({"max_lverage": 1}, "unknown field"),
    ({"max_daily_loss": {"pct": 3, "usdt": 100}}, "exactly one"),
    ({"max_leverage.x": 1}, "is not a mapping in risk.yaml"),
])
def test_a_change_that_would_not_load_is_refused(changes: dict[str, object], why: str) -> None:
    with pytest.raises(PatchRefused, match=why):
        patch_risk_yaml(SHIPPED, changes, note="n")


def test_check_names_what_is_wrong() -> None:
    assert check_risk_yaml(SHIPPED) == ""
    assert "not valid YAML" in check_risk_yaml("a: [")


def test_the_example_proposal_in_the_docs_applies_to_the_shipped_limits() -> None:
    """docs/meta-agent.md shows a risk-rule proposal; a person copying it must get a
    risk.yaml that loads (a max below the default multiplier would not)."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "meta-agent.md"
    line = next(text for text in docs.read_text(encoding="utf-8").splitlines()
                if text.strip().startswith("changes: {"))
    changes = yaml.safe_load(line.split("#")[0])["changes"]
    assert "risk_multiplier.max" in changes
    assert check_risk_yaml(patch_risk_yaml(SHIPPED, changes, note="the docs' example")) == ""
