"""The fleet at a glance: one row per bot and the totals, folded from bus messages.

Pure, like the dashboard's model (kernel/console/_dashboard_model.py): fed decoded
builtins (``bot_state``, ``risk_snapshot`` and ``limit_warning`` bodies, each naming
its bot) and the time, it gives a :class:`FleetView` that ``kernel status``, the
dashboard and the Telegram bot's ``/bots`` all draw (so it lives in the runtime, where
a feature may read it, not in the console). A bot of the config that has reported
nothing yet still has a row, which says so, rather than missing from the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_WORST = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


@dataclass(frozen=True)
class FleetRow:
    bot_id: str
    trading_state: str = "?"
    """The risk engine's, for this bot; "?" until its first snapshot."""
    process: str = "?"
    """The watchdog's word for the bot process (running, external, off, ...)."""
    mode: str = ""
    equity: float | None = None
    pnl_today: float | None = None
    exposure: float | None = None
    """Notional held, summed over symbols at the marks."""
    heartbeat_age_s: float | None = None
    restarts: int = 0
    warning: str = ""
    """The newest 80 % warning of this bot's own limits, in words."""
    reasons: str = ""


@dataclass(frozen=True)
class FleetView:
    rows: tuple[FleetRow, ...]
    equity: float | None
    pnl_today: float | None
    exposure: float | None
    trading_state: str
    """The worst of the bots': the portfolio is as free as its most held bot."""
    warning: str = ""
    """The newest warning of a portfolio or account scope."""


@dataclass
class _Seen:
    bot: dict[str, Any] = field(default_factory=dict)
    bot_at: float = 0.0
    risk: dict[str, Any] = field(default_factory=dict)
    warning: str = ""


class FleetBook:
    """Folds the messages; see the module docstring."""

    def __init__(self, bot_ids: Iterable[str] = ()) -> None:
        self._seen: dict[str, _Seen] = {b: _Seen() for b in bot_ids}
        self._warning = ""

    @property
    def bot_ids(self) -> list[str]:
        return list(self._seen)

    def apply(self, body: Any, now: float) -> bool:
        """Take one message; True when it concerned the fleet."""
        if not isinstance(body, dict):
            return False
        kind = body.get("type")
        if kind == "limit_warning":
            return self._on_warning(body)
        bot_id = body.get("bot_id")
        if kind not in ("bot_state", "risk_snapshot") or not isinstance(bot_id, str) \
                or not bot_id:
            return False
        seen = self._seen.setdefault(bot_id, _Seen())
        if kind == "bot_state":
            seen.bot, seen.bot_at = body, _number(body.get("ts")) or now
        else:
            seen.risk = body
        return True

    def load(self, latest: Mapping[str, Any], now: float) -> None:
        """The snapshot's per-bot entries (``risk.state/<id>``, ``bot.state/<id>``)."""
        for key, body in latest.items():
            if "/" in key:
                self.apply(body, now)

    def view(self, now: float) -> FleetView:
        rows = tuple(_row(b, s, now) for b, s in self._seen.items())
        states = [r.trading_state for r in rows]
        worst = max(states, key=lambda s: _WORST.get(s, 3), default="?")
        return FleetView(rows=rows, equity=_total(r.equity for r in rows),
                         pnl_today=_total(r.pnl_today for r in rows),
                         exposure=_total(r.exposure for r in rows), trading_state=worst,
                         warning=self._warning)

    def _on_warning(self, body: dict[str, Any]) -> bool:
        scope = str(body.get("scope", ""))
        text = f"{body.get('code')}: {body.get('text')}"
        if scope.startswith("bot:"):
            self._seen.setdefault(scope[4:], _Seen()).warning = text
        else:
            self._warning = text
        return True


def _row(bot_id: str, seen: _Seen, now: float) -> FleetRow:
    bot, risk = seen.bot, seen.risk
    equity, start = _number(risk.get("equity")), _number(risk.get("start_equity"))
    notional = risk.get("notional")
    exposure = sum(_number(v) or 0.0 for v in notional.values()) \
        if isinstance(notional, dict) and risk else None
    age = _number(bot.get("last_heartbeat_age_s"))
    if age is not None:
        age += max(0.0, now - seen.bot_at)
    reasons = "; ".join(str(r.get("text", "")) for r in risk.get("reasons", [])
                        if isinstance(r, dict))
    return FleetRow(
        bot_id=bot_id, trading_state=str(risk.get("trading_state", "?")),
        process=str(bot.get("state", "?")), mode=str(bot.get("mode", "")),
        equity=equity, pnl_today=None if equity is None or start is None else equity - start,
        exposure=exposure, heartbeat_age_s=age,
        restarts=int(_number(bot.get("restarts")) or 0), warning=seen.warning, reasons=reasons)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _total(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
