"""The linear program of docs/MODEL.md and its solver backends."""

from .build import LP, build_lp, lp_size

__all__ = ["LP", "build_lp", "lp_size"]
