"""The composition root: every shipped actor, in start order, built with its own config slice.

No actor sees the whole settings: each is constructed with a small slice of them,
cut in ``kernel/registry.py`` with its paths resolved against the project root as
``Settings.resolve`` does; an actor built without its slice fails at once.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from agents.risk.actor import RiskEngine
from kernel.actor import Actor, ActorContext
from kernel.registry import (
    actor_factory,
    audit_slice,
    default_actors,
    meta_slice,
    moderator_slice,
    planner_slice,
    watchdog_slice,
)
from kernel.settings import Settings, load_settings
from tests.conftest import write_config

START_ORDER = ["risk", "auditor", "options_selector", "planner", "moderator", "meta",
               "macro_adapter", "wildcard_adapter", "technical_adapter", "feeds", "watchdog"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(write_config(tmp_path, mode="demo", audit_yaml="archive_dir: old\n"))


def test_every_shipped_actor_is_built_fresh_in_start_order(settings: Settings) -> None:
    factories = default_actors(settings)
    first, second = [make() for make in factories], [make() for make in factories]
    assert [actor.name for actor in first] == START_ORDER
    assert all(a is not b and type(a) is type(b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("index", range(len(START_ORDER)))
def test_an_actor_built_without_its_slice_fails_clearly(settings: Settings, index: int) -> None:
    kind = type(default_actors(settings)[index]())
    with pytest.raises(TypeError, match="config"):
        kind()


def test_the_context_carries_no_configuration() -> None:
    assert "settings" not in inspect.signature(ActorContext).parameters


def test_slices_hold_the_paths_resolved_against_the_project_root(
        settings: Settings, tmp_path: Path) -> None:
    root = tmp_path.resolve()
    watchdog = watchdog_slice(settings)
    assert watchdog.pid_file == root / "data" / "bot.pid"
    assert watchdog.log_dir == root / "logs"
    assert watchdog.bot_cwd == settings.resolve(settings.paths.bot.cwd)
    assert watchdog.mode == "demo"
    assert watchdog.gateway_endpoint == settings.kernel.gateway.endpoint
    assert watchdog.shutdown_timeout_s == settings.kernel.supervision.shutdown_timeout_s
    audit = audit_slice(settings)
    assert (audit.reports_dir, audit.archive_dir) == (root / "reports", root / "old")
    assert audit.utc_offset_s == settings.risk.utc_offset_s
    meta = meta_slice(settings)
    assert (meta.inbox, meta.outbox) == (root / "meta" / "inbox", root / "meta" / "outbox")
    assert meta.journal_path == settings.journal_path == root / "data" / "journal.sqlite3"
    assert meta.risk_yaml == settings.config_dir / "risk.yaml"
    assert meta.agent_command == () and meta.agent_cwd == root


def test_the_audit_archive_defaults_to_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, audit_yaml="retention_days: 30\n"))
    assert audit_slice(settings).archive_dir == tmp_path.resolve() / "data" / "archive"


def test_slices_carry_the_config_files_as_loaded(settings: Settings) -> None:
    moderator = moderator_slice(settings)
    assert (moderator.moderator, moderator.llm) == (settings.moderator, settings.llm)
    assert moderator.min_risk_multiplier == settings.risk.risk_multiplier.min
    planner = planner_slice(settings)
    assert (planner.planner, planner.events, planner.llm) == (
        settings.planner, settings.events, settings.llm)


def test_a_factory_takes_options_and_subclasses_of_shipped_actors(settings: Settings) -> None:
    class Slow(RiskEngine):
        pass

    engine = actor_factory(Slow, settings, tick_s=7.0)()
    assert isinstance(engine, Slow) and engine._tick_s == 7.0
    assert engine._limits == settings.risk


def test_an_actor_the_root_does_not_ship_has_no_slice(settings: Settings) -> None:
    class Own(Actor):
        name = "own"

    with pytest.raises(LookupError, match=r"Own is not an actor kernel/registry\.py ships"):
        actor_factory(Own, settings)


def test_in_a_fleet_each_bots_engine_and_watchdog_hear_that_bot_alone(tmp_path: Path) -> None:
    """The kernel routes a message for one bot to the actors whose ``bots()`` name it
    (bus/pubsub.py); every other shipped actor hears every bot's."""
    settings = load_settings(write_config(tmp_path, bots="- {id: qe-1}\n- {id: qe-2}\n"))
    heard = {(actor := make()).name: actor.bots() for make in default_actors(settings)}
    for bot in ("qe-1", "qe-2"):
        assert heard[f"risk.{bot}"] == heard[f"watchdog.{bot}"] == frozenset({bot})
    assert {name for name, bots in heard.items() if bots is not None} == {
        "risk.qe-1", "risk.qe-2", "watchdog.qe-1", "watchdog.qe-2"}
    one = {(actor := make()).name: actor.bots() for make in default_actors(
        load_settings(write_config(tmp_path / "one")))}
    assert set(one.values()) == {None}  # the one-bot shorthand: no routing
