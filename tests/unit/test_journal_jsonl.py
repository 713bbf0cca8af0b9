"""Lines of the daily JSONL copy: day files by UTC date, bodies as plain JSON."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bus.codec import encode
from bus.protocol import (
    Fill,
    Heartbeat,
    Message,
    OrderRequest,
    OrderUpdate,
    Position,
    make_decision,
)
from kernel import _jsonl as jsonl
from kernel._jsonl import encode_line, file_name, format_chunks, write_chunks
from kernel.journal import JournalEntry

MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


def entry(payload: bytes, *, ts: float = MIDNIGHT) -> JournalEntry:
    return JournalEntry(ts=ts, topic="order.decision", source="gateway", kind="order_decision",
                        payload=payload)


def line(payload: bytes) -> dict[str, object]:
    encoded = encode_line(7, entry(payload), msgspec.json.Encoder())
    assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
    decoded: dict[str, object] = json.loads(encoded)
    return decoded


def test_the_file_is_named_for_the_utc_day() -> None:
    assert file_name(MIDNIGHT - 0.001) == "journal-2026-02-28.jsonl"
    assert file_name(MIDNIGHT) == "journal-2026-03-01.jsonl"
    assert file_name(1e300) == "journal-undated.jsonl"


def test_a_msgpack_payload_becomes_a_json_body() -> None:
    payload = msgspec.msgpack.encode({"type": "order_decision", "qty": 1.5, "raw": b"\x00"})
    assert line(payload) == {
        "seq": 7, "ts": MIDNIGHT, "topic": "order.decision", "source": "gateway",
        "kind": "order_decision", "severity": "info",
        "body": {"type": "order_decision", "qty": 1.5, "raw": "AA=="},
    }


def test_a_line_is_byte_for_byte_the_documented_form() -> None:
    """Field order, the hash in hex, no ``note`` when the body converted; the copy is
    read by log tools and held against the database by ``kernel audit verify``."""
    payload = msgspec.msgpack.encode({"type": "order_update", "request_id": "r-1"})
    encoded = encode_line(7, entry(payload), msgspec.json.Encoder(), "warning", b"\x01\xab")
    assert encoded == (
        b'{"seq":7,"ts":' + msgspec.json.encode(MIDNIGHT) + b',"topic":"order.decision",'
        b'"source":"gateway","kind":"order_decision","severity":"warning",'
        b'"body":{"type":"order_update","request_id":"r-1"},"hash":"01ab"}\n')
    raw = encode_line(8, entry(b"\xc1"), msgspec.json.Encoder())
    assert raw.startswith(b'{"seq":8,') and b'"body":"wQ==","note":"payload has no JSON' in raw
    assert b'"hash"' not in raw


def test_a_payload_without_json_form_is_kept_as_base64_with_a_note() -> None:
    for payload in (b"\xc1", b"", msgspec.msgpack.encode(msgspec.msgpack.Ext(1, b"x"))):
        decoded = line(payload)
        assert base64.b64decode(str(decoded["body"])) == payload
        assert "base64" in str(decoded["note"])


def test_chunks_are_appended_to_their_day_files_in_seq_order(tmp_path: Path) -> None:
    one = msgspec.msgpack.encode(1)
    write_chunks(tmp_path, [(1, [entry(one, ts=MIDNIGHT - 1), entry(one)], ["info", "info"],
                             [])])
    write_chunks(tmp_path, [(3, [entry(one)], ["info"], [bytes(32)]),
                            (4, [entry(one, ts=MIDNIGHT - 1)], ["warning"], [])])
    seqs = {path.name: [json.loads(text)["seq"] for text in path.read_text().splitlines()]
            for path in tmp_path.iterdir()}
    assert seqs == {"journal-2026-02-28.jsonl": [1, 4], "journal-2026-03-01.jsonl": [2, 3]}


def test_a_batch_formats_to_the_same_bytes_as_its_lines_one_by_one() -> None:
    """Lines go straight onto the file's buffer; a bad payload between good ones
    leaves nothing half-written, a body too large is base64 there as well, and rows
    switch day files where their day does."""
    good = msgspec.msgpack.encode({"type": "order_decision", "verdict": "DENY"})
    ext = msgspec.msgpack.encode(msgspec.msgpack.Ext(1, b"x"))
    big = msgspec.msgpack.encode({"orders": ["x" * 100] * (jsonl.JSON_BODY_MAX_BYTES // 100)})
    entries = [entry(good, ts=MIDNIGHT - 1), entry(ext, ts=MIDNIGHT - 1), entry(b"\xc1"),
               entry(good), entry(good, ts=MIDNIGHT - 2), entry(big)]
    links = [bytes([n]) * 32 for n in range(len(entries))]
    severities = ["info", "warning", "info", "error", "debug", "info"]
    files: dict[str, bytearray] = {}
    format_chunks([(10, entries, severities, links)], msgspec.json.Encoder(), files)
    encoder = msgspec.json.Encoder()
    expected = [encode_line(10 + n, row, encoder, severities[n], links[n])
                for n, row in enumerate(entries)]
    assert files == {"journal-2026-02-28.jsonl": bytearray(expected[0] + expected[1]
                                                           + expected[4]),
                     "journal-2026-03-01.jsonl": bytearray(expected[2] + expected[3]
                                                           + expected[5])}
    assert b'"note":"payload of' in expected[5]  # a body too large for the loop: base64


async def test_lines_waiting_for_a_stalled_disk_are_bounded_in_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A disk that stalls must not keep every formatted line in memory: past the bound
    a committed batch is counted, not copied, and its seqs are logged once the copy
    takes lines again; every row is either in the file or counted."""
    release = threading.Event()
    real_write = jsonl.write_files

    def stalled(directory: Path, files: dict[str, bytearray]) -> None:
        release.wait(30)
        real_write(directory, files)

    monkeypatch.setattr(jsonl, "write_files", stalled)
    copy = jsonl.JsonlCopy(tmp_path, max_pending_bytes=2_000)
    one = msgspec.msgpack.encode({"type": "order_decision", "verdict": "ALLOW"})
    for seq in range(1, 101):
        copy.add(seq, [entry(one)], ["info"])
        await asyncio.sleep(0)  # each batch formatted in the loop's next turn
    line_bytes = len(encode_line(1, entry(one), msgspec.json.Encoder()))
    assert 2_000 <= copy._pending_bytes < 2_000 + line_bytes
    kept = copy._pending_bytes // line_bytes
    assert copy.rows_dropped == 100 - kept
    release.set()
    for _ in range(3_000):  # the stalled write finishes (bounded: 30 s)
        if not copy._pending_bytes:
            break
        await asyncio.sleep(0.01)
    with caplog.at_level(logging.ERROR, logger="kernel.journal"):
        copy.add(101, [entry(one)], ["info"])
        await copy.aclose()
    seqs = [json.loads(text)["seq"] for text in (tmp_path / file_name(MIDNIGHT)).read_text()
            .splitlines()]
    assert seqs == [*range(1, kept + 1), 101]
    assert f"rows {kept + 1} to 100 were not copied" in caplog.text


def test_a_payload_too_large_to_convert_on_the_loop_is_kept_as_base64() -> None:
    """A risk state saved with thousands of open orders is about a megabyte: turned
    into JSON on the loop it held every decision for tens of milliseconds."""
    big = msgspec.msgpack.encode({"type": "risk_state_saved",
                                  "orders": ["x" * 100] * (jsonl.JSON_BODY_MAX_BYTES // 100)})
    decoded = line(big)
    assert base64.b64decode(str(decoded["body"])) == big
    assert f"payload of {len(big)} bytes" in str(decoded["note"])
    small = msgspec.msgpack.encode({"orders": ["x" * 100] * 10})
    assert line(small)["body"] == {"orders": ["x" * 100] * 10}


_floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e-300])
_texts = st.text(max_size=40)


@st.composite
def _hot_messages(draw: st.DrawFn) -> Message:
    """One of the types the copy writes from the object (jsonl.SAME_AS_PAYLOAD), built
    without validation so that any value the emitter might hold is tried."""
    kind = draw(st.sampled_from(["request", "decision", "update", "fill", "heartbeat"]))
    text, number = draw(_texts), draw(_floats)
    if kind == "request":
        return OrderRequest(request_id=text, bot_id="b", ts=number, symbol="BTCUSDT",
                            side="buy", qty=draw(_floats), price=draw(st.integers(0, 2**62)),
                            reduce_only=draw(st.booleans()))
    if kind == "decision":
        return make_decision(request_id=text, verdict="ALLOW", code="allowed", reason=draw(_texts),
                             trading_state="HALTED", bot_id="b", ts=number)
    if kind == "update":
        return OrderUpdate(request_id=text, status="cancelled", ts=number,
                           remaining_qty=draw(st.none() | _floats), reason=draw(_texts))
    if kind == "fill":
        return Fill(request_id=text, symbol="ETHUSDT", side="sell", qty=number, price=1.5,
                    ts=0.0, fee=draw(_floats))
    return Heartbeat(bot_id="b", seq=draw(st.integers(0, 2**63 - 1)), ts=number, uptime_s=1.0,
                     equity=draw(_floats), realized_pnl=0.0, unrealized_pnl=-0.0,
                     positions=[Position(symbol=text, qty=number, avg_price=1.0,
                                         mark_price=2.0)],
                     marks=draw(st.dictionaries(_texts, _floats, max_size=3)),
                     last_tick_ts=draw(st.none() | _floats))


@settings(max_examples=300, deadline=None)
@given(_hot_messages())
def test_a_line_from_the_message_is_the_line_from_its_payload(message: Message) -> None:
    """The emitter hands the copy its message, and the body is encoded from the object
    without decoding the payload: the same bytes as the payload's way, for every type
    that takes that way and any value it may hold."""
    assert type(message) in jsonl.SAME_AS_PAYLOAD
    payload = encode(message)
    row = JournalEntry(ts=MIDNIGHT, topic=message.topic, source="gateway", kind="k",
                       payload=payload)
    encoder = msgspec.json.Encoder()
    assert (encode_line(3, msgspec.structs.replace(row, message=message), encoder, "info",
                        b"\x02") == encode_line(3, row, encoder, "info", b"\x02"))


def test_another_message_type_is_written_from_its_payload() -> None:
    """A type not known to encode alike both ways is decoded from the payload as before."""

    class Stamped(msgspec.Struct, tag="stamped"):
        at: datetime

    message = Stamped(datetime(2026, 3, 1, 3, tzinfo=timezone(timedelta(hours=3))))
    row = JournalEntry(ts=MIDNIGHT, topic="x", source="s", kind="stamped",
                       payload=msgspec.msgpack.encode(message), message=message)
    assert b'"at":"2026-03-01T00:00:00Z"' in encode_line(1, row, msgspec.json.Encoder())
