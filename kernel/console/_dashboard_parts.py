"""The pieces of the dashboard's view model: panels as frozen values, and their parsers.

Kept apart from :mod:`kernel.console._dashboard_model` (which decides *when* each piece
changes) so each stays small. Parsers read decoded builtins defensively: a
field that is missing or of the wrong type shows as unknown rather than
stopping the viewer, because the tap may watch a kernel newer or older than
itself. Money arrives as strings (``Decimal`` on the wire) or floats; both
become floats here, which is precise enough to draw. Every string that came from
outside (a bot id, a symbol, a state word, a detail) is made safe here, once, with
:mod:`kernel.untrusted`: the panels draw plain values.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kernel.untrusted import ident, one_line

WARN_AT, DANGER_AT = 0.5, 0.8
"""A gauge turns yellow at half its limit and red at four fifths."""


def number(value: Any) -> float | None:
    """A finite float from an int, float or numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


@dataclass(frozen=True)
class Gauge:
    """A value against its limit, e.g. today's loss against the daily loss limit."""

    value: float | None
    limit: float | None

    @property
    def fraction(self) -> float | None:
        """How much of the limit is used, within [0, 1]; None when either is unknown."""
        if self.value is None or self.limit is None or self.limit <= 0:
            return None
        return min(1.0, max(0.0, self.value / self.limit))

    @property
    def level(self) -> str:
        """``ok`` / ``warn`` / ``danger`` (``ok`` when unknown: no alarm without data)."""
        fraction = self.fraction
        if fraction is None or fraction < WARN_AT:
            return "ok"
        return "warn" if fraction < DANGER_AT else "danger"


@dataclass(frozen=True)
class PositionView:
    symbol: str
    qty: float
    avg_price: float | None
    mark_price: float | None

    @property
    def unrealized(self) -> float | None:
        if self.avg_price is None or self.mark_price is None:
            return None
        return (self.mark_price - self.avg_price) * self.qty


STOPPED_ON_PURPOSE = frozenset({"off", "stopped"})
"""Bot states a person asked for (``kernel mode off``, a stop): no heartbeat is expected."""


@dataclass(frozen=True, kw_only=True)
class BotView:
    """The supervised bot as the watchdog reports it, refined by its own heartbeats."""

    bot_id: str
    state: str
    mode: str = ""
    pid: int | None = None
    uptime_s: float | None = None
    heartbeat_age_s: float | None = None
    at: float = 0.0
    """When ``uptime_s`` held (the tap's clock)."""
    heartbeat_at: float = 0.0
    """When ``heartbeat_age_s`` held."""
    equity: float | None = None
    realized_pnl: float | None = None
    unrealized_pnl: float | None = None
    position_count: int = 0
    positions: tuple[PositionView, ...] = ()
    restarts: int = 0
    last_exit: str = ""
    detail: str = ""

    def aged(self, now: float, *, alive_until: float | None = None) -> BotView:
        """As of ``now``: the heartbeat age keeps growing; a running bot's uptime grows
        until ``alive_until`` (when the kernel was lost, after which it is unknown)."""
        until = now if alive_until is None else min(now, alive_until)
        uptime = self.uptime_s
        if uptime is not None and self.state == "running":
            uptime += max(0.0, until - self.at)
        age = self.heartbeat_age_s
        if age is not None:
            age += max(0.0, now - self.heartbeat_at)
        return replace(self, uptime_s=uptime, heartbeat_age_s=age, at=until, heartbeat_at=now)


@dataclass(frozen=True, kw_only=True)
class KernelView:
    version: str
    pid: int | None
    mode: str
    trading_state: str
    state: str
    uptime_s: float | None
    at: float
    actors_running: int
    actors_total: int
    faulted: tuple[str, ...]
    bot_sessions: int
    anomalies: int

    def aged(self, now: float) -> KernelView:
        uptime = None if self.uptime_s is None else self.uptime_s + max(0.0, now - self.at)
        return replace(self, uptime_s=uptime, at=now)


@dataclass(frozen=True, kw_only=True)
class RiskView:
    ts: float
    trading_state: str
    reasons: tuple[Mapping[str, Any], ...]
    manual_close_needed: bool
    close_requested: bool
    equity: float | None
    pnl_today: float | None
    daily_loss: Gauge
    drawdown: Gauge
    trailing_drawdown: Gauge
    leverage: Gauge
    losing_streak: Gauge
    notional: tuple[tuple[str, float], ...]
    open_orders: int
    risk_multiplier: float | None
    multiplier_by: str = ""
    """Who set the multiplier (``risk.yaml``, ``operator:<user>``, ``moderator:<source>``)."""
    multiplier_until: str = ""

    @property
    def multiplier_moved(self) -> bool:
        """Not the risk.yaml default: a person or an adviser set it, so it must show."""
        return self.multiplier_by not in ("", "risk.yaml")


@dataclass(frozen=True)
class EventView:
    ts: float
    topic: str
    text: str
    severity: str
    replayed: bool = False
    """It came with the snapshot: it happened before the tap started."""


@dataclass(frozen=True, kw_only=True)
class Counters:
    window_s: float
    orders_per_s: float
    deny_rate: float | None
    decisions: int
    denies: int
    fills: int
    messages_per_s: float


@dataclass(frozen=True, kw_only=True)
class LinkView:
    state: str
    """``connecting``, ``connected`` or ``unreachable``."""
    since: float
    detail: str
    last_message_age_s: float | None = None


class SlidingCounter:
    """Counts (and denials) over the last ``window_s`` seconds, in one-second buckets,
    so memory stays constant at any message rate."""

    def __init__(self, *, window_s: float, started: float) -> None:
        self.window_s = window_s
        self._started = started
        self._buckets: deque[list[int]] = deque()  # [second, count, denied]

    def add(self, now: float, *, denied: bool = False) -> None:
        second = math.floor(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += 1
            self._buckets[-1][2] += denied
        else:
            self._buckets.append([second, 1, int(denied)])
        self._prune(now)

    def totals(self, now: float) -> tuple[int, int]:
        self._prune(now)
        return sum(b[1] for b in self._buckets), sum(b[2] for b in self._buckets)

    def rate(self, now: float) -> float:
        """Per second over the window, or over the time watched if that is shorter."""
        span = max(1.0, min(self.window_s, now - self._started))
        return self.totals(now)[0] / span

    def _prune(self, now: float) -> None:
        while self._buckets and self._buckets[0][0] <= now - self.window_s:
            self._buckets.popleft()


def positions_from_heartbeat(raw: Any) -> tuple[PositionView, ...]:
    items = raw if isinstance(raw, list) else []
    return tuple(PositionView(symbol=ident(p.get("symbol", "?")),
                              qty=number(p.get("qty")) or 0.0,
                              avg_price=number(p.get("avg_price")),
                              mark_price=number(p.get("mark_price")))
                 for p in items if isinstance(p, dict))


def bot_from_state(body: Mapping[str, Any], now: float, *,
                   previous: BotView | None) -> BotView:
    bot_id = ident(body["bot_id"]) if body.get("bot_id") else \
        (previous.bot_id if previous else "")
    same = previous is not None and previous.bot_id == bot_id
    count = int(number(body.get("positions")) or 0)
    age = number(body.get("last_heartbeat_age_s"))
    if body.get("state") in STOPPED_ON_PURPOSE:
        age = None  # no beat is due from a bot stopped on purpose: an age would only alarm
    elif same and previous is not None and previous.heartbeat_age_s is not None:
        seen = previous.aged(now).heartbeat_age_s
        age = seen if age is None or (seen is not None and seen < age) else age
    pid = body.get("pid")
    return BotView(
        bot_id=bot_id, state=ident(body.get("state") or "?"),
        mode=ident(body["mode"]) if body.get("mode") else "",
        pid=pid if isinstance(pid, int) else None, uptime_s=number(body.get("uptime_s")),
        heartbeat_age_s=age, at=now, heartbeat_at=now, equity=number(body.get("equity")),
        realized_pnl=number(body.get("realized_pnl")),
        unrealized_pnl=number(body.get("unrealized_pnl")), position_count=count,
        positions=previous.positions if same and previous is not None and count else (),
        restarts=int(number(body.get("restarts")) or 0),
        last_exit=one_line(body.get("last_exit") or "", 500),
        detail=one_line(body.get("detail") or "", 500))


def kernel_from_status(status: Mapping[str, Any], now: float, *,
                       previous: KernelView | None) -> KernelView:
    actors = [a for a in status.get("actors") or () if isinstance(a, dict)]
    anomalies = status.get("anomalies")
    pid = status.get("pid")
    return KernelView(
        version=ident(status.get("version") or "?"), pid=pid if isinstance(pid, int) else None,
        mode=ident(status.get("mode") or "?"),
        trading_state=ident(status.get("trading_state") or "?"),
        state=previous.state if previous is not None else "running",
        uptime_s=number(status.get("uptime_s")), at=now,
        actors_running=sum(a.get("state") == "RUNNING" for a in actors),
        actors_total=len(actors),
        faulted=tuple(ident(a.get("name")) for a in actors if a.get("state") == "FAULTED"),
        bot_sessions=len(status.get("bots") or ()),
        anomalies=int(sum(v for v in anomalies.values() if isinstance(v, int)))
        if isinstance(anomalies, dict) else 0)


def risk_from_snapshot(body: Mapping[str, Any]) -> RiskView:
    equity, start = number(body.get("equity")), number(body.get("start_equity"))
    raw_notional = body.get("notional")
    notional: dict[Any, Any] = raw_notional if isinstance(raw_notional, dict) else {}
    return RiskView(
        ts=number(body.get("ts")) or 0.0,
        trading_state=ident(body.get("trading_state") or "?"),
        reasons=tuple(r for r in body.get("reasons") or () if isinstance(r, dict)),
        manual_close_needed=bool(body.get("manual_close_needed")),
        close_requested=bool(body.get("close_requested")), equity=equity,
        pnl_today=None if equity is None or start is None else equity - start,
        daily_loss=_gauge(body, "daily_loss", "max_daily_loss"),
        drawdown=_gauge(body, "drawdown", "max_drawdown"),
        trailing_drawdown=_gauge(body, "trailing_drawdown", "max_trailing_drawdown"),
        leverage=_gauge(body, "leverage", "max_leverage"),
        losing_streak=_gauge(body, "consecutive_losses", "max_consecutive_losses"),
        notional=tuple(sorted(((ident(k), v) for k, raw in notional.items()
                               if (v := number(raw)) is not None),
                              key=lambda item: -abs(item[1]))),
        open_orders=int(number(body.get("open_orders")) or 0),
        risk_multiplier=number(body.get("risk_multiplier")),
        multiplier_by=str(body.get("risk_multiplier_by") or ""),
        multiplier_until=str(body.get("risk_multiplier_until") or ""))


def _gauge(body: Mapping[str, Any], value: str, limit: str) -> Gauge:
    return Gauge(number(body.get(value)), number(body.get(limit)))
