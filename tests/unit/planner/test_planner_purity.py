"""``planner/`` stays pure: no I/O, no clock, no transport; only stdlib, msgspec, bus.protocol."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PLANNER = Path(__file__).parents[3] / "planner"
FORBIDDEN_MODULES = {"time", "os", "asyncio", "zmq", "rich", "socket", "subprocess", "threading",
                     "sqlite3", "aiosqlite", "pathlib", "io", "shutil", "random", "logging",
                     "yaml", "anthropic", "psutil"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "print", "input", "monotonic",
                   "perf_counter", "getenv", "read_text", "write_text"}
MODULES = sorted(PLANNER.glob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_stdlib_msgspec_and_bus_protocol(path: Path) -> None:
    for name in imported(ast.parse(path.read_text(encoding="utf-8"))):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
        ours = name == "bus.protocol" or top == "planner"
        assert ours or top == "msgspec" or top in sys.stdlib_module_names, \
            f"{path.name} imports {name}"
        assert top != "bus" or name == "bus.protocol", f"{path.name} imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_reads_no_clock_and_does_no_io(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300
