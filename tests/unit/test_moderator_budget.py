"""The daily token budget (pure) and the purity of the moderator's decision modules."""

from __future__ import annotations

import ast
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents._llm_budget import TokenBudget, utc_day

DAY = datetime(2026, 2, 4, 12, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 2, 5, 0, 0, tzinfo=UTC).timestamp()


def test_a_call_is_refused_before_it_could_pass_the_budget() -> None:
    budget = TokenBudget(1000)
    assert budget.room_for(1000, DAY)
    budget.spend(700, DAY)
    assert budget.room_for(300, DAY) and not budget.room_for(301, DAY)
    assert not budget.exhausted(DAY)


def test_a_refusal_keeps_the_day_exhausted() -> None:
    budget = TokenBudget(1000)
    budget.spend(100, DAY)
    budget.refuse(DAY)
    assert budget.exhausted(DAY)
    report = budget.report(DAY, available=True)
    assert report.exhausted and not report.available and report.used_tokens == 100


def test_spending_the_whole_budget_exhausts_it() -> None:
    budget = TokenBudget(500)
    budget.spend(500, DAY)
    assert budget.exhausted(DAY) and budget.calls == 1


def test_the_budget_starts_again_at_utc_midnight() -> None:
    budget = TokenBudget(500)
    budget.spend(500, DAY)
    budget.refuse(DAY)
    assert not budget.exhausted(MIDNIGHT)
    assert (budget.day, budget.used, budget.calls) == ("2026-02-05", 0, 0)


def test_restore_takes_over_today_and_forgets_yesterday() -> None:
    spent = TokenBudget(1000)
    spent.spend(600, DAY)
    today = TokenBudget(1000)
    today.restore(spent.report(DAY, available=True), DAY + 60)
    assert (today.used, today.calls) == (600, 1)
    tomorrow = TokenBudget(1000)
    tomorrow.restore(spent.report(DAY, available=True), MIDNIGHT + 1)
    assert tomorrow.used == 0


def test_utc_day() -> None:
    assert utc_day(MIDNIGHT - 0.001) == "2026-02-04" and utc_day(MIDNIGHT) == "2026-02-05"


# --- purity ------------------------------------------------------------------------------------

AGENTS = Path(__file__).parents[2] / "agents"
PURE = ["moderator_rules.py", "moderator_parts.py", "moderator_messages.py", "_moderator_book.py",
        "_moderator_prompt.py", "_llm_text.py", "llm_config.py", "planner_llm.py"]
FORBIDDEN = {"time", "os", "asyncio", "zmq", "socket", "subprocess", "threading", "sqlite3",
             "aiosqlite", "anthropic", "random", "logging", "kernel.journal", "kernel.actor"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "getenv",
                   "open", "print"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("name", PURE)
def test_decision_modules_do_no_io_and_read_no_clock(name: str) -> None:
    tree = ast.parse((AGENTS / name).read_text(encoding="utf-8"))
    for imported in _imports(tree):
        assert imported not in FORBIDDEN and imported.split(".")[0] not in FORBIDDEN, \
            f"{name} imports {imported}"
        top = imported.split(".")[0]
        assert top in {"agents", "bus", "kernel", "planner", "risk", "msgspec"} \
            or top in sys.stdlib_module_names, f"{name} imports {imported}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert called not in FORBIDDEN_CALLS, f"{name}:{node.lineno} calls {called}()"


@pytest.mark.parametrize("path", sorted(AGENTS.glob("*.py")), ids=lambda p: p.name)
def test_llm_and_moderator_modules_stay_small(path: Path) -> None:
    if "moderator" in path.name or "llm" in path.name:
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 300
