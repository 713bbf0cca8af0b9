"""A row's severity read from the message the emitter holds equals the one decoded
from its payload, for every kind of value the rule can meet."""

from __future__ import annotations

import msgspec
import pytest

from bus.codec import encode
from bus.protocol import OrderDecision, OrderRequest, make_decision
from kernel.emitter import tag_of
from kernel.event_format import severity_of, severity_of_message
from kernel.events import AnomalyDetected, BotLifecycleChanged, KernelStateChanged
from tests.unit.test_summaries import CASES

T = 1_800_000_000.0


class _Odd(msgspec.Struct, frozen=True, tag_field="type", tag="test_odd_state"):
    """A state that is not a short ASCII word: the payload path decides."""

    state: object = None
    verdict: object = None


def _decision(verdict: str) -> OrderDecision:
    return make_decision(request_id="r1", verdict=verdict,  # type: ignore[arg-type]
                         code="allowed" if verdict == "ALLOW" else "internal_error",
                         reason="x", trading_state="ACTIVE", bot_id="qe", ts=1.0)


MESSAGES: list[msgspec.Struct] = [
    *(case[0] for case in CASES),
    _decision("ALLOW"), _decision("DENY"),
    OrderRequest(request_id="r", bot_id="qe", ts=T, symbol="BTCUSDT", side="buy", qty=1.0,
                 price=1.0),
    AnomalyDetected(kind="k", severity="error", ts=T, source="s"),
    KernelStateChanged(state="halted", ts=T),
    BotLifecycleChanged(bot_id="qe", state="hung", ts=T),
    _Odd(state="halted" + " " * 70),  # too long for the decoder's look: not "error"
    _Odd(state="hält"),  # not ASCII
    _Odd(state=["halted"]),
    _Odd(state={"current": "halted"}),
    _Odd(verdict="DENY", state=1.5),
    _Odd(verdict=True, state=None),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_the_severity_from_the_message_is_the_one_from_its_payload(
        message: msgspec.Struct) -> None:
    payload = encode(message)  # type: ignore[arg-type]
    kind = tag_of(message)  # type: ignore[arg-type]
    assert severity_of_message(kind, message, payload) == severity_of(kind, payload)


def test_the_rules_own_cases_keep_their_levels() -> None:
    for message, _, level in CASES:
        kind = tag_of(message)  # type: ignore[arg-type]
        assert severity_of_message(kind, message, encode(message)) == level  # type: ignore[arg-type]


def test_a_type_whose_encoding_is_not_its_field_names_is_decoded() -> None:
    class Renamed(msgspec.Struct, rename="camel", tag="test_renamed"):
        manual_close_needed: bool = True

    class Short(msgspec.Struct, omit_defaults=True, tag="test_short"):
        verdict: str = "DENY"

    for message in (Renamed(), Short()):
        payload = msgspec.msgpack.encode(message)
        kind = str(type(message).__struct_config__.tag)
        assert severity_of_message(kind, message, payload) == severity_of(kind, payload)
