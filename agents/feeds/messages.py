"""What the feeds say about themselves: ``feeds.state``, for ``kernel status`` and the dashboard."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from bus.protocol import Message, Timestamp

FeedCondition = Literal["off", "waiting", "ok", "degraded"]
Line = Annotated[str, msgspec.Meta(max_length=512)]


class FeedLine(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=64)]
    condition: FeedCondition
    detail: Line = ""
    """Why it is off, what it last fetched, or its error and when it is retried."""
    as_of: Timestamp | None = None
    """The newest data point it delivered."""


class FeedsState(Message, frozen=True, tag="feeds_state"):
    """Each configured feed's standing, on start and whenever one changes."""

    topic: ClassVar[str] = "feeds.state"
    ts: Timestamp
    feeds: Annotated[list[FeedLine], msgspec.Meta(max_length=16)] = msgspec.field(
        default_factory=list)


FeedsEvent: TypeAlias = FeedsState

