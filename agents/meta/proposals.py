"""Candidate changes waiting for a person: pending, then approved or rejected, never applied.

The store is its own SQLite file, ``<data_dir>/proposals.sqlite3``, not a table in
the journal's file. Three reasons (docs/meta-agent.md says more):

* The journal's file is append-only by trigger and hash-chained by one writer,
  the kernel. A proposal's status changes (pending -> approved), and it is
  changed from ``kernel proposals approve`` in another process. A second writer
  in the journal's file would contend for its write lock with the order gate's
  durable commits; in its own file it cannot delay a trading decision.
* The journal stays the record: every step (created, approved, rejected, a
  refused decision) is also a journal row, so the store is an index of the
  current state, rebuilt from nothing if it were lost.
* Its own ``user_version`` migrates it without touching the journal's schema.

Inside the file the rules are still enforced by SQLite itself: a status moves
only away from ``pending`` (a trigger refuses the rest), and the history table
is append-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

import msgspec

from agents.meta.report import ProposalDraft

Status: TypeAlias = Literal["pending", "approved", "rejected"]
STATUSES: Final[tuple[Status, ...]] = ("pending", "approved", "rejected")
SCHEMA_VERSION: Final = 1
_SCHEMA: Final = (
    """CREATE TABLE proposal (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        created    REAL NOT NULL,
        job        TEXT NOT NULL,
        task_id    TEXT NOT NULL,
        source     TEXT NOT NULL,
        kind       TEXT NOT NULL,
        title      TEXT NOT NULL,
        draft      BLOB NOT NULL,
        status     TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'rejected')),
        decided    REAL,
        decided_by TEXT NOT NULL DEFAULT '',
        reason     TEXT NOT NULL DEFAULT '',
        artefacts  BLOB NOT NULL DEFAULT '[]'
    )""",
    """CREATE TABLE proposal_history (
        n        INTEGER PRIMARY KEY,
        proposal INTEGER NOT NULL REFERENCES proposal (id),
        ts       REAL NOT NULL,
        status   TEXT NOT NULL,
        by       TEXT NOT NULL,
        reason   TEXT NOT NULL
    )""",
    """CREATE TRIGGER proposal_decided_once BEFORE UPDATE OF status ON proposal
       WHEN OLD.status != 'pending'
       BEGIN SELECT RAISE(ABORT, 'a decided proposal is never decided again'); END""",
    """CREATE TRIGGER proposal_history_append_only BEFORE UPDATE ON proposal_history
       BEGIN SELECT RAISE(ABORT, 'the proposal history is append-only'); END""",
    """CREATE TRIGGER proposal_history_no_delete BEFORE DELETE ON proposal_history
       BEGIN SELECT RAISE(ABORT, 'the proposal history is append-only'); END""",
)
_draft_decoder: Final = msgspec.json.Decoder(ProposalDraft)
_artefacts_decoder: Final = msgspec.json.Decoder(list[str])
_COLUMNS: Final = ("id, created, job, task_id, source, kind, title, draft, status, decided, "
                   "decided_by, reason, artefacts")


class ProposalError(Exception):
    """No such proposal, or it is not pending; the message says which and what to do."""


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    created: float
    job: str
    task_id: str
    source: str
    draft: ProposalDraft
    status: Status
    decided: float | None = None
    decided_by: str = ""
    reason: str = ""
    artefacts: list[str] = msgspec.field(default_factory=list)


class HistoryEntry(msgspec.Struct, frozen=True):
    ts: float
    status: str
    by: str
    reason: str


class ProposalStore:
    """Short transactions on a small file; safe from the kernel and a CLI at once."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = path
        self._timeout = busy_timeout_s

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=self._timeout,
                                     isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self._migrate(db)
            yield db

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def add(self, draft: ProposalDraft, *, job: str, task_id: str, source: str,
            now: float) -> Proposal:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                "INSERT INTO proposal (created, job, task_id, source, kind, title, draft) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, job, task_id, source, draft.kind, draft.title,
                 msgspec.json.encode(draft)))
            proposal_id = int(cursor.lastrowid or 0)
            db.execute("INSERT INTO proposal_history (proposal, ts, status, by, reason) "
                       "VALUES (?, ?, 'pending', ?, ?)", (proposal_id, now, source,
                                                         f"proposed by {job} ({task_id})"))
            db.execute("COMMIT")
        return Proposal(id=proposal_id, created=now, job=job, task_id=task_id, source=source,
                        draft=draft, status="pending")

    def get(self, proposal_id: int) -> Proposal:
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM proposal WHERE id = ?",
                             (proposal_id,)).fetchone()
        if row is None:
            raise ProposalError(f"there is no proposal {proposal_id}; `kernel proposals list "
                                "--status all` shows them all")
        return _proposal(row)

    def all(self, status: Status | None = None) -> list[Proposal]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        with self._db() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM proposal {where} ORDER BY id",
                              params).fetchall()
        return [_proposal(row) for row in rows]

    def history(self, proposal_id: int) -> list[HistoryEntry]:
        with self._db() as db:
            rows = db.execute("SELECT ts, status, by, reason FROM proposal_history "
                              "WHERE proposal = ? ORDER BY n", (proposal_id,)).fetchall()
        return [HistoryEntry(*row) for row in rows]

    def decide(self, proposal_id: int, status: Literal["approved", "rejected"], *, by: str,
               reason: str, now: float, artefacts: list[str]) -> Proposal:
        """Record a decision; :class:`ProposalError` when the proposal is not pending."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "UPDATE proposal SET status = ?, decided = ?, decided_by = ?, reason = ?, "
                    "artefacts = ? WHERE id = ? AND status = 'pending'",
                    (status, now, by, reason, msgspec.json.encode(artefacts), proposal_id))
                if cursor.rowcount != 1:
                    raise ProposalError(self._not_pending(db, proposal_id))
                db.execute("INSERT INTO proposal_history (proposal, ts, status, by, reason) "
                           "VALUES (?, ?, ?, ?, ?)", (proposal_id, now, status, by, reason))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.get(proposal_id)

    def _not_pending(self, db: sqlite3.Connection, proposal_id: int) -> str:
        row = db.execute("SELECT status, decided_by FROM proposal WHERE id = ?",
                         (proposal_id,)).fetchone()
        if row is None:
            return f"there is no proposal {proposal_id}"
        return (f"proposal {proposal_id} is already {row[0]} (by {row[1]}); a decision is "
                "final: a new proposal is needed to change it")


def _proposal(row: tuple[Any, ...]) -> Proposal:
    (pid, created, job, task_id, source, _kind, _title, draft, status, decided, by, reason,
     artefacts) = row
    return Proposal(id=int(pid), created=float(created), job=str(job), task_id=str(task_id),
                    source=str(source), draft=_draft_decoder.decode(_raw(draft)),
                    status=status, decided=None if decided is None else float(decided),
                    decided_by=str(by), reason=str(reason),
                    artefacts=_artefacts_decoder.decode(_raw(artefacts)))


def _raw(value: Any) -> bytes:
    """A JSON column: bytes as written, or text (the column default)."""
    return value if isinstance(value, bytes) else str(value).encode()
