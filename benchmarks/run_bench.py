"""Thin script over `optimiser bench`: run the suite and write its report here.

    python benchmarks/run_bench.py --quick              # -> benchmarks/results/bench-quick.*
    python benchmarks/run_bench.py --max-minutes 120    # -> benchmarks/results/bench-full.*

Any other option of `optimiser bench` is passed through (see `optimiser bench -h`).
"""

import os
import sys

from optimiser.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--out" not in argv:
        argv += ["--out", os.path.join(HERE, "results")]
    sys.exit(main(["bench", *argv]))
