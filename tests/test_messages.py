"""The message catalogue: one per language, the same keys and placeholders in each, Swedish unless told."""

from __future__ import annotations

import string

import pytest

from kpijmf.errors import UsageError
from kpijmf.messages import EN, SV, current_lang, msg


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_message_with_the_same_placeholders():
    assert SV.keys() == EN.keys()
    for key in SV:
        assert _fields(SV[key]) == _fields(EN[key]), key


def test_swedish_by_default_english_by_env_or_argument(monkeypatch):
    monkeypatch.delenv("KPIJMF_LANG", raising=False)
    assert current_lang() == "sv" and msg("progress_fetch") == "Hämtar från Kolada"
    monkeypatch.setenv("KPIJMF_LANG", "en")
    assert msg("progress_fetch") == "Fetching from Kolada"
    assert msg("progress_fetch", lang="sv") == "Hämtar från Kolada"  # an explicit choice wins
    monkeypatch.setenv("KPIJMF_LANG", "fi")
    with pytest.raises(UsageError, match="unknown language 'fi'"):
        msg("progress_fetch")


def test_numbers_follow_the_language():
    assert msg("revisions_count", n=111504, lang="sv") == "111\u00a0504 revideringar"
    assert msg("revisions_count", n=111504, lang="en") == "111,504 revisions"
    assert "0,1 MB" in msg("refreshed", rows=1, requests=1, data=1, mb=0.1, seconds=2.0, lang="sv")


def test_every_message_the_code_asks_for_is_in_the_catalogue():
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "kpijmf"
    asked = {key for path in package.rglob("*.py")
             for key in re.findall(r"""\bmsg\(\s*["']([a-z_]+)["']""", path.read_text(encoding="utf-8"))}  # fmt: skip
    assert len(asked) > 30 and asked <= SV.keys(), asked - SV.keys()
