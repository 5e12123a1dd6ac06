"""The LP builder: its size formula matches the model it builds."""

from __future__ import annotations

import pytest

from optimiser.model import build_lp, lp_size

from .lp_cases import CASES


@pytest.mark.parametrize("case", sorted(CASES))
def test_lp_size_matches_built_model(case):
    inst = CASES[case][0]()
    assert lp_size(inst) == build_lp(inst).size
