"""Flags several commands share: where the work runs (--dask ...) and the scenario
parameters (--params FILE, --demand-sigma X, ...). argparse stays in optimiser/cli/; the
engine takes the values (optimiser/execution.py, optimiser/scenarios/params.py)."""

from __future__ import annotations

import contextlib
import math
from typing import Any

from ..errors import UsageError
from ..execution import DEFAULT_LOCAL_WORKERS, DEFAULT_TIMEOUT
from . import common


# ---------------------------------------------------------------- Dask
def add_dask_flags(parser) -> None:
    """--dask ADDRESS, --dask-workers N, --dask-security FILE, --dask-timeout SECONDS."""
    g = parser.add_argument_group("Dask (docs/DISTRIBUTED.md)")
    g.add_argument("--dask", metavar="ADDRESS",
                   help="run on Dask: 'local' (worker processes on this machine, loopback "
                        "only) or a scheduler address tcp://HOST:PORT / tls://HOST:PORT")
    g.add_argument("--dask-workers", type=common.threads, default=DEFAULT_LOCAL_WORKERS,
                   metavar="N", help="worker processes of --dask local, "
                                     f"1..{common.MAX_THREADS} (default {DEFAULT_LOCAL_WORKERS})")
    g.add_argument("--dask-security", metavar="FILE",
                   help="TLS settings (TOML: ca_file, cert, key) for a tls:// scheduler; "
                        "default: Dask's config (DASK_DISTRIBUTED__COMM__TLS__*)")
    g.add_argument("--dask-timeout", type=common.seconds, default=DEFAULT_TIMEOUT,
                   metavar="SECONDS", help="give up reaching the scheduler after this long, a "
                                           f"positive finite number (default {DEFAULT_TIMEOUT:g})")


def client_from_args(args) -> contextlib.AbstractContextManager:
    """execution.connect(...) from the flags of add_dask_flags; a null context yielding
    None without --dask."""
    from ..execution import connect

    address = getattr(args, "dask", None)
    if not address:
        return contextlib.nullcontext(None)
    t = args.dask_timeout
    if t is None or not math.isfinite(t) or not t > 0:
        raise UsageError("--dask-timeout must be a positive finite number of seconds")
    return connect(address, n_workers=args.dask_workers, security=args.dask_security,
                   timeout=args.dask_timeout)


# ---------------------------------------------------------------- scenario parameters
def add_scenario_flags(parser) -> None:
    """One `--name-with-dashes VALUE` flag per scenario parameter (default None: not given)."""
    from ..scenarios.params import PARAMETERS

    g = parser.add_argument_group("scenario parameters (docs/SCENARIOS.md; override --params)")
    for name, (default, typ, meaning) in PARAMETERS.items():
        g.add_argument("--" + name.replace("_", "-"), dest=f"param_{name}", type=str,
                       default=None, metavar="X" if typ is float else "DAYS",
                       help=f"{meaning} (default {default})")


def add_scenario_run_flags(parser, chunk_help: str = "never changes results") -> None:
    """--seed S, --params FILE, one flag per parameter (add_scenario_flags) and
    --chunk-size N: the flags of a command that replays scenarios."""
    parser.add_argument("--seed", type=common.seed, default=0, metavar="S",
                        help="random seed, 0..2**64-1 (default 0)")
    parser.add_argument("--params", metavar="FILE", help="scenario parameters (TOML or JSON)")
    add_scenario_flags(parser)
    parser.add_argument("--chunk-size", type=common.whole(1), metavar="N",
                        help=f"scenarios per chunk ({chunk_help})")


def params_from_cli(args):
    """The ScenarioParams of the command line: --params FILE first, then each flag given."""
    from ..scenarios.params import PARAMETERS, ScenarioParams, read_params_file

    values: dict[str, Any] = {}
    if getattr(args, "params", None):
        values.update(read_params_file(args.params))
        unknown = sorted(set(values) - set(PARAMETERS))
        if unknown:
            raise UsageError(f"unknown scenario parameter(s) in {args.params}: "
                             f"{', '.join(unknown)}; known: {', '.join(PARAMETERS)}")
    for name in PARAMETERS:
        v = getattr(args, f"param_{name}", None)
        if v is not None:
            values[name] = v
    return ScenarioParams.from_mapping(values)
