"""The Telegram bot's commands, read from a chat message, and their confirmations. Pure.

``/halt [bot] reason``, ``/resume [bot] reason``, ``/closeall [bot] reason``,
``/mode [bot] paper|off [reason]``, ``/confirm CODE``, ``/status``, ``/bots``,
``/report [bot]``, ``/help``. The optional bot is the first word when it names a bot the
kernel knows; a first word that looks like a bot id (letters or digits joined by
``-`` or ``_``, with a digit) but names none is refused, so a typo in the id cannot
slip into the reason and act on every bot. ``demo`` is not offered from a chat: a
switch to the demo account is made at the terminal.

Destructive commands (resume, close all, mode) wait for a confirmation: the bot
answers with a code and a button, and only ``/confirm CODE`` (or the button) from the
same chat within ``confirm_timeout_s`` carries it out. A halt goes through at once:
it is the safe direction, and from a phone it should be quick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from kernel.untrusted import ident, quoted

Verb: TypeAlias = Literal["status", "bots", "report", "help", "halt", "resume", "closeall",
                          "mode", "confirm", "cancel"]
ACTIONS: frozenset[str] = frozenset({"halt", "resume", "closeall", "mode"})
CONFIRMED: frozenset[str] = frozenset({"resume", "closeall", "mode"})
"""What waits for ``/confirm CODE``."""
_QUERIES: frozenset[str] = frozenset({"status", "bots", "report", "help", "start"})
_LOOKS_LIKE_ID = re.compile(r"^(?=.*\d)[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+$")
_CODE = re.compile(r"^\d{6}$")
REASON_LIMIT = 4096
HELP = ("/status - trading state, gate, bots\n"
        "/bots - each bot: state, mode, equity, PnL, heartbeat\n"
        "/report [bot] - today's figures\n/halt [bot] reason - halt trading now\n"
        "/resume [bot] reason - resume (asks to confirm)\n"
        "/closeall [bot] reason - close every position (asks to confirm)\n"
        "/mode [bot] paper|off [reason] - switch the bot's mode (asks to confirm)\n"
        "/confirm CODE - carry out a command that asked for it")


@dataclass(frozen=True, slots=True)
class Command:
    verb: Verb
    reason: str = ""
    bot: str = ""
    """The bot it is meant for; empty: every bot (in a fleet, the portfolio)."""
    mode: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the message is not a command we carry out, in words for the chat."""

    answer: str


def parse(text: str, known_bots: frozenset[str]) -> Command | Refused:
    """A chat message as a command (``/halt@qe_bot news`` too), or why not."""
    words = text.strip().split()
    if not words or not words[0].startswith("/"):
        return Refused("Commands start with /. " + HELP.splitlines()[0] + " ... /help for all.")
    verb = words[0][1:].split("@", 1)[0].lower()
    rest = words[1:]
    if verb == "report" and rest and rest[0] in known_bots:
        return Command(verb="report", bot=rest[0])
    if verb in _QUERIES:
        return Command(verb="help" if verb == "start" else verb)  # type: ignore[arg-type]
    if verb in ("confirm", "cancel"):
        if len(rest) != 1 or not _CODE.match(rest[0]):
            return Refused(f"/{verb} takes the 6-digit code the bot gave, e.g. /{verb} 123456")
        return Command(verb=verb, code=rest[0])  # type: ignore[arg-type]
    if verb not in ACTIONS:
        return Refused(f"unknown command /{ident(verb)}; /help lists them")
    bot, rest = _bot(rest, known_bots)
    if isinstance(bot, Refused):
        return bot
    if verb == "mode":
        return _mode(rest, bot)
    reason = " ".join(rest)[:REASON_LIMIT]
    if not reason:
        return Refused(f"/{verb} needs a reason (it is journaled): /{verb} [bot] why")
    return Command(verb=verb, reason=reason, bot=bot)  # type: ignore[arg-type]


def _bot(words: list[str], known: frozenset[str]) -> tuple[str | Refused, list[str]]:
    if words and words[0] in known:
        return words[0], words[1:]
    if len(words) > 1 and _LOOKS_LIKE_ID.match(words[0]):
        names = ", ".join(sorted(known)) or "none connected now"
        return Refused(f"no bot {ident(words[0])} here (bots: {names}); nothing was done. "
                       "Leave the bot out to act on every bot."), words
    return "", words


def _mode(words: list[str], bot: str) -> Command | Refused:
    if not words or words[0].lower() not in ("paper", "off"):
        return Refused("/mode [bot] paper|off [reason]; demo is switched at the terminal")
    reason = " ".join(words[1:])[:REASON_LIMIT] or "from Telegram"
    return Command(verb="mode", mode=words[0].lower(), reason=reason, bot=bot)


def describe(command: Command) -> str:
    """The command in words, for its confirmation prompt and its answer."""
    scope = f"bot {ident(command.bot)}" if command.bot else "every bot"
    what = {"resume": "resume trading", "closeall": "close every position",
            "halt": "halt trading", "mode": f"switch the mode to {command.mode}"}
    return f"{what.get(command.verb, command.verb)} ({scope}), reason {quoted(command.reason)}"


@dataclass
class Pending:
    command: Command
    chat_id: int
    user: str
    expires_at: float


@dataclass
class Confirmations:
    """Commands waiting for their code; a code is good once, in its chat, in time."""

    timeout_s: float
    _waiting: dict[str, Pending] = field(default_factory=dict)

    def ask(self, code: str, command: Command, chat_id: int, user: str, now: float) -> Pending:
        self._drop_expired(now - self.timeout_s)  # keep expired ones a while, to say so
        pending = Pending(command, chat_id, user, now + self.timeout_s)
        self._waiting[code] = pending
        return pending

    def take(self, code: str, chat_id: int, now: float) -> Pending | Refused:
        pending = self._waiting.get(code)
        if pending is None or pending.chat_id != chat_id:
            return Refused(f"no command waits for code {ident(code)} in this chat; "
                           "nothing was done")
        del self._waiting[code]
        if now > pending.expires_at:
            return Refused(f"code {code} expired ({self.timeout_s:g} s to confirm); nothing "
                           f"was done. Send the command again to {describe(pending.command)}")
        return pending

    def cancel(self, code: str, chat_id: int) -> bool:
        pending = self._waiting.get(code)
        if pending is None or pending.chat_id != chat_id:
            return False
        del self._waiting[code]
        return True

    def _drop_expired(self, before: float) -> None:
        for code in [c for c, p in self._waiting.items() if p.expires_at < before]:
            del self._waiting[code]
