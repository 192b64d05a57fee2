"""Score a Parquet file of (id, code) rows with comorbidipy 0.8: the independent oracle.

Run by the Python of .venv-oracle (see scripts/setup-oracles.sh), never imported by joinedup:

    .venv-oracle/bin/python tests/risk/comorbidipy_runner.py IN.parquet SCORE OUT.parquet

SCORE is one of charlson, charlson_quan2011, elixhauser_vw, hfrs. Prints the seconds spent
scoring (reading and writing excluded) on stdout, for benchmarks/scores_benchmark.py.
"""

import sys
import time

import polars as pl
from comorbidipy import comorbidity, hfrs

ARGS = {
    "charlson": {"score": "charlson", "weighting": "charlson"},
    "charlson_quan2011": {"score": "charlson", "weighting": "quan"},
    "elixhauser_vw": {"score": "elixhauser", "weighting": "van_walraven"},
}


def main(source: str, score: str, target: str) -> None:
    df = pl.read_parquet(source)
    start = time.perf_counter()
    if score == "hfrs":
        out = hfrs(df, id_col="id", code_col="code")
    else:
        out = comorbidity(
            df,
            id_col="id",
            code_col="code",
            icd="icd10",
            variant="quan",
            assign0=True,
            **ARGS[score],
        )
    elapsed = time.perf_counter() - start
    out.write_parquet(target)
    print(f"{elapsed:.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
