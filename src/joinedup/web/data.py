"""What the pages and the API show, computed from the warehouse and made safe to leave.

Every aggregate table goes through :func:`joinedup.measures.suppression.suppress`
before it is returned (counts 1-7 and what is derived from them hidden, secondary
suppression against totals). Identifiable details are resolved only in
:meth:`DataService.casefinding` and only when the caller asks for them (the routes
decide who may, and audit each read).

Warehouse queries are serialised by one lock (one DuckDB connection per app) and
measure results (and the safe tables made from them) are cached per (measure,
grouping): the warehouse is read-only while the app runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from joinedup.derived import ESP2013_BANDS
from joinedup.measures import stats
from joinedup.measures.definition import MeasureDefinition, MeasureError, load_library
from joinedup.measures.suppression import suppress

AGE_BANDS_5Y = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
#: How many emergency admissions (last 12 months) put someone on the interim case-finding list.
CASEFINDING_SIZE = 50


class NotFound(LookupError):
    """Something asked for (a measure, a practice) does not exist."""


@dataclass(frozen=True)
class MeasureView:
    """One measure computed for display: the definition and its safe tables."""

    definition: MeasureDefinition
    series: pd.DataFrame  # partnership, one row per period, suppressed
    spc: pd.DataFrame | None  # xmr() frame of the series, or None if too short


def _natural(label: object) -> tuple:
    """Sort key putting '5-17' before '18-44' (leading numbers compared as numbers)."""
    text = str(label)
    digits = text.split("-")[0].rstrip("+")
    return (0, int(digits), text) if digits.isdigit() else (1, 0, text)


def _esp_weights() -> dict[str, float]:
    return {label: float(weight) for label, _lo, _hi, weight in ESP2013_BANDS}


def measure_values(d: MeasureDefinition, frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Values and 95% intervals of measure ``d`` from the engine's aggregate frame,
    one row per ``keys`` (esp bands summed into a directly standardised rate)."""
    if d.kind == "mean":
        g = frame.groupby(keys, dropna=False, as_index=False)[["n", "total", "total_sq"]].sum()
        est = stats.mean_ci(g["n"].to_numpy(), g["total"].to_numpy(), g["total_sq"].to_numpy())
        out = g.rename(columns={"n": "numerator"}).drop(columns=["total", "total_sq"])
        out["denominator"] = np.nan
    elif d.standardisation == "esp2013" and "esp_band" in frame:
        w = frame["esp_band"].map(_esp_weights()).astype(float)
        n = frame["denominator"].astype(float).where(lambda s: s > 0)
        f = frame.assign(
            _w=w.where(n.notna(), 0.0),
            _rate=(w * frame["numerator"] / n).fillna(0.0),
            _var=(w**2 * frame["numerator"] / n**2).fillna(0.0),
        )
        g = f.groupby(keys, dropna=False, as_index=False)[
            ["numerator", "denominator", "_w", "_rate", "_var"]
        ].sum()
        est = stats.dsr_from_sums(
            g["numerator"], g["_rate"], g["_var"], g["_w"], multiplier=d.multiplier or 100_000
        )
        out = g.drop(columns=["_w", "_rate", "_var"])
    else:
        g = frame.groupby(keys, dropna=False, as_index=False)[["numerator", "denominator"]].sum()
        num, den = g["numerator"].to_numpy(float), g["denominator"].to_numpy(float)
        if d.kind == "proportion":
            safe = np.where(den > 0, den, 1)
            est = stats.proportion_ci(np.minimum(num, safe), safe)
            scale = d.multiplier or 1
            est = stats.Estimate(
                np.where(den > 0, np.asarray(est.value) * scale, np.nan),
                np.where(den > 0, np.asarray(est.lower) * scale, np.nan),
                np.where(den > 0, np.asarray(est.upper) * scale, np.nan),
                est.confidence,
                est.method,
            )
        else:
            est = stats.rate_ci(num, den, multiplier=d.multiplier or 1)
        out = g
    out["value"] = np.asarray(est.value, dtype=float)
    out["lower"] = np.asarray(est.lower, dtype=float)
    out["upper"] = np.asarray(est.upper, dtype=float)
    return out


def safe_table(frame: pd.DataFrame, total_by: list[str], people_denominator: bool) -> pd.DataFrame:
    """Suppress a measure table: counts 1-7 and the values derived from them, and a
    second cell wherever one suppressed cell could be recovered from a total over
    ``total_by`` (e.g. all practices in one period)."""
    counts = ["numerator"] + (["denominator"] if people_denominator else [])
    derived = {c: ["value", "lower", "upper"] for c in counts}
    frame = frame.reset_index(drop=True)
    groups = [total_by] if total_by else [[]]
    result = suppress(frame, counts, derived=derived, total_groups=groups)
    safe = result.frame
    safe["suppressed"] = safe["value"].isna() & frame["value"].notna()
    return safe


class DataService:
    """Reads the warehouse for the app; every result leaves suppressed."""

    def __init__(self, warehouse: Path, reidentification: Path) -> None:
        from joinedup.warehouse import open_warehouse

        self.warehouse_path = Path(warehouse)
        if not self.warehouse_path.exists():
            raise FileNotFoundError(
                f"no warehouse at {self.warehouse_path}: run `joinedup demo` (or pass --warehouse)"
            )
        self.wh = open_warehouse(self.warehouse_path, read_only=True)
        self.reidentification = Path(reidentification)
        self.library = load_library()
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}
        self._memo: dict[str, Any] = {}

    # -- small helpers ---------------------------------------------------------------
    def _sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self._lock:
            return self.wh.raw.execute(query, params or []).df()

    def coverage_end(self) -> date:
        """Last day of activity held in the warehouse."""
        if "coverage" not in self._memo:
            from joinedup.measures.engine import coverage

            with self._lock:
                self._memo["coverage"] = coverage(self.wh)
        return self._memo["coverage"][1]

    # -- population ------------------------------------------------------------------
    def population(self) -> dict[str, Any]:
        """Registered population at the end of the data, and the footprints' shares."""
        if "population" in self._memo:
            return self._memo["population"]
        end = self.coverage_end()
        fp = self._sql(
            """
            SELECT f.footprint_code, f.name,
                   count(DISTINCT pr.practice_code) AS practices,
                   count(p.person_id) AS people
            FROM footprint f
            LEFT JOIN practice pr USING (footprint_code)
            LEFT JOIN person p ON p.practice_code = pr.practice_code
                 AND (p.registered_to IS NULL OR p.registered_to > ?)
                 AND (p.date_of_death IS NULL OR p.date_of_death > ?)
                 AND (p.registered_from IS NULL OR p.registered_from <= ?)
            GROUP BY ALL ORDER BY f.footprint_code
            """,
            [end, end, end],
        )
        safe = suppress(fp, ["people"], total_groups=[[]]).frame
        out = {
            "as_of": end.isoformat(),
            "people": int(fp["people"].sum()),
            "practices": int(fp["practices"].sum()),
            "footprints": [
                {
                    "footprint_code": r.footprint_code,
                    "name": r.name,
                    "practices": int(r.practices),
                    "people": None if pd.isna(r.people) else int(r.people),
                }
                for r in safe.itertuples()
            ],
        }
        self._memo["population"] = out
        return out

    def pyramid(self) -> pd.DataFrame:
        """People by five-year age band and sex (F, M), suppressed with both totals."""
        if "pyramid" in self._memo:
            return self._memo["pyramid"]
        end = self.coverage_end()
        frame = self._sql(
            """
            SELECT least(floor((? - year_of_birth) / 5) * 5, 90)::INT AS lo, sex,
                   count(*) AS people
            FROM person
            WHERE (registered_to IS NULL OR registered_to > ?)
              AND (date_of_death IS NULL OR date_of_death > ?)
              AND sex IN ('F', 'M')
            GROUP BY ALL
            """,
            [end.year, end, end],
        )
        frame["age_band"] = [AGE_BANDS_5Y[min(int(lo) // 5, 18)] for lo in frame["lo"]]
        full = pd.MultiIndex.from_product([AGE_BANDS_5Y, ["F", "M"]], names=["age_band", "sex"])
        frame = (
            frame.groupby(["age_band", "sex"])["people"].sum().reindex(full, fill_value=0)
        ).reset_index()
        safe = suppress(frame, ["people"], total_groups=[["age_band"], ["sex"]]).frame
        self._memo["pyramid"] = safe
        return safe

    # -- measures --------------------------------------------------------------------
    def definition(self, measure_id: str) -> MeasureDefinition:
        """The library definition of ``measure_id``; :class:`NotFound` if none."""
        try:
            return self.library[measure_id]
        except KeyError:
            raise NotFound(f"no measure called {measure_id!r}") from None

    def _aggregate(self, d: MeasureDefinition, by: str) -> pd.DataFrame:
        from joinedup.measures.engine import aggregate

        key = (d.id, by)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = aggregate(self.wh, d, by=by)
            return self._cache[key]

    def _people_denominator(self, d: MeasureDefinition) -> bool:
        return d.kind == "rate" or (
            d.denominator is not None and d.denominator.source == "population"
        )

    def measure_table(self, measure_id: str, by: str = "partnership") -> pd.DataFrame:
        """Values per period and group, suppressed (totals per period protected)."""
        key = f"table:{measure_id}:{by}"
        if key not in self._memo:
            self._memo[key] = self._measure_table(measure_id, by)
        return self._memo[key].copy()

    def _measure_table(self, measure_id: str, by: str) -> pd.DataFrame:
        d = self.definition(measure_id)
        if by not in d.groupings:
            raise MeasureError(
                f"measure {d.id!r} cannot be grouped by {by!r}; it allows: {', '.join(d.groupings)}"
            )
        frame = self._aggregate(d, by)
        values = measure_values(d, frame, ["period_start", "period", "group"])
        values = values.sort_values(["period_start", "group"]).reset_index(drop=True)
        safe = safe_table(
            values, ["period"] if by != "partnership" else [], self._people_denominator(d)
        )
        safe.insert(0, "measure_id", d.id)
        safe.insert(1, "grouping", by)
        return safe

    def measure_recent(self, measure_id: str, by: str, periods: int = 12) -> pd.DataFrame:
        """The last ``periods`` periods pooled, one row per group, suppressed."""
        key = f"recent:{measure_id}:{by}:{periods}"
        if key not in self._memo:
            self._memo[key] = self._measure_recent(measure_id, by, periods)
        return self._memo[key].copy()

    def _measure_recent(self, measure_id: str, by: str, periods: int) -> pd.DataFrame:
        d = self.definition(measure_id)
        frame = self._aggregate(d, by)
        starts = sorted(frame["period_start"].unique())[-periods:]
        recent = frame[frame["period_start"].isin(starts)]
        values = measure_values(d, recent, ["group"])
        values = values.iloc[
            sorted(range(len(values)), key=lambda i: _natural(values["group"].iloc[i]))
        ]
        values = values.reset_index(drop=True)
        safe = safe_table(values, [], self._people_denominator(d))
        safe.attrs["first"], safe.attrs["last"] = str(starts[0]), str(starts[-1])
        return safe

    def measure_view(self, measure_id: str) -> MeasureView:
        """The partnership series and its XmR chart data."""
        from joinedup.measures.spc import xmr

        key = f"view:{measure_id}"
        if key in self._memo:
            return self._memo[key]
        d = self.definition(measure_id)
        series = self.measure_table(measure_id, "partnership")
        spc = None
        if series["value"].notna().sum() >= 2:
            improvement = d.direction if d.direction != "neutral" else "neutral"
            spc = xmr(
                series["value"].astype(float).to_numpy(),
                improvement=improvement,
                target=d.target if d.direction != "neutral" else None,
                x=list(series["period"]),
            )
        self._memo[key] = MeasureView(d, series, spc)
        return self._memo[key]

    def headline(self, ids: list[str]) -> list[dict[str, Any]]:
        """Latest value and SPC icons of each headline measure (skipping unknown ids)."""
        out = []
        for mid in ids:
            if mid not in self.library:
                continue
            view = self.measure_view(mid)
            last = view.series.dropna(subset=["value"]).tail(1)
            out.append(
                {
                    "id": mid,
                    "title": view.definition.title,
                    "unit": view.definition.unit,
                    "period": None if last.empty else str(last["period"].iloc[0]),
                    "value": None if last.empty else float(last["value"].iloc[0]),
                    "variation_icon": None
                    if view.spc is None
                    else view.spc.attrs.get("variation_icon"),
                    "assurance_icon": None
                    if view.spc is None
                    else view.spc.attrs.get("assurance_icon"),
                }
            )
        return out

    # -- case finding ----------------------------------------------------------------
    def practices(self) -> pd.DataFrame:
        """Every practice (code, name, footprint)."""
        if "practices" not in self._memo:
            self._memo["practices"] = self._sql(
                "SELECT practice_code, name, footprint_code FROM practice ORDER BY practice_code"
            )
        return self._memo["practices"]

    def casefinding(self, practice_code: str) -> pd.DataFrame:
        """The practice's case-finding list: registered adults ranked by emergency
        admissions in the last 12 months, then long-term conditions (an interim,
        transparent ranking until the risk model's list is wired in). Pseudonymised:
        ``person_id`` only; the caller re-identifies if allowed."""
        if practice_code not in set(self.practices()["practice_code"]):
            raise NotFound(f"no practice with code {practice_code!r}")
        end = self.coverage_end()
        start = date(end.year - 1, end.month, min(end.day, 28))
        return self._sql(
            """
            WITH em AS (
                SELECT person_id, count(*) AS emergency_admissions
                FROM apc_spell
                WHERE admitted_on > ? AND admitted_on <= ?
                  AND substr(admission_method, 1, 1) = '2'
                GROUP BY person_id
            ), ltc AS (
                SELECT person_id, count(DISTINCT condition) AS conditions
                FROM condition WHERE recorded_on <= ? GROUP BY person_id
            )
            SELECT p.person_id, ? - p.year_of_birth AS age, p.sex,
                   coalesce(ltc.conditions, 0) AS long_term_conditions,
                   em.emergency_admissions
            FROM person p JOIN em USING (person_id) LEFT JOIN ltc USING (person_id)
            WHERE p.practice_code = ?
              AND (p.registered_to IS NULL OR p.registered_to > ?)
              AND (p.date_of_death IS NULL OR p.date_of_death > ?)
              AND ? - p.year_of_birth >= 18
            ORDER BY em.emergency_admissions DESC, long_term_conditions DESC, p.person_id
            LIMIT ?
            """,
            [start, end, end, end.year, practice_code, end, end, end.year, CASEFINDING_SIZE],
        ).assign(
            reason=lambda f: [
                f"{int(e)} emergency admission{'s' if e != 1 else ''} in 12 months; "
                f"{int(c)} long-term condition{'s' if c != 1 else ''}"
                for e, c in zip(f["emergency_admissions"], f["long_term_conditions"], strict=True)
            ]
        )

    def nhs_numbers(self, person_ids: list[str]) -> dict[str, str]:
        """NHS numbers of ``person_ids`` from the restricted re-identification store.
        Only the case-finding route calls this, for an allowed caller, and audits it."""
        from joinedup.ingest.pseudonymise import ReidentificationStore

        with self._lock:
            return ReidentificationStore(self.reidentification).lookup(person_ids)

    def close(self) -> None:
        """Release the warehouse connection."""
        self.wh.close()
