"""The message catalogue moved to `kpijmf.messages` (every layer may use it); this name stays for old imports."""

from kpijmf.messages import CATALOGUES, EN, LANG_ENV, LANGS, SV, current_lang, msg

__all__ = ["CATALOGUES", "EN", "LANGS", "LANG_ENV", "SV", "current_lang", "msg"]
