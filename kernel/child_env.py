"""The environment a child process gets: the kernel's own, without the kernel's secrets.

The kernel's environment holds what the supervisor uses itself, above all the LLM's
key (``ANTHROPIC_API_KEY``): that key goes to the SDK and to nothing else. A bot,
the Meta-Agent and the helpers the supervisor runs (git) are other programs; they
get the kernel's environment with every name of the deny-list removed, and then
what the operator configured for them (``paths.yaml`` ``bot.env``), as written.

The deny-list (docs/watchdog.md, "Starting the bot"), compared without regard to
case because Windows names are not case-sensitive:

* ``ANTHROPIC_*``: the LLM's key and the SDK's other credentials and settings
  (``ANTHROPIC_AUTH_TOKEN``, ``ANTHROPIC_BASE_URL``): the LLM is the supervisor's;
* ``CLAUDE_*``: Claude credentials of the account the kernel runs under
  (``CLAUDE_CODE_OAUTH_TOKEN``);
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

__all__ = ["SECRET_PREFIXES", "child_environment", "is_secret"]

SECRET_PREFIXES: Final = ("ANTHROPIC_", "CLAUDE_", "TELEGRAM_", "APPRISE_")


def is_secret(name: str) -> bool:
    """Whether a child must not inherit the variable ``name``."""
    return name.upper().startswith(SECRET_PREFIXES)


def child_environment(configured: Mapping[str, str] | None = None, *,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment (``environ``, default ``os.environ``) without its
    secrets, then ``configured`` on top: what the operator wrote is passed as it is."""
    source = os.environ if environ is None else environ
    env = {name: value for name, value in source.items() if not is_secret(name)}
    env.update(configured or {})
    return env
