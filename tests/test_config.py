"""Settings from the environment."""

from pathlib import Path

import pytest

from kpijmf.config import DEFAULT_API_URL, NUMBERS, load_settings
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


# Hostile or mistyped values: each is one UsageError (exit 2) before anything is fetched or stored.
BAD_ENVIRONMENT = {
    "api-url-unclosed-ipv6": ({"KPIJMF_API_URL": "http://[::1"}, "invalid IPv6 URL"),
    "api-url-port-not-a-number": ({"KPIJMF_API_URL": "http://host:port/v3"}, "port could not be cast"),
    "api-url-port-out-of-range": ({"KPIJMF_API_URL": "http://host:99999/v3"}, "port out of range"),
    "api-url-no-host": ({"KPIJMF_API_URL": "http:///v3"}, "no host"),
    "api-url-space": ({"KPIJMF_API_URL": "http://a b/v3"}, "spaces or control characters"),
    "timeout-nan": ({"KPIJMF_TIMEOUT": "nan"}, "KPIJMF_TIMEOUT must be a finite number, got 'nan'"),
    "timeout-inf": ({"KPIJMF_TIMEOUT": "inf"}, "KPIJMF_TIMEOUT must be a finite number"),
    "timeout-1e308": ({"KPIJMF_TIMEOUT": "1e308"}, "KPIJMF_TIMEOUT must be at most 3600, got '1e308'"),
    "timeout-0": ({"KPIJMF_TIMEOUT": "0"}, "KPIJMF_TIMEOUT must be at least 0.1"),
    "max-age-inf": ({"KPIJMF_MAX_AGE_DAYS": "inf"}, "KPIJMF_MAX_AGE_DAYS must be a finite number"),
    "max-age-negative": ({"KPIJMF_MAX_AGE_DAYS": "-1"}, "KPIJMF_MAX_AGE_DAYS must be at least 0"),
    "lock-timeout-nan": ({"KPIJMF_LOCK_TIMEOUT": "nan"}, "KPIJMF_LOCK_TIMEOUT must be a finite number"),
    "lock-timeout-huge": ({"KPIJMF_LOCK_TIMEOUT": "1e9"}, "KPIJMF_LOCK_TIMEOUT must be at most 86400"),
    "concurrency-exponent": ({"KPIJMF_CONCURRENCY": "1e3"}, "KPIJMF_CONCURRENCY must be a whole number"),
    "concurrency-huge": ({"KPIJMF_CONCURRENCY": "100000"}, "KPIJMF_CONCURRENCY must be at most 64"),
    "concurrency-5000-digits": ({"KPIJMF_CONCURRENCY": "9" * 5000}, "must be a whole number, got '99999"),
    "max-tries-0": ({"KPIJMF_MAX_TRIES": "0"}, "KPIJMF_MAX_TRIES must be at least 1"),
    "retry-budget-negative": ({"KPIJMF_RETRY_BUDGET": "-5"}, "KPIJMF_RETRY_BUDGET must be at least 0"),
    "https-proxy-garbage": ({"HTTPS_PROXY": "::::garbage"}, "HTTPS_PROXY must be a proxy URL"),
    "https-proxy-lower-case": ({"https_proxy": "http://[::1"}, "https_proxy must be a proxy URL"),
    "all-proxy-ftp": ({"ALL_PROXY": "ftp://proxy:21"}, "the scheme must be one of http, https, socks5"),
    "http-proxy-bad-port": ({"HTTP_PROXY": "proxy:80x"}, "HTTP_PROXY must be a proxy URL"),
}


@pytest.mark.parametrize(("env", "fragment"), BAD_ENVIRONMENT.values(), ids=BAD_ENVIRONMENT.keys())
def test_hostile_environment_values_are_one_usage_error(env, fragment):
    with pytest.raises(UsageError) as err:
        load_settings(env)
    assert fragment in str(err.value)
    assert len(str(err.value)) < 300 and "\n" not in str(err.value)


def test_proxies_in_the_usual_forms_are_accepted():
    for value in ("http://proxy.example:8080", "proxy.example:3128", "socks5://127.0.0.1:1080", "https://[::1]:8443"):
        load_settings({"HTTPS_PROXY": value, "http_proxy": value})


@pytest.mark.parametrize("name", NUMBERS)
def test_every_numeric_variable_takes_its_bounds_and_refuses_past_them(name):
    bounds = NUMBERS[name]
    for edge in (bounds.minimum, bounds.maximum):
        text = str(int(edge)) if bounds.integer or float(edge).is_integer() else str(edge)
        settings = load_settings({name: text})
        assert getattr(settings, name.removeprefix("KPIJMF_").lower()) == edge
    with pytest.raises(UsageError, match="at most"):
        load_settings({name: str(int(bounds.maximum) + 1)})
    with pytest.raises(UsageError, match=r"finite|whole"):
        load_settings({name: "inf"})
