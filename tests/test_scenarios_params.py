"""Scenario parameters: validation, files, CLI flags."""

from __future__ import annotations

import argparse
import json

import pytest

from optimiser.cli.engine_flags import add_scenario_flags, params_from_cli
from optimiser.errors import UsageError
from optimiser.scenarios.params import PARAMETERS, ScenarioParams, read_params_file


def test_defaults_are_the_deterministic_future():
    p = ScenarioParams()
    assert p.as_dict() == {k: v[0] for k, v in PARAMETERS.items()}
    assert p.deterministic
    assert not ScenarioParams(demand_sigma=0.1).deterministic
    # parameters that cannot change anything keep it deterministic
    assert ScenarioParams(outage_prob=0.5).deterministic  # outage_days = 0
    assert ScenarioParams(surge_prob=0.5, surge_days=3).deterministic  # multiplier 1


@pytest.mark.parametrize("kwargs, words", [
    (dict(loss_prob=1.5), "loss_prob"),
    (dict(surge_prob=-0.1), "surge_prob"),
    (dict(outage_prob=2), "outage_prob"),
    (dict(delay_prob=-1e-9), "delay_prob"),
    (dict(demand_phi=1.0), "demand_phi"),
    (dict(demand_phi=-0.2), "demand_phi"),
    (dict(demand_sigma=-0.3), "demand_sigma"),
    (dict(surge_days=-1), "surge_days"),
    (dict(outage_days=-2), "outage_days"),
    (dict(surge_multiplier=-1), "surge_multiplier"),
    (dict(delay_prob=0.2), "delay_max_days"),
    (dict(delay_prob=0.2, delay_max_days=0), "delay_max_days"),
    (dict(surge_days=1.5), "whole number"),
    (dict(demand_sigma="abc"), "number"),
    (dict(demand_sigma=float("nan")), "finite"),
])
def test_invalid_values_are_refused_with_the_name(kwargs, words):
    with pytest.raises(UsageError, match=words):
        ScenarioParams(**kwargs)


def test_boundary_values_are_accepted():
    ScenarioParams(loss_prob=1, delay_prob=1, delay_max_days=1, surge_prob=0, outage_prob=1,
                   demand_phi=0.0, surge_multiplier=0.0)
    assert ScenarioParams(surge_days=3.0).surge_days == 3  # whole floats are fine


def test_unknown_names_are_refused():
    with pytest.raises(UsageError, match="unknown.*demand_sigmaa"):
        ScenarioParams.from_mapping({"demand_sigmaa": 0.1})
    with pytest.raises(UsageError, match="unknown"):
        ScenarioParams().replace(nope=1)


def test_toml_and_json_files(tmp_path):
    t = tmp_path / "p.toml"
    t.write_text('demand_sigma = 0.3\ndelay-prob = 0.1\ndelay_max_days = 4\n')
    assert ScenarioParams.from_file(t) == ScenarioParams(demand_sigma=0.3, delay_prob=0.1,
                                                         delay_max_days=4)
    j = tmp_path / "p.json"
    j.write_text(json.dumps({"scenario": {"loss_prob": 0.05}}))
    assert ScenarioParams.from_file(j).loss_prob == 0.05
    bad = tmp_path / "bad.toml"
    bad.write_text("demand_sigma = = 1")
    with pytest.raises(UsageError, match="cannot parse"):
        read_params_file(bad)
    with pytest.raises(UsageError, match="cannot read"):
        read_params_file(tmp_path / "missing.toml")
    unknown = tmp_path / "u.json"
    unknown.write_text('{"sigma": 1}')
    with pytest.raises(UsageError, match="unknown"):
        ScenarioParams.from_file(unknown)


def _parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--params")
    add_scenario_flags(p)
    return p.parse_args(argv)


def test_cli_flags_override_the_file(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("demand_sigma = 0.3\nloss_prob = 0.1\n")
    args = _parse(["--params", str(f), "--demand-sigma", "0.5", "--outage-days", "4",
                   "--outage-prob", "0.01"])
    p = params_from_cli(args)
    assert (p.demand_sigma, p.loss_prob, p.outage_days, p.outage_prob) == (0.5, 0.1, 4, 0.01)
    with pytest.raises(UsageError, match="surge_days"):
        params_from_cli(_parse(["--surge-days", "x"]))
