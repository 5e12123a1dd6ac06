"""JSON for summaries: numpy scalars and arrays as plain numbers and lists."""

from __future__ import annotations

from typing import Any

import numpy as np


def json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
