"""A real external Meta-Agent (a Python program written by the test) through one job run.

Each misbehaviour ends in a named outcome with a clear reason in the journaled
``MetaJobFinished``, an anomaly, a bounded read, and no file written by the
supervisor outside the inbox, the outbox and the data directory.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from agents.meta.jobs import build_task
from agents.meta.messages import MetaJobFinished, MetaJobStarted, ProposalCreated
from agents.meta.pipeline import JobResult, RunRequest, proposal_store, run_job
from bus.codec import encode
from bus.protocol import Message
from kernel.events import AnomalyDetected
from kernel.journal import Journal, JournalEntry
from kernel.registry import meta_slice
from kernel.settings import Settings
from tests.support.meta_world import FAST_META, files_under, meta_settings

pytestmark = pytest.mark.timeout(60)


async def run(settings: Settings, job: str = "code-audit",
              trigger: str = "schedule") -> tuple[JobResult, list[Message]]:
    sent: list[Message] = []
    result = await run_job(RunRequest(job, trigger, "2026-W47", attempt=1),  # type: ignore[arg-type]
                           config=meta_slice(settings), publish=sent.append, clock=time.time,
                           client=None)
    return result, sent


def finished(sent: list[Message]) -> MetaJobFinished:
    found = [m for m in sent if isinstance(m, MetaJobFinished)]
    assert len(found) == 1
    return found[0]


def written_by_us(root: Path, before: set[Path], agent_own: frozenset[str] = frozenset()
                  ) -> set[Path]:
    """New files that are not in the configured folders nor the agent's own doing."""
    allowed = (root / "meta" / "inbox", root / "meta" / "outbox", root / "data")
    return {p for p in files_under(root) - before
            if not any(folder in p.parents for folder in allowed)
            and p.name not in {"agent.pid", *agent_own}}


async def test_success_collects_the_report_and_makes_pending_proposals(tmp_path: Path) -> None:
    settings = meta_settings(tmp_path, "ok")
    before = files_under(tmp_path)
    result, sent = await run(settings)
    done = finished(sent)
    assert done.outcome == "ok", done.detail
    assert done.agent == "external" and done.exit_code == 0
    assert done.report_path == str(tmp_path / "meta" / "outbox" / f"{done.task_id}.md")
    assert "verdict concerns, 2 proposals" in done.detail
    started = next(m for m in sent if isinstance(m, MetaJobStarted))
    assert Path(started.task_path).read_text().startswith('---\ntask_id: "code-audit-')
    assert "`run_bot.py`" in Path(started.task_path).read_text()  # the bot's repo is listed
    created = [m for m in sent if isinstance(m, ProposalCreated)]
    assert [(c.kind, c.source) for c in created] == [("risk_rule", "external"),
                                                     ("retrain", "external")]
    assert [p.status for p in proposal_store(settings.data_dir).all()] == ["pending", "pending"]
    assert done.proposals == [p.id for p in result.proposals] == [1, 2]
    assert not any(isinstance(m, AnomalyDetected) for m in sent)
    assert written_by_us(tmp_path, before) == set()


async def test_the_meta_agent_gets_no_secret_of_the_supervisor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The LLM key is the SDK's alone: the Meta-Agent's environment is the kernel's
    without the deny-list (kernel/child_env.py); everything else is passed on."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "anthropic_base_url",
                 "CLAUDE_CODE_OAUTH_TOKEN"):
        monkeypatch.setenv(name, "sk-must-not-leak")
    monkeypatch.setenv("SUPERVISOR_TEST_SETTING", "passed on")
    settings = meta_settings(tmp_path, "environment")
    _, sent = await run(settings)
    done = finished(sent)
    assert done.outcome == "ok", done.detail
    report = Path(done.report_path).read_text(encoding="utf-8")
    assert "secrets seen: []" in report and "kept: passed on" in report


async def test_a_hanging_agent_is_killed_at_the_timeout(tmp_path: Path) -> None:
    settings = meta_settings(tmp_path, "hang", meta_yaml=FAST_META + "max_attempts: 2\n"
                             "jobs: {code-audit: {timeout_s: 1}}\n")
    began = time.monotonic()
    _, sent = await run(settings)
    assert time.monotonic() - began < 10
    done = finished(sent)
    assert done.outcome == "timeout"
    assert "still running after 1 s and was killed" in done.detail
    assert done.will_retry
    pid = int((tmp_path / "agent.pid").read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    anomaly = next(m for m in sent if isinstance(m, AnomalyDetected))
    assert (anomaly.kind, anomaly.severity) == ("meta_job_failed", "warning")
    assert "tried again in the next off-market window" in anomaly.detail


async def test_a_non_zero_exit_is_journaled_with_stderr(tmp_path: Path) -> None:
    _, sent = await run(meta_settings(tmp_path, "fail"), trigger="manual")
    done = finished(sent)
    assert (done.outcome, done.exit_code) == ("exit_nonzero", 3)
    assert "exited with status 3: boom: the model file is missing" in done.detail
    assert "boom" in done.stderr_tail
    assert not done.will_retry
    assert next(m for m in sent if isinstance(m, AnomalyDetected)).severity == "error"


@pytest.mark.parametrize(("behaviour", "outcome", "why"), [
    ("garbage", "bad_report", "binary data"),
    ("nothing", "no_report", "wrote no report"),
    ("escape", "bad_report", "'../escape.md' refused: it names a folder"),
    ("absolute", "bad_report", "refused: it is an absolute path"),
])
async def test_bad_output_is_a_failure_with_its_reason_and_nothing_read_outside(
        tmp_path: Path, behaviour: str, outcome: str, why: str) -> None:
    settings = meta_settings(tmp_path, behaviour)
    before = files_under(tmp_path)
    _, sent = await run(settings)
    done = finished(sent)
    assert done.outcome == outcome
    assert why in done.detail
    assert not [m for m in sent if isinstance(m, ProposalCreated)]
    assert written_by_us(tmp_path, before, frozenset({"escape.md", "absolute.md"})) == set()


async def test_a_huge_report_is_read_in_part_and_noted(tmp_path: Path) -> None:
    _, sent = await run(meta_settings(tmp_path, "huge"))
    done = finished(sent)
    assert done.outcome == "ok"
    assert done.truncated and done.report_bytes > 3_000_000
    assert any("only the first 65,536 were read" in note for note in done.notes)
    assert len([m for m in sent if isinstance(m, ProposalCreated)]) == 2  # front matter intact


async def test_a_report_on_stdout_is_kept_in_the_outbox(tmp_path: Path) -> None:
    _, sent = await run(meta_settings(tmp_path, "stdout"))
    done = finished(sent)
    assert done.outcome == "ok"
    assert Path(done.report_path).read_text().startswith("---\ntask_id: code-audit-")
    assert "the report was taken from stdout" in done.notes


async def test_a_flood_on_stderr_is_bounded(tmp_path: Path) -> None:
    _, sent = await run(meta_settings(tmp_path, "chatty"))
    done = finished(sent)
    assert done.outcome == "ok"
    assert len(done.stderr_tail) <= 4096
    assert any("stderr was 1,000,000 bytes: only 4,096 were kept" in n for n in done.notes)


async def test_a_command_that_does_not_exist_is_a_start_failure(tmp_path: Path) -> None:
    settings = meta_settings(tmp_path, "ok")
    (settings.config_dir / "paths.yaml").write_text(
        (settings.config_dir / "paths.yaml").read_text().replace(
            '["{python}", ', '["/no/such/meta_agent", '), encoding="utf-8")
    from kernel.settings import load_settings

    _, sent = await run(load_settings(settings.config_dir))
    done = finished(sent)
    assert done.outcome == "start_failed"
    assert "could not be started" in done.detail and "paths.yaml" in done.detail


async def test_a_risk_rule_that_would_not_load_is_left_out_with_a_note(tmp_path: Path) -> None:
    settings = meta_settings(tmp_path, "ok")
    script = tmp_path / "meta_agent.py"
    script.write_text(script.read_text().replace("max_leverage: 1.5", "max_leverage: -4"))
    _, sent = await run(settings)
    done = finished(sent)
    assert done.outcome == "ok"
    assert [m.kind for m in sent if isinstance(m, ProposalCreated)] == ["retrain"]
    assert any("'Lower the leverage cap' left out" in n for n in done.notes)


async def test_a_daily_job_without_a_journal_fails_before_any_agent_runs(tmp_path: Path) -> None:
    result, sent = await run(meta_settings(tmp_path, "ok"), job="daily-logs")
    done = finished(sent)
    assert (done.outcome, done.agent) == ("task_failed", "none")
    assert "no journal yet" in done.detail
    assert result.task is None
    assert not (tmp_path / "agent.pid").exists()


async def test_a_daily_task_is_the_audit_of_the_chosen_day_with_its_journal_rows(
        tmp_path: Path) -> None:
    settings = meta_settings(tmp_path, "ok")
    day_ts = datetime(2026, 11, 20, 14, tzinfo=UTC).timestamp()
    anomaly = AnomalyDetected(kind="stale_tick", severity="warning", ts=day_ts, source="auditor",
                              detail="the last tick is 12 s old")
    async with await Journal.open(settings.journal_path) as journal:
        await journal.append_durable(JournalEntry(ts=day_ts, topic=anomaly.topic,
                                                  source="auditor", kind="anomaly",
                                                  payload=encode(anomaly)))
    sent: list[Message] = []
    result = await run_job(RunRequest("daily-logs", "manual", "2026-11-22", day="2026-11-20"),
                           config=meta_slice(settings), publish=sent.append, clock=time.time,
                           client=None)
    assert result.finished.outcome == "ok"
    assert result.task is not None
    text = result.task.text
    assert result.task.task_id.startswith("daily-logs-2026-11-20-")
    assert 'day: "2026-11-20"' in text
    assert "Analyse the day's logs" in text
    assert "the last tick is 12 s old" in text  # the journal excerpt
    assert "## Proposals (optional)" in text


async def test_two_runs_in_the_same_second_have_their_own_task_and_report(
    tmp_path: Path,
) -> None:
    settings = meta_settings(tmp_path, "ok")
    now = datetime(2026, 11, 22, 23, 0, tzinfo=UTC).timestamp()
    first, second = (build_task("code-audit", meta_slice(settings), now) for _ in range(2))
    assert first.task_id != second.task_id
    assert first.path != second.path and first.answer != second.answer
    assert first.task_id.startswith("code-audit-2026-W47-20261122T230000Z-")
