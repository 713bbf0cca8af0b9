"""``kernel status --json`` prints the risk engine's money as plain JSON numbers."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bus.codec import encode
from kernel.console.commands.status import _JSON, snapshot_as_builtins
from kernel.control_protocol import SnapshotReply, StatusReply
from risk import snapshot
from tests.unit.risk.risk_world import NOW, limits, ready


def _reply(latest: dict[str, bytes]) -> SnapshotReply:
    status = StatusReply(version="t", pid=1, uptime_s=1.0, mode="paper", trading_state="ACTIVE",
                         gate="risk", endpoints={}, actors=[], bots=[], journal_path="j",
                         journal_last_seq=0, decisions=0, anomalies={})
    return SnapshotReply(status=status, latest=latest)


def test_money_is_a_number_with_its_digits() -> None:
    lim = limits()
    state = msgspec.structs.replace(ready(lim), cash=Decimal("977.7924599999999"))
    body = _JSON.encode(snapshot_as_builtins(_reply({"risk.state": encode(
        snapshot(state, lim, NOW))})))
    assert b'"equity":977.79246,' in body
    risk = msgspec.json.decode(body)["latest"]["risk.state"]
    assert risk["type"] == "risk_snapshot" and risk["max_leverage"] == 2
    assert isinstance(risk["daily_loss"], int | float)


def test_a_payload_this_version_does_not_know_stays_plain_data() -> None:
    body = _JSON.encode(snapshot_as_builtins(_reply({
        "x.y": msgspec.msgpack.encode({"type": "from_the_future", "n": "1.5"})})))
    assert msgspec.json.decode(body)["latest"]["x.y"] == {"type": "from_the_future", "n": "1.5"}
