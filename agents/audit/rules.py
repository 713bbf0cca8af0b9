"""The auditor's anomaly rules, as plain logic over messages and a time passed in.

Each rule watches one kind of trouble a person should hear about even though
nothing crashed: slow decisions, a bot clock that is off, bursts of frames the
gateway could not read, heartbeat gaps and stale market data, a bot whose PnL
disagrees with the fills it reported, a bot hammering a closed gate, and restart
storms of the bot or of an actor. No clock, no I/O: :meth:`AnomalyRules.observe`
takes a message and the auditor's ``now`` and returns findings, so each rule is
tested with plain numbers.

Two rules overlap on purpose with the watchdog (heartbeat gaps, stale ticks):
the watchdog judges the one bot it runs to decide restarts; the auditor judges
every bot on the link, by ``bot_id``, so the record is the same whoever started it.

A condition that goes on is not repeated on every message: the first finding
goes out at once, then at most one per ``repeat_s`` per subject, carrying the
count of those held back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from agents.audit.config import AuditConfig
from agents.audit.figures import Book, anchor, book_fills
from agents.audit.messages import TradeClosed
from agents.audit.windows import Windows
from bus.protocol import Fill, Heartbeat, Hello, Message, OrderDecision, OrderRequest
from kernel.bounded import BoundedDict
from kernel.events import ActorStatusChanged, AnomalyDetected, BotLifecycleChanged, Severity
from risk.money import ZERO, dec
from risk.state import PositionState

DECODE_ERRORS = frozenset({"bad_frame", "invalid_request", "frame_too_large"})
"""Gateway anomalies that mean a frame could not be read."""
PENDING_MAX = 1_024
"""Requests remembered while waiting for their decision. The gateway publishes each
decision right after its request, so this holds a burst's worth (64) at most, unless
decisions were dropped from the auditor's inbox at its bound: then the requests left
waiting are never answered here. At 10,000 a 60-s order flood left 10,000 of them,
some 1 MB, for good (docs/architecture.md, "What a 60-s order flood leaves")."""
KEYS_MAX = 1024
"""Subjects (bots, actors, kinds) remembered per rule, least recently written dropped
first: a denial names the bot the order claimed, and a flood may claim fresh ones."""


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One anomaly to publish; ``subject`` is what it is about (a bot, an actor)."""

    kind: str
    severity: Severity
    subject: str
    detail: str


Observation = Finding | TradeClosed
"""What the rules return: anomalies to publish, and round trips the fills closed."""


class _Throttle:
    """First report at once, then at most one per ``every_s`` per key, with a count."""

    def __init__(self, every_s: float) -> None:
        self._every_s = every_s
        self._last: BoundedDict[str, float] = BoundedDict(KEYS_MAX)
        self._held: BoundedDict[str, int] = BoundedDict(KEYS_MAX)

    def allow(self, key: str, now: float) -> int | None:
        """How many were held back since the last report, or None to hold this one."""
        last = self._last.get(key)
        if last is not None and now - last < self._every_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)


class _Bot(msgspec.Struct, kw_only=True):
    """What the rules remember of one bot's heartbeats and PnL."""

    last_at: float
    seq: int
    uptime_s: float
    stale: bool = False
    bot_base: Decimal = ZERO
    ledger_base: Decimal = ZERO
    mismatch_since: float | None = None
    mismatch_reported: bool = False


class AnomalyRules:
    """All the rules and what they remember; feed it every message the auditor gets."""

    def __init__(self, cfg: AuditConfig) -> None:
        self._cfg = cfg
        self._throttle = _Throttle(cfg.repeat_s)
        self._pending: OrderedDict[str, float] = OrderedDict()
        self._decode = Windows(cfg.decode_errors, keys=KEYS_MAX)
        self._denials = Windows(cfg.denials, keys=KEYS_MAX)
        self._restarts = Windows(cfg.restarts, keys=KEYS_MAX)
        self._bots: BoundedDict[str, _Bot] = BoundedDict(KEYS_MAX)
        self._book: Book = {}
        self._realized: BoundedDict[str, Decimal] = BoundedDict(KEYS_MAX)
        self._starting: BoundedDict[str, None] = BoundedDict(KEYS_MAX)
        """Bots that said hello and have not sent a heartbeat since: a session begins."""

    def observe(self, message: Message, now: float) -> Sequence[Observation]:
        match message:
            case OrderRequest():
                self._pending[message.request_id] = message.ts
                while len(self._pending) > PENDING_MAX:
                    self._pending.popitem(last=False)
            case OrderDecision():
                return self._decided(message, now)
            case Hello():
                self._starting[message.bot_id] = None
            case Heartbeat():
                return self._beat(message, now)
            case Fill():
                return self._fill(message, now)
            case AnomalyDetected(source="gateway") if message.kind in DECODE_ERRORS:
                return self._burst(self._decode, "decode_errors", "error", "gateway", now,
                                   message.kind, "frames the gateway could not decode")
            case BotLifecycleChanged(state="restarting"):
                return self._burst(self._restarts, "restart_storm", "error",
                                   f"bot {message.bot_id}", now, "restart", "restarts")
            case ActorStatusChanged(state="FAULTED"):
                return self._burst(self._restarts, "restart_storm", "error",
                                   f"actor {message.actor}", now, "crash", "crashes")
        return []

    # --- fills --------------------------------------------------------------------

    def _fill(self, fill: Fill, now: float) -> list[TradeClosed]:
        """Book it; the realised cash feeds the PnL check, a closed round trip is news."""
        before = self._book.get((fill.bot_id, fill.symbol), PositionState())
        self._book, ((cash, closed),) = book_fills(self._book, [fill])
        if len(self._book) > KEYS_MAX:  # forget flat (bot, symbol) pairs, oldest first
            for key in [k for k, p in self._book.items() if not p.qty][:len(self._book) - KEYS_MAX]:
                del self._book[key]
        self._realized[fill.bot_id] = self._realized.get(fill.bot_id, ZERO) + cash
        if closed is None:
            return []
        return [TradeClosed(bot_id=fill.bot_id, symbol=fill.symbol,
                            direction="long" if before.qty > 0 else "short",
                            qty=abs(before.qty), entry_price=before.avg_price,
                            exit_price=dec(fill.price), pnl=closed, request_id=fill.request_id,
                            ts=now)]

    # --- decisions ------------------------------------------------------------------

    def _decided(self, decision: OrderDecision, now: float) -> list[Finding]:
        found: list[Finding] = []
        asked = self._pending.pop(decision.request_id, None)
        bot = decision.bot_id or "?"
        if asked is not None:  # at the decision's own time: this reader may lag behind it
            found += self._latency(bot, decision.request_id, (decision.ts or now) - asked, now)
        if decision.verdict == "DENY":
            found += self._burst(self._denials, "denial_storm", "warning", f"bot {bot}", now,
                                 decision.code, "denied orders; it keeps asking while the "
                                 "gate refuses")
        return found

    def _latency(self, bot: str, request_id: str, latency_s: float,
                 now: float) -> list[Finding]:
        cfg = self._cfg
        if latency_s < -cfg.clock_skew_s:
            return self._once("clock_skew", "warning", f"bot {bot}", now,
                              f"request {request_id} is stamped {-latency_s:.2f} s in the "
                              "future: the bot's clock is ahead of the kernel's")
        limit_s = cfg.decision_latency_ms / 1000
        if latency_s <= limit_s:
            return []
        severity: Severity = "error" if latency_s > 10 * limit_s else "warning"
        return self._once("decision_latency", severity, f"bot {bot}", now,
                          f"request {request_id} decided {latency_s * 1000:.0f} ms after the "
                          f"bot asked (threshold {cfg.decision_latency_ms:g} ms)")

    # --- heartbeats -----------------------------------------------------------------

    def _beat(self, beat: Heartbeat, now: float) -> list[Finding]:
        cfg, subject = self._cfg, f"bot {beat.bot_id}"
        bot = self._bots.get(beat.bot_id)
        realized = self._realized.get(beat.bot_id, ZERO)
        hello = beat.bot_id in self._starting
        if hello:  # the session's truth is the bot's account: fills go on from its positions
            self._starting.pop(beat.bot_id, None)
            self._book = anchor(self._book, beat)
        if bot is None or hello or beat.uptime_s < bot.uptime_s or beat.seq < bot.seq:
            self._bots[beat.bot_id] = _Bot(last_at=now, seq=beat.seq, uptime_s=beat.uptime_s,
                                           bot_base=dec(beat.realized_pnl), ledger_base=realized)
            return self._tick(self._bots[beat.bot_id], beat, subject, now)
        found: list[Finding] = []
        gap = now - bot.last_at
        if gap > cfg.heartbeat_gap_s:
            found += self._once("heartbeat_gap", "warning", subject, now,
                                f"{gap:.2f} s between heartbeats (gap limit "
                                f"{cfg.heartbeat_gap_s:g} s)")
        bot.last_at, bot.seq, bot.uptime_s = now, beat.seq, beat.uptime_s
        self._bots.move_to_end(beat.bot_id)  # a bot that beats is the last to be forgotten
        return found + self._tick(bot, beat, subject, now) + self._pnl(bot, beat, realized,
                                                                        subject, now)

    def _tick(self, bot: _Bot, beat: Heartbeat, subject: str, now: float) -> list[Finding]:
        if beat.last_tick_ts is None:
            return []
        age = beat.ts - beat.last_tick_ts
        was, bot.stale = bot.stale, age > self._cfg.stale_tick_s
        if bot.stale and not was:
            return [Finding(kind="stale_tick", severity="warning", subject=subject,
                            detail=f"{subject}: last market tick {age:.1f} s old (limit "
                                   f"{self._cfg.stale_tick_s:g} s): its feed looks stale")]
        return []

    def _pnl(self, bot: _Bot, beat: Heartbeat, realized: Decimal, subject: str,
             now: float) -> list[Finding]:
        """The bot's realised PnL since its session began against the fills since then."""
        theirs = dec(beat.realized_pnl) - bot.bot_base
        ours = realized - bot.ledger_base
        if abs(theirs - ours) <= Decimal(repr(self._cfg.pnl_tolerance_usdt)):
            bot.mismatch_since, bot.mismatch_reported = None, False
            return []
        if bot.mismatch_since is None:
            bot.mismatch_since = now
        if bot.mismatch_reported or now - bot.mismatch_since < self._cfg.pnl_grace_s:
            return []
        bot.mismatch_reported = True
        return [Finding(kind="pnl_mismatch", severity="warning", subject=subject, detail=(
            f"{subject}: realised PnL {theirs:+.2f} USDT by its heartbeats, {ours:+.2f} by "
            f"the fills it reported (since its session began; tolerance "
            f"{self._cfg.pnl_tolerance_usdt:g}): a fill is missing or misreported"))]

    # --- shared ---------------------------------------------------------------------

    def _once(self, kind: str, severity: Severity, subject: str, now: float,
              detail: str) -> list[Finding]:
        held = self._throttle.allow(f"{kind}/{subject}", now)
        if held is None:
            return []
        more = f" (+{held} more since the last report)" if held else ""
        return [Finding(kind=kind, severity=severity, subject=subject,
                        detail=f"{subject}: {detail}{more}")]

    def _burst(self, windows: Windows, kind: str, severity: Severity, subject: str,
               now: float, label: str, what: str) -> list[Finding]:
        labels = windows.add(subject, now, label)
        if labels is None:
            return []
        held = self._throttle.allow(f"{kind}/{subject}", now)
        if held is None:
            return []
        tally = ", ".join(f"{name} ×{n}" for name, n in labels.most_common())
        window = windows.burst
        return [Finding(kind=kind, severity=severity, subject=subject, detail=(
            f"{subject}: {sum(labels.values())} {what} within {window.window_s:g} s "
            f"(threshold {window.count}): {tally}"))]
