"""Days as integers, seasonal weights and drawing event dates within exposure windows.

Dates are held as int32 days since 1970-01-01 while generating and turned into Arrow
dates on output. Activity is drawn by inverting the cumulative seasonal weight, so
winter is busier without a loop over days or people.
"""

from __future__ import annotations

from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1)
DAYS_PER_YEAR = 365.25


def day(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def month_of(days: np.ndarray) -> np.ndarray:
    """Calendar month (1-12) of each day number."""
    return (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1


class Season:
    """Daily weights over the window (mean 1) and their cumulative sum."""

    def __init__(self, start: int, end: int, monthly: dict[int, float]) -> None:
        self.start, self.end = start, end
        days = np.arange(start, end + 1)
        w = np.array([monthly.get(m, 1.0) for m in range(1, 13)])[month_of(days) - 1]
        w = w / w.mean()
        self.cum = np.concatenate([[0.0], np.cumsum(w)])

    def weight(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Seasonal exposure of the half-open day intervals [a, b) (in days)."""
        a = np.clip(a, self.start, self.end + 1) - self.start
        b = np.clip(b, self.start, self.end + 1) - self.start
        return self.cum[b] - self.cum[a]

    def draw(self, rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """One day in each interval [a, b), with probability proportional to the weight."""
        a = np.clip(a, self.start, self.end + 1) - self.start
        b = np.clip(b, self.start, self.end + 1) - self.start
        u = self.cum[a] + rng.random(len(a)) * (self.cum[b] - self.cum[a])
        idx = np.searchsorted(self.cum, u, side="right") - 1
        return (np.minimum(np.maximum(idx, a), b - 1) + self.start).astype(np.int32)


# Winter pressure for unplanned care; planned care dips in August and December.
UNPLANNED = {1: 1.12, 2: 1.08, 3: 1.02, 4: 0.97, 5: 0.97, 6: 0.95, 7: 0.96, 8: 0.93,
             9: 0.97, 10: 1.0, 11: 1.05, 12: 1.12}  # fmt: skip
PLANNED = {8: 0.85, 12: 0.85, 4: 0.95}
FLAT: dict[int, float] = {}


def poisson_events(
    rng: np.random.Generator,
    season: Season,
    rate_per_year: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events for each person at ``rate_per_year`` over their window [a, b).

    Returns (person index, day) of every event, sorted by person then day.
    """
    expected = rate_per_year * season.weight(a, b) / DAYS_PER_YEAR
    n = rng.poisson(np.maximum(expected, 0))
    who = np.repeat(np.arange(len(n)), n)
    days = season.draw(rng, a[who], b[who])
    order = np.lexsort((days, who))
    return who[order], days[order]


def dates(days: np.ndarray, missing: np.ndarray | None = None):
    """An Arrow date array from day numbers, null where ``missing`` is true."""
    import pyarrow as pa

    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    return pa.array(values, type=pa.date32(), mask=missing)


def ids(prefix: str, n: int, width: int = 9):
    """Identifiers ``prefix`` + zero-padded sequence numbers, as an Arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def choose(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """``n`` indices drawn with the given relative weights."""
    w = np.asarray(weights, float)
    return rng.choice(len(w), n, p=w / w.sum())


def labels(values, index: np.ndarray):
    """``values[index]`` as an Arrow string array, built in C rather than as numpy text."""
    import pyarrow as pa

    dictionary = pa.array(list(values), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), dictionary).cast(pa.string())
