"""Names made safe to show: control characters escaped, nothing else changed.

Names in an instance may be any string. On a page or in a figure a control
character (a newline, a NUL, an escape sequence) would break the layout or
hide part of the name, so each is shown as its escape (``\\n``, ``\\x00``).
HTML escaping (``&``, ``<``) is the page's business; ``$`` is the figures'
(they switch math parsing off, so ``$10 & $20`` is drawn as written).
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    ch = m.group(0)
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def safe(name: object) -> str:
    """``name`` as text with control characters escaped (``"a\\nb"`` -> ``"a\\\\nb"``)."""
    text = str(name)
    if _CONTROL.search(text):
        text = _CONTROL.sub(_escape, text)
    if any(unicodedata.category(c) == "Cs" for c in text):  # lone surrogates cannot be encoded
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def pair(node: object, commodity: object) -> str:
    """The label of a (node, commodity) or (supplier, commodity) pair."""
    return f"{safe(node)} · {safe(commodity)}"
