"""The solver alone on the joint LP: numpy + highspy, nothing of optimiser imported.

    python optimiser/benchsuite/solver_alone.py LP.npz RECORDS_JSONL

Run by path (not -m) so that the package's own imports stay out of the process:
its peak RSS is what HiGHS needs for this LP, the reference of the memory target.
"""

import json
import os
import resource
import sys
import time

import numpy as np


def main(npz: str, out: str) -> int:
    import highspy

    z = np.load(npz)
    saved = os.dup(1)
    os.dup2(2, 1)  # the HiGHS banner goes to fd 1
    try:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        m, n = (int(v) for v in z["shape"])
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = z["cost"], z["lb"], z["ub"]
        lp.row_lower_, lp.row_upper_ = z["row_lo"], z["row_hi"]
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_, lp.a_matrix_.index_ = z["indptr"], z["indices"]
        lp.a_matrix_.value_ = z["data"]
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        h.passModel(lp)
        del lp, z
        t = time.perf_counter()
        h.run()
        sec = time.perf_counter() - t
    finally:
        os.dup2(saved, 1)
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = kb / 2**20 if sys.platform == "darwin" else kb / 1024
    rec = {"stage": "mem.solver_alone", "seconds": sec, "peak_rss_mb": round(peak, 1),
           "objective": float(h.getInfo().objective_function_value),
           "status": h.getModelStatus().name}
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
