"""``kernel keys generate``: CurveZMQ key pairs for a control socket beyond loopback."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from kernel.console._args import config_dir, err
from kernel.keys import generate, generate_bot
from kernel.settings import load_settings
from kernel.untrusted import one_line


def add_keys_commands(sub: Any) -> None:
    keys = sub.add_parser("keys", help="CurveZMQ keys for the control socket")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_generate = keys_sub.add_parser("generate", help="create server and client key pairs")
    keys_generate.add_argument("--dir", type=Path, default=None,
                               help="where (default: control.keys_dir from kernel.yaml)")
    keys_generate.add_argument("--bot", default="", metavar="ID",
                               help="one bot's key pair for the bot link (gateway.curve); "
                                    "the server's too if there is none yet")
    keys_generate.set_defaults(handler=generate_keys)


def generate_keys(args: argparse.Namespace) -> int:
    folder = args.dir
    settings = load_settings(config_dir(args)) if folder is None or args.bot else None
    if folder is None:
        assert settings is not None
        folder = settings.resolve(settings.kernel.control.keys_dir)
    if args.bot and settings is not None and args.bot not in [b.id for b in settings.paths.bots]:
        err.print(Text(one_line(f"not generated: no bot {args.bot!r} in paths.yaml `bots:`; "
                                "add it there first")))
        return 1
    try:
        written = generate_bot(folder, args.bot) if args.bot else generate(folder)
    except FileExistsError as exc:
        err.print(Text(one_line(f"not generated: {exc}")))
        return 1
    out = Console(highlight=False)
    for path in written:
        out.print(Text(one_line(f"wrote {path}")))
    if args.bot:
        out.print(Text(one_line(f"copy bots/{args.bot}.key_secret and server.key to the bot's "
                                "host; set `gateway: {curve: true}` in kernel.yaml")))
    else:
        out.print("set `control: {curve: true}` in kernel.yaml to require these keys")
    return 0
