"""``kernel audit verify``: recompute the journal's hash chain, read-only, and say where it breaks.

Checks, each naming the first thing that does not hold and where it was found:

* the rows in the file, from the newest anchor (or, with a day, the rows of that
  day, starting from the stored hash of the row before them);
* the audits journaled so far: each recorded the chain head when it was made,
  and that row must still carry that hash (a history re-hashed after an edit
  fails here, and against any copy of a report kept elsewhere);
* the tail: every record of the journal kept outside it (the head file, the
  last line of each JSONL copy, each daily report's chain head) must still be
  a row of the journal with that hash, so rows cut off the end are found
  (:mod:`kernel.console._chain_tail`);
* the newest anchor must be backed: its row is still in the file or in an
  archive, with the anchor's hash, so rows cannot be deleted behind a forged
  anchor;
* with ``archive_dir``, every archived row, anchor by anchor: every row that
  left the journal must be in the archive, each anchor must equal the hash
  recomputed up to its seq, so rows cannot be dropped or swapped there either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import msgspec

from agents.audit.journal import stored_audits
from kernel import hashchain
from kernel.console._chain_anchors import Anchor, anchor_backed, describe, verify_archives
from kernel.console._chain_tail import TailCheck
from kernel.console._chain_tail import check as check_tail
from kernel.console._chain_tail import claims as tail_claims
from kernel.journal_file import JournalRow, connect_readonly

_ROW = "seq, ts, topic, source, kind, payload, severity, hash"


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """What ``audit verify`` found; ``problems`` is empty when everything holds."""

    path: str
    anchor: Anchor
    rows: hashchain.Verdict
    last_seq: int = 0
    """The journal's last row (or its newest anchor when no row is left)."""
    audits_checked: int = 0
    tail: tuple[TailCheck, ...] = ()
    archived_rows: int | None = None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """What could not be checked, for people (never a failure by itself)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_journal(path: Path, *, window: tuple[float, float] | None = None,
                   archive_dir: Path | None = None, anchor_dir: Path | None = None,
                   log_dir: Path | None = None, reports_dir: Path | None = None) -> ChainReport:
    """Check the chain of the journal at ``path``; ``window``: only rows in [start, end).

    ``archive_dir`` checks every archived row; ``anchor_dir`` (where the archives
    are) checks only the newest anchor against them. ``log_dir`` and
    ``reports_dir`` are where the JSONL copy and the daily reports are, the tail's
    records outside the file (the head file beside it is always read).
    """
    with closing(connect_readonly(path)) as db:
        anchors = _anchors(db)
        anchor = anchors[-1]
        after, start, broken = _start(db, anchor, window)
        last = None if window is None else _last_in(db, window, anchor.seq)
        rows: hashchain.Verdict = (hashchain.verify(_rows(db, after, last), after_seq=after,
                                                    start=start) if broken is None
                                   else hashchain.Verdict(checked=0, first_seq=None,
                                                          last_seq=None, head=start,
                                                          broken=broken))
        problems = [describe(rows.broken)] if rows.broken is not None else []
        audits, audit_problems = _check_audits(db, anchor.seq)
        found, notes, claim_problems = tail_claims(path, log_dir=log_dir,
                                                   reports_dir=reports_dir)
        tail, tail_problems = check_tail(db, found, anchor_seq=anchor.seq)
        first_seq, last_seq = db.execute("SELECT MIN(seq), MAX(seq) FROM journal").fetchone()
        folder = archive_dir or anchor_dir
        if archive_dir is None and folder is not None:
            problems += anchor_backed(db, anchor, folder)
    problems += audit_problems + claim_problems + tail_problems
    archived = None
    if archive_dir is not None:
        archived, archive_problems = verify_archives(archive_dir, anchors,
                                                     first_in_journal=first_seq)
        problems += archive_problems
    return ChainReport(path=str(path), anchor=anchor, rows=rows,
                       last_seq=max(int(last_seq or 0), anchor.seq), audits_checked=audits,
                       tail=tuple(tail), archived_rows=archived, problems=tuple(problems),
                       notes=tuple(notes))


def _anchors(db: sqlite3.Connection) -> list[Anchor]:
    found = [Anchor(int(s), bytes(h), str(r)) for s, h, r in db.execute(
        "SELECT seq, hash, reason FROM journal_anchor ORDER BY seq")]
    return found or [Anchor(0, hashchain.GENESIS, "no anchor recorded: the chain starts at 1")]


def _start(db: sqlite3.Connection, anchor: Anchor, window: tuple[float, float] | None,
           ) -> tuple[int, bytes, hashchain.Break | None]:
    """The seq to start after and the hash to start from."""
    if window is None:
        return anchor.seq, anchor.hash, None
    first = db.execute("SELECT MIN(seq) FROM journal WHERE ts >= ? AND ts < ? AND seq > ?",
                       (*window, anchor.seq)).fetchone()[0]
    if first is None or int(first) - 1 <= anchor.seq:
        return anchor.seq, anchor.hash, None
    before = int(first) - 1
    row = db.execute("SELECT hash, ts, topic FROM journal WHERE seq = ?", (before,)).fetchone()
    if row is None or row[0] is None:
        return before, hashchain.GENESIS, hashchain.Break(
            seq=before, ts=row[1] if row else None, topic=row[2] if row else "",
            problem=f"row {before}, just before the day, is missing or has no hash")
    return before, bytes(row[0]), None


def _last_in(db: sqlite3.Connection, window: tuple[float, float], after: int) -> int:
    last = db.execute("SELECT MAX(seq) FROM journal WHERE ts >= ? AND ts < ? AND seq > ?",
                      (*window, after)).fetchone()[0]
    return int(last) if last is not None else after


def _rows(db: sqlite3.Connection, after: int, last: int | None) -> Iterator[JournalRow]:
    sql = f"SELECT {_ROW} FROM journal WHERE seq > ?"
    params: tuple[int, ...] = (after,)
    if last is not None:
        sql, params = sql + " AND seq <= ?", (after, last)
    for row in db.execute(sql + " ORDER BY seq", params):
        yield JournalRow(*row)


def _check_audits(db: sqlite3.Connection, anchor_seq: int) -> tuple[int, list[str]]:
    """Each audit's recorded head must still be the hash of the row it names."""
    checked, problems = 0, []
    for seq, audit in stored_audits(db):
        if audit.chain_seq is None or audit.chain_seq <= anchor_seq or not audit.chain_head:
            continue
        checked += 1
        row = db.execute("SELECT hash FROM journal WHERE seq = ?", (audit.chain_seq,)).fetchone()
        found = bytes(row[0]).hex() if row is not None and row[0] is not None else None
        if found != audit.chain_head:
            problems.append(
                f"the audit of {audit.day} (row {seq}) recorded hash {audit.chain_head[:16]}… "
                f"at seq {audit.chain_seq}; the journal now has "
                f"{(found or 'no row')[:16]}…: the history was rewritten after it was made")
    return checked, problems
