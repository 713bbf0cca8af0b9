"""What a console cannot encode is escaped, never a crash, and JSON lines stay exact JSON."""

from __future__ import annotations

import io
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.console._entry import ESCAPE_ERRORS, json_escape, keep_output_printable

keep_output_printable()  # registers the handler for the encodes below


def test_a_character_cp1252_lacks_becomes_a_json_escape_and_the_rest_stays() -> None:
    written = "TP1 → TP2, naïve 🚀".encode("cp1252", ESCAPE_ERRORS)
    assert written.decode("cp1252") == "TP1 \\u2192 TP2, naïve \\ud83d\\ude80"


@given(st.text())
def test_any_json_line_written_in_cp1252_reads_back_as_the_same_value(text: str) -> None:
    line = msgspec.json.encode({"reason": text}).decode()
    on_disk = line.encode("cp1252", ESCAPE_ERRORS)
    assert json.loads(on_disk.decode("cp1252")) == {"reason": text}


def test_a_decoding_error_is_not_this_handlers_business() -> None:
    error = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    with pytest.raises(UnicodeDecodeError):
        json_escape(error)


def test_a_stream_that_cannot_be_reconfigured_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    strict = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", errors="strict")
    monkeypatch.setattr("sys.stdout", strict)
    monkeypatch.setattr("sys.stderr", io.StringIO())  # no reconfigure: untouched
    keep_output_printable()
    assert strict.errors == ESCAPE_ERRORS
    strict.write("→")
    strict.flush()
    assert strict.buffer.getvalue() == b"\\u2192"
