"""Long stages are said on stderr, short ones never (optimiser/stages.py)."""

from __future__ import annotations

import threading
import time

from optimiser.stages import current, report_stages, stage


def test_a_long_stage_is_said_once_then_with_its_time_and_short_ones_never():
    lines: list[str] = []
    said = threading.Event()

    def log(line: str) -> None:
        lines.append(line)
        said.set()

    with report_stages(log, "solve: ", after=0.2, every=3600, poll=0.01):
        stage("quick")  # replaced at once: never reaches `after`
        stage("solving 2 commodity blocks")
        assert said.wait(30), "a stage running past `after` was not said"
        time.sleep(0.05)
    assert lines == ["solve: solving 2 commodity blocks ..."]
    assert current()[0] == ""  # the reporter leaves no stage behind


def test_without_a_reporter_stages_print_nothing(capsys):
    stage("building")
    time.sleep(0.01)
    stage("")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_solve_says_its_stage_when_it_runs_long(monkeypatch, capsys):
    """The CLI's solve names what it is doing once a stage passes the threshold."""
    import optimiser.stages as stages_module
    from optimiser.cli import main

    real = stages_module.report_stages

    def eager(log, prefix="", after=2.0, every=15.0, poll=0.25):
        return real(log, prefix, after=0.0, every=every, poll=0.005)

    monkeypatch.setattr(stages_module, "report_stages", eager)
    import sys

    solve_module = sys.modules["optimiser.solve"]  # the name optimiser.solve is the function
    original = solve_module.solve_block

    def slow_block(*args, **kwargs):
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(solve_module, "solve_block", slow_block)
    from pathlib import Path

    tiny = Path(__file__).resolve().parents[1] / "instances" / "tiny"
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        assert main(["solve", str(tiny), "-o", str(Path(d) / "plan")]) == 0
    err = capsys.readouterr().err
    assert "solve: solving" in err and "commodity block" in err, err
