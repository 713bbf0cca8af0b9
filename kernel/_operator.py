"""The operator's actions over the control socket: halt, resume, close all, mode, stop.

The kernel does not act on them itself: it journals each request durably
(who, from which account, and why) and publishes it for the actor that owns the
matter, the risk engine for the trading state and the watchdog for the mode.
For halt, resume and close all the reply waits for the risk engine's journaled
answer (``kernel/_answers.py``): applied, refused with the reason, or plainly
unanswered. A mode change is answered once handed to the watchdog, which
restarts the bot in it. A stop is journaled as the kernel's ``stopping`` state,
with who and why, and answered before the kernel stops in order, as on Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from kernel._answers import answered, ask_engine, new_request_id
from kernel.control_protocol import (
    ActionAccepted,
    ActionAnswered,
    CloseAllRequest,
    EngineRequest,
    HaltRequest,
    ModeRequest,
    ResumeRequest,
    StopRequest,
)
from kernel.emitter import Emitter
from kernel.events import KernelStateChanged, ModeChangeRequested, OperatorCommandIssued


class StopKernel(Protocol):
    def __call__(self, reason: str, *, journaled: bool) -> None: ...


class OperatorDesk:
    def __init__(self, emitter: Emitter, clock: Callable[[], float],
                 on_mode: Callable[[str], None], on_stop: StopKernel) -> None:
        self._emitter = emitter
        self._clock = clock
        self._on_mode = on_mode
        self._on_stop = on_stop

    async def halt(self, request: HaltRequest) -> ActionAnswered:
        return await self._command("halt", request)

    async def resume(self, request: ResumeRequest) -> ActionAnswered:
        return await self._command("resume", request, confirmed=request.confirmed)

    async def close_all(self, request: CloseAllRequest) -> ActionAnswered:
        return await self._command("close_all", request)

    async def mode(self, request: ModeRequest) -> ActionAccepted:
        seq = await self._emitter.emit_durable(ModeChangeRequested(
            mode=request.mode, requested_by=f"operator:{request.user}", reason=request.reason,
            ts=self._clock()))
        self._on_mode(request.mode)
        return ActionAccepted(action="mode", seq=seq,
                              detail=f"mode {request.mode} requested; the watchdog restarts "
                                     "the bot in it (off stops the bot)")

    async def stop(self, request: StopRequest) -> ActionAccepted:
        reason = f"stop requested by operator:{request.user}: {request.reason}"
        seq = await self._emitter.emit_durable(KernelStateChanged(
            state="stopping", ts=self._clock(), reason=reason))
        self._on_stop(reason, journaled=True)
        return ActionAccepted(action="stop", seq=seq,
                              detail="the kernel is stopping: the bot first, then the journal")

    async def _command(self, action: Literal["halt", "resume", "close_all"],
                       request: EngineRequest, *, confirmed: bool = False) -> ActionAnswered:
        request_id = new_request_id()
        seq, answer = await ask_engine(self._emitter, OperatorCommandIssued(
            action=action, reason=request.reason, user=request.user, ts=self._clock(),
            confirmed=confirmed, request_id=request_id),
            request_id=request_id, wait_s=request.wait_s)
        return answered(request, action, seq, request_id, answer)
