"""How work runs, declared once: in this process, in a thread pool, or on a Dask cluster.

Every parallel unit of the engine (a commodity's LP block, a chunk of scenarios, a sweep
variant, a chunk of closed-loop simulations, a reliability replay) is a pure function of
picklable inputs. It runs through a *map*: an `Executor.map`-like callable
`map(fn, items) -> results in the order of items`.

    serial_map                      in this process, one after another
    thread_map(workers)             a thread pool (the solvers and kernels release the GIL)
    process_map(workers)            spawned processes, one numba thread each (GIL-bound work)
    local_map(threads, n)           the default of solve: threads, or serial for one
    dask_map(client)                one Dask task per item (a LocalCluster or a scheduler)

Large inputs shared by every item (the replay arrays of an evaluation) go through
`map_shared(map, fn, shared, items)`: on Dask they are scattered to every worker once
(broadcast) instead of travelling with each task; elsewhere they are passed as they are.

Also here, so that no entry point re-declares them: the parameter merge of the scenario
entry points (`scenario_params`), the seed bound (`MAX_SEED`, `check_seed`), integer
arguments (`check_int`), chunking (`chunk_ranges`, `default_chunk`), numba threads per
call (`numba_threads`), and reaching a cluster (`connect`, `load_security`).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from .scenarios.params import ScenarioParams

MapFn = Callable[[Callable, Iterable], Iterable]

MAX_SEED = 2 ** 64 - 1  # seeds are 64-bit unsigned in the scenario streams
LOCAL = "local"  # the address that starts a LocalCluster on this machine
DEFAULT_TIMEOUT = 10.0  # seconds to reach a scheduler before giving up with a clear error
DEFAULT_RETRIES = 3  # reruns of a task that raised (a dead worker's tasks are rerun anyway)
DEFAULT_LOCAL_WORKERS = 2
TASKS_PER_WORKER = 4  # default chunking on a cluster: enough tasks to balance load and survive a loss
MIN_CHUNK = 256  # ... but no chunk so small that the per-task overhead dominates

KERNEL_LOCK = threading.Lock()  # one numba parallel region at a time per process


# ---------------------------------------------------------------- arguments
def check_int(name: str, v: Any, lo: int) -> int:
    """`v` as an int >= lo, else UsageError naming `name`."""
    try:
        iv = int(v)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be an integer, got {v!r}") from None
    if iv != v or iv < lo:
        raise UsageError(f"{name} must be an integer >= {lo}, got {v!r}")
    return iv


def check_seed(seed: Any) -> int:
    """A seed in 0..2**64-1 (the scenario streams' bound), else UsageError."""
    seed = check_int("seed", seed, 0)
    if seed > MAX_SEED:
        raise UsageError(f"seed {seed} is above 2**64 - 1")
    return seed


def scenario_params(params: ScenarioParams | Mapping | None,
                    overrides: Mapping[str, Any] | None = None) -> ScenarioParams:
    """The parameters of a scenario entry point: `params` (a ScenarioParams, a mapping or
    None for the defaults), then each keyword override (evaluate(..., demand_sigma=0.3))."""
    from .scenarios.params import ScenarioParams

    base = params if isinstance(params, ScenarioParams) else \
        ScenarioParams.from_mapping(dict(params or {}))
    return base.replace(**overrides) if overrides else base


# ---------------------------------------------------------------- chunking
def chunk_ranges(count: int, chunk: int, start: int = 0) -> list[tuple[int, int]]:
    """[(a, b), ...] covering start..start+count-1 in pieces of at most `chunk`."""
    stop = start + count
    return [(a, min(a + chunk, stop)) for a in range(start, stop, max(1, int(chunk)))]


def default_chunk(scenarios: int, workers: int) -> int:
    """Scenarios per task on a cluster of `workers`: TASKS_PER_WORKER tasks each, >= MIN_CHUNK."""
    return max(MIN_CHUNK, math.ceil(scenarios / (TASKS_PER_WORKER * max(1, workers))))


@contextlib.contextmanager
def numba_threads(threads: int | None, clamp: bool = False) -> Iterator[None]:
    """Run the block with `threads` numba threads (None: leave as is), restored after.

    clamp: fit the count into this process's pool (a task on a worker of another size);
    otherwise a count outside 1..NUMBA_NUM_THREADS is a UsageError."""
    if threads is None:
        yield
        return
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    threads = int(threads)
    if clamp:
        threads = max(1, min(threads, most))
    elif not 1 <= threads <= most:
        raise UsageError(f"{{threads}}: choose 1..{most}", threads=threads)
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(old)


# ---------------------------------------------------------------- maps
def serial_map(fn: Callable, items: Iterable) -> list:
    """In this process, one item after another."""
    return [fn(x) for x in items]


class ThreadMap:
    """A map over a thread pool of `workers` (serial for one worker or one item)."""

    def __init__(self, workers: int, name: str = "optimiser"):
        self.workers = max(1, int(workers))
        self.name = name

    def __call__(self, fn: Callable, items: Iterable) -> list:
        items = list(items)
        n = min(self.workers, len(items))
        if n <= 1:
            return serial_map(fn, items)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n, thread_name_prefix=self.name) as ex:
            return list(ex.map(fn, items))


def thread_map(workers: int, name: str = "optimiser") -> ThreadMap:
    return ThreadMap(workers, name)


def local_map(threads: int | None = None, name: str = "optimiser") -> ThreadMap:
    """This machine's default: `threads` (None: every core) threads."""
    return ThreadMap(threads or os.cpu_count() or 1, name)


class ProcessMap:
    """A map over `workers` fresh (spawned) processes with one numba thread each, for work
    that is mostly Python and numpy around solvers holding the GIL (closed-loop replans:
    two threads replan no faster than one). Serial for one worker or one item. Results
    in the order of items; `on_done(item)` is called as each item finishes (progress)."""

    def __init__(self, workers: int, on_done: Callable[[Any], None] | None = None):
        self.workers = max(1, int(workers))
        self.on_done = on_done

    def __call__(self, fn: Callable, items: Iterable) -> list:
        items = list(items)
        n = min(self.workers, len(items))
        if n <= 1:
            out = []
            for x in items:
                out.append(fn(x))
                if self.on_done:
                    self.on_done(x)
            return out
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"),
                                 initializer=_one_numba_thread) as ex:
            futures = {ex.submit(fn, x): i for i, x in enumerate(items)}
            out: list = [None] * len(items)
            for f in as_completed(futures):
                i = futures[f]
                out[i] = f.result()
                if self.on_done:
                    self.on_done(items[i])
            return out


def _one_numba_thread() -> None:
    import numba

    numba.set_num_threads(1)  # one process per core; results do not depend on threads


def process_map(workers: int, on_done: Callable[[Any], None] | None = None) -> ProcessMap:
    return ProcessMap(workers, on_done)


def token(prefix: str) -> str:
    """A unique Dask key prefix (tasks of two runs never share keys)."""
    import uuid

    return f"optimiser-{prefix}-{uuid.uuid4().hex[:12]}"


class DaskMap:
    """A map on a Dask client: one task per item, results gathered in order. Items are
    scattered first (not embedded in the task graph); a task that raised is rerun up to
    `retries` times (a dead worker's tasks are rerun anyway)."""

    def __init__(self, client: Client, retries: int = DEFAULT_RETRIES, prefix: str = "task"):
        self.client, self.retries, self.prefix = client, retries, prefix

    @property
    def workers(self) -> int:
        return n_workers(self.client)

    def __call__(self, fn: Callable, items: Iterable) -> list:
        items = list(items)
        if not items:
            return []
        c = self.client
        data = c.scatter(items, hash=False)
        tok = token(self.prefix)
        futures = c.map(fn, data, key=[f"{tok}-{i}" for i in range(len(items))],
                        retries=self.retries, pure=False)
        try:
            return c.gather(futures)
        finally:
            for f in futures + data:
                f.release()

    def share(self, obj: Any) -> Any:
        """`obj` on every worker once: a future that tasks receive as the value."""
        [f] = self.client.scatter([obj], broadcast=True, hash=False)
        return f

    def submit_shared(self, fn: Callable, shared: Any, items: Iterable,
                      prefix: str | None = None) -> list:
        """One task fn(shared, item) per item (shared: a value or a future), not waited for."""
        tok = token(prefix or self.prefix)
        return [self.client.submit(fn, shared, item, key=f"{tok}-{i}", retries=self.retries,
                                   pure=False)
                for i, item in enumerate(items)]

    def describe(self) -> dict:
        return {"engine": "dask", "scheduler": self.client.scheduler.address,
                "workers": self.workers}


def dask_map(client: Client, retries: int = DEFAULT_RETRIES, prefix: str = "block") -> DaskMap:
    """A map for `solve(map=...)`, `simulate(map=...)`, `solve(reliability=..., map=...)`."""
    return DaskMap(client, retries=retries, prefix=prefix)


def on_worker_map(retries: int = DEFAULT_RETRIES) -> MapFn | None:
    """Inside a Dask task: a map that runs sub-tasks on the same cluster (the calling task
    secedes from the worker's thread pool while it waits, so no deadlock); None elsewhere."""
    try:
        from distributed import get_worker, worker_client
        get_worker()
    except (ImportError, ValueError):
        return None

    def map_(fn: Callable, items: Iterable) -> list:
        with worker_client() as c:
            return DaskMap(c, retries=retries, prefix="block")(fn, items)

    return map_


def describe(map_fn: MapFn | None) -> dict:
    """summary["execution"] of a run through `map_fn`."""
    if isinstance(map_fn, DaskMap):
        return map_fn.describe()
    return {"engine": "local"}


def map_shared(map_fn: MapFn | None, fn: Callable, shared: Any, items: Iterable,
               on_result: Callable[[Any], None] | None = None,
               prefix: str | None = None) -> list | None:
    """fn(shared, item) for every item through `map_fn` (None: in this process, in turn).

    On a DaskMap `shared` is scattered to every worker once (or used as is when it is a
    future already) and, with `on_result`, results are handed over as they complete (and
    let go: the caller folds them, e.g. summing histograms) and None is returned; without
    it, the results in the order of items. Elsewhere `on_result` sees them in order.
    prefix: the Dask tasks' key prefix (default the map's)."""
    items = list(items)
    if isinstance(map_fn, DaskMap):
        from distributed import Future, as_completed

        own = not isinstance(shared, Future)
        sf = map_fn.share(shared) if own else shared
        try:
            futures = map_fn.submit_shared(fn, sf, items, prefix)
            out: list = [None] * len(futures)
            index = {f.key: i for i, f in enumerate(futures)}
            try:
                for f in as_completed(futures):
                    r = f.result()
                    f.release()
                    if on_result is not None:
                        on_result(r)
                    else:
                        out[index[f.key]] = r
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        finally:
            if own:
                sf.release()
        return None if on_result is not None else out
    call = _Bound(fn, shared)
    results = serial_map(call, items) if map_fn is None else list(map_fn(call, items))
    if on_result is None:
        return results
    for r in results:
        on_result(r)
    return None


class _Bound:
    """fn(shared, item) as a picklable one-argument callable."""

    def __init__(self, fn: Callable, shared: Any):
        self.fn, self.shared = fn, shared

    def __call__(self, item: Any) -> Any:
        return self.fn(self.shared, item)


# ---------------------------------------------------------------- reaching a cluster
def _dask():
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - dask is an optional extra
        raise UsageError("Dask is not installed: pip install 'optimiser[dask]' "
                         f"(on every machine of the cluster) ({e})") from None
    return distributed


def n_workers(client: Client) -> int:
    return max(1, len(client.scheduler_info(n_workers=-1)["workers"]))


def local_numba_threads(client: Client) -> int | None:
    """Numba threads per task on a LocalCluster: the machine's cores shared among workers."""
    cluster = getattr(client, "cluster", None)
    if cluster is None or type(cluster).__name__ != "LocalCluster":
        return None  # a remote worker uses its own cores (start it with --nthreads 1)
    return max(1, (os.cpu_count() or 1) // n_workers(client))


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
        for name, v in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
            if int(v) < 1:
                raise UsageError(f"{{{name}}}: choose 1 or more", **{name: v})
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
        raise UsageError("{address}: give 'local' or a scheduler address such as "
                         "tcp://HOST:8786 or tls://HOST:8786", address=address)
    try:
        client = distributed.Client(address, timeout=timeout, security=security)
    except (OSError, TimeoutError, ValueError) as e:
        raise UsageError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({e}). "
            "Is `dask scheduler` running there and the port open? Use {address} for "
            "worker processes on this machine; docs/DISTRIBUTED.md", address=LOCAL) from None
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
