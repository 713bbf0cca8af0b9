"""The journal's table, its migrations, and the SQL the journal runs.

The schema version of the file is ``PRAGMA user_version``. Migrations are a
list: the step at index ``i`` takes a file from version ``i`` to ``i + 1``,
inside one ``BEGIN IMMEDIATE`` transaction, so two processes opening the same
file cannot both migrate it. Step 2 added the severity and the hash chain
(``kernel/hashchain.py``): two columns, the anchor table the chain starts from,
and triggers that keep the journal append-only (only rows already behind the
anchor, i.e. archived, may be deleted). Step 3 leaves the rows of every order
(:data:`PER_ORDER_TOPICS`) out of the topic index, see :data:`TOPIC_INDEXED`.

Inserts are one multi-row ``INSERT ... SELECT FROM (VALUES ...)`` statement per
batch. In autocommit mode one statement is one transaction, so a batch costs a
single aiosqlite thread hop instead of three (BEGIN, executemany, COMMIT).
Statements are prepared for a few row counts only (powers of two and the
halfway points); a batch is padded with NULL rows up to the next prepared size
and the padding is filtered out by ``WHERE column1 IS NOT NULL``. Preparing a
256-row statement costs about as much as running it, and caching one statement
per possible row count would hold tens of megabytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Final, Literal

import aiosqlite

COLUMNS: Final = ("seq", "ts", "topic", "source", "kind", "payload", "severity", "hash")
"""Columns written per row, in the order the journal binds them."""

READ_COLUMNS: Final = ("seq", "ts", "topic", "source", "kind", "payload", "severity", "hash")
"""Columns read back, in the order of :class:`kernel.journal.JournalRow`'s fields."""

_NOW: Final = "(julianday('now') - 2440587.5) * 86400.0"
"""Seconds since the epoch in SQL (``unixepoch('subsec')`` needs SQLite 3.42)."""

MAX_BATCH_ROWS: Final = 4096
"""Beyond a few thousand rows a commit gains nothing, and prepared statements grow."""

PER_ORDER_TOPICS: Final = ("order.request", "order.decision", "order.update", "order.ahead")
"""Topics written for every order (its request, its decision, the bot's update on
it, and the note that it was decided ahead of facts): most of a busy journal."""

TOPIC_INDEXED: Final = f"topic NOT IN ({', '.join(repr(t) for t in PER_ORDER_TOPICS)})"
"""Which rows the topic index holds. Every commit rewrote, per topic in it, the index
leaf at the end of that topic's run: at one order in flight half the pages a commit
writes and about 20 µs of its 58 (docs/perf/gate-stages.md). Nothing reads the
per-order topics by topic alone over a long stretch: the risk engine reads them
after its last save (a range of seq), the audit by time. A query uses this partial
index only when its WHERE clause repeats this term word for word, so every
by-topic read goes through :func:`topic_terms`, which adds it where it holds."""

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 0 -> 1: the append-only journal; seq is assigned by the writer (1, 2, 3, ...).
    (
        """CREATE TABLE journal (
            seq     INTEGER PRIMARY KEY,
            ts      REAL NOT NULL,
            topic   TEXT NOT NULL,
            source  TEXT NOT NULL,
            kind    TEXT NOT NULL,
            payload BLOB NOT NULL
        )""",
        "CREATE INDEX journal_topic ON journal (topic)",
        "CREATE INDEX journal_ts ON journal (ts)",
    ),
    # 1 -> 2: severity, the hash chain and its anchor; append-only enforced by triggers.
    # Rows written before this step keep severity 'info' and no hash: the anchor is
    # set at the last of them, so the chain covers everything written from now on.
    (
        "ALTER TABLE journal ADD COLUMN severity TEXT NOT NULL DEFAULT 'info'",
        "ALTER TABLE journal ADD COLUMN hash BLOB",
        """CREATE TABLE journal_anchor (
            seq    INTEGER PRIMARY KEY,
            hash   BLOB NOT NULL,
            ts     REAL NOT NULL,
            reason TEXT NOT NULL
        )""",
        f"""INSERT INTO journal_anchor (seq, hash, ts, reason)
            SELECT COALESCE(MAX(seq), 0), zeroblob(32), {_NOW},
                   CASE WHEN COUNT(*) = 0 THEN 'a new journal: the chain starts at seq 1'
                        ELSE 'the chain starts after the rows written before it existed' END
            FROM journal""",
        """CREATE TRIGGER journal_append_only BEFORE UPDATE ON journal
           BEGIN SELECT RAISE(ABORT, 'the journal is append-only: rows are never updated'); END""",
        """CREATE TRIGGER journal_delete_archived_only BEFORE DELETE ON journal
           WHEN OLD.seq > (SELECT MAX(seq) FROM journal_anchor)
           BEGIN SELECT RAISE(ABORT, 'only rows archived behind the chain anchor may be deleted');
           END""",
        """CREATE TRIGGER journal_anchor_append_only BEFORE UPDATE ON journal_anchor
           BEGIN SELECT RAISE(ABORT, 'chain anchors are never updated'); END""",
    ),
    # 2 -> 3: the rows of every order leave the topic index (see TOPIC_INDEXED).
    (
        "DROP INDEX IF EXISTS journal_topic",
        f"CREATE INDEX journal_topic_indexed ON journal (topic) WHERE {TOPIC_INDEXED}",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)


def topic_terms(topic: str, *, prefix: bool = False) -> tuple[str, list[str]]:
    """The WHERE terms (joined with AND) and parameters for rows of ``topic``, or of
    every topic starting with it when ``prefix``; the index's own term is added
    when no per-order topic can match, so the partial index serves the read."""
    if prefix:
        terms, params = ["topic >= ?"], [topic]
        upper = prefix_upper_bound(topic)
        if upper is not None:
            terms.append("topic < ?")
            params.append(upper)
        indexed = not any(hot.startswith(topic) for hot in PER_ORDER_TOPICS)
    else:
        terms, params = ["topic = ?"], [topic]
        indexed = topic not in PER_ORDER_TOPICS
    if indexed:
        terms.append(TOPIC_INDEXED)
    return " AND ".join(terms), params


async def configure(db: aiosqlite.Connection, synchronous: Literal["normal", "full"]) -> None:
    """WAL lets readers (``kernel status``, audits) run beside the writer."""
    rows = list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
    mode = rows[0][0] if rows else None
    if mode != "wal":
        raise sqlite3.OperationalError(
            f"the file refused WAL mode (journal_mode is {mode!r}); "
            "put the data directory on a local disk")
    await db.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")


async def migrate(db: aiosqlite.Connection) -> int:
    """Bring the file up to :data:`SCHEMA_VERSION`; return the version it had.

    A file from a newer version is left untouched (the caller refuses it).
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        found = await _user_version(db)
        for statements in MIGRATIONS[found:]:
            for statement in statements:
                await db.execute(statement)
        if found < SCHEMA_VERSION:
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            await db.execute("ROLLBACK")
        raise
    return found


async def _user_version(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def chain_head(db: aiosqlite.Connection) -> tuple[int, bytes | None]:
    """(last seq, the hash the next row links to); the hash is None when the last row
    was written without the chain (``hash_chain=False``), so the chain cannot go on."""
    anchors = list(await db.execute_fetchall(
        "SELECT seq, hash FROM journal_anchor ORDER BY seq DESC LIMIT 1"))
    rows = list(await db.execute_fetchall(
        "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1"))
    anchor_seq, anchor_hash = (int(anchors[0][0]), bytes(anchors[0][1])) if anchors else (0, None)
    if not rows or int(rows[0][0]) <= anchor_seq:  # every row archived: go on after the anchor
        return anchor_seq, anchor_hash
    seq, head = int(rows[0][0]), rows[0][1]
    return seq, None if head is None else bytes(head)


ANCHOR_SQL: Final = "INSERT INTO journal_anchor (seq, hash, ts, reason) VALUES (?, ?, ?, ?)"
FORGET_SQL: Final = ("DELETE FROM journal WHERE seq IN "
                     "(SELECT seq FROM journal WHERE seq <= ? ORDER BY seq LIMIT ?)")


async def last_seq(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("SELECT COALESCE(MAX(seq), 0) FROM journal"))
    return int(rows[0][0])


def max_batch_rows(requested: int) -> int:
    """The batch size actually used: one statement must hold the whole batch."""
    with closing(sqlite3.connect(":memory:")) as probe:
        variables = probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(requested, MAX_BATCH_ROWS, variables // len(COLUMNS)))


def statement_sizes(max_rows: int) -> tuple[int, ...]:
    """Row counts to prepare statements for; padding to the next one costs < 50%."""
    sizes = {max_rows}
    n = 1
    while n < max_rows:
        sizes.update(m for m in (n, n + n // 2) if m < max_rows)
        n *= 2
    return tuple(sorted(sizes))


def insert_sql(rows: int) -> str:
    """One statement inserting up to ``rows`` rows; rows whose seq is NULL are padding."""
    row = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    return (f"INSERT INTO journal ({', '.join(COLUMNS)}) "
            f"SELECT * FROM (VALUES {', '.join([row] * rows)}) WHERE column1 IS NOT NULL")


def select_sql(
    *, after_seq: int, limit: int, topic_prefix: str
) -> tuple[str, Sequence[object]]:
    """Rows after ``after_seq`` in seq order; the prefix is a range so the index serves it."""
    where: list[str] = ["seq > ?"]
    params: list[object] = [after_seq]
    if topic_prefix:
        terms, values = topic_terms(topic_prefix, prefix=True)
        where.append(terms)
        params.extend(values)
    sql = (f"SELECT {', '.join(READ_COLUMNS)} FROM journal WHERE {' AND '.join(where)} "
           "ORDER BY seq LIMIT ?")
    return sql, [*params, max(0, limit)]


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix``.

    SQLite compares TEXT as UTF-8 bytes, which orders like code points, so
    bumping the last code point gives the bound (surrogates cannot be encoded,
    so they are skipped). ``None`` means no upper bound is needed.
    """
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None
