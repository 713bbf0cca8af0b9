"""How outside text is shown to a person and passed on to a bot (kernel/untrusted.py)."""

from __future__ import annotations

import pytest

from kernel.untrusted import clean, ident, one_line, quoted


@pytest.mark.parametrize(("text", "shown"), [
    ("losses mount", '"losses mount"'),
    ("a\n[green]applied[/green]", '"a\\n[green]applied[/green]"'),
    ("\x1b[31mred\x1b[0m\x07", '"\\x1b[31mred\\x1b[0m\\x07"'),
    ("back\rover\ttab", '"back\\rover\\ttab"'),
    ('say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'),
    ("\u202egnp.exe\u200b", '"\\u202egnp.exe\\u200b"'),
    ("caf\u00e9 \u2014 \u20ac", '"caf\u00e9 \u2014 \u20ac"'),  # Windows-1252 letters and signs
    ("\u2192 \U0001f680 \u0443", '"\\u2192 \\U0001f680 \\u0443"'),  # outside cp1252
    ("\xa0\xad\x85", '"\\xa0\\xad\\x85"'),  # no-break space, soft hyphen, C1 control
    (None, '""'),
])
def test_quoted_shows_every_character_and_stays_on_one_line(text: str | None,
                                                             shown: str) -> None:
    assert quoted(text) == shown
    quoted(text).encode("cp1252")


def test_a_long_value_is_cut_outside_its_quotes() -> None:
    assert quoted("x" * 10, limit=4) == '"xxxx"…'
    assert quoted("\n" * 10, limit=5) == '"\\n\\n"…'  # an escape is never split
    assert one_line("y" * 10, limit=3) == "yyy…"


@pytest.mark.parametrize(("name", "shown"), [
    ("quantumedge-1", "quantumedge-1"), ("BTCUSDT", "BTCUSDT"),
    ("tcp://127.0.0.1:7710", "tcp://127.0.0.1:7710"),
    ("C:\\data\\j.sqlite3", "C:\\data\\j.sqlite3"),
    ("[/red] rogue", '"[/red] rogue"'), ("two words", '"two words"'), ("", '""'),
    ("BTC\u0443SDT", '"BTC\\u0443SDT"'), ("x" * 81, '"' + "x" * 80 + '"…'),
])
def test_a_name_is_bare_only_when_it_is_a_plain_word(name: str, shown: str) -> None:
    assert ident(name) == shown


def test_one_line_leaves_quoted_parts_as_they_are() -> None:
    line = "answer: " + quoted("a\nb") + " and \x1b[2J"
    assert one_line(line) == 'answer: "a\\nb" and \\x1b[2J'
    assert one_line(one_line(line)) == one_line(line)


def test_clean_text_for_a_bot_has_no_control_characters() -> None:
    assert clean("calm\n\n\x1b[31mdown\x07\u202e now\u200b\t!", 100) == "calm [31mdown now !"
    assert clean("  spaced\xa0out  ", 100) == "spaced out"
    assert clean("x" * 50, 10) == "x" * 9 + "…"
    assert len(clean("word " * 100, 30)) <= 30
