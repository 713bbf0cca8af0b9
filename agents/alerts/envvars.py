"""Secrets in config values as ``${VAR}``: filled in from the environment when used.

A URL such as ``tgram://${TELEGRAM_TOKEN}/${TELEGRAM_CHAT}`` is kept as written;
only the sender fills it in, and any text that could carry a filled-in value (an
error from Apprise, say) passes :func:`redact` before it is logged or journaled.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from agents.alerts.config import AlertsConfig
from kernel.child_env import is_secret

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "***"


class MissingSecret(Exception):
    """A ``${VAR}`` names a variable the environment does not set."""


def names(value: str) -> list[str]:
    return _VAR.findall(value)


def expand(value: str, env: Mapping[str, str] | None = None) -> str:
    """``value`` with each ``${VAR}`` replaced; MissingSecret names the first unset one."""
    source = os.environ if env is None else env

    def fill(match: re.Match[str]) -> str:
        found = source.get(match.group(1))
        if not found:
            raise MissingSecret(f"the environment variable {match.group(1)} is not set")
        return found

    return _VAR.sub(fill, value)


def secret_values(templates: Iterable[str], env: Mapping[str, str] | None = None) -> list[str]:
    """The values the ``${VAR}`` of ``templates`` stand for (to be masked in any text)."""
    source = os.environ if env is None else env
    found = {source.get(name, "") for t in templates for name in names(t)}
    return sorted((v for v in found if len(v) >= 4), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def shown(template: str) -> str:
    """How a URL is shown to a person: the scheme and the ``${VAR}`` names, no values."""
    scheme, _, rest = template.partition("://")
    if not rest:
        return MASK
    return f"{scheme}://{MASK}" if not names(template) else \
        f"{scheme}://(uses {', '.join('$' + n for n in names(template))})"


def inherited(config: AlertsConfig) -> list[str]:
    """Problems: ``${VAR}`` secrets of ``alerts.yaml`` that the bot would inherit.

    The bot's environment is the kernel's minus the deny-list of ``kernel/child_env.py``
    (``TELEGRAM_*``, ``APPRISE_*`` among them); a secret under another name would reach
    the bot and every child the supervisor starts."""
    found = [(f"targets[{i}].urls", name) for i, target in enumerate(config.targets)
             for url in target.urls for name in names(url)]
    found += [("telegram.token", n) for n in names(config.telegram.token)]
    found += [("health.auth_token", n) for n in names(config.health.auth_token)]
    return [f"alerts.yaml: field `{where}`: ${{{name}}} would be passed on to the bot's "
            f"environment. Fix: rename the variable to TELEGRAM_{name} or APPRISE_{name} "
            "(those names are kept from the bot)"
            for where, name in found if not is_secret(name)]
