"""``kernel plan``: one trade plan from a request file, without a running kernel.

    kernel plan --input examples/stock_day_long.json          # a panel for people
    kernel plan --input examples/stock_day_long.json --json   # the plan as JSON
    kernel plan --input examples/spy_options_swing.json       # an OPTIONS plan
    kernel plan --schema                                      # JSON Schema of a plan

The thresholds come from ``planner.yaml`` (and ``options.yaml`` for an OPTIONS
request) and the event calendar from ``events.yaml`` in the config folder
(``--config-dir``); without them the shipped defaults and no calendar are used,
with a note, so the command also works away from a checkout. A bad request
exits with code 2 and a message naming the file, the field, what was expected
and what was found.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape

from kernel.config import load_yaml
from kernel.console._args import config_dir
from kernel.console._plan_panel import render
from kernel.console._plan_request import PlanInputs, RequestError, load_request
from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.events import EventCalendar
from planner.messages import TradePlan, plan_schema
from planner.options import plan_with_options
from planner.options_config import OptionsConfig

EXIT_OK = 0
EXIT_BAD_REQUEST = 2
CHAIN_AGE_NOTE_S = 3600.0
"""A chain quoted further than this from the plan's time gets a note: days to expiry
count from the plan's time, so a forgotten ``now`` would silently shift them."""



def add_plan_command(sub: Any) -> None:
    plan = sub.add_parser("plan", help="make a trade plan from a request file (no kernel needed)")
    plan.add_argument("--input", type=Path, help="request file (JSON), e.g. "
                      "examples/stock_day_long.json")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument("--schema", action="store_true",
                      help="print the JSON Schema of a trade plan and exit")
    plan.set_defaults(handler=lambda args: plan_command(config_dir(args), args.input,
                                                        as_json=args.json, schema=args.schema))


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
    options, options_note = _options_file(config_dir)
    try:
        inputs = load_request(request, config, calendar, options=options)
    except RequestError as exc:
        err.print(f"[red]bad request:[/red] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_REQUEST
    verdicts = inputs.verdicts
    plan = build_plan(verdicts.technical, verdicts.macro, verdicts.wildcard, inputs.snapshot,
                      inputs.account, inputs.style, inputs.now, config)
    if inputs.chain is not None:
        for note in filter(None, [options_note, _chain_age_note(inputs)]):
            err.print(f"note: {note}", style="dim", soft_wrap=True)
        plan = _with_options(plan, inputs, options)
    if as_json:
        sys.stdout.write(msgspec.json.encode(plan).decode() + "\n")
    else:
        render(plan, Console(highlight=False))
    return EXIT_OK


def _with_options(plan: TradePlan, inputs: PlanInputs, options: OptionsConfig) -> TradePlan:
    """The stock plan expressed in one validated contract of the request's chain."""
    assert inputs.chain is not None
    return plan_with_options(plan, inputs.chain, inputs.snapshot, inputs.now, options,
                             choice=inputs.choice)


def _chain_age_note(inputs: PlanInputs) -> str:
    """Says when the chain and the plan's time are far apart; empty when they agree."""
    quoted = inputs.chain.ts if inputs.chain is not None else None
    if quoted is None or abs(quoted - inputs.now) <= CHAIN_AGE_NOTE_S:
        return ""
    hours = (inputs.now - quoted) / 3600
    when = datetime.fromtimestamp(quoted, UTC).strftime("%Y-%m-%d %H:%M UTC")
    side = "before" if hours > 0 else "after"
    return (f"the chain's newest quote is from {when}, {abs(hours):,.1f} hours {side} the "
            "plan's time; days to expiry count from the plan's time (set `now` in the "
            "request to the chain's moment to plan as of then)")


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


def _options_file(config_dir: Path) -> tuple[OptionsConfig, str]:
    """options.yaml when present (checked strictly), else defaults and a note.

    The note is printed only for an OPTIONS request: a stock plan does not use it.
    """
    options_file = config_dir / "options.yaml"
    if options_file.exists():
        return load_yaml(options_file, OptionsConfig), ""
    return OptionsConfig(), f"no {options_file}: using the shipped options defaults"
