"""``kernel keys generate``: CurveZMQ key pairs for a control socket beyond loopback."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from kernel.console._args import config_dir, err
from kernel.keys import generate
from kernel.settings import load_settings


def add_keys_commands(sub: Any) -> None:
    keys = sub.add_parser("keys", help="CurveZMQ keys for the control socket")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_generate = keys_sub.add_parser("generate", help="create server and client key pairs")
    keys_generate.add_argument("--dir", type=Path, default=None,
                               help="where (default: control.keys_dir from kernel.yaml)")
    keys_generate.set_defaults(handler=generate_keys)


def generate_keys(args: argparse.Namespace) -> int:
    folder = args.dir
    if folder is None:
        settings = load_settings(config_dir(args))
        folder = settings.resolve(settings.kernel.control.keys_dir)
    try:
        written = generate(folder)
    except FileExistsError as exc:
        err.print(f"[red]not generated:[/red] {exc}")
        return 1
    out = Console(highlight=False)
    for path in written:
        out.print(f"wrote {path}")
    out.print("set `control: {curve: true}` in kernel.yaml to require these keys")
    return 0
