"""What ``kernel tap``'s dashboard shows, folded from decoded bus messages.

Pure on purpose: no sockets, no clock reads, no rich. The tap feeds it decoded
builtins (dicts with a ``type``, as from a kernel of any version) together with
the time, and asks for a :class:`DashboardView` whenever it redraws; every age
and rate is computed from the ``now`` passed in, so tests drive it with plain
numbers. Unknown message types still reach the event list through the generic
summary, so a newer kernel never blanks the screen.

In a fleet the bot and risk panels would show whichever bot spoke last; so the model
also folds every bot into a :class:`~kernel.fleet_view.FleetView`, which the
dashboard shows instead once two bots are known. With ``bot`` set (``kernel tap --bot
ID``) it follows that one bot alone, in the one-bot panels.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bus.topics import matches
from kernel.console._dashboard_parts import (
    BotView,
    Counters,
    EventView,
    KernelView,
    LinkView,
    RiskView,
    SlidingCounter,
    bot_from_state,
    kernel_from_status,
    number,
    positions_from_heartbeat,
    risk_from_snapshot,
)
from kernel.fleet_view import FleetBook, FleetView
from kernel.summaries import severity, summarize, summarize_decision
from kernel.untrusted import ident, one_line

QUIET_TYPES = frozenset({"heartbeat", "bot_state", "risk_snapshot", "order_request", "bars",
                         "market_snapshot"})
"""State reports, not news: they feed the panels, never the event list."""


@dataclass(frozen=True)
class DashboardView:
    """Everything one frame of the dashboard shows, ages already computed."""

    kernel: KernelView | None
    bot: BotView | None
    risk: RiskView | None
    events: tuple[EventView, ...]
    counters: Counters
    link: LinkView
    fleet: FleetView | None = None
    """Set when two bots or more are known and none is selected."""


class DashboardModel:
    """Folds messages into the current picture; see the module docstring."""

    def __init__(self, *, started: float, window_s: float = 60.0, max_events: int = 200,
                 event_topics: Iterable[str] = (), bot: str = "",
                 bots: Iterable[str] = ()) -> None:
        self._only = bot
        """``kernel tap --bot ID``: messages of other bots are left out."""
        self._fleet = FleetBook(bots)
        self._kernel: KernelView | None = None
        self._bot: BotView | None = None
        self._risk: RiskView | None = None
        self._events: deque[EventView] = deque(maxlen=max_events)
        self._requests: dict[str, dict[str, Any]] = {}
        self._decisions = SlidingCounter(window_s=window_s, started=started)
        self._messages = SlidingCounter(window_s=window_s, started=started)
        self._fills = 0
        self._event_topics = tuple(event_topics)
        self._link = LinkView(state="connecting", since=started, detail="")
        self._last_message: float | None = None

    # --- input ---------------------------------------------------------------

    def load_snapshot(self, status: Mapping[str, Any] | None,
                      latest: Mapping[str, Any], now: float) -> None:
        """Start from (or catch up with) the kernel's own record of the current state."""
        if status is not None:
            self.load_status(status, now)
        ordered = sorted(latest.items(), key=lambda item: _ts(item[1], now))
        for key, body in ordered:
            topic, _, owner = key.partition("/")
            if owner and owner != self._only.strip() and not owner.startswith("bot:"):
                self._fleet.apply(body, now)  # another bot's own: the fleet table only
                continue
            if not owner and self._only and topic in ("risk.state", "bot.state"):
                continue  # the newest of any bot: the selected one's own comes apart
            self.apply(topic, body, min(now, _ts(body, now)), replay=True)

    def load_status(self, status: Mapping[str, Any], now: float) -> None:
        self._kernel = kernel_from_status(status, now, previous=self._kernel)

    def apply(self, topic: str, body: Any, now: float, *, replay: bool = False,
              source: str = "") -> None:
        """One bus message. ``replay``: it came in a snapshot, so it is not news.
        ``source`` is its publisher (``risk.<id>`` in a fleet)."""
        if not isinstance(body, dict):
            body = {"type": "undecodable"}
        if self._only and of_another_bot(body, source, self._only):
            return
        self._fleet.apply(body, now)
        if not replay:
            self._messages.add(now)
            self._last_message = now
        kind = body.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, body, now, replay)
        if kind not in QUIET_TYPES:
            self._event(topic, body, now, replay)

    def note(self, text: str, level: str, now: float) -> None:
        """The tap's own news (unreachable, back, snapshot failed) in the event list."""
        self._events.append(EventView(ts=now, topic="tap", text=one_line(text),
                                      severity=level))

    def set_link(self, state: str, now: float, detail: str = "") -> None:
        detail = one_line(detail, 500)
        if state != self._link.state or detail != self._link.detail:
            since = self._link.since if state == self._link.state else now
            self._link = LinkView(state=state, since=since, detail=detail)

    # --- output --------------------------------------------------------------

    def view(self, now: float) -> DashboardView:
        decisions = self._decisions.totals(now)
        counters = Counters(
            window_s=self._decisions.window_s, orders_per_s=self._decisions.rate(now),
            deny_rate=(decisions[1] / decisions[0]) if decisions[0] else None,
            decisions=decisions[0], denies=decisions[1],
            fills=self._fills, messages_per_s=self._messages.rate(now))
        link = replace(self._link, last_message_age_s=(
            None if self._last_message is None else max(0.0, now - self._last_message)))
        # Uptimes stop when the kernel is lost (they are unknown, not growing); the
        # heartbeat age keeps growing, because the last beat really is that old.
        seen = now
        if self._link.state == "unreachable":
            seen = min(self._link.since, self._last_message or self._link.since)
        fleet = None
        if not self._only and len(self._fleet.bot_ids) >= 2:
            fleet = self._fleet.view(now)
        return DashboardView(
            kernel=None if self._kernel is None else self._kernel.aged(seen),
            bot=None if self._bot is None else self._bot.aged(now, alive_until=seen),
            risk=self._risk, events=tuple(self._events), counters=counters, link=link,
            fleet=fleet)

    # --- handlers --------------------------------------------------------------

    def _event(self, topic: str, body: dict[str, Any], now: float, replay: bool) -> None:
        if self._event_topics and not matches(topic, self._event_topics):
            return
        if body.get("type") == "order_decision":
            request = self._requests.pop(str(body.get("request_id")), None)
            text = summarize_decision(body, request)
        else:
            text = summarize(body)
        event = EventView(ts=_ts(body, now), topic=ident(topic), text=text,
                          severity=severity(body),
                          replayed=replay)
        if not replay:
            self._events.append(event)
            return
        if any(e.ts == event.ts and e.text == text for e in self._events):
            return  # the same latest message again, after a reconnect
        index = len(self._events)  # news from before: in its place in time, not at the end
        while index > 0 and self._events[index - 1].ts > event.ts:
            index -= 1
        if len(self._events) == self._events.maxlen:
            if index == 0:
                return  # older than everything kept
            self._events.popleft()
            index -= 1
        self._events.insert(index, event)

    def _on_bot_state(self, body: dict[str, Any], now: float, replay: bool) -> None:
        self._bot = bot_from_state(body, now, previous=self._bot)
        if self._kernel is not None and isinstance(body.get("mode"), str):
            self._kernel = replace(self._kernel, mode=ident(body["mode"]))

    def _on_heartbeat(self, body: dict[str, Any], now: float, replay: bool) -> None:
        beating = ident(body["bot_id"]) if body.get("bot_id") else ""
        bot = self._bot or BotView(bot_id=beating, state="connected")
        if bot.bot_id and beating and beating != bot.bot_id:
            return  # another bot on the link: the panel follows the supervised one
        self._bot = replace(
            bot, bot_id=bot.bot_id or beating, heartbeat_at=now,
            heartbeat_age_s=0.0, equity=number(body.get("equity")),
            realized_pnl=number(body.get("realized_pnl")),
            unrealized_pnl=number(body.get("unrealized_pnl")),
            positions=positions_from_heartbeat(body.get("positions")),
            position_count=len(body.get("positions") or []))

    def _on_risk_snapshot(self, body: dict[str, Any], now: float, replay: bool) -> None:
        self._risk = risk_from_snapshot(body)
        self._set_trading_state(self._risk.trading_state)

    def _on_trading_state(self, body: dict[str, Any], now: float, replay: bool) -> None:
        current = ident(body.get("current") or "?")
        self._set_trading_state(current)
        if self._risk is not None and (not replay or body.get("ts", 0) >= self._risk.ts):
            reasons = tuple(r for r in body.get("reasons") or () if isinstance(r, dict))
            self._risk = replace(self._risk, trading_state=current, reasons=reasons)

    def _on_manual_close(self, body: dict[str, Any], now: float, replay: bool) -> None:
        if self._risk is not None and body.get("ts", 0) >= self._risk.ts:
            self._risk = replace(self._risk, manual_close_needed=True)

    def _on_close_requested(self, body: dict[str, Any], now: float, replay: bool) -> None:
        if self._risk is not None and body.get("ts", 0) >= self._risk.ts:
            self._risk = replace(self._risk, close_requested=True)

    def _on_flat(self, body: dict[str, Any], now: float, replay: bool) -> None:
        if self._risk is not None and body.get("ts", 0) >= self._risk.ts:
            self._risk = replace(self._risk, manual_close_needed=False, close_requested=False)

    def _on_request(self, body: dict[str, Any], now: float, replay: bool) -> None:
        if len(self._requests) >= 1000:  # decisions that never came: forget the oldest
            self._requests.pop(next(iter(self._requests)))
        self._requests[str(body.get("request_id"))] = body

    def _on_decision(self, body: dict[str, Any], now: float, replay: bool) -> None:
        if not replay:
            self._decisions.add(now, denied=body.get("verdict") == "DENY")

    def _on_fill(self, body: dict[str, Any], now: float, replay: bool) -> None:
        self._fills += 0 if replay else 1

    def _on_kernel_state(self, body: dict[str, Any], now: float, replay: bool) -> None:
        if self._kernel is not None:
            self._kernel = replace(self._kernel, state=ident(body.get("state") or "?"))

    def _on_mode_changed(self, body: dict[str, Any], now: float, replay: bool) -> None:
        if self._kernel is not None and isinstance(body.get("mode"), str):
            self._kernel = replace(self._kernel, mode=ident(body["mode"]))

    def _set_trading_state(self, state: str) -> None:
        if self._kernel is not None:
            self._kernel = replace(self._kernel, trading_state=state)


def of_another_bot(body: dict[str, Any], source: str, bot: str) -> bool:
    """Whether a message belongs to another bot than ``bot``: by its ``bot_id``, a
    warning's scope, or its publisher (``risk.<id>``, ``watchdog.<id>``)."""
    owner = body.get("bot_id")
    if isinstance(owner, str) and owner:
        return owner != bot
    scope = body.get("scope")
    if isinstance(scope, str) and scope.startswith("bot:"):
        return scope[4:] != bot
    kind, _, suffix = source.partition(".")
    return kind in ("risk", "watchdog") and bool(suffix) and suffix != bot


def _ts(body: Any, default: float) -> float:
    ts = body.get("ts") if isinstance(body, dict) else None
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else default


_HANDLERS = {
    "bot_state": DashboardModel._on_bot_state,
    "heartbeat": DashboardModel._on_heartbeat,
    "risk_snapshot": DashboardModel._on_risk_snapshot,
    "trading_state_changed": DashboardModel._on_trading_state,
    "manual_close_flagged": DashboardModel._on_manual_close,
    "close_all_requested": DashboardModel._on_close_requested,
    "flat_confirmed": DashboardModel._on_flat,
    "order_request": DashboardModel._on_request,
    "order_decision": DashboardModel._on_decision,
    "fill": DashboardModel._on_fill,
    "kernel_state": DashboardModel._on_kernel_state,
    "mode_changed": DashboardModel._on_mode_changed,
}
