"""`optimiser report INSTANCE PLAN [EVAL] -o REPORT [--force]`: a one-page HTML report."""

from __future__ import annotations

import argparse
import sys

from ..errors import InvalidPlanError, UsageError
from .common import EXIT_OK, EXIT_USAGE, log

DESCRIPTION = """\
Write a self-contained HTML report of a plan (and, given EVAL, of its scenario
evaluation) into the directory REPORT: index.html, readable offline (figures
inline, nothing fetched from the network), plus each figure as a PNG file.

The report shows: the objective and its breakdown; stock against floor per
node and commodity; orders by supplier over time against capacity and
contract limits; binding constraints with their shadow prices; unmet
consumption by consumer and day; and, with EVAL, the scenario KPIs, histograms
of unmet consumption, unit-days below floor and cost, and fan charts of stock.
Large instances show the worst --top node-commodity pairs and say how many
were left out. docs/report.md explains how to read each figure."""

EPILOG = """\
REPORT is written to a temporary directory beside it and renamed into place
when complete; an existing REPORT is refused unless --force, and a REPORT that
is, contains or lies inside an input (after resolving '..' and symlinks) is
refused even with --force.
Needs matplotlib: pip install 'optimiser[plot]'.
exit status: 0 written; 2 bad arguments, missing or malformed input, REPORT
exists, or matplotlib missing; 1 internal error."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report (with PNG figures) of a plan and its evaluation",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("instance", metavar="INSTANCE", help="instance directory (docs/FORMAT.md)")
    p.add_argument("plan", metavar="PLAN", help="plan directory written by `optimiser solve`")
    p.add_argument("evaluation", metavar="EVAL", nargs="?", default=None,
                   help="evaluation directory written by `optimiser evaluate` (optional)")
    p.add_argument("-o", "--output", metavar="REPORT", required=True,
                   help="report directory to write (index.html and *.png)")
    p.add_argument("--force", action="store_true", help="replace REPORT if it exists")
    p.add_argument("--top", type=_positive, default=12, metavar="N",
                   help="show the N worst node-commodity pairs in each figure (default 12)")
    p.set_defaults(run=run)
    return p


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return n


def run(args: argparse.Namespace) -> int:
    """Write the report; 0 when written, 2 on bad input (message on stderr)."""
    from .._atomic import check_output
    from ..report import write_report

    try:
        # before loading anything: REPORT exists, overlaps an input, cannot be written
        check_output(args.output, args.force, (args.instance, args.plan, args.evaluation))
        index = write_report(args.instance, args.plan, args.output, args.evaluation,
                             force=args.force, top=args.top)
    except (UsageError, InvalidPlanError) as exc:
        log(f"error: {exc}")
        return EXIT_USAGE
    log(f"report written: {index}")
    print(index)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run `report` alone (python -m optimiser.cli.cmd_report ...), outside the main CLI."""
    parser = argparse.ArgumentParser(prog="optimiser")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)])
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
