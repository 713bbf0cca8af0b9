"""``kernel plan`` on OPTIONS requests, as a user runs it: a child process, a vendor chain file.

The example request points at the checked-in Polygon fixture chain (SPY at $690
on Wednesday 2026-02-04, 10:00 New York); these tests hold the CLI to what the
selector promises: a contract from that chain, the stock-level stop shown before
the premium, bad chains refused naming the field, and made-up contracts rejected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest

from planner.contracts_polygon import decode_chain
from planner.messages import TradePlan
from planner.prices import fmt_money, fmt_price
from tests.support.processes import ROOT, kernel_command

EXAMPLE = ROOT / "examples" / "spy_options_swing.json"
CHAIN_FILE = ROOT / "tests" / "fixtures" / "options" / "spy_chain.json"
SPY = decode_chain(CHAIN_FILE.read_bytes(), underlying="SPY")


def kernel_plan(*args: str, cwd: Path = ROOT,
                columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": str(columns),
           "PYTHONPATH": str(ROOT)}  # any cwd: the kernel package comes from the checkout
    return subprocess.run(kernel_command("--config-dir", str(ROOT / "config"), "plan", *args),
                          cwd=cwd, capture_output=True, text=True, timeout=60, env=env)


def plan_of(result: subprocess.CompletedProcess[str]) -> TradePlan:
    assert result.returncode == 0, result.stderr
    return msgspec.json.decode(result.stdout, type=TradePlan)


def request(tmp_path: Path, **changes: Any) -> Path:
    """The example with ``changes``, written to ``tmp_path`` with an absolute chain path."""
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["chain"] = str(CHAIN_FILE)
    raw.update(changes)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_the_example_plans_a_contract_from_the_chain() -> None:
    plan = plan_of(kernel_plan("--input", str(EXAMPLE), "--json"))
    options = plan.options
    assert (plan.decision, plan.direction, plan.style) == ("TRADE", "LONG", "SWING")
    assert options is not None and options.status == "SELECTED"
    assert options.symbol in {c.symbol for c in SPY.contracts}
    assert options.contract_type == "call" and options.dte is not None and 8 <= options.dte <= 30
    assert len(options.rationale) == 5 and options.contracts >= 1
    assert plan.position is not None and plan.position.unit == "contracts"
    assert plan.position.quantity == options.contracts
    assert plan.stop_loss is not None and plan.stop_loss.stock_price_range is not None
    assert options.entry_premium is not None
    assert plan.stop_loss.price_range.high < options.entry_premium.low


def test_the_panel_shows_the_stock_stop_first_then_the_premium() -> None:
    plan = plan_of(kernel_plan("--input", str(EXAMPLE), "--json"))
    result = kernel_plan("--input", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert plan.stop_loss is not None and plan.stop_loss.stock_price_range is not None
    assert plan.options is not None and plan.options.symbol is not None
    stock, premium = plan.stop_loss.stock_price_range, plan.stop_loss.price_range
    stock_line = f"SPY @ {fmt_price(stock.low)} - {fmt_price(stock.high)}"
    premium_line = f"Premium: {fmt_money(premium.low)} - {fmt_money(premium.high)}"
    assert stock_line in text and premium_line in text
    assert text.index("Stop ") < text.index(stock_line) < text.index(premium_line)
    for shown in (plan.options.symbol, f"{plan.options.dte} DTE", "primary phase",
                  "1. Price", "5. Open interest", "premium at risk per contract"):
        assert shown in text
    assert "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize(("chain", "found"), [
    ("absent.json", "found no such file"),
    ("README.md", "expected JSON, found malformed text"),
    ({"results": 5}, "found results that is not a list"),
    ([1, 2], "found int"),
    (str(ROOT / "tests" / "fixtures" / "options" / "aapl_chain.json"),
     "expected contracts on SPY, found none"),
], ids=["missing-file", "not-json", "results-not-a-list", "pages-not-objects", "other-symbol"])
def test_a_bad_chain_exits_2_naming_the_field(tmp_path: Path, chain: Any, found: str) -> None:
    if chain == "README.md":
        shutil.copy(ROOT / "README.md", tmp_path / "README.md")  # relative: next to the request
    path = request(tmp_path, chain=chain)
    result = kernel_plan("--input", str(path), columns=400)
    assert result.returncode == 2 and result.stdout == ""
    assert str(path) in result.stderr and "field `chain`" in result.stderr
    assert found in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("changes", "expected"), [
    ({"chain": None}, "field `chain` is required for instrument OPTIONS"),
    ({"instrument": "index_etf"}, "field `chain` is only read for instrument OPTIONS"),
])
def test_a_chain_must_come_with_options_and_only_with_them(tmp_path: Path,
                                                            changes: dict[str, Any],
                                                            expected: str) -> None:
    result = kernel_plan("--input", str(request(tmp_path, **changes)), columns=400)
    assert result.returncode == 2 and expected in result.stderr


def test_a_contract_not_in_the_chain_is_rejected(tmp_path: Path) -> None:
    made_up = {"symbol": "O:SPY260220C00699000", "expiration": "2026-02-20", "bid": 2.10,
               "ask": 2.20, "strike": 699, "contract_type": "call"}
    path = request(tmp_path, contract=made_up)
    plan = plan_of(kernel_plan("--input", str(path), "--json"))
    assert plan.decision == "NO_TRADE" and plan.options is not None
    assert plan.options.status == "REJECTED"
    assert plan.options.reason.startswith("Contract validation failed")
    assert "not in the original SPY chain" in plan.options.reason
    panel = kernel_plan("--input", str(path)).stdout
    assert "REJECTED" in panel and "Contract validation failed" in panel


def test_a_contract_from_the_chain_is_validated_and_priced(tmp_path: Path) -> None:
    picked = next(c for c in SPY.contracts if c.symbol == "O:SPY260220C00695000")
    chosen = {"ticker": picked.symbol, "expiration_date": picked.expiration,
              "bid": f"${picked.bid}", "ask": picked.ask, "strike_price": picked.strike,
              "type": "call"}
    plan = plan_of(kernel_plan("--input", str(request(tmp_path, contract=chosen)), "--json"))
    assert plan.decision == "TRADE" and plan.options is not None
    assert (plan.options.status, plan.options.phase, plan.options.symbol) == \
        ("SELECTED", "external", picked.symbol)


def test_a_relative_chain_is_read_from_the_request_folder(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    shutil.copy(CHAIN_FILE, folder / "chain.json")
    path = request(folder, chain="chain.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    plan = plan_of(kernel_plan("--input", str(path), "--json", cwd=elsewhere))
    assert plan.options is not None and plan.options.status == "SELECTED"


def test_an_inline_chain_plans_like_the_file(tmp_path: Path) -> None:
    inline = json.loads(CHAIN_FILE.read_text(encoding="utf-8"))
    from_file = plan_of(kernel_plan("--input", str(EXAMPLE), "--json"))
    plan = plan_of(kernel_plan("--input", str(request(tmp_path, chain=inline)), "--json"))
    assert plan.options is not None and from_file.options is not None
    assert plan.options.symbol == from_file.options.symbol
    assert plan.stop_loss == from_file.stop_loss
