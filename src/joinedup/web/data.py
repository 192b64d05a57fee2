"""What the pages and the API show, computed from the warehouse and made safe to leave.

Every aggregate table goes through :func:`joinedup.measures.suppression.suppress`
before it is returned (counts 1-7 and what is derived from them hidden, secondary
suppression against totals). Identifiable details are resolved only in
:meth:`DataService.casefinding` and only when the caller asks for them (the routes
decide who may, and audit each read). Case-finding lists come from the trained risk
model (``joinedup.risk``: scored once, on first use) when there is one beside the
warehouse, or an interim ranking when there is not.

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
#: How many people the interim case-finding list (no risk model) holds at most.
CASEFINDING_SIZE = 50
#: Columns of :meth:`DataService.casefinding` (``risk_percent``, ``population_rank`` and
#: ``segment`` are empty on the interim list).
CASEFINDING_COLUMNS = (
    "list_rank",
    "person_id",
    "risk_percent",
    "population_rank",
    "age",
    "age_band",
    "sex",
    "segment",
    "long_term_conditions",
    "emergency_admissions",
    "reason",
)


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
    one row per ``keys`` (esp bands summed into a directly standardised rate).

    No value from fewer than the measure's ``min_responses``. With a response base,
    ``responses``, ``eligible`` (summed from the frame's ``eligible`` column, if any)
    and ``response_rate`` (per 100 eligible) are added."""
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
    responses = out["numerator"] if d.kind == "mean" else out["denominator"]
    if d.min_responses:  # no figure from too few responses
        out.loc[responses < d.min_responses, ["value", "lower", "upper"]] = np.nan
    if d.response_base is not None:
        from joinedup.measures.results import response_rates

        out["responses"] = responses.astype(float)
        if "eligible" in frame:
            e = frame.groupby(keys, dropna=False, as_index=False)["eligible"].sum(min_count=1)
            out = out.merge(e, on=keys, how="left")
        else:
            out["eligible"] = np.nan
        out["response_rate"] = response_rates(out["responses"], out["eligible"])
    return out


def safe_table(
    frame: pd.DataFrame,
    total_by: list[str],
    people_denominator: bool,
    responses_of: str | None = None,
) -> pd.DataFrame:
    """Suppress a measure table: counts 1-7 and the values derived from them, and a
    second cell wherever one suppressed cell could be recovered from a total over
    ``total_by`` (e.g. all practices in one period). ``responses`` and ``eligible``,
    where present, are counts too, and ``response_rate`` goes with either;
    ``responses_of`` names the column the responses repeat (hidden with them)."""
    counts = ["numerator"] + (["denominator"] if people_denominator else [])
    derived = {c: ["value", "lower", "upper"] for c in counts}
    if "responses" in frame.columns:
        counts += ["responses", "eligible"]
        same = [responses_of] if responses_of else []
        derived["responses"] = [*same, "value", "lower", "upper", "response_rate"]
        derived["eligible"] = ["response_rate"]
    frame = frame.reset_index(drop=True)
    groups = [total_by] if total_by else [[]]
    result = suppress(frame, counts, derived=derived, total_groups=groups)
    safe = result.frame
    safe["suppressed"] = safe["value"].isna() & frame["value"].notna()
    for c in ("responses", "eligible", "response_rate"):  # NaN (not NA) for the templates
        if c in safe.columns:
            safe[c] = pd.to_numeric(safe[c]).astype("float64")
    return safe


class DataService:
    """Reads the warehouse for the app; every result leaves suppressed."""

    def __init__(
        self, warehouse: Path, reidentification: Path, risk_model: Path | None = None
    ) -> None:
        from joinedup.warehouse import open_warehouse
        from joinedup.web.config import default_risk_model_dir

        self.warehouse_path = Path(warehouse)
        if not self.warehouse_path.exists():
            raise FileNotFoundError(
                f"no warehouse at {self.warehouse_path}: run `joinedup demo` (or pass --warehouse)"
            )
        self.wh = open_warehouse(self.warehouse_path, read_only=True)
        self.reidentification = Path(reidentification)
        #: Folder of the trained risk model; case finding falls back without one.
        self.risk_model_path = (
            default_risk_model_dir(self.warehouse_path) if risk_model is None else Path(risk_model)
        )
        self.library = load_library()
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}
        self._memo: dict[str, Any] = {}

    # -- small helpers ---------------------------------------------------------------
    def _sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self._lock:
            return self.wh.raw.execute(query, params or []).df()

    def memoised(self, key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(warehouse, *args, **kwargs)`` run once under the warehouse lock and kept
        under ``key`` (the warehouse is read-only while the app runs)."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = fn(self.wh, *args, **kwargs)
            return self._memo[key]

    def coverage_end(self) -> date:
        """Last day of activity held in the warehouse."""
        if "coverage" not in self._memo:
            from joinedup.measures.periods import coverage

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

    def _with_eligible(self, d: MeasureDefinition, by: str, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the eligible count of ``d``'s response base beside it, where
        the measure has one and gives a rate by ``by`` (counted as an ordinary measure)."""
        from joinedup.measures.engine import Sources
        from joinedup.measures.results import response_base_counts, with_eligible

        base = d.base_measure
        if base is None or d.response_base is None:
            return frame
        if by not in (d.response_base.groupings or []):
            return frame.assign(eligible=np.nan)
        key = (base.id, by)
        with self._lock:
            if key not in self._cache:
                src = Sources.for_warehouse(self.wh, d.period, [base])
                try:
                    self._cache[key] = response_base_counts(src, d, [by])
                finally:
                    src.release()
            eligible = self._cache[key]
        return with_eligible(frame, eligible)

    def _responses_of(self, d: MeasureDefinition) -> str | None:
        if d.response_base is None:
            return None
        return "numerator" if d.kind == "mean" else "denominator"

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
        frame = self._with_eligible(d, by, self._aggregate(d, by))
        values = measure_values(d, frame, ["period_start", "period", "group"])
        values = values.sort_values(["period_start", "group"]).reset_index(drop=True)
        safe = safe_table(
            values,
            ["period"] if by != "partnership" else [],
            self._people_denominator(d),
            self._responses_of(d),
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
        frame = self._with_eligible(d, by, self._aggregate(d, by))
        starts = sorted(frame["period_start"].unique())[-periods:]
        recent = frame[frame["period_start"].isin(starts)]
        values = measure_values(d, recent, ["group"])
        values = values.iloc[
            sorted(range(len(values)), key=lambda i: _natural(values["group"].iloc[i]))
        ]
        values = values.reset_index(drop=True)
        safe = safe_table(values, [], self._people_denominator(d), self._responses_of(d))
        safe.attrs["first"], safe.attrs["last"] = str(starts[0]), str(starts[-1])
        return safe

    def measure_inequality(self, measure_id: str) -> pd.DataFrame:
        """The measure's inequality by deprivation per financial year (SII, RII, Core20
        gap: :func:`joinedup.measures.deprivation.inequality_for`), kept for the app's
        life like its other figures rather than in the measure cache."""
        from joinedup.measures.deprivation import inequality_for

        d = self.definition(measure_id)
        return self.memoised(
            f"deprivation:{measure_id}", inequality_for, d, library=self.library, cache=False
        )

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

    def risk_model(self) -> Any | None:
        """The trained risk model (``joinedup.risk.model.RiskModel``) from
        :attr:`risk_model_path`, loaded once; None if there is none or it cannot be used
        (:attr:`risk_model_problem` says why, in words fit for a page)."""
        with self._lock:
            if "risk_model" not in self._memo:
                from joinedup.risk.model import RiskModel

                model, problem = None, None
                try:
                    model = RiskModel.load(self.risk_model_path)
                except FileNotFoundError:
                    problem = "no trained risk model was found"
                except ValueError:
                    problem = "the trained risk model was built for other features"
                except Exception as exc:  # a damaged model file must not stop the app
                    problem = f"the trained risk model could not be read ({type(exc).__name__})"
                self._memo["risk_model"], self._memo["risk_model_problem"] = model, problem
            return self._memo["risk_model"]

    @property
    def risk_model_problem(self) -> str | None:
        """Why there is no risk model (None when it loaded)."""
        self.risk_model()
        return self._memo["risk_model_problem"]

    def scored(self) -> pd.DataFrame | None:
        """Everyone registered at the end of the data with their risk features and the
        model's ``risk``, ``rank`` and ``percentile`` (``risk.model.score_people``):
        scored once, on first use. None without a model."""
        with self._lock:
            if "scored" not in self._memo:
                from joinedup.risk.model import score_people

                model = self.risk_model()
                self._memo["scored"] = None if model is None else score_people(self.wh, model)
            return self._memo["scored"]

    def people(self) -> pd.DataFrame:
        """Everyone registered at the end of the data with their features, Bridges to
        Health ``segment`` and, with a model, ``risk`` and Kaiser ``tier``
        (``risk.segments.segment_people``). Person-level: never shown, only summarised."""
        from joinedup.risk.segments import segment_people, with_segments

        scored = self.scored()
        with self._lock:
            if scored is not None:
                return segment_people(scored)
            import ibis

            from joinedup.risk.features import data_end
            from joinedup.risk.model import design

            frame = design(self.wh, data_end(self.wh), outcome=False)
            return with_segments(ibis.memtable(frame)).to_pyarrow().to_pandas()

    def _population_tables(self) -> dict[str, Any]:
        """Segment and tier tables by footprint and the risk distribution, suppressed,
        computed together from one segmentation of the population."""
        with self._lock:
            if "population_tables" not in self._memo:
                from joinedup.web.population import risk_distribution, segment_table

                people = self.people()
                tier = "tier" in people
                self._memo["population_tables"] = {
                    "segment": segment_table(people, "segment"),
                    "tier": segment_table(people, "tier") if tier else None,
                    "risk": risk_distribution(people) if tier else None,
                    "practice_tiers": (
                        people.groupby(["practice_code", "tier"]).size() if tier else None
                    ),
                    "as_of": pd.Timestamp(people["index_date"].iloc[0]).date().isoformat(),
                }
            return self._memo["population_tables"]

    def segments(self, kind: str = "segment") -> pd.DataFrame | None:
        """People, emergency admissions and cost per footprint (and the partnership,
        footprint ``ALL``) and Bridges to Health segment (``kind="segment"``) or Kaiser
        tier (``"tier"``, None without a risk model), suppressed on both margins."""
        if kind not in ("segment", "tier"):
            raise ValueError(f"kind must be 'segment' or 'tier', got {kind!r}")
        table = self._population_tables()[kind]
        return None if table is None else table.copy()

    def risk_distribution(self) -> pd.DataFrame | None:
        """People by band of predicted risk, suppressed; None without a risk model."""
        table = self._population_tables()["risk"]
        return None if table is None else table.copy()

    def casefinding_tiers(self, practice_code: str) -> list[dict[str, Any]] | None:
        """The practice's registered people in each Kaiser tier (level 3 first: the
        case-finding list before programme enrolments are left out), as ``label`` and
        ``people`` (None when suppressed, protected against the practice's list size);
        None without a risk model."""
        from joinedup.risk.segments import KAISER_TIERS

        counts = self._population_tables()["practice_tiers"]
        if counts is None:
            return None
        frame = pd.DataFrame(
            {
                "tier": [3, 2, 1],
                "label": [KAISER_TIERS[t] for t in (3, 2, 1)],
                "people": [int(counts.get((practice_code, t), 0)) for t in (3, 2, 1)],
            }
        )
        safe = suppress(frame, ["people"], total_groups=[[]]).frame
        return [
            {
                "tier": int(r.tier),
                "label": r.label,
                "people": None if pd.isna(r.people) else int(r.people),
            }
            for r in safe.itertuples()
        ]

    def segments_as_of(self) -> str:
        """The date the population is segmented (and scored) at, ISO."""
        return self._population_tables()["as_of"]

    def model_card(self) -> dict[str, Any] | None:
        """The risk model's card in brief (AUROC, calibration, comparators), or None."""
        model = self.risk_model()
        if model is None:
            return None
        if "model_card" not in self._memo:
            from joinedup.web.population import model_card_summary

            self._memo["model_card"] = model_card_summary(self.risk_model_path, model.meta)
        return self._memo["model_card"]

    def casefinding_method(self) -> str:
        """How the case-finding lists are made, in words for the page and the API."""
        model = self.risk_model()
        if model is None:
            return (
                f"Interim ranking ({self.risk_model_problem}; train one with `joinedup risk "
                "train`): registered adults with an emergency admission in the last 12 "
                f"months, most admissions first, then most long-term conditions; at most "
                f"{CASEFINDING_SIZE} people. Not a risk prediction."
            )
        trained = model.meta.get("trained_as_of", "?")
        return (
            "Risk model: the practice's patients among the partnership's 2% at highest "
            "predicted risk of an emergency admission in the next 12 months (Kaiser level 3, "
            f"case management), by the model fitted on features as at {trained} and the year "
            "after; people already enrolled in a programme are left out. Highest risk first, "
            "each with the factors that raised their risk most."
        )

    def casefinding(self, practice_code: str) -> pd.DataFrame:
        """The practice's case-finding list, one row per person (columns
        :data:`CASEFINDING_COLUMNS`), in list order.

        With a risk model: ``risk.casefind.case_finding_list`` for the practice (its
        patients in the population's top tier, highest risk first, with reasons).
        Without one: the interim ranking (:meth:`casefinding_method` says which).
        Pseudonymised: ``person_id`` only; the caller re-identifies if allowed.
        """
        if practice_code not in set(self.practices()["practice_code"]):
            raise NotFound(f"no practice with code {practice_code!r}")
        key = f"casefinding:{practice_code}"
        with self._lock:
            if key not in self._memo:
                if self.risk_model() is None:
                    self._memo[key] = self._interim_casefinding(practice_code)
                else:
                    self._memo[key] = self._model_casefinding(practice_code)
            return self._memo[key].copy()

    def casefinding_ids(self, practice_code: str) -> set[str]:
        """``person_id`` of everyone on the practice's case-finding list."""
        return set(self.casefinding(practice_code)["person_id"])

    def _model_casefinding(self, practice_code: str) -> pd.DataFrame:
        from joinedup.risk.casefind import ListFilters, case_finding_list

        scored = self.scored()
        if practice_code not in set(scored["practice_code"].dropna()):
            return pd.DataFrame(columns=list(CASEFINDING_COLUMNS))  # nobody registered
        listed = case_finding_list(
            self.wh, self.risk_model(), scored, ListFilters(practice=practice_code)
        )
        age = scored.set_index("person_id")["age"]
        return pd.DataFrame(
            {
                "list_rank": listed["list_rank"].astype(int),
                "person_id": listed["person_id"],
                "risk_percent": listed["risk_percent"].astype(float),
                "population_rank": listed["population_rank"].astype(int),
                "age": listed["person_id"].map(age).astype(int),
                "age_band": listed["age_band"],
                "sex": listed["sex"],
                "segment": listed["segment_name"],
                "long_term_conditions": listed["ltc_count"].astype(int),
                "emergency_admissions": listed["emergency_admissions"].astype(int),
                "reason": listed["reasons"],
            }
        )[list(CASEFINDING_COLUMNS)]

    def _interim_casefinding(self, practice_code: str) -> pd.DataFrame:
        """Registered adults ranked by emergency admissions in the last 12 months, then
        long-term conditions: a transparent stand-in while no risk model is trained."""
        from joinedup.derived.persons import AGE_BANDS

        end = self.coverage_end()
        start = date(end.year - 1, end.month, min(end.day, 28))
        frame = self._sql(
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
        )

        def band(age: int) -> str:
            return next(b for b, lo, hi in AGE_BANDS if age >= lo and (hi is None or age <= hi))

        return frame.assign(
            list_rank=range(1, len(frame) + 1),
            risk_percent=None,
            population_rank=None,
            age_band=[band(int(a)) for a in frame["age"]],
            segment=None,
            reason=[
                f"{int(e)} emergency admission{'s' if e != 1 else ''} in 12 months; "
                f"{int(c)} long-term condition{'s' if c != 1 else ''}"
                for e, c in zip(
                    frame["emergency_admissions"], frame["long_term_conditions"], strict=True
                )
            ],
        )[list(CASEFINDING_COLUMNS)]

    def nhs_numbers(self, person_ids: list[str]) -> dict[str, str]:
        """NHS numbers of ``person_ids`` from the restricted re-identification store.
        Only the case-finding route calls this, for an allowed caller, and audits it."""
        from joinedup.ingest.pseudonymise import ReidentificationStore

        with self._lock:
            return ReidentificationStore(self.reidentification).lookup(person_ids)

    def close(self) -> None:
        """Release the warehouse connection."""
        self.wh.close()
