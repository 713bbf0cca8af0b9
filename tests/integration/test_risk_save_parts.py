"""A risk state with thousands of open orders, saved in slices on a real journal file:
each slice its own row and its own commit, each save after them naming them with what
changed since, and every restore (the engine's and ``kernel replay``'s) exact."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from agents.risk._parts import PART_ORDERS, PARTS_MAX_AGE_S
from agents.risk._store import RiskStore, SavedStateUnreadable
from agents.risk.replay_journal import read_window
from bus.codec import encode
from kernel.journal import Journal, JournalEntry
from risk import RiskState, initial_state
from risk.messages import RiskStateSavedInParts
from risk.state import OpenOrder
from tests.unit.risk.risk_world import NOW, limits

pytestmark = pytest.mark.timeout(60)


def opened(count: int, start: int = 0, qty: str = "0.01") -> dict[str, OpenOrder]:
    return {f"r{i}": OpenOrder(symbol="BTCUSDT", side="buy", qty=Decimal(qty),
                               price=Decimal("50000"), ts=NOW + i)
            for i in range(start, start + count)}


def with_orders(orders: dict[str, OpenOrder], **fields: object) -> RiskState:
    return msgspec.structs.replace(initial_state(limits(), NOW), open_orders=orders, **fields)


async def save_missing_slice_999(journal: Journal) -> int:
    """A save naming slice rows 1 and 999, row 999 not in the file; its seq."""
    bad = RiskStateSavedInParts(ts=NOW, state=with_orders({}), order_parts=(1, 999))
    return await journal.append_durable(JournalEntry(
        ts=NOW, topic="risk.saved", source="risk", kind="risk_state_saved_in_parts",
        payload=encode(bad)))


async def saved(store: RiskStore, state: RiskState) -> int:
    """Save as the engine does: the slices when wanted, then the save's own row."""
    await store.keep_orders(lambda: state)
    return await store.save(state)


async def rows(journal: Journal, topic: str) -> list[tuple[int, str, int]]:
    return [(r.seq, r.kind, len(r.payload))
            for r in await journal.read(after_seq=0, limit=100_000, topic_prefix=topic)]


async def test_many_open_orders_go_in_slices_of_their_own_rows_and_commits(tmp_path: Path) -> None:
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        state = with_orders(opened(2 * PART_ORDERS + 500), consecutive_losses=1)
        commits = journal.commits
        await saved(store, state)
        slices = await rows(journal, "risk.orders_saved")
        assert [kind for _, kind, _ in slices] == ["risk_orders_saved"] * 3
        assert journal.commits - commits == 4  # each slice committed alone, then the save
        head = await rows(journal, "risk.saved")
        assert [kind for _, kind, _ in head] == ["risk_state_saved_in_parts"]
        assert head[0][2] < 2_000 < slices[0][2]  # the save's own row holds no order
        loaded = await RiskStore(journal, source="risk", clock=lambda: NOW).load()
        assert loaded == state and list(loaded.open_orders) == list(state.open_orders)


async def test_a_save_after_the_slices_holds_what_changed_and_restores_exactly(
        tmp_path: Path) -> None:
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        orders = opened(3 * PART_ORDERS)
        await saved(store, with_orders(orders))
        later = {k: o for k, o in orders.items() if k not in ("r5", "r2999")}
        later["r7"] = msgspec.structs.replace(orders["r7"], qty=Decimal("0.004"),
                                              status="partially_filled")
        later |= opened(3, start=10_000)
        state = with_orders(later, consecutive_losses=2)
        await saved(store, state)
        assert len(await rows(journal, "risk.orders_saved")) == 3  # the same slices
        newest = (await journal.read(after_seq=journal.last_seq - 1, limit=1))[0]
        head = msgspec.msgpack.decode(newest.payload, type=RiskStateSavedInParts)
        assert set(head.state.open_orders) == {"r7", "r10000", "r10001", "r10002"}
        assert sorted(head.orders_gone) == ["r2999", "r5"]
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == state


async def test_slices_are_written_again_once_the_change_passes_a_slice(tmp_path: Path) -> None:
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        await saved(store, with_orders(opened(2 * PART_ORDERS)))
        state = with_orders(opened(2 * PART_ORDERS, start=PART_ORDERS // 2))
        await saved(store, state)  # half gone, half new: past a slice's worth
        assert len(await rows(journal, "risk.orders_saved")) == 4
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == state


async def test_few_open_orders_are_saved_whole_as_an_older_kernel_saved_them(
        tmp_path: Path) -> None:
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        await saved(store, with_orders(opened(2 * PART_ORDERS)))
        state = with_orders(opened(PART_ORDERS))
        await saved(store, state)
        assert (await rows(journal, "risk.saved"))[-1][1] == "risk_state_saved"
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == state
        many = with_orders(opened(3 * PART_ORDERS))
        await store.save(many)  # no slices asked for: whole, as before
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == many


async def test_slices_no_save_names_yet_leave_the_restore_on_the_save_before(
        tmp_path: Path) -> None:
    """A kill between the slices and the save's own row: the newest complete save stands."""
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        first = with_orders(opened(2 * PART_ORDERS))
        await saved(store, first)
        await store.keep_orders(lambda: with_orders(opened(2 * PART_ORDERS, start=50_000)))
        assert len(await rows(journal, "risk.orders_saved")) == 4
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == first


async def test_a_save_whose_slice_is_not_in_the_journal_is_unreadable(tmp_path: Path) -> None:
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        await saved(store, with_orders(opened(2 * PART_ORDERS)))
        await save_missing_slice_999(journal)
        with pytest.raises(SavedStateUnreadable, match="seq 999 is missing"):
            await RiskStore(journal, source="risk", clock=lambda: NOW).load()


async def test_saves_racing_each_other_restore_the_newest(tmp_path: Path) -> None:
    """The timer's save and a message's save at once: slices written once, each save's
    own row consistent with the slices it names."""
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        first = with_orders(opened(2 * PART_ORDERS))
        second = with_orders(first.open_orders | opened(1, start=50_000), consecutive_losses=3)
        await asyncio.gather(saved(store, first), saved(store, second))
        assert len(await rows(journal, "risk.orders_saved")) == 2
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == second


async def test_a_replay_starts_from_a_save_in_slices(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    state = with_orders(opened(2 * PART_ORDERS + 1))
    async with await Journal.open(path) as journal:
        await saved(RiskStore(journal, source="risk", clock=lambda: NOW), state)
    window = read_window(path, NOW + 1, NOW + 2)
    assert window.rows[0].fact.state == state


async def test_a_replay_passes_over_a_save_whose_slice_is_missing_and_says_so(
        tmp_path: Path) -> None:
    """The engine refuses to start from such a save (above); a replay starts from the
    save before it, which is as exact with more rows to replay, and names both."""
    path = tmp_path / "j.sqlite3"
    state = with_orders(opened(2 * PART_ORDERS + 1))
    async with await Journal.open(path) as journal:
        good = await saved(RiskStore(journal, source="risk", clock=lambda: NOW), state)
        newest = await save_missing_slice_999(journal)
    window = read_window(path, NOW + 1, NOW + 2)
    assert window.base_seq == good and window.rows[0].fact.state == state
    assert window.passed_over == [
        f"the risk state saved at journal row #{newest} names its open orders' slice at "
        f"row #999, which is not in the file: passed over for the one before it, at row "
        f"#{good}"]


async def test_a_replay_from_a_readable_save_passes_over_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    async with await Journal.open(path) as journal:
        await saved(RiskStore(journal, source="risk", clock=lambda: NOW),
                    with_orders(opened(2 * PART_ORDERS + 1)))
    assert read_window(path, NOW + 1, NOW + 2).passed_over == []


async def test_a_save_of_few_orders_lets_go_of_the_slices(tmp_path: Path) -> None:
    """The slices' orders are not kept alive once the state is saved whole again."""
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: NOW)
        await saved(store, with_orders(opened(2 * PART_ORDERS)))
        assert store.parts.seqs
        await saved(store, with_orders(opened(10)))
        assert store.parts.seqs == ()
        many = with_orders(opened(2 * PART_ORDERS, start=90_000))
        await saved(store, many)  # new slices, from scratch
        assert len(await rows(journal, "risk.orders_saved")) == 4
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == many


async def test_a_save_made_at_once_names_no_slices_older_than_their_age_limit(
        tmp_path: Path) -> None:
    """A halt's save writes no slices first (``SaveRule.urgent``): once those in use are
    ``PARTS_MAX_AGE_S`` old it is whole, so no save names rows retention may reach."""
    clock = [NOW]
    async with await Journal.open(tmp_path / "j.sqlite3") as journal:
        store = RiskStore(journal, source="risk", clock=lambda: clock[0])
        await saved(store, with_orders(opened(2 * PART_ORDERS)))
        state = with_orders(opened(2 * PART_ORDERS), consecutive_losses=3)
        clock[0] = NOW + PARTS_MAX_AGE_S - 1
        await store.save(state)
        assert (await rows(journal, "risk.saved"))[-1][1] == "risk_state_saved_in_parts"
        clock[0] = NOW + PARTS_MAX_AGE_S
        await store.save(state)
        assert (await rows(journal, "risk.saved"))[-1][1] == "risk_state_saved"
        assert store.parts.seqs == ()
        assert await RiskStore(journal, source="risk", clock=lambda: NOW).load() == state
