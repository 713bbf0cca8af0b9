"""The hash chain and the one event format, without a file: links, breaks, severities."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from bus.codec import encode
from bus.protocol import Heartbeat, OrderDecision
from kernel import hashchain
from kernel.event_format import severity_of
from kernel.events import AnomalyDetected, BotLifecycleChanged, KernelStateChanged
from kernel.journal import JournalRow
from risk.messages import LimitTripped


def chained(count: int) -> list[JournalRow]:
    rows, head = [], hashchain.GENESIS
    for seq in range(1, count + 1):
        row = JournalRow(seq, 1e9 + seq, "t", "s", "k", msgspec.msgpack.encode(seq), "info")
        head = hashchain.link_row(head, row)
        rows.append(msgspec.structs.replace(row, hash=head))
    return rows


def test_a_link_is_sha256_of_the_previous_hash_and_the_rows_msgpack() -> None:
    """Documented in docs/audit.md, so any language can re-check a journal."""
    prev = bytes(range(32))
    expected = hashlib.sha256(prev + msgspec.msgpack.encode(
        [7, 1.5, "order.decision", "gateway", "order_decision", "warning", b"\x01"])).digest()
    assert hashchain.link(prev, 7, 1.5, "order.decision", "gateway", "order_decision",
                          "warning", b"\x01") == expected


def test_an_intact_chain_verifies() -> None:
    rows = chained(5)
    verdict = hashchain.verify(rows, after_seq=0, start=hashchain.GENESIS)
    assert verdict.ok and verdict.checked == 5 and (verdict.first_seq, verdict.last_seq) == (1, 5)
    assert verdict.head == rows[-1].hash
    assert hashchain.verify(rows[2:], after_seq=2, start=rows[1].hash or b"").ok


@pytest.mark.parametrize("field", ["ts", "topic", "source", "kind", "severity", "payload"])
def test_changing_any_field_breaks_the_chain_at_that_row(field: str) -> None:
    rows = chained(5)
    value = {"ts": 0.0, "topic": "x", "source": "x", "kind": "x", "severity": "x",
             "payload": b"x"}[field]
    rows[2] = msgspec.structs.replace(rows[2], **{field: value})
    verdict = hashchain.verify(rows, after_seq=0, start=hashchain.GENESIS)
    assert verdict.broken is not None and verdict.broken.seq == 3 and verdict.checked == 2
    assert "was changed" in verdict.broken.problem


def test_rehashing_an_edited_row_breaks_the_next_one() -> None:
    rows = chained(5)
    edited = msgspec.structs.replace(rows[1], payload=b"forged")
    rows[1] = msgspec.structs.replace(edited, hash=hashchain.link_row(rows[0].hash or b"", edited))
    verdict = hashchain.verify(rows, after_seq=0, start=hashchain.GENESIS)
    assert verdict.broken is not None and verdict.broken.seq == 3


def test_a_deleted_row_and_an_unhashed_row_are_named() -> None:
    rows = chained(5)
    gap = hashchain.verify(rows[:2] + rows[3:], after_seq=0, start=hashchain.GENESIS)
    assert gap.broken is not None and gap.broken.seq == 3 and "missing" in gap.broken.problem
    rows[0] = msgspec.structs.replace(rows[0], hash=None)
    bare = hashchain.verify(rows, after_seq=0, start=hashchain.GENESIS)
    assert bare.broken is not None and bare.broken.seq == 1 and "no hash" in bare.broken.problem


@pytest.mark.parametrize(("message", "expected"), [
    (AnomalyDetected(kind="x", severity="critical", ts=1, source="s"), "critical"),
    (OrderDecision(request_id="r", verdict="DENY", reason="r", code="halted",
                   trading_state="HALTED"), "warning"),
    (OrderDecision(request_id="r", verdict="ALLOW", reason="r", code="ok",
                   trading_state="ACTIVE"), "info"),
    (BotLifecycleChanged(bot_id="b", state="crashed", ts=1), "error"),
    (BotLifecycleChanged(bot_id="b", state="running", ts=1), "info"),
    (KernelStateChanged(state="halted", ts=1), "critical"),
    (LimitTripped(code="c", reason="r", value=1, limit=1, action="halt", ts=1),  # type: ignore[arg-type]
     "error"),
    (Heartbeat(bot_id="b", seq=1, ts=1, uptime_s=1, equity=1, realized_pnl=0,
               unrealized_pnl=0), "debug"),
])
def test_severity_is_derived_from_the_message(message: object, expected: str) -> None:
    kind = type(message).__struct_config__.tag  # type: ignore[attr-defined]
    assert severity_of(kind, encode(message)) == expected  # type: ignore[arg-type]


def test_a_payload_nobody_can_read_is_a_warning() -> None:
    assert severity_of("undecodable", b"\xc1\x00") == "warning"
    assert severity_of("untyped", msgspec.msgpack.encode([1, 2])) == "warning"
    assert severity_of("custom", msgspec.msgpack.encode({"state": {"deep": 1}})) == "info"
