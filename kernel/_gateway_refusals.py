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

from dataclasses import dataclass
from typing import Final

REFUSALS_JOURNALED_PER_S: Final = 20.0
"""As many as the anomalies of one kind itemised a second (``kernel/_gateway_faults.py``)."""


@dataclass(slots=True)
class RefusalQuota:
    """A token bucket of refusals to journal: O(1) per refusal, time passed in."""

    per_s: float = REFUSALS_JOURNALED_PER_S
    tokens: float = REFUSALS_JOURNALED_PER_S
    ts: float = 0.0
    unjournaled: int = 0
    """Refusals answered without journal rows since the gateway started."""

    def journal(self, now: float) -> bool:
        """True: journal this refusal in full; False: answer it and only count it."""
        tokens = min(self.per_s, self.tokens + max(0.0, now - self.ts) * self.per_s)
        self.ts = now
        if tokens < 1.0:
            self.tokens = tokens
            self.unjournaled += 1
            return False
        self.tokens = tokens - 1.0
        return True
