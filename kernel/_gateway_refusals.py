"""How many refused orders a second are journaled in full, so a flood of them stays cheap.

An order the gateway refuses before any engine sees it (``identity_mismatch``: a link
that never said hello, or one naming another bot; ``invalid_request``: an order that
does not decode) is answered DENY at once either way. Journaling each one costs a
request row and a decision row, and puts both on the bus for every actor that follows
orders (the auditor opens a window per claimed bot id): a link sending them as fast as
it can made each cost three times an allowed order, and filled the journal with rows
that say the same thing. So the first :data:`REFUSALS_JOURNALED_PER_S` refusals a
second (shared by every link) are journaled and published like any decision; beyond
that the DENY is sent without rows, and the refusal is counted in the gateway's
rate-limited anomaly of its kind (``identity_mismatch``, ``invalid_request``), whose
detail says how many were not itemised. A DENY the journal does not hold is safe: the
bot acts on nothing (docs/architecture.md, "Bounded memory under a flood").
"""

from __future__ import annotations

from typing import Final

from kernel._gateway_sessions import LinkBudget

REFUSALS_JOURNALED_PER_S: Final = 20.0
"""As many as the anomalies of one kind itemised a second (``kernel/_gateway_faults.py``)."""


def refusal_quota() -> LinkBudget:
    """A token bucket of refusals to journal, a second's worth deep: ``spend`` True,
    journal this refusal in full; False, answer it and only count it (``refused``:
    refusals answered without journal rows since the gateway started)."""
    return LinkBudget(per_s=REFUSALS_JOURNALED_PER_S, burst=REFUSALS_JOURNALED_PER_S,
                      tokens=REFUSALS_JOURNALED_PER_S)
