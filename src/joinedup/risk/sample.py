"""Random (id, ICD-10 code) rows for checking and benchmarking the scores.

Deterministic for a seed. Most codes are drawn from the score code lists (so every
category and hierarchy rule is exercised), the rest are arbitrary codes that match none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from joinedup.risk.definitions import SCORES, score_definition


def code_pool() -> np.ndarray:
    """Every prefix of every score, each 3-character one also with the ten 4th digits."""
    prefixes = sorted({p for s in SCORES for _, p in score_definition(s).prefix_rows()})
    pool = set(prefixes)
    for p in prefixes:
        if len(p) == 3:
            pool.update(f"{p}{d}" for d in range(10))
    return np.array(sorted(pool))


def random_diagnoses(
    n_people: int, rows_per_person: float = 10.0, seed: int = 0, listed_share: float = 0.6
) -> pd.DataFrame:
    """About ``n_people * rows_per_person`` rows of ``id`` (int64) and ``code`` (clean ICD-10,
    no dot, upper case). ``listed_share`` of the codes come from the score code lists."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rows_per_person - 1, n_people) + 1
    ids = np.repeat(np.arange(1, n_people + 1, dtype=np.int64), counts)
    n = len(ids)
    pool = code_pool()
    listed = pool[rng.integers(0, len(pool), n)]
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))[rng.integers(0, 26, n)]
    numbers = rng.integers(0, 1000, n)
    other = np.char.add(letters, np.char.zfill(numbers.astype(str), 3))
    codes = np.where(rng.random(n) < listed_share, listed, other)
    return pd.DataFrame({"id": ids, "code": codes.astype(object)})


def untidy(codes: pd.Series, seed: int = 1) -> pd.Series:
    """The same codes as a clerk might type them: some with a dot after the third
    character, some in lower case, some with spaces around."""
    rng = np.random.default_rng(seed)
    out = codes.astype(str)
    n = len(out)
    dotted = (rng.random(n) < 0.5) & (out.str.len() > 3)
    out = out.where(~dotted, out.str[:3] + "." + out.str[3:])
    out = out.where(rng.random(n) >= 0.3, out.str.lower())
    out = out.where(rng.random(n) >= 0.2, " " + out + "  ")
    return out
