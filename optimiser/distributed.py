"""Running the engine on a Dask cluster: one machine's worker processes, or many machines.

    from optimiser.distributed import connect, evaluate
    with connect("local", n_workers=2) as client:          # or "tcp://scheduler:8786"
        ev = evaluate(client, inst, plan, scenarios=100_000, seed=1, demand_sigma=0.3)

The engine's own parallel units are pure functions of picklable inputs, so a cluster
only has to move them: scenario chunks (`scenarios.evaluate_chunk`, merged with
`ChunkResult.merge`: any partition gives the same bits), per-commodity LP blocks
(`solve(map=...)`), and whole what-if variants (optimiser.sweep). Large inputs (the
replay arrays) are scattered to every worker once, never embedded in each task. Every
task may be rerun: a worker that dies has its tasks recomputed elsewhere with the same
result. docs/DISTRIBUTED.md shows how to run a cluster of many machines, with TLS.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from .scenarios import Evaluation

LOCAL = "local"
DEFAULT_TIMEOUT = 10.0  # seconds to reach a scheduler before giving up with a clear error
DEFAULT_RETRIES = 3  # reruns of a task that raised (a dead worker's tasks are rerun anyway)
DEFAULT_LOCAL_WORKERS = 2
TASKS_PER_WORKER = 4  # default chunking: enough tasks to balance load and survive a loss
MIN_CHUNK = 256  # ... but no chunk so small that the per-task overhead dominates

_KERNEL_LOCK = threading.Lock()  # one numba parallel region at a time per worker process


def _dask():
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - dask is an optional extra
        raise UsageError("--dask needs Dask: pip install 'optimiser[dask]' "
                         f"(on every machine of the cluster) ({e})") from None
    return distributed


# ---------------------------------------------------------------- connecting
def load_security(path: str | os.PathLike) -> Any:
    """A `distributed.Security` from a small TOML file (paths relative to the file).

        ca_file = "ca.pem"          # the CA that signed the scheduler's and workers' certs
        cert = "client.pem"         # this client's certificate ...
        key = "client-key.pem"      # ... and its private key (may sit in cert)
        require_encryption = true   # refuse plain tcp:// (default true)

    Data only; nothing in it is executed or unpickled.
    """
    distributed = _dask()
    path = Path(path)
    from ._textfile import parse, read_text

    data = parse(read_text(path, "Dask security file"), path, "Dask security file", False)
    data = data.get("tls", data)
    known = {"ca_file", "cert", "key", "require_encryption"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    files = {}
    for k in ("ca_file", "cert", "key"):
        if k in data:
            if not isinstance(data[k], str):
                raise UsageError(f"{path}: {k} must be a file path (a string)")
            f = (path.parent / data[k]).resolve()
            if not f.is_file():
                raise UsageError(f"{path}: {k} = {data[k]!r}: no such file {f}")
            files[k] = str(f)
    if "ca_file" not in files or "cert" not in files:
        raise UsageError(f"{path}: TLS needs at least ca_file and cert")
    req = data.get("require_encryption", True)
    if not isinstance(req, bool):
        raise UsageError(f"{path}: require_encryption must be true or false")
    return distributed.Security(tls_ca_file=files["ca_file"], tls_client_cert=files["cert"],
                                tls_client_key=files.get("key"), require_encryption=req)


@contextlib.contextmanager
def connect(address: str = LOCAL, *, n_workers: int = DEFAULT_LOCAL_WORKERS,
            threads_per_worker: int = 1, security: Any = None,
            timeout: float = DEFAULT_TIMEOUT) -> Iterator[Client]:
    """A Dask client for the block, closed (and a local cluster shut down) on exit.

    address: "local" starts a LocalCluster of `n_workers` worker processes on the
    loopback interface only (127.0.0.1); "tcp://HOST:PORT" or "tls://HOST:PORT" joins
    a running scheduler. security: a `distributed.Security`, a path for
    `load_security`, or None (then Dask's own config applies: DASK_DISTRIBUTED__COMM__TLS__*).
    An unreachable scheduler raises UsageError after `timeout` seconds, never hangs.
    """
    distributed = _dask()
    if isinstance(security, (str, os.PathLike)):
        security = load_security(security)
    if address == LOCAL:
        if int(n_workers) < 1 or int(threads_per_worker) < 1:
            raise UsageError("--dask-workers and threads per worker must be >= 1")
        import logging

        cluster = distributed.LocalCluster(
            n_workers=int(n_workers), threads_per_worker=int(threads_per_worker),
            processes=True, host="127.0.0.1", dashboard_address=None,
            # no dashboard; the scheduler's small HTTP server on a free loopback port,
            # not 8787 (which another cluster on this machine may hold)
            scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
            silence_logs=logging.ERROR)
        try:
            client = distributed.Client(cluster, timeout=timeout)
            try:
                # workers inherit this process's stdout; keep it for --json alone
                client.register_plugin(_stdout_to_stderr_plugin(), name="optimiser-stdout-to-stderr")
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
        return
    if not isinstance(address, str) or "://" not in address:
        raise UsageError(f"--dask {address!r}: give 'local' or a scheduler address such as "
                         "tcp://HOST:8786 or tls://HOST:8786")
    try:
        client = distributed.Client(address, timeout=timeout, security=security)
    except (OSError, TimeoutError, ValueError) as e:
        raise UsageError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({e}). "
            "Is `dask scheduler` running there and the port open? Use --dask local for "
            "worker processes on this machine; docs/DISTRIBUTED.md") from None
    try:
        yield client
    finally:
        client.close()


def _stdout_to_stderr_plugin():
    """A worker plugin pointing file descriptor 1 of a local worker process at stderr.

    Workers inherit this process's stdout, which --json keeps for its one document.
    Registered plugins also run on workers that join later (a restarted one). Built on
    first use so that importing this module does not import distributed."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class StdoutToStderr(WorkerPlugin):
        idempotent = True

        def setup(self, worker) -> None:
            import os
            import sys

            sys.stdout.flush()
            os.dup2(2, 1)

    return StdoutToStderr()


def n_workers(client: Client) -> int:
    return max(1, len(client.scheduler_info(n_workers=-1)["workers"]))


def _local_numba_threads(client: Client) -> int | None:
    """Numba threads per task on a LocalCluster: the machine's cores shared among workers."""
    cluster = getattr(client, "cluster", None)
    if cluster is None or type(cluster).__name__ != "LocalCluster":
        return None  # a remote worker uses its own cores (start it with --nthreads 1)
    return max(1, (os.cpu_count() or 1) // n_workers(client))


# ---------------------------------------------------------------- CLI glue
def add_cli_flags(parser) -> None:
    """--dask ADDRESS, --dask-workers N, --dask-security FILE, --dask-timeout SECONDS."""
    from .cli import common  # flag value types: a bad value is exit 2 naming the flag

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
    """connect(...) from the flags of add_cli_flags; a null context yielding None without --dask."""
    address = getattr(args, "dask", None)
    if not address:
        return contextlib.nullcontext(None)
    t = args.dask_timeout
    if t is None or not math.isfinite(t) or not t > 0:
        raise UsageError("--dask-timeout must be a positive finite number of seconds")
    return connect(address, n_workers=args.dask_workers, security=args.dask_security,
                   timeout=args.dask_timeout)


# ---------------------------------------------------------------- tasks (run on workers)
def _chunk_task(arrays, params, seed: int, start: int, stop: int, fan: bool,
                numba_threads: int | None):
    """evaluate_chunk under this process's kernel lock, with a bounded numba thread count."""
    import numba

    from .scenarios import evaluate_chunk

    if arrays is None:  # nothing to evaluate (a sweep variant without a plan)
        return None
    with _KERNEL_LOCK:
        old = numba.get_num_threads()
        if numba_threads:
            numba.set_num_threads(max(1, min(int(numba_threads), numba.config.NUMBA_NUM_THREADS)))
        try:
            return evaluate_chunk(arrays, params, seed, start, stop, fan=fan)
        finally:
            numba.set_num_threads(old)


def _token(prefix: str) -> str:
    return f"optimiser-{prefix}-{uuid.uuid4().hex[:12]}"


def chunk_ranges(scenarios: int, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk, scenarios)) for a in range(0, scenarios, chunk)]


def default_chunk(scenarios: int, workers: int) -> int:
    return max(MIN_CHUNK, math.ceil(scenarios / (TASKS_PER_WORKER * max(1, workers))))


def submit_chunks(client: Client, arrays_future, params, seed: int, scenarios: int,
                  chunk: int, fan: bool, numba_threads: int | None, retries: int,
                  prefix: str = "chunk") -> list:
    """One task per chunk of 0..scenarios-1, all reading the one scattered arrays future."""
    tok = _token(prefix)
    return [client.submit(_chunk_task, arrays_future, params, seed, a, b, fan, numba_threads,
                          key=f"{tok}-{a}", retries=retries, pure=False)
            for a, b in chunk_ranges(scenarios, chunk)]


class ChunkCollector:
    """Merge chunk results as they arrive: fan histograms summed in place (memory of one
    chunk's fan, not of all), KPI rows kept and merged once at the end."""

    def __init__(self) -> None:
        self.parts: list = []
        self.counts = self.fmin = self.fmax = None

    def add(self, r) -> None:
        import numpy as np

        if r.fan_counts is not None:
            if self.counts is None:
                self.counts, self.fmin, self.fmax = r.fan_counts.copy(), r.fan_min.copy(), r.fan_max.copy()
            else:
                self.counts += r.fan_counts
                np.minimum(self.fmin, r.fan_min, out=self.fmin)
                np.maximum(self.fmax, r.fan_max, out=self.fmax)
            r.fan_counts = r.fan_min = r.fan_max = None
        self.parts.append(r)

    def result(self):
        from .scenarios import ChunkResult

        merged = ChunkResult.merge_all(self.parts)
        merged.fan_counts, merged.fan_min, merged.fan_max = self.counts, self.fmin, self.fmax
        return merged


def gather_chunks(futures: list, progress: Callable[[int], None] | None = None):
    """Wait for chunk futures (in completion order), merge them, release each as it lands."""
    distributed = _dask()
    col = ChunkCollector()
    try:
        for f in distributed.as_completed(futures):
            r = f.result()
            f.release()
            col.add(r)
            if progress:
                progress(r.n)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return col.result()


# ---------------------------------------------------------------- evaluation
def evaluate(client: Client, instance, plan, scenarios: int = 1000, seed: int = 0,
             chunk_size: int | None = None, threads: int | None = None,
             params=None, fan: bool = True, progress: Callable[[int], None] | None = None,
             retries: int = DEFAULT_RETRIES, allow_nonoptimal: bool = False,
             **kwargs) -> Evaluation:
    """`optimiser.scenarios.evaluate` with the chunks run on a Dask cluster.

    Bit-identical to a local evaluation with the same seed and parameters (any chunking).
    The replay arrays are scattered to every worker once; each task carries only its
    scenario range. threads: numba threads per task (default: on a LocalCluster the
    cores shared among its workers; on a remote worker all of its cores).
    """
    from .instance import as_instance
    from .plan import as_plan, require_usable
    from .scenarios import Evaluation, ScenarioParams, prepare

    t0 = time.perf_counter()
    inst = as_instance(instance)
    pl = as_plan(plan, inst)
    require_usable(pl, allow_nonoptimal, what="evaluate")
    base = params if isinstance(params, ScenarioParams) else \
        ScenarioParams.from_mapping(dict(params or {}))
    prm = base.replace(**kwargs) if kwargs else base
    scenarios = _int("scenarios", scenarios, 1)
    seed = _int("seed", seed, 0)
    if seed > 2 ** 64 - 1:
        raise UsageError(f"seed {seed} is above 2**64 - 1")
    if threads is not None:
        threads = _int("threads", threads, 1)
    workers = n_workers(client)
    chunk = _int("chunk_size", chunk_size, 1) if chunk_size is not None else \
        default_chunk(scenarios, workers)
    arrays = prepare(inst, pl.x, pl.u)
    t1 = time.perf_counter()
    [arrays_f] = client.scatter([arrays], broadcast=True, hash=False)
    t2 = time.perf_counter()
    try:
        futures = submit_chunks(client, arrays_f, prm, seed, scenarios, chunk, fan,
                                threads or _local_numba_threads(client), retries)
        result = gather_chunks(futures, progress)
    finally:
        arrays_f.release()
    t3 = time.perf_counter()
    ev = Evaluation.from_result(inst, arrays, result, seed, prm, timings={
        "prepare": t1 - t0, "scatter": t2 - t1, "replay": t3 - t2})
    ev.summary["execution"] = {"engine": "dask", "scheduler": client.scheduler.address,
                               "workers": workers, "chunks": len(futures), "chunk_size": chunk,
                               "replay_arrays_bytes": arrays.nbytes()}
    return ev


def _int(name: str, v, lo: int) -> int:
    from .scenarios.evaluate import _check_int

    return _check_int(name, v, lo)


# ---------------------------------------------------------------- solving
def dask_map(client: Client, retries: int = DEFAULT_RETRIES, prefix: str = "block"
             ) -> Callable[[Callable, Iterable], list]:
    """An Executor.map-like callable for `solve(map=...)`: one Dask task per item, results
    gathered in order. Items are scattered first (not embedded in the task graph)."""

    def map_(fn: Callable, items: Iterable) -> list:
        items = list(items)
        if not items:
            return []
        data = client.scatter(items, hash=False)
        tok = _token(prefix)
        futures = client.map(fn, data, key=[f"{tok}-{i}" for i in range(len(items))],
                             retries=retries, pure=False)
        try:
            return client.gather(futures)
        finally:
            for f in futures + data:
                f.release()

    return map_


def solve(client: Client, instance, **kwargs):
    """`optimiser.solve.solve` with its independent per-commodity blocks as Dask tasks.

    An instance that does not split (a budget couples the commodities, or only one) is
    solved here, as one LP. Keywords are those of `optimiser.solve.solve`.
    """
    from .solve import solve as _solve

    return _solve(instance, map=dask_map(client), **kwargs)


def on_worker_map(retries: int = DEFAULT_RETRIES) -> Callable | None:
    """Inside a Dask task: a map that runs sub-tasks on the same cluster (the calling task
    secedes from the worker's thread pool while it waits, so no deadlock); None elsewhere."""
    try:
        from distributed import get_worker, worker_client
        get_worker()
    except (ImportError, ValueError):
        return None

    def map_(fn: Callable, items: Iterable) -> list:
        with worker_client() as c:
            return dask_map(c, retries=retries, prefix="block")(fn, items)

    return map_
