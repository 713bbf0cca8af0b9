"""Analysis verdicts sent by the bot over the link, for the verdict adapters.

QuantumEdge may run its own technical, macro or wild-card analysis. Such a
verdict is not part of the core contract (``bus/`` knows no planner types), so
the gateway recognises it here, by its ``type``, only after the contract's own
decoder has refused the frame. A valid verdict is published on its topic
(``verdict.technical`` ...) like one from any external agent, and the adapters
decide whether it is fresh enough to use; an invalid one is answered with an
``error`` naming the field.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from bus.codec import LinkDecoder
from bus.protocol import Message
from planner.messages import MacroVerdict, TechnicalVerdict, WildCardVerdict

VERDICT_TAGS: Final = frozenset({"technical_verdict", "macro_verdict", "wildcard_verdict"})
_decoder: LinkDecoder[Any] = LinkDecoder(TechnicalVerdict | MacroVerdict | WildCardVerdict)


class VerdictRefused(Exception):
    """The frame is a verdict, but not a valid one; the message says why."""


def verdict_tag(frame: bytes) -> str | None:
    """The frame's ``type`` if it names a verdict, else None (cheap enough for a
    frame that already failed to decode as a contract message)."""
    try:
        raw = msgspec.json.decode(frame) if frame[:1] == b"{" else msgspec.msgpack.decode(frame)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    tag = raw.get("type") if isinstance(raw, dict) else None
    return tag if tag in VERDICT_TAGS else None


def decode_verdict(frame: bytes) -> Message:
    """Decode a frame whose tag is a verdict; raise VerdictRefused with the reason."""
    try:
        verdict: Message = _decoder.decode(frame)
    except msgspec.DecodeError as exc:
        raise VerdictRefused(str(exc)) from exc
    return verdict
