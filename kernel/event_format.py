"""The one event format: every journal row is time, seq, topic, source, severity, typed body.

The journal stores what the emitter hands it (``ts``, ``topic``, ``source``, the
message's tag as ``kind`` and its msgpack ``payload``) and derives ``severity``
here, in the writer, so that every row gets one, whoever published it: an actor
in the kernel, the gateway, or a remote peer whose frame the recorder journals.

The rule matches the one ``kernel tap`` colours lines with (``kernel/summaries.py``),
so a person reading the tap and a query over the journal agree: an anomaly
carries its own; a DENY or a wobble is ``warning``; a halt, a crash or a hang
is ``error``; a kernel that halted is ``critical``; routine state reports
(heartbeats, snapshots) are ``debug``; everything else is ``info``. It lives
here, beside the journal, rather than in the tap's presentation code, because
the journal is the record and must not change when a display does.

Only the few fields the rule looks at are decoded (into a small Struct; every
other field is skipped by msgspec without building it), which keeps the cost
near a microsecond per row. The full catalogue of events is in ``docs/audit.md``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

import msgspec

from kernel._alert_summaries import ALERT_SEVERITIES
from kernel._meta_summaries import META_SEVERITIES
from kernel._moderator_summaries import MODERATOR_SEVERITIES

__all__ = ["SEVERITIES", "UNDECODABLE", "severity", "severity_of", "severity_of_message"]

SEVERITIES: Final = ("debug", "info", "warning", "error", "critical")
UNDECODABLE: Final = "warning"
"""Severity of a payload that is not a msgpack map: someone sent what nobody can read."""

ROUTINE: Final = frozenset({"heartbeat", "bot_state", "risk_snapshot", "risk_saved", "bars",
                            "market_snapshot"})
"""Periodic state reports: ``debug``, so that news stands out in a stream."""
FIXED: Final[dict[str, str]] = {
    "limit_tripped": "error", "manual_close_flagged": "error", "limit_warning": "warning",
    "trading_halt_requested": "error", "error": "warning", "close_all_requested": "warning",
    "risk_anomaly": "warning", "operator_command": "warning",
    "operator_command_refused": "warning", "mode_changed": "warning", "orders_released": "warning",
    "mode_change_requested": "warning",
    **ALERT_SEVERITIES,
    **MODERATOR_SEVERITIES,
    **META_SEVERITIES,
}
"""Kinds whose severity does not depend on their fields."""
_BAD_STATES: Final = frozenset({"halted", "HALTED", "FAULTED", "crashed", "hung", "gave_up"})
_UNEASY_STATES: Final = frozenset({"restarting", "disconnected", "REDUCING", "stopping"})
_SHORT_RAW: Final = 64
"""A field longer than this cannot be one of the words the rule compares with."""


class _View(msgspec.Struct):
    """The fields the rule reads; ``Raw`` defers decoding (a ``state`` may be a whole
    nested struct, as in ``risk_saved``, that the rule would ignore). Empty: absent."""

    severity: msgspec.Raw = msgspec.Raw()
    verdict: msgspec.Raw = msgspec.Raw()
    state: msgspec.Raw = msgspec.Raw()
    current: msgspec.Raw = msgspec.Raw()
    expected: msgspec.Raw = msgspec.Raw()
    manual_close_needed: msgspec.Raw = msgspec.Raw()
    outcome: msgspec.Raw = msgspec.Raw()


_DECODER: Final = msgspec.msgpack.Decoder(_View)
_FIELDS: Final = tuple(_View.__struct_fields__)


def severity_of(kind: str, payload: bytes) -> str:
    """The severity of one journal row, from its tag and payload."""
    try:
        view = _DECODER.decode(payload)
    except msgspec.DecodeError:
        return UNDECODABLE
    body: dict[str, Any] = {"type": kind}
    for name in _FIELDS:
        raw = getattr(view, name)
        if 0 < len(raw) <= _SHORT_RAW:
            try:
                body[name] = msgspec.msgpack.decode(raw)
            except msgspec.DecodeError:  # pragma: no cover - a Raw is valid msgpack
                continue
    return severity(body)


def severity_of_message(kind: str, message: msgspec.Struct, payload: bytes) -> str:
    """:func:`severity_of` for a message the caller has just encoded to ``payload``,
    read from the object instead of decoding the bytes again.

    The emitter knows what it encodes; the journal's writer would otherwise decode
    every row once more inside the commit that the order gate waits for. The
    answer is the same by construction: the fields are read only when each holds
    a plain scalar the decoder would have read the same way (a short ASCII string,
    a bool, a number, None); any other value, or a type whose encoding is not one
    map of its own field names, takes the payload path.
    """
    names = _VIEWED.get(type(message))
    if names is None:
        names = _VIEWED[type(message)] = _viewed_fields(type(message))
    if names is _DECODE:
        return severity_of(kind, payload)
    if not names:  # the kind alone decides
        return _by_kind(kind)
    body: dict[str, Any] = {"type": kind}
    for name in names:
        value = getattr(message, name)
        plain = type(value)
        if plain is str:
            if len(value) > _SHORT_TEXT or not value.isascii():
                return severity_of(kind, payload)
        elif plain not in _SCALARS:
            return severity_of(kind, payload)
        body[name] = value
    return severity(body)


_DECODE: Final[tuple[str, ...]] = ("<decode the payload>",)
_VIEWED: Final[dict[type, tuple[str, ...]]] = {}
"""Per message type: the rule's fields it has, or :data:`_DECODE`."""
_SCALARS: Final = frozenset({bool, int, float, type(None)})
_SHORT_TEXT: Final = _SHORT_RAW - 2
"""An ASCII string up to this long encodes within ``_SHORT_RAW`` bytes (header included)."""


@lru_cache(maxsize=256)
def _by_kind(kind: str) -> str:
    return severity({"type": kind})


def _viewed_fields(cls: type) -> tuple[str, ...]:
    config = getattr(cls, "__struct_config__", None)
    fields = getattr(cls, "__struct_fields__", None)
    if (config is None or fields is None or config.array_like or config.omit_defaults
            or getattr(cls, "__struct_encode_fields__", None) != fields):
        return _DECODE
    return tuple(name for name in _FIELDS if name in fields)


def severity(body: Any) -> str:
    """The rule, on a decoded body (a dict with ``type``); the journal and every
    viewer use this one function so a row and its line always agree."""
    if not isinstance(body, dict):
        return "info"
    kind = body.get("type")
    if kind == "anomaly":
        level = str(body.get("severity", "warning"))
        return level if level in SEVERITIES else "warning"
    if kind == "bot_exited":
        return "info" if body.get("expected") else "error"
    if kind == "kernel_state" and body.get("state") == "halted":
        return "critical"
    if kind == "risk_snapshot" and body.get("manual_close_needed"):
        return "error"
    if kind == "operator_answer":
        return "warning" if body.get("outcome") == "refused" else "info"
    if isinstance(kind, str) and kind in FIXED:
        return FIXED[kind]
    state = body.get("current", body.get("state"))
    if isinstance(state, str) and state in _BAD_STATES:
        return "error"
    if body.get("verdict") == "DENY" or (isinstance(state, str) and state in _UNEASY_STATES):
        return "warning"
    return "debug" if kind in ROUTINE else "info"
