"""Reading the journal for audits: a day's events, the positions carried in, the
chain head, and the audits stored so far. Read-only, plain sqlite3.

Shared by the auditor actor (in a worker thread, at the day rollover) and by
``kernel report`` / ``kernel meta task`` (with or without a running kernel): a
read-only connection never takes the write lock, so it cannot hold up the
kernel's commits (WAL lets readers and the writer pass each other), and nothing
a report does can change the record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Final

import msgspec

from agents.audit.figures import Book, Chain, Event, book_fills, daily_audit
from agents.audit.messages import DailyAuditCompleted
from bus.protocol import Fill
from kernel.journal_file import JournalRow, connect_readonly, topic_is
from kernel.messages import decode_message
from risk.days import day_of

AUDIT_KINDS: Final = (
    "heartbeat", "fill", "order_request", "order_decision", "limit_tripped",
    "trading_state_changed", "trading_halt_requested", "kernel_state", "bot_lifecycle",
    "bot_exited", "actor_status", "anomaly", "risk_anomaly", "mode_changed",
    "operator_command", "operator_command_refused", "risk_snapshot", "shadow_decision",
)
"""The kinds the daily figures read; routine traffic (bars, saved state) is skipped."""
_ROW: Final = "seq, ts, topic, source, kind, payload, severity, hash"
_DAY_S: Final = 86_400
_fill_decoder: Final = msgspec.msgpack.Decoder(Fill)


def day_bounds(day: str, utc_offset_s: int) -> tuple[float, float]:
    """[start, end) in epoch seconds of the trading day ``day`` (``YYYY-MM-DD``)."""
    start = (date.fromisoformat(day) - date(1970, 1, 1)).days * _DAY_S - utc_offset_s
    return float(start), float(start + _DAY_S)


def today(now: float, utc_offset_s: int) -> str:
    return day_of(now, utc_offset_s)


def build_audit(path: Path, day: str, *, zone: str, utc_offset_s: int, now: float,
                extra: Sequence[JournalRow] = ()) -> DailyAuditCompleted:
    """The audit of ``day`` from the journal at ``path`` (``extra``: archived rows of it)."""
    start, end = day_bounds(day, utc_offset_s)
    with closing(connect_readonly(path)) as db:
        rows = [*extra, *day_rows(db, start, end)]
        opening = opening_book(db, start)
        chain = chain_head(db)
    events, undecodable = decode_rows(rows)
    return daily_audit(day, zone, events, opening=opening, now=now, complete=now >= end,
                       chain=chain, undecodable=undecodable)


def day_rows(db: sqlite3.Connection, start: float, end: float,
             kinds: Sequence[str] = AUDIT_KINDS) -> list[JournalRow]:
    marks = ", ".join("?" * len(kinds))
    cursor = db.execute(f"SELECT {_ROW} FROM journal WHERE ts >= ? AND ts < ? "
                        f"AND kind IN ({marks}) ORDER BY seq", (start, end, *kinds))
    return [JournalRow(*row) for row in cursor]


def decode_rows(rows: Sequence[JournalRow]) -> tuple[list[Event], int]:
    """Typed events, and how many rows could not be decoded (left out, counted)."""
    events, bad = [], 0
    for row in rows:
        try:
            events.append(Event(row.seq, row.ts, row.source, decode_message(row.payload)))
        except msgspec.DecodeError:
            bad += 1
    return events, bad


def opening_book(db: sqlite3.Connection, before: float) -> Book:
    """Positions at ``before``, from every fill journaled earlier (oldest first)."""
    fills = []
    terms, params = topic_is(Fill.topic)
    for (payload,) in db.execute(f"SELECT payload FROM journal WHERE {terms} "
                                 "AND ts < ? ORDER BY seq", (*params, before)):
        try:
            fills.append(_fill_decoder.decode(payload))
        except msgspec.DecodeError:
            continue
    book, _ = book_fills({}, fills)
    return {key: pos for key, pos in book.items() if pos.qty}


def chain_head(db: sqlite3.Connection) -> Chain:
    row = db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return Chain(None, "")
    return Chain(int(row[0]), bytes(row[1]).hex() if row[1] is not None else "")


def stored_audits(db: sqlite3.Connection) -> Iterator[tuple[int, DailyAuditCompleted]]:
    """(seq, audit) for every audit journaled, oldest first."""
    decoder = msgspec.msgpack.Decoder(DailyAuditCompleted)
    terms, params = topic_is(DailyAuditCompleted.topic)
    for seq, payload in db.execute(f"SELECT seq, payload FROM journal WHERE {terms} "
                                   "ORDER BY seq", params):
        try:
            yield int(seq), decoder.decode(payload)
        except msgspec.DecodeError:
            continue


def missed_audit(path: Path, day: str, start: float, end: float) -> bool:
    """The journal has rows of ``day`` but no complete audit of it (the kernel was
    down when the day ended)."""
    with closing(connect_readonly(path)) as db:
        if db.execute("SELECT 1 FROM journal WHERE ts >= ? AND ts < ? LIMIT 1",
                      (start, end)).fetchone() is None:
            return False
        return not any(audit.day == day and audit.complete for _, audit in stored_audits(db))


def excerpt(path: Path, start: float, end: float, *, topics: Sequence[str] = (),
            min_severity: Sequence[str] = ("warning", "error", "critical"),
            limit: int = 60) -> list[JournalRow]:
    """The rows a person should read first: of the given topic prefixes, or at least
    the given severities, oldest first, at most ``limit`` (the latest ones win)."""
    where = [f"severity IN ({', '.join('?' * len(min_severity))})"] if min_severity else []
    params: list[object] = [*min_severity]
    for prefix in topics:
        where.append("topic LIKE ? ESCAPE '\\'")
        params.append(prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                      + "%")
    clause = " OR ".join(where) or "1"
    with closing(connect_readonly(path)) as db:
        rows = db.execute(f"SELECT {_ROW} FROM journal WHERE ts >= ? AND ts < ? AND "
                          f"({clause}) ORDER BY seq DESC LIMIT ?", (start, end, *params, limit))
        return [JournalRow(*row) for row in reversed(rows.fetchall())]
