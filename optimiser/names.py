"""Names in messages: shown escaped, and the nearest known names for a typo.

Names are any string (docs/FORMAT.md): control characters, NUL, separators,
right-to-left marks and megabyte-long names are all legal data. A message must
still be safe to print on a terminal and short enough to read, so every name
that goes into a message passes through :func:`shown` (one helper for the whole
engine): a quoted, repr-like form in which every non-printable character is an
escape (``'\\x1f'``, ``'\\x00'``, ``'\\u202e'``) and a name longer than
``limit`` characters is cut with its length stated.

:func:`did_you_mean` finds the known names within a small edit distance
(Damerau-Levenshtein, optimal string alignment: insertions, deletions,
substitutions and swaps of two neighbours each count as one edit).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["shown", "edit_distance", "nearest", "did_you_mean"]

SHOWN_LIMIT = 80  # characters of a name shown in a message
# above this many known names, suggestions are skipped (each query scans them all)
NEAREST_MAX_KNOWN = 20_000


def shown(name: object, limit: int = SHOWN_LIMIT) -> str:
    """A name as it appears in a message: quoted, every non-printable character escaped
    (the same escapes as Python's repr), cut after `limit` characters."""
    if not isinstance(name, str):
        return repr(name)
    if len(name) > limit:
        return repr(name[:limit])[:-1] + f"...' ({len(name):,} characters)"
    return repr(name)


def edit_distance(a: str, b: str, cap: int = 2) -> int:
    """Optimal-string-alignment distance between a and b; any value above `cap` is
    returned as cap + 1 (the computation stops early)."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if abs(la - lb) > cap:
        return cap + 1
    # each edit changes the set of characters used by at most two: a cheap lower bound
    if len(set(a) ^ set(b)) > 2 * cap:
        return cap + 1
    prev2: list[int] | None = None
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ai = a[i - 1]
        lo = i  # cur[0]
        for j in range(1, lb + 1):
            cost = 0 if ai == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            lo = min(lo, v)
        if lo > cap:
            return cap + 1
        prev2, prev = prev, cur
    return min(prev[lb], cap + 1)


def nearest(name: str, known: Iterable[str], cap: int = 2, n: int = 3) -> list[str]:
    """Up to `n` known names within `cap` edits of `name` (case ignored when comparing),
    nearest first, ties in the order given."""
    if not isinstance(name, str):
        return []
    known = [k for k in known if isinstance(k, str)]
    if len(known) > NEAREST_MAX_KNOWN or len(name) > 200:
        return []
    low = name.casefold()
    scored = []
    for pos, k in enumerate(known):
        if k == name:
            continue
        d = edit_distance(low, k.casefold(), cap)
        if d <= cap:
            scored.append((d, pos, k))
    scored.sort()
    return [k for *_, k in scored[:n]]


def did_you_mean(name: str, known: Iterable[str], cap: int = 2) -> str:
    """' (did you mean 'X'?)' or ' (did you mean 'X' or 'Y'?)', or '' when nothing is near."""
    close = nearest(name, known, cap)
    if not close:
        return ""
    return " (did you mean " + " or ".join(shown(k) for k in close) + "?)"
