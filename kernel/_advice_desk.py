"""Control-socket actions of the LLM layer: set the risk multiplier, ask the moderator now.

Like the operator desk, the kernel does not act itself: it journals the request
durably (who and why) and publishes it for the actor that owns the matter, the
risk engine for the multiplier and the moderator for a moderation. The reply
says the request was recorded and handed over.
"""

from __future__ import annotations

from collections.abc import Callable

from kernel.control import ControlServer
from kernel.control_protocol import ActionAccepted, ModeratorAskRequest, RiskMultiplierRequest
from kernel.emitter import Emitter
from kernel.events import ModerationRequested, RiskMultiplierChangeRequested


def register_advice_requests(control: ControlServer, emitter: Emitter,
                             clock: Callable[[], float]) -> None:
    """Install the handlers of :class:`RiskMultiplierRequest` and :class:`ModeratorAskRequest`."""

    async def risk_multiplier(request: RiskMultiplierRequest) -> ActionAccepted:
        seq = await emitter.emit_durable(RiskMultiplierChangeRequested(
            value=request.value, requested_by=f"operator:{request.user}", reason=request.reason,
            ts=clock()))
        return ActionAccepted(action="risk_multiplier", seq=seq, detail=(
            f"risk multiplier {request.value:g} requested (journal #{seq}); the risk engine "
            "sets it if it is within the risk.yaml bounds"))

    async def moderator_ask(request: ModeratorAskRequest) -> ActionAccepted:
        seq = await emitter.emit_durable(ModerationRequested(
            request_id=request.request_id, requested_by=f"operator:{request.user}",
            reason=request.reason, ts=clock()))
        return ActionAccepted(action="moderator_ask", seq=seq, detail=(
            f"moderation {request.request_id} requested (journal #{seq})"))

    control.register(RiskMultiplierRequest, risk_multiplier)
    control.register(ModeratorAskRequest, moderator_ask)
