"""Events of the alerts feature, journaled like every event.

``alert_failed``: a target could not be reached after every retry (the text of the
error has every secret replaced by ``***``). ``alerts_dropped``: the send queue was
full, so alerts were lost rather than the loop held. ``chat_refused``: a chat not on
the allow-list wrote to the command bot; it got no answer.
"""

from __future__ import annotations

from typing import ClassVar, TypeAlias

from bus.protocol import Message, Text, Timestamp


class AlertFailed(Message, frozen=True, tag="alert_failed"):
    topic: ClassVar[str] = "alerts.failed"
    target: str
    kind: str
    attempts: int
    error: Text
    ts: Timestamp


class AlertsDropped(Message, frozen=True, tag="alerts_dropped"):
    topic: ClassVar[str] = "alerts.dropped"
    count: int
    """Dropped since the last report."""
    last_kind: str
    ts: Timestamp


class ChatRefused(Message, frozen=True, tag="chat_refused"):
    topic: ClassVar[str] = "alerts.chat_refused"
    chat_id: int
    user: str
    text: Text
    ts: Timestamp


AlertsEvent: TypeAlias = AlertFailed | AlertsDropped | ChatRefused
"""Every event of this feature; the kernel composes it into the bus union."""
