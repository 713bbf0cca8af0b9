"""The full message union, composed explicitly from every domain's union alias.

Each domain declares its own messages and one alias naming all of them
(``bus.protocol.LinkBusMessage``, ``kernel.events.KernelEvent``,
``risk.messages.RiskEvent``, ...); the kernel is the composition root that knows
them all, and this module is where it says so. A new message type joins its
domain's alias; a new domain joins :data:`BusMessage` here. A test walks every
module of the packages and fails when a tagged ``Message`` is in no alias, so a
forgotten one is found before a decoder refuses it.
"""

from __future__ import annotations

import functools
from typing import TypeAlias, get_args

import msgspec

from agents.alerts.messages import AlertsEvent
from agents.audit.messages import AuditEvent
from agents.feeds.messages import FeedsEvent
from agents.meta.messages import MetaEvent
from agents.moderator.messages import LlmEvent
from agents.watchdog.messages import WatchdogEvent
from bus.protocol import LinkBusMessage, Message
from kernel.events import KernelEvent
from planner.messages import PlannerMessage
from risk.messages import RiskEvent

BusMessage: TypeAlias = (
    LinkBusMessage | KernelEvent | RiskEvent | PlannerMessage | WatchdogEvent | AuditEvent
    | LlmEvent | MetaEvent | FeedsEvent | AlertsEvent
)
"""Every message that travels the bus and is journaled."""


def message_types() -> tuple[type[Message], ...]:
    """Every member of :data:`BusMessage`, sorted by tag; a tag used twice is an error."""
    found: dict[str, type[Message]] = {}
    for cls in get_args(BusMessage):
        tag = cls.__struct_config__.tag
        if not isinstance(tag, str):
            raise TypeError(f"{cls} has no tag: every bus message needs one")
        previous = found.setdefault(tag, cls)
        if previous is not cls:
            raise TypeError(f"message tag {tag!r} used by both {previous} and {cls}")
    return tuple(found[tag] for tag in sorted(found))


@functools.cache
def _decoder() -> msgspec.msgpack.Decoder[BusMessage]:
    message_types()  # the clearer error first, should a tag be used twice
    return msgspec.msgpack.Decoder(BusMessage)


def decode_message(payload: bytes) -> Message:
    """Decode any bus payload into its Struct; raises ``msgspec.DecodeError``."""
    message: Message = _decoder().decode(payload)
    return message
