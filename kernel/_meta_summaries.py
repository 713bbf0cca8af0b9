"""One-line summaries of the Meta-Agent's and the proposals' messages (see ``kernel/summaries.py``).

Like every summary they read decoded builtins, never Structs, so a tap shows
messages from a newer kernel too. A failed job and a refused decision are
warnings: a person should see them; the anomaly that goes with a failure
carries its own severity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.untrusted import ident, quoted

Summary = Callable[[dict[str, Any]], str]


def _started(m: dict[str, Any]) -> str:
    return (f"{m.get('job')} ({m.get('trigger')}, {m.get('key')}, attempt {m.get('attempt')}) "
            f"started: {m.get('agent')} Meta-Agent on {m.get('task_path')}")


def _finished(m: dict[str, Any]) -> str:
    line = f"{ident(m.get('job'))} {m.get('outcome')} ({m.get('agent')}): {m.get('detail')}"
    if m.get("report_path"):
        line += f"; report {m.get('report_path')}"
    if m.get("will_retry"):
        line += "; retried in the next off-market window"
    return line


def _created(m: dict[str, Any]) -> str:
    return (f"proposal {m.get('proposal_id')} ({ident(m.get('kind'))}) pending: "
            f"{quoted(m.get('title'))} [from {ident(m.get('job'))}, {m.get('source')}]")


def _decided(m: dict[str, Any]) -> str:
    files = m.get("artefacts") or []
    written = f"; written: {', '.join(map(str, files))}" if files else ""
    return (f"proposal {m.get('proposal_id')} {m.get('decision')} by {ident(m.get('by'))}: "
            f"{quoted(m.get('reason'))}{written}")


def _refused(m: dict[str, Any]) -> str:
    return (f"proposal {m.get('proposal_id')}: {m.get('action')} by {ident(m.get('by'))} "
            f"refused: {m.get('reason')}")


META_SUMMARIES: dict[str, Summary] = {
    "meta_job_started": _started,
    "meta_job_finished": _finished,
    "proposal_created": _created,
    "proposal_decided": _decided,
    "proposal_refused": _refused,
}
META_SEVERITIES: dict[str, str] = {"proposal_refused": "warning"}
