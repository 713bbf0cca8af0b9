"""``kernel plan``: one trade plan from a request file, without a running kernel.

    kernel plan --input examples/stock_day_long.json          # a panel for people
    kernel plan --input examples/stock_day_long.json --json   # the plan as JSON
    kernel plan --schema                                      # JSON Schema of a plan

The thresholds come from ``planner.yaml`` and the event calendar from
``events.yaml`` in the config folder (``--config-dir``); without them the
shipped defaults and no calendar are used, with a note, so the command also
works away from a checkout. A bad request exits with code 2 and a message
naming the file, the field, what was expected and what was found.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
from rich.console import Console
from rich.markup import escape

from kernel._plan_panel import render
from kernel._plan_request import RequestError, load_request
from kernel.config import load_yaml
from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.messages import plan_schema

EXIT_OK = 0
EXIT_BAD_REQUEST = 2


def plan_command(config_dir: Path, request: Path | None, *, as_json: bool = False,
                 schema: bool = False) -> int:
    err = Console(stderr=True, highlight=False)
    if schema:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(plan_schema())).decode() + "\n")
        return EXIT_OK
    if request is None:
        err.print("[red]error:[/red] kernel plan needs --input FILE (a request, e.g. "
                  "examples/stock_day_long.json) or --schema")
        return EXIT_BAD_REQUEST
    config, calendar = _planner_files(config_dir, err)
    try:
        inputs = load_request(request, config, calendar)
    except RequestError as exc:
        err.print(f"[red]bad request:[/red] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_REQUEST
    verdicts = inputs.verdicts
    plan = build_plan(verdicts.technical, verdicts.macro, verdicts.wildcard, inputs.snapshot,
                      inputs.account, inputs.style, inputs.now, config)
    if as_json:
        sys.stdout.write(msgspec.json.encode(plan).decode() + "\n")
    else:
        render(plan, Console(highlight=False))
    return EXIT_OK


def _planner_files(config_dir: Path, err: Console) -> tuple[PlannerConfig, EventCalendar | None]:
    """planner.yaml and events.yaml when present (checked strictly), else defaults."""
    planner_file, events_file = config_dir / "planner.yaml", config_dir / "events.yaml"
    config = PlannerConfig()
    if planner_file.exists():
        config = load_yaml(planner_file, PlannerConfig)
    else:
        err.print(f"note: no {planner_file}: using the shipped planner defaults", style="dim")
    calendar = None
    if events_file.exists():
        calendar = load_yaml(events_file, EventCalendar)
    else:
        err.print(f"note: no {events_file}: planning without an event calendar", style="dim")
    return config, calendar
