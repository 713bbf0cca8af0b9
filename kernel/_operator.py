"""The operator's actions over the control socket: halt, resume, close all, mode, stop.

The kernel does not act on them itself: it journals each request durably
(who, from which account, and why) and publishes it for the actor that owns the
matter, the risk engine for the trading state and the watchdog for the mode.
For halt, resume and close all the reply waits for the risk engine's journaled
answer (``kernel/_answers.py``): applied, refused with the reason, or plainly
unanswered. A mode change is answered once handed to the watchdog, which
restarts the bot in it. A stop is journaled as the kernel's ``stopping`` state,
with who and why, and answered before the kernel stops in order, as on Ctrl-C.

In a fleet (``paths.yaml`` ``bots:``) ``--bot ID`` aims a command at one bot; without
it the command is the portfolio's: it goes to every bot's engine, each journaled and
answered apart (the latch, its reason and who lifted it are each bot's), and the reply
is applied only when every bot applied it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from kernel._answers import answered, ask_engine, new_request_id
from kernel.control_protocol import (
    ActionAccepted,
    ActionAnswered,
    CloseAllRequest,
    EngineAction,
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


class UnknownBot(Exception):
    """``--bot`` names no bot of this kernel's config."""


class OperatorDesk:
    def __init__(self, emitter: Emitter, clock: Callable[[], float],
                 on_mode: Callable[[str], None], on_stop: StopKernel,
                 bots: Sequence[str] = ()) -> None:
        self._emitter = emitter
        self._clock = clock
        self._on_mode = on_mode
        self._on_stop = on_stop
        self._bots = tuple(bots)
        """The fleet's bot ids; empty: the one-bot shorthand."""

    def _targets(self, bot_id: str) -> list[str]:
        """The engines a command goes to: [""] for the one bot, else bot ids."""
        if not bot_id:
            return list(self._bots) or [""]
        if not self._bots:
            raise UnknownBot(f"--bot {bot_id}: this kernel runs one bot (paths.yaml `bot:`), "
                             "so there is no bot to choose; leave out --bot")
        if bot_id not in self._bots:
            raise UnknownBot(f"--bot {bot_id}: no such bot in paths.yaml `bots:` (has: "
                             f"{', '.join(self._bots)}); use one of those ids")
        return [bot_id]

    async def halt(self, request: HaltRequest) -> ActionAnswered:
        return await self._command("halt", request)

    async def resume(self, request: ResumeRequest) -> ActionAnswered:
        return await self._command("resume", request, confirmed=request.confirmed)

    async def close_all(self, request: CloseAllRequest) -> ActionAnswered:
        return await self._command("close_all", request)

    async def mode(self, request: ModeRequest) -> ActionAccepted:
        target = self._targets(request.bot_id)[0] if request.bot_id else ""
        seq = await self._emitter.emit_durable(ModeChangeRequested(
            mode=request.mode, requested_by=f"operator:{request.user}", reason=request.reason,
            ts=self._clock(), bot_id=target))
        if not target:
            self._on_mode(request.mode)
        which = f"bot {target}" if target else "the bot" if not self._bots else "every bot"
        return ActionAccepted(action="mode", seq=seq,
                              detail=f"mode {request.mode} requested for {which}; the watchdog "
                                     "restarts it in that mode (off stops it)")

    async def stop(self, request: StopRequest) -> ActionAccepted:
        reason = f"stop requested by operator:{request.user}: {request.reason}"
        seq = await self._emitter.emit_durable(KernelStateChanged(
            state="stopping", ts=self._clock(), reason=reason))
        self._on_stop(reason, journaled=True)
        return ActionAccepted(action="stop", seq=seq,
                              detail="the kernel is stopping: the bot first, then the journal")

    async def _command(self, action: Literal["halt", "resume", "close_all"],
                       request: EngineRequest, *, confirmed: bool = False) -> ActionAnswered:
        targets = self._targets(request.bot_id)
        answers = await asyncio.gather(*(self._ask(action, request, confirmed, bot_id)
                                         for bot_id in targets))
        if len(answers) == 1:
            return answers[0]
        return combined(action, targets, answers)

    async def _ask(self, action: Literal["halt", "resume", "close_all"],
                   request: EngineRequest, confirmed: bool, bot_id: str) -> ActionAnswered:
        request_id = new_request_id()
        seq, answer = await ask_engine(self._emitter, OperatorCommandIssued(
            action=action, reason=request.reason, user=request.user, ts=self._clock(),
            confirmed=confirmed, request_id=request_id, bot_id=bot_id),
            request_id=request_id, wait_s=request.wait_s)
        return answered(request, action, seq, request_id, answer)


def combined(action: EngineAction, bots: Sequence[str],
             answers: Sequence[ActionAnswered]) -> ActionAnswered:
    """A portfolio command's one reply: applied only when every bot applied it; else
    refused if any bot refused, else unanswered. Each bot's answer is quoted."""
    outcomes = {a.outcome for a in answers}
    outcome: Literal["applied", "refused", "unanswered"] = (
        "applied" if outcomes == {"applied"} else "refused" if "refused" in outcomes
        else "unanswered")
    detail = "; ".join(f"bot:{b}: {a.outcome}: {a.detail}" for b, a in zip(bots, answers,
                                                                          strict=True))
    first = answers[0]
    return ActionAnswered(action=action, outcome=outcome, detail=f"portfolio: {detail}",
                          seq=first.seq, request_id=first.request_id)
