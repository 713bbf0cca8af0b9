"""Who typed an operator command: never a crash, even where Windows has no login name."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from kernel.console._args import UNKNOWN_OPERATOR, operator_name

ROOT = Path(__file__).resolve().parents[2]


def _no_login(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("error", [ImportError("No module named 'pwd'"),  # Windows < 3.13
                                   OSError("No username set in the environment"),  # >= 3.13
                                   KeyError("getpwuid(): uid not found: 1000")])  # a container
def test_without_a_login_name_the_environment_names_the_operator_then_unknown(
    monkeypatch: pytest.MonkeyPatch, error: BaseException,
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: _no_login(error))
    assert operator_name({"USERNAME": "ana", "USER": "bob"}) == "ana"
    assert operator_name({"USER": " bob "}) == "bob"
    assert operator_name({"USERNAME": "  "}) == UNKNOWN_OPERATOR
    assert operator_name({}) == UNKNOWN_OPERATOR


def test_the_login_name_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "carla")
    assert operator_name({"USERNAME": "ana"}) == "carla"
    monkeypatch.setattr(getpass, "getuser", lambda: "")
    assert operator_name({"USERNAME": "ana"}) == "ana"


def test_every_command_asks_the_one_helper() -> None:
    """A second ``getpass`` call somewhere would bring the Windows crash back."""
    callers = [path.relative_to(ROOT).as_posix()
               for folder in ("kernel", "agents", "bus")
               for path in sorted((ROOT / folder).rglob("*.py"))
               if "getpass" in path.read_text(encoding="utf-8")]
    assert callers == ["kernel/console/_args.py"]
