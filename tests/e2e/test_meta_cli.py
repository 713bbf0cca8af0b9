"""``kernel meta run`` and ``kernel proposals`` beside a running kernel and a trading bot.

Inside trading hours with the bot running, a manual run is refused unless
``--now``; with it, the run's rows and the decision on its proposal reach the
journal through the running kernel (its bus recorder), never by a second writer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kernel.journal import read_journal
from tests.conftest import write_config
from tests.support.meta_world import add_meta_agent
from tests.support.processes import KernelProcess

pytestmark = pytest.mark.timeout(120)
WHOLE_DAY = "enabled: false\ntrading_hours: [{start: '00:00', end: '00:00'}]\n"


def wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen within {timeout_s} s")
        time.sleep(0.05)


def bot_running(journal: Path) -> bool:
    rows = read_journal(journal, topic_prefix="bot.state", limit=100_000) \
        if journal.exists() else []
    return any(b'running' in row.payload for row in rows[-1:])


def test_manual_runs_and_decisions_go_through_the_running_kernel(tmp_path: Path) -> None:
    process = KernelProcess(tmp_path)
    config = write_config(tmp_path, ports=process.ports, mode="paper", meta_yaml=WHOLE_DAY,
                          bot_command=json.dumps(["{python}", "scripts/run_bot.py",
                                                  "--orphan-timeout", "2", "--bot-id",
                                                  "qe-meta"]))
    add_meta_agent(config, tmp_path, "ok")
    process.start()
    try:
        wait_for(lambda: bot_running(process.journal_path), 20, "a running bot")
        refused = process.cli("meta", "run", "risk-report")
        assert refused.returncode == 9, refused.stderr
        assert b"inside trading hours (00:00-00:00 every day)" in refused.stderr
        assert b"Add --now" in refused.stderr

        ran = process.cli("meta", "run", "risk-report", "--now")
        assert ran.returncode == 0, ran.stderr
        assert b"journaled through the running kernel" in ran.stdout
        task = next(tmp_path.glob("meta/inbox/risk-report-*.md")).read_text()
        assert "Report on the risk engine" in task and "## Proposals (optional)" in task

        approved = process.cli("proposals", "approve", "1", "--reason", "reviewed")
        assert approved.returncode == 0, approved.stderr
        assert (config / "risk.yaml.proposed").exists()
    finally:
        assert process.stop() == 0, process.stderr()
    rows = read_journal(process.journal_path, topic_prefix="meta.", limit=100_000)
    assert [r.kind for r in rows] == ["meta_job_started", "proposal_created",
                                      "proposal_created", "meta_job_finished",
                                      "proposal_decided"]
    assert {r.source for r in rows} == {"control:kernel-meta"}
