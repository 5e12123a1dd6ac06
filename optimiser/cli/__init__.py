"""The `optimiser` command line (README.md lists the commands; exit codes below).

Each subcommand lives in its own module `cmd_<name>.py` exposing
`register(subparsers)` and `run(args) -> int`. Errors are mapped to exit codes
here, once: invalid input never produces a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import InvalidInstanceError, InvalidPlanError, OptimiserError, UsageError
from .common import EXIT_INTERNAL, EXIT_USAGE, emit_json, error_text, log

COMMANDS = ("validate", "info", "generate", "import_csv", "solve", "check", "evaluate",
            "sweep", "report", "bench", "show", "simulate")

EPILOG = """\
exit status: 0 success (optimal, or feasible at a limit); 1 internal error;
2 usage error or invalid instance; 3 infeasible, or a plan that fails check;
4 no solution within the limit.
With --json, stdout holds exactly one JSON document; logs and progress go to stderr.
Docs: README.md, docs/FORMAT.md (instance format), docs/MODEL.md (the LP)."""


class Parser(argparse.ArgumentParser):
    """argparse with the house rules: a bad flag is exit 2 with the flag named, and under
    --json stdout still holds one JSON document (the error)."""

    json_wanted = False

    def error(self, message: str):  # noqa: D401  (argparse's hook)
        if Parser.json_wanted:
            emit_json({"status": "error", "error": f"{self.prog}: {message}"})
        super().error(message)


def _command_of(argv: list[str]) -> str | None:
    """The module name of the command in argv (its first word that is not a flag), or None."""
    for a in argv:
        if not a.startswith("-"):
            name = a.replace("-", "_")
            return name if name in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with command `only` alone (what parsing that
    command's arguments needs: the other commands' modules are not imported)."""
    parser = Parser(
        prog="optimiser",
        description="Procurement and stockpile planning: solve the LP of an instance, check "
                    "plans, and stress-test them under sampled scenarios.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"optimiser {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        try:
            mod = importlib.import_module(f".cmd_{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name and e.name.endswith(f"cmd_{name}"):
                continue  # command not built in this version
            raise
        mod.register(sub)
    return parser


# Commands that never use pandas. pyarrow imports pandas (about 0.3 s, most of the start-up
# of a small solve) on its first conversion of any array when pandas is installed, only to
# ask whether values are pandas objects; these commands tell it that pandas is absent.
PANDAS_FREE = frozenset({"solve", "check", "validate", "info"})


class _NoPandas:
    """A finder that makes `import pandas` fail in this process (see PANDAS_FREE)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas is not loaded by this command ({name})",
                                      name=name)
        return None


def pyarrow_without_pandas() -> None:
    """For the rest of this process, pyarrow sees no pandas (and imports none); a process
    that already imported pandas is left as it is."""
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())


def _json_wanted(argv: list[str]) -> bool:
    return "--json" in argv


def main(argv: list[str] | None = None) -> int:
    as_program = argv is None  # the process is this command (not a caller's interpreter)
    argv = list(sys.argv[1:] if argv is None else argv)
    Parser.json_wanted = _json_wanted(argv)
    command = _command_of(argv)
    if as_program and command in PANDAS_FREE:
        pyarrow_without_pandas()
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    as_json = Parser.json_wanted
    try:
        return int(args.run(args) or 0)
    except InvalidInstanceError as e:
        log(str(e))
        if as_json:
            emit_json({"status": "invalid", "problems": [p.as_dict() for p in e.problems]})
        return EXIT_USAGE
    except (UsageError, InvalidPlanError) as e:
        text = error_text(e, parser, args.command)  # options spelled as flags
        log(f"error: {text}")
        if as_json:
            emit_json({"status": "error", "error": text})
        return EXIT_USAGE
    except KeyboardInterrupt:
        log("interrupted")
        return EXIT_INTERNAL
    except (OptimiserError, Exception) as e:  # malfunction: short message, traceback on request
        if os.environ.get("OPTIMISER_DEBUG"):
            raise
        log(f"internal error: {type(e).__name__}: {e}\n(set OPTIMISER_DEBUG=1 for a traceback)")
        if as_json:
            emit_json({"status": "error", "error": f"{type(e).__name__}: {e}"})
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
