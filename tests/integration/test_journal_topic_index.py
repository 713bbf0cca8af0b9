"""The topic index without the rows of every order (schema step 3): a journal written
by the version before opens, keeps its chain and its rows, goes on writing, and its
by-topic reads still go through an index."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest

from bus.codec import encode
from bus.protocol import OrderDecision
from kernel._journal_schema import (
    MIGRATIONS,
    PER_ORDER_TOPICS,
    SCHEMA_VERSION,
    TOPIC_INDEXED,
    select_sql,
)
from kernel.console.chain_verify import verify_journal
from kernel.journal import Journal, JournalEntry, read_journal
from kernel.journal_file import topic_is

T = 1_800_000_000.0
TOPICS = ("order.request", "order.decision", "order.update", "order.ahead", "order.fill",
          "risk.saved", "meta.job.finished", "moderator.advice")


def entry(n: int) -> JournalEntry:
    decision = OrderDecision(request_id=f"r{n}", verdict="ALLOW", reason="r", code="allowed",
                             trading_state="ACTIVE")
    topic = TOPICS[n % len(TOPICS)]
    return JournalEntry(T + n, topic, "gateway", "order_decision", encode(decision))


async def write(path: Path, first: int, count: int) -> None:
    async with await Journal.open(path) as journal:
        for n in range(first, first + count):
            journal.append(entry(n))
        await journal.flush()


def indexes(path: Path) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as db:
        return {name: sql for name, sql in db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal'")
            if sql is not None}


def plan(path: Path, sql: str, params: Sequence[object]) -> str:
    with closing(sqlite3.connect(path)) as db:
        return " | ".join(str(row[3]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, params))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


async def test_a_journal_of_the_version_before_opens_keeps_its_chain_and_writes_on(
        path: Path) -> None:
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as db:  # as version 2 left it
        for step in MIGRATIONS[:2]:
            for statement in step:
                db.execute(statement)
        db.execute("PRAGMA user_version = 2")
    await write_as_version_2(path)
    assert set(indexes(path)) == {"journal_topic", "journal_ts"}

    await write(path, 40, 40)  # opens: migrates to 3, then writes on the same chain

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert set(indexes(path)) == {"journal_topic_indexed", "journal_ts"}
    report = verify_journal(path)
    assert report.ok and report.rows.checked == 80
    rows = read_journal(path, limit=1000)
    assert [r.seq for r in rows] == list(range(1, 81))
    for prefix in ("order.", "order.fill", "meta.job", "moderator.", "risk.saved", ""):
        found = read_journal(path, topic_prefix=prefix, limit=1000)
        assert [r.seq for r in found] == [r.seq for r in rows if r.topic.startswith(prefix)]


async def write_as_version_2(path: Path) -> None:
    """Rows 1..40 chained by today's writer on a file that still has the old index."""
    from kernel import _journal_schema as schema

    saved = schema.SCHEMA_VERSION
    schema.SCHEMA_VERSION = 2  # type: ignore[misc]
    try:
        migrations = schema.MIGRATIONS
        schema.MIGRATIONS = migrations[:2]  # type: ignore[misc]
        try:
            await write(path, 0, 40)
        finally:
            schema.MIGRATIONS = migrations  # type: ignore[misc]
    finally:
        schema.SCHEMA_VERSION = saved  # type: ignore[misc]


async def test_reads_by_topic_use_the_index_and_the_rows_of_every_order_stay_out(
        path: Path) -> None:
    await write(path, 0, 64)
    with closing(sqlite3.connect(path)) as db:
        indexed = {topic for (topic,) in db.execute(
            "SELECT topic FROM journal INDEXED BY journal_topic_indexed "
            f"WHERE topic > '' AND {TOPIC_INDEXED}")}
    assert indexed == set(TOPICS) - set(PER_ORDER_TOPICS)
    for prefix in ("meta.job", "moderator.", "order.fill", "risk."):
        sql, params = select_sql(after_seq=0, limit=10, topic_prefix=prefix)
        assert "journal_topic_indexed" in plan(path, sql, params), prefix
    for topic in ("order.fill", "risk.saved", "audit.daily"):
        terms, params = topic_is(topic)
        assert "journal_topic_indexed" in plan(
            path, f"SELECT seq FROM journal WHERE {terms} ORDER BY seq DESC LIMIT 1",
            list(params)), topic
    for topic in PER_ORDER_TOPICS:
        assert topic_is(topic) == ("topic = ?", [topic])
