"""The full message union, composed from every domain's message module.

Each domain declares its own events (``bus/protocol.py`` for the bot link,
``kernel/events.py``, ``risk/messages.py``, ...); the kernel is the composition
root that knows them all. The union is every concrete subclass of
:class:`bus.protocol.Message` once those modules are imported, so adding a
message type to a domain module is enough to make it travel the bus.
"""

from __future__ import annotations

import functools
from typing import Any, Union

import msgspec

import agents.audit.messages  # registers its Message subclasses
import agents.meta.messages  # registers its Message subclasses
import agents.moderator.messages  # registers its Message subclasses
import agents.watchdog.messages  # noqa: F401  (registers its Message subclasses)
import kernel.events  # noqa: F401  (registers its Message subclasses)
import planner.messages  # noqa: F401  (registers its Message subclasses)
import risk.messages  # noqa: F401  (registers its Message subclasses)
from bus.protocol import Message


def message_types() -> tuple[type[Message], ...]:
    """Every tagged Message subclass, sorted by tag for a stable union."""
    found: dict[str, type[Message]] = {}
    pending: list[type[Message]] = list(Message.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        tag = cls.__struct_config__.tag
        if isinstance(tag, str):
            previous = found.setdefault(tag, cls)
            if previous is not cls:
                raise TypeError(f"message tag {tag!r} used by both {previous} and {cls}")
    return tuple(found[tag] for tag in sorted(found))


@functools.cache
def _decoder() -> msgspec.msgpack.Decoder[Any]:
    union: Any = Union[message_types()]  # noqa: UP007  (a runtime-built union)
    return msgspec.msgpack.Decoder(union)


def decode_message(payload: bytes) -> Message:
    """Decode any bus payload into its Struct; raises ``msgspec.DecodeError``."""
    message: Message = _decoder().decode(payload)
    return message
