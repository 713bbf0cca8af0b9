"""When the risk engine saves its state: at once, or on the timer.

A save is the whole state (with 10,000 open orders, their slices compared and
some written again, :mod:`agents.risk._parts`), encoded, hashed and committed on
the loop that decides orders, so the engine saves only when a restart could not
rebuild what changed (docs/risk.md, "When to save"):

- at once when a fact the journal cannot rebuild changed (:func:`facts`), or the
  ledger changed other than by fills the journal replays;
- within ``save_every_s`` of any other change (reservations, marks, fills the
  journal replays), and every ``refresh_every_s`` regardless.
"""

from __future__ import annotations

import math

from agents.risk._store import facts, ledger_of, marks_of
from risk import RiskState


class SaveRule:
    """What was last saved, and whether the state now must be saved."""

    def __init__(self, *, save_every_s: float, refresh_every_s: float) -> None:
        self._save_every_s = save_every_s
        self._refresh_every_s = refresh_every_s
        self._saved: tuple[tuple[object, ...], ...] | None = None
        """(:func:`facts`, :func:`ledger_of`, :func:`marks_of`) as last saved."""
        self._replayable: tuple[object, ...] | None = None
        """The ledger as replayable fills alone left it since the last save."""
        self._saved_at = -math.inf
        self.urgent = False
        """Whether the last save :meth:`due` asked for is one that must be appended at
        once (forced, the first, a fact or a ledger the journal cannot rebuild): its row
        then goes before any decision made on it, so the open orders' slices are not
        written first (``RiskEngine._save_if_due``)."""

    def due(self, state: RiskState, now: float, *, force: bool = False,
            replayable: bool = False) -> bool:
        """True, and ``state`` counts as saved from ``now``, when it must be saved.
        ``replayable``: the ledger moved by a fill the journal replays after the last
        save; the ledger it left is remembered, so a heartbeat after it (which moves
        no ledger) waits too."""
        key = (facts(state), ledger_of(state), marks_of(state))
        if replayable:
            self._replayable = key[1]
        saved = self._saved
        urgent = (force or saved is None or key[0] != saved[0]
                  or key[1] not in (saved[1], self._replayable))
        due = (urgent or saved is None or now - self._saved_at >= self._refresh_every_s
               or (key[1:] != saved[1:] and now - self._saved_at >= self._save_every_s))
        if due:
            self._saved, self._saved_at, self._replayable = key, now, None
            self.urgent = urgent
        return due
