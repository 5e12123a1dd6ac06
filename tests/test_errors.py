"""Errors name options in the caller's own words: the API's keyword argument, the command
line's flag. No library module writes command-line flag text into an error."""

from __future__ import annotations

import ast
import importlib
import pickle
import re
from pathlib import Path

import pytest

from optimiser.cli import build_parser
from optimiser.cli.common import error_text
from optimiser.errors import OutputExistsError, PlanNotUsableError, UsageError

from .cli_helpers import main_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny"


# ---------------------------------------------------------------- the mechanism
def test_an_option_is_spelled_as_the_keyword_by_str_and_as_the_flag_by_the_cli():
    e = UsageError("{threads}: choose 1..{most}; pass {force}, not {window}", threads=5,
                   force=True, window=None)
    # str(): the keyword argument; placeholders not given by keyword stay as written
    assert str(e) == "threads=5: choose 1..{most}; pass force=True, not window="
    assert error_text(e, build_parser(), "simulate") == \
        "--threads 5: choose 1..{most}; pass --force, not --window"
    assert str(UsageError("{fmt}: choose arrow or parquet", fmt="csv")) == \
        "fmt='csv': choose arrow or parquet"
    # the command line maps a keyword to its flag where the names differ
    assert error_text(UsageError("{fmt}: no", fmt="csv"), build_parser(), "evaluate") == \
        "--format 'csv': no"
    assert error_text(UsageError("{n_workers}", n_workers=0)) == "--dask-workers 0"


def test_a_plain_message_is_unchanged_and_errors_survive_pickling():
    """Old call sites UsageError("text") keep working; errors cross process boundaries
    (Dask, process pools) with their options."""
    assert str(UsageError("plain {text} kept")) == "plain {text} kept"
    assert error_text(UsageError("plain")) == "plain"
    for cls in (UsageError, OutputExistsError, PlanNotUsableError):
        e = pickle.loads(pickle.dumps(cls("x; pass {force}", force=True)))
        assert type(e) is cls and str(e) == "x; pass force=True"
        assert error_text(e) == "x; pass --force"
    assert error_text(ValueError("not a usage error {x}")) == "not a usage error {x}"


def test_the_flag_spelling_comes_from_the_command_s_parser():
    """A flag declared with another dest or spelling is found through argparse."""
    from optimiser.cli.common import flag_spellings

    flags = flag_spellings(build_parser(), "simulate")
    assert flags["replan_every"] == "--replan-every" and flags["output"] == "--output"
    assert error_text(UsageError("{output}", output="x"), build_parser(), "simulate") == \
        "--output 'x'"


# ---------------------------------------------------------------- each converted message
@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    from optimiser.cli import main

    out = tmp_path_factory.mktemp("errors") / "plan"
    assert main(["solve", str(TINY), "-o", str(out)]) == 0
    return out


def _raised(fn):
    with pytest.raises(UsageError) as e:
        fn()
    return e.value


def _api_cases(tmp: Path, plan: Path):
    """(what, raising call, API text, command, CLI text) for every message that names an
    option."""
    import numba

    from optimiser import execution, generate, planview
    from optimiser._atomic import check_output
    from optimiser.csvimport import import_csv
    from optimiser.plan import require_usable
    from optimiser.reliability.targets import Targets
    from optimiser.scenarios.results import check_format

    ev = importlib.import_module("optimiser.scenarios.evaluate")  # the module, not the function

    too_many = numba.config.NUMBA_NUM_THREADS + 1

    def threads():
        with execution.numba_threads(too_many):
            pass

    def connect(**kw):
        def go():
            with execution.connect(**kw):
                pass
        return go

    def simulate_short_window():
        from optimiser.simulate import simulate

        simulate(TINY, scenarios=2, replan_every=5, window=2)

    def simulate_infeasible():
        from optimiser.simulate import simulate

        from .test_infeasible import late_floor

        simulate(late_floor(), scenarios=1, replan_every=1)

    (tmp / "exists").mkdir()
    return [
        ("numba threads", threads, f"threads={too_many}: choose 1..", "evaluate",
         f"--threads {too_many}: choose 1.."),
        ("kernel threads", lambda: ev._threads(too_many), f"threads={too_many}: choose 1..",
         "evaluate", f"--threads {too_many}: choose 1.."),
        ("dask address", connect(address="foo"), "address='foo': give 'local'", "solve",
         "--dask 'foo': give 'local'"),
        ("dask workers", connect(n_workers=0), "n_workers=0: choose 1 or more", "solve",
         "--dask-workers 0: choose 1 or more"),
        ("window", simulate_short_window, "window=2 is shorter than replan_every=5",
         "simulate", "--window 2 is shorter than --replan-every 5"),
        ("day-0 plan", simulate_infeasible, "or pass allow_nonoptimal=True", "simulate",
         "or pass --allow-nonoptimal"),
        ("commodity", lambda: planview.show_table(plan, "orders", commodity="ZZZ"),
         "commodity='ZZZ': no such commodity", "show", "--commodity 'ZZZ': no such commodity"),
        ("output exists", lambda: check_output(tmp / "exists"), "pass force=True to replace",
         "solve", "pass --force to replace"),
        ("output overlaps input", lambda: check_output(TINY, True, (TINY,)),
         "with or without force=True:", "solve", "with or without --force:"),
        ("evaluation format", lambda: check_format("csv"),
         "fmt='csv': choose arrow or parquet", "evaluate", "--format 'csv': choose arrow"),
        ("import format", lambda: import_csv(tmp, tmp / "o", fmt="csv"),
         "fmt='csv': choose arrow or parquet", "import-csv", "--format 'csv': choose arrow"),
        ("generate format", lambda: generate.write_generated(tmp / "g", 1, 1, 1, 2, fmt="csv"),
         "fmt='csv': choose arrow or parquet", "generate", "--format 'csv': choose arrow"),
        ("generate size", lambda: generate.generate_instance(0, 1, 1, 2),
         "suppliers=0: must be an integer >= 1", "generate", "--suppliers 0: must be"),
        ("generate days", lambda: generate.generate_instance(1, 1, 1, 10**6),
         "days=1000000: must be at most 100,000", "generate", "--days 1000000: must be"),
        ("generate seed", lambda: generate.generate_instance(1, 1, 1, 2, seed=-1),
         "seed=-1: must be an integer from 0", "generate", "--seed -1: must be"),
        ("generate budget", lambda: generate.generate_instance(1, 1, 1, 2, budget=-1.0),
         "budget=-1.0: must be a finite number", "generate", "--budget -1.0: must be"),
        ("start date", lambda: generate.generate_instance(1, 1, 1, 2, start_date="2026-13-01"),
         "start_date='2026-13-01': give an ISO 8601 date", "generate",
         "--start-date '2026-13-01': give an ISO 8601 date"),
        ("certify", lambda: Targets(reliability=0.95, certify=58), "use certify=59 or more",
         "solve", "use --certify 59 or more"),
        ("plan not usable", lambda: require_usable({"status": "infeasible"}),
         "(allow_nonoptimal=True) to proceed anyway", "evaluate",
         "(--allow-nonoptimal) to proceed anyway"),
    ]


def test_every_message_naming_an_option_names_the_keyword_in_the_api_and_the_flag_on_the_cli(
        tmp_path, plan_dir):
    parser = build_parser()
    cases = _api_cases(tmp_path, plan_dir)
    for what, fn, api, command, cli in cases:
        e = _raised(fn)
        assert api in str(e), (what, str(e))
        assert "--" not in str(e), (what, str(e))
        assert cli in error_text(e, parser, command), (what, error_text(e, parser, command))


@pytest.mark.parametrize("argv, expected", [
    (["simulate", TINY, "-o", "{tmp}/s", "--scenarios", "2", "--replan-every", "5",
      "--window", "2"], "error: --window 2 is shorter than --replan-every 5"),
    (["show", "{plan}", "orders", "--commodity", "ZZZ"], "error: --commodity 'ZZZ': no such"),
    (["solve", TINY, "-o", "{plan}"], "exists; pass --force to replace it"),
    (["solve", TINY, "-o", TINY, "--force"], "with or without --force: choose another"),
    (["solve", TINY, "-o", "{tmp}/p", "--dask", "foo"], "error: --dask 'foo': give 'local'"),
    (["generate", "{tmp}/g", "--suppliers", "0", "--nodes", "1", "--commodities", "1",
      "--days", "2"], "error: --suppliers 0: must be an integer >= 1"),
    (["generate", "{tmp}/g", "--suppliers", "1", "--nodes", "1", "--commodities", "1",
      "--days", "2", "--start-date", "2026-13-01"], "error: --start-date '2026-13-01'"),
    (["generate", "{tmp}/g", "--suppliers", "1", "--nodes", "1", "--commodities", "1",
      "--days", "2", "--budget", "1e300"], "error: --budget 1e+300: must be a finite"),
    (["solve", TINY, "-o", "{tmp}/r", "--reliability", "0.95", "--certify", "58"],
     "use --certify 59 or more"),
])
def test_the_command_line_names_the_flag(capsys, tmp_path, plan_dir, argv, expected):
    argv = [str(a).format(tmp=tmp_path, plan=plan_dir) for a in argv]
    code, out, err = main_run(capsys, *argv)
    assert code == 2 and expected in err, err
    assert "=" not in err.split("error: ", 1)[-1].split(":")[0]  # no keyword spelling


def test_json_errors_name_the_flag_too(capsys, tmp_path):
    import json

    code, out, err = main_run(capsys, "solve", TINY, "-o", tmp_path / "p", "--dask", "foo",
                              "--json")
    assert code == 2
    assert json.loads(out)["error"].startswith("--dask 'foo': give 'local'")


# ---------------------------------------------------------------- no flag text in the library
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: (module, flag) pairs allowed to stay, each for a reason; none today
ALLOWED: set[tuple[str, str]] = set()


def _error_texts(tree: ast.AST):
    """(line, text) of every string literal inside a raise or an error/Problem call."""
    def strings(node):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                yield sub.lineno, sub.value

    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            yield from strings(node.exc)
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) \
                else ""
            if name.endswith(("Error", "Exception")) or name == "Problem":
                yield from strings(node)


def test_no_library_module_writes_a_command_line_flag_into_an_error():
    """Library errors name options through UsageError placeholders ({threads}); only
    optimiser/cli/ spells flags. A scan of every raise and error constructor outside it."""
    found = []
    for path in sorted((ROOT / "optimiser").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("optimiser/cli/"):
            continue
        for line, text in _error_texts(ast.parse(path.read_text(), rel)):
            for flag in FLAG.findall(text):
                if (rel, flag) not in ALLOWED:
                    found.append(f"{rel}:{line}: {flag} in {text!r}")
    assert not found, "\n".join(found)


def test_the_scan_finds_flag_text():
    """The scan is not vacuous: it finds a flag in an f-string of a raise, in a Problem and
    in an error built before it is raised, and ignores docstrings and comments."""
    code = '''
def f(x):
    """Pass --force to replace."""  # --comment
    e = UsageError("bad; pass --window")
    problems.append(Problem("t", None, None, "or give --horizon-days"))
    raise ValueError(f"{x}: use --certify {x} or more")
'''
    flags = {(line, f) for line, t in _error_texts(ast.parse(code)) for f in FLAG.findall(t)}
    assert sorted(flags) == [(4, "--window"), (5, "--horizon-days"), (6, "--certify")]
