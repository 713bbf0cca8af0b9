"""A bot that floods its output cannot fill the disk the journal lives on."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.support.watchdog_harness import WatchdogKernel, start_watchdog

__all__ = ["start_watchdog"]  # the fixture, used by name

FLOOD = "import sys\nline = 'x' * 200 + '\\n'\nwhile True:\n    sys.stdout.write(line)\n"


async def test_a_flooding_bot_is_logged_within_the_bounds_and_the_rest_is_said(
    start_watchdog: Any,
) -> None:
    bounds = {"max_file_mb": 0.25, "files_kept": 3, "max_kb_per_s": 128}
    harness: WatchdogKernel = await start_watchdog(
        json.dumps(["{python}", "-c", FLOOD]), watchdog={"output_log": bounds})
    await harness.wait_state("starting")
    await asyncio.sleep(3)  # unbounded, this was hundreds of megabytes
    dropped = await harness.wait_for(
        lambda: [a for a in harness.events("anomaly") if a["kind"] == "bot_output_dropped"],
        10, "a bot_output_dropped anomaly")
    assert await harness.stop() == 0
    logs = sorted(harness.settings.log_dir.glob("bot-*.log"))
    total = sum(p.stat().st_size for p in logs)
    assert len(logs) <= 3 and total <= 3 * 0.25 * 2**20 + 4096, [p.name for p in logs]
    assert "not written: the bot printed more than output_log.max_kb_per_s (128 KB/s)" \
        in dropped[0]["detail"] and dropped[0]["severity"] == "warning"
    text = "".join(p.read_text(errors="replace") for p in logs)
    assert "[supervisor]" in text and "were not logged" in text
