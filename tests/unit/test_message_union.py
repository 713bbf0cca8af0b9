"""The bus union is composed by hand (``kernel/messages.py``); these tests keep it whole.

Every module of the packages is imported and every tagged ``Message`` subclass
found is compared with the union's members: a message defined but left out of its
domain's alias fails here, naming it, rather than in a decoder at run time.
"""

from __future__ import annotations

import importlib
import typing
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from bus.protocol import Message
from kernel.messages import BusMessage, decode_message, message_types

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bus", "kernel", "agents", "risk", "planner")
DOMAINS: dict[str, tuple[str, str]] = {
    "bus.protocol": ("bus.protocol", "LinkBusMessage"),
    "kernel.events": ("kernel.events", "KernelEvent"),
    "risk.messages": ("risk.messages", "RiskEvent"),
    "planner.messages": ("planner.messages", "PlannerMessage"),
    "planner.contracts": ("planner.messages", "PlannerMessage"),
    "agents.watchdog.messages": ("agents.watchdog.messages", "WatchdogEvent"),
    "agents.audit.messages": ("agents.audit.messages", "AuditEvent"),
    "agents.moderator.messages": ("agents.moderator.messages", "LlmEvent"),
    "agents.meta.messages": ("agents.meta.messages", "MetaEvent"),
    "agents.feeds.messages": ("agents.feeds.messages", "FeedsEvent"),
    "agents.alerts.messages": ("agents.alerts.messages", "AlertsEvent"),
}
"""Module that defines messages -> the module and name of the alias that lists them."""


def members_of(alias: typing.Any) -> tuple[typing.Any, ...]:
    """The types an alias names: a union's members, or the one type of a one-type domain."""
    return typing.get_args(alias) or (alias,)


def _module_names() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return names


def _defined_messages() -> list[type[Message]]:
    """Every tagged Message subclass defined in our packages, after importing them all."""
    for name in _module_names():
        importlib.import_module(name)
    found: list[type[Message]] = []
    pending = list(Message.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PACKAGES and isinstance(
                cls.__struct_config__.tag, str):
            found.append(cls)
    return found


def _label(classes: typing.Iterable[type]) -> list[str]:
    return sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)


def test_every_message_of_the_packages_is_in_the_bus_union() -> None:
    defined = set(_defined_messages())
    members = set(typing.get_args(BusMessage))
    assert _label(defined - members) == [], "add these to their domain's alias"
    assert _label(members - defined) == [], "in the union but not a tagged Message of ours"
    assert set(message_types()) == members


def test_message_tags_are_unique() -> None:
    by_tag: dict[str, list[type[Message]]] = defaultdict(list)
    for cls in _defined_messages():
        by_tag[str(cls.__struct_config__.tag)].append(cls)
    assert {tag: _label(c) for tag, c in by_tag.items() if len(c) > 1} == {}


def test_each_message_is_in_the_alias_of_its_own_domain() -> None:
    """A message joins the union through its domain's alias, not through another's."""
    misplaced = []
    for cls in _defined_messages():
        if cls.__module__ not in DOMAINS:
            misplaced.append(f"{cls.__module__}.{cls.__qualname__}: a new domain; give it an "
                             "alias, add that to kernel/messages.py and to DOMAINS here")
            continue
        module, alias = DOMAINS[cls.__module__]
        if cls not in members_of(getattr(importlib.import_module(module), alias)):
            misplaced.append(f"{cls.__module__}.{cls.__qualname__}: not in {module}.{alias}")
    assert misplaced == []


@pytest.mark.parametrize(("module", "alias"), sorted(set(DOMAINS.values())))
def test_domain_aliases_hold_only_tagged_messages(module: str, alias: str) -> None:
    for cls in members_of(getattr(importlib.import_module(module), alias)):
        assert issubclass(cls, Message) and isinstance(cls.__struct_config__.tag, str), cls


def test_the_decoder_reads_a_message_of_every_domain() -> None:
    from agents.audit.messages import TradeClosed
    from kernel.events import KernelStateChanged
    from risk.messages import DayRolled

    for message in (KernelStateChanged(state="running", ts=1.0),
                    DayRolled(previous_day="2026-01-01", day="2026-01-02", ts=2.0),
                    TradeClosed(bot_id="b", symbol="BTCUSDT", direction="long",
                                qty=Decimal(1), entry_price=Decimal(1), exit_price=Decimal(2),
                                pnl=Decimal(1), request_id="r", ts=3.0)):
        assert decode_message(msgspec.msgpack.encode(message)) == message
