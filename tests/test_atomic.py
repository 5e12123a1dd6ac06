"""optimiser._atomic: inputs never destroyed, one-rename commits, race-free creation,
leftovers of killed runs tidied, and the CLI refusing a bad output before solving."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optimiser import _atomic
from optimiser._atomic import atomic_dir, check_output, overlap, recover_leftovers
from optimiser.cli import main
from optimiser.errors import OutputExistsError, UsageError

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"


def snapshot(d: Path) -> dict[str, bytes]:
    """Every file under d, byte for byte (symlinks not followed)."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()
            and not p.is_symlink()}


def leftovers(d: Path, name: str) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(f".{name}."))


@pytest.fixture
def work(tmp_path, monkeypatch):
    """tmp_path/work as the cwd, holding a copy of the tiny instance as `inst`."""
    w = tmp_path / "work"
    shutil.copytree(TINY, w / "inst")
    monkeypatch.chdir(w)
    return w


# ---------------------------------------------------------------- inputs never destroyed
@pytest.mark.parametrize("spelling", [
    ("solve", "inst", "-o", "sub/../inst"),            # '..' collapsed
    ("solve", "lnk", "-o", "inst"),                    # the input through a symlink
    ("solve", "inst", "-o", "lnk"),                    # the output through a symlink
    ("solve", "inst", "-o", "."),                      # the cwd holds the input
    ("solve", "inst", "-o", ".."),                     # an ancestor of the input
    ("solve", "inst", "-o", "inst/plan"),              # inside the input
    ("solve", "inst", "-o", "./inst/"),
    ("import-csv", "inst", "sub/../inst"),
    ("report", "inst", "plan", "-o", "sub/../plan"),
    ("evaluate", "inst", "plan", "-o", "lnkplan", "--scenarios", "5"),
    ("sweep", "inst", "v.toml", "-o", "v.toml"),
])
def test_force_never_destroys_an_input(work, spelling):
    (work / "lnk").symlink_to("inst")
    (work / "plan").mkdir()
    (work / "plan" / "summary.json").write_text("{}")
    (work / "lnkplan").symlink_to("plan")
    (work / "v.toml").write_text("[variants.a]\n")
    before = snapshot(work)
    assert main([*spelling, "--force"]) == 2
    assert snapshot(work) == before
    assert not [p for p in work.iterdir() if p.name.startswith(".")]


def test_output_containing_the_cwd_is_refused(work, monkeypatch):
    (work / "sub").mkdir()
    monkeypatch.chdir(work / "sub")
    (work / "sub" / "keep.txt").write_text("unrelated")
    before = snapshot(work)
    assert main(["solve", "../inst", "-o", "../sub", "--force"]) == 2  # the cwd itself
    assert main(["generate", "..", "--suppliers", "1", "--nodes", "2", "--commodities", "1",
                 "--days", "3", "--force"]) == 2  # an ancestor of the cwd
    assert snapshot(work) == before


def test_overlap_is_decided_on_resolved_paths(tmp_path):
    a = tmp_path / "a"
    (a / "b").mkdir(parents=True)
    (tmp_path / "l").symlink_to(a)
    assert overlap(tmp_path / "x" / ".." / "a", a) == "is"
    assert overlap(tmp_path / "l" / "b", a / "b") == "is"
    assert overlap(tmp_path, a / "b") == "contains"
    assert overlap(tmp_path / "l" / "b" / "new", a) == "lies inside"
    assert overlap(tmp_path / "a2", a) is None  # a prefix of the name is not an ancestor


def test_api_writers_protect_their_inputs(tmp_path):
    from optimiser import make_instance, solve

    inst_dir = tmp_path / "inst"
    shutil.copytree(TINY, inst_dir)
    from optimiser.instance import load_instance

    plan = solve(load_instance(inst_dir))
    before = snapshot(inst_dir)
    with pytest.raises(UsageError, match="would overwrite the input"):
        plan.write(tmp_path / "sub" / ".." / "inst", force=True)
    with pytest.raises(UsageError, match="would overwrite the input"):
        plan.write(tmp_path, force=True)
    assert snapshot(inst_dir) == before
    from optimiser.scenarios import evaluate

    ev = evaluate(make_instance("t", 3), solve(make_instance("t", 3)), scenarios=3)
    with pytest.raises(UsageError, match="would overwrite the input"):
        ev.write(tmp_path / "x" / ".." / "inst", force=True, protect=(inst_dir,))
    assert snapshot(inst_dir) == before


# ---------------------------------------------------------------- commit
def _write(tmp: Path, text: str) -> None:
    (tmp / "data.txt").write_text(text)
    (tmp / "summary.json").write_text(json.dumps({"v": text}))


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-step"])
def test_force_replaces_and_leaves_nothing_behind(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(_atomic, "_RENAMEAT2", None)
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        _write(tmp, "old")
    with atomic_dir(out, force=True) as tmp:
        _write(tmp, "new")
    assert snapshot(out) == {"data.txt": b"new", "summary.json": b'{"v": "new"}'}
    assert leftovers(tmp_path, "out") == []


def test_failure_inside_the_block_keeps_the_old_output(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        _write(tmp, "old")
    with pytest.raises(RuntimeError), atomic_dir(out, force=True) as tmp:
        _write(tmp, "new")
        raise RuntimeError("solver died")
    assert snapshot(out)["data.txt"] == b"old"
    assert leftovers(tmp_path, "out") == []


KILL = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from optimiser import _atomic
    out, step, mode = sys.argv[1:4]
    if mode == "two-step":
        _atomic._RENAMEAT2 = None
    _atomic._step = lambda name: os._exit(9) if name == step else None
    with _atomic.atomic_dir(out, force=True) as tmp:
        (tmp / "data.txt").write_text("new")
        if step == "writing":
            os._exit(9)
        (tmp / "summary.json").write_text('{"v": "new"}')
""")


@pytest.mark.parametrize("mode,step", [("renameat2", "writing"), ("renameat2", "written"),
                                       ("renameat2", "exchanged"), ("two-step", "written"),
                                       ("two-step", "set-aside")])
def test_a_kill_between_commit_steps_leaves_old_or_new_complete(tmp_path, mode, step):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        _write(tmp, "old")
    old = snapshot(out)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", KILL, str(out), step, mode], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 9, p.stderr
    recover_leftovers(out)  # what the next run writing `out` does first
    got = snapshot(out)
    assert got in (old, {"data.txt": b"new", "summary.json": b'{"v": "new"}'})
    if step in ("writing", "written", "set-aside"):
        assert got == old
    else:
        assert got["data.txt"] == b"new"
    assert leftovers(tmp_path, "out") == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "mkdir-claim"])
def test_output_created_meanwhile_is_not_overwritten_without_force(tmp_path, monkeypatch,
                                                                   exchange):
    if not exchange:
        monkeypatch.setattr(_atomic, "_RENAMEAT2", None)
    out = tmp_path / "out"
    with pytest.raises(OutputExistsError, match="another run"):
        with atomic_dir(out) as mine:
            _write(mine, "first")
            with atomic_dir(out) as theirs:  # another run commits while this one writes
                _write(theirs, "second")
    assert snapshot(out)["data.txt"] == b"second"
    assert leftovers(tmp_path, "out") == []


def test_two_concurrent_solves_to_one_output_one_is_refused(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "optimiser", "solve", str(TINY), "-o", str(tmp_path / "p")]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    rcs = sorted(p.returncode for p in procs)
    assert rcs == [0, 2], outs
    assert any("exists" in err or "another run" in err for _, err in outs)
    assert main(["check", str(TINY), str(tmp_path / "p")]) == 0
    assert leftovers(tmp_path, "p") == []


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / f".out.tmp-{dead}-abc").mkdir()
    (tmp_path / f".out.tmp-{dead}-abc" / "flows.arrow").write_text("half")
    live = tmp_path / f".out.tmp-{os.getpid()}-def"
    live.mkdir()
    with atomic_dir(tmp_path / "out") as tmp:
        _write(tmp, "x")
    assert leftovers(tmp_path, "out") == [live.name]


def test_set_aside_old_output_is_restored_when_the_new_one_never_arrived(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    old = tmp_path / f".out.old-{dead}-abc"
    old.mkdir()
    _write(old, "old")
    with pytest.raises(OutputExistsError):
        check_output(tmp_path / "out")  # restored first, then it exists
    assert snapshot(tmp_path / "out")["data.txt"] == b"old"


# ---------------------------------------------------------------- early refusals
def test_existing_output_is_refused_before_loading_the_instance(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    # the instance does not exist: the refusal must come before anything reads it
    assert main(["solve", str(tmp_path / "missing"), "-o", str(tmp_path / "p")]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing"), str(tmp_path / "missing"), "-o",
                 str(tmp_path / "p"), "--scenarios", "5"]) == 2


def test_unwritable_location_is_refused_before_solving(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["solve", str(tmp_path / "missing"), "-o", str(tmp_path / "file" / "p")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert main(["solve", str(TINY), "-o", str(ro / "p")]) == 2
        assert "no permission" in capsys.readouterr().err


def test_summary_is_written_once_inside_the_commit(tmp_path, capsys):
    assert main(["solve", str(TINY), "-o", str(tmp_path / "p"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    on_disk = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert printed == on_disk
    assert on_disk["timings"]["write"] > 0 and on_disk["timings"]["wall"] >= on_disk["timings"]["write"]
