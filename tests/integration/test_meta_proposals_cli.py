"""The proposal workflow end to end through the command line, with no kernel running:
``kernel meta run`` makes proposals, ``kernel proposals`` lists, shows, approves and
rejects them, and every step is a journal row (written straight into the journal)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import msgspec
import pytest

from kernel.config import load_yaml
from kernel.journal import read_journal
from risk.limits import RiskLimits
from tests.support.meta_world import meta_config
from tests.support.processes import ROOT, kernel_command

pytestmark = pytest.mark.timeout(120)
ENV = {**{k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}, "NO_COLOR": "1",
       "COLUMNS": "200", "USER": "tester", "LOGNAME": "tester"}


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(kernel_command("--config-dir", str(config), *args), cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=ENV,
                          stdin=subprocess.DEVNULL)


def test_proposals_from_a_run_to_a_reviewed_patch(tmp_path: Path) -> None:
    config = meta_config(tmp_path, "ok")
    risk = config / "risk.yaml"
    before = risk.read_text()

    ran = cli(config, "meta", "run", "code-audit", "--now")
    assert ran.returncode == 0, ran.stderr
    assert "task code-audit-" in ran.stdout and "written to" in ran.stdout
    assert "report by the configured Meta-Agent at" in ran.stdout
    assert 'proposal 1 (risk_rule) pending: "Lower the leverage cap' in ran.stdout
    assert "journaled directly" in ran.stdout

    listed = msgspec.json.decode(cli(config, "proposals", "list", "--json").stdout)
    assert [(p["id"], p["status"], p["draft"]["kind"]) for p in listed] == [
        (1, "pending", "risk_rule"), (2, "pending", "retrain")]

    shown = cli(config, "proposals", "show", "1")
    assert "approval would write this diff" in shown.stdout
    assert "+max_leverage: 1.5" in shown.stdout
    assert "(5 day(s)) under the proposed limits (docs/replay.md): 0 orders" in " ".join(
        shown.stdout.split())  # the evidence: this journal holds no order yet

    approved = cli(config, "proposals", "approve", "1", "--reason", "agreed after review")
    assert approved.returncode == 0, approved.stderr
    assert "Nothing was applied" in approved.stdout
    assert risk.read_text() == before
    assert load_yaml(config / "risk.yaml.proposed", RiskLimits).max_leverage == 1.5
    assert "+max_leverage: 1.5" in (config / "risk.yaml.proposed.diff").read_text()

    again = cli(config, "proposals", "approve", "1", "--reason", "twice")
    assert again.returncode == 10
    assert "already approved (by tester)" in again.stderr

    rejected = cli(config, "proposals", "reject", "2", "--reason", "no new data yet")
    assert rejected.returncode == 0, rejected.stderr
    assert cli(config, "proposals", "list").stdout.strip() == "no pending proposal"
    every = cli(config, "proposals", "list", "--status", "all").stdout
    assert "approved" in every and "rejected" in every

    kinds = [row.kind for row in read_journal(tmp_path / "data" / "journal.sqlite3")]
    assert kinds == ["meta_job_started", "proposal_created", "proposal_created",
                     "meta_job_finished", "proposal_decided", "proposal_refused",
                     "proposal_decided"]
    sources = {row.source for row in read_journal(tmp_path / "data" / "journal.sqlite3")}
    assert sources == {"cli:kernel-meta"}


def test_without_a_kernel_the_bot_is_idle_so_a_failing_run_starts_and_says_why(
        tmp_path: Path) -> None:
    whole_day = "enabled: false\ntrading_hours: [{start: '00:00', end: '00:00'}]\n"
    config = meta_config(tmp_path, "fail", meta_yaml=whole_day)
    # Inside trading hours all day, but no kernel runs, so no bot trades: off-market.
    failed = cli(config, "meta", "run", "code-audit")
    assert failed.returncode == 8
    assert "failed (exit_nonzero)" in failed.stdout
    assert "boom: the model file is missing" in failed.stdout


def test_unknown_job_and_proposal_are_refused_clearly(tmp_path: Path) -> None:
    config = meta_config(tmp_path, "ok")
    bad_job = cli(config, "meta", "run", "everything")
    assert bad_job.returncode == 2
    assert "invalid choice: 'everything'" in bad_job.stderr
    missing = cli(config, "proposals", "show", "42")
    assert missing.returncode == 10
    assert "there is no proposal 42" in missing.stderr
