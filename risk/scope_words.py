"""What a fleet's decisions and halts say about their scope, in one place.

The live fleet (``agents.risk.fleet``, ``agents.risk.actor``) and its replay
(``risk.rerun_fleet``) must word them alike, or a replay would report a reason
that differs where the decision does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from risk.decision import Decision, deny

_PORTFOLIO_SCOPES = ("portfolio:", "account:")


def scoped(decision: Decision, bot_id: str) -> Decision:
    """A fleet engine's DENY names its scope: ``bot:ID:`` unless it is the portfolio's
    or an account's, which name theirs already."""
    if decision.allowed or decision.reason.startswith(_PORTFOLIO_SCOPES):
        return decision
    return msgspec.structs.replace(decision, reason=f"bot:{bot_id}: {decision.reason}")


def unloaded(missing: Sequence[str]) -> Decision:
    """The portfolio's answer while a bot's ledger is not loaded (its engine is not
    running): the sums across bots would leave it out, so no opening order passes."""
    return deny("portfolio_gross_limit", f"portfolio: the ledger of bot {', '.join(missing)} "
                "is not loaded (its risk engine is not running), so the sums across bots are "
                "unknown; opening orders are refused until it is")


def halt_text(reading_text: str, scope: str) -> str:
    """Why a bot halts for a portfolio limit reached in ``scope``, and how it ends."""
    return (f"{reading_text}: reached, so every bot of {scope} halts until the day rollover "
            "(or kernel resume)")
