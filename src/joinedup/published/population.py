"""Published figures about the population: who is registered, segments, risk.

Every table leaves suppressed: counts of 1-7 people and what is derived from them are
hidden, with secondary suppression against the totals published beside them.
"""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd

from joinedup.measures.suppression import suppress
from joinedup.practice.profile import age_sex_counts, registered_at
from joinedup.published.base import Base
from joinedup.risk.segments import KAISER_TIERS
from joinedup.warehouse import Warehouse

#: Bands of predicted risk of an emergency admission in the next 12 months.
RISK_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 0.02, "under 2%"),
    (0.02, 0.05, "2% to 5%"),
    (0.05, 0.10, "5% to 10%"),
    (0.10, 0.20, "10% to 20%"),
    (0.20, 0.40, "20% to 40%"),
    (0.40, 1.01, "40% or more"),
)
MODEL_NAMES = {
    "LightGBM (calibrated)": "Risk model (LightGBM, calibrated)",
    "Logistic regression": "Comparator: logistic regression",
    "Emergency admissions last year": "Comparator: emergency admissions last year",
}


def population_summary(wh: Warehouse, day: date) -> dict[str, Any]:
    """People registered on ``day`` in each footprint (with its practices), suppressed
    against the partnership's total, which is published beside them."""
    fp = wh.table("footprint").select("footprint_code", "name")
    pr = wh.table("practice").select("practice_code", "footprint_code")
    people = (
        registered_at(wh, day)
        .inner_join(pr, "practice_code")
        .group_by("footprint_code")
        .aggregate(people=ibis._.count())
    )
    practices = pr.group_by("footprint_code").aggregate(practices=ibis._.count())
    frame = (
        fp.left_join(practices, "footprint_code")
        .left_join(people, "footprint_code")
        .select("footprint_code", "name", "practices", "people")
        .to_pandas()
        .sort_values("footprint_code", kind="stable")
        .reset_index(drop=True)
    )
    frame[["practices", "people"]] = frame[["practices", "people"]].fillna(0).astype("int64")
    safe = suppress(frame, ["people"], total_groups=[[]]).frame
    return {
        "as_of": day.isoformat(),
        "people": int(frame["people"].sum()),
        "practices": int(frame["practices"].sum()),
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


def safe_pyramid(counts: pd.DataFrame) -> pd.DataFrame:
    """An age-sex table (``age_band``, ``sex``, ``people`` ...: e.g.
    :func:`joinedup.practice.profile.age_sex_counts`) with ``people`` suppressed and
    both margins (each band's and each sex's total) protected."""
    return suppress(counts, ["people"], total_groups=[["age_band"], ["sex"]]).frame


def age_sex_pyramid(wh: Warehouse, day: date) -> pd.DataFrame:
    """Everyone registered on ``day`` by five-year age band and sex (F, M), suppressed
    (:func:`safe_pyramid`)."""
    return safe_pyramid(age_sex_counts(registered_at(wh, day)))


def risk_distribution(people: pd.DataFrame) -> pd.DataFrame:
    """People of the partnership by band of predicted risk (``risk``), with the expected
    number of them admitted (the sum of their risks), suppressed against the total."""
    risk = people["risk"].to_numpy(float)
    rows = []
    for lo, hi, label in RISK_BANDS:
        inside = (risk >= lo) & (risk < hi)
        rows.append(
            {
                "band": label,
                "people": int(inside.sum()),
                "expected_admissions": float(np.sort(risk[inside]).sum()),
                "mean_risk_percent": float(100 * risk[inside].mean()) if inside.any() else np.nan,
            }
        )
    frame = pd.DataFrame(rows)
    frame["share_of_people"] = frame["people"] / max(1, len(people))
    derived = {"people": ["expected_admissions", "mean_risk_percent", "share_of_people"]}
    return suppress(frame, ["people"], derived=derived, total_groups=[[]]).frame


def practice_tiers(people: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Each practice's registered people in each Kaiser tier (level 3 first), as
    ``tier``, ``label`` and ``people`` (None when suppressed, protected against the
    practice's list size)."""
    counts = people.groupby(["practice_code", "tier"]).size()
    out = {}
    for code in sorted(people["practice_code"].dropna().unique()):
        frame = pd.DataFrame(
            {
                "tier": [3, 2, 1],
                "label": [KAISER_TIERS[t] for t in (3, 2, 1)],
                "people": [int(counts.get((code, t), 0)) for t in (3, 2, 1)],
            }
        )
        safe = suppress(frame, ["people"], total_groups=[[]]).frame
        out[str(code)] = [
            {
                "tier": int(r.tier),
                "label": r.label,
                "people": None if pd.isna(r.people) else int(r.people),
            }
            for r in safe.itertuples()
        ]
    return out


def model_card_summary(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """What the pages show of the model card ``joinedup risk train`` wrote to ``folder``:
    the validation year's discrimination (AUROC with 95% CI) and calibration (observed
    against expected admission rate, the calibration plot) for the model and its two
    comparators, and how it was built (``meta``: the model's ``model.json``)."""
    folder = Path(folder)
    comparison: list[dict[str, Any]] = []
    validation = None
    csv = folder / "model-card.csv"
    if csv.exists():
        table = pd.read_csv(csv)
        table = table[table["table"] == "comparison"]
        for r in table.to_dict("records"):
            comparison.append(
                {
                    "model": MODEL_NAMES.get(r["model"], r["model"]),
                    "auroc": r["auroc"],
                    "auroc_lower": r["auroc_lower"],
                    "auroc_upper": r["auroc_upper"],
                    "brier": r["brier"],
                    "observed_percent": 100 * r["observed"],
                    "expected_percent": 100 * r["expected"],
                    "ppv_top_1_percent": 100 * r["ppv_top_0.01"],
                    "sensitivity_top_5_percent": 100 * r["sensitivity_top_0.05"],
                }
            )
        if len(table):
            counts = pd.DataFrame(
                {"people": [int(table["n"].iloc[0])], "admitted": [int(table["events"].iloc[0])]}
            )
            safe = suppress(counts, ["people", "admitted"]).frame.iloc[0]
            validation = {k: None if pd.isna(v) else int(v) for k, v in safe.items()}
    png = folder / "calibration.png"
    calibration = (
        "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
        if png.exists()
        else None
    )
    return {
        "trained_as_of": meta.get("trained_as_of"),
        "validated_as_of": meta.get("validated_as_of"),
        "outcome": meta.get("outcome"),
        "rounds": meta.get("rounds"),
        "validation": validation,
        "comparison": comparison,
        "calibration_png": calibration,
    }


class PopulationFigures(Base):
    """Population, segments, risk and the model card in
    :class:`~joinedup.published.figures.Figures`."""

    def census_day(self) -> date:
        """The day the registered population is counted on: the newest day of A&E or
        admitted-care data (the practice views' end of data)."""
        from joinedup.practice.feed import feed_window

        return self.figure("census-day", lambda: feed_window(self.wh, 1)[1])

    def population(self) -> dict[str, Any]:
        """Registered population on :meth:`census_day`, by footprint (suppressed)."""
        return self.figure(
            "population", population_summary, self.wh, self.census_day(), persist=True
        )

    def pyramid(self, practice_code: str | None = None) -> pd.DataFrame:
        """People by five-year age band and sex on :meth:`census_day`, for the
        partnership or one practice, suppressed on both margins."""
        if practice_code is not None:
            return self.practice_profile(practice_code).pyramid
        return self.figure("pyramid", age_sex_pyramid, self.wh, self.census_day(), persist=True)

    def risk_model(self) -> Any | None:
        """The trained risk model (``joinedup.risk.model.RiskModel``), loaded once; None
        if there is none or it cannot be used (:attr:`risk_model_problem` says why)."""
        with self._lock:
            if "model" not in self._people:
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
                self._people["model"], self._people["model_problem"] = model, problem
            return self._people["model"]

    @property
    def risk_model_problem(self) -> str | None:
        """Why there is no risk model (None when it loaded)."""
        self.risk_model()
        return self._people["model_problem"]

    def scored(self) -> pd.DataFrame | None:
        """Everyone registered at the end of the data with their risk features and the
        model's ``risk``, ``rank`` and ``percentile``; None without a model.
        Person-level: kept in memory, never shown, only summarised."""
        from joinedup.risk.model import score_people

        model = self.risk_model()
        if model is None:
            return None
        return self.person_level("scored", score_people, model)

    def people(self) -> pd.DataFrame:
        """Everyone registered at the end of the data with features, Bridges to Health
        ``segment`` and, with a model, ``risk`` and Kaiser ``tier``. Person-level."""

        def segmented(wh: Warehouse) -> pd.DataFrame:
            from joinedup.risk.segments import segment_people, with_segments

            scored = self.scored()
            if scored is not None:
                return segment_people(scored)
            from joinedup.risk.features import data_end
            from joinedup.risk.model import design

            frame = design(wh, data_end(wh), outcome=False)
            return with_segments(ibis.memtable(frame)).to_pyarrow().to_pandas()

        return self.person_level("people", segmented)

    def _population_tables(self) -> dict[str, Any]:
        """Segments and tiers by footprint (with the partnership), the risk distribution
        and each practice's tiers, suppressed, from one segmentation of the population."""

        def build() -> dict[str, Any]:
            from joinedup.risk.segments import segment_summary

            people = self.people()
            tier = "tier" in people
            return {
                "segment": segment_summary(people, "footprint", "segment").frame,
                "tier": segment_summary(people, "footprint", "tier").frame if tier else None,
                "risk": risk_distribution(people) if tier else None,
                "practice_tiers": practice_tiers(people) if tier else None,
                "as_of": pd.Timestamp(people["index_date"].iloc[0]).date().isoformat(),
            }

        return self.figure("population-tables", build, persist=True)

    def segments(self, kind: str = "segment", by: str = "footprint") -> pd.DataFrame | None:
        """People, activity and cost per area of ``by`` (footprint or practice, with the
        partnership as area ``ALL``) and Bridges to Health segment (``kind="segment"``)
        or Kaiser tier (``"tier"``, None without a risk model): the one segment table,
        ``risk.segments.segment_summary``."""
        if kind not in ("segment", "tier"):
            raise ValueError(f"kind must be 'segment' or 'tier', got {kind!r}")
        if by == "footprint":
            return self._population_tables()[kind]
        if by != "practice":
            raise ValueError(f"by must be 'footprint' or 'practice', got {by!r}")

        def build() -> pd.DataFrame | None:
            from joinedup.risk.segments import segment_summary

            people = self.people()
            return None if kind not in people else segment_summary(people, by, kind).frame

        return self.figure(f"segments:{kind}:{by}", build, persist=True)

    def risk_distribution(self) -> pd.DataFrame | None:
        """People by band of predicted risk, suppressed; None without a risk model."""
        return self._population_tables()["risk"]

    def segments_as_of(self) -> str:
        """The date the population is segmented (and scored) at, ISO."""
        return self._population_tables()["as_of"]

    def casefinding_tiers(self, practice_code: str) -> list[dict[str, Any]] | None:
        """The practice's registered people in each Kaiser tier (level 3 first),
        suppressed; None without a risk model."""
        tiers = self._population_tables()["practice_tiers"]
        if tiers is None:
            return None
        return tiers.get(practice_code, [])

    def model_card(self) -> dict[str, Any] | None:
        """The risk model's card in brief (AUROC, calibration, comparators), or None."""
        model = self.risk_model()
        if model is None:
            return None
        return self.figure("model-card", model_card_summary, self.risk_model_path, model.meta)
