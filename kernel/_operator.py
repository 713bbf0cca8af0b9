"""The operator's actions over the control socket: halt, resume, close all, mode.

The kernel does not act on them itself: it journals each request durably
(who, from which account, and why) and publishes it for the actor that owns the
matter, the risk engine for the trading state and the watchdog for the mode.
The reply says the action was recorded and handed over, and to whom.
"""

from __future__ import annotations

from collections.abc import Callable

from kernel.control_protocol import (
    ActionAccepted,
    CloseAllRequest,
    HaltRequest,
    ModeRequest,
    OperatorRequest,
    ResumeRequest,
)
from kernel.emitter import Emitter
from kernel.events import ModeChangeRequested, OperatorCommandIssued


class OperatorDesk:
    def __init__(self, emitter: Emitter, clock: Callable[[], float],
                 on_mode: Callable[[str], None]) -> None:
        self._emitter = emitter
        self._clock = clock
        self._on_mode = on_mode

    async def halt(self, request: HaltRequest) -> ActionAccepted:
        return await self._command("halt", request)

    async def resume(self, request: ResumeRequest) -> ActionAccepted:
        return await self._command("resume", request, confirmed=request.confirmed)

    async def close_all(self, request: CloseAllRequest) -> ActionAccepted:
        return await self._command("close_all", request)

    async def mode(self, request: ModeRequest) -> ActionAccepted:
        seq = await self._emitter.emit_durable(ModeChangeRequested(
            mode=request.mode, requested_by=f"operator:{request.user}", reason=request.reason,
            ts=self._clock()))
        self._on_mode(request.mode)
        return ActionAccepted(action="mode", seq=seq,
                              detail=f"mode {request.mode} requested; the watchdog restarts "
                                     "the bot in it (off stops the bot)")

    async def _command(self, action: str, request: OperatorRequest, *,
                       confirmed: bool = False) -> ActionAccepted:
        assert action in ("halt", "resume", "close_all")
        seq = await self._emitter.emit_durable(OperatorCommandIssued(
            action=action,  # type: ignore[arg-type]
            reason=request.reason, user=request.user, ts=self._clock(), confirmed=confirmed))
        return ActionAccepted(action=action,  # type: ignore[arg-type]
                              seq=seq,
                              detail=f"{action} journaled as #{seq} and handed to the risk engine")
