"""Settings: options over environment over config file over defaults; bad settings are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from diogen.config import PRERELEASE_PATTERN, RELEASE_PATTERN, load_settings
from diogen.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DIOGEN_DATABASE_URL", "DIOGEN_RELEASE_PATTERN", "DIOGEN_GIT_JOBS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./diogen.db"
    assert settings.effective_release_pattern == RELEASE_PATTERN
    assert settings.benchmarks == "2023"


def test_precedence_option_over_environment_over_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "diogen.toml").write_text('database_url = "sqlite:///file.db"\ngit_jobs = 3\n')
    assert load_settings().database_url == "sqlite:///file.db"
    monkeypatch.setenv("DIOGEN_DATABASE_URL", "sqlite:///env.db")
    settings = load_settings()
    assert (settings.database_url, settings.git_jobs) == ("sqlite:///env.db", 3)
    assert load_settings(database_url="sqlite:///opt.db").database_url == "sqlite:///opt.db"
    assert load_settings(database_url=None).database_url == "sqlite:///env.db"


def test_explicit_config_file(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("include_prereleases = true\n")
    assert load_settings(other).effective_release_pattern == PRERELEASE_PATTERN


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("git_jobs = 0\n", "git_jobs"),
        ('release_pattern = "(unclosed"\n', "release_pattern: Value error, not a valid regular"),
        ('databse_url = "typo"\n', "databse_url: Extra inputs are not permitted"),
        ('benchmarks = "1999"\n', "benchmarks"),
        ("this is not toml\n", "cannot read config file"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "diogen.toml").write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
