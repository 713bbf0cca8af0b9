"""Decision codes: one Literal in ``bus/protocol.py``, the table in docs/protocol.md, the wire.

The Literal is the one source. The docs' table must name exactly its members, and
who makes each code must agree with the group it is in; every producer goes
through ``make_decision``, which refuses an unknown code even under ``python -O``;
and a client still reads a code it does not know (the contract only grows).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import typing
from pathlib import Path

import msgspec
import pytest

from bus import codec
from bus.protocol import (
    DECISION_CODES,
    DecisionCode,
    KernelCode,
    LinkCode,
    OrderDecision,
    RiskCode,
    WatchdogCode,
    make_decision,
)
from risk import CODES

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS = ("bus", "kernel", "agents", "risk", "planner", "scripts")
GROUPS: dict[str, object] = {"risk engine": RiskCode, "kernel": KernelCode,
                             "watchdog": WatchdogCode, "bot library": LinkCode}
"""The "made by" words of the docs' table -> the Literal that groups that maker's codes."""
_ROW = re.compile(r"^\| `(?P<code>[a-z_]+)` \| (?P<by>[^|]+) \| (?P<meaning>[^|]+) \|$")


def _docs_table() -> dict[str, tuple[set[str], str]]:
    """code -> (makers, meaning), from the table under "### Decision codes"."""
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = text.split("### Decision codes\n", 1)[1].split("\n#", 1)[0]
    rows: dict[str, tuple[set[str], str]] = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        code = match["code"]
        assert code not in rows, f"{code} is listed twice in docs/protocol.md"
        makers = {by.strip() for by in match["by"].split(",")}
        rows[code] = (makers, match["meaning"].strip())
    return rows


def test_the_docs_list_exactly_the_codes_of_the_literal() -> None:
    table = _docs_table()
    codes = typing.get_args(DecisionCode)
    assert len(codes) == len(set(codes))
    assert set(table) == set(codes) == DECISION_CODES
    assert all(meaning for _, meaning in table.values())


def test_the_docs_name_who_makes_each_code_as_the_literal_groups_it() -> None:
    for code, (makers, _) in _docs_table().items():
        expected = {by for by, group in GROUPS.items() if code in typing.get_args(group)}
        assert makers == expected, code


def test_the_risk_engine_codes_are_its_group_of_the_literal() -> None:
    assert set(typing.get_args(RiskCode)) == CODES
    assert CODES <= DECISION_CODES


def test_make_decision_refuses_an_unknown_code() -> None:
    code: typing.Any = "not_a_code"
    with pytest.raises(ValueError, match="not_a_code"):
        make_decision(request_id="r1", verdict="DENY", code=code, reason="x",
                      trading_state="ACTIVE", ts=1.0)


def test_the_check_holds_under_python_dash_o() -> None:
    """Not an ``assert``: ``-O`` removes asserts, and this check must stay."""
    script = ("from bus.protocol import make_decision\n"
              "try:\n"
              "    make_decision(request_id='r', verdict='DENY', code='bogus', reason='x',\n"
              "                  trading_state='HALTED', ts=1.0)\n"
              "except ValueError:\n"
              "    raise SystemExit(0)\n"
              "raise SystemExit(1)\n")
    done = subprocess.run([sys.executable, "-O", "-c", script], cwd=ROOT, timeout=60,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_make_decision_cuts_the_reason_to_the_contract_bound() -> None:
    decision = make_decision(request_id="r1", verdict="DENY", code="internal_error",
                             reason="x" * 5000, trading_state="HALTED", bot_id="b", ts=1.0)
    wire = codec.kernel_frame_decoder.decode(codec.encode(decision))
    assert wire == decision and len(decision.reason) == 4096


def test_a_client_reads_a_code_added_by_a_newer_kernel() -> None:
    """The wire field is a string: an unknown code decodes, and the client denies."""
    frame = msgspec.msgpack.encode({
        "type": "order_decision", "request_id": "r1", "verdict": "DENY",
        "reason": "a newer kernel's rule", "code": "some_future_rule",
        "trading_state": "ACTIVE"})
    decision = codec.kernel_frame_decoder.decode(frame)
    assert isinstance(decision, OrderDecision) and decision.code == "some_future_rule"


def _direct_constructions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            == "OrderDecision"]


def test_every_producer_builds_decisions_through_make_decision() -> None:
    """A direct ``OrderDecision(...)`` would skip the typed code; only the helper may."""
    found = [f"{path.relative_to(ROOT)}:{line}"
             for package in PRODUCERS for path in sorted((ROOT / package).rglob("*.py"))
             if path != ROOT / "bus" / "protocol.py" for line in _direct_constructions(path)]
    assert found == []
