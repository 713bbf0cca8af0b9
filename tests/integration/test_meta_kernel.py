"""In a running kernel: the scheduler runs every job offline with the built-in Meta-Agent,
journals each step, and stays silent when meta.yaml does not enable it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest

from agents.meta.actor import MetaRunner
from agents.meta.messages import MetaJobFinished
from kernel.journal import read_journal
from kernel.microkernel import Kernel
from kernel.registry import actor_factory, default_actors
from kernel.settings import load_settings
from tests.support.meta_world import meta_config

pytestmark = pytest.mark.timeout(60)
EVERYTHING_NOW = """\
enabled: true
start_delay_s: 0
tick_s: 0.05
trading_hours: []
"""


async def finished_rows(path: Path, count: int, timeout_s: float) -> list[MetaJobFinished]:
    deadline = time.monotonic() + timeout_s
    found: list[MetaJobFinished] = []
    while time.monotonic() < deadline:
        rows = read_journal(path, topic_prefix="meta.job", limit=1000) if path.exists() else []
        found = [msgspec.msgpack.decode(r.payload, type=MetaJobFinished) for r in rows
                 if r.kind == "meta_job_finished"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return found


async def test_every_job_runs_offline_in_a_kernel(tmp_path: Path) -> None:
    settings = load_settings(meta_config(tmp_path, None, meta_yaml=EVERYTHING_NOW))
    kernel = Kernel(settings, [actor_factory(MetaRunner, settings)])
    task = asyncio.create_task(kernel.run())
    try:
        await asyncio.wait_for(kernel.ready.wait(), 10)  # the journal's table exists from here
        found = await finished_rows(settings.journal_path, 5, 40)
    finally:
        kernel.request_stop("test finished")
        await asyncio.wait_for(task, 20)
    assert sorted(f.job for f in found) == sorted(
        ["daily-logs", "risk-report", "code-audit", "feature-proposals", "retrain"])
    assert {(f.outcome, f.agent, f.trigger) for f in found} == {
        ("ok", "builtin-offline", "schedule")}
    for row in found:
        report = Path(row.report_path).read_text(encoding="utf-8")
        assert "source: builtin-offline" in report
        assert "offline rules: deterministic, no LLM" in report
    retrain = next(f for f in found if f.job == "retrain")
    assert retrain.proposals == []  # the model has no newer data: nothing to retrain


async def test_the_shipped_registry_is_harmless_in_a_test_kernel(tmp_path: Path) -> None:
    settings = load_settings(meta_config(tmp_path, "ok"))  # meta.yaml enabled: false
    shipped = [make for make in default_actors(settings) if isinstance(make(), MetaRunner)]
    assert len(shipped) == 1  # the scheduler is shipped; run it as kernel run would
    kernel = Kernel(settings, shipped)
    task = asyncio.create_task(kernel.run())
    try:
        await asyncio.wait_for(kernel.ready.wait(), 10)
        assert await finished_rows(settings.journal_path, 1, 1.0) == []
    finally:
        kernel.request_stop("test finished")
        await asyncio.wait_for(task, 20)
    assert not (tmp_path / "meta").exists()
