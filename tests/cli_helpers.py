"""Running the command line from tests, two ways, defined once.

run(*args, check_rc=None): `python -m optimiser ARGS` in a fresh process (what a user
types: imports, exit code, stdout and stderr as they are). main_run(capsys, *argv): the
same through `optimiser.cli.main` in this process (fast; argparse's own refusals, which
exit, give their exit code). Neither ever shows a traceback for a user mistake.
"""

from __future__ import annotations

import subprocess
import sys


def run(*args, check_rc: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m optimiser *args` (paths may be Path objects); check_rc: the exit code
    expected (asserted with stdout and stderr shown when it differs)."""
    p = subprocess.run([sys.executable, "-m", "optimiser", *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout, p.stderr)
    return p


def main_run(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `optimiser.cli.main(argv)` in this process."""
    from optimiser.cli import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse refuses a flag value by exiting 2
        code = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err
