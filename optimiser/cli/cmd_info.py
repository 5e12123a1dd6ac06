"""`optimiser info INSTANCE [--json]`: what an instance holds and how big its LP is."""

from __future__ import annotations

from .common import EXIT_OK, emit_json


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="sizes of an instance and of its LP",
                              description="Table sizes, horizon, commodities, suppliers, nodes, "
                                          "lanes, total demand, budget and the LP size "
                                          "(computed without building the LP).")
    p.add_argument("instance", metavar="INSTANCE", help="instance directory")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(run=run)


def instance_info(inst) -> dict:
    """A JSON-ready description of a loaded Instance."""
    info = {
        "name": inst.name,
        "description": inst.description,
        "horizon_days": inst.horizon,
        "budget": inst.budget,
        "rows": {name: t.num_rows for name, t in inst.tables.items()},
        "commodities": inst.commodities.tolist(),
        "suppliers": len(inst.supplier_names),
        "supplier_pairs": inst.n_supplier_pairs,
        "nodes": len(inst.node_names),
        "node_pairs": inst.n_pairs,
        "lanes": inst.n_lanes,
        "demand_total": float(inst.demand.sum()),
        "pipeline_total": float(inst.pipeline.sum()),
        "initial_stock_total": float(inst.initial_stock.sum()),
        "capacity_total": float(inst.capacity.sum()),
        "warnings": len(inst.warnings),
        "load_seconds": inst.load_seconds,
    }
    try:
        from ..model import lp_size
    except ImportError:
        lp_size = None
    if lp_size is not None:
        info["lp_size"] = {k: int(v) for k, v in dict(lp_size(inst)).items()}
    return info


def run(args) -> int:
    from ..instance import load_instance

    inst = load_instance(args.instance)
    info = instance_info(inst)
    if args.json:
        emit_json(info)
        return EXIT_OK
    out = [f"instance      {info['name']} ({args.instance})",
           f"horizon       {info['horizon_days']} days",
           f"budget        {'none' if info['budget'] is None else format(info['budget'], ',.2f')}",
           f"commodities   {len(info['commodities'])}: {', '.join(info['commodities'][:10])}"
           + (" ..." if len(info["commodities"]) > 10 else ""),
           f"suppliers     {info['suppliers']} ({info['supplier_pairs']} supplier-commodity rows)",
           f"nodes         {info['nodes']} ({info['node_pairs']} node-commodity rows)",
           f"lanes         {info['lanes']}",
           f"demand total  {info['demand_total']:,.0f}",
           "rows          " + ", ".join(f"{k} {v:,}" for k, v in info["rows"].items())]
    if "lp_size" in info:
        s = info["lp_size"]
        out.append("LP size       " + ", ".join(f"{k} {v:,}" for k, v in s.items()))
    if info["warnings"]:
        out.append(f"warnings      {info['warnings']} (run `optimiser validate` to list them)")
    print("\n".join(out))
    return EXIT_OK
