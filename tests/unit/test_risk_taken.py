"""The risk engine's side of facts taken on the gateway's path (``take_fact``,
agents/risk/_taken.py): the fence, the pure result or nothing, the bus copies
recognised. The kernel's side: tests/unit/test_gateway_facts.py; end to end:
tests/integration/test_facts_on_path.py."""

from __future__ import annotations

import msgspec

from agents.risk._taken import Arrival, TakenFacts
from agents.risk.actor import RiskEngine
from agents.risk.slice import RiskSlice
from bus.codec import Header, encode
from bus.protocol import Fill, Heartbeat, OrderUpdate
from bus.pubsub import BusFrame
from risk import apply_fill, apply_heartbeat, apply_order_update, decide
from tests.unit.risk.risk_world import MARKS, NOW, fill, heartbeat, limits, order, ready

LIMITS = limits()
HELD = {"BTCUSDT": (0.1, 50_000.0)}


def engine(**state_fields: object) -> RiskEngine:
    """An engine past its fence, on a ready state (no kernel: ``take_fact`` needs none)."""
    made = RiskEngine(config=RiskSlice(limits=LIMITS))
    made._state = ready(LIMITS, **state_fields)  # type: ignore[arg-type]
    fence = beat(NOW + 0.5)
    assert not made.take_fact(fence, NOW + 0.5)  # the first offer after a start
    assert made._taken.arrived(fence) is Arrival.COUNTED
    made.facts_taken += 1
    return made


def beat(ts: float, equity: float = 10_000.0, **fields: object) -> Heartbeat:
    return heartbeat(equity, ts=ts, tick_ts=ts, **fields)  # type: ignore[arg-type]


def cancelled(request_id: str, ts: float) -> OrderUpdate:
    return OrderUpdate(request_id=request_id, status="cancelled", ts=ts, remaining_qty=0.01)


def test_the_first_fact_offered_after_a_start_is_the_fence() -> None:
    taken = TakenFacts()
    early, fence, later = beat(NOW), beat(NOW + 1), beat(NOW + 2)
    assert not taken.may_take(fence) and not taken.may_take(later)  # still the first
    assert taken.arrived(early) is Arrival.BEFORE_FENCE  # queued while it started
    assert taken.arrived(fence) is Arrival.COUNTED
    assert taken.may_take(later)
    taken.restart()
    assert not taken.may_take(later)


def test_a_bus_copy_of_a_taken_fact_is_recognised_by_value_and_dropped_copies_skipped() -> None:
    taken, fence = TakenFacts(), beat(NOW)
    taken.may_take(fence)
    taken.arrived(fence)
    one, two, three = beat(NOW + 1), beat(NOW + 2), beat(NOW + 3)
    for fact in (one, two, three):
        taken.took(fact)
    copy = msgspec.msgpack.decode(msgspec.msgpack.encode(one), type=Heartbeat)
    assert copy is not one and taken.arrived(copy) is Arrival.TAKEN
    assert taken.arrived(beat(NOW + 9)) is Arrival.COUNTED  # from elsewhere: applied
    assert taken.arrived(three) is Arrival.TAKEN and len(taken) == 0  # two's copy lost


def test_a_taken_fact_moves_the_state_as_the_pure_rule_does_at_the_given_time() -> None:
    made = engine(positions=HELD)
    before = made.state
    f = fill(qty=0.02)
    assert made.take_fact(f, NOW + 3) and made.facts_taken == 2
    assert made.state == apply_fill(before, f, LIMITS, NOW + 3)[0]
    update = cancelled("r-gone", NOW + 4)
    after_fill = made.state
    assert made.take_fact(update, NOW + 4)
    assert made.state == apply_order_update(after_fill, update, NOW + 4)[0]


def test_a_fact_whose_result_has_events_is_left_to_the_bus_unapplied() -> None:
    made = engine(positions=HELD)
    before = made.state
    loss = beat(NOW + 1, 9_650.0, positions=HELD, marks={**MARKS, "BTCUSDT": 46_500.0})
    assert apply_heartbeat(before, loss, LIMITS, NOW + 1)[1]  # a trip: events
    assert not made.take_fact(loss, NOW + 1)
    assert made.state is before and made.facts_taken == 1 and len(made._taken) == 0


def test_a_heartbeat_is_left_to_the_bus_while_a_close_is_to_be_asked_again() -> None:
    made = engine()
    made._resend_close = True  # a close asked before a restart, still unconfirmed
    assert not made.take_fact(beat(NOW + 1), NOW + 1)
    assert made.take_fact(cancelled("r-x", NOW + 1), NOW + 1)  # other facts still go


def test_decisions_on_facts_taken_on_the_path_are_the_pure_sequences() -> None:
    """The same frames, in the journal's order: the engine taking facts on the path
    decides every order as the pure rules applied in that order do (what the bus way
    does when caught up, and what ``kernel replay`` does)."""
    made = engine()
    state = made.state
    frames: list[object] = []
    for i in range(6):
        t = NOW + 1 + i
        frames += [beat(t), order(request_id=f"o{i}"), fill(qty=0.01, request_id=f"o{i}"),
                   cancelled(f"o{i}", t + 0.5)]
    for i, frame in enumerate(frames):
        now = NOW + 1 + i * 0.25
        if isinstance(frame, Heartbeat):
            assert made.take_fact(frame, now)
            state, _ = apply_heartbeat(state, frame, LIMITS, now)
        elif isinstance(frame, OrderUpdate):
            assert made.take_fact(frame, now)
            state, _ = apply_order_update(state, frame, now)
        elif hasattr(frame, "side") and hasattr(frame, "leverage"):
            live = made.decide(frame, now)  # type: ignore[arg-type]
            pure, state = decide(frame, state, LIMITS, now)  # type: ignore[arg-type]
            assert (live.verdict, live.code, live.reason) == \
                ("ALLOW" if pure.allowed else "DENY", pure.code, pure.reason)
        else:
            assert made.take_fact(frame, now)  # type: ignore[arg-type]
            state, _ = apply_fill(state, frame, LIMITS, now)  # type: ignore[arg-type]
        assert made.state == state


def test_after_frames_were_dropped_the_count_starts_over_at_a_new_fence() -> None:
    """The old fence, or a fact counted before, may never come back (dropped): the
    engine refuses the next offer as its new fence, applies what comes before it
    uncounted, and recognises the copies of facts it took on the path all along."""
    made = engine()
    on_path = cancelled("x", NOW + 1)
    assert made.take_fact(on_path, NOW + 1)
    epoch, counted = made.facts_epoch, made.facts_taken
    made.frames_dropped(3)
    assert made.facts_epoch == epoch + 1
    fence = beat(NOW + 3)
    assert not made.take_fact(fence, NOW + 3)  # the new fence: the bus way
    assert made._taken.arrived(on_path) is Arrival.TAKEN  # its copy, still queued
    assert made._taken.arrived(beat(NOW + 2)) is Arrival.BEFORE_FENCE
    assert made._taken.arrived(fence) is Arrival.COUNTED
    assert made.take_fact(beat(NOW + 4), NOW + 4) and made.facts_taken == counted + 1


def test_two_equal_replayed_fills_still_queued_are_each_recognised_once() -> None:
    """Two partial fills of one order can be equal by value (same quantity, price and
    time). The restore replayed both; both copies still queued are recognised, and a
    third equal fill (a new one, sent after the restore read the journal) is applied."""
    taken, twin = TakenFacts(), fill(qty=0.01)
    taken.restart([twin, twin])
    assert taken.arrived(twin) is Arrival.REPLAYED
    assert taken.arrived(twin) is Arrival.REPLAYED  # was BEFORE_FENCE: booked twice
    assert taken.arrived(twin) is Arrival.BEFORE_FENCE


def test_a_fence_equal_to_a_taken_fact_whose_copy_was_dropped_is_applied() -> None:
    """Two equal partial fills: the first taken on the path, its copy dropped from the
    inbox; the second, offered after the drop, is the new fence. Its arrival is the
    fence, applied and counted (it was taken for the dropped copy: the fill was lost,
    and no fact was taken on the path again)."""
    taken, fence, twin = TakenFacts(), beat(NOW), fill(qty=0.01)
    taken.may_take(fence)
    taken.arrived(fence)
    taken.took(twin)
    taken.refence()  # the copy of twin was among the frames dropped
    assert not taken.may_take(twin)  # the second fill: the new fence
    assert taken.arrived(twin) is Arrival.COUNTED
    assert taken.may_take(beat(NOW + 1))


def test_a_copy_equal_to_the_fence_arriving_before_it_applies_the_same_facts() -> None:
    """The other order: the copy of the first fill arrives (not dropped), then the
    equal fence. The copy counts as the fence and the fence as the copy: one fill
    applied on the path and one over the bus, as two were."""
    taken, fence, twin = TakenFacts(), beat(NOW), fill(qty=0.01)
    taken.may_take(fence)
    taken.arrived(fence)
    taken.took(twin)
    taken.refence()
    assert not taken.may_take(twin)
    assert taken.arrived(twin) is Arrival.COUNTED
    assert taken.arrived(twin) is Arrival.TAKEN and len(taken) == 0


def counting() -> TakenFacts:
    """Past its fence, each fact arriving as the very object sent (``as_sent``)."""
    taken, fence = TakenFacts(), beat(NOW)
    taken.may_take(fence)
    assert taken.arrived(fence, as_sent=True) is Arrival.COUNTED
    return taken


def twins() -> tuple[Fill, Fill]:
    """Two partial fills of one order, equal by value, each its own message."""
    one = fill(qty=0.01, request_id="buy-1")
    return one, msgspec.msgpack.decode(msgspec.msgpack.encode(one), type=Fill)


def test_as_sent_a_copy_is_the_very_object_taken_and_an_equal_fact_is_another() -> None:
    """The bug of the by-value rule: the first fill's copy dropped, a later equal fill
    over the bus was taken for it and never applied. By identity it is applied."""
    taken = counting()
    first, second = twins()
    taken.took(first)  # its copy dropped on the way
    assert second == first and second is not first
    assert taken.arrived(second, as_sent=True) is Arrival.COUNTED
    assert len(taken) == 1  # the dropped copy's entry waits for a later copy or the fence
    later = cancelled("r-later", NOW + 2)
    taken.took(later)
    assert taken.arrived(later, as_sent=True) is Arrival.TAKEN and len(taken) == 0


def test_as_sent_a_copy_behind_others_proves_those_dropped() -> None:
    taken = counting()
    one, two, three = beat(NOW + 1), beat(NOW + 2), beat(NOW + 3)
    for fact in (one, two, three):
        taken.took(fact)
    assert taken.arrived(one, as_sent=True) is Arrival.TAKEN
    assert taken.arrived(beat(NOW + 2), as_sent=True) is Arrival.COUNTED  # equal, not two
    assert taken.arrived(three, as_sent=True) is Arrival.TAKEN and len(taken) == 0


def test_as_sent_the_fence_clears_every_copy_still_queued() -> None:
    """The fence was sent after every fact taken before it: a copy still queued when
    it arrives was dropped. An equal fill after it is applied, counted."""
    taken = counting()
    first, second = twins()
    taken.took(beat(NOW + 1))
    taken.took(first)
    taken.refence()  # both copies dropped
    fence = beat(NOW + 3)
    assert not taken.may_take(fence)
    assert taken.arrived(fence, as_sent=True) is Arrival.COUNTED and len(taken) == 0
    assert taken.arrived(second, as_sent=True) is Arrival.COUNTED
    assert taken.may_take(beat(NOW + 4))


def test_as_sent_a_fence_equal_to_a_dropped_copys_fact_is_the_fence() -> None:
    taken = counting()
    first, second = twins()
    taken.took(first)
    taken.refence()
    assert not taken.may_take(second)
    assert taken.arrived(second, as_sent=True) is Arrival.COUNTED and len(taken) == 0


def test_replayed_fills_are_still_recognised_by_value_as_sent() -> None:
    """The restore's rows and the inbox's copies are different objects: by value."""
    taken = TakenFacts()
    row, copy = twins()
    taken.restart([row])
    assert taken.arrived(copy, as_sent=True) is Arrival.REPLAYED
    assert taken.arrived(copy, as_sent=True) is Arrival.BEFORE_FENCE


def frame(message: Heartbeat | Fill | OrderUpdate, *, as_sent: bool = True) -> BusFrame:
    """An inbox frame: the message itself (sent in the kernel) or its payload alone."""
    return BusFrame(message.topic, encode(message), Header("kernel"),
                    message if as_sent else None)


def test_the_facts_queued_at_the_gates_opening_count_down_until_the_fence() -> None:
    """Counted as the gate opens: the heartbeats, fills and updates of this bot waiting
    in the inbox, decoded when sent from elsewhere, but the fills the restore replayed;
    one fewer as each arrives, none from the fence on."""
    replayed = fill()
    other = msgspec.structs.replace(beat(NOW + 1), bot_id="other")
    queued: list[Heartbeat | Fill | OrderUpdate] = [beat(NOW), replayed, other, beat(NOW + 2)]
    taken = TakenFacts()
    taken.restart([replayed])
    inbox = [frame(queued[0]), frame(queued[1]), frame(queued[2]),
             frame(queued[3], as_sent=False),
             BusFrame("risk.state", b"\x80", Header("kernel"))]
    taken.count_queued(inbox, lambda fact: getattr(fact, "bot_id", "") != "other")
    assert taken.queued == 2
    fence = beat(NOW + 3)
    assert not taken.may_take(fence)
    assert taken.arrived(queued[0], as_sent=True) is Arrival.BEFORE_FENCE
    assert taken.arrived(queued[1], as_sent=True) is Arrival.REPLAYED
    assert taken.queued == 1
    assert taken.arrived(fence, as_sent=True) is Arrival.COUNTED  # the last one was lost
    assert taken.queued == 0
    taken.restart()
    taken.count_queued([frame(beat(NOW + 4))], lambda fact: True)
    assert taken.queued == 1
    taken.refence()
    assert taken.queued == 0
