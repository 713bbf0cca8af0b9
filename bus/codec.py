"""Encoding and decoding of link frames and bus frames, built once and reused.

A link frame is one msgpack document, or a JSON document when its first byte is
``{`` (answered in JSON too). A bus frame is ``[topic, payload, header]``: the
dotted topic first so that SUB sockets can filter by prefix, the msgpack payload
second, and a small header naming the publisher third. Plain subscribers may
read only the first two frames.
"""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar

import msgspec

from bus.protocol import BotToKernel, KernelToBot, Message, TradePlanReply

T = TypeVar("T")

_msgpack_encoder: Final = msgspec.msgpack.Encoder()
_json_encoder: Final = msgspec.json.Encoder()


class Header(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Third bus frame: who published, and whether the journal already has it.

    ``journaled`` is set by publishers inside the kernel, which hand the same
    bytes to the journal directly (no loss even when a subscriber lags); the
    journal records every other frame it sees on the bus. Untracked by the garbage
    collector, like the :class:`~bus.pubsub.BusFrame` that holds it (no cycle can
    pass through a str and a bool).
    """

    source: str
    journaled: bool = False


_header_decoder: Final = msgspec.msgpack.Decoder(Header)


def encode(message: Message | TradePlanReply) -> bytes:
    """msgpack bytes of a message (its ``type`` tag included).

    Any bus or link message: a :class:`Message`, or the link's :class:`TradePlanReply`
    view, which is tagged the same way but is not a ``Message``.
    """
    return _msgpack_encoder.encode(message)


def encode_json(message: Any) -> bytes:
    return _json_encoder.encode(message)


def is_json(frame: bytes) -> bool:
    """A link frame whose first byte is ``{`` is JSON; anything else is msgpack."""
    return frame[:1] == b"{"


class LinkDecoder(Generic[T]):
    """Decodes link frames of either encoding into one union of Structs."""

    def __init__(self, union: Any) -> None:
        """``union`` is a Struct type or a union of them (which mypy cannot spell as type[T])."""
        self._msgpack = msgspec.msgpack.Decoder(union)
        self._json = msgspec.json.Decoder(union)

    def decode(self, frame: bytes) -> T:
        """Raise ``msgspec.DecodeError`` (or its ``ValidationError``) on bad input."""
        decoded: T = self._json.decode(frame) if is_json(frame) else self._msgpack.decode(frame)
        return decoded


def encode_header(source: str, *, journaled: bool = False) -> bytes:
    return _msgpack_encoder.encode(Header(source, journaled))


def decode_header(frame: bytes) -> Header:
    """A missing or unreadable header means an unknown publisher, not an error."""
    try:
        return _header_decoder.decode(frame)
    except msgspec.DecodeError:
        return Header("unknown")


def to_builtins(payload: bytes) -> Any:
    """Decode any msgpack payload to plain Python objects, for viewers and logs."""
    return msgspec.msgpack.decode(payload)


bot_frame_decoder: Final[LinkDecoder[BotToKernel]] = LinkDecoder(BotToKernel)
"""What the gateway uses: only the types a bot may send decode."""

kernel_frame_decoder: Final[LinkDecoder[KernelToBot]] = LinkDecoder(KernelToBot)
"""What the bot library uses."""
