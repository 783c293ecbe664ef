"""Text from Kolada or a file made safe to show: control characters and bidi overrides visibly escaped.

Every writer calls `printable` on text it did not make itself (the terminal table, stderr, CSV, Markdown,
HTML, XLSX, charts); JSON keeps the text and escapes the same characters as \\u escapes (`json_text`).
Escaping instead of deleting keeps what Kolada sent visible to an auditor, and never uncovers a formula
(a title "\\u202e=1" stays "\\u202e=1", not "=1").
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL and C1: ESC sequences could clear the screen, hide text, set the
# clipboard (OSC 52) or forge links; CR and backspace could overwrite what was printed. Bidi embeddings,
# overrides, isolates and marks (U+202A-E, U+2066-9, U+200E/F, U+061C) reorder what a reader sees.
# The patterns are compiled (and cached by `re`) on first use: a run needs one or two of the three.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]"
_UNSAFE_BUT_CR = f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]"
# In JSON text, json.dumps has already escaped every C0 control; what is left to escape is DEL, C1 and bidi.
_UNSAFE_IN_JSON = f"[\x7f-\x9f{_BIDI}]"


def _escaped(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_cr: bool = False) -> str:
    """Text made safe to show: controls and bidi marks as \\x1b, \\u202e; tab and newline (and CR with keep_cr,
    for file formats that quote or convert it) kept."""
    return re.sub(_UNSAFE_BUT_CR if keep_cr else _UNSAFE, _escaped, text)


def json_text(document: str) -> str:
    """JSON text (from json.dumps) with DEL, C1 controls and bidi marks as \\u escapes: the values read back
    unchanged, the text shows nothing a terminal would act on."""
    return re.sub(_UNSAFE_IN_JSON, lambda m: f"\\u{ord(m[0]):04x}", document)
