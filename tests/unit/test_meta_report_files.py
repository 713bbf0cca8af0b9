"""Collecting a report: only plain names in the outbox, bounded reads, stdout as a fallback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.meta._process import collect_report, read_bounded, unsafe_name

TASK = "daily-logs-2026-11-21-20261122T010000Z"


@pytest.mark.parametrize(("name", "why"), [
    ("../x.md", "folder"), ("..\\x.md", "folder"), ("/etc/passwd", "absolute"),
    ("C:\\Windows\\x.md", "absolute"), ("sub/x.md", "folder"), ("a..b.md", "'..'"),
    ("report.txt", "ends in .md"), (".hidden.md", "letters"), ("", "letters"),
])
def test_unsafe_report_names_are_refused(name: str, why: str) -> None:
    assert why in unsafe_name(name)


def test_a_plain_name_is_accepted() -> None:
    assert unsafe_name(f"{TASK}.md") == ""


def test_the_report_is_read_from_the_outbox_up_to_the_bound(tmp_path: Path) -> None:
    (tmp_path / f"{TASK}.md").write_bytes(b"x" * 5000)
    run = collect_report(tmp_path, TASK, b"", 0, 1000)
    assert run.outcome == "ok"
    assert (run.report_bytes, run.truncated, len(run.report_text)) == (5000, True, 1000)
    assert "only the first 1,000 were read" in run.notes[0]


def test_a_named_report_with_path_tricks_is_not_read(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (tmp_path / "x.md").write_text("---\nverdict: ok\n---\nsecret\n")
    for line in (b"report: ../x.md\n", f"report: {tmp_path / 'x.md'}\n".encode()):
        run = collect_report(outbox, TASK, b"working...\n" + line, 100, 1000)
        assert run.outcome == "bad_report"
        assert "refused" in run.detail
        assert run.report_text == ""


def test_a_symbolic_link_in_the_outbox_is_not_followed(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (tmp_path / "elsewhere.md").write_text("outside\n")
    os.symlink(tmp_path / "elsewhere.md", outbox / f"{TASK}.md")
    run = collect_report(outbox, TASK, b"", 0, 1000)
    assert run.outcome == "bad_report"
    assert "symbolic link" in run.detail
    with pytest.raises(PermissionError):
        read_bounded(outbox / f"{TASK}.md", outbox, 100)


def test_stdout_is_the_report_when_no_file_was_written_and_it_is_kept(tmp_path: Path) -> None:
    run = collect_report(tmp_path, TASK, b"---\nverdict: ok\n---\n## Summary\n", 30, 1000)
    assert run.outcome == "ok"
    assert run.report_path == tmp_path / f"{TASK}.md"
    assert (tmp_path / f"{TASK}.md").read_text().startswith("---\nverdict: ok")
    assert "taken from stdout" in run.notes[0]


@pytest.mark.parametrize(("stdout", "file", "outcome", "why"), [
    (b"", None, "no_report", "printed nothing"),
    (b"  \n", b"", "no_report", "is empty"),
    (b"", b"\x00\x01binary", "bad_report", "binary data"),
])
def test_nothing_empty_or_binary_is_a_failure_with_its_reason(
        tmp_path: Path, stdout: bytes, file: bytes | None, outcome: str, why: str) -> None:
    if file is not None:
        (tmp_path / f"{TASK}.md").write_bytes(file)
    run = collect_report(tmp_path, TASK, stdout, len(stdout), 1000)
    assert (run.outcome, why in run.detail) == (outcome, True)


def test_invalid_utf8_is_replaced_and_noted(tmp_path: Path) -> None:
    (tmp_path / f"{TASK}.md").write_bytes(b"caf\xe9 report\n")
    run = collect_report(tmp_path, TASK, b"", 0, 1000)
    assert run.outcome == "ok"
    assert "\ufffd" in run.report_text
    assert "not valid UTF-8" in run.notes[0]
