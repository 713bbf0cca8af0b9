"""``kernel audit verify``: recompute the journal's hash chain, read-only, and say where it breaks.

Three checks, each naming the first thing that does not hold:

* the rows in the file, from the newest anchor (or, with a day, the rows of that
  day, starting from the stored hash of the row before them);
* the audits journaled so far: each recorded the chain head when it was made,
  and that row must still carry that hash (a history re-hashed after an edit
  fails here, and against any copy of a report kept elsewhere);
* with ``archives``, every archived row, anchor by anchor: each anchor must equal
  the hash recomputed up to its seq, so rows cannot be swapped in the archive
  either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import msgspec

from agents.audit.journal import stored_audits
from agents.audit.retention import archived_rows
from kernel import hashchain
from kernel.journal_file import JournalRow, connect_readonly

_ROW = "seq, ts, topic, source, kind, payload, severity, hash"


class Anchor(msgspec.Struct, frozen=True):
    seq: int
    hash: bytes
    reason: str


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """What ``audit verify`` found; ``problems`` is empty when everything holds."""

    path: str
    anchor: Anchor
    rows: hashchain.Verdict
    audits_checked: int = 0
    archived_rows: int | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_journal(path: Path, *, window: tuple[float, float] | None = None,
                   archive_dir: Path | None = None) -> ChainReport:
    """Check the chain of the journal at ``path``; ``window``: only rows in [start, end)."""
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
        problems = [_describe(rows.broken)] if rows.broken is not None else []
        audits, audit_problems = _check_audits(db, anchor.seq)
    problems += audit_problems
    archived = None
    if archive_dir is not None:
        archived, archive_problems = verify_archives(archive_dir, anchors)
        problems += archive_problems
    return ChainReport(path=str(path), anchor=anchor, rows=rows, audits_checked=audits,
                       archived_rows=archived, problems=tuple(problems))


def verify_archives(archive_dir: Path, anchors: list[Anchor]) -> tuple[int, list[str]]:
    """Recompute the archived rows' chain; each anchor is a checkpoint (or a restart)."""
    rows = archived_rows(archive_dir) if archive_dir.exists() else []
    if not rows:
        return 0, []
    by_seq = {a.seq: a for a in anchors}
    first = anchors[0]
    head, prev = first.hash, first.seq
    for row in rows:
        if row.seq <= first.seq:
            continue  # written before the chain began: nothing to check it against
        verdict = hashchain.verify([row], after_seq=prev, start=head)
        if verdict.broken is not None:
            return len(rows), [f"archive in {archive_dir}: " + _describe(verdict.broken)]
        head, prev = verdict.head, row.seq
        mark = by_seq.get(row.seq)
        if mark is not None and mark.hash not in (head, hashchain.GENESIS):
            return len(rows), [f"anchor at seq {row.seq} holds {mark.hash.hex()[:16]}…, but "
                               f"the archived rows hash to {head.hex()[:16]}…"]
        if mark is not None and mark.hash == hashchain.GENESIS:
            head = hashchain.GENESIS  # the chain started again here (recorded in the anchor)
    return len(rows), []


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


def _describe(broken: hashchain.Break) -> str:
    where = f" ({broken.topic})" if broken.topic else ""
    return f"first broken row: seq {broken.seq}{where}: {broken.problem}"
