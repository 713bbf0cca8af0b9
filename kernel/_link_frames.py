"""Bot frames beyond the core contract, which the gateway forwards to the bus.

QuantumEdge may run its own technical, macro or wild-card analysis and send the
verdicts over the link. They are not part of the core contract (``bus/`` knows no
planner types) and the gateway does not know them either: the composition root
(``kernel/registry.py``) names the extra types, and the gateway decodes a frame
with one union of the contract and these types, so a verdict is dispatched by its
tag like any other message and published on its own topic (``verdict.technical``
...). The adapters then decide whether it is fresh enough to use.

A frame that fails to decode is looked at once more, on that error path only: when
its ``type`` is one of the extra tags, the ``error`` reply names the kind of
message and the field (``invalid verdict: ...``) instead of a bare ``bad_frame``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import msgspec

from bus.codec import LinkDecoder, bot_frame_decoder
from bus.protocol import BotToKernel, Message


@dataclass(frozen=True, slots=True)
class LinkFrames:
    """The extra frame types a bot may send, and how a broken one is answered."""

    types: tuple[type[Message], ...] = ()
    noun: str = "message"
    """What an invalid one is called in the ``error`` reply (``invalid verdict: ...``)."""
    code: str = "invalid_message"
    """The ``error`` code of an invalid one."""
    refusals: Mapping[str, tuple[str, str]] = field(init=False)
    """Tag -> (noun, code), for the error path."""

    def __post_init__(self) -> None:
        tags = {str(msgspec.inspect.type_info(t).tag): (self.noun, self.code)  # type: ignore[attr-defined]
                for t in self.types}
        object.__setattr__(self, "refusals", tags)

    def decoder(self) -> LinkDecoder[Any]:
        """One decoder for the contract and the extra types (built once, at start)."""
        if not self.types:
            return bot_frame_decoder
        return LinkDecoder(Union[(BotToKernel, *self.types)])


def frame_tag(frame: bytes) -> str:
    """The frame's ``type``, or "" (only called for a frame that failed to decode)."""
    try:
        raw = msgspec.json.decode(frame) if frame[:1] == b"{" else msgspec.msgpack.decode(frame)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return ""
    tag = raw.get("type") if isinstance(raw, dict) else None
    return tag if isinstance(tag, str) else ""
