"""The scenario model (docs/SCENARIOS.md): one frozen dataclass, declared once as data.

Parameters come from keyword arguments, from a TOML or JSON file (`--params FILE`)
and from command-line flags (`--demand-sigma 0.3`); flags override the file.
Validation lives here, never in the kernels: a bad value raises UsageError that
names the parameter and says what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import UsageError

# name -> (default, type, meaning). The one declaration of the model: the
# dataclass, the CLI flags and the docs table follow it.
PARAMETERS: dict[str, tuple[float | int, type, str]] = {
    "demand_sigma": (0.0, float, "sd of the log of the daily demand multiplier (mean-one lognormal)"),
    "demand_phi": (0.0, float, "day-to-day AR(1) correlation of that log multiplier, in [0, 1)"),
    "surge_prob": (0.0, float, "daily probability that a node not in surge starts one"),
    "surge_multiplier": (1.0, float, "demand multiplier during a surge (all commodities of the node)"),
    "surge_days": (0, int, "length of a surge in days, the starting day included"),
    "outage_prob": (0.0, float, "daily probability that a supplier not in outage starts one"),
    "outage_days": (0, int, "length of an outage in days, the starting day included"),
    "delay_prob": (0.0, float, "probability that a shipment that arrives is late"),
    "delay_max_days": (0, int, "a late shipment arrives 1..delay_max_days days late, uniformly"),
    "loss_prob": (0.0, float, "probability that a shipment never arrives"),
}


@dataclass(frozen=True)
class ScenarioParams:
    """Scenario parameters (docs/SCENARIOS.md). Defaults give the deterministic future."""

    demand_sigma: float = 0.0
    demand_phi: float = 0.0
    surge_prob: float = 0.0
    surge_multiplier: float = 1.0
    surge_days: int = 0
    outage_prob: float = 0.0
    outage_days: int = 0
    delay_prob: float = 0.0
    delay_max_days: int = 0
    loss_prob: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            default, typ, _ = PARAMETERS[f.name]
            v = getattr(self, f.name)
            object.__setattr__(self, f.name, _coerce(f.name, v, typ))
        problems = _check(self)
        if problems:
            raise UsageError("invalid scenario parameters: " + "; ".join(problems))

    # derived switches: which parts of the model are active -------------------
    @property
    def demand_noise(self) -> bool:
        return self.demand_sigma > 0.0

    @property
    def surges(self) -> bool:
        return self.surge_prob > 0.0 and self.surge_days > 0 and self.surge_multiplier != 1.0

    @property
    def outages(self) -> bool:
        return self.outage_prob > 0.0 and self.outage_days > 0

    @property
    def shipment_noise(self) -> bool:
        return self.loss_prob > 0.0 or (self.delay_prob > 0.0 and self.delay_max_days > 0)

    @property
    def deterministic(self) -> bool:
        """True when every scenario is the same future (no draw can change anything)."""
        if self.demand_noise or self.outages or self.shipment_noise:
            return False
        # a surge with probability 1 is certain and lasts every day: deterministic too,
        # but it is still replayed through the general path (cheap, and one code path).
        return not self.surges

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    # construction -------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "parameters") -> ScenarioParams:
        unknown = sorted(set(values) - set(PARAMETERS))
        if unknown:
            raise UsageError(f"unknown scenario parameter(s) in {source}: {', '.join(unknown)}; "
                             f"known: {', '.join(PARAMETERS)}")
        return cls(**dict(values))

    @classmethod
    def from_file(cls, path: str | Path) -> ScenarioParams:
        return cls.from_mapping(read_params_file(path), source=str(path))

    def replace(self, **changes: Any) -> ScenarioParams:
        d = self.as_dict()
        unknown = sorted(set(changes) - set(PARAMETERS))
        if unknown:
            raise UsageError(f"unknown scenario parameter(s): {', '.join(unknown)}; "
                             f"known: {', '.join(PARAMETERS)}")
        d.update(changes)
        return ScenarioParams(**d)


def read_params_file(path: str | Path) -> dict[str, Any]:
    """Read parameter names and values from a TOML (.toml) or JSON file.

    A table `[scenario]` / key "scenario" holding the parameters is accepted too.
    Dashes in names are read as underscores (the CLI spelling).
    """
    from .._textfile import parse, read_text

    path = Path(path)
    text = read_text(path, "parameter file")  # regular files only, size capped
    as_json = path.suffix.lower() == ".json" or text.lstrip().startswith("{")
    data = parse(text, path, "parameter file", as_json)
    if not isinstance(data, dict):
        raise UsageError(f"parameter file {path} must hold a table of name = value")
    if set(data) == {"scenario"} and isinstance(data["scenario"], dict):
        data = data["scenario"]
    return {str(k).replace("-", "_"): v for k, v in data.items()}


# bounds beyond which a value is a typo, not a scenario (docs/SCENARIOS.md)
MAX_DAYS = 100_000  # day counts: longer than any planning horizon (about 274 years)
MAX_SIGMA = 10.0  # sd of a log multiplier: exp(10) is a factor of 22,000 already
MAX_MULTIPLIER = 1e6


def _coerce(name: str, v: Any, typ: type) -> float | int:
    if isinstance(v, bool):
        raise UsageError(f"scenario parameter {name} must be a number, got {v!r}")
    if isinstance(v, int):
        if typ is int:
            return int(v)
        if abs(v) > 1e300:
            raise UsageError(f"scenario parameter {name} must be finite, got a number of "
                             f"{len(str(abs(v)))} digits")
        return float(v)
    if not isinstance(v, float):
        try:
            text = str(v).strip()
            v = int(text) if typ is int and text.lstrip("+-").isdigit() else float(text)
        except (ValueError, OverflowError):
            raise UsageError(f"scenario parameter {name} must be a number, got {v!r:.60}") from None
        if isinstance(v, int):
            return v
    if not math.isfinite(v):
        raise UsageError(f"scenario parameter {name} must be finite, got {v!r}")
    if typ is int:
        if v != int(v):
            raise UsageError(f"scenario parameter {name} must be a whole number of days, got {v!r}")
        return int(v)
    return float(v)


def _check(p: ScenarioParams) -> list[str]:
    out = []
    for name in ("surge_prob", "outage_prob", "delay_prob", "loss_prob"):
        v = getattr(p, name)
        if not 0.0 <= v <= 1.0:
            out.append(f"{name} = {v} is a probability and must lie in [0, 1]")
    if not 0.0 <= p.demand_phi < 1.0:
        out.append(f"demand_phi = {p.demand_phi} must lie in [0, 1)")
    if p.demand_sigma < 0:
        out.append(f"demand_sigma = {p.demand_sigma} must be >= 0")
    if p.surge_multiplier < 0:
        out.append(f"surge_multiplier = {p.surge_multiplier} must be >= 0")
    if p.demand_sigma > MAX_SIGMA:
        out.append(f"demand_sigma = {p.demand_sigma} must be <= {MAX_SIGMA:g}")
    if p.surge_multiplier > MAX_MULTIPLIER:
        out.append(f"surge_multiplier = {p.surge_multiplier} must be <= {MAX_MULTIPLIER:g}")
    for name in ("surge_days", "outage_days", "delay_max_days"):
        v = getattr(p, name)
        if v < 0:
            out.append(f"{name} = {v} must be >= 0 days")
        elif v > MAX_DAYS:
            shown = str(v) if len(str(v)) < 25 else f"{str(v)[:6]}... ({len(str(v))} digits)"
            out.append(f"{name} = {shown} must be <= {MAX_DAYS} days (longer than any horizon)")
    if p.delay_prob > 0 and p.delay_max_days < 1:
        out.append(f"delay_prob = {p.delay_prob} > 0 needs delay_max_days >= 1 "
                   f"(got {p.delay_max_days}): how late is a late shipment?")
    return out
