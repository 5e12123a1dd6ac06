"""User mistakes on the command line and in the small files it reads: exit 2 with a message
naming the flag (or file) and what to change, before any work; never exit 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from optimiser.cli import main

from .cli_helpers import main_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"


@pytest.fixture
def plan_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("plan") / "p"
    assert main(["solve", str(TINY), "-o", str(d)]) == 0
    return d


SOLVE = ["solve", TINY, "-o", "OUT"]
EVAL = ["evaluate", TINY, "PLAN", "-o", "OUT", "--scenarios", "5"]
GEN = ["generate", "OUT", "--suppliers", "2", "--nodes", "3", "--commodities", "1", "--days", "5"]
SWEEP = ["sweep", TINY, "V", "-o", "OUT"]


@pytest.mark.parametrize("base,flag,value", [
    (SOLVE, "--time-limit", "-1"), (SOLVE, "--time-limit", "nan"), (SOLVE, "--time-limit", "inf"),
    (SOLVE, "--time-limit", "0"), (SOLVE, "--tolerance", "nan"), (SOLVE, "--tolerance", "-1"),
    (SOLVE, "--threads", "0"), (SOLVE, "--threads", "1000000"),
    (SOLVE, "--dask-timeout", "inf"), (SOLVE, "--dask-timeout", "nan"),
    (SOLVE, "--dask-timeout", "-1"), (SOLVE, "--dask-workers", "0"),
    (GEN, "--seed", "-1"), (GEN, "--seed", str(2**64)), (GEN, "--budget", "nan"),
    (SWEEP, "--seed", str(2**70)), (SWEEP, "--time-limit", "nan"), (SWEEP, "--threads", "-3"),
    (EVAL, "--seed", "-1"), (EVAL, "--seed", str(2**64)), (EVAL, "--threads", "100000"),
    (EVAL, "--chunk-size", "0"), (EVAL, "--scenarios", "0"),
])
def test_bad_flag_value_is_exit_2_naming_the_flag(base, flag, value, tmp_path, capsys):
    argv = [tmp_path / a if a in ("OUT", "PLAN", "V") else a for a in base]
    rc, out, err = main_run(capsys, *argv, flag, value)
    assert rc == 2
    assert flag in err and "expected" in err
    assert not (tmp_path / "OUT").exists()


def test_bad_flag_value_under_json_prints_one_json_document(tmp_path, capsys):
    rc, out, err = main_run(capsys, "solve", TINY, "-o", tmp_path / "o", "--json", "--threads", "0")
    assert rc == 2
    doc = json.loads(out)
    assert doc["status"] == "error" and "--threads" in doc["error"]


def test_huge_scenario_count_is_refused_before_any_allocation(plan_dir, tmp_path, capsys):
    rc, out, err = main_run(capsys, "evaluate", TINY, plan_dir, "-o", tmp_path / "e",
                            "--scenarios", str(10**12))
    assert rc == 2
    assert "--scenarios 1,000,000,000,000" in err and "memory" in err and "at most about" in err


@pytest.mark.parametrize("value", [str(2**63 - 1), "100001", "1e400"])
def test_huge_day_counts_in_scenario_params_are_refused(tmp_path, capsys, value):
    rc, out, err = main_run(capsys, "evaluate", TINY, tmp_path / "nope", "-o", tmp_path / "e",
                            "--scenarios", "5", "--delay-prob", "0.1", "--delay-max-days", value)
    assert rc == 2 and "delay_max_days" in err


def _params_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(17 * 1024 * 1024)  # sparse: no disk used
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 100_000 + "]" * 100_000)
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"delay_prob": 0.1, "delay_max_days": 2**63 - 1}))
    adir = tmp_path / "adir.toml"
    adir.mkdir()
    bad_utf8 = tmp_path / "bad.toml"
    bad_utf8.write_bytes(b"demand_sigma = 0.1 # \xff\xfe\n")
    return {"fifo": (fifo, "FIFO"), "dev-zero": (Path("/dev/zero"), "device"),
            "directory": (adir, "directory"), "oversize": (big, "bytes allowed"),
            "deep-json": (deep_json, "nested too deeply"), "deep-toml": (deep_toml, "nested"),
            "huge-days": (huge, "delay_max_days"), "not-utf8": (bad_utf8, "UTF-8")}


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "directory", "oversize", "deep-json",
                                  "deep-toml", "huge-days", "not-utf8"])
def test_hostile_params_file_is_exit_2_with_a_message(tmp_path, capsys, case):
    path, fragment = _params_cases(tmp_path)[case]
    rc, out, err = main_run(capsys, "evaluate", TINY, tmp_path / "nope", "-o", tmp_path / "e",
                            "--scenarios", "5", "--params", path)
    assert rc == 2, err
    assert fragment in err and "Traceback" not in err


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "directory", "oversize", "deep-toml",
                                  "not-utf8"])
def test_hostile_variants_file_is_exit_2_with_a_message(tmp_path, capsys, case):
    path, fragment = _params_cases(tmp_path)[case]
    rc, out, err = main_run(capsys, "sweep", TINY, path, "-o", tmp_path / "s")
    assert rc == 2, err
    assert fragment in err and not (tmp_path / "s").exists()


@pytest.mark.parametrize("lead", [2**31, 2**63, 10**30])
def test_huge_lead_time_in_a_variant_is_exit_2(tmp_path, capsys, lead):
    v = tmp_path / "v.toml"
    v.write_text(f'[[variants.slow.lanes]]\norigin = "alpha"\ndestination = "depot-north"\n'
                 f"lead_time_days = {lead}\n")
    rc, out, err = main_run(capsys, "sweep", TINY, v, "-o", tmp_path / "s")
    assert rc == 2
    assert "lead_time_days" in err and "2147483647" in err


def test_a_large_sweep_keeps_no_variant_instance_in_memory(tmp_path):
    from optimiser.instance import load_instance
    from optimiser.sweep import KEEP_BUILT, build_variants

    inst = load_instance(TINY)
    many = {"variants": {f"v{i}": {"demand": {"scale": 1 + i / 100}} for i in range(KEEP_BUILT + 1)}}
    vs = build_variants(inst, many)
    assert all(v.built is None for v in vs)  # checked, then let go: rebuilt when run
    assert vs[3].instance.demand.sum() == pytest.approx(1.03 * inst.demand.sum())
    few = build_variants(inst, {"variants": {"a": {}}})
    assert few[0].built is not None


def test_sweep_streams_plans_into_the_output(tmp_path, capsys, monkeypatch):
    v = tmp_path / "v.toml"
    v.write_text("".join(f"[variants.v{i}]\ndemand = {{ scale = {1 + i / 10} }}\n"
                         for i in range(20)))
    seen = []
    import importlib

    sw = importlib.import_module("optimiser.sweep")  # the module, not optimiser.sweep()
    real = sw.write_variant

    def spy(directory, r):
        real(directory, r)
        # written as it completes, and then let go (only the summaries stay)
        seen.append((r.variant.name, (directory / "plans" / r.variant.name).is_dir()))

    monkeypatch.setattr(sw, "write_variant", spy)
    rc, out, err = main_run(capsys, "sweep", TINY, v, "-o", tmp_path / "s", "--json")
    assert rc == 0, err
    assert seen == [(f"v{i}", True) for i in range(20)]
    doc = json.loads(out)
    assert [r["variant"] for r in doc["rows"]] == [f"v{i}" for i in range(20)]
    assert all((tmp_path / "s" / "plans" / f"v{i}" / "summary.json").is_file() for i in range(20))
