"""The journal's file: its rows, opening (configure, migrate, find the chain head),
and reading it with plain sqlite3, read-only, beside a running writer.

Kept apart from the writer (``kernel/journal.py``) so that tools which only read
(``kernel report``, ``kernel audit verify``) share the exact same row type and
SQL without pulling in the writer's machinery.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Final, Literal, TypeAlias

import aiosqlite
import msgspec

from kernel import _journal_schema as schema
from kernel import hashchain
from kernel._journal_state import JournalError
from kernel.journal_tail import HeadUnreadable, cut_from_the_end, head_path, read_head

Synchronous: TypeAlias = Literal["normal", "full"]
DEFAULT_READ_LIMIT: Final = 1000


class JournalEntry(msgspec.Struct, frozen=True):
    """One message to journal; ``payload`` is its msgpack bytes (``bus.codec.encode``)."""

    ts: float
    """Seconds since the epoch, from the caller's clock (time is passed in)."""
    topic: str
    source: str
    """Who published: an actor's name, ``gateway``, or ``bus:<peer>``."""
    kind: str
    """The message's msgspec tag, e.g. ``order_decision``."""
    payload: bytes
    severity: str = ""
    """Empty: the writer derives it from the payload (:func:`kernel.event_format.severity_of`)."""
    message: object = None
    """The message ``payload`` encodes, when the emitter has it at hand: the JSONL copy
    then writes the body from the object instead of decoding the payload again
    (:mod:`kernel._jsonl`, the same bytes). Never stored in the file."""


class JournalRow(msgspec.Struct, frozen=True):
    """A committed entry with the seq the journal gave it."""

    seq: int
    ts: float
    topic: str
    source: str
    kind: str
    payload: bytes
    severity: str = "info"
    hash: bytes | None = None
    """Its link in the hash chain; None for rows written before the chain existed."""


async def prepare(path: Path, *, synchronous: Synchronous, batch_rows: int,
                  busy_timeout_s: float, hash_chain: bool, integrity_check: bool = True,
                  ) -> tuple[aiosqlite.Connection, int, bytes | None]:
    """Connect, check, configure and migrate; return the connection, last seq and chain head.

    ``integrity_check`` runs SQLite's ``quick_check`` first (every page is read
    once, about a second per gigabyte when cached): a file with damaged pages is
    refused here, before anything trades on it, rather than found by the first
    actor that reads the damaged rows. Every failure closes the connection and
    is raised as :class:`JournalError` saying what failed, where, and what to do.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(f"cannot create the folder of the journal {path}: "
                           f"{exc.strerror or exc}. Fix: make the data directory writable, "
                           "or set data_dir in paths.yaml to a writable folder.") from exc
    db = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_s,
                                 cached_statements=len(schema.statement_sizes(batch_rows)) + 32)
    try:
        if integrity_check:
            await _quick_check(db)
        await schema.configure(db, synchronous)
        found = await schema.migrate(db)
        if found > schema.SCHEMA_VERSION:
            raise JournalError(
                f"the journal {path} has schema version {found}, newer than this kernel's "
                f"{schema.SCHEMA_VERSION}; run the newer kernel, or move the file aside.")
        last_seq, head = await _chain_head(db, hash_chain)
        if hash_chain:
            await _check_head_file(path, db, last_seq)
    except sqlite3.Error as exc:
        await db.close()
        raise JournalError(open_failure(path, exc)) from exc
    except BaseException:
        await db.close()
        raise
    return db, last_seq, head


async def _check_head_file(path: Path, db: aiosqlite.Connection, last_seq: int) -> None:
    """Refuse a journal that ends before the head its writer last recorded outside it."""
    record = head_path(path)
    try:
        head = read_head(path)
    except (HeadUnreadable, OSError) as exc:
        raise JournalError(
            f"{exc}. The kernel does not start without knowing that the journal still ends "
            f"where it did. Fix: restore the file from a backup; or, if you know why it is "
            f"damaged, move it aside (`mv {record} {record}.bad`) and start again.") from exc
    if head is None:
        return
    rows = list(await db.execute_fetchall("SELECT hash FROM journal WHERE seq = ?",
                                          (head.seq,)))
    found = bytes(rows[0][0]) if rows and rows[0][0] is not None else None
    problem = cut_from_the_end(path, head, last_seq, found)
    if problem:
        raise JournalError(
            f"{problem}. The kernel does not start on a journal that lost rows: the state it "
            "would restore could miss a halt or a loss. Fix: restore the journal from a "
            "backup; or, to go on without those rows, keep both files as evidence, move the "
            f"head file aside (`mv {record} {record}.lost`) and start again.")


async def _quick_check(db: aiosqlite.Connection) -> None:
    found = [str(row[0]) for row in await db.execute_fetchall("PRAGMA quick_check(5)")]
    if found != ["ok"]:
        raise sqlite3.DatabaseError("database disk image is malformed (quick_check: "
                                    + "; ".join(found)[:500] + ")")


def corruption_in(exc: BaseException | None) -> sqlite3.DatabaseError | None:
    """The SQLite error saying the file is damaged, anywhere in ``exc``'s causes.

    Retrying cannot help such an error, and neither can restarting the actor that
    met it: the kernel stops instead, naming the file (exit 3).
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.DatabaseError) and (
                getattr(exc, "sqlite_errorcode", None) in _DAMAGED
                or any(word in str(exc) for word in ("malformed", "not a database"))):
            return exc
        if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
            continue
        exc = exc.__cause__ or exc.__context__
    return None


_DAMAGED: Final = frozenset({11, 26})
"""SQLITE_CORRUPT and SQLITE_NOTADB."""


async def _chain_head(db: aiosqlite.Connection, hash_chain: bool) -> tuple[int, bytes | None]:
    """Last seq and the hash to link on; a chain that cannot go on restarts, on record."""
    last_seq, head = await schema.chain_head(db)
    if not hash_chain:
        return last_seq, None
    if head is None:  # the last rows were written with hash_chain=False
        head = hashchain.GENESIS
        await db.execute(schema.ANCHOR_SQL, (last_seq, head, 0.0,
                                             f"rows up to {last_seq} were written without "
                                             "the chain; it starts again after them"))
    return last_seq, head


def open_failure(path: Path, exc: sqlite3.Error) -> str:
    """What failed, where, and what a person can do about it."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        fix = (f"the file is damaged or is not a journal: move it aside with its companions "
               f"(`mv {path}* <somewhere safe>`: keep them for inspection) and start again; "
               "`sqlite3 FILE .recover` may save its rows")
    elif "locked" in text or "busy" in text:
        fix = ("another process holds the file's write lock: stop it (another kernel, an "
               "open sqlite3 shell with a transaction) and start again")
    elif any(word in text for word in ("full", "disk", "readonly", "unable to open")):
        fix = "check that the data directory is writable and its disk has free space"
    else:
        fix = "see the SQLite error above"
    return f"cannot open the journal {path}: {text}. Fix: {fix}"


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection: it never takes the write lock, so a running kernel
    is not held up, and nothing a reader does can change the record.

    It works on a read-only copy too (evidence on a read-only disk): a WAL file
    needs a writable folder for its index, so there the file is opened
    ``immutable`` when it has no WAL content, and otherwise the file and its WAL
    are read from a private temporary copy (removed on close). The original is
    never written either way.
    """
    if not path.exists():
        raise FileNotFoundError(f"no journal at {path}; check the data directory in paths.yaml")
    uri = path.resolve().as_uri()
    db = sqlite3.connect(uri + "?mode=ro", uri=True)
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # opening is lazy: this reads
    except sqlite3.OperationalError as exc:
        db.close()
        if not any(word in str(exc) for word in ("unable to open", "readonly", "read-only")):
            raise
        return _connect_unwritable_folder(path)
    return db


class _PrivateCopy(sqlite3.Connection):
    """A connection to a temporary copy of a journal; closing it removes the copy."""

    folder = ""

    def close(self) -> None:
        super().close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def _connect_unwritable_folder(path: Path) -> sqlite3.Connection:
    wal = path.with_name(path.name + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:  # everything is in the file itself
        return sqlite3.connect(path.resolve().as_uri() + "?immutable=1", uri=True)
    folder = tempfile.mkdtemp(prefix="journal-copy-")
    try:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        db = sqlite3.connect(copy.as_uri() + "?mode=ro", uri=True, factory=_PrivateCopy)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    db.folder = folder
    return db


def topic_is(topic: str) -> tuple[str, list[str]]:
    """WHERE terms (and their parameters) for the rows of one topic, in the form the
    journal's partial topic index serves (:data:`kernel._journal_schema.TOPIC_INDEXED`)."""
    return schema.topic_terms(topic)


def read_journal(path: Path, *, after_seq: int = 0, limit: int = DEFAULT_READ_LIMIT,
                 topic_prefix: str = "") -> list[JournalRow]:
    """Read committed rows with plain sqlite3, read-only: safe while a kernel writes."""
    sql, params = schema.select_sql(after_seq=after_seq, limit=limit, topic_prefix=topic_prefix)
    with closing(connect_readonly(path)) as db:
        return [JournalRow(*row) for row in db.execute(sql, params)]


def connect_inline_writer(path: Path, *, busy_timeout_s: float) -> sqlite3.Connection:
    """A plain sqlite3 connection for writing from the event loop itself.

    With ``synchronous=NORMAL`` a WAL commit is a few ``write()`` calls and no
    fsync: about 30 µs for a batch, against about 85 µs more for the aiosqlite
    thread hop. The order gate waits for this commit before every reply, so the
    kernel writes inline and keeps aiosqlite for reads and maintenance.
    """
    writer = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_s,
                             check_same_thread=False)
    writer.execute("PRAGMA synchronous=NORMAL")
    # A checkpoint copies the WAL into the file and syncs both: milliseconds that
    # must not stall the loop. The journal runs them on aiosqlite's thread instead.
    writer.execute("PRAGMA wal_autocheckpoint=0")
    # When a checkpoint lets the WAL start over, the file is cut back to this size.
    writer.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    return writer


WAL_LIMIT_BYTES: Final = 256 * 1024 * 1024
"""Past this, the inline writer finishes the checkpoint itself (see :func:`catch_up`),
and a WAL that starts over is cut back to it. That stalls the loop for the database
file's fsync (10 to 50 ms), and a thread would not shorten it: the commit after a
complete checkpoint starts the WAL over, so no commit may land between the copy and
that fsync, and every decision waits for its commit. So the stall is made rare
instead: under a flood of orders the WAL grows 30 to 40 MB a second (each commit
rewrites its pages whole), a catch-up every 7 s at 256 MiB against every 2 s at
64 MiB. The file is cut back to the same size so that the commit that starts the WAL
over truncates only what grew past it."""


CATCH_UP_FRAMES: Final = 256
"""WAL frames (pages of 4 KiB) left to copy at most when the loop finishes a checkpoint."""
THREAD_ROUNDS: Final = 8
"""PASSIVE rounds on aiosqlite's thread at most, before the loop finishes what is left."""
BUSY_CEILING: Final = 4
"""While rows keep coming, the loop's catch-up waits for a quiet round until the WAL
is this many times its limit (1 GiB): the catch-up and the commit that starts the
WAL over stall the loop for their syncs (55 to 60 ms, then up to 200 ms, measured
under an order flood), and every order arriving meanwhile waits that long for its
decision. Under a flood of orders (about 16 MB of WAL a second) that is one stall a
minute instead of one every 16 s, and a shorter flood has none: the catch-up runs
at the first round after it (a round without rows: half a second of quiet)."""


FLOOD_ROWS_PER_S: Final = 20_000
"""Rows a second committed since the last round above which the next round on aiosqlite's
thread waits (:func:`flooded`). A fleet of 20 bots at 50 orders a second wrote at most
3,400 (``bench_fleet.py``); one bot at 64 orders in flight about 43,000, an order flood
60,000 to 70,000."""


def flooded(rows: int, every_s: float, path: Path) -> bool:
    """Whether a checkpoint round waits: the ``rows`` committed in the last ``every_s``
    seconds are a flood, and the WAL is under :data:`BUSY_CEILING` times its limit.

    A round starts by syncing the WAL (``fdatasync``), and the loop's next commit that
    writes into the WAL's last block while that block is being written out waits for it
    (ext4: the writer's ``pwrite`` in ``ext4_block_write_begin`` beside the round's sync).
    Under an order flood the WAL grows 30 to 70 MB a second, a round takes 40 to 60 ms
    (150 to 240 ms at times), and the commit that met it stalled the loop 10 to 40 ms
    (170 ms once): every quiet bot's decision waited as long. Rounds copied everything
    they saw yet never let the WAL start over (the writer never pauses), so during a flood
    they only move the copy earlier; the first round after it (and the catch-up at the
    ceiling) copies what they would have."""
    return rows > FLOOD_ROWS_PER_S * every_s and \
        not wal_over(path, WAL_LIMIT_BYTES * BUSY_CEILING)


async def checkpoint(db: aiosqlite.Connection, inline: sqlite3.Connection | None, path: Path,
                     *, limit: int = WAL_LIMIT_BYTES, busy: bool = False) -> bool:
    """One checkpoint round: PASSIVE on aiosqlite's thread, then :func:`catch_up`.

    When the loop is to finish it (the WAL passed ``limit``; while ``busy``, rows
    having come since the last round, only past :data:`BUSY_CEILING` times ``limit``),
    the thread first runs more rounds, each copying what the writer added during the
    last, until at most :data:`CATCH_UP_FRAMES` are left: the loop then copies a few
    pages instead of everything the first round missed (40 to 170 ms of the loop under
    a writer committing 1 MB saves, every few seconds). True when the loop finished it."""
    if busy:
        limit *= BUSY_CEILING
    for _ in range(THREAD_ROUNDS):
        rows = await db.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        _, frames, copied = next(iter(rows))
        if inline is None or frames - copied <= CATCH_UP_FRAMES or not wal_over(path, limit):
            break
    return inline is not None and catch_up(inline, path, limit=limit)


def wal_over(path: Path, limit: int = WAL_LIMIT_BYTES) -> bool:
    """Whether the journal's WAL file is larger than ``limit``."""
    try:
        return os.stat(f"{path}-wal").st_size > limit
    except OSError:
        return False


def catch_up(inline: sqlite3.Connection, path: Path, *, limit: int = WAL_LIMIT_BYTES) -> bool:
    """Finish the checkpoint from the writer's own connection when the WAL passed
    ``limit``; True when it ran.

    SQLite starts the WAL over only once a checkpoint has copied all of it, and a
    checkpoint on another thread never catches up with a writer that commits
    without a pause (each commit adds about 25 kB: the table's last leaf, two
    index leaves, page 1), so under steady load the WAL grew without end. Run
    from the loop, between commits, this copies what the last round missed (a
    few milliseconds, once per ``limit`` of WAL); the next commit then starts the
    WAL over and ``journal_size_limit`` cuts the file back. A reader holding an
    old snapshot may keep it from finishing; a later round tries again.
    """
    if not wal_over(path, limit):
        return False
    inline.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return True
