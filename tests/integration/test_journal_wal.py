"""The journal's WAL stays bounded while commits never pause.

A checkpoint on another thread never catches up with a writer that commits
without a break, and SQLite starts the WAL over only after a checkpoint that
copied all of it: the WAL grew by every commit, without end. The inline writer
now finishes the checkpoint itself once the WAL is past a limit
(``kernel.journal_file.catch_up``), after more rounds on the thread have left it
little to copy. Sizes and counts only, never time.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from kernel import journal as journal_module
from kernel import journal_file
from kernel.journal import Journal, JournalEntry
from kernel.journal_file import (
    BUSY_CEILING,
    CATCH_UP_FRAMES,
    FLOOD_ROWS_PER_S,
    THREAD_ROUNDS,
    WAL_LIMIT_BYTES,
    catch_up,
    checkpoint,
    flooded,
)

LIMIT = 256 * 1024


def entry(n: int) -> JournalEntry:
    return JournalEntry(ts=1_700_000_000.0 + n, topic=("order.request", "order.decision")[n % 2],
                        source="test", kind="probe", payload=b"x" * 170)


def commit_bursts(journal: Journal, bursts: int, start: int) -> int:
    """``bursts`` commits of 8 rows each, from the loop, as the gateway makes them."""
    for burst in range(bursts):
        for row in range(8):
            journal.append(entry(start + burst * 8 + row))
        assert journal.commit_now()
    return start + bursts * 8


def wal_size(path: Path) -> int:
    return os.stat(f"{path}-wal").st_size


def wal_restarts(path: Path) -> int:
    """The WAL header's checkpoint sequence: it goes up each time the WAL starts over."""
    with open(f"{path}-wal", "rb") as wal:
        return int.from_bytes(wal.read(32)[12:16], "big")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


async def test_the_writer_finishing_the_checkpoint_lets_the_wal_start_over(path: Path) -> None:
    async with await Journal.open(path) as journal:
        inline = journal._inline
        assert inline is not None
        n = commit_bursts(journal, 100, 0)
        assert wal_size(path) > LIMIT
        restarts = wal_restarts(path)
        assert catch_up(inline, path, limit=LIMIT)
        n = commit_bursts(journal, 100, n)
        assert wal_restarts(path) == restarts + 1  # written again from its start
        assert [row.seq for row in await journal.read(limit=2000)] == list(range(1, n + 1))


async def test_without_it_the_wal_only_grows(path: Path) -> None:
    async with await Journal.open(path) as journal:
        n = commit_bursts(journal, 100, 0)
        grown, restarts = wal_size(path), wal_restarts(path)
        commit_bursts(journal, 100, n)
        assert wal_size(path) > grown  # appended to: what catch_up prevents
        assert wal_restarts(path) == restarts


async def test_under_the_limit_nothing_is_done(path: Path) -> None:
    async with await Journal.open(path) as journal:
        assert journal._inline is not None
        commit_bursts(journal, 2, 0)
        assert wal_size(path) < WAL_LIMIT_BYTES
        assert not catch_up(journal._inline, path)
        assert not catch_up(journal._inline, path.with_name("absent.sqlite3"), limit=0)


class ScriptedRounds:
    """aiosqlite's connection running each PASSIVE round for real, but reporting the
    frames left to copy from a script: what a writer committing during each round
    leaves behind. Records how many rounds ran on the thread."""

    def __init__(self, db: Any, left: list[int]) -> None:
        self._db, self._left, self.rounds = db, left, 0

    async def execute_fetchall(self, sql: str) -> list[tuple[int, int, int]]:
        await self._db.execute_fetchall(sql)
        left = self._left[min(self.rounds, len(self._left) - 1)]
        self.rounds += 1
        return [(0, 10_000 + left, 10_000)]


@pytest.mark.parametrize(("left", "rounds"), [
    ([5_000, 1_200, CATCH_UP_FRAMES], 3),  # the thread catches up: the loop copies the rest
    ([5_000], THREAD_ROUNDS),  # it never does: the loop finishes after THREAD_ROUNDS
])
async def test_over_the_limit_the_thread_copies_until_little_is_left_for_the_loop(
    path: Path, left: list[int], rounds: int,
) -> None:
    async with await Journal.open(path) as journal:
        inline = journal._inline
        assert inline is not None
        n = commit_bursts(journal, 100, 0)
        restarts = wal_restarts(path)
        db = ScriptedRounds(journal._db, left)
        assert await checkpoint(db, inline, path, limit=LIMIT)  # type: ignore[arg-type]
        assert db.rounds == rounds
        commit_bursts(journal, 10, n)
        assert wal_restarts(path) == restarts + 1


async def test_under_the_limit_one_round_on_the_thread_and_nothing_on_the_loop(
    path: Path,
) -> None:
    async with await Journal.open(path) as journal:
        commit_bursts(journal, 2, 0)
        db = ScriptedRounds(journal._db, [5_000])
        assert not await checkpoint(db, journal._inline, path)  # type: ignore[arg-type]
        assert db.rounds == 1


async def test_a_wal_that_starts_over_is_cut_back_to_the_catch_up_limit(path: Path) -> None:
    """The catch-up limit and ``journal_size_limit`` are one size: the commit that starts
    the WAL over (on the loop) then truncates only what grew past the limit, not the
    WAL's whole length."""
    async with await Journal.open(path) as journal:
        assert journal._inline is not None
        (limit,) = journal._inline.execute("PRAGMA journal_size_limit").fetchone()
        assert limit == WAL_LIMIT_BYTES


async def test_while_rows_keep_coming_the_loop_finishes_only_past_the_ceiling(path: Path) -> None:
    """Under a flood the loop's catch-up (its syncs: tens of milliseconds every order then
    waits for) waits for a quiet round, unless the WAL passed ``BUSY_CEILING`` times the
    limit."""
    async with await Journal.open(path) as journal:
        inline = journal._inline
        assert inline is not None
        n = commit_bursts(journal, 1, 0)
        while wal_size(path) <= LIMIT:
            n = commit_bursts(journal, 1, n)
        assert wal_size(path) < BUSY_CEILING * LIMIT
        db = ScriptedRounds(journal._db, [5_000])  # commits landed during the round
        assert not await checkpoint(db, inline, path, limit=LIMIT, busy=True)  # type: ignore[arg-type]
        assert db.rounds == 1  # one round on the thread, as under the limit; none on the loop
        while wal_size(path) <= BUSY_CEILING * LIMIT:
            n = commit_bursts(journal, 100, n)
        restarts = wal_restarts(path)
        assert await checkpoint(journal._db, inline, path, limit=LIMIT, busy=True)
        commit_bursts(journal, 10, n)
        assert wal_restarts(path) == restarts + 1


class Rounds:
    """Records the checkpoint rounds the journal's own task asks for."""

    def __init__(self) -> None:
        self.busy: list[bool] = []

    async def __call__(self, db: Any, inline: Any, path: Path, *, busy: bool) -> bool:
        self.busy.append(busy)
        return False


async def test_a_catch_up_put_off_while_busy_runs_at_the_first_quiet_round(
    path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds = Rounds()
    monkeypatch.setattr(journal_module, "checkpoint", rounds)
    monkeypatch.setattr(journal_module, "wal_over", lambda path: True)  # still over
    monkeypatch.setattr(journal_module, "_CHECKPOINT_EVERY_S", 0.01)
    async with await Journal.open(path) as journal:
        n = 0
        while len(rounds.busy) < 3:  # rows in every round
            n = commit_bursts(journal, 1, n)
            await asyncio.sleep(0.002)
        while False not in rounds.busy:  # then none: the quiet round finishes it
            await asyncio.sleep(0.01)
        assert rounds.busy[:3] == [True, True, True]
        quiet = rounds.busy.index(False)
        assert all(rounds.busy[:quiet])
        for _ in range(50):  # and owed while the WAL stays over: each quiet round tries
            await asyncio.sleep(0.01)
            if len(rounds.busy) > quiet + 2:
                break
        assert rounds.busy[quiet:quiet + 3] == [False, False, False]


def test_a_flood_is_more_rows_a_second_than_the_threshold_under_the_ceiling(
    path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(journal_file, "WAL_LIMIT_BYTES", LIMIT)  # the ceiling: 1 MiB
    path.with_name(f"{path.name}-wal").write_bytes(b"")
    assert not flooded(FLOOD_ROWS_PER_S // 2, 0.5, path)  # at the threshold: rounds run
    assert flooded(FLOOD_ROWS_PER_S // 2 + 1, 0.5, path)
    assert flooded(FLOOD_ROWS_PER_S + 1, 1.0, path)
    assert flooded(FLOOD_ROWS_PER_S, 0.25, path.with_name("absent.sqlite3"))  # no WAL: under
    path.with_name(f"{path.name}-wal").write_bytes(bytes(BUSY_CEILING * LIMIT + 1))
    assert not flooded(10 * FLOOD_ROWS_PER_S, 0.5, path)  # past the ceiling rounds run again


async def test_during_a_flood_no_round_runs_and_the_first_after_it_does(
    path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A round's syncs stall the loop's commits that meet them; during a flood they would
    only copy early what the first round after it copies anyway."""
    rounds, asked = Rounds(), []

    def spy(rows: int, every_s: float, wal: Path) -> bool:
        asked.append(flooded(rows, every_s, wal))
        return asked[-1]

    monkeypatch.setattr(journal_module, "checkpoint", rounds)
    monkeypatch.setattr(journal_module, "flooded", spy)
    monkeypatch.setattr(journal_module, "_CHECKPOINT_EVERY_S", 0.01)  # a flood: 200 rows a round
    async with await Journal.open(path) as journal:
        n = 0
        while len(asked) < 5:  # each round sees at least one chunk of 400 rows
            n = commit_bursts(journal, 50, n)
            await asyncio.sleep(0)
        assert asked == [True] * len(asked)
        assert rounds.busy == []
        while not rounds.busy:  # the flood is over: the next round runs, owed or busy
            await asyncio.sleep(0.01)
        assert asked[-1] is False
