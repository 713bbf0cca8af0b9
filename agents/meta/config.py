"""The shape of ``config/meta.yaml``: which Meta-Agent jobs run, when, and within what limits.

Same rules as every config Struct (``kernel/config.py``): an unknown key is an
error and every number has bounds, so a timeout written in minutes instead of
seconds, or a size budget with one zero too many, is caught by ``kernel check``
rather than discovered at night when the job runs.

Trading hours are read in ``risk.yaml``'s timezone: one notion of local time for
the whole supervisor (the trading day, the daily audit and the off-market rule).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, TypeAlias

import msgspec

JobName: TypeAlias = Literal["daily-logs", "risk-report", "code-audit", "feature-proposals",
                             "retrain"]
JOB_NAMES: Final[tuple[JobName, ...]] = ("daily-logs", "risk-report", "code-audit",
                                         "feature-proposals", "retrain")
Every: TypeAlias = Literal["daily", "weekly"]
Weekday: TypeAlias = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Bytes = Annotated[int, msgspec.Meta(ge=1024, le=64 * 1024 * 1024)]
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Pattern = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

NATURAL_CADENCE: Final[dict[JobName, Every]] = {
    "daily-logs": "daily", "risk-report": "daily", "code-audit": "weekly",
    "feature-proposals": "weekly", "retrain": "weekly",
}
"""How often a job runs when meta.yaml does not say (``every`` left out)."""


class _Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base: a misspelt key is an error, not a silent default."""


class TradingWindow(_Config, frozen=True):
    """When the bot trades: jobs never start inside a window (unless the bot is idle).

    ``end`` before ``start`` crosses midnight (22:00-06:00); ``end`` equal to
    ``start`` is the whole day. ``days`` are the days a window starts on.
    """

    days: list[Weekday] = msgspec.field(default_factory=lambda: list(WEEKDAYS))
    start: ClockTime = "06:00"
    end: ClockTime = "22:00"


class JobConfig(_Config, frozen=True):
    enabled: bool = True
    every: Every | None = None
    """None: the job's natural cadence (daily for the logs and risk, weekly otherwise)."""
    timeout_s: Seconds | None = None
    """None: ``timeout_s`` of the file."""


class Jobs(_Config, frozen=True, rename="kebab"):
    daily_logs: JobConfig = JobConfig()
    risk_report: JobConfig = JobConfig()
    code_audit: JobConfig = JobConfig()
    feature_proposals: JobConfig = JobConfig()
    retrain: JobConfig = JobConfig()

    def get(self, job: JobName) -> JobConfig:
        config: JobConfig = getattr(self, job.replace("-", "_"))
        return config


class CodeAuditConfig(_Config, frozen=True):
    """What of the bot's repository (``paths.yaml`` bot.cwd) goes into a code-audit task."""

    max_files_listed: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 400
    excerpt_bytes: Bytes = 48_000
    """All excerpts together; the task stays small enough for one prompt."""
    excerpt_file_bytes: Bytes = 6_000
    """At most this much of one file."""
    recent_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 7
    """Changes within this many days are "recent" (git log, else file times)."""
    include: list[Pattern] = msgspec.field(default_factory=lambda: [
        "*.py", "*.yaml", "*.yml", "*.toml", "*.json", "*.md", "*.cfg", "*.ini", "*.txt"])
    """File name patterns that may be quoted; every file is listed whatever its name."""
    exclude_dirs: list[Pattern] = msgspec.field(default_factory=lambda: [
        ".git", ".venv", "venv", "env", "__pycache__", "node_modules", ".mypy_cache",
        ".pytest_cache", ".ruff_cache", "dist", "build", "data", "logs"])
    git_timeout_s: Seconds = 10.0


class RetrainConfig(_Config, frozen=True):
    """Where the bot keeps its models and their data, relative to bot.cwd."""

    models: list[Pattern] = msgspec.field(default_factory=lambda: [
        "models/**/*.pkl", "models/**/*.joblib", "models/**/*.pt", "models/**/*.onnx",
        "models/**/*.json"])
    data: list[Pattern] = msgspec.field(default_factory=lambda: [
        "data/**/*.csv", "data/**/*.parquet"])
    max_model_age_days: Annotated[float, msgspec.Meta(gt=0, le=3650)] = 7.0
    """The offline rules ask for a retrain of a model older than this with newer data."""


class MetaConfig(_Config, frozen=True):
    """The Meta-Agent's jobs; the Meta-Agent itself is named in ``paths.yaml``."""

    enabled: bool = True
    """False: the kernel schedules nothing (``kernel meta run`` still works)."""
    start_delay_s: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 300.0
    """Nothing runs this soon after the kernel starts: a restart is not a job trigger."""
    tick_s: Seconds = 60.0
    """How often the schedule is looked at."""
    trading_hours: list[TradingWindow] = msgspec.field(default_factory=lambda: [
        TradingWindow()])
    """Empty: no trading hours, a job may start at any time. One whole-day window
    (``start`` equal to ``end``) leaves only the times when the bot is idle."""
    timeout_s: Seconds = 900.0
    """A Meta-Agent still running after this is killed and the job counts as failed."""
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 2
    """Per job and period: the first try plus one retry in a later off-market window."""
    report_max_bytes: Bytes = 256 * 1024
    """A longer report is read up to here and noted as truncated."""
    capture_max_bytes: Bytes = 64 * 1024
    """Kept of the Meta-Agent's stdout and stderr each (the rest is counted)."""
    lookback_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 7
    """Days of audits in the weekly tasks."""
    replay_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 5
    """Days a risk-rule proposal's evidence replays under its limits (today included;
    ``kernel proposals show``, docs/replay.md)."""
    llm_max_tokens: Annotated[int, msgspec.Meta(ge=256, le=64_000)] = 4096
    """Answer size for the built-in Meta-Agent (llm.yaml's max_tokens suits the moderator)."""
    max_proposals: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10
    """Proposals taken from one report; more are left out, with a note."""
    jobs: Jobs = Jobs()
    code_audit: CodeAuditConfig = CodeAuditConfig()
    retrain: RetrainConfig = RetrainConfig()

    def cadence(self, job: JobName) -> Every:
        return self.jobs.get(job).every or NATURAL_CADENCE[job]

    def timeout(self, job: JobName) -> float:
        return self.jobs.get(job).timeout_s or self.timeout_s
