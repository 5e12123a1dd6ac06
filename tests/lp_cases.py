"""Tiny instances whose optimum is known by hand, one per constraint type and objective term."""

from __future__ import annotations

from optimiser.tables import make_instance


def one_supplier(T=2, price=2.0, cap=10.0, lead=1, lane_cost=0.5, demand=None, node=None,
                 supplier=None, lane=None, budget=None, **extra):
    node = {"node": "D", "commodity": "A", **(node or {})}
    sup = {"supplier": "S", "commodity": "A", "unit_price": price, "daily_capacity": cap,
           **(supplier or {})}
    ln = {"origin": "S", "destination": "D", "commodity": "A", "lead_time_days": lead,
          "unit_cost": lane_cost, **(lane or {})}
    dem = [{"node": "D", "commodity": "A", "day": d, "quantity": q}
           for d, q in (demand or {}).items()]
    return make_instance("case", T, budget=budget, suppliers=[sup], nodes=[node], lanes=[ln],
                         demand=dem, **extra)


def two_suppliers(s1=None, s2=None, lane1=None, budget=None, T=2, demand=5.0):
    sups = [{"supplier": "S1", "commodity": "A", "unit_price": 1.0, "daily_capacity": 3.0,
             **(s1 or {})},
            {"supplier": "S2", "commodity": "A", "unit_price": 5.0, "daily_capacity": 10.0,
             **(s2 or {})}]
    lanes = [{"origin": "S1", "destination": "D", "commodity": "A", "lead_time_days": 1,
              **(lane1 or {})},
             {"origin": "S2", "destination": "D", "commodity": "A", "lead_time_days": 1}]
    return make_instance("two", T, budget=budget, suppliers=sups,
                         nodes=[{"node": "D", "commodity": "A", "shortfall_penalty": 100.0}],
                         lanes=lanes,
                         demand=[{"node": "D", "commodity": "A", "day": 1, "quantity": demand}])


# name -> (instance factory, optimal objective, expected breakdown subset)
CASES = {
    "procurement_transport": (lambda: one_supplier(demand={1: 5.0}), 12.5,
                              {"procurement": 10.0, "transport": 2.5}),
    "shortfall": (lambda: one_supplier(demand={0: 5.0, 1: 5.0},
                                       node={"shortfall_penalty": 100.0}), 512.5,
                  {"shortfall_penalty": 500.0}),
    "holding": (lambda: one_supplier(T=3, price=1.0, lead=0, lane_cost=0.0, demand={2: 5.0},
                                     node={"holding_cost": 0.1},
                                     capacity=[{"supplier": "S", "commodity": "A", "day": d,
                                                "capacity": 0.0} for d in (1, 2)]),
                6.0, {"holding": 1.0, "procurement": 5.0}),
    "readiness_soft": (lambda: one_supplier(lane_cost=0.0, node={"floor": 10.0},
                                            floors=[{"node": "D", "commodity": "A", "day": 0,
                                                     "floor": 0.0}]),
                       20.0, {"readiness_penalty": 0.0}),
    "readiness_penalised": (lambda: one_supplier(lane_cost=0.0, node={"floor": 10.0}),
                            10020.0, {"readiness_penalty": 10000.0}),
    "readiness_hard": (lambda: one_supplier(lane_cost=0.0, node={"floor": 10.0,
                                                                 "readiness_hard": True,
                                                                 "initial_stock": 10.0},
                                            demand={1: 4.0}), 8.0, {"procurement": 8.0}),
    "supplier_capacity": (lambda: two_suppliers(), 13.0, {"procurement": 13.0}),
    "lane_capacity": (lambda: two_suppliers(s1={"daily_capacity": 10.0},
                                            lane1={"daily_capacity": 3.0}), 13.0, {}),
    "contract_min": (lambda: two_suppliers(s2={"contract_min": 4.0}), 21.0, {}),
    "contract_max": (lambda: two_suppliers(s1={"daily_capacity": 10.0, "contract_max": 3.0}),
                     13.0, {}),
    "budget": (lambda: two_suppliers(s1={"daily_capacity": 10.0}, budget=8.0, demand=10.0),
               208.0, {"shortfall_penalty": 200.0}),
    "storage": (lambda: one_supplier(T=3, price=1.0, lead=0, lane_cost=0.0, demand={1: 5.0},
                                     node={"max_stock": 3.0, "shortfall_penalty": 100.0},
                                     capacity=[{"supplier": "S", "commodity": "A", "day": d,
                                                "capacity": 0.0} for d in (1, 2)]),
                203.0, {"shortfall_penalty": 200.0}),
    "pipeline": (lambda: one_supplier(demand={1: 5.0}, pipeline=[
        {"node": "D", "commodity": "A", "day": 1, "quantity": 3.0}]), 5.0, {}),
    "transshipment": (lambda: make_instance(
        "ship", 3,
        suppliers=[{"supplier": "S", "commodity": "A", "unit_price": 1.0, "daily_capacity": 9.0}],
        nodes=[{"node": "D", "commodity": "A"}, {"node": "C", "commodity": "A"}],
        lanes=[{"origin": "S", "destination": "D", "commodity": "A", "lead_time_days": 0},
               {"origin": "D", "destination": "C", "commodity": "A", "lead_time_days": 2,
                "unit_cost": 0.25}],
        demand=[{"node": "C", "commodity": "A", "day": 2, "quantity": 4.0}]), 5.0,
        {"procurement": 4.0, "transport": 1.0}),
}

#: (case, constraint kind, expected value of one more unit)
SHADOW = [
    ("supplier_capacity", "supplier_capacity", 4.0),
    ("lane_capacity", "lane_capacity", 4.0),
    ("contract_min", "contract_min", 4.0),
    ("contract_max", "contract_max", 4.0),
    ("budget", "budget", 99.0),
    ("storage", "storage", 99.0),
]
