"""Shadow limits in a real kernel: ``config/risk.shadow.yaml`` is judged beside the real
limits on every order through the bot link; the decision never changes, each order
the shadow would have answered otherwise is journaled as ``shadow.decision``, and
the risk snapshot (``kernel status``) carries the counts."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KernelHarness
from tests.integration._risk_link import (
    RISK_YAML,
    Engines,
    ask,
    journal_bodies,
    ready_bot,
    until,
)

pytestmark = pytest.mark.timeout(30)

SHADOW_YAML = RISK_YAML.replace("max_order_notional: 2500", "max_order_notional: 1000")


async def test_the_shadow_never_decides_and_journals_each_difference(
    tmp_path: Path, start_kernel: Any,
) -> None:
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "risk.shadow.yaml").write_text(textwrap.dedent(SHADOW_YAML),
                                                          encoding="utf-8")
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    try:
        big = await ask(bot, "big", qty=0.03)  # 1,500 USDT: within 2,500, over the shadow's 1,000
        small = await ask(bot, "small", qty=0.01)  # 500 USDT: within both
    finally:
        bot.close()
    assert (big.verdict, small.verdict) == ("ALLOW", "ALLOW")
    rows = journal_bodies(harness, "shadow.decision")
    assert [(r["request_id"], r["verdict"], r["shadow_verdict"], r["shadow_code"])
            for r in rows] == [("big", "ALLOW", "DENY", "fat_finger_notional")]
    assert "1000" in rows[0]["shadow_reason"]

    def counted() -> dict[str, Any] | None:
        found = [s["shadow"] for s in journal_bodies(harness, "risk.state") if s.get("shadow")]
        return found[-1] if found and found[-1]["orders"] == 2 else None

    await until(counted, "a snapshot with the shadow's counts")
    assert counted() == {"orders": 2, "allow_to_deny": 1, "deny_to_allow": 0, "other_code": 0}


async def test_without_the_file_there_is_no_shadow(tmp_path: Path, start_kernel: Any) -> None:
    engines = Engines()
    harness: KernelHarness = await start_kernel(actors=[engines], risk_yaml=RISK_YAML)
    bot = await ready_bot(harness, engines)
    try:
        assert (await ask(bot, "big", qty=0.03)).verdict == "ALLOW"
    finally:
        bot.close()
    assert journal_bodies(harness, "shadow.decision") == []
    assert all(s.get("shadow") is None for s in journal_bodies(harness, "risk.state"))
