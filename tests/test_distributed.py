"""optimiser.distributed on a real LocalCluster (2 worker processes, loopback only).

Distributed evaluation must equal a local one bit for bit, also when a worker process
is killed mid-run; decomposed solves on Dask equal local ones; an unreachable
scheduler is a quick, clear UsageError.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

from optimiser import UsageError, load_instance  # noqa: E402
from optimiser import distributed as D  # noqa: E402
from optimiser.cli import main  # noqa: E402
from optimiser.scenarios import evaluate  # noqa: E402
from optimiser.solve import solve  # noqa: E402

PARAMS = dict(demand_sigma=0.3, demand_phi=0.5, outage_prob=0.02, outage_days=3,
              delay_prob=0.2, delay_max_days=3, loss_prob=0.02)


@pytest.fixture(scope="module")
def client():
    with D.connect("local", n_workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def seed_case(seed_instance_path):
    inst = load_instance(seed_instance_path)
    return inst, solve(inst)


@pytest.fixture(scope="module")
def seed_instance_path():
    from tests.conftest import INSTANCES

    return INSTANCES / "seed-155mm"


def _same(a, b) -> None:
    assert a.scenarios.equals(b.scenarios)
    assert (a.fan is None) == (b.fan is None)
    if a.fan is not None:
        assert a.fan.equals(b.fan)
    np.testing.assert_array_equal(a.result.kpis, b.result.kpis)
    np.testing.assert_array_equal(a.result.fan_counts, b.result.fan_counts)
    sa = {k: v for k, v in a.summary.items() if k not in ("timings", "execution")}
    sb = {k: v for k, v in b.summary.items() if k not in ("timings", "execution")}
    assert json.dumps(sa, sort_keys=True) == json.dumps(sb, sort_keys=True)


def test_cluster_is_two_loopback_worker_processes(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2 and os.getpid() not in pids.values()
    assert all(addr.startswith("tcp://127.0.0.1:") for addr in pids)
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")


@pytest.mark.parametrize("chunk_size", [None, 137])
def test_distributed_evaluation_equals_local_bit_for_bit(client, seed_case, chunk_size):
    inst, plan = seed_case
    local = evaluate(inst, plan, scenarios=1500, seed=11, **PARAMS)
    seen = []
    dist = D.evaluate(client, inst, plan, scenarios=1500, seed=11, chunk_size=chunk_size,
                      progress=seen.append, **PARAMS)
    _same(local, dist)
    assert sum(seen) == 1500
    ex = dist.summary["execution"]
    assert ex["engine"] == "dask" and ex["workers"] == 2
    if chunk_size:
        assert ex["chunks"] == -(-1500 // chunk_size)


def test_arrays_are_scattered_once_not_embedded_per_task(client, seed_case, monkeypatch):
    inst, plan = seed_case
    calls = []
    real = type(client).scatter

    def spy(self, data, *a, **kw):
        calls.append((type(data), kw.get("broadcast")))
        return real(self, data, *a, **kw)

    monkeypatch.setattr(type(client), "scatter", spy)
    D.evaluate(client, inst, plan, scenarios=400, seed=1, chunk_size=50, demand_sigma=0.2)
    assert calls == [(list, True)]  # one broadcast for 8 chunk tasks


def test_killing_a_worker_mid_run_gives_the_same_result(client, seed_case):
    inst, plan = seed_case
    n, chunk = 60_000, 1_000
    local = evaluate(inst, plan, scenarios=n, seed=5, **PARAMS)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = []

    def progress(k):  # after the first chunk lands, most are still queued or running
        if not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    dist = D.evaluate(client, inst, plan, scenarios=n, seed=5, chunk_size=chunk,
                      progress=progress, **PARAMS)
    assert killed
    _same(local, dist)
    # the chunks the dead worker was running were handed to another worker and run again
    rerun = client.run_on_scheduler(_chunks_taken_back)
    assert rerun, "no chunk task was taken back from the killed worker"
    done = client.run_on_scheduler(_chunks_finished)
    assert set(rerun) <= set(done)
    client.wait_for_workers(2, timeout=30)  # the nanny restarts it
    assert victim not in client.run(os.getpid).values()


def _chunks_taken_back(dask_scheduler=None) -> list[str]:
    """Chunk tasks the scheduler took back while processing (their worker died)."""
    return sorted({str(e[0]) for e in dask_scheduler.transition_log
                   if str(e[0]).startswith("optimiser-chunk-") and e[1] == "processing"
                   and e[2] in ("released", "waiting", "no-worker", "queued")})


def _chunks_finished(dask_scheduler=None) -> list[str]:
    return sorted({str(e[0]) for e in dask_scheduler.transition_log
                   if str(e[0]).startswith("optimiser-chunk-") and e[1] == "processing"
                   and e[2] == "memory"})


def test_decomposed_solve_runs_blocks_as_dask_tasks(client, tiny_instance):
    inst = load_instance(tiny_instance)
    ran = []
    m = D.dask_map(client)

    def counting_map(fn, items):
        items = list(items)
        ran.append(len(items))
        return m(fn, items)

    from optimiser.solve import solve as solve_

    dist = solve_(inst, map=counting_map)
    local = solve(inst, decompose="auto")
    assert ran == [len(inst.commodities)] and len(inst.commodities) > 1
    assert "decomposed" in dist.summary["solver"]["how"]
    assert dist.status == local.status == "optimal"
    np.testing.assert_array_equal(dist.x, local.x)
    np.testing.assert_array_equal(dist.u, local.u)
    assert dist.objective == local.objective
    assert D.solve(client, inst).objective == local.objective


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_a_quick_clear_error():
    addr = f"tcp://127.0.0.1:{_free_port()}"
    t = time.perf_counter()
    with pytest.raises(UsageError) as e:
        with D.connect(addr, timeout=1.5):
            pass
    assert time.perf_counter() - t < 10
    assert addr in str(e.value) and "dask scheduler" in str(e.value)


def test_bad_address_and_security_file(tmp_path):
    with pytest.raises(UsageError, match="scheduler address"):
        with D.connect("not-an-address"):
            pass
    f = tmp_path / "tls.toml"
    f.write_text('ca_file = "ca.pem"\ncert = "me.pem"\n')
    with pytest.raises(UsageError, match="no such file"):
        D.load_security(f)
    for name in ("ca.pem", "me.pem", "me-key.pem"):
        (tmp_path / name).write_text("x")
    f.write_text('[tls]\nca_file = "ca.pem"\ncert = "me.pem"\nkey = "me-key.pem"\n')
    sec = D.load_security(f)
    assert sec.tls_ca_file == str(tmp_path / "ca.pem") and sec.require_encryption
    f.write_text('ca_file = "ca.pem"\ncert = "me.pem"\npassword = "x"\n')
    with pytest.raises(UsageError, match="unknown key"):
        D.load_security(f)


def test_cli_evaluate_on_a_running_scheduler_equals_local(client, seed_instance_path, tmp_path,
                                                          capsys):
    plan = tmp_path / "plan"
    assert main(["solve", str(seed_instance_path), "-o", str(plan), "--json"]) == 0
    common = [str(seed_instance_path), str(plan), "--scenarios", "700", "--seed", "3",
              "--demand-sigma", "0.25", "--loss-prob", "0.05", "--json", "--no-progress"]
    capsys.readouterr()
    assert main(["evaluate", *common, "-o", str(tmp_path / "a")]) == 0
    a = json.loads(capsys.readouterr().out)
    addr = client.scheduler.address
    assert main(["evaluate", *common, "-o", str(tmp_path / "b"), "--dask", addr]) == 0
    out = capsys.readouterr().out
    b = json.loads(out)  # stdout holds exactly one JSON document
    assert b["execution"]["scheduler"] == addr
    for d in (a, b):
        d.pop("timings"), d.pop("execution", None)
    assert a == b
    from optimiser.io import read_raw

    for name in ("scenarios.arrow", "fan.arrow"):
        assert read_raw(tmp_path / "a" / name).equals(read_raw(tmp_path / "b" / name))


def test_cli_unreachable_scheduler_exit_2(seed_instance_path, tmp_path, capsys):
    addr = f"tcp://127.0.0.1:{_free_port()}"
    rc = main(["evaluate", str(seed_instance_path), str(tmp_path / "none"), "-o",
               str(tmp_path / "e"), "--scenarios", "5", "--dask", addr, "--dask-timeout", "1"])
    # the plan does not exist: usage error before any connection; now with a real plan
    assert rc == 2
    plan = tmp_path / "plan"
    assert main(["solve", str(seed_instance_path), "-o", str(plan)]) == 0
    capsys.readouterr()
    rc = main(["evaluate", str(seed_instance_path), str(plan), "-o", str(tmp_path / "e"),
               "--scenarios", "5", "--dask", addr, "--dask-timeout", "1", "--json"])
    cap = capsys.readouterr()
    assert rc == 2 and addr in json.loads(cap.out)["error"] and addr in cap.err
    assert not (tmp_path / "e").exists()
