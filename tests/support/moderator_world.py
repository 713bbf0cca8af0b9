"""Builders of what the moderator sees, with readable defaults, shared by its tests."""

from __future__ import annotations

from decimal import Decimal

from agents.moderator._book import ModeratorBook
from agents.moderator.llm_config import ModeratorConfig, Triggers
from agents.moderator.parts import ModerationSummary, ModeratorAnswer
from agents.moderator.rules import build_summary
from agents.watchdog.messages import BotStateReported
from bus.protocol import Fill, Mode, TradingState
from kernel.events import AnomalyDetected
from planner.messages import MacroVerdict
from risk.messages import RiskStateSnapshot

NOW = 1_770_000_000.0
CFG = ModeratorConfig()
FLOOR = 0.25
QUIET = Triggers(on_halt=False, daily_loss_fraction=0, loss_streak=0)


def risk(*, state: TradingState = "ACTIVE", daily_loss: float = 0.0, max_daily_loss: float = 300,
         drawdown: float = 0.0, max_drawdown: float = 500, losses: int = 0,
         multiplier: float = 1.0, ts: float = NOW) -> RiskStateSnapshot:
    return RiskStateSnapshot(
        ts=ts, day="2026-02-02", trading_state=state, max_leverage=Decimal(3),
        equity=Decimal(10_000) - Decimal(str(daily_loss)), start_equity=Decimal(10_000),
        daily_loss=Decimal(str(daily_loss)), max_daily_loss=Decimal(str(max_daily_loss)),
        drawdown=Decimal(str(drawdown)), max_drawdown=Decimal(str(max_drawdown)),
        consecutive_losses=losses, max_consecutive_losses=5, risk_multiplier=multiplier)


def fill(side: str, qty: float, price: float, *, symbol: str = "BTCUSDT", fee: float = 0.0,
         ts: float = NOW, n: int = 0) -> Fill:
    return Fill(request_id=f"r-{n}-{side}-{price}", symbol=symbol, side=side,  # type: ignore[arg-type]
                qty=qty, price=price, fee=fee, ts=ts)


def round_trips(pnls: list[float], *, symbol: str = "BTCUSDT", ts: float = NOW) -> list[Fill]:
    """A long bought at 100 and sold at 100 + pnl, once per entry (qty 1, no fees)."""
    fills = []
    for i, pnl in enumerate(pnls):
        fills += [fill("buy", 1, 100.0, symbol=symbol, ts=ts - 60 * (len(pnls) - i), n=i),
                  fill("sell", 1, 100.0 + pnl, symbol=symbol, ts=ts - 60 * (len(pnls) - i) + 30,
                       n=i)]
    return fills


def bot(mode: Mode = "demo", *, detail: str = "", state: str = "running",
        pid: int = 4242) -> BotStateReported:
    return BotStateReported(state=state, mode=mode, ts=NOW, pid=pid,  # type: ignore[arg-type]
                            bot_id="qe-1", restarts=0, positions=1, last_heartbeat_age_s=0.4,
                            equity=10_000.0, detail=detail)


def anomaly(kind: str = "heartbeat_gap", detail: str = "gap 3 s",
            severity: str = "warning") -> AnomalyDetected:
    return AnomalyDetected(kind=kind, severity=severity, ts=NOW,  # type: ignore[arg-type]
                           source="watchdog", detail=detail)


def macro(regime: str = "risk_off", note: str = "") -> MacroVerdict:
    return MacroVerdict(ts=NOW, regime=regime, direction="SHORT",  # type: ignore[arg-type]
                        confidence=65.0, alignment=70.0, economic_assessment=note)


def book_of(*messages: object, mode: Mode = "demo", triggers: Triggers = QUIET,
            now: float = NOW) -> ModeratorBook:
    book = ModeratorBook(mode=mode, keep_trades=CFG.last_trades)
    for message in messages:
        book.update(message, now, triggers)  # type: ignore[arg-type]
    return book


def summary_of(*messages: object, mode: Mode = "demo", trigger: str = "periodic",
               now: float = NOW, cfg: ModeratorConfig = CFG) -> ModerationSummary:
    return build_summary(book_of(*messages, mode=mode), now, trigger, cfg, FLOOR)


def answer(action: str, **fields: object) -> ModeratorAnswer:
    return ModeratorAnswer(action=action, reason="because", **fields)  # type: ignore[arg-type]
