"""Control-socket actions of the LLM layer: set the risk multiplier, ask the moderator now.

Like the operator desk, the kernel does not act itself: it journals the request
durably (who and why) and publishes it for the actor that owns the matter, the
risk engine for the multiplier and the moderator for a moderation. A multiplier
request waits for the risk engine's answer (applied, or refused with the reason:
``kernel/_answers.py``); a moderation's results are read from the journal by the
command that asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from kernel._answers import answered, ask_engine, new_request_id
from kernel._operator import UnknownBot, combined
from kernel.control import ControlServer
from kernel.control_protocol import (
    ActionAccepted,
    ActionAnswered,
    ModeratorAskRequest,
    RiskMultiplierRequest,
)
from kernel.emitter import Emitter
from kernel.events import ModerationRequested, RiskMultiplierChangeRequested


def register_advice_requests(control: ControlServer, emitter: Emitter,
                             clock: Callable[[], float], bots: Sequence[str] = ()) -> None:
    """Install the handlers of :class:`RiskMultiplierRequest` and :class:`ModeratorAskRequest`.
    ``bots``: a fleet's ids, which ``--bot`` must name (docs/fleet.md); without ``--bot``
    every bot's engine is asked and answers, and the reply is applied only when every
    bot applied it."""

    async def risk_multiplier(request: RiskMultiplierRequest) -> ActionAnswered:
        if request.bot_id and request.bot_id not in bots:
            raise UnknownBot(f"--bot {request.bot_id}: no such bot in paths.yaml `bots:` (has: "
                             f"{', '.join(bots) or 'none, the one-bot `bot:` shorthand'})")
        targets = [request.bot_id] if request.bot_id or not bots else list(bots)
        answers = await asyncio.gather(*(one_engine(request, b) for b in targets))
        return answers[0] if len(answers) == 1 else combined("risk_multiplier", targets,
                                                              answers)

    async def one_engine(request: RiskMultiplierRequest, bot_id: str) -> ActionAnswered:
        """Each engine of a fleet is asked apart, as a portfolio halt is, so every
        bot's answer is waited for and quoted, not only the first to come."""
        request_id = new_request_id()
        seq, answer = await ask_engine(emitter, RiskMultiplierChangeRequested(
            value=request.value, requested_by=f"operator:{request.user}", reason=request.reason,
            ts=clock(), request_id=request_id, bot_id=bot_id), request_id=request_id,
            wait_s=request.wait_s)
        return answered(request, "risk_multiplier", seq, request_id, answer)

    async def moderator_ask(request: ModeratorAskRequest) -> ActionAccepted:
        seq = await emitter.emit_durable(ModerationRequested(
            request_id=request.request_id, requested_by=f"operator:{request.user}",
            reason=request.reason, ts=clock()))
        return ActionAccepted(action="moderator_ask", seq=seq, detail=(
            f"moderation {request.request_id} requested"))  # the console adds the seq

    control.register(RiskMultiplierRequest, risk_multiplier)
    control.register(ModeratorAskRequest, moderator_ask)
