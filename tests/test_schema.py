"""The schema is data: Arrow schemas, defaults and docs/FORMAT.md derive from it."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from optimiser.schema import (
    ARROW_TYPE,
    FORMAT_NAME,
    FORMAT_VERSION,
    INSTANCE_JSON,
    TABLES,
    TABLES_BY_NAME,
    format_reference,
)

ROOT = Path(__file__).resolve().parents[1]


def test_format_md_generated_part_matches_schema():
    text = (ROOT / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- BEGIN GENERATED -->\n(.*)<!-- END GENERATED -->\n", text, re.S)
    assert m, "docs/FORMAT.md lost its GENERATED markers"
    assert m.group(1) == format_reference(), \
        "docs/FORMAT.md is stale: regenerate it from `python -m optimiser.schema`"


def test_format_md_has_decisions_section():
    text = (ROOT / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    assert "# Decisions and limits" in text
    assert "0-based" in text
    assert "SPEC" not in text and "../shared" not in text  # the docs stand alone


def test_tables_of_spec_section_2():
    assert [t.name for t in TABLES] == ["suppliers", "nodes", "lanes", "demand", "capacity",
                                        "floors", "pipeline"]
    assert [t.name for t in TABLES if t.required] == ["suppliers", "nodes", "lanes"]
    assert TABLES_BY_NAME["lanes"].key == ("origin", "destination", "commodity", "mode")
    for name, who in (("demand", "node"), ("capacity", "supplier"), ("floors", "node"),
                      ("pipeline", "node")):
        assert TABLES_BY_NAME[name].key == (who, "commodity", "day")


def test_defaults_of_spec_section_2():
    nodes = TABLES_BY_NAME["nodes"]
    assert nodes.column("shortfall_penalty").default == 1e6
    assert nodes.column("readiness_penalty").default == 1e3
    assert nodes.column("readiness_hard").default is False
    assert nodes.column("max_stock").default is None and nodes.column("max_stock").nullable
    sup = TABLES_BY_NAME["suppliers"]
    assert sup.column("contract_min").default == 0.0
    assert sup.column("contract_max").nullable
    lanes = TABLES_BY_NAME["lanes"]
    assert lanes.column("mode").default == ""
    assert lanes.column("daily_capacity").nullable


def test_arrow_schema_follows_columns():
    for t in TABLES:
        schema = t.arrow_schema
        assert schema.names == [c.name for c in t.columns]
        for c in t.columns:
            assert schema.field(c.name).type == ARROW_TYPE[c.kind]
            assert schema.field(c.name).nullable == c.nullable
            if not c.required:
                assert c.default is None or isinstance(c.default, bool | float | str)
    assert ARROW_TYPE["float"] == pa.float64()


def test_instance_json_keys():
    assert FORMAT_NAME == "optimiser-instance" and FORMAT_VERSION == 1
    required = [k for k, (_, req, _) in INSTANCE_JSON.items() if req]
    assert required == ["format", "version", "name", "horizon_days"]
