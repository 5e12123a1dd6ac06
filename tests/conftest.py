"""Shared fixtures: the bundled instances, their row dicts, and an instance writer."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pyarrow as pa
import pytest

from optimiser.io import write_table
from optimiser.tables import table_from_rows

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"


def _bundled_module():
    spec = importlib.util.spec_from_file_location("_bundled", INSTANCES / "build_bundled.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def bundled():
    """instances/build_bundled.py as a module (its BUNDLED builders give meta and row dicts)."""
    return _bundled_module()


@pytest.fixture
def tiny_instance() -> Path:
    """Path of the bundled tiny instance (2 suppliers, 3 nodes, 2 commodities, 10 days)."""
    return INSTANCES / "tiny"


@pytest.fixture
def seed_instance() -> Path:
    """Path of the bundled seed-155mm instance."""
    return INSTANCES / "seed-155mm"


@pytest.fixture
def tiny_rows(bundled):
    """(meta, {table: [row dicts]}) of the tiny instance; a fresh deep copy to mutate."""
    meta, rows = bundled.tiny()
    return copy.deepcopy(meta), copy.deepcopy(rows)


def write_instance_dir(directory: Path, meta: dict | None, tables: dict, fmt: str = "arrow") -> Path:
    """Write meta (None: no instance.json) and tables (pa.Table or row-dict lists) to directory."""
    directory.mkdir(parents=True, exist_ok=True)
    if meta is not None:
        full = {"format": "optimiser-instance", "version": 1, **meta}
        (directory / "instance.json").write_text(json.dumps(full), encoding="utf-8")
    for name, t in tables.items():
        if t is None:
            continue
        if not isinstance(t, pa.Table):
            t = table_from_rows(name, t)
        write_table(t, directory / f"{name}.{fmt}")
    return directory


@pytest.fixture
def write_instance(tmp_path):
    """write_instance(meta, tables, fmt="arrow", name="inst") -> path of a new instance dir."""
    counter = [0]

    def write(meta, tables, fmt="arrow", name=None):
        counter[0] += 1
        return write_instance_dir(tmp_path / (name or f"inst{counter[0]}"), meta, tables, fmt)

    return write


@pytest.fixture(scope="session")
def generated_small():
    """A generated instance: 6 suppliers, 12 nodes, 2 commodities, 30 days (seed 7)."""
    from optimiser import Instance
    from optimiser.generate import generate_instance

    meta, tables = generate_instance(suppliers=6, nodes=12, commodities=2, days=30, seed=7)
    return Instance.from_tables(meta, tables)


@pytest.fixture(scope="session")
def generated_medium():
    """A generated instance: 20 suppliers, 70 nodes, 2 commodities, 120 days (seed 3)."""
    from optimiser import Instance
    from optimiser.generate import generate_instance

    meta, tables = generate_instance(suppliers=20, nodes=70, commodities=2, days=120, seed=3)
    return Instance.from_tables(meta, tables)
