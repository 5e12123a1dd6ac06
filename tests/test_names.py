"""Names in messages: escaped, cut, and the nearest known names for a typo."""

from __future__ import annotations

import pytest

from optimiser.names import did_you_mean, edit_distance, nearest, shown


@pytest.mark.parametrize("a, b, d", [
    ("max_stok", "max_stock", 1), ("floor", "floors", 1), ("Frnot", "Front", 1),
    ("note", "node", 1), ("ab", "ba", 1), ("abc", "abc", 0), ("abc", "xyz", 3),
    ("kitten", "sitting", 3), ("", "ab", 2), ("abcdef", "a", 3),
])
def test_edit_distance_capped_at_two(a, b, d):
    assert edit_distance(a, b) == min(d, 3)


def test_edit_distance_matches_a_plain_reference():
    def ref(a, b):  # optimal string alignment, full table
        t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(len(a) + 1):
            t[i][0] = i
        for j in range(len(b) + 1):
            t[0][j] = j
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                t[i][j] = min(t[i - 1][j] + 1, t[i][j - 1] + 1,
                              t[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
                if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                    t[i][j] = min(t[i][j], t[i - 2][j - 2] + 1)
        return t[-1][-1]

    words = ["depot", "dpeot", "depots", "deport", "report", "d", "", "tope", "depto", "dept"]
    for a in words:
        for b in words:
            assert edit_distance(a, b, cap=2) == min(ref(a, b), 3), (a, b)


def test_nearest_and_did_you_mean():
    known = ["Front", "Back", "Depot North", "front line"]
    assert nearest("Frnot", known) == ["Front"]
    assert nearest("FRONT", known) == ["Front"]  # case is ignored when comparing
    assert nearest("zzz", known) == []
    assert did_you_mean("Frnot", known) == " (did you mean 'Front'?)"
    assert did_you_mean("Bak", ["Back", "Bank"]) == " (did you mean 'Back' or 'Bank'?)"
    assert did_you_mean("zzz", known) == ""


def test_shown_escapes_and_cuts():
    assert shown("a\x1fb\x00") == r"'a\x1fb\x00'"
    assert shown("\x1b[31mred\u202e") == r"'\x1b[31mred\u202e'"
    long = shown("x" * 1_000_000)
    assert len(long) < 120 and "1,000,000 characters" in long
    assert shown(5) == "5"
