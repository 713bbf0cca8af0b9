"""What a restore replays beyond the newest save, on a real journal file: the fills
and updates journaled after the newest fact the save holds (before the save's row
too, when they were still on their way to the engine), then every order row after
the save's row."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agents.risk._store import RiskStore
from bus.codec import encode
from bus.protocol import Fill, Heartbeat, Message, OrderUpdate, make_decision
from kernel.emitter import tag_of
from kernel.journal import Journal, JournalEntry
from risk import OrderFact, initial_state
from risk.messages import RiskStateSaved
from tests.support.link import order
from tests.unit.risk.risk_world import NOW, limits

pytestmark = pytest.mark.timeout(60)


def fill(request_id: str, bot_id: str = "qe-1") -> Fill:
    return Fill(request_id=request_id, symbol="BTCUSDT", side="buy", qty=0.01,
                price=50_000.0, ts=NOW, bot_id=bot_id)


def cancelled(request_id: str, bot_id: str = "qe-1") -> OrderUpdate:
    return OrderUpdate(request_id=request_id, status="cancelled", ts=NOW, bot_id=bot_id)


def beat(seq: int, bot_id: str = "qe-1") -> Heartbeat:
    return Heartbeat(bot_id=bot_id, seq=seq, ts=NOW + seq, uptime_s=seq, equity=10_000.0,
                     realized_pnl=0.0, unrealized_pnl=0.0, marks={"BTCUSDT": 50_000.0})


def allowed(request_id: str, bot_id: str = "qe-1") -> list[Message]:
    return [order(request_id, bot_id=bot_id),
            make_decision(request_id=request_id, verdict="ALLOW", reason="ok", code="allowed",
                          trading_state="ACTIVE", bot_id=bot_id, ts=1.0)]


async def journal(journal: Journal, *messages: Message) -> int:
    """Journal ``messages`` as the gateway does; the seq of the last."""
    for message in messages:
        journal.append(JournalEntry(ts=NOW, topic=message.topic, source="gateway",
                                    kind=tag_of(message), payload=encode(message)))
    await journal.flush()
    return journal.last_seq


def ids(facts: list[tuple[float, OrderFact]]) -> list[tuple[str, str]]:
    return [(type(f).__name__, getattr(f, "request_id", "")) for _, f in facts]


@pytest.fixture
async def file(tmp_path: Path) -> Journal:
    """A fresh journal file; each test closes it (``async with``)."""
    return await Journal.open(tmp_path / "j.sqlite3")


async def test_facts_on_their_way_when_the_engine_saved_are_replayed(file: Journal) -> None:
    """The engine took the fill of a1 and saved; the update of b1 and the fill of c1
    were journaled before the save but still in its inbox: both are replayed, the
    decisions before the save are not (the save holds them), those after it are."""
    async with file as j:
        store = RiskStore(j, source="risk", clock=lambda: NOW)
        await journal(j, *allowed("a1"), *allowed("b1"), *allowed("c1"), fill("a1"))
        await journal(j, beat(1), cancelled("b1"), *allowed("d1"), fill("c1"))
        await store.save(initial_state(limits(), NOW), fill("a1"))
        await journal(j, *allowed("e1"), cancelled("e1"))
        assert await store.load() is not None
        assert ids(await store.unseen_facts()) == [
            ("OrderUpdate", "b1"), ("Fill", "c1"), ("OrderRequest", "e1"),
            ("OrderDecision", "e1"), ("OrderUpdate", "e1")]


async def test_an_older_kernels_save_replays_after_its_own_row(file: Journal) -> None:
    """A save without the newest fact (an older kernel's) decodes, and replays as
    before: only what lies after its row."""
    async with file as j:
        store = RiskStore(j, source="risk", clock=lambda: NOW)
        await journal(j, *allowed("a1"), cancelled("a1"))
        old = RiskStateSaved(ts=NOW, state=initial_state(limits(), NOW))
        older = msgspec.msgpack.encode(msgspec.structs.asdict(old) | {"type": "risk_state_saved"})
        body = msgspec.msgpack.decode(older)
        del body["last_fact"], body["facts_through"]
        await j.append_durable(JournalEntry(ts=NOW, topic="risk.saved", source="risk",
                                            kind="risk_state_saved",
                                            payload=msgspec.msgpack.encode(body)))
        await journal(j, fill("b1"))
        assert await store.load() == old.state
        assert store.loaded is not None and store.loaded.last_fact is None
        assert ids(await store.unseen_facts()) == [("Fill", "b1")]


async def test_the_newest_fact_is_a_heartbeat_and_later_equal_facts_stand_for_it(
    file: Journal,
) -> None:
    """The newest fact is found by value from the save's row backwards: an equal one
    journaled later stands for it, so the replay may miss a fact but never books one
    twice. A heartbeat is a fact too, though it is not replayed."""
    async with file as j:
        store = RiskStore(j, source="risk", clock=lambda: NOW)
        await journal(j, *allowed("a1"), beat(1), fill("a1"), beat(1), cancelled("x"))
        await store.save(initial_state(limits(), NOW), beat(1))
        await store.load()
        assert ids(await store.unseen_facts()) == [("OrderUpdate", "x")]


async def test_a_newest_fact_not_in_the_journal_replays_after_the_saves_row(
    file: Journal,
) -> None:
    async with file as j:
        store = RiskStore(j, source="risk", clock=lambda: NOW)
        await journal(j, *allowed("a1"), fill("a1"))
        await store.save(initial_state(limits(), NOW), fill("gone"))
        await journal(j, cancelled("b1"))
        await store.load()
        assert ids(await store.unseen_facts()) == [("OrderUpdate", "b1")]


async def test_a_restored_engine_that_took_no_fact_saves_where_its_replay_ended(
    file: Journal,
) -> None:
    """After a restore, until the engine takes a fact, its saves name the seq its
    replay read through: a fill journaled after that and still on its way is
    replayed by the next restore."""
    async with file as j:
        store = RiskStore(j, source="risk", clock=lambda: NOW)
        await journal(j, *allowed("a1"), fill("a1"))
        await store.save(initial_state(limits(), NOW), fill("a1"))
        through = await journal(j, *allowed("b1"))
        await store.load()
        assert ids(await store.unseen_facts()) == [("OrderRequest", "b1"),
                                                  ("OrderDecision", "b1")]
        assert store.facts_through == through
        await journal(j, fill("b1"), *allowed("c1"))  # the fill still in the inbox
        await store.save(initial_state(limits(), NOW))  # the start's save: no fact taken
        again = RiskStore(j, source="risk", clock=lambda: NOW)
        await again.load()
        assert again.loaded is not None and again.loaded.facts_through == through
        assert ids(await again.unseen_facts()) == [("Fill", "b1")]


async def test_a_fleet_bots_store_finds_its_own_newest_fact_and_replays_its_own(
    file: Journal,
) -> None:
    """Per bot: qe-2's engine names qe-2's newest fact; the other bot's facts around
    it, equal but for the bot, are neither matched nor replayed."""
    async with file as j:
        mine = RiskStore(j, source="risk.qe-2", clock=lambda: NOW, bot_id="qe-2")
        theirs = RiskStore(j, source="risk.qe-1", clock=lambda: NOW, bot_id="qe-1")
        await journal(j, *allowed("a1", "qe-2"), fill("a1", "qe-2"), *allowed("a1", "qe-1"))
        await journal(j, fill("a1", "qe-1"), cancelled("z", "qe-2"), cancelled("z", "qe-1"))
        await mine.save(initial_state(limits(), NOW), fill("a1", "qe-2"))
        await theirs.save(initial_state(limits(), NOW), fill("a1", "qe-1"))
        await journal(j, fill("y", "qe-2"), fill("y", "qe-1"))
        await mine.load()
        assert ids(await mine.unseen_facts()) == [("OrderUpdate", "z"), ("Fill", "y")]
        await theirs.load()
        assert ids(await theirs.unseen_facts()) == [("OrderUpdate", "z"), ("Fill", "y")]
        assert [f.bot_id for _, f in await theirs.unseen_facts()] == ["qe-1", "qe-1"]


async def test_the_newest_fact_is_found_far_back(file: Journal) -> None:
    """Read backwards in growing windows: a fact 20,000 rows before the save."""
    async with file as j:
        store = RiskStore(j, source="risk", clock=lambda: NOW)
        await journal(j, *allowed("a1"), fill("a1"), cancelled("b1"))
        await journal(j, *[beat(i) for i in range(2, 20_000)])
        await store.save(initial_state(limits(), NOW), fill("a1"))
        await store.load()
        assert ids(await store.unseen_facts()) == [("OrderUpdate", "b1")]


@pytest.mark.parametrize("newest", [beat(1), fill("a1")], ids=["heartbeat", "replayed_fill"])
async def test_a_restored_engine_naming_a_fact_its_restore_read_books_no_fill_twice(
    file: Journal, newest: Heartbeat | Fill,
) -> None:
    """A restored engine's inbox may still hold copies of facts its restore read (it
    listens from before the read). The newest it takes (a heartbeat applied, or a fill
    recognised as replayed) lies before the fill of b1, which the restored state holds:
    a save naming it still names the seq the restore read through, and the next restore
    replays from the later of the two, so b1 is not booked again."""
    async with file as j:
        store = RiskStore(j, source="risk", clock=lambda: NOW)
        await journal(j, *allowed("a1"), *allowed("b1"))
        await store.save(initial_state(limits(), NOW))
        through = await journal(j, fill("a1"), beat(1), fill("b1"))
        await store.load()
        assert ids(await store.unseen_facts()) == [("Fill", "a1"), ("Fill", "b1")]
        assert store.facts_through == through
        await store.save(initial_state(limits(), NOW), newest)  # its copy came back
        await journal(j, cancelled("c1"))
        again = RiskStore(j, source="risk", clock=lambda: NOW)
        await again.load()
        assert ids(await again.unseen_facts()) == [("OrderUpdate", "c1")]  # b1 booked once
        assert again.loaded is not None and again.loaded.facts_through == through
