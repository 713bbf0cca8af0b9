"""What the Meta-Agent is given: its config file and the few values and paths it needs.

Cut from the settings by the composition root (``kernel/registry.py``), with every
path already resolved against the project root. The scheduler actor is built with
it, and ``kernel meta run`` hands the same slice to :func:`agents.meta.pipeline.run_job`,
so a job runs alike whoever started it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.meta.config import MetaConfig
from agents.moderator.llm_config import LlmConfig
from bus.protocol import Mode


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaSlice:
    meta: MetaConfig
    """``config/meta.yaml``."""
    llm: LlmConfig
    """``config/llm.yaml``: the built-in Meta-Agent's model and daily token budget."""
    mode: Mode
    """The kernel's mode at start (``kernel.yaml``); later changes come as messages."""
    timezone: str
    """``risk.yaml`` ``timezone``: days and periods end at the loss limit's midnight."""
    utc_offset_s: int
    excerpt_rows: int
    """``audit.yaml`` ``excerpt_rows``: journal rows quoted in a daily task."""
    agent_command: tuple[str, ...]
    """``paths.yaml`` ``meta_agent.command``; empty: the built-in Meta-Agent."""
    agent_cwd: Path
    inbox: Path
    """Where tasks are written (``meta_agent.inbox``)."""
    outbox: Path
    """Where reports are expected (``meta_agent.outbox``)."""
    bot_cwd: Path
    """The bot's repository (``paths.yaml`` ``bot.cwd``): the code and models looked at."""
    journal_path: Path
    data_dir: Path
    """Where the proposals database lives."""
    risk_yaml: Path
    """The live ``risk.yaml``, which a risk-rule proposal must apply to."""
