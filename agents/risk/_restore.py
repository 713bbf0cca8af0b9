"""The risk engine's state at start: the newest save, what the journal holds beyond
it, and the restart's own checks; or HALTED when the save cannot be read.

A thin step over :mod:`agents.risk._store` (reading) and ``risk`` (the pure
``replay`` and ``after_restart``), kept out of the actor so the actor stays a
shell over its messages.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from agents.risk._store import RiskStore, SavedStateUnreadable
from bus.protocol import Fill, Message, OrderUpdate
from risk import RiskLimits, RiskState, after_restart, halt, initial_state, replay
from risk.messages import RiskAnomalyDetected

log = logging.getLogger("agents.risk")


class Restored(NamedTuple):
    state: RiskState
    events: list[Message]
    resend_close: bool
    """A ``close_all`` asked for before the restart is unconfirmed: ask the bot again
    once it is back."""
    replayed: list[Fill | OrderUpdate]
    """The fills and updates replayed from the journal (``TakenFacts.restart``)."""


async def restore(store: RiskStore, limits: RiskLimits, now: float) -> Restored:
    """The state to start from (docs/risk.md, "Persistence"). An unreadable newest
    save is never skipped for an older one (it could forget a halt) nor for a fresh
    state (it would reset the daily loss): the engine starts HALTED until a person
    resumes."""
    try:
        saved = await store.load()
    except SavedStateUnreadable as exc:
        log.critical("%s; trading halted until a person resumes", exc)
        state, events = halt(initial_state(limits, now),
                             f"{exc}; check the account by hand, then resume", now,
                             code="saved_state_unreadable", by="restart")
        return Restored(state, [RiskAnomalyDetected(kind="saved_state_unreadable",
                                                    detail=str(exc), ts=now), *events], False, [])
    if saved is None:
        return Restored(initial_state(limits, now), [], False, [])
    # what the journal holds beyond the save: orders allowed since (they may still
    # fill), their fills and updates, and those the save had not taken yet
    unseen = await store.unseen_facts()
    saved = replay(saved, unseen, limits)
    state, events = after_restart(saved, limits, now)
    return Restored(state, list(events), saved.close_requested_at is not None,
                    [f for _, f in unseen if isinstance(f, Fill | OrderUpdate)])
