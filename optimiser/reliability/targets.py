"""What a reliability plan must achieve: targets, scenario counts and the seeds' ranges.

`Targets` is validated once, here; everything else trusts it. A mistake raises
UsageError naming the argument (the command line maps it to exit 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError
from ..execution import check_int, check_seed
from ..instance import Instance
from .certificate import scenarios_needed, zero_breach_bound

DEFAULT_TRAIN = 2_000
DEFAULT_CERTIFY = 10_000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Targets:
    reliability: float
    scope: str = "pair"
    service: float | None = None
    confidence: float = DEFAULT_CONFIDENCE
    train: int = DEFAULT_TRAIN
    certify: int = DEFAULT_CERTIFY
    seed: int = 0
    frontier: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "reliability", _prob("reliability", self.reliability))
        if self.service is not None:
            object.__setattr__(self, "service", _prob("service", self.service))
        object.__setattr__(self, "confidence", _prob("confidence", self.confidence))
        if self.scope not in ("pair", "joint"):
            raise UsageError(f"scope must be 'pair' or 'joint', not {self.scope!r}")
        object.__setattr__(self, "train", check_int("train", self.train, 1))
        object.__setattr__(self, "certify", check_int("certify", self.certify, 1))
        object.__setattr__(self, "seed", check_seed(self.seed))
        fr = tuple(sorted({_prob("frontier", r) for r in self.frontier}))
        object.__setattr__(self, "frontier", fr)
        for name, r in self.events():
            if zero_breach_bound(self.certify, self.confidence) > 1.0 - r:
                need = scenarios_needed(r, self.confidence)
                raise UsageError(
                    f"{name} {r:g} cannot be certified with {self.certify} certification "
                    f"scenarios at confidence {self.confidence:g}: even with no breach the "
                    f"upper bound is {zero_breach_bound(self.certify, self.confidence):.4g} > "
                    f"{1.0 - r:.4g}; use {{certify}} or more", certify=need)

    def events(self) -> list[tuple[str, float]]:
        """(flag, target) of every target to certify (the frontier's included)."""
        out = [("reliability", self.reliability)]
        if self.service is not None:
            out.append(("service", self.service))
        out += [("frontier target", r) for r in self.frontier]
        return out

    def at(self, reliability: float) -> Targets:
        from dataclasses import replace

        return replace(self, reliability=reliability, frontier=())

    def as_dict(self) -> dict:
        return {"scope": self.scope, "target": self.reliability, "service": self.service,
                "confidence": self.confidence, "train_scenarios": self.train,
                "certify_scenarios": self.certify}


def _prob(name: str, v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number strictly between 0 and 1, got {v!r}") from None
    if not (0.0 < f < 1.0) or not math.isfinite(f):
        raise UsageError(f"{name} must be strictly between 0 and 1 (e.g. 0.95), got {v!r}")
    return f


def protected_pairs(inst: Instance) -> np.ndarray:
    """[I] bool: pairs with a floor > 0 on some day (the readiness target events)."""
    return (np.asarray(inst.floor) > 0).any(axis=1)


def service_pairs(inst: Instance) -> np.ndarray:
    """[I] bool: pairs with demand on some day (the service target events)."""
    return (np.asarray(inst.demand) > 0).any(axis=1)


def first_reach(inst: Instance, lanes: np.ndarray | None = None) -> np.ndarray:
    """[I] int64: the first day anything ordered from a supplier can arrive at each pair
    (the shortest lead time over lanes, through other nodes included); -1 where no
    supplier reaches the pair (its stock is its initial stock and pipeline only). No
    planning floor can be held above the plan's stock on an earlier day. lanes: [L] bool,
    the lanes to go by (default all)."""
    I = inst.n_pairs
    none = np.iinfo(np.int64).max // 4
    dist = np.full(I, none, dtype=np.int64)
    use = np.ones(inst.n_lanes, bool) if lanes is None else np.asarray(lanes, bool)
    sup = np.asarray(inst.lane_from_supplier, bool) & use
    lead = np.asarray(inst.lane_lead, np.int64)
    dest = np.asarray(inst.lane_dest, np.int64)
    np.minimum.at(dist, dest[sup], lead[sup])
    node = ~np.asarray(inst.lane_from_supplier, bool) & use
    origin = np.asarray(inst.lane_origin, np.int64)[node]
    for _ in range(I):  # Bellman-Ford over node lanes (leads >= 0)
        new = dist.copy()
        np.minimum.at(new, dest[node], np.minimum(dist[origin] + lead[node], none))
        if np.array_equal(new, dist):
            break
        dist = new
    return np.where(dist >= none, -1, dist)
