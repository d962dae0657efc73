"""Settings (threadline.config): every setting has a rule, and each kind of mistake is refused
with one line naming the setting and the rule, before anything starts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from threadline.cli import main
from threadline.config import RULES, SettingError, Settings, settings_from_env, unknown_variables


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Should a bad setting get through, the command must not touch ./threadline.db.
    monkeypatch.chdir(tmp_path)
    for name in ("THREADLINE_DATABASE_URL", "THREADLINE_PORT", "THREADLINE_INSIGHTS"):
        monkeypatch.delenv(name, raising=False)


def test_every_setting_has_a_rule() -> None:
    """A new setting must say what a valid value is: add it to config.RULES."""
    names = {field.name for field in dataclasses.fields(Settings)}
    assert sorted(names - set(RULES)) == [], "settings without a rule"
    assert sorted(set(RULES) - names) == [], "rules for no setting"


def test_every_default_keeps_its_rule() -> None:
    Settings()  # raises if a default broke its own rule


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        # not a number
        ("THREADLINE_MAX_BODY_BYTES", "abc", "a whole number, at least 1"),
        ("THREADLINE_KEY_CACHE_SECONDS", "five", "a number of seconds, at least 0"),
        # out of range
        ("THREADLINE_PORT", "80800", "a whole number from 0 to 65535"),
        ("THREADLINE_WRITER_QUEUE_SIZE", "0", "a whole number, at least 1"),
        ("THREADLINE_INSIGHTS_CPU_SHARE", "1.5", "a number, above 0 and at most 1"),
        ("THREADLINE_QUERY_TIMEOUT_SECONDS", "nan", "a number of seconds, at least 0"),
        # unknown choice
        ("THREADLINE_ANALYTICS", "duckdb", "one of columnar, off"),
        ("THREADLINE_LOG_LEVEL", "verbose", "one of debug, info, warning, error, critical"),
        ("THREADLINE_ACCESS_LOG", "ture", "on or off"),
        # bad URL scheme
        ("THREADLINE_DATABASE_URL", "mysql://x/y", "sqlite:///path.db or postgresql://"),
        ("THREADLINE_DATABASE_URL", "threadline.db", "sqlite:///path.db or postgresql://"),
        ("THREADLINE_LLM_BASE_URL", "ftp://models", "an http:// or https:// URL"),
        # bad duration: these settings count seconds, hours or minutes, without a unit
        ("THREADLINE_BODY_TIMEOUT_SECONDS", "30s", "a number of seconds, above 0"),
        ("THREADLINE_SESSION_IDLE_MINUTES", "1h", "a number of minutes, above 0"),
        ("THREADLINE_WAIT_FOR_DATABASE", "-1", "a number of seconds, at least 0"),
        # malformed lists and sizes
        ("THREADLINE_CORS_ORIGINS", "https://docs.example.com/", "no path"),
        ("THREADLINE_TRUSTED_PROXIES", "10.0.0.0/8,proxy", "IP addresses or CIDR ranges"),
        ("THREADLINE_ANALYTICS_MEMORY_LIMIT", "lots", "512MB or 2GB"),
        ("THREADLINE_HOST", " ", "not empty"),
    ],
)
def test_a_bad_variable_is_refused_naming_it_and_the_rule(
    variable: str, value: str, rule: str
) -> None:
    with pytest.raises(SettingError) as caught:
        settings_from_env({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}={value}: must be "), message
    assert rule in message and "\n" not in message


def test_a_bad_flag_is_named_as_a_flag() -> None:
    with pytest.raises(SettingError, match=r"^--port 80800: must be a whole number from 0"):
        settings_from_env({}, port="80800")


def test_settings_made_in_code_are_checked_too() -> None:
    with pytest.raises(SettingError, match=r"^max_writes_in_flight=0: must be"):
        Settings(max_writes_in_flight=0)


def test_good_values_are_read_as_their_types() -> None:
    settings = settings_from_env(
        {
            "THREADLINE_PORT": " 0 ",
            "THREADLINE_ACCESS_LOG": "Yes",
            "THREADLINE_CSV_FORMULA_GUARD": "off",
            "THREADLINE_LOG_LEVEL": "WARNING",
            "THREADLINE_CORS_ORIGINS": "https://a.example, http://127.0.0.1:3000",
            "THREADLINE_TRUSTED_PROXIES": "10.0.0.0/8,::1",
            "THREADLINE_WAIT_FOR_DATABASE": "30",
            "THREADLINE_DATABASE_URL": "postgres://u:p@db/threadline",
        },
        log_level=None,
    )
    assert (settings.port, settings.access_log, settings.csv_formula_guard) == (0, True, False)
    assert settings.log_level == "warning" and settings.wait_for_database == 30.0
    assert settings.cors_origins == ("https://a.example", "http://127.0.0.1:3000")
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")


def test_a_flag_wins_over_its_variable_and_is_checked() -> None:
    env = {"THREADLINE_PORT": "9000"}
    assert settings_from_env(env, port="9001").port == 9001
    assert settings_from_env(env, port=None).port == 9000


def test_unknown_variables_are_warned_about_with_the_likely_setting() -> None:
    warnings = unknown_variables(
        {
            "THREADLINE_MAX_BODY_BYTE": "1",
            "THREADLINE_PORT": "1",
            "THREADLINE_URL": "x",
            "HOME": "/",
        }
    )
    assert warnings == [
        "THREADLINE_MAX_BODY_BYTE is not a threadline setting "
        "(did you mean THREADLINE_MAX_BODY_BYTES?); ignored",
        "THREADLINE_URL is not a threadline setting; ignored",
    ]


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["serve", "--port", "80800"], {}, "--port 80800"),
        (["serve", "--port", "http"], {}, "--port http"),
        (["serve", "--database-url", "mysql://x/y"], {}, "--database-url mysql://x/y"),
        (["serve"], {"THREADLINE_MAX_BODY_BYTES": "abc"}, "THREADLINE_MAX_BODY_BYTES=abc"),
        (["serve", "--wait-for-database", "1m"], {}, "--wait-for-database 1m"),
        (["keys", "list"], {"THREADLINE_DATABASE_URL": "mysql://x/y"}, "THREADLINE_DATABASE_URL"),
        (["insights", "work"], {"THREADLINE_INSIGHTS_CPU_SHARE": "2"}, "THREADLINE_INSIGHTS_"),
    ],
)
def test_the_command_says_one_line_and_exits_2_before_starting(
    args: list[str], env: dict[str, str], named: str
) -> None:
    # Nothing may start: no database is given that exists, and none is created.
    result = CliRunner(env=env).invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {named}") and ": must be " in line
