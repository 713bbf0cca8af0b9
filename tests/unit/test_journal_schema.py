"""The journal's SQL: prefix ranges, prepared statement sizes, padded inserts."""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import closing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel._journal_schema import (
    COLUMNS,
    MAX_BATCH_ROWS,
    MIGRATIONS,
    insert_sql,
    max_batch_rows,
    prefix_upper_bound,
    select_sql,
    statement_sizes,
)


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:", isolation_level=None)
    for step in MIGRATIONS:
        for statement in step:
            db.execute(statement)
    yield db
    db.close()


@pytest.mark.parametrize(("prefix", "bound"), [
    ("order.", "order/"),
    ("a\U0010ffff", "b"),
    ("\U0010ffff", None),
    ("", None),
    ("x\ud7ff", "x\ue000"),
])
def test_prefix_upper_bound(prefix: str, bound: str | None) -> None:
    assert prefix_upper_bound(prefix) == bound


@given(topics=st.lists(st.text(max_size=6), max_size=20), prefix=st.text(max_size=3))
def test_a_topic_prefix_selects_exactly_the_topics_that_start_with_it(
    topics: list[str], prefix: str
) -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        for step in MIGRATIONS:
            for statement in step:
                db.execute(statement)
        db.executemany("INSERT INTO journal (seq, ts, topic, source, kind, payload) "
                       "VALUES (?, 0, ?, 's', 'k', x'')", enumerate(topics, 1))
        sql, params = select_sql(after_seq=0, limit=100, topic_prefix=prefix)
        found = [row[2] for row in db.execute(sql, params)]
    assert found == [topic for topic in topics if topic.startswith(prefix)]


def test_statement_sizes_pad_a_batch_by_less_than_half() -> None:
    assert statement_sizes(256) == (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
    assert statement_sizes(1) == (1,)
    for top in (1, 7, 100, 256, 1000):
        sizes = statement_sizes(top)
        assert sizes[-1] == top
        for n in range(2, top + 1):
            assert n <= sizes[bisect_left(sizes, n)] <= 1.5 * n


def test_a_padded_insert_writes_only_the_real_rows(db: sqlite3.Connection) -> None:
    rows = [(seq, 1.5, "t", "s", "k", b"p", "info", b"h") for seq in (1, 2, 3)]
    params = [value for row in rows for value in row] + [None] * len(COLUMNS)
    db.execute(insert_sql(4), params)
    assert db.execute("SELECT * FROM journal ORDER BY seq").fetchall() == rows


def test_seq_after_and_limit(db: sqlite3.Connection) -> None:
    db.executemany("INSERT INTO journal (seq, ts, topic, source, kind, payload) "
                   "VALUES (?, 0, 't', 's', 'k', x'')",
                   [(n,) for n in range(1, 9)])
    sql, params = select_sql(after_seq=3, limit=2, topic_prefix="")
    assert [row[0] for row in db.execute(sql, params)] == [4, 5]
    sql, params = select_sql(after_seq=0, limit=-5, topic_prefix="")
    assert db.execute(sql, params).fetchall() == []


def test_a_batch_fits_one_statement() -> None:
    assert max_batch_rows(256) == 256
    assert max_batch_rows(0) == 1
    limit = max_batch_rows(10**9)
    assert limit <= MAX_BATCH_ROWS
    with closing(sqlite3.connect(":memory:")) as probe:
        assert limit * len(COLUMNS) <= probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
