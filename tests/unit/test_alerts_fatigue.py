"""No alert fatigue (agents/alerts/fatigue.py), config routing and secrets, pure."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agents.alerts.config import AlertsConfig, Target, wants
from agents.alerts.envvars import (
    MissingSecret,
    expand,
    inherited,
    redact,
    secret_values,
    shown,
)
from agents.alerts.fatigue import Fatigue
from agents.alerts.mapping import Alert
from kernel.config import ConfigError, load_yaml


def alert(key: str = "crash_loop/actor risk", kind: str = "crash_loop",
          severity: str = "error") -> Alert:
    return Alert(kind=kind, severity=severity, key=key, title="Crash loop", body="b",  # type: ignore[arg-type]
                 ts=0.0)


def test_the_first_is_sent_and_repeats_in_the_window_are_counted() -> None:
    fatigue = Fatigue(window_s=600)
    assert fatigue.admit(alert(), 0.0)
    assert not fatigue.admit(alert(), 10.0)
    assert not fatigue.admit(alert(), 599.0)
    assert fatigue.suppressed == 2
    assert fatigue.admit(alert("crash_loop/actor audit"), 20.0)  # another key: its own window
    assert fatigue.due(599.9) == []


def test_the_window_ends_with_one_summary_of_the_repeats() -> None:
    fatigue = Fatigue(window_s=600)
    fatigue.admit(alert(), 0.0)
    for t in (1.0, 2.0, 3.0):
        fatigue.admit(alert(), t)
    (summary,) = fatigue.due(600.0)
    assert summary.kind == "crash_loop" and summary.severity == "error"
    assert summary.title == "Repeated: Crash loop"
    assert "3 more times within 10 min" in summary.body
    assert fatigue.due(1200.0) == [] and fatigue.suppressed == 0
    assert fatigue.admit(alert(), 601.0)  # a new window: sent again


def test_a_window_without_repeats_ends_quietly() -> None:
    fatigue = Fatigue(window_s=60)
    fatigue.admit(alert(), 0.0)
    assert fatigue.due(61.0) == []
    fatigue.admit(alert(), 62.0)
    fatigue.admit(alert(), 63.0)
    assert "once more" in fatigue.due(200.0)[0].body


@pytest.mark.parametrize(("min_severity", "kinds", "kind", "severity", "expected"), [
    ("warning", [], "halt", "critical", True),
    ("warning", [], "kernel_started", "info", False),
    ("info", [], "kernel_started", "info", True),
    ("critical", [], "limit_near", "warning", False),
    ("info", ["halt"], "resume", "info", False),
    ("info", ["halt", "resume"], "resume", "info", True),
    ("critical", ["daily_summary"], "test", "info", True),
])
def test_targets_take_their_kinds_at_their_severity(min_severity: str, kinds: list[str],
                                                   kind: str, severity: str,
                                                   expected: bool) -> None:
    target = Target(name="t", urls=["json://x"], min_severity=min_severity,  # type: ignore[arg-type]
                    kinds=kinds)
    assert wants(target, kind, severity) is expected


def test_an_unknown_kind_or_key_in_the_config_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown alert kind 'halts'"):
        msgspec.convert({"targets": [{"name": "t", "urls": ["json://x"], "kinds": ["halts"]}]},
                        AlertsConfig)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"target": []}, AlertsConfig)


def test_shipped_defaults_are_off() -> None:
    config = AlertsConfig()
    assert config.targets == [] and not config.telegram.enabled and not config.health.enabled
    assert config.health.bind == "127.0.0.1"


def test_secrets_come_from_the_environment_and_are_masked() -> None:
    env = {"TELEGRAM_TOKEN": "123:abc-secret", "CHAT": "42"}
    url = "tgram://${TELEGRAM_TOKEN}/${CHAT}"
    assert expand(url, env) == "tgram://123:abc-secret/42"
    with pytest.raises(MissingSecret, match="NOPE is not set"):
        expand("tgram://${NOPE}", env)
    secrets = secret_values([url], env)
    assert secrets == ["123:abc-secret"]  # too short to mask safely: "42"
    assert redact("failed tgram://123:abc-secret/42", secrets) == "failed tgram://***/42"
    assert shown(url) == "tgram://(uses $TELEGRAM_TOKEN, $CHAT)"
    assert shown("json://host/path") == "json://***"


def test_a_secret_written_into_the_file_is_refused_without_repeating_it(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text('telegram:\n  enabled: true\n  token: "123456:SECRET-VALUE"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, AlertsConfig)
    assert "token must name an environment variable as ${VAR}" in str(caught.value)
    assert "SECRET-VALUE" not in str(caught.value)
    path.write_text('health:\n  auth_token: "plain"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="auth_token must name an environment variable"):
        load_yaml(path, AlertsConfig)


def test_secrets_the_bot_would_inherit_are_named() -> None:
    config = msgspec.convert({
        "targets": [{"name": "d", "urls": ["discord://${DISCORD_HOOK}",
                                           "json://h/${APPRISE_PATH}"]}],
        "telegram": {"token": "${TELEGRAM_TOKEN}"},
        "health": {"auth_token": "${METRICS_TOKEN}"}}, AlertsConfig)
    problems = inherited(config)
    assert len(problems) == 2
    assert "`targets[0].urls`: ${DISCORD_HOOK} would be passed on" in problems[0]
    assert "APPRISE_DISCORD_HOOK" in problems[0]
    assert "`health.auth_token`: ${METRICS_TOKEN}" in problems[1]
    assert inherited(AlertsConfig()) == []
