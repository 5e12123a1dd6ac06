"""Plots and a one-page HTML report of a plan and its scenario evaluation.

For notebooks: ``plan_html``/``evaluation_html`` give compact HTML for
``_repr_html_`` (they take a Plan or Evaluation, or a summary dict); the
functions of ``figures`` return matplotlib Figures. ``write_report`` writes
the report directory that ``optimiser report`` makes. matplotlib is
optional (``pip install 'optimiser[plot]'``) and is imported only when a
figure is drawn.
"""

from . import figures
from .build import write_report
from .figures import (
    distribution_figure,
    fan_figure,
    frontier_figure,
    procurement_figure,
    stock_figure,
    unmet_figure,
)
from .html import evaluation_html, plan_html

__all__ = [
    "distribution_figure",
    "evaluation_html",
    "fan_figure",
    "figures",
    "frontier_figure",
    "plan_html",
    "procurement_figure",
    "stock_figure",
    "unmet_figure",
    "write_report",
]
