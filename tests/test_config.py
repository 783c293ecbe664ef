"""Settings from the environment."""

from pathlib import Path

import pytest

from kpijmf.config import DEFAULT_API_URL, load_settings
from kpijmf.errors import UsageError


def test_defaults_when_environment_is_empty():
    settings = load_settings({})
    assert settings.api_url == DEFAULT_API_URL
    assert settings.concurrency == 4
    assert settings.store_path.name == "kpijmf.sqlite"


def test_environment_overrides_and_trailing_slash_is_dropped(tmp_path):
    settings = load_settings(
        {"KPIJMF_API_URL": "http://127.0.0.1:9/v3/", "KPIJMF_CACHE_DIR": str(tmp_path), "KPIJMF_TIMEOUT": "2.5"}
    )
    assert settings.api_url == "http://127.0.0.1:9/v3"
    assert settings.store_path == Path(tmp_path) / "kpijmf.sqlite"
    assert settings.timeout == 2.5


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"KPIJMF_API_URL": "api.kolada.se/v3"}, "must be an http"),
        ({"KPIJMF_API_URL": "ftp://x/v3"}, "must be an http"),
        ({"KPIJMF_CONCURRENCY": "four"}, "whole number"),
        ({"KPIJMF_CONCURRENCY": "0"}, "at least 1"),
        ({"KPIJMF_TIMEOUT": "-1"}, "at least"),
    ],
)
def test_malformed_settings_are_usage_errors(env, fragment):
    with pytest.raises(UsageError, match=fragment):
        load_settings(env)
