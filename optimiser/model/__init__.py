"""The linear program of SPEC section 3 and its solver backends."""

from .build import LP, build_lp, lp_size

__all__ = ["LP", "build_lp", "lp_size"]
