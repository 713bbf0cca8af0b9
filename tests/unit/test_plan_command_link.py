"""The planner's plan as a bot reads it: ``TradePlanReply`` must decode every real plan.

The kernel sends the planner's own ``TradePlan``; the link library decodes it
through a view in ``bus/protocol.py`` that does not import the planner. If the
two drift apart, bots stop understanding plans: these tests catch it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bus.codec import encode, encode_json, kernel_frame_decoder
from bus.protocol import TradePlanReply
from kernel.console._plan_request import load_request
from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.messages import TradePlan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def plan(name: str) -> TradePlan:
    config = PlannerConfig()
    inputs = load_request(EXAMPLES / f"{name}.json", config, None)
    v = inputs.verdicts
    made = build_plan(v.technical, v.macro, v.wildcard, inputs.snapshot, inputs.account,
                      inputs.style, inputs.now, config)
    return msgspec.structs.replace(made, request_id="ask-7")


@pytest.mark.parametrize("name", ["stock_day_long", "crypto_scalp_short", "no_trade_neutral"])
@pytest.mark.parametrize("encoder", [encode, encode_json], ids=["msgpack", "json"])
def test_every_plan_decodes_as_the_link_view(name: str,
                                              encoder: Callable[[Any], bytes]) -> None:
    made = plan(name)
    reply = kernel_frame_decoder.decode(encoder(made))
    assert isinstance(reply, TradePlanReply)
    assert (reply.request_id, reply.symbol, reply.decision, reply.direction, reply.confidence) \
        == ("ask-7", made.symbol, made.decision, made.direction, made.confidence)
    assert reply.no_trade_reasons == made.no_trade_reasons
    if made.position is not None:
        assert reply.position is not None
        assert reply.position["quantity"] == made.position.quantity
        assert reply.stop_loss is not None and len(reply.targets) == 2


def test_the_view_names_only_fields_the_plan_has() -> None:
    view = set(TradePlanReply.__struct_fields__)
    assert view <= set(TradePlan.__struct_fields__)
