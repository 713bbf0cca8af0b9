"""The built-in Meta-Agent: with the LLM (a local Messages API server, the real SDK), and
its labelled offline fallback when the call fails or no key is set."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from agents.meta.messages import MetaJobFinished, ProposalCreated
from agents.meta.pipeline import RunRequest, run_job
from agents.moderator.llm_budget import TokenBudget
from agents.moderator.llm_client import LlmClient
from agents.moderator.llm_config import LlmConfig
from agents.moderator.messages import LlmCallMade
from bus.protocol import Message
from kernel.registry import meta_slice
from kernel.settings import Settings
from tests.support.messages_api import MessagesApi, messages_api, text_answer, tool_answer
from tests.support.meta_world import meta_settings

pytestmark = pytest.mark.timeout(60)
ANSWER = {
    "verdict": "concerns",
    "summary": "The entry module retries orders without a limit.",
    "findings": [{"severity": "warning", "where": "run_bot.py:1", "text": "no timeout"}],
    "recommendations": ["Bound the retries."],
    "questions": ["Is the retry loop intended?"],
    "proposals": [{"kind": "feature", "title": "Bounded order retries",
                   "rationale": "A stuck exchange call holds the loop."}],
}


@pytest.fixture
def api() -> Iterator[MessagesApi]:
    with messages_api() as server:
        yield server


def client(api: MessagesApi, sent: list[Message]) -> LlmClient:
    config = msgspec.convert({"base_url": api.base_url, "retries": 0, "timeout_s": 2,
                              "deadline_s": 5, "max_tokens": 4096}, LlmConfig)
    return LlmClient(config, api_key="sk-test-meta", budget=TokenBudget(1_000_000),
                     publish=sent.append, clock=time.time)


async def run(settings: Settings, llm: LlmClient | None,
              sent: list[Message]) -> MetaJobFinished:
    result = await run_job(RunRequest("code-audit", "manual", "2026-W47"),
                           config=meta_slice(settings), publish=sent.append, clock=time.time,
                           client=llm)
    if llm is not None:
        await llm.close()
    return result.finished


async def test_the_llm_answers_the_task_and_its_proposal_is_pending(
        tmp_path: Path, api: MessagesApi) -> None:
    api.script(tool_answer(ANSWER))
    sent: list[Message] = []
    done = await run(meta_settings(tmp_path, None), client(api, sent), sent)
    assert (done.outcome, done.agent) == ("ok", "builtin-llm")
    report = Path(done.report_path).read_text()
    assert "source: builtin-llm" in report
    assert "with the LLM (claude-test)" in report
    assert "| warning | run_bot.py:1 | no timeout |" in report
    [created] = [m for m in sent if isinstance(m, ProposalCreated)]
    assert (created.kind, created.source) == ("feature", "builtin-llm")
    [call] = [m for m in sent if isinstance(m, LlmCallMade)]
    assert (call.purpose, call.outcome) == ("meta:code-audit", "ok")
    prompt = api.requests[0].prompt
    assert "<data>" in prompt and "Audit the bot" in prompt  # the task, quoted as data
    assert api.requests[0].forced_tool == "meta_report"


async def test_a_bad_llm_answer_falls_back_to_the_labelled_offline_rules(
        tmp_path: Path, api: MessagesApi) -> None:
    api.script(text_answer("I would rather chat."))
    sent: list[Message] = []
    done = await run(meta_settings(tmp_path, None), client(api, sent), sent)
    assert (done.outcome, done.agent) == ("ok", "builtin-offline")
    report = Path(done.report_path).read_text()
    assert "source: builtin-offline" in report
    assert "the LLM call failed (bad_response" in report
    assert any("offline rules: the LLM call failed" in note for note in done.notes)


async def test_without_a_key_the_offline_rules_answer_and_say_why(tmp_path: Path) -> None:
    settings = meta_settings(tmp_path, None)
    model = tmp_path / "bot" / "models" / "entry.pkl"
    old = time.time() - 20 * 86_400
    os.utime(model, (old, old))
    (tmp_path / "bot" / "data").mkdir()
    (tmp_path / "bot" / "data" / "ticks.csv").write_text("ts,price\n")
    sent: list[Message] = []
    no_key = LlmClient(settings.llm, api_key=None, budget=TokenBudget(1000),
                       publish=sent.append, clock=time.time)
    result = await run_job(RunRequest("retrain", "manual", "2026-W47"),
                           config=meta_slice(settings), publish=sent.append, clock=time.time,
                           client=no_key)
    done = result.finished
    assert (done.outcome, done.agent) == ("ok", "builtin-offline")
    report = Path(done.report_path).read_text()
    assert "the LLM is disabled in llm.yaml" in report
    assert "`models/entry.pkl`" in Path(done.task_path).read_text()
    [proposal] = result.proposals
    assert (proposal.draft.kind, proposal.draft.target) == ("retrain", "models/entry.pkl")
    assert "20.0 days old" in proposal.draft.rationale
    assert not [m for m in sent if isinstance(m, LlmCallMade)]
