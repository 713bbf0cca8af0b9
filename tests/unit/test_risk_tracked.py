"""Every change of a risk engine's state passes through ``_state`` (agents/risk/_tracked.py),
so the fleet's totals are told of each one: nothing in the engine assigns ``_current``."""

from __future__ import annotations

import ast
from pathlib import Path

import agents.risk

RISK = Path(agents.risk.__file__).parent


def assigned(tree: ast.AST) -> list[tuple[str, int]]:
    """Each ``self.<attr>`` that ``tree`` assigns, with its line."""
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) \
                        and part.value.id == "self":
                    found.append((part.attr, part.lineno))
    return found


def test_nothing_but_the_tracked_property_assigns_the_engines_current_state() -> None:
    for path in sorted(RISK.glob("*.py")):
        if path.name == "_tracked.py":
            continue
        wrong = [line for attr, line in assigned(ast.parse(path.read_text(encoding="utf-8")))
                 if attr == "_current"]
        assert not wrong, f"{path.name} assigns self._current at lines {wrong}: assign _state"


def test_the_engine_assigns_its_state_through_the_tracked_property() -> None:
    tree = ast.parse((RISK / "actor.py").read_text(encoding="utf-8"))
    assert sum(attr == "_state" for attr, _ in assigned(tree)) >= 10
