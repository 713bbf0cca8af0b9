"""``kernel report``, ``kernel audit verify`` and ``kernel meta task`` on real files with
no kernel running, and what each says about bad input."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import msgspec
import pytest
import yaml

from agents.audit.messages import DailyAuditCompleted
from agents.audit.retention import retain
from bus.codec import encode
from bus.protocol import Fill, Heartbeat, Message, OrderDecision, OrderRequest
from kernel.console.cli import main
from kernel.emitter import tag_of
from kernel.journal import Journal, JournalEntry
from risk.days import day_of
from tests.conftest import write_config

NOW = time.time()
TODAY = day_of(NOW, 0)


class Setup:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = write_config(root)
        self.journal = root / "data" / "journal.sqlite3"

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main(["--config-dir", str(self.config), *args])
        out, err = capsys.readouterr()
        return code, out, " ".join(err.split())


async def journal_a_trade(path: Path, ts: float, *, jsonl_dir: Path | None = None) -> None:
    messages: list[Message] = [
        Heartbeat(bot_id="qe", seq=1, ts=ts, uptime_s=1, equity=10_000, realized_pnl=0,
                  unrealized_pnl=0),
        OrderRequest(request_id="a", bot_id="qe", ts=ts, symbol="ETHUSDT", side="buy", qty=1,
                     price=3000),
        OrderDecision(request_id="a", verdict="ALLOW", reason="ok", code="ok",
                      trading_state="ACTIVE", bot_id="qe"),
        Fill(request_id="a", symbol="ETHUSDT", side="buy", qty=1, price=3000, ts=ts, fee=1.2,
             bot_id="qe"),
        OrderRequest(request_id="b", bot_id="qe", ts=ts, symbol="ETHUSDT", side="sell", qty=1,
                     price=2990),
        OrderDecision(request_id="b", verdict="ALLOW", reason="ok", code="ok",
                      trading_state="ACTIVE", bot_id="qe"),
        Fill(request_id="b", symbol="ETHUSDT", side="sell", qty=1, price=2990, ts=ts, fee=1.2,
             bot_id="qe"),
        OrderRequest(request_id="c", bot_id="qe", ts=ts, symbol="ETHUSDT", side="buy", qty=1,
                     price=3000),
        OrderDecision(request_id="c", verdict="DENY", reason="daily loss", code="daily_loss_limit",
                      trading_state="HALTED", bot_id="qe"),
    ]
    async with await Journal.open(path, jsonl_dir=jsonl_dir) as journal:
        for n, message in enumerate(messages):
            journal.append(JournalEntry(ts + n, message.topic, "gateway", tag_of(message),
                                        encode(message)))


@pytest.fixture
async def setup(tmp_path: Path) -> Setup:
    s = Setup(tmp_path)
    await journal_a_trade(s.journal, max(NOW - 60, day_of_start(NOW)))  # today, before now
    return s


def day_of_start(now: float) -> float:
    return now - now % 86_400


def test_report_prints_writes_and_says_the_kernel_is_not_running(
    setup: Setup, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = setup.run(capsys, "report", "--no-publish")
    assert code == 0
    assert f"# Daily audit: {TODAY} (UTC)" in out
    assert "| Realised PnL, net of fees | -12.40 |" in out
    assert "denied 1" in out and "| daily_loss_limit | 1 |" in out
    written = setup.root / "reports" / f"audit-{TODAY}.md"
    assert written.read_text() == out and str(written) in err
    code, out, err = setup.run(capsys, "report", "--format", "json")
    audit = msgspec.json.decode(out, type=DailyAuditCompleted)
    assert (audit.trades.trades, audit.trades.losses, audit.orders.denied) == (1, 1, 1)
    assert "kernel not running" in err


def test_an_unwritable_reports_dir_is_named_and_the_report_still_printed(
    setup: Setup, capsys: pytest.CaptureFixture[str],
) -> None:
    (setup.root / "reports").write_text("a file, not a folder")
    code, out, err = setup.run(capsys, "report", "--no-publish")
    assert code == 7 and "# Daily audit" in out
    assert f"cannot write the daily report {setup.root / 'reports'}" in err
    assert "Fix:" in err


def test_verify_holds_then_finds_the_edited_row(setup: Setup,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = setup.run(capsys, "audit", "verify")
    assert code == 0 and "the chain holds" in out and "9 rows" in out
    with closing(sqlite3.connect(setup.journal, isolation_level=None)) as db:
        db.execute("DROP TRIGGER journal_append_only")
        forged = encode(OrderDecision(request_id="c", verdict="ALLOW", reason="ok", code="ok",
                                      trading_state="ACTIVE", bot_id="qe"))
        db.execute("UPDATE journal SET payload = ? WHERE seq = 9", (forged,))
    code, out, _ = setup.run(capsys, "audit", "verify")
    assert code == 6 and "BROKEN first broken row: seq 9 (order.decision)" in " ".join(out.split())
    code, out, _ = setup.run(capsys, "audit", "verify", "--json", "--day", TODAY)
    found = json.loads(out)
    assert code == 6 and not found["ok"] and found["broken"]["seq"] == 9


def test_a_meta_task_lands_in_the_inbox_complete(setup: Setup,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("daily-logs", "risk-report"):
        code, out, _ = setup.run(capsys, "meta", "task", kind, "--day", TODAY)
        assert code == 0 and "written to" in out
    tasks = sorted((setup.root / "meta" / "inbox").glob("*.md"))
    assert [t.name.split("-2")[0] for t in tasks] == ["daily-logs", "risk-report"]
    text = tasks[1].read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["kind"] == "risk-report" and front["day"] == TODAY
    assert front["answer_to"].endswith(f"meta/outbox/{front['task_id']}.md")
    assert "DENY c [daily_loss_limit]" in text  # the denial is quoted from the journal
    assert "### Trades" in text and "## Expected answer" in text


def test_two_tasks_in_the_same_second_get_their_own_files(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("kernel.console.commands.audit.time.time", lambda: NOW)
    for _ in range(2):
        code, _, _ = setup.run(capsys, "meta", "task", "daily-logs", "--day", TODAY)
        assert code == 0
    tasks = list((setup.root / "meta" / "inbox").glob("daily-logs-*.md"))
    ids = {yaml.safe_load(t.read_text().split("---\n")[1])["task_id"] for t in tasks}
    assert len(tasks) == 2 and len(ids) == 2
    assert {t.stem for t in tasks} == ids


async def test_a_day_moved_to_the_archive_is_still_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    setup = Setup(tmp_path)
    long_ago = NOW - 40 * 86_400
    await journal_a_trade(setup.journal, long_ago - long_ago % 86_400 + 3600)
    async with await Journal.open(setup.journal) as journal:
        await journal.append_durable(JournalEntry(NOW, "test", "t", "t", b"\x80"))
        done = await retain(journal, archive_dir=tmp_path / "data" / "archive",
                            cutoff_ts=NOW - 86_400, utc_offset_s=0, now=NOW)
    assert done is not None and done.deleted == 9
    code, out, _ = setup.run(capsys, "report", "--day", day_of(long_ago, 0), "--format", "json",
                             "--no-publish")
    audit = msgspec.json.decode(out, type=DailyAuditCompleted)
    assert code == 0 and (audit.trades.trades, audit.orders.requested) == (1, 3)
    code, out, _ = setup.run(capsys, "audit", "verify", "--archives")
    assert code == 0 and "archived rows checked: 9" in out


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no journal at"),
    (b"this is not a database at all, just bytes" * 200, "file is not a database"),
])
def test_a_missing_or_corrupt_journal_says_what_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, expected: str,
) -> None:
    setup = Setup(tmp_path)
    if content is not None:
        setup.journal.parent.mkdir(parents=True)
        setup.journal.write_bytes(content)
    for args in (("report",), ("audit", "verify"), ("meta", "task", "daily-logs")):
        code, _, err = setup.run(capsys, *args)
        assert code == 3 and expected in err and str(setup.journal) in err, (args, err)


def test_a_bad_day_is_refused_by_the_parser(setup: Setup,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        setup.run(capsys, "report", "--day", "01/05/2024")
    assert exit_.value.code == 2
    assert "expected a day as YYYY-MM-DD" in capsys.readouterr().err


def test_meta_task_without_day_takes_the_last_complete_day_like_meta_run(
    setup: Setup, capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, _ = setup.run(capsys, "meta", "task", "daily-logs")
    task = next((setup.root / "meta" / "inbox").glob("daily-logs-*.md"))
    front = yaml.safe_load(task.read_text().split("---\n")[1])
    assert code == 0 and front["day"] == day_of(NOW - 86400, 0)
