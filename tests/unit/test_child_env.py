"""The environment of a child process: the kernel's, without the kernel's secrets."""

from __future__ import annotations

from kernel.child_env import child_environment, is_secret


def test_the_deny_list_removes_the_supervisors_secrets_and_nothing_else() -> None:
    kernel = {"ANTHROPIC_API_KEY": "sk", "Anthropic_Auth_Token": "t", "ANTHROPIC_BASE_URL": "u",
              "CLAUDE_CODE_OAUTH_TOKEN": "c", "PATH": "/bin", "EXCHANGE_API_KEY": "own",
              "MY_ANTHROPIC_NOTE": "kept"}
    env = child_environment({"PYTHONUNBUFFERED": "1"}, environ=kernel)
    assert env == {"PATH": "/bin", "EXCHANGE_API_KEY": "own", "MY_ANTHROPIC_NOTE": "kept",
                   "PYTHONUTF8": "1", "PYTHONUNBUFFERED": "1"}
    assert is_secret("anthropic_api_key") and not is_secret("PATH")
    assert is_secret("MASSIVE_API_KEY") and is_secret("polygon_api_key")


def test_what_the_operator_configured_is_passed_as_written() -> None:
    env = child_environment({"PATH": "/opt/bot/bin", "BOT_KEY": "k"}, environ={"PATH": "/bin"})
    assert env == {"PATH": "/opt/bot/bin", "BOT_KEY": "k", "PYTHONUTF8": "1"}


def test_every_child_writes_utf8_unless_its_config_says_otherwise() -> None:
    """The supervisor decodes children's pipes as UTF-8: a Windows child must write it."""
    inherited = {"PYTHONUTF8": "0", "pythonutf8": "0", "PATH": "/bin"}
    assert child_environment(None, environ=inherited) == {"PATH": "/bin", "PYTHONUTF8": "1"}
    assert child_environment({"PYTHONUTF8": "0"}, environ=inherited)["PYTHONUTF8"] == "0"
