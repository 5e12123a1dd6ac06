"""The replay kernel's named inputs (scenarios/inputs.py): each built in one place from
the declared fields, every scenario parameter reaching the kernel, and evaluation and the
closed loop handing the kernel inputs of the same types (one compiled kernel, not two)."""

from __future__ import annotations

import dataclasses
import os
import sys

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from scenario_reference import small_case  # noqa: E402

from optimiser.scenarios import inputs, kernels  # noqa: E402
from optimiser.scenarios.arrays import ReplayArrays, kernel_model, prepare  # noqa: E402
from optimiser.scenarios.params import PARAMETERS, ScenarioParams  # noqa: E402
from optimiser.simulate.state import segment_plan  # noqa: E402


def test_every_scenario_parameter_reaches_the_kernel_as_its_declared_type():
    assert inputs.ScenarioModel._fields == tuple(PARAMETERS)
    # a float parameter given as an int is still a float64: the same compiled signature
    m = kernel_model(ScenarioParams(surge_multiplier=2, surge_days=3, demand_sigma=0))
    assert numba.typeof(m) == numba.typeof(kernel_model(ScenarioParams(surge_multiplier=2.5)))
    for name, (_default, typ, _doc) in PARAMETERS.items():
        assert type(getattr(m, name)) is typ, name
    assert m.surge_multiplier == 2.0 and m.surge_days == 3


def test_network_and_dispatches_are_replay_arrays_fields():
    inst, x, u = small_case(T=10)
    a = prepare(inst, x, u)
    declared = {f.name for f in dataclasses.fields(ReplayArrays)}
    assert set(inputs.Network._fields) <= declared
    assert set(inputs.DISPATCH_LISTS + inputs.ONE_PLAN) <= declared
    net, plan = a.network(), a.dispatches()
    for f in inputs.Network._fields:
        v, src = getattr(net, f), getattr(a, f)
        if isinstance(src, np.ndarray):  # a read-only view of the field, no copy
            assert (v.size == 0 or np.shares_memory(v, src)) and np.array_equal(v, src), f
            assert not v.flags.writeable, f
        else:
            assert v is src, f
    # one compiled signature whether a field arrived writable or read-only (from Arrow)
    frozen = a.lane_dest.copy()
    frozen.flags.writeable = False
    b = dataclasses.replace(a, lane_dest=frozen, demand=a.demand.copy())
    assert numba.typeof(b.network()) == numba.typeof(net)
    assert plan.per_lane is False
    for f in inputs.DISPATCH_LISTS + inputs.ONE_PLAN:
        assert getattr(plan, f) is getattr(a, f), f


def test_evaluation_and_closed_loop_share_the_kernel_signature():
    inst, x, u = small_case(T=10)
    a = prepare(inst, x, u)
    n, T = 3, inst.horizon
    X = np.broadcast_to(x, (n,) + x.shape).copy()
    U = np.broadcast_to(u, (n,) + u.shape).copy()
    per_lane = segment_plan(X, U, a, inst.lane_origin, inst.lane_from_supplier, 0, T,
                            kernels.LANES)
    assert per_lane.per_lane is True
    assert numba.typeof(per_lane) == numba.typeof(a.dispatches())
    seg = inputs.Segment(t_lo=0, t_hi=T, keep=True, st_f=np.zeros((1, 5)),
                          st_i=np.zeros((1, 5), dtype=np.int64), track=True,
                          lane_sp=np.zeros(inst.n_lanes, dtype=np.int64), n_sp=2)
    assert numba.typeof(seg) == numba.typeof(inputs.open_loop(T))
