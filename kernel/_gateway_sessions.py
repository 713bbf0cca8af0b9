"""Which bots are connected to the gateway, keyed by their ZeroMQ identity.

A link's identity is bound at ``hello``: the ROUTER identity of the connection maps
to the ``bot_id`` it said hello with, one connection per ``bot_id`` (a reconnecting
bot replaces its old connection). :func:`identity_refusal` holds every order to it,
:func:`claim_refusal` every heartbeat, fill, update and ack, and in a fleet
(``paths.yaml`` ``bots:``) :func:`hello_refusal` admits only the configured ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from bus.protocol import Command, Hello, Message, OrderDecision, OrderRequest
from kernel._gateway_bad_input import BadInputBudget
from kernel.untrusted import ident

LINK_FRAMES_PER_S: Final = 500.0
LINK_BURST: Final = 1000.0
"""Frames a link may put on the bus (heartbeats, fills, updates, acks, bars, verdicts)
per second, and at once. Orders are not counted: each is decided and answered, which
paces its sender. Far above any bot (a heartbeat a second, fills as they happen); a
link beyond it is flooding, and its frames beyond it are refused rather than queued
for every actor, so a flood cannot slow the loop that decides the other bots' orders."""


@dataclass(slots=True)
class LinkBudget:
    """A token bucket (of one link's bus frames, by default): O(1) per spend, time
    passed in; a clock that steps back gives no tokens."""

    per_s: float = LINK_FRAMES_PER_S
    burst: float = LINK_BURST
    tokens: float = LINK_BURST
    ts: float = 0.0
    refused: int = 0

    def spend(self, now: float) -> bool:
        """True: one token taken; False: none left, counted in ``refused``."""
        tokens = min(self.burst, self.tokens + max(0.0, now - self.ts) * self.per_s)
        self.ts = now
        if tokens < 1.0:
            self.tokens = tokens
            self.refused += 1
            return False
        self.tokens = tokens - 1.0
        return True


@dataclass(slots=True)
class BotSession:
    identity: bytes
    bot_id: str
    mode: str
    pid: int
    version: str
    json: bool
    """The bot spoke JSON in its hello: kernel-initiated messages go as JSON too."""
    connected_at: float
    last_seen: float
    marks_taken: bool = False
    """The gate has taken this session's first heartbeat's marks (``MarkTaker``)."""
    budget: LinkBudget = field(default_factory=LinkBudget)
    bad: BadInputBudget = field(default_factory=BadInputBudget)


ONE_BOT_SESSIONS: Final = 4
"""Sessions kept with the one-bot shorthand: the bot, and a few silent links of earlier
ids that a later hello may replace (older ones are forgotten, least recently heard first)."""


class SessionTable:
    """At most one session per bot_id: a reconnecting bot replaces its old one.

    Only a hello the gateway accepted adds a session, and at most ``limit`` are kept
    (the fleet's size, or :data:`ONE_BOT_SESSIONS`): a link that says hello under one
    fresh id after another cannot grow the table; the least recently heard goes first.
    """

    def __init__(self, limit: int = ONE_BOT_SESSIONS) -> None:
        self.limit = max(1, limit)
        self._by_identity: dict[bytes, BotSession] = {}
        self.stray_bad = BadInputBudget()
        """The bad-frame budget of every link that has not said hello, shared."""

    def register(self, session: BotSession) -> bool:
        """Add a session; return True when it replaced another with the same bot_id.

        The session it replaces (a hello again on the same link, or the same bot on a
        new one) hands its budgets on: a fresh pair with every hello let a link that
        said hello again between bad frames have each answered (a fuzzer's 40 hellos a
        second, 3,000 errors a second where the budget is 100), and its bus frames
        past their rate."""
        stale = [s.identity for s in self._by_identity.values()
                 if s.bot_id == session.bot_id and s.identity != session.identity]
        before = self._by_identity.get(session.identity)
        if before is None and stale:
            before = max((self._by_identity[i] for i in stale), key=lambda s: s.last_seen)
        if before is not None:
            session.budget, session.bad = before.budget, before.bad
        for identity in stale:
            del self._by_identity[identity]
        self._by_identity[session.identity] = session
        while len(self._by_identity) > self.limit:
            oldest = min(self._by_identity.values(), key=lambda s: s.last_seen)
            del self._by_identity[oldest.identity]
        return bool(stale)

    def seen(self, identity: bytes, now: float) -> BotSession | None:
        session = self._by_identity.get(identity)
        if session is not None:
            session.last_seen = now
        return session

    def other_live_bot(self, bot_id: str, identity: bytes, now: float, *,
                       within_s: float) -> BotSession | None:
        """A session of another ``bot_id`` heard from within ``within_s``, if any. A link
        silent longer is a bot that went away (ZeroMQ does not say when a peer leaves)."""
        for session in self._by_identity.values():
            if session.bot_id != bot_id and session.identity != identity \
                    and now - session.last_seen <= within_s:
                return session
        return None

    def get(self, identity: bytes) -> BotSession | None:
        return self._by_identity.get(identity)

    def whom(self, identity: bytes) -> str:
        """The link in words, for a reason: its bot's id, escaped (it is the bot's text)."""
        session = self._by_identity.get(identity)
        return f"bot {ident(session.bot_id)}" if session else "a link that never said hello"

    def bad_budget(self, identity: bytes) -> BadInputBudget:
        """The link's budget of bad frames; one shared by the links that never said hello."""
        session = self._by_identity.get(identity)
        return session.bad if session is not None else self.stray_bad

    def by_bot_id(self, bot_id: str) -> list[BotSession]:
        return [s for s in self._by_identity.values() if s.bot_id == bot_id]

    def all(self) -> list[BotSession]:
        return list(self._by_identity.values())

    def __len__(self) -> int:
        return len(self._by_identity)


def identity_refusal(session: BotSession | None, order: OrderRequest) -> str | None:
    """Why ``order`` may not be decided on this link, or None when its ``bot_id`` is the
    link's own. The gate keeps its limits (the order-rate bucket) per ``bot_id``; an
    order that named any ``bot_id`` it liked would get a fresh bucket per name."""
    if session is None:
        return ("this connection has not said hello (or a newer connection of the same bot "
                "replaced it): send hello before any order, then order under its bot_id")
    if order.bot_id != session.bot_id:
        return (f"the order names bot_id {order.bot_id!r} but this connection said hello as "
                f"{session.bot_id!r}: every order must carry its connection's bot_id")
    return None


def hello_refusal(fleet: frozenset[str] | None, hello: Hello) -> str | None:
    """Why a ``hello`` is refused in a fleet (its id is not configured), or None. With the
    one-bot shorthand (``fleet`` None) every id may say hello (one bot at a time)."""
    if fleet is None or hello.bot_id in fleet:
        return None
    known = ", ".join(ident(b) for b in sorted(fleet))
    return (f"bot {ident(hello.bot_id)} (pid {hello.pid}) refused: it is not one of the bots "
            f"in paths.yaml `bots:` ({known}). Fix: start the bot with one of those ids "
            "(--bot-id), or add an entry for it to `bots:` and restart the kernel")


def claim_refusal(session: BotSession | None, kind: str, bot_id: str, *,
                  fleet: bool) -> str | None:
    """Why a heartbeat, fill, update or ack is refused, or None: it may not claim another
    bot's id than its link's hello (it would move that bot's ledger), and in a fleet a
    link must say hello first. An empty ``bot_id`` is the link's own."""
    if session is None:
        if not fleet:
            return None  # the one-bot shorthand, as before: the bus takes it as it is
        return (f"{kind} from a connection that has not said hello: send hello with the "
                "bot's id first")
    if bot_id and bot_id != session.bot_id:
        return (f"the {kind} names bot_id {bot_id!r} but this connection said hello as "
                f"{session.bot_id!r}: a link speaks for its own bot only")
    return None


def key_refusal(user: str, hello: Hello) -> str | None:
    """Under CurveZMQ a link may say hello only as the bot whose key it holds (``user``:
    the ZAP handler's name for the connection, ``bot:<id>``)."""
    if user == f"bot:{hello.bot_id}":
        return None
    holder = user[4:] if user.startswith("bot:") else "no configured bot"
    return (f"bot {ident(hello.bot_id)} (pid {hello.pid}) refused: this connection's "
            f"CurveZMQ key is {ident(holder)}'s, not {ident(hello.bot_id)}'s. Fix: give "
            f"the bot its own key (kernel keys generate --bot {ident(hello.bot_id)})")


def second_bot_refusal(hello: Hello, other: BotSession) -> str:
    """Why a second bot is refused under the one-bot shorthand: the kernel keeps one
    ledger, so its positions would be read as the first one's (both end in REDUCING
    within seconds). Configure ``bots:`` to run several (docs/fleet.md)."""
    return (f"bot {hello.bot_id!r} (pid {hello.pid}) refused: bot {other.bot_id!r} "
            f"(pid {other.pid}) is connected and the kernel supervises one bot at a "
            "time. Fix: run `kernel mode off --reason R` to stop the supervised bot "
            "first, or set `bot.command` in paths.yaml to start yours")


def flood_refusal(kind: str) -> str:
    return (f"{kind} refused: this connection sends more than {LINK_FRAMES_PER_S:g} "
            f"frames a second besides orders (bursts of {LINK_BURST:g}); send less often")


def what(message: Message) -> str:
    """The message a person would recognise: the command's action, the order's id."""
    if isinstance(message, Command):
        return f"command {message.action} ({ident(message.command_id)})"
    if isinstance(message, OrderDecision):
        return f"decision {message.verdict} on order {ident(message.request_id)}"
    return type(message).__name__
