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
    """A JSON-ready description of a loaded Instance.

    Quantities are given per commodity (`by_commodity`): different commodities are
    different units and are never added together. The `*_total` keys are kept for an
    instance of one commodity and are null otherwise."""
    import datetime as dt

    import numpy as np

    K = len(inst.commodities)

    def per(values, which):  # per-commodity sums, vectorised
        return np.bincount(which, weights=values, minlength=K).tolist()

    demand = per(inst.demand.sum(axis=1), inst.nc_commodity)
    pipeline = per(inst.pipeline.sum(axis=1), inst.nc_commodity)
    stock = per(inst.initial_stock, inst.nc_commodity)
    capacity = per(inst.capacity.sum(axis=1), inst.sp_commodity)
    suppliers = np.bincount(inst.sp_commodity, minlength=K).tolist()
    nodes = np.bincount(inst.nc_commodity, minlength=K).tolist()
    by = {name: {"demand": demand[k], "pipeline": pipeline[k], "initial_stock": stock[k],
                 "capacity": capacity[k], "supplier_rows": suppliers[k], "node_rows": nodes[k]}
          for k, name in enumerate(inst.commodities.tolist())}
    one = K == 1
    start = inst.start_date
    info = {
        "name": inst.name,
        "description": inst.description,
        "horizon_days": inst.horizon,
        "start_date": None if start is None else start.isoformat(),
        "end_date": None if start is None else
        (start + dt.timedelta(days=inst.horizon - 1)).isoformat(),
        "budget": inst.budget,
        "rows": {name: t.num_rows for name, t in inst.tables.items()},
        "commodities": inst.commodities.tolist(),
        "suppliers": len(inst.supplier_names),
        "supplier_pairs": inst.n_supplier_pairs,
        "nodes": len(inst.node_names),
        "node_pairs": inst.n_pairs,
        "lanes": inst.n_lanes,
        "by_commodity": by,
        "demand_total": float(inst.demand.sum()) if one else None,
        "pipeline_total": float(inst.pipeline.sum()) if one else None,
        "initial_stock_total": float(inst.initial_stock.sum()) if one else None,
        "capacity_total": float(inst.capacity.sum()) if one else None,
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
    from ..names import shown

    coms = info["commodities"]
    horizon = f"{info['horizon_days']} days"
    if info["start_date"]:
        horizon += f", {info['start_date']} to {info['end_date']}"
    out = [f"instance      {shown(info['name'])[1:-1]} ({shown(str(args.instance))[1:-1]})",
           f"horizon       {horizon}",
           f"budget        {'none' if info['budget'] is None else format(info['budget'], ',.2f')}",
           f"commodities   {len(coms)}: {', '.join(shown(c, 40)[1:-1] for c in coms[:10])}"
           + (" ..." if len(coms) > 10 else ""),
           f"suppliers     {info['suppliers']} ({info['supplier_pairs']} supplier-commodity rows)",
           f"nodes         {info['nodes']} ({info['node_pairs']} node-commodity rows)",
           f"lanes         {info['lanes']}"]
    shown_coms = coms[:20]
    for c in shown_coms:
        b = info["by_commodity"][c]
        out.append(f"  {shown(c, 40)[1:-1]:<12} demand {b['demand']:,.0f}, initial stock "
                   f"{b['initial_stock']:,.0f}, pipeline {b['pipeline']:,.0f}, supplier capacity "
                   f"{b['capacity']:,.0f} (units of {shown(c, 40)[1:-1]})")
    if len(coms) > len(shown_coms):
        out.append(f"  ... and {len(coms) - len(shown_coms)} more commodities (--json lists all)")
    out.append("rows          " + ", ".join(f"{k} {v:,}" for k, v in info["rows"].items()))
    if "lp_size" in info:
        s = info["lp_size"]
        out.append("LP size       " + ", ".join(f"{k} {v:,}" for k, v in s.items()))
    if info["warnings"]:
        out.append(f"warnings      {info['warnings']} (run `optimiser validate` to list them)")
    print("\n".join(out))
    return EXIT_OK
