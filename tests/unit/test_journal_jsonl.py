"""Lines of the daily JSONL copy: day files by UTC date, bodies as plain JSON."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import msgspec

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
    leaves nothing half-written, and rows switch day files where their day does."""
    good = msgspec.msgpack.encode({"type": "order_decision", "verdict": "DENY"})
    ext = msgspec.msgpack.encode(msgspec.msgpack.Ext(1, b"x"))
    entries = [entry(good, ts=MIDNIGHT - 1), entry(ext, ts=MIDNIGHT - 1), entry(b"\xc1"),
               entry(good), entry(good, ts=MIDNIGHT - 2)]
    links = [bytes([n]) * 32 for n in range(len(entries))]
    severities = ["info", "warning", "info", "error", "debug"]
    files: dict[str, bytearray] = {}
    format_chunks([(10, entries, severities, links)], msgspec.json.Encoder(), files)
    encoder = msgspec.json.Encoder()
    expected = [encode_line(10 + n, row, encoder, severities[n], links[n])
                for n, row in enumerate(entries)]
    assert files == {"journal-2026-02-28.jsonl": bytearray(expected[0] + expected[1]
                                                           + expected[4]),
                     "journal-2026-03-01.jsonl": bytearray(expected[2] + expected[3])}
