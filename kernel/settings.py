"""All configuration of one kernel, loaded together and resolved to paths.

Relative paths in ``paths.yaml`` are relative to the project root, the folder
that holds the ``config/`` folder, so the kernel behaves the same whatever the
current directory is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agents.alerts.config import AlertsConfig
from agents.alerts.envvars import inherited
from agents.audit.config import AuditConfig
from agents.feeds.config import FeedsConfig
from agents.meta.config import MetaConfig
from agents.moderator.llm_config import LlmConfig, ModeratorConfig
from agents.watchdog.config import WatchdogConfig
from kernel._config_checks import whole_config_problems
from kernel.config import ConfigError, KernelConfig, PathsConfig, load_yaml, require_config_dir
from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.options_config import OptionsConfig
from risk.limits import RiskLimits

CONFIG_FILES: dict[str, type[Any]] = {
    "kernel.yaml": KernelConfig,
    "paths.yaml": PathsConfig,
    "planner.yaml": PlannerConfig,
    "options.yaml": OptionsConfig,
    "events.yaml": EventCalendar,
    "risk.yaml": RiskLimits,
    "watchdog.yaml": WatchdogConfig,
    "llm.yaml": LlmConfig,
    "moderator.yaml": ModeratorConfig,
    "audit.yaml": AuditConfig,
    "meta.yaml": MetaConfig,
    "feeds.yaml": FeedsConfig,
    "alerts.yaml": AlertsConfig,
    "risk.shadow.yaml": RiskLimits,
}
"""Every file ``kernel check`` validates, with its schema. Domains add theirs."""
OPTIONAL_FILES: frozenset[str] = frozenset({"alerts.yaml"})
"""Files whose absence means "all defaults": alerts are off unless a person sets them up."""


@dataclass(frozen=True, slots=True)
class Settings:
    config_dir: Path
    kernel: KernelConfig
    paths: PathsConfig
    planner: PlannerConfig
    options: OptionsConfig
    events: EventCalendar
    risk: RiskLimits
    watchdog: WatchdogConfig
    llm: LlmConfig
    moderator: ModeratorConfig
    audit: AuditConfig = field(default_factory=AuditConfig)
    meta: MetaConfig = field(default_factory=MetaConfig)
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    risk_shadow: RiskLimits | None = None
    """``risk.shadow.yaml``, optional: limits judged beside ``risk`` on every order,
    never deciding (docs/replay.md, "Shadow limits")."""

    @property
    def root(self) -> Path:
        return self.config_dir.resolve().parent

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.paths.data_dir)

    @property
    def log_dir(self) -> Path:
        return self.resolve(self.paths.log_dir)

    @property
    def reports_dir(self) -> Path:
        return self.resolve(self.paths.reports_dir)

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.sqlite3"


def load_settings(config_dir: Path) -> Settings:
    """Load every config file; raise ConfigError naming the first bad one."""
    require_config_dir(config_dir)
    return Settings(
        config_dir=config_dir,
        kernel=load_yaml(config_dir / "kernel.yaml", KernelConfig),
        paths=load_yaml(config_dir / "paths.yaml", PathsConfig),
        planner=load_yaml(config_dir / "planner.yaml", PlannerConfig),
        options=load_yaml(config_dir / "options.yaml", OptionsConfig),
        events=load_yaml(config_dir / "events.yaml", EventCalendar),
        risk=load_yaml(config_dir / "risk.yaml", RiskLimits),
        watchdog=load_yaml(config_dir / "watchdog.yaml", WatchdogConfig),
        llm=load_yaml(config_dir / "llm.yaml", LlmConfig),
        moderator=load_yaml(config_dir / "moderator.yaml", ModeratorConfig),
        audit=load_yaml(config_dir / "audit.yaml", AuditConfig),
        meta=load_yaml(config_dir / "meta.yaml", MetaConfig),
        feeds=load_yaml(config_dir / "feeds.yaml", FeedsConfig),
        alerts=_optional(config_dir / "alerts.yaml", AlertsConfig) or AlertsConfig(),
        risk_shadow=_optional(config_dir / SHADOW_FILE, RiskLimits),
    )


SHADOW_FILE = "risk.shadow.yaml"
_T = TypeVar("_T")


def _optional(path: Path, schema: type[_T]) -> _T | None:
    """An optional file: None when it is absent, checked like any other when present."""
    return load_yaml(path, schema) if path.exists() else None


def check_all(config_dir: Path) -> list[str]:
    """Validate every known config file, then the files together (what can be checked
    without starting anything: kernel/_config_checks.py); one message per problem."""
    try:
        require_config_dir(config_dir)
    except ConfigError as exc:
        return [str(exc)]
    problems: list[str] = []
    for name, schema in CONFIG_FILES.items():
        if name in OPTIONAL_FILES and not (config_dir / name).exists():
            continue
        try:
            _optional(config_dir / name, schema) if name == SHADOW_FILE else \
                load_yaml(config_dir / name, schema)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        return problems
    settings = load_settings(config_dir)
    return whole_config_problems(settings) + [
        f"{config_dir / problem}" for problem in inherited(settings.alerts)]
