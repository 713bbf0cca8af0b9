"""A reviewed patch to ``risk.yaml``: the file as a proposal would leave it, and the diff.

The supervisor never edits its own limits. Approving a risk-rule proposal
writes ``risk.yaml.proposed`` beside ``risk.yaml`` and a unified diff of the
two; a person reads the diff and moves the file into place (then ``kernel
check``, then a restart). The patch edits text, not a re-dumped YAML tree, so
every comment and every untouched line stays as it was and the diff shows only
what the proposal changes: a changed key's lines are replaced by one
``key: value`` line (the value in flow style), a new key is appended at the
end. The result must load as :class:`risk.limits.RiskLimits` and must hold the
proposed values, or the patch is refused.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec
import yaml

from risk.limits import RiskLimits

_COMMENT: Final = re.compile(r"\s+#\s.*$")


class PatchRefused(Exception):
    """The changes cannot be applied to this risk.yaml; the message says why."""


def patch_risk_yaml(text: str, changes: Mapping[str, Any], *, note: str) -> str:
    """``text`` with ``changes`` applied (dotted keys reach nested settings)."""
    try:
        current: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PatchRefused(f"risk.yaml is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(current, dict):
        raise PatchRefused("risk.yaml does not hold a mapping of keys")
    wanted = _top_values(current, changes)
    lines = text.splitlines()
    for top, value in wanted.items():
        lines = _replace(lines, top, value, note)
    result = "\n".join(lines) + "\n"
    problem = check_risk_yaml(result)
    if problem:
        raise PatchRefused(problem)
    parsed = yaml.safe_load(result)
    for top, value in wanted.items():
        if parsed.get(top) != value:
            raise PatchRefused(f"`{top}` could not be rewritten in place (found "
                               f"{parsed.get(top)!r} after the edit); change it by hand")
    return result


def check_risk_yaml(text: str) -> str:
    """Why ``text`` is not a valid risk.yaml; empty when it is."""
    try:
        raw: Any = yaml.safe_load(text) or {}
        msgspec.convert(raw, RiskLimits, strict=False)
    except yaml.YAMLError as exc:
        return f"not valid YAML: {' '.join(str(exc).split())}"
    except msgspec.ValidationError as exc:
        return f"the proposed limits are not valid: {exc}"
    return ""


def unified_diff(before: str, after: str, *, before_name: str, after_name: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True),
                                        fromfile=before_name, tofile=after_name))


def _top_values(current: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The new value of each top-level key a change touches."""
    wanted: dict[str, Any] = {}
    for key, value in changes.items():
        top, *path = key.split(".")
        if not path:
            wanted[top] = value
            continue
        base = wanted.get(top, copy.deepcopy(current.get(top)))
        if base is None:
            base = {}
        if not isinstance(base, dict):
            raise PatchRefused(f"`{top}` is not a mapping in risk.yaml, so `{key}` cannot be set")
        node = base
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise PatchRefused(f"`{key}`: `{part}` is not a mapping in risk.yaml")
            node = child
        node[path[-1]] = value
        wanted[top] = base
    return wanted


def _replace(lines: list[str], top: str, value: Any, note: str) -> list[str]:
    rendered = f"{top}: {_flow(value)}"
    head = re.compile(rf"^{re.escape(top)}\s*:")
    for index, line in enumerate(lines):
        if head.match(line):
            end = index + 1
            while end < len(lines) and lines[end][:1] in (" ", "\t") and lines[end].strip():
                end += 1
            comment = _COMMENT.search(line) if end == index + 1 else None
            if comment is not None:
                rendered += comment.group(0)
            return [*lines[:index], rendered, *lines[end:]]
    return [*lines, "", f"# {note}", rendered]


def _flow(value: Any) -> str:
    """JSON is YAML in flow style: one line, every string quoted, numbers as numbers."""
    return json.dumps(value, ensure_ascii=False)
