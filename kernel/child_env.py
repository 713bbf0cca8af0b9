"""The environment a child process gets: the kernel's own, without the kernel's secrets.

The kernel's environment holds what the supervisor uses itself, above all the LLM's
key (``ANTHROPIC_API_KEY``): that key goes to the SDK and to nothing else. A bot,
the Meta-Agent and the helpers the supervisor runs (git) are other programs; they
get the kernel's environment with every name of the deny-list removed, then
``PYTHONUTF8=1``, and then what the operator configured for them (``paths.yaml``
``bot.env``), as written.

Why ``PYTHONUTF8=1``: the supervisor decodes every child's output as UTF-8, and a
Python child on Windows would otherwise write its pipe in the ANSI code page
(cp1252), turning every ``é`` or ``→`` it prints into a replacement character in
the bot's log. It is set over the inherited environment (a ``PYTHONUTF8=0`` meant
for the kernel's own console does not reach the children) and under the
configured one: ``bot.env: {PYTHONUTF8: "0"}`` turns it off for a bot that needs
the legacy encoding.

The deny-list (docs/watchdog.md, "Starting the bot"), compared without regard to
case because Windows names are not case-sensitive:

* ``ANTHROPIC_*``: the LLM's key and the SDK's other credentials and settings
  (``ANTHROPIC_AUTH_TOKEN``, ``ANTHROPIC_BASE_URL``): the LLM is the supervisor's;
* ``CLAUDE_*``: Claude credentials of the account the kernel runs under
  (``CLAUDE_CODE_OAUTH_TOKEN``);
* ``MASSIVE_*``, ``POLYGON_*``: the market-data vendor's key (``MASSIVE_API_KEY``,
  ``POLYGON_API_KEY``), read by the feeds (docs/feeds.md) and by nothing else.
* ``TELEGRAM_*`` and ``APPRISE_*``: the alerts' secrets (``config/alerts.yaml``
  ``${VAR}`` values: the command bot's token, tokens inside Apprise URLs).

A feature that reads a secret of its own from the environment (a chat token)
adds its prefix here. A bot's own secrets (an exchange key) are not the
supervisor's and pass through.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

__all__ = ["CHILD_DEFAULTS", "SECRET_PREFIXES", "child_environment", "is_secret"]

SECRET_PREFIXES: Final = ("ANTHROPIC_", "CLAUDE_", "MASSIVE_", "POLYGON_", "TELEGRAM_",
                              "APPRISE_")
CHILD_DEFAULTS: Final = {"PYTHONUTF8": "1"}
"""Set for every child over the inherited environment, under the configured one."""


def is_secret(name: str) -> bool:
    """Whether a child must not inherit the variable ``name``."""
    return name.upper().startswith(SECRET_PREFIXES)


def child_environment(configured: Mapping[str, str] | None = None, *,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment (``environ``, default ``os.environ``) without its
    secrets, then :data:`CHILD_DEFAULTS`, then ``configured`` on top: what the
    operator wrote is passed as it is."""
    source = os.environ if environ is None else environ
    env = {name: value for name, value in source.items() if not is_secret(name)}
    for name in CHILD_DEFAULTS:  # Windows names are not case-sensitive: one spelling
        for inherited in [n for n in env if n.upper() == name]:
            del env[inherited]
    env.update(CHILD_DEFAULTS)
    env.update(configured or {})
    return env
