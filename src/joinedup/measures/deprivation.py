"""A measure's inequality by deprivation, per period: SII, RII and the Core20 gap.

The slope and relative indices of inequality are fitted to the measure's values in the
five IMD quintiles (:func:`joinedup.measures.inequality.sii`: population-weighted
regression on relative rank, the PHE/OHID method), each quintile's standard error
recovered from its own confidence interval as PHE does. A quintile nobody in the area
falls in (or, for a mean, with nothing counted) is left out of the fit, which needs
at least three; no index is given when any quintile is suppressed.

The Core20 gap compares the most deprived 20% (IMD quintile 1) with everyone else
(quintiles 2-5 pooled). Both figures come from the measure's own counts and method
(Byar's, Wilson, Dobson, t), small counts suppressed; their difference and ratio get
MOVER intervals from those limits (:func:`~joinedup.measures.inequality.mover_difference`,
:func:`~joinedup.measures.inequality.mover_ratio`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from joinedup.measures.definition import MeasureDefinition, MeasureError, load_library
from joinedup.measures.engine import Sources, aggregate_groupings
from joinedup.measures.inequality import mover_difference, mover_ratio, sii
from joinedup.measures.labels import UNIT_LABELS
from joinedup.measures.results import compute, finalise, opened_warehouse, resolve_ids
from joinedup.measures.stats import Estimate, z_value
from joinedup.warehouse import Warehouse

#: IMD quintile groups, most deprived first.
QUINTILES = ("1", "2", "3", "4", "5")
#: The fewest quintiles with figures that SII and RII are fitted to.
MIN_QUINTILES = 3
CORE20 = "Core20 (IMD quintile 1)"
REST = "rest (quintiles 2-5)"

COLUMNS = [
    "measure_id",
    "period",
    "period_start",
    "unit",
    "sii",
    "sii_lower",
    "sii_upper",
    "rii",
    "rii_lower",
    "rii_upper",
    "core20_value",
    "core20_lower",
    "core20_upper",
    "rest_value",
    "rest_lower",
    "rest_upper",
    "core20_gap",
    "core20_gap_lower",
    "core20_gap_upper",
    "core20_ratio",
    "core20_ratio_lower",
    "core20_ratio_upper",
    "note",
]


def inequality_for(
    warehouse: Warehouse | str | Path,
    measure: str | MeasureDefinition,
    period: str = "financial_year",
    *,
    confidence: float = 0.95,
    cache: Path | bool | None = None,
    library: dict[str, MeasureDefinition] | None = None,
) -> pd.DataFrame:
    """SII, RII and the Core20 gap of one measure, one row per period (``COLUMNS``).

    ``sii`` is in the measure's unit (the modelled value at the least deprived end
    minus that at the most deprived end: negative when the most deprived have more);
    ``rii`` is least / most deprived; ``core20_gap`` is Core20 minus the rest, in the
    measure's unit, and ``core20_ratio`` Core20 / rest. Limits are at ``confidence``;
    they are missing for measures without intervals (sums of a field). ``note`` says
    why a figure is missing. Raises :class:`MeasureError` for a measure that cannot be
    grouped by IMD quintile.
    """
    library = library if library is not None else load_library()
    d = measure if isinstance(measure, MeasureDefinition) else resolve_ids(library, [measure])[0]
    if "imd_quintile" not in d.groupings:
        raise MeasureError(
            f"measure {d.id!r} cannot be grouped by imd_quintile, so it has no inequality "
            f"indices; it allows: {', '.join(d.groupings)}"
        )
    levels = (confidence,)
    with opened_warehouse(warehouse) as wh:
        by_quintile = compute(
            wh, [d.id], "imd_quintile", period, levels=levels, cache=cache, library={d.id: d}
        )
        src = Sources.for_warehouse(wh, period, [d], ["imd_quintile"])
        try:
            counts = aggregate_groupings(src, d, ["imd_quintile"])
        finally:
            src.release()
    pooled = finalise(_core20_counts(counts), d, period, levels)
    rows = [
        _period_row(d, start, part, pooled[pooled["period_start"] == start], confidence)
        for start, part in by_quintile.groupby("period_start", sort=True)
    ]
    out = pd.DataFrame(rows, columns=COLUMNS)
    out.attrs.update(measure_id=d.id, title=d.title, unit=UNIT_LABELS[d.unit])
    out.attrs["confidence"] = confidence
    return out


def _core20_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Counts by IMD quintile to counts of the Core20 and the rest (people of unknown
    deprivation left out): every count of the engine adds up across groups."""
    f = counts[counts["group"].isin(QUINTILES)]
    f = f.assign(grouping="core20", group=np.where(f["group"] == "1", CORE20, REST))
    keys = [c for c in ("measure_id", "grouping", "period_start", "period", "group") if c in f]
    keys += ["esp_band"] if "esp_band" in f else []
    return f.groupby(keys, as_index=False, sort=False).sum(numeric_only=True)


def _period_row(
    d: MeasureDefinition,
    start: object,
    quintiles: pd.DataFrame,
    pooled: pd.DataFrame,
    confidence: float,
) -> dict[str, object]:
    """One period's indices from its results by quintile and by Core20 and the rest."""
    present = [g for g in QUINTILES if g in set(quintiles["group"])]
    q = quintiles.set_index("group").reindex(present)
    row: dict[str, object] = dict.fromkeys(COLUMNS, np.nan)
    row.update(
        measure_id=d.id,
        period=quintiles["period"].iloc[0],
        period_start=start,
        unit=d.unit,
    )
    notes = []
    if len(present) < len(QUINTILES):
        absent = [g for g in QUINTILES if g not in present]
        which = "quintile" if len(absent) == 1 else "quintiles"
        notes.append(f"nothing counted in IMD {which} {', '.join(absent)}")
    values = q["value"].astype("float64").to_numpy()
    weights = q["numerator" if d.kind == "mean" else "denominator"].astype("float64").to_numpy()
    if len(present) < MIN_QUINTILES:
        notes.append(f"no SII or RII from fewer than {MIN_QUINTILES} quintiles")
    elif np.isnan(values).any() or not (weights > 0).all():
        notes.append("a quintile is suppressed: no SII or RII")
    else:
        lower = q["lower"].astype("float64").to_numpy()
        upper = q["upper"].astype("float64").to_numpy()
        row.update(_indices(values, weights, lower, upper, confidence))
    by_group = pooled.set_index("group")
    nan = Estimate(np.nan, np.nan, np.nan, confidence, "none")
    core20, rest = (
        _estimate(by_group.loc[g], confidence) if g in by_group.index else nan
        for g in (CORE20, REST)
    )
    row.update(
        core20_value=core20.value,
        core20_lower=core20.lower,
        core20_upper=core20.upper,
        rest_value=rest.value,
        rest_lower=rest.lower,
        rest_upper=rest.upper,
    )
    if CORE20 not in by_group.index or REST not in by_group.index:
        notes.append("no Core20 gap: nothing counted in the Core20 or in the rest")
    elif np.isnan(core20.value) or np.isnan(rest.value):
        notes.append("no Core20 gap: the Core20 or the rest is suppressed")
    else:
        gap, ratio = mover_difference(core20, rest), mover_ratio(core20, rest)
        row.update(
            core20_gap=gap.value,
            core20_gap_lower=gap.lower,
            core20_gap_upper=gap.upper,
            core20_ratio=ratio.value if rest.value > 0 else np.nan,
            core20_ratio_lower=ratio.lower,
            core20_ratio_upper=ratio.upper,
        )
    row["note"] = "; ".join(notes)
    return row


def _indices(
    values: np.ndarray,
    weights: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    confidence: float,
) -> dict[str, float]:
    """SII and RII with limits; standard errors from each quintile's limits."""
    se = (upper - lower) / (2 * z_value(confidence))
    if np.isnan(se).any():  # no intervals (a summed field): the fitted line alone
        fit = sii(values, weights, se=np.zeros(len(values)), method="analytic")
        return {"sii": fit.sii.value, "rii": fit.rii.value}
    fit = sii(values, weights, se=se, confidence=confidence)
    return {
        "sii": fit.sii.value,
        "sii_lower": fit.sii.lower,
        "sii_upper": fit.sii.upper,
        "rii": fit.rii.value,
        "rii_lower": fit.rii.lower,
        "rii_upper": fit.rii.upper,
    }


def _estimate(row: pd.Series, confidence: float) -> Estimate:
    """A result row's value and limits (missing when suppressed) as an Estimate."""
    value, lower, upper = (_float(row[c]) for c in ("value", "lower", "upper"))
    return Estimate(value, lower, upper, confidence, "as the measure")


def _float(x: object) -> float:
    return float("nan") if x is None or pd.isna(x) else float(x)
