"""Which actors ``kernel run`` hosts, in start order, each with its config slice.

The composition root for actors: each later capability (watchdog, risk engine,
auditor, planner, ...) adds its factory here. ``actors:`` in kernel.yaml can
disable any of them by name.

No actor sees the whole :class:`~kernel.settings.Settings`: each is constructed
with a small frozen slice of it (defined in its feature folder), cut here with
every path resolved against the project root as ``Settings.resolve`` does. A
factory is a ``functools.partial`` of the actor's class and its slice, so the
kernel can build a fresh instance for every (re)start.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

from agents.alerts.actor import Notifier
from agents.alerts.health import HealthServer
from agents.alerts.slice import AlertsSlice
from agents.alerts.telegram_bot import TelegramBot
from agents.audit.actor import Auditor
from agents.audit.slice import AuditSlice
from agents.feeds.actor import FeedsActor
from agents.feeds.slice import FeedsSlice
from agents.meta.actor import MetaRunner
from agents.meta.slice import MetaSlice
from agents.moderator.actor import Moderator
from agents.moderator.slice import ModeratorSlice
from agents.planner.actor import PlannerActor
from agents.planner.options_selector import OptionsSelector
from agents.planner.slice import OptionsSlice, PlannerSlice
from agents.risk.actor import RiskEngine
from agents.risk.fleet import FleetGate
from agents.risk.slice import RiskSlice
from agents.verdicts.macro import MacroAdapter
from agents.verdicts.slice import VerdictSlice, WildCardSlice
from agents.verdicts.technical import TechnicalAdapter
from agents.verdicts.wildcard import WildCardAdapter
from agents.watchdog.actor import Watchdog
from agents.watchdog.slice import WatchdogSlice
from kernel._link_frames import LinkFrames
from kernel.actor import Actor
from kernel.config import BotConfig
from kernel.settings import Settings
from planner.messages import MacroVerdict, TechnicalVerdict, WildCardVerdict

A = TypeVar("A", bound=Actor)

LINK_FRAMES = LinkFrames(types=(TechnicalVerdict, MacroVerdict, WildCardVerdict),
                         noun="verdict", code="invalid_verdict")
"""Frames a bot may send beyond the core contract: its own analysis, for the verdict
adapters (see ``kernel/_link_frames.py``)."""


def default_actors(settings: Settings) -> list[Callable[[], Actor]]:
    """Factories for every actor shipped with the kernel (fresh instance per call)."""
    # The gate is up before the watchdog starts the bot; the planner's consumers start
    # before its producers (the technical adapter makes the snapshots) so none is missed;
    # the moderator listens before the macro adapter and the watchdog speak, for the same reason.
    # The options selector answers the planner's plans, so it listens before the planner speaks.
    # The auditor listens before any other actor or the bot speaks, so its record is whole.
    # The Meta-Agent scheduler hears the watchdog's first report; it runs nothing within
    # meta.yaml's start_delay_s, and only off-market.
    # The feeds publish market data, so they start after everything that consumes it.
    # The notifier (only with a target in alerts.yaml) listens as early as the auditor,
    # so the first halt or hang is heard.
    verdicts = verdict_slice(settings)
    return [*risk_engines(settings),
            partial(Auditor, config=audit_slice(settings)),
            *alert_actors(settings),
            partial(OptionsSelector, config=options_slice(settings)),
            partial(PlannerActor, config=planner_slice(settings)),
            partial(Moderator, config=moderator_slice(settings)),
            partial(MetaRunner, config=meta_slice(settings)),
            partial(MacroAdapter, config=verdicts),
            partial(WildCardAdapter, config=wildcard_slice(settings)),
            partial(TechnicalAdapter, config=verdicts),
            partial(FeedsActor, config=feeds_slice(settings)),
            *watchdogs(settings)]


def risk_engines(settings: Settings) -> list[Callable[[], Actor]]:
    """One risk engine (``risk``), or in a fleet one per bot (``risk.<id>``), all joined
    in one gate that also holds the portfolio's limits (agents/risk/fleet.py)."""
    if not settings.paths.fleet:
        return [partial(RiskEngine, config=risk_slice(settings))]
    bots = settings.paths.bot_list()
    fleet = FleetGate(accounts={b.id: b.account for b in bots}, limits=settings.risk.portfolio)
    return [partial(per_bot(RiskEngine, b.id),
                    config=RiskSlice(limits=settings.risk.for_bot(b.id), bot_id=b.id,
                                     fleet=fleet), tick_phase=n / len(bots))
            for n, b in enumerate(bots)]


def watchdogs(settings: Settings) -> list[Callable[[], Actor]]:
    """One watchdog per bot (``watchdog.<id>`` in a fleet, ``watchdog`` for the one bot)."""
    if not settings.paths.fleet:
        return [partial(Watchdog, config=watchdog_slice(settings))]
    bots = settings.paths.bot_list()
    return [partial(per_bot(Watchdog, bot.id), config=fleet_watchdog_slice(settings, bot),
                    report_phase=n / len(bots)) for n, bot in enumerate(bots)]


def per_bot(kind: type[A], bot_id: str) -> type[A]:
    """``kind`` under the name ``<name>.<bot id>``: the kernel supervises, reports and
    journals each bot's actor apart (an actor's name is a class attribute)."""
    return cast(type[A], type(f"{kind.__name__}_{bot_id}", (kind,),
                              {"name": f"{kind.name}.{bot_id}", "__module__": kind.__module__}))


def alert_actors(settings: Settings) -> list[Callable[[], Actor]]:
    """The alerts feature's actors that ``config/alerts.yaml`` turns on (none as shipped)."""
    config = alerts_slice(settings)
    found: list[Callable[[], Actor]] = []
    if config.alerts.targets:
        found.append(partial(Notifier, config=config))
    if config.alerts.telegram.enabled:
        found.append(partial(TelegramBot, config=config))
    if config.alerts.health.enabled:
        found.append(partial(HealthServer, config=config))
    return found


def actor_factory(kind: type[A], settings: Settings, **options: Any) -> Callable[[], A]:
    """A factory of one shipped actor with its slice of ``settings`` and keyword ``options``
    (a timing, say); ``kind`` may subclass a shipped actor (a test's fragile engine)."""
    for shipped in default_actors(settings):
        if isinstance(shipped, partial) and issubclass(kind, cast(type[Actor], shipped.func)):
            return partial(kind, **shipped.keywords, **options)
    raise LookupError(f"{kind.__name__} is not an actor kernel/registry.py ships, so it has "
                      "no config slice here; construct it with its own")


# --- the slices: what each actor is given of the settings ------------------------------


def risk_slice(settings: Settings) -> RiskSlice:
    return RiskSlice(limits=settings.risk, shadow=settings.risk_shadow)


def audit_slice(settings: Settings) -> AuditSlice:
    archive = settings.audit.archive_dir or str(settings.data_dir / "archive")
    return AuditSlice(audit=settings.audit, timezone=settings.risk.timezone,
                      utc_offset_s=settings.risk.utc_offset_s,
                      reports_dir=settings.reports_dir, archive_dir=settings.resolve(archive))


def options_slice(settings: Settings) -> OptionsSlice:
    return OptionsSlice(options=settings.options)


def planner_slice(settings: Settings) -> PlannerSlice:
    return PlannerSlice(planner=settings.planner, events=settings.events, llm=settings.llm)


def moderator_slice(settings: Settings) -> ModeratorSlice:
    return ModeratorSlice(moderator=settings.moderator, llm=settings.llm,
                          mode=settings.kernel.mode,
                          min_risk_multiplier=settings.risk.risk_multiplier.min,
                          config_dir=settings.config_dir,
                          utc_offset_s=settings.risk.utc_offset_s)


def meta_slice(settings: Settings) -> MetaSlice:
    """Also what ``kernel meta run`` hands the pipeline, so a job runs alike from either."""
    agent, risk = settings.paths.meta_agent, settings.risk
    return MetaSlice(
        meta=settings.meta, llm=settings.llm, mode=settings.kernel.mode,
        timezone=risk.timezone, utc_offset_s=risk.utc_offset_s,
        excerpt_rows=settings.audit.excerpt_rows, agent_command=tuple(agent.command),
        agent_cwd=settings.resolve(agent.cwd), inbox=settings.resolve(agent.inbox),
        outbox=settings.resolve(agent.outbox), bot_cwd=settings.resolve(settings.paths.bot.cwd),
        journal_path=settings.journal_path, data_dir=settings.data_dir,
        risk_yaml=settings.config_dir / "risk.yaml")


def alerts_slice(settings: Settings) -> AlertsSlice:
    return AlertsSlice(alerts=settings.alerts, config_path=settings.config_dir / "alerts.yaml",
                       bots=tuple(b.id for b in settings.paths.bots))


def verdict_slice(settings: Settings) -> VerdictSlice:
    return VerdictSlice(planner=settings.planner)


def wildcard_slice(settings: Settings) -> WildCardSlice:
    return WildCardSlice(planner=settings.planner, events=settings.events)


def feeds_slice(settings: Settings) -> FeedsSlice:
    return FeedsSlice(feeds=settings.feeds,
                      option_symbols=tuple(settings.options.live.symbols))


def fleet_watchdog_slice(settings: Settings, bot: BotConfig) -> WatchdogSlice:
    """A fleet bot's watchdog: its own pid file and log folder, so two bots never read
    each other's leftovers or output."""
    return WatchdogSlice(
        watchdog=settings.watchdog, mode=bot.mode or settings.kernel.mode,
        gateway_endpoint=settings.kernel.gateway.endpoint, bot_command=tuple(bot.command),
        bot_cwd=settings.resolve(bot.cwd), bot_env=dict(bot.env),
        data_dir=settings.data_dir, pid_file=settings.data_dir / f"bot-{bot.id}.pid",
        log_dir=settings.log_dir / "bots" / bot.id,
        shutdown_timeout_s=settings.kernel.supervision.shutdown_timeout_s,
        bot_id=bot.id, external=bot.external)


def watchdog_slice(settings: Settings) -> WatchdogSlice:
    bot = settings.paths.bot
    return WatchdogSlice(
        watchdog=settings.watchdog, mode=settings.kernel.mode,
        gateway_endpoint=settings.kernel.gateway.endpoint, bot_command=tuple(bot.command),
        bot_cwd=settings.resolve(bot.cwd), bot_env=dict(bot.env),
        data_dir=settings.data_dir, pid_file=settings.data_dir / "bot.pid",
        log_dir=settings.log_dir,
        shutdown_timeout_s=settings.kernel.supervision.shutdown_timeout_s)
