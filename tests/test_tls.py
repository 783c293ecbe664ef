"""The TLS context: which trust store it loads, and that one prepared ahead is taken once, for the same settings."""

from __future__ import annotations

import threading

import pytest

from kpijmf.kolada import tls
from tests.test_client import TEST_CA


@pytest.fixture
def trust(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Neither SSL_CERT_FILE nor SSL_CERT_DIR from the machine, and nothing prepared by an earlier test."""
    for name in tls.TRUST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    tls.context()  # takes whatever an earlier test (or CLI run in this process) left prepared
    return monkeypatch


def subjects(context) -> set[str]:
    return {dict(part[0] for part in cert["subject"]).get("commonName", "") for cert in context.get_ca_certs()}


def test_ssl_cert_file_is_the_trust_store_when_set_and_ssl_cert_dir_is_not_looked_at(trust, tmp_path):
    (tmp_path / "ca.pem").write_text(TEST_CA)
    trust.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    trust.setenv("SSL_CERT_DIR", str(tmp_path / "missing"))

    assert len(tls.context().get_ca_certs()) == 1


def test_without_either_variable_certifis_bundle_is_loaded(trust):
    assert len(tls.context().get_ca_certs()) > 50


def test_ssl_cert_dir_alone_replaces_certifis_bundle(trust, tmp_path):
    trust.setenv("SSL_CERT_DIR", str(tmp_path))

    assert tls.context().get_ca_certs() == []  # a directory is read per handshake, never certifi's bundle


def test_a_context_prepared_ahead_is_built_in_another_thread_and_taken_once(trust, tmp_path):
    (tmp_path / "ca.pem").write_text(TEST_CA)
    trust.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    built_in: list[str] = []
    build = tls._build
    trust.setattr(tls, "_build", lambda: built_in.append(threading.current_thread().name) or build())

    tls.prepare()
    tls.prepare()  # one is already on its way
    first = tls.context()
    second = tls.context()

    assert built_in == ["tls context", "MainThread"]
    assert first is not second and len(first.get_ca_certs()) == 1


def test_a_context_prepared_for_other_trust_settings_is_not_taken(trust, tmp_path):
    tls.prepare()  # certifi's bundle
    trust.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))

    with pytest.raises(OSError):
        tls.context()


def test_a_failure_while_preparing_is_raised_where_the_context_is_taken(trust, tmp_path):
    trust.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))

    tls.prepare()  # says nothing: the thread keeps what went wrong

    with pytest.raises(FileNotFoundError):
        tls.context()
