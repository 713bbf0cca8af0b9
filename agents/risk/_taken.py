"""Which facts the risk engine took on the gateway's path, so their bus copies are
not applied again, and from when its count of facts can be compared with the gateway's.

The gateway offers a fact (heartbeat, fill, order update) to the engine right
where it reads it, when the engine has taken every earlier one
(``kernel.gate.FactTaker``); the fact still goes to the bus, and its copy reaches
the engine's ``handle`` a loop turn later. An order update's copy is spared the
engine when the publisher still holds it (``bus.pubsub.Publisher.spare_last``): its
turn would do nothing but recognise it. The copy is the very object taken: the
gateway decoded the bot's frame once, emitted that message and offered it to the
engine, and the kernel's publisher hands the message itself to the engine's
subscription (``bus.pubsub.BusFrame.message``). So a copy is recognised by identity,
exactly: a fill equal by value to one taken (same order, quantity, price and time) is
another fill, and is applied. The copies arrive in the order the facts were taken,
behind any fact that went the bus way before them; a copy arriving with copies
queued before it proves those were dropped (the engine's inbox at its bound), and so
does every copy still queued when the fence arrives, as the fence was sent after
them all. A copy decoded from a payload (``ActorContext.as_sent`` False: should not
happen for facts the gateway took, which are all sent in the kernel) is recognised by
value, as before identity was at hand (:meth:`TakenFacts._by_value`).

The count starts at a fence. Frames the bus handed to the engine's subscription
while it was starting (before its gate opened) reach it after the gate opened, but
the gateway counted them under the engine before, or under none: had they been
counted, the engine would look caught up while they were still queued, and a fact
taken on the path would overtake them. So the first fact offered after a start is
refused and becomes the fence: the facts before it are applied uncounted, the
fence and everything after it are counted, and from the fence on the engine takes
facts on the path again. The gateway's count then matches the engine's exactly.

The facts before the fence still queued when the gate opened are counted apart
(:attr:`TakenFacts.queued`): the engine reads its own inbox as it opens its gate,
and each of them that arrives makes one fewer. Until they have all arrived, an order
is decided ahead of them, and the gateway journals so (``order.ahead``), so that
``kernel replay`` decides it on the facts the engine had taken, not on them all.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from enum import Enum

import msgspec

from bus.protocol import Fill, Heartbeat, Message, OrderUpdate
from bus.pubsub import BusFrame
from kernel.actor import nothing_spared
from kernel.gate import Fact
from kernel.messages import decode_message

_FACT_TOPICS = frozenset((Heartbeat.topic, Fill.topic, OrderUpdate.topic))


class Arrival(Enum):
    """What a fact's arrival over the bus means to the engine."""

    TAKEN = "taken"
    """Its copy: it was applied on the gateway's path; do only the rest of the turn."""
    COUNTED = "counted"
    """A fact to apply, counted in ``facts_taken``."""
    BEFORE_FENCE = "before_fence"
    """A fact sent before the engine's count began: applied, not counted."""
    REPLAYED = "replayed"
    """A fill or update sent before the count began that the restore has replayed
    already (it was journaled before the restore read the journal): not applied again."""


class TakenFacts:
    """The engine's facts taken on the path, oldest first, and its fence."""

    def __init__(self) -> None:
        self._taken: deque[Fact] = deque()
        self._fence: Fact | None = None
        self._counting = False
        self._spare: Callable[[Message], bool] = nothing_spared
        self._replayed: Counter[Fill | OrderUpdate] = Counter()
        """How many of each replayed fill and update may still come back: a count, not a
        set, as two partial fills of one order can be equal by value (same quantity,
        price and time), and each copy stands for one of them only."""
        self.queued = 0
        """Facts before the fence still queued in the engine's inbox when its gate opened
        (:meth:`count_queued`), one fewer as each arrives, 0 from the fence on."""
        self.last: Fact | None = None
        """The newest fact the engine applied (on the path or from the bus): facts are
        taken in the journal's order, so a save names it as the newest it holds, and a
        restore replays the fills and updates journaled after it (``RiskStore``)."""

    def restart(self, replayed: Iterable[Fill | OrderUpdate] = (), *,
                spare: Callable[[Message], bool] = nothing_spared) -> None:
        """A (re)start: nothing taken yet, and the count waits for a new fence.
        ``replayed``: the fills and updates the restore replayed; the engine's inbox
        may hold their copies too (it listens from before its restore read the
        journal), and those arrive before the fence. ``spare``: keeps the bus copy of
        the fact just sent from this engine, True when it did
        (``kernel.actor.ActorContext.spare_copy``)."""
        self._taken.clear()
        self._fence, self._counting, self.last, self.queued = None, False, None, 0
        self._replayed = Counter(replayed)
        self._spare = spare

    def refence(self) -> None:
        """Facts were lost on the way (frames dropped from the engine's inbox): the
        gateway's count stays ahead of the engine's for good, so the count starts over
        at a new fence, as after a start. The copies of facts taken on the path still
        queued are recognised as before; those dropped leave the queue when a later
        copy or the fence arrives (:meth:`_by_identity`)."""
        self._fence, self._counting, self.queued = None, False, 0

    def count_queued(self, inbox: Iterable[BusFrame], mine: Callable[[Message], bool]) -> None:
        """The engine opens its gate with ``inbox`` waiting (oldest first): count the
        facts in it that it will apply before the fence, every heartbeat, fill or
        update of its bot (``mine``) but the fills and updates the restore replayed.
        A frame without its message (from another process, or far down a long queue)
        is decoded here; one that cannot be is skipped, as the engine's turn skips it."""
        replayed, queued = Counter(self._replayed), 0
        for frame in inbox:
            if frame.topic not in _FACT_TOPICS:
                continue
            message = frame.message
            if message is None:
                try:
                    message = decode_message(frame.payload)
                except msgspec.DecodeError:
                    continue
            if not isinstance(message, Heartbeat | Fill | OrderUpdate) or not mine(message):
                continue
            if not isinstance(message, Heartbeat) and replayed[message] > 0:
                replayed[message] -= 1
                continue
            queued += 1
        self.queued = queued

    def may_take(self, fact: Fact) -> bool:
        """False until the fence has come back over the bus; the first fact offered
        before that becomes the fence (and goes the bus way)."""
        if self._counting:
            return True
        if self._fence is None:
            self._fence = fact
        return False

    def took(self, fact: Fact) -> None:
        """Wait for its copy, unless it is an order update whose copy was spared."""
        if not (isinstance(fact, OrderUpdate) and self._spare(fact)):
            self._taken.append(fact)
        self.last = fact

    def arrived(self, fact: Fact, *, as_sent: bool = False) -> Arrival:
        """Sort a fact the bus delivered; the copy of a taken one leaves the queue.
        Any other is about to be applied, and is the newest fact taken. ``as_sent``:
        ``fact`` is the object its emitter sent, not a decoded copy
        (``ActorContext.as_sent``), so copies are matched by identity."""
        arrival = self._by_identity(fact) if as_sent else self._by_value(fact)
        if arrival is None:
            arrival = self._applied(fact)
        if arrival is not Arrival.TAKEN:
            self.last = fact
        return arrival

    def _by_identity(self, fact: Fact) -> Arrival | None:
        """The fence or a taken fact's copy, each the very object; None for another
        fact. At the fence every copy still queued was dropped (sent before the fence);
        a copy found behind others in the queue, likewise those others."""
        taken = self._taken
        if not self._counting and fact is self._fence:
            taken.clear()
            self._fence, self._counting, self._replayed, self.queued = None, True, Counter(), 0
            return Arrival.COUNTED
        if taken:
            if taken[0] is fact:
                taken.popleft()
                return Arrival.TAKEN
            for index, copy in enumerate(taken):
                if copy is fact:
                    for _ in range(index + 1):
                        taken.popleft()
                    return Arrival.TAKEN
        return None

    def _by_value(self, fact: Fact) -> Arrival | None:
        """The rule for a decoded copy, which equals its fact but is not it. After drops
        a later fact equal by value to a taken one whose copy was dropped is taken for
        that copy and not applied: identity (:meth:`_by_identity`) has no such case.
        The fence is looked for before the taken copies: after drops, a taken fact
        whose copy was dropped can equal the fence (two equal partial fills), and the
        fence must be applied. Were it instead the copy arriving just before an equal
        fence, the fence then counts as that copy: the same facts applied, as often."""
        if not self._counting and self._fence is not None and fact == self._fence:
            self._fence, self._counting, self._replayed, self.queued = None, True, Counter(), 0
            return Arrival.COUNTED
        taken = self._taken
        if taken:
            if taken[0] == fact:
                taken.popleft()
                return Arrival.TAKEN
            if fact in taken:  # the copies before it were dropped (a subscriber behind)
                while taken.popleft() != fact:
                    pass
                return Arrival.TAKEN
        return None

    def _applied(self, fact: Fact) -> Arrival:
        """A fact neither the fence nor a copy: applied, counted from the fence on. Before
        it, a fill or update the restore replayed is skipped: the journal's rows and
        the inbox's copies are different objects, so that match stays by value."""
        if not self._counting:
            if not isinstance(fact, Heartbeat) and self._replayed[fact] > 0:
                self._replayed[fact] -= 1
                return Arrival.REPLAYED
            self.queued = max(0, self.queued - 1)
            return Arrival.BEFORE_FENCE
        return Arrival.COUNTED

    def __len__(self) -> int:
        return len(self._taken)
