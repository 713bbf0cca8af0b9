"""Carrying out what passed the trust rules, and the moderator's pause.

Nothing here decides: :func:`agents.moderator.rules.judge` has already said what
is permitted. Each effect is a request to the component that owns the matter,
made durable before it is acted on: the risk engine owns the multiplier
(``risk.multiplier_request``), the watchdog the mode (``kernel.mode``), and the
bot pauses itself on a ``pause`` command over the link. The pause is the
moderator's own, so it also ends it (``resume`` when ``pause_minutes`` have
passed); a bot that restarts meanwhile is told again. The reason a bot is given
may be the LLM's words: it goes cleaned of control characters, on one line, and
bounded (:func:`kernel.untrusted.clean`).
"""

from __future__ import annotations

import logging
import uuid

import msgspec

from agents.moderator.messages import PauseEnded, PauseStarted
from agents.moderator.parts import Source
from agents.moderator.rules import Permitted
from bus.protocol import Command, CommandAction
from kernel.actor import ActorContext
from kernel.events import ModeChangeRequested, RiskMultiplierChangeRequested
from kernel.journal_newest import newest_row
from kernel.untrusted import clean, one_line

log = logging.getLogger("agents.moderator.actor")
_pause_decoder = msgspec.msgpack.Decoder(PauseStarted | PauseEnded)
BOT_REASON_LIMIT = 500
"""Characters of a reason sent to the bot with a command."""


class Effects:
    """The moderator's hands; ``pause_until`` is the end of its own pause (0: none)."""

    def __init__(self, ctx: ActorContext) -> None:
        self._ctx = ctx
        self.pause_until = 0.0
        self.pause_id = ""

    async def apply(self, permitted: Permitted, *, request_id: str, source: Source,
                    reason: str) -> str:
        """Carry out one permitted action; return what was done, for the journal."""
        ctx, now = self._ctx, self._ctx.clock()
        by = f"moderator:{source}"
        why = f"moderator ({source}): {reason}"[:4096]
        match permitted.effect:
            case "risk_multiplier":
                assert permitted.risk_multiplier is not None
                await ctx.publish_durable(RiskMultiplierChangeRequested(
                    value=permitted.risk_multiplier, requested_by=by, reason=why, ts=now,
                    bot_id=permitted.bot_id))  # in a fleet: the summary's bot alone
                return f"{permitted.detail}: asked the risk engine"
            case "paper":
                await ctx.publish_durable(ModeChangeRequested(mode="paper", requested_by=by,
                                                              reason=why, ts=now))
                return f"{permitted.detail}: asked the watchdog"
            case "pause":
                assert permitted.pause_minutes is not None
                return await self._pause(permitted.pause_minutes, request_id, why, now)
        return permitted.detail

    async def _pause(self, minutes: int, request_id: str, why: str, now: float) -> str:
        until = max(self.pause_until, now + minutes * 60)
        self.pause_until, self.pause_id = until, request_id
        await self._ctx.publish_durable(PauseStarted(request_id=request_id, minutes=minutes,
                                                     until_ts=until, ts=now))
        sent = self.command("pause", {"minutes": minutes, "reason": clean(why, BOT_REASON_LIMIT)})
        return f"pause sent to {sent} bot(s) until ts {until:.0f} ({minutes} min)"

    async def end_pause(self, detail: str) -> None:
        now = self._ctx.clock()
        request_id, self.pause_until, self.pause_id = self.pause_id, 0.0, ""
        await self._ctx.publish_durable(PauseEnded(request_id=request_id, ts=now))
        self.command("resume", {"reason": clean(f"moderator pause ended: {detail}",
                                                BOT_REASON_LIMIT)})

    def resend_pause(self) -> None:
        """A bot that (re)started during our pause is told to pause too."""
        if self.pause_until > self._ctx.clock():
            minutes = max(1, round((self.pause_until - self._ctx.clock()) / 60))
            self.command("pause", {"minutes": minutes,
                                   "reason": "moderator pause still running"})

    def command(self, action: CommandAction, params: dict[str, str | float | bool | None]) -> int:
        cmd = Command(command_id=f"moderator-{uuid.uuid4().hex[:16]}", action=action,
                      params=params)
        sent = self._ctx.services.send_command(cmd)
        self._ctx.publish(cmd)  # journaled: what was sent, and why
        log.warning("moderator sent %s to %d bot(s): %s", action, sent,
                    one_line(params.get("reason"), BOT_REASON_LIMIT))
        return sent

    async def restore(self) -> None:
        """Pick up a pause that a previous run started and did not end."""
        row = await newest_row(self._ctx.journal, PauseStarted.topic)
        if row is None:
            return
        try:
            last = _pause_decoder.decode(row.payload)
        except msgspec.DecodeError:
            return
        if isinstance(last, PauseStarted):
            self.pause_until, self.pause_id = last.until_ts, last.request_id
