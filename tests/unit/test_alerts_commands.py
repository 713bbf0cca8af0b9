"""The chat's commands and their confirmations (agents/alerts/commands.py), pure."""

from __future__ import annotations

import pytest

from agents.alerts.commands import Command, Confirmations, Pending, Refused, describe, parse
from agents.alerts.telegram_bot import operator_request

BOTS = frozenset({"quantumedge-1"})


@pytest.mark.parametrize(("text", "expected"), [
    ("/halt news at 14:00", Command(verb="halt", reason="news at 14:00")),
    ("/halt@qe_test_bot news", Command(verb="halt", reason="news")),
    ("/HALT news", Command(verb="halt", reason="news")),
    ("/halt quantumedge-1 news", Command(verb="halt", reason="news", bot="quantumedge-1")),
    ("/resume quantumedge-1 all good", Command(verb="resume", reason="all good",
                                               bot="quantumedge-1")),
    ("/closeall flatten now", Command(verb="closeall", reason="flatten now")),
    ("/mode paper", Command(verb="mode", mode="paper", reason="from Telegram")),
    ("/mode quantumedge-1 off too wild", Command(verb="mode", mode="off", reason="too wild",
                                                  bot="quantumedge-1")),
    ("/confirm 012345", Command(verb="confirm", code="012345")),
    ("/cancel 012345", Command(verb="cancel", code="012345")),
    ("/status", Command(verb="status")), ("/bots", Command(verb="bots")),
    ("/report", Command(verb="report")), ("/start", Command(verb="help")),
    ("/report quantumedge-1", Command(verb="report", bot="quantumedge-1")),
    ("/report qe-9", Command(verb="report")),
    ("/halt stop-loss hit", Command(verb="halt", reason="stop-loss hit")),
])
def test_commands(text: str, expected: Command) -> None:
    assert parse(text, BOTS) == expected


@pytest.mark.parametrize(("text", "answer"), [
    ("hello", "Commands start with /"),
    ("", "Commands start with /"),
    ("/halt", "/halt needs a reason"),
    ("/halt quantumedge-1", "/halt needs a reason"),
    ("/resume quantumedge-1", "/resume needs a reason"),
    ("/halt qe-9 news", "no bot qe-9 here (bots: quantumedge-1); nothing was done"),
    ("/mode demo", "demo is switched at the terminal"),
    ("/mode", "/mode [bot] paper|off"),
    ("/confirm", "6-digit code"), ("/confirm 12", "6-digit code"),
    ("/confirm 123456 x", "6-digit code"),
    ("/rm -rf", "unknown command /rm"),
])
def test_refusals_say_what_to_do(text: str, answer: str) -> None:
    refused = parse(text, BOTS)
    assert isinstance(refused, Refused) and answer in refused.answer


def test_no_bot_connected_is_said() -> None:
    refused = parse("/halt qe-2 x", frozenset())
    assert isinstance(refused, Refused) and "none connected now" in refused.answer


def test_a_reason_is_described_quoted_on_one_line() -> None:
    said = describe(Command(verb="halt", reason='a\n"b" <i>c</i>', bot="quantumedge-1"))
    assert said == 'halt trading (bot quantumedge-1), reason "a\\n\\"b\\" <i>c</i>"'


def test_a_code_is_good_once_in_its_chat_in_time() -> None:
    book, cmd = Confirmations(timeout_s=60), Command(verb="resume", reason="ok")
    book.ask("111111", cmd, chat_id=1, user="telegram:1:ana", now=0.0)
    assert isinstance(book.take("111111", chat_id=2, now=1.0), Refused)  # another chat
    taken = book.take("111111", chat_id=1, now=60.0)
    assert isinstance(taken, Pending) and taken.command == cmd
    assert isinstance(book.take("111111", chat_id=1, now=61.0), Refused)  # used


def test_a_late_code_expires_and_says_how_to_start_again() -> None:
    book = Confirmations(timeout_s=60)
    book.ask("222222", Command(verb="closeall", reason="x"), chat_id=1, user="u", now=0.0)
    late = book.take("222222", chat_id=1, now=60.5)
    assert isinstance(late, Refused)
    assert "expired (60 s to confirm); nothing was done" in late.answer
    assert "close every position" in late.answer


def test_cancel_and_old_codes_are_forgotten() -> None:
    book = Confirmations(timeout_s=60)
    book.ask("333333", Command(verb="mode", mode="off", reason="r"), chat_id=1, user="u",
             now=0.0)
    assert not book.cancel("333333", chat_id=2)
    assert book.cancel("333333", chat_id=1)
    book.ask("444444", Command(verb="resume", reason="r"), chat_id=1, user="u", now=0.0)
    book.ask("555555", Command(verb="resume", reason="r"), chat_id=1, user="u", now=500.0)
    refused = book.take("444444", chat_id=1, now=500.0)
    assert isinstance(refused, Refused) and "no command waits" in refused.answer


@pytest.mark.parametrize(("fleet", "bot_id"), [(True, "quantumedge-1"), (False, "")])
def test_a_named_bot_becomes_the_requests_bot_in_a_fleet_only(fleet: bool, bot_id: str) -> None:
    """As ``--bot ID``: the one-bot kernel takes no bot id, and acts on its bot."""
    for text in ("/halt quantumedge-1 x", "/resume quantumedge-1 x",
                 "/closeall quantumedge-1 x", "/mode quantumedge-1 off x"):
        command = parse(text, BOTS)
        assert isinstance(command, Command)
        request = operator_request(command, "telegram:1:ana", confirmed=True, fleet=fleet)
        assert request.bot_id == bot_id, text  # type: ignore[attr-defined]
    portfolio = parse("/halt all of it", BOTS)
    assert isinstance(portfolio, Command)
    assert operator_request(portfolio, "u", confirmed=False, fleet=fleet).bot_id == ""  # type: ignore[attr-defined]
