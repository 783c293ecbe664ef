"""The TLS context: which trust store it loads, and loading it in a thread of its own."""

from __future__ import annotations

import threading

import pytest

from kpijmf.kolada import tls
from tests.test_client import TEST_CA


@pytest.fixture
def trust(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Neither SSL_CERT_FILE nor SSL_CERT_DIR from the machine running the tests."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_ssl_cert_file_is_the_trust_store_when_set_and_ssl_cert_dir_is_not_looked_at(trust, tmp_path):
    (tmp_path / "ca.pem").write_text(TEST_CA)
    trust.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    trust.setenv("SSL_CERT_DIR", str(tmp_path / "missing"))

    assert len(tls.context().get_ca_certs()) == 1


def test_without_either_variable_certifis_bundle_is_loaded(trust):
    assert len(tls.context().get_ca_certs()) > 50


def test_ssl_cert_dir_alone_replaces_certifis_bundle(trust, tmp_path):
    trust.setenv("SSL_CERT_DIR", str(tmp_path))

    assert tls.context().get_ca_certs() == []  # a directory is read at each handshake; certifi's bundle never


def test_loading_builds_the_same_context_in_a_thread_of_its_own(trust, tmp_path):
    (tmp_path / "ca.pem").write_text(TEST_CA)
    trust.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    built_in: list[str] = []
    build = tls.context
    trust.setattr(tls, "context", lambda: built_in.append(threading.current_thread().name) or build())

    loaded = tls.loading().result(timeout=30)

    assert built_in == ["tls context"]
    assert loaded.get_ca_certs() == build().get_ca_certs()


def test_what_went_wrong_while_loading_is_raised_by_the_result(trust, tmp_path):
    trust.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))

    loading = tls.loading()  # says nothing yet: the thread keeps what went wrong

    with pytest.raises(FileNotFoundError):
        loading.result(timeout=30)
