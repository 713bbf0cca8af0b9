"""An operator's answer names its journal number once, whatever the outcome."""

from __future__ import annotations

import io

from rich.console import Console

from kernel._answers import answered
from kernel.console.commands.operator import print_answer
from kernel.control_protocol import HaltRequest


def printed(seq: int) -> str:
    out = io.StringIO()
    reply = answered(HaltRequest(reason="r", user="ops", wait_s=0.5), "halt", seq, "h-1", None)
    code = print_answer(reply, Console(file=out, width=400, highlight=False), "ops")
    assert code == 7
    return out.getvalue()


def test_an_unanswered_command_says_its_journal_number_once() -> None:
    text = printed(4242)
    assert text.count("4242") == 1 and "journal #4242, by ops" in text
