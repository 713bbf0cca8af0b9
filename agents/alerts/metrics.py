"""Prometheus metrics, counted from what the kernel publishes and read from the journal.

One ``CollectorRegistry`` per actor instance (a restarted actor starts its counters
again, which Prometheus reads as a counter reset). Counters come from the bus:
decisions by verdict and code, anomalies by kind, LLM tokens, failed alerts; gauges
from the newest state reports: the trading state per scope, bot restarts, the age of
each bot's last heartbeat (computed when scraped), and the journal's rows and commit
times (taken from ``Journal.commit_times`` when scraped).

Trading state scopes: ``global`` is the kernel's (the gate's: its one bot's, or in a
fleet the worst of the bots, as ``kernel status`` shows it); in a fleet each bot's
engine is ``bot:<id>`` (from that bot's own risk snapshot, never another's) and the
portfolio, the worst of the bots, is ``portfolio`` (docs/alerts.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, generate_latest

from agents.alerts.messages import AlertFailed, AlertsDropped
from agents.moderator.messages import LlmBudgetReported, LlmCallMade
from agents.watchdog.messages import BotStateReported
from bus.protocol import Heartbeat, OrderDecision, OrderRequest
from kernel.bounded import BoundedDict
from kernel.events import AnomalyDetected
from kernel.journal import Journal
from risk.messages import RiskAnomalyDetected, RiskStateSnapshot

PREFIX = "qe"
_PENDING_MAX = 10_000
BOTS_MAX = 1024
"""Bots whose last heartbeat is kept: a heartbeat names its bot, so the names are bounded."""
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 10.0)
_COMMIT_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25,
                   1.0)


class Metrics:
    def __init__(self, fleet: tuple[str, ...] = ()) -> None:
        """``fleet``: ``paths.yaml`` ``bots:`` (empty: the one-bot shorthand)."""
        self._fleet = fleet
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.decisions = Counter(f"{PREFIX}_decisions", "Order decisions by verdict and code",
                                 ["verdict", "code"], registry=r)
        self.latency = Histogram(
            f"{PREFIX}_decision_latency_seconds", "From the bot's order_request timestamp to "
            "the decision's (the link and the gate; the journal commit and the reply follow)",
            buckets=_LATENCY_BUCKETS, registry=r)
        self.trading = Enum(f"{PREFIX}_trading_state", "Trading state per scope", ["scope"],
                            states=["ACTIVE", "REDUCING", "HALTED"], registry=r)
        self.restarts = Gauge(f"{PREFIX}_bot_restarts", "Bot restarts since the kernel started",
                              ["bot"], registry=r)
        self.heartbeat_age = Gauge(f"{PREFIX}_heartbeat_age_seconds",
                                   "Seconds since each bot's last heartbeat", ["bot"], registry=r)
        self.journal_rows = Gauge(f"{PREFIX}_journal_rows", "Seq of the newest committed row",
                                  registry=r)
        self.commit = Histogram(f"{PREFIX}_journal_commit_seconds", "Time of each journal commit",
                                buckets=_COMMIT_BUCKETS, registry=r)
        self.anomalies = Counter(f"{PREFIX}_anomalies", "Anomalies by kind", ["kind"], registry=r)
        self.tokens = Counter(f"{PREFIX}_llm_tokens", "LLM tokens charged, by direction",
                              ["direction"], registry=r)
        self.budget = Gauge(f"{PREFIX}_llm_budget_used_tokens", "LLM tokens used today",
                            registry=r)
        self.alerts_failed = Counter(f"{PREFIX}_alerts_failed", "Alerts not delivered",
                                     ["target"], registry=r)
        self.alerts_dropped = Counter(f"{PREFIX}_alerts_dropped", "Alerts dropped (queue full)",
                                      registry=r)
        self._asked: dict[str, float] = {}
        self._beats: BoundedDict[str, float] = BoundedDict(BOTS_MAX)
        self.scopes: BoundedDict[str, str] = BoundedDict(BOTS_MAX)
        """The newest trading state of each scope, as the gauge has it."""
        self._restarts: BoundedDict[str, int] = BoundedDict(BOTS_MAX)

    def observe(self, message: object, now: float) -> None:
        match message:
            case OrderRequest(request_id=rid, ts=ts):
                self._asked[rid] = ts
                if len(self._asked) > _PENDING_MAX:
                    self._asked.pop(next(iter(self._asked)))
            case OrderDecision(verdict=verdict, code=code, request_id=rid, ts=decided):
                self.decisions.labels(verdict, code).inc()
                asked = self._asked.pop(rid, None)
                if asked is not None:  # the decision's time, not when it was read here
                    self.latency.observe(max(0.0, (decided or now) - asked))
            case RiskStateSnapshot(trading_state=state, bot_id=bot):
                self._trading(f"bot:{bot}" if bot and self._fleet else "global", state)
            case BotStateReported(bot_id=bot, restarts=restarts):
                self.restarts.labels(bot or "bot").set(restarts)
                self._restarts[bot or "bot"] = restarts
            case Heartbeat(bot_id=bot):
                self._beats[bot] = now
            case AnomalyDetected(kind=kind) | RiskAnomalyDetected(kind=kind):
                self.anomalies.labels(kind).inc()
            case LlmCallMade(input_tokens=tokens_in, output_tokens=tokens_out):
                self.tokens.labels("input").inc(tokens_in)
                self.tokens.labels("output").inc(tokens_out)
            case LlmBudgetReported(used_tokens=used):
                self.budget.set(used)
            case AlertFailed(target=target):
                self.alerts_failed.labels(target).inc()
            case AlertsDropped(count=count):
                self.alerts_dropped.inc(count)

    def _trading(self, scope: str, state: str) -> None:
        self.trading.labels(scope).state(state)
        self.scopes[scope] = state

    def kernel_state(self, trading_state: str) -> None:
        """The gate's trading state, read from the kernel's status: ``global``, and in a
        fleet ``portfolio`` (the kernel counts a bot without a running engine HALTED)."""
        if trading_state:
            self._trading("global", trading_state)
            if self._fleet:
                self._trading("portfolio", trading_state)

    def heartbeat_ages(self, now: float) -> dict[str, float]:
        return {bot: max(0.0, now - seen) for bot, seen in self._beats.items()}

    def per_bot(self, now: float) -> dict[str, dict[str, object]]:
        """Each bot's trading state, heartbeat age and restarts, for ``/health``'s body:
        every configured bot of a fleet (None until known), else the bots seen."""
        ages = self.heartbeat_ages(now)
        bots = self._fleet or tuple(sorted({*ages, *self._restarts}))
        return {b: {"trading_state": self.scopes.get(f"bot:{b}" if self._fleet else "global"),
                    "heartbeat_age_s": ages.get(b), "restarts": self._restarts.get(b)}
                for b in bots}

    def scrape(self, journal: Journal, now: float, trading_state: str = "") -> bytes:
        """The text exposition, with the figures read at this moment brought up to date
        (``trading_state``: the gate's, when the caller could read it)."""
        self.kernel_state(trading_state)
        for bot, age in self.heartbeat_ages(now).items():
            self.heartbeat_age.labels(bot).set(age)
        self.journal_rows.set(journal.last_seq)
        times = journal.commit_times
        while times:
            self.commit.observe(times.popleft())
        return generate_latest(self.registry)
