"""The report and the Meta-Agent task as text, and the auditor's config file."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import yaml

from agents.audit.config import AuditConfig
from agents.audit.figures import Chain, daily_audit
from agents.audit.markdown import clock, render
from agents.audit.task import ExcerptRow, TaskHeader, render_task, task_id
from kernel.config import ConfigError, load_yaml
from kernel.settings import CONFIG_FILES, load_settings
from tests.unit.test_audit_figures import a_day_of_trading

SHIPPED = Path(__file__).resolve().parents[2] / "config"
NOON = datetime(2024, 5, 2, 12, 0, tzinfo=UTC).timestamp()


def test_the_report_shows_every_figure() -> None:
    text = render(a_day_of_trading().audit())
    for expected in ("# Daily audit: 2024-05-01 (UTC)", "| Start equity | 10,000.00 |",
                     "| Realised PnL, net of fees | -18.40 |", "| Fees paid | 8.40 |",
                     "40.19 (0.40 % of its peak)", "50.00 %", "-32.39",
                     "Requested 9, allowed 5, denied 3, unanswered 1.", "| halted | 2 |",
                     "## Limits fired", "## Anomalies", "## Bot and actors"):
        assert expected in text, expected


def test_a_day_without_trading_is_reported_as_such() -> None:
    audit = daily_audit("2024-05-01", "UTC+03:00", [], opening={}, now=NOON, complete=True,
                        chain=Chain(7, "ab" * 32))
    text = render(audit)
    assert "> No trading on this day" in text
    assert "| Start equity | n/a |" in text
    assert "chain head at seq 7: `" + "ab" * 32 + "`" in text
    assert "Made 2024-05-02 15:00:00 (UTC+03:00)" in text  # the day's own offset


def test_times_are_shown_in_the_days_offset() -> None:
    assert clock(NOON, "UTC-05:30") == "06:30:00"


def test_a_task_is_self_contained_with_front_matter_and_the_answer_shape() -> None:
    audit = a_day_of_trading().audit()
    created = datetime(2024, 5, 2, 8, 0, tzinfo=UTC).timestamp()
    name = task_id("risk-report", audit.day, created, "3f9a1c")
    header = TaskHeader(task_id=name, kind="risk-report", created=created,
                        deadline=created + 86_400, answer=f"meta/outbox/{name}.md")
    rows = [ExcerptRow(12, NOON, "warning", "order.decision", "gateway",
                       "DENY r5 [daily_loss_limit] a | pipe")]
    text = render_task(header, audit, rows, excerpt_limit=60)
    front = text.split("---\n")[1]
    meta = yaml.safe_load(front)
    assert meta["task_id"] == name == "risk-report-2024-05-01-20240502T080000Z-3f9a1c"
    assert task_id("risk-report", audit.day, created, "0b11e2") != name  # same second
    assert (meta["kind"], meta["day"]) == ("risk-report", "2024-05-01")
    assert meta["created"] == "2024-05-02T08:00:00Z" and meta["deadline"] == "2024-05-03T08:00:00Z"
    assert "## The question" in text and "risk engine" in text
    assert "### PnL (USDT)" in text  # the audit, one heading level deeper
    assert "| 12 | 12:00:00 | warning | order.decision | gateway | DENY r5 " in text
    assert "a \\| pipe" in text
    assert "## Expected answer" in text and f"task_id: {name}" in text
    assert re.search(r"verdict: ok \| concerns \| action_needed", text)


def test_the_shipped_audit_yaml_is_valid_and_registered() -> None:
    assert CONFIG_FILES["audit.yaml"] is AuditConfig
    cfg = load_settings(SHIPPED).audit
    assert cfg == load_yaml(SHIPPED / "audit.yaml", AuditConfig)
    assert cfg.retention_days > 0 and cfg.decision_latency_ms > 0


@pytest.mark.parametrize(("text", "field"), [
    ("decision_latency_ms: 0", "decision_latency_ms"),
    ("denials: {count: 0, window_s: 60}", "denials.count"),
    ("retention_dayz: 3", "retention_dayz"),
])
def test_a_bad_audit_yaml_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "audit.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(field)):
        load_yaml(path, AuditConfig)


def test_defaults_match_the_shipped_file() -> None:
    """The file documents the defaults; a drift would surprise whoever deletes a line."""
    shipped = msgspec.structs.asdict(load_yaml(SHIPPED / "audit.yaml", AuditConfig))
    assert shipped == msgspec.structs.asdict(AuditConfig())
