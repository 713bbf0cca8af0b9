"""Recent request ids answer from their index exactly what their fields answer.

The index (``risk.request_ids``) is shared along one line of states and only grows
at its head; these tests add ids along a line, branch off older states, add ids
again after they were forgotten, and restore saved states, and ask every id ever
seen (and some never seen) of every state kept, against the fields' own answer.
"""

from __future__ import annotations

import random

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.request_ids import RequestIds
from risk.state import RiskState


def plain(ids: RequestIds) -> RequestIds:
    """The same fields without an index: the answers of old."""
    return RequestIds(recent=ids.recent, chunks=ids.chunks)


def agree(ids: RequestIds, asked: list[str]) -> None:
    long_way = plain(ids)
    for request_id in asked:
        assert (request_id in ids) == (request_id in long_way), request_id


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([64, 100, 128, 300]))
def test_index_answers_as_the_fields_do(seed: int, capacity: int) -> None:
    rnd = random.Random(seed)
    seen: list[str] = ["never-1", "never-2"]
    line = [RequestIds()]
    for step in range(800):
        ids = line[-1] if rnd.random() < 0.9 else rnd.choice(line[-50:])  # a branch at times
        roll = rnd.random()
        if roll < 0.02:
            ids = msgspec.msgpack.decode(msgspec.msgpack.encode(ids), type=RequestIds)
        fresh = f"id-{step}"
        request_id = fresh if roll < 0.93 or len(seen) < 3 else rnd.choice(seen[2:])
        if request_id in plain(ids):  # the engine never adds an id it holds
            request_id = fresh
        ids = ids.add(request_id, capacity)
        seen.append(request_id)
        line.append(ids)
        if step % 100 == 0:
            asked = [*seen[:2], *seen[-450:], *rnd.sample(seen, min(len(seen), 50))]
            for kept in line[-40::3]:
                agree(kept, asked)
    for kept in line[-120::2]:
        agree(kept, seen)


def test_a_saved_state_restores_and_gets_an_index_at_its_next_id() -> None:
    ids = RequestIds()
    for i in range(200):
        ids = ids.add(f"r{i}", 128)
    state = msgspec.msgpack.decode(msgspec.msgpack.encode(RiskState(day="2024-05-01",
                                                                   request_ids=ids)),
                                   type=RiskState)
    restored = state.request_ids
    assert restored == ids and "_index" not in restored.__dict__
    assert "r199" in restored and "r10" not in restored and "r72" in restored
    grown = restored.add("r200", 128)
    assert "_index" in grown.__dict__
    agree(grown, [f"r{i}" for i in range(202)])


def test_an_id_held_twice_in_a_save_is_answered_from_the_fields() -> None:
    twice = RequestIds(recent=("a", "b"), chunks=(frozenset({"a", "c"}),))
    grown = twice.add("d", 4096)
    assert "_index" not in grown.__dict__
    agree(grown, ["a", "b", "c", "d", "e"])
