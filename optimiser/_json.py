"""The one JSON policy of the project, for every JSON file written and every --json document.

- numpy scalars and arrays become plain numbers and lists; dates become ISO strings;
  paths become strings;
- NaN and +-inf become null (strict JSON: `allow_nan=False` is always on, so a
  non-finite number can never reach a file or stdout as `NaN`/`Infinity`);
- anything else that is not JSON (an object, a set, bytes) raises TypeError: a
  summary holding such a value is a bug to fix, not a value to hide behind `str()`.

`clean(obj)` returns the JSON-ready copy; `dumps(obj)` the text (with a final newline
when `indent` is given); `write_json(path, obj)` writes a file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

_SCALARS = (str, int, type(None))


def clean(o: Any) -> Any:
    """A JSON-ready copy of `o`: NaN/inf -> None, numpy -> Python; TypeError on the unknown."""
    if isinstance(o, bool) or isinstance(o, _SCALARS):
        return o
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {_key(k): clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return clean(float(o))
    if isinstance(o, np.ndarray):
        return clean(o.tolist())
    if isinstance(o, (_dt.date, _dt.datetime)):
        return o.isoformat()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__} ({o!r:.80})")


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, (bool, np.bool_)):
        return "true" if k else "false"
    if isinstance(k, (int, np.integer)):
        return str(int(k))
    if k is None:
        return "null"
    raise TypeError(f"not a JSON object key: {type(k).__name__} ({k!r:.80})")


def dumps(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON text of `obj` (see the module docstring); ends with a newline when indented."""
    text = json.dumps(clean(obj), indent=indent, allow_nan=False)  # ASCII: any terminal, any name
    return text + "\n" if indent is not None else text


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as strict JSON to `path` (UTF-8)."""
    Path(path).write_text(dumps(obj), encoding="utf-8")


def json_default(o: Any) -> Any:
    """`default=` hook for code that still calls json.dumps directly: the same conversions
    as `clean` (non-finite floats inside numpy values become None)."""
    if isinstance(o, (np.generic, np.ndarray, _dt.date, os.PathLike)):
        return clean(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
