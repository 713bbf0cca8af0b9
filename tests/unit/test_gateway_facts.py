"""The gateway's check that an order is decided ahead of facts still on the bus
(kernel/_gateway_facts.py): for the one bot's engine, and per bot in a fleet."""

from __future__ import annotations

from bus.protocol import Fill, Heartbeat, OrderRequest, OrderUpdate
from kernel._gateway_facts import FactsBehind
from kernel.gate import FactCounter

NOW = 1_000.0
"""When the facts of the tests that do not look at time reach the gateway."""


class Engine:
    """Counts the facts it took, as ``RiskEngine.facts_taken`` does."""

    def __init__(self) -> None:
        self.facts_taken = 0
        self.facts_epoch = 0
        self.facts_queued = 0


class Fleet:
    """The fleet gate's side of it: each bot's running engine."""

    def __init__(self, **engines: Engine) -> None:
        self.engines = engines

    def counter_of(self, bot_id: str) -> FactCounter | None:
        return self.engines.get(bot_id)

    # what every gate has (kernel.gate.OrderGate); unused here
    trading_state = "ACTIVE"
    risk_multiplier = 1.0


def beat(bot_id: str) -> Heartbeat:
    return Heartbeat(bot_id=bot_id, seq=1, ts=1.0, uptime_s=1.0, equity=1.0,
                     realized_pnl=0.0, unrealized_pnl=0.0)


def update(bot_id: str) -> OrderUpdate:
    return OrderUpdate(request_id="u", status="cancelled", ts=1.0, bot_id=bot_id)


def order(bot_id: str) -> OrderRequest:
    return OrderRequest(request_id=f"{bot_id}-1", bot_id=bot_id, ts=1.0, symbol="BTCUSDT",
                        side="buy", qty=0.001, price=50_000.0)


def test_the_one_engine_is_compared_with_every_fact_sent_since_it_was_installed() -> None:
    facts, engine = FactsBehind(), Engine()
    facts.count(beat("qe"), now=NOW)  # before the engine: not its to take
    facts.installed(engine)  # type: ignore[arg-type]
    facts.count(beat("qe"), now=NOW)
    facts.count(update("qe"), now=NOW)
    assert facts.ahead(order("qe"), 2.0) is not None and facts.behind() == 2
    engine.facts_taken = 2
    assert facts.ahead(order("qe"), 2.0) is None


def test_in_a_fleet_each_bot_is_compared_with_its_own_engine_alone() -> None:
    a, b = Engine(), Engine()
    facts = FactsBehind()
    facts.installed(Fleet(a=a, b=b))  # type: ignore[arg-type]
    assert facts.ahead(order("a"), 1.0) is None and facts.ahead(order("b"), 1.0) is None
    for message in (beat("a"), update("a"), beat("b"), Fill(
            request_id="f", symbol="BTCUSDT", side="buy", qty=0.001, price=50_000.0,
            fee=0.0, ts=1.0, bot_id="b")):
        facts.count(message, now=NOW)
    a.facts_taken = 2  # a's engine took both of a's; b's engine took none of b's
    assert facts.ahead(order("a"), 2.0) is None
    ahead = facts.ahead(order("b"), 2.0)
    assert ahead is not None and (ahead.facts, ahead.bot_id, ahead.request_id) == (
        2, "b", "b-1")


def test_a_restarted_engine_is_compared_from_its_first_order_and_a_missing_one_not() -> None:
    a = Engine()
    fleet = Fleet(a=a)
    facts = FactsBehind()
    facts.installed(fleet)  # type: ignore[arg-type]
    facts.count(beat("a"), now=NOW)
    assert facts.behind_of("a") == 1
    fleet.engines["a"] = again = Engine()  # a fresh instance: it restored its state
    assert facts.behind_of("a") == 0
    facts.count(beat("a"), now=NOW)
    assert facts.behind_of("a") == 1
    again.facts_taken = 1
    assert facts.behind_of("a") == 0
    del fleet.engines["a"]  # not running: its orders are denied without counting
    assert facts.ahead(order("a"), 3.0) is None


class Taker(Engine):
    """Takes the facts it is offered unless told to leave them to the bus."""

    def __init__(self, *, refuse: int = 0) -> None:
        super().__init__()
        self.refuse = refuse
        self.offers: list[str] = []

    def take_fact(self, fact: Heartbeat | Fill | OrderUpdate, now: float) -> bool:
        self.offers.append(f"{type(fact).__name__}@{now}")
        if self.refuse:
            self.refuse -= 1
            return False
        self.facts_taken += 1
        return True


def send(facts: FactsBehind, fact: Heartbeat | OrderUpdate, now: float) -> None:
    """What the gateway does with a fact: journal it (here: nothing), then count it,
    which offers it to the gate when the gate has caught up."""
    facts.count(fact, now=now)


def test_a_fact_is_offered_when_every_earlier_one_was_taken_at_its_rows_time() -> None:
    facts, engine = FactsBehind(), Taker()
    facts.installed(engine)  # type: ignore[arg-type]
    send(facts, beat("qe"), 1.5)
    send(facts, update("qe"), 2.5)
    assert engine.offers == ["Heartbeat@1.5", "OrderUpdate@2.5"]
    assert (facts.offered, facts.taken, facts.behind()) == (2, 2, 0)
    assert facts.ahead(order("qe"), 3.0) is None


def test_once_a_fact_is_left_to_the_bus_the_later_ones_wait_until_caught_up() -> None:
    facts, engine = FactsBehind(), Taker(refuse=1)
    facts.installed(engine)  # type: ignore[arg-type]
    send(facts, beat("qe"), 1.0)  # refused: the bus way
    send(facts, update("qe"), 2.0)  # behind: not offered
    assert engine.offers == ["Heartbeat@1.0"] and facts.behind() == 2
    ahead = facts.ahead(order("qe"), 2.5)
    assert ahead is not None and ahead.facts == 2  # the ahead row, as before
    engine.facts_taken = 2  # the engine took both from the bus
    send(facts, update("qe"), 3.0)
    assert engine.offers[-1] == "OrderUpdate@3.0" and facts.behind() == 0


def test_a_count_beyond_what_was_sent_offers_nothing() -> None:
    facts, engine = FactsBehind(), Taker()
    facts.installed(engine)  # type: ignore[arg-type]
    engine.facts_taken = 1  # a fact from elsewhere: the gateway cannot place it
    send(facts, beat("qe"), 1.0)
    assert engine.offers == [] and facts.ahead(order("qe"), 1.0) is None


def test_a_gate_that_does_not_take_facts_is_never_offered_one() -> None:
    facts, engine = FactsBehind(), Engine()
    facts.installed(engine)  # type: ignore[arg-type]
    assert not facts.caught_up(beat("qe"))
    send(facts, beat("qe"), 1.0)
    assert facts.offered == 0 and facts.behind() == 1


class FleetTaker(Fleet):
    def take_fact(self, fact: Heartbeat | Fill | OrderUpdate, now: float) -> bool:
        engine = self.engines.get(fact.bot_id)
        return isinstance(engine, Taker) and engine.take_fact(fact, now)


def test_in_a_fleet_a_bot_behind_does_not_hold_up_another_bots_facts() -> None:
    a, b = Taker(refuse=1), Taker()
    facts = FactsBehind()
    facts.installed(FleetTaker(a=a, b=b))  # type: ignore[arg-type]
    send(facts, beat("a"), 1.0)  # refused: a is behind
    send(facts, beat("a"), 2.0)  # waits
    send(facts, beat("b"), 3.0)  # b's engine has taken all of b's
    assert (a.offers, b.offers) == (["Heartbeat@1.0"], ["Heartbeat@3.0"])
    assert facts.behind_of("a") == 2 and facts.behind_of("b") == 0


def test_a_count_started_over_is_compared_from_then_on() -> None:
    """A fact's copy dropped on the way leaves the gateway's count ahead for good; the
    engine starts its count over (``facts_epoch``) and the gateway compares from then
    on, so facts are offered on the path again."""
    facts, engine = FactsBehind(), Taker(refuse=1)
    facts.installed(engine)  # type: ignore[arg-type]
    send(facts, beat("qe"), 1.0)  # refused: the bus way...
    send(facts, update("qe"), 2.0)  # ...and this one's copy is dropped
    engine.facts_taken = 1
    send(facts, update("qe"), 3.0)
    assert facts.behind() == 2 and engine.offers == ["Heartbeat@1.0"]  # stuck
    engine.facts_epoch += 1  # the engine's inbox dropped frames: a new fence
    send(facts, update("qe"), 4.0)
    assert engine.offers[-1] == "OrderUpdate@4.0" and facts.behind() == 0


def test_in_a_fleet_a_bots_count_started_over_is_compared_from_then_on() -> None:
    a = Engine()
    facts = FactsBehind()
    facts.installed(Fleet(a=a))  # type: ignore[arg-type]
    facts.count(beat("a"), now=NOW)
    facts.count(update("a"), now=NOW)
    a.facts_taken = 1  # the other's copy was dropped
    assert facts.behind_of("a") == 1
    a.facts_epoch = 1
    assert facts.behind_of("a") == 0
    facts.count(beat("a"), now=NOW)
    assert facts.behind_of("a") == 1


def test_facts_still_queued_for_the_engine_at_its_start_are_in_the_ahead_row() -> None:
    """The count starts when the gate opens; the facts sent before it and still queued
    in the engine's inbox then (``facts_queued``) are journaled as not yet taken too,
    and offering facts on the path is left as it was (the first offer is the fence)."""
    facts, engine = FactsBehind(), Engine()
    facts.count(beat("qe"), now=NOW)
    facts.count(beat("qe"), now=NOW)
    engine.facts_queued = 2  # both still in the engine's inbox as it opened its gate
    facts.installed(engine)  # type: ignore[arg-type]
    assert facts.behind() == 0  # what offering on the path goes by: as before
    row = facts.ahead(order("qe"), 2.0)
    assert row is not None and row.facts == 2
    facts.count(beat("qe"), now=NOW)  # the fence, by the bus
    row = facts.ahead(order("qe"), 2.0)
    assert row is not None and row.facts == 3
    engine.facts_queued = 0
    engine.facts_taken = 1
    assert facts.ahead(order("qe"), 2.0) is None


def test_in_a_fleet_a_bots_facts_queued_at_its_engines_start_are_its_own() -> None:
    a, b = Engine(), Engine()
    facts = FactsBehind()
    facts.installed(Fleet(a=a, b=b))  # type: ignore[arg-type]
    a.facts_queued = 3
    row = facts.ahead(order("a"), 1.0)
    assert row is not None and (row.facts, row.bot_id) == (3, "a")
    assert facts.ahead(order("b"), 1.0) is None
    assert facts.ahead(order("c"), 1.0) is None  # no engine of its own: cannot tell
