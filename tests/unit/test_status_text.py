"""``kernel status`` in words: a bot stopped on purpose reads as such."""

from __future__ import annotations

import io

import msgspec
from rich.console import Console

from kernel.console.commands.status import print_snapshot
from kernel.control_protocol import SnapshotReply, StatusReply


def status_text(bot_state: dict[str, object]) -> str:
    status = StatusReply(
        version="0.1.0", pid=1, uptime_s=5.0, mode="off", trading_state="ACTIVE", gate="risk",
        endpoints={}, actors=[], bots=[], journal_path="/data/journal.sqlite3",
        journal_last_seq=9, decisions=0, anomalies={})
    out = io.StringIO()
    print_snapshot(SnapshotReply(status=status, latest={
        "bot.state": msgspec.msgpack.encode(bot_state)}), Console(file=out, width=300))
    return out.getvalue()


def test_a_bot_switched_off_says_so_without_pid_none() -> None:
    text = status_text({"type": "bot_state", "state": "off", "mode": "off", "ts": 1.0,
                        "pid": None, "detail": "mode is off: the bot is not started"})
    assert "bot: off (stopped on purpose: mode is off: the bot is not started)" in text
    assert "None" not in text and "bot ?" not in text and "equity —" not in text


def test_a_running_bot_still_shows_its_pid_and_equity() -> None:
    text = status_text({"type": "bot_state", "state": "running", "mode": "paper", "ts": 1.0,
                        "pid": 7, "bot_id": "qe", "equity": 10_000.0})
    assert "bot qe: running pid 7, mode paper" in text and "equity 10,000.00" in text
