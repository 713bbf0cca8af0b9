"""The bot-link contract: golden bytes that must not drift, and bounds that must hold.

A bot built against the files in ``tests/fixtures/wire`` keeps working only if
today's encoder produces exactly those bytes and today's decoder reads them
back; and the kernel can trust a decoded message only if every bound rejects
what it should (non-positive quantities, unknown words, NaN and infinities,
wrong shapes, truncated frames).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from bus.codec import (
    LinkDecoder,
    bot_frame_decoder,
    encode,
    encode_json,
    is_json,
    kernel_frame_decoder,
)
from bus.protocol import (
    BOT_TO_KERNEL_TAGS,
    PROTOCOL_VERSION,
    Heartbeat,
    LinkMessage,
    OrderRequest,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _load_fixture_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_wire_fixtures",
                                                  FIXTURES / "make_wire_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


maker = _load_fixture_maker()
SAMPLES: dict[str, LinkMessage] = maker.SAMPLES
any_link_frame: LinkDecoder[LinkMessage] = LinkDecoder(LinkMessage)


def golden(file_name: str) -> bytes:
    return (FIXTURES / "wire" / file_name).read_bytes()


def test_every_contract_type_has_a_sample() -> None:
    tags = {type(m).__struct_config__.tag for m in SAMPLES.values()}
    assert tags == set(SAMPLES) == BOT_TO_KERNEL_TAGS | {"welcome", "order_decision", "command",
                                                         "error", "trade_plan"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_encoding_matches_the_golden_bytes(name: str) -> None:
    assert encode(SAMPLES[name]) == golden(f"{name}.msgpack")
    assert encode_json(SAMPLES[name]) == golden(f"{name}.json")


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("suffix", ["msgpack", "json"])
def test_golden_bytes_decode_back_to_the_sample(name: str, suffix: str) -> None:
    frame = golden(f"{name}.{suffix}")
    assert is_json(frame) == (suffix == "json")
    direction = bot_frame_decoder if name in BOT_TO_KERNEL_TAGS else kernel_frame_decoder
    assert direction.decode(frame) == SAMPLES[name]
    assert any_link_frame.decode(frame) == SAMPLES[name]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_side_refuses_the_other_sides_types(name: str) -> None:
    wrong_side = kernel_frame_decoder if name in BOT_TO_KERNEL_TAGS else bot_frame_decoder
    with pytest.raises(msgspec.ValidationError, match="Invalid value"):
        wrong_side.decode(golden(f"{name}.msgpack"))


def test_the_tag_comes_first_and_json_is_plain() -> None:
    assert golden("hello.json").startswith(b'{"type":"hello",')
    assert msgspec.json.decode(golden("hello.json"))["protocol"] == PROTOCOL_VERSION


def test_unknown_fields_are_ignored_so_newer_peers_still_talk() -> None:
    raw = msgspec.json.decode(golden("order_request.json"))
    raw["time_in_force"] = "IOC"
    assert bot_frame_decoder.decode(msgspec.json.encode(raw)) == SAMPLES["order_request"]


def test_defaults_fill_fields_a_minimal_bot_leaves_out() -> None:
    frame = (b'{"type":"order_request","request_id":"r1","bot_id":"b","ts":1.0,'
             b'"symbol":"BTCUSDT","side":"sell","qty":1,"price":2}')
    order = bot_frame_decoder.decode(frame)
    assert isinstance(order, OrderRequest)
    assert (order.order_type, order.reduce_only, order.leverage) == ("limit", False, 1.0)


def _order(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = msgspec.json.decode(golden("order_request.json"))
    raw.update(changes)
    return raw


@pytest.mark.parametrize("changes", [
    {"qty": 0.0}, {"qty": -0.01}, {"side": "hold"}, {"side": "BUY"},
    {"price": math.nan}, {"price": math.inf}, {"price": -math.inf}, {"price": 0.0},
    {"qty": math.nan}, {"leverage": 0.5}, {"ts": -1.0}, {"request_id": ""},
    {"request_id": "x" * 129}, {"order_type": "stop"}, {"reduce_only": "yes"},
    {"price": "64250.5"}, {"qty": [1.0]}, {"type": "order_requests"}, {"type": None},
])
def test_order_requests_out_of_bounds_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        bot_frame_decoder.decode(msgspec.msgpack.encode(_order(**changes)))


@pytest.mark.parametrize("frame", [
    b"", b"\x85", golden("order_request.msgpack")[:-3], b"{", b'{"type":"hello"',
    b'{"type":"order_request","price":NaN}', b"\xc1",
])
def test_truncated_or_garbled_frames_are_rejected(frame: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        bot_frame_decoder.decode(frame)


@pytest.mark.parametrize("frame", [
    msgspec.msgpack.encode([1, 2, 3]), msgspec.msgpack.encode("hello"), b"[1,2]",
    msgspec.msgpack.encode({"bot_id": "b"}), msgspec.msgpack.encode({"type": "order_request"}),
    b'{"type":"order_request","request_id":"r","bot_id":"b","ts":1,"symbol":"X",'
    b'"side":"buy","qty":1,"price":1e999}',
])
def test_wrong_shapes_are_rejected(frame: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        bot_frame_decoder.decode(frame)


@pytest.mark.parametrize(("name", "changes"), [
    ("heartbeat", {"positions": [{"symbol": "BTCUSDT", "qty": 1, "avg_price": 0,
                                  "mark_price": 1}]}),
    ("heartbeat", {"positions": {"symbol": "BTCUSDT"}}),
    ("heartbeat", {"equity": math.inf}),
    ("heartbeat", {"seq": -1}),
    ("hello", {"mode": "live"}),
    ("fill", {"qty": 0}),
    ("fill", {"fee": math.nan}),
    ("command_ack", {"command_id": ""}),
    ("welcome", {"heartbeat_interval_s": 0}),
    ("welcome", {"risk_multiplier": 11}),
    ("order_decision", {"verdict": "MAYBE"}),
    ("command", {"action": "buy_everything"}),
    ("command", {"params": {"nested": {"a": 1}}}),
])
def test_other_types_out_of_bounds_are_rejected(name: str, changes: dict[str, Any]) -> None:
    raw = msgspec.json.decode(golden(f"{name}.json"))
    raw.update(changes)
    with pytest.raises(msgspec.ValidationError):
        any_link_frame.decode(msgspec.msgpack.encode(raw))


def test_a_flat_position_and_a_short_are_valid() -> None:
    raw = msgspec.json.decode(golden("heartbeat.json"))
    raw["positions"][0]["qty"] = 0.0
    beat = bot_frame_decoder.decode(msgspec.msgpack.encode(raw))
    assert isinstance(beat, Heartbeat)
    assert [p.qty for p in beat.positions] == [0.0, -0.5]


def test_the_fixture_files_are_what_the_maker_writes() -> None:
    assert maker.main(["--check"]) == 0
