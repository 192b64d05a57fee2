"""Compute measures: counts from the engine, then values, intervals and suppression.

The Python API of the measure library::

    from joinedup.measures import compute, spc_for, headline

    results = compute("joinedup-data/warehouse.duckdb", ["emergency_admissions"],
                      by="practice", period="financial_year")
    chart = spc_for("joinedup-data/warehouse.duckdb", "emergency_admissions")
    chart.attrs["variation_icon"], chart.attrs["assurance_icon"]

Counting happens in the warehouse (:mod:`joinedup.measures.engine`); this module turns
counts into the published figures (:func:`finalise`) and suppresses small numbers before
anything is returned. Results are cached per data batch (:mod:`joinedup.measures.cache`).

Feedback measures with a ``response_base`` also carry ``responses`` (the answers behind
each figure), ``eligible`` (the base counted over the same period and group, e.g. A&E
attendances) and ``response_rate`` (responses per 100 eligible), see
:func:`response_base_counts`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from joinedup.derived import DETAILS_FROM_ACTIVITY, ESP2013_BANDS, has_register
from joinedup.measures import stats
from joinedup.measures.cache import MeasureCache
from joinedup.measures.definition import (
    GROUPINGS,
    PERIODS,
    POPULATION,
    MeasureDefinition,
    MeasureError,
    load_library,
)
from joinedup.measures.engine import Sources, aggregate_groupings
from joinedup.measures.labels import UNIT_LABELS
from joinedup.measures.periods import period_of
from joinedup.measures.suppression import hidden_cells
from joinedup.warehouse import Warehouse, open_warehouse

DAYS_PER_YEAR = 365.25
ESP_WEIGHTS = {label: weight for label, _lo, _hi, weight in ESP2013_BANDS}

#: Measures `joinedup demo` and the board pack lead with.
HEADLINE_MEASURES = (
    "emergency_admissions",
    "emergency_admissions_dsr",
    "emergency_admissions_65plus",
    "emergency_readmissions_30d",
    "emergency_mean_length_of_stay",
    "emergency_stays_21_days_plus",
    "ae_attendances",
    "ae_within_4_hours",
    "outpatient_dna_rate",
    "deaths_in_usual_place_of_residence",
    "gp_appointments_per_person",
    "acute_spend_per_head",
    "fft_positive_ae",
    "fft_positive_inpatient",
)

RESULT_COLUMNS = [
    "measure_id", "grouping", "group", "period", "period_start", "period_end",
    "numerator", "denominator", "value", "lower", "upper", "unit", "suppressed",
]  # fmt: skip
#: Added (before ``unit``) for measures with a response base.
RESPONSE_COLUMNS = ["responses", "eligible", "response_rate"]
#: Added (last) where people's details (age, sex, ethnic group, deprivation, practice)
#: came from activity records, there being no GP register: its value is
#: ``joinedup.derived.DETAILS_FROM_ACTIVITY`` (``labels.PERSON_DETAILS`` says it in words).
PERSON_DETAILS_COLUMN = "person_details"
#: A period has an eligible count only if the base's data start no later than this many
#: days after the period does (data starting on a weekend, say, lose no period).
BASE_START_GRACE_DAYS = 7
_KEYS = ["grouping", "period_start", "group"]


def base_first_day(src: Sources, d: MeasureDefinition) -> date | None:
    """The first day of the data behind ``d``'s response base in ``src``'s periods.

    None when there is no limit (no base, a population base, no events). Some sources
    start later than the data: discharge-dated stays leave out the first weeks (see
    ``joinedup.derived.events.apc_discharges``). A period that begins before its
    base's data would count only part of what its answers respond to, and overstate
    the rate.
    """
    base = d.response_base
    if base is None or base.source == POPULATION:
        return None
    return src.first_day(base.source)


def response_base_counts(
    src: Sources, d: MeasureDefinition, groupings: Sequence[str]
) -> pd.DataFrame:
    """The eligible count of ``d``'s response base per grouping, period and group.

    The base is counted as an ordinary measure (:attr:`MeasureDefinition.base_measure`)
    by the engine, over the same periods, for the groupings of ``groupings`` that the
    base allows a rate for. Periods that begin more than ``BASE_START_GRACE_DAYS``
    before the base's data (:func:`base_first_day`) are left out. Returns ``grouping``,
    ``period_start``, ``group`` and ``eligible`` (no rows without a response base or
    such a grouping).
    """
    base = d.base_measure
    allowed = d.response_base.groupings if d.response_base is not None else []
    wanted = [g for g in groupings if g in (allowed or [])]
    if base is None or not wanted:
        return pd.DataFrame(columns=[*_KEYS, "eligible"])
    frame = aggregate_groupings(src, base, wanted)
    first = base_first_day(src, d)
    if first is not None:
        starts = pd.to_datetime(frame["period_start"])
        frame = frame[starts + pd.Timedelta(days=BASE_START_GRACE_DAYS) >= pd.Timestamp(first)]
    return frame.assign(eligible=frame["denominator"].astype(float))[[*_KEYS, "eligible"]]


def with_eligible(counts: pd.DataFrame, eligible: pd.DataFrame) -> pd.DataFrame:
    """``counts`` (from the engine) with the ``eligible`` column of
    :func:`response_base_counts` beside it (missing where the base has no such group)."""
    if counts.empty:
        return counts.assign(eligible=pd.Series(dtype=float))
    merged = counts.merge(eligible, on=_KEYS, how="left", validate="many_to_one")
    merged["eligible"] = merged["eligible"].astype(float)
    return merged


def response_rates(responses: pd.Series, eligible: pd.Series) -> np.ndarray:
    """Responses per 100 eligible (missing where nothing or nobody is eligible)."""
    r = pd.to_numeric(responses, errors="coerce").astype(float).to_numpy()
    e = pd.to_numeric(eligible, errors="coerce").astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e > 0, 100 * r / e, np.nan)


def _level_suffix(level: float) -> str:
    """'' for the first level, '_998' for 0.998, '_99' for 0.99 ..."""
    return "_" + f"{level:.4f}".split(".")[1].rstrip("0")


@contextlib.contextmanager
def opened_warehouse(warehouse: Warehouse | str | Path) -> Iterator[Warehouse]:
    """``warehouse`` itself, or the warehouse file at that path opened read-only."""
    if isinstance(warehouse, Warehouse):
        yield warehouse
        return
    path = Path(warehouse)
    if not path.exists():
        raise MeasureError(f"no warehouse at {path}; build one with `joinedup synth`")
    with open_warehouse(path, read_only=True) as wh:
        yield wh


def _collapse_esp(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-band counts to per-group Dobson sums (bands with nobody in them drop out).

    The standard population covers the bands in scope: those with anyone in the
    denominator in that period over all groups (so a 65+ measure standardises to the
    65+ part of the ESP 2013, as Fingertips does).
    """
    f = frame.copy()
    f["w"] = f["esp_band"].map(ESP_WEIGHTS).astype(float)
    n = f["denominator"].astype(float)
    c = f["numerator"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["rate_sum"] = np.where(n > 0, f["w"] * c / n, 0.0)
        f["var_sum"] = np.where(n > 0, f["w"] ** 2 * c / n**2, 0.0)
    in_scope = f.groupby(["grouping", "period_start", "esp_band"])["denominator"].transform("sum")
    f["w_in_scope"] = np.where(in_scope > 0, f["w"], 0.0)
    keys = ["measure_id", "grouping", "period_start", "period", "group"]
    return f.groupby(keys, as_index=False, sort=False).agg(
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        rate_sum=("rate_sum", "sum"),
        var_sum=("var_sum", "sum"),
        w_total=("w_in_scope", "sum"),
    )


def _period_end(start: date, kind: str) -> date:
    return period_of(start, kind).end


def finalise(
    counts: pd.DataFrame,
    d: MeasureDefinition,
    kind: str,
    levels: Sequence[float] = (0.95,),
    parents: pd.DataFrame | None = None,
    suppression: bool = True,
) -> pd.DataFrame:
    """Values, confidence intervals and suppression from :func:`aggregate` counts.

    Rates are annualised (× 365.25 / days in the period) and scaled by the unit's
    multiplier; proportions are percentages (Wilson); rates and ratios of counts get
    Byar's / exact Poisson limits; means Student's t; standardised rates Dobson's
    (suppressed below 10 events). Sums of a field (cost, bed days) get no interval.
    ``lower``/``upper`` are at ``levels[0]``; further levels add ``lower_998`` etc.
    Counts 1-7 are suppressed with what derives from them, with secondary suppression
    across the groups of each period, the periods of each group and, for practices
    and clusters, the groups of each parent cluster or footprint. With a response base,
    ``responses``, ``eligible`` (from an ``eligible`` column of ``counts``, see
    :func:`with_eligible`) and ``response_rate`` are added; responses and eligible are
    counts like the others and the rate is suppressed with either.
    """
    if counts.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    f = _collapse_esp(counts) if d.standardisation == "esp2013" else counts
    f = f.reset_index(drop=True)
    period, starts = pd.factorize(f["period_start"], sort=True)  # codes in date order
    ends = [_period_end(s, kind) for s in starts]
    period_end = np.array(ends, dtype=object)[period]
    days = np.array([(e - s).days + 1 for s, e in zip(starts, ends, strict=True)])[period]
    annual = DAYS_PER_YEAR / days if d.kind == "rate" else np.ones(len(f))
    multiplier = d.multiplier
    sums_a_field = bool(d.numerator_count.value) and d.kind != "mean"
    out: dict[str, np.ndarray] = {}
    for i, level in enumerate(levels):
        suffix = "" if i == 0 else _level_suffix(level)
        if d.kind == "mean":
            est = stats.mean_ci(f["n"], f["total"], f["total_sq"], level)
        elif d.kind == "proportion":
            est = stats.proportion_ci(f["numerator"], f["denominator"], level)
            est = stats.Estimate(
                est.value * 100, est.lower * 100, est.upper * 100, level, est.method
            )
        elif d.standardisation == "esp2013":
            with np.errstate(divide="ignore", invalid="ignore"):  # empty groups give NaN
                est = stats.dsr_from_sums(
                    f["numerator"], f["rate_sum"], f["var_sum"], f["w_total"], multiplier, level
                )
            est = stats.Estimate(
                est.value * annual, est.lower * annual, est.upper * annual, level, est.method
            )
        else:  # crude rate, or ratio of two counts (limits from the numerator's count)
            est = stats.rate_ci(f["numerator"], f["denominator"], multiplier * annual, level)
        lower, upper = np.asarray(est.lower, float), np.asarray(est.upper, float)
        if sums_a_field:
            lower = upper = np.full(len(f), np.nan)
        if i == 0:
            out["value"] = np.asarray(est.value, float)
        out[f"lower{suffix}"], out[f"upper{suffix}"] = lower, upper
    # The result's columns as arrays (in f's order); the frame is built once, sorted.
    numbers: dict[str, np.ndarray] = {
        "numerator": (f["n"] if d.kind == "mean" else f["numerator"]).astype(float).to_numpy(),
        "denominator": np.full(len(f), np.nan)
        if d.kind == "mean"
        else f["denominator"].astype(float).to_numpy(),
        **out,
    }
    if d.response_base is not None:  # responses beside every figure, with their rate
        numbers["responses"] = numbers["numerator" if d.kind == "mean" else "denominator"]
        numbers["eligible"] = (
            f["eligible"].astype(float).to_numpy() if "eligible" in f else np.full(len(f), np.nan)
        )
        numbers["response_rate"] = response_rates(
            pd.Series(numbers["responses"]), pd.Series(numbers["eligible"])
        )
    figures = [c for c in numbers if c.startswith(("value", "lower", "upper"))]
    if d.min_responses:  # no figure from too few responses
        responses = numbers["numerator" if d.kind == "mean" else "denominator"]
        few = responses < d.min_responses
        for c in figures:
            numbers[c] = np.where(few, np.nan, numbers[c])
    # Sorted by grouping, period_start and group (age bands by age), missing last.
    keys = _Keys(
        *_sort_codes(f["grouping"]),
        period,
        *_sort_codes(f["group"], natural=True),
    )
    rows = np.lexsort((keys.group, keys.period, keys.grouping))
    numbers = {c: v[rows] for c, v in numbers.items()}
    data: dict[str, object] = {
        c: f[c].array.take(rows) for c in ("measure_id", "grouping", "group", "period")
    }
    data["period_start"] = f["period_start"].array.take(rows)
    data["period_end"] = period_end[rows]
    if suppression:
        events = f["numerator_events"].take(rows) if sums_a_field else None
        gone, suppressed = _suppress(numbers, figures, events, d, parents, keys.take(rows))
        for c, v in numbers.items():
            # As astype("Float64") makes it (NaN becomes NA), with hidden cells NA too.
            missing = np.isnan(v) | gone[c] if c in gone else np.isnan(v)
            data[c] = pd.arrays.FloatingArray(np.where(missing, 0.0, v), missing)
    else:
        data.update(numbers)
        suppressed = np.zeros(len(f), dtype=bool)
    res = pd.DataFrame(data)
    res["unit"] = d.unit
    res["suppressed"] = suppressed
    return res


class _Keys(NamedTuple):
    """Codes of a result's grouping, period and group (equal codes, equal values), and
    the grouping and group names the codes stand for (missing: the code after them)."""

    grouping: np.ndarray
    groupings: pd.Index
    period: np.ndarray
    group: np.ndarray
    groups: pd.Index

    def take(self, rows: np.ndarray) -> _Keys:
        return self._replace(
            grouping=self.grouping[rows], period=self.period[rows], group=self.group[rows]
        )


def _sort_codes(column: pd.Series, natural: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Codes in the order of the sorted values, missing values last, and the values.
    ``natural``: values that start with a number in the order of that number ("5-17"
    before "18-44", "9" before "10"), the others after them in text order."""
    codes, uniques = pd.factorize(column, sort=True)
    if natural and len(uniques):
        order = sorted(range(len(uniques)), key=lambda i: _natural(uniques[i]))
        rank = np.empty(len(order), dtype=np.intp)
        rank[order] = np.arange(len(order))
        codes = np.where(codes < 0, -1, rank[np.maximum(codes, 0)])
        uniques = uniques[order]
    return np.where(codes < 0, len(uniques), codes), uniques


def _natural(value: object) -> tuple[int, int, str]:
    """Sort key: a leading whole number compared as a number, then the text."""
    text = str(value)
    digits = len(text) - len(text.lstrip("0123456789"))
    return (0, int(text[:digits]), text) if digits else (1, 0, text)


def _suppress(
    numbers: dict[str, np.ndarray],
    figures: list[str],
    events: pd.Series | None,
    d: MeasureDefinition,
    parents: pd.DataFrame | None,
    keys: _Keys,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Hide counts 1-7 (and what derives from them), with secondary suppression.

    ``numbers`` are the result's numeric columns sorted by grouping, period and group
    (``keys`` codes those, row for row), ``figures`` the value and limit columns among
    them; ``events``, row for row, are the events behind a numerator that sums a field
    (None for other measures). Each grouping is a table of its own with totals over the
    groups of each period, the periods of each group and, for practices and clusters,
    the groups of each parent in each period. Returns the hidden cells of each column
    of ``numbers`` (absent: none) and whether each row's figure is suppressed: the cells
    :func:`~joinedup.measures.suppression.suppress` hides with those total groups, found
    on arrays (:func:`hidden_cells`) as its frame and log per grouping are slow.
    """
    n = len(keys.grouping)
    counts: dict[str, np.ndarray] = {}
    derived: dict[str, list[str]] = {}
    if events is not None:
        # The numerator is a sum (pounds, bed days); the events behind it are the count.
        counts["_events"] = pd.to_numeric(events).to_numpy(dtype=float)
        derived["_events"] = ["numerator", *figures]
    else:
        counts["numerator"] = numbers["numerator"]
        derived["numerator"] = figures
    den_is_count = d.kind != "mean" and not (d.denominator and d.denominator.value)
    if den_is_count:
        counts["denominator"] = numbers["denominator"]
        derived["denominator"] = figures
    # The columns whose hiding means the row's figure is suppressed.
    main = list(counts)
    if "responses" in numbers:
        # Responses repeat the denominator (or a mean's count) and eligible is a count of
        # events: both are hidden at 1-7, and the rate with either of them.
        same = "numerator" if d.kind == "mean" else "denominator"
        counts["responses"] = numbers["responses"]
        counts["eligible"] = numbers["eligible"]
        derived["responses"] = [same, *figures, "response_rate"]
        derived["eligible"] = ["response_rate"]
    small = np.zeros(n, dtype=bool)
    for v in counts.values():
        small |= (v >= 1) & (v <= 7)
    hidden = {c: np.zeros(n, dtype=bool) for c in counts}
    if small.any():
        # Sorted by grouping: each grouping's rows are one run.
        bounds = np.flatnonzero(np.diff(keys.grouping)) + 1
        for at in np.split(np.arange(n), bounds):
            if not small[at].any():  # nothing to hide, nothing to protect
                continue
            code = keys.grouping[at[0]]
            grouping = keys.groupings[code] if code < len(keys.groupings) else None
            period, group = keys.period[at], keys.group[at]
            totals = [_first_seen(period), _first_seen(group)]
            if parents is not None and grouping in ("practice", "cluster"):
                key = GROUPINGS[grouping]
                present, local = np.unique(group, return_inverse=True)
                known = [*keys.groups.tolist(), None]  # the code after them: missing
                names = [known[c] for c in present.tolist()]
                for parent in ("cluster_code", "footprint_code"):
                    if parent != key:
                        of = _parent_of(parents[key], parents[parent], names)
                        parent_code = pd.factorize(np.array(of, dtype=object))[0][local]
                        totals.append(_first_seen(period * (parent_code.max() + 1) + parent_code))
            found = hidden_cells({c: v[at] for c, v in counts.items()}, totals)
            for c, mask in found.items():
                hidden[c][at[mask]] = True
    # Everything derived from a hidden count goes with it.
    gone = {c: m.copy() for c, m in hidden.items()}
    for c, mask in hidden.items():
        for dcol in derived.get(c, ()):
            gone[dcol] = gone[dcol] | mask if dcol in gone else mask
    suppressed = np.zeros(n, dtype=bool)
    for c in main:
        suppressed |= gone[c]
    if "value" in gone:  # a figure hidden (with responses, say): the row is suppressed
        suppressed |= gone["value"] & ~np.isnan(numbers["value"])
    return gone, suppressed


def _parent_of(key: pd.Series, parent: pd.Series, names: list[object]) -> list[object]:
    """The ``parent`` of each of ``names`` by ``key`` (its first row), "unknown" when
    missing."""
    # Built backwards so that the first row of a key is the one kept.
    mapping = dict(zip(key.tolist()[::-1], parent.tolist()[::-1], strict=True))
    found = (mapping.get(name) for name in names)
    return ["unknown" if v is None or pd.isna(v) else v for v in found]


def _first_seen(codes: np.ndarray) -> np.ndarray:
    """Integer keys renumbered 0, 1, ... in order of first appearance (as ``ngroup``)."""
    return pd.factorize(codes)[0]


def resolve_ids(
    library: dict[str, MeasureDefinition], ids: Iterable[str] | None
) -> list[MeasureDefinition]:
    """The definitions of ``ids`` (every one when None); an unknown id is an error."""
    if ids is None:
        return list(library.values())
    out = []
    for mid in ids:
        if mid not in library:
            raise MeasureError(
                f"unknown measure {mid!r}; `joinedup measures list` shows the "
                f"{len(library)} measures defined"
            )
        out.append(library[mid])
    return out


def _groupings_for(d: MeasureDefinition, by: str | Sequence[str], explicit: bool) -> list[str]:
    wanted = list(GROUPINGS) if by == "all" else [by] if isinstance(by, str) else list(by)
    for g in wanted:
        if g not in GROUPINGS:
            raise MeasureError(f"unknown grouping {g!r}; expected one of {', '.join(GROUPINGS)}")
    allowed = [g for g in wanted if g in d.groupings]
    if explicit and len(allowed) < len(wanted):
        bad = next(g for g in wanted if g not in d.groupings)
        raise MeasureError(
            f"measure {d.id!r} cannot be grouped by {bad!r}; it allows: {', '.join(d.groupings)}"
        )
    return allowed


def compute(
    warehouse: Warehouse | str | Path,
    ids: Iterable[str] | None = None,
    by: str | Sequence[str] = "partnership",
    period: str | None = None,
    *,
    levels: Sequence[float] = (0.95,),
    cache: Path | bool | None = None,
    library: dict[str, MeasureDefinition] | None = None,
    suppression: bool = True,
) -> pd.DataFrame:
    """Compute measures: one row per measure, grouping, group and period.

    ``ids``: measure ids (default every measure in the library). ``by``: a grouping, a
    list of them, or "all" (each measure by every grouping it allows; a grouping a named
    measure does not allow is an error unless ``by`` is "all"). ``period``: month,
    quarter or financial_year (default each measure's own). ``levels``: confidence
    levels; the first gives ``lower``/``upper``, 0.998 adds ``lower_998``/``upper_998``.
    ``cache``: a folder, False to turn caching off, None for the default beside the
    warehouse. Returns the columns of ``RESULT_COLUMNS`` (plus extra levels, and
    ``RESPONSE_COLUMNS`` where a measure has a response base), with small counts
    suppressed (``suppression=False`` only for tests and in-warehouse use).

    A warehouse without a GP register (activity data only): ``ids`` default to the
    measures that need none (:attr:`MeasureDefinition.register_use`); a named one that
    does is a :class:`~joinedup.measures.definition.RegisterRequired` error. Every row
    then has ``person_details`` (``PERSON_DETAILS_COLUMN``): "activity", people's
    details came from activity records.
    """
    if period is not None and period not in PERIODS:
        raise MeasureError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
    library = library if library is not None else load_library()
    definitions = resolve_ids(library, ids)
    plan = [
        (d, _groupings_for(d, by, explicit=ids is not None and by != "all")) for d in definitions
    ]
    frames = []
    with opened_warehouse(warehouse) as wh:
        activity_only = not has_register(wh)
        if activity_only and ids is None:  # every measure the data allow
            plan = [(d, groupings) for d, groupings in plan if d.register_use is None]
        store = MeasureCache.for_warehouse(wh, cache)
        variant = json.dumps({"levels": list(levels), "suppression": suppression})
        sources: dict[str, Sources] = {}
        parents: pd.DataFrame | None = None
        for d, groupings in plan:
            kind = period or d.period
            stored = store.get(d, kind, variant)
            have = set() if stored is None else set(stored["grouping"])
            missing = [g for g in groupings if g not in have]
            if missing:
                if kind not in sources:
                    # Response bases are in the plan too: they read sources it shares.
                    sources[kind] = Sources.for_warehouse(
                        wh,
                        kind,
                        [
                            m
                            for p, _g in plan
                            if (period or p.period) == kind
                            for m in (p, p.base_measure)
                            if m is not None
                        ],
                        {g for _p, gs in plan for g in gs},
                    )
                if parents is None and {"practice", "cluster"} & set(missing):
                    parents = wh.table("practice").to_pandas()
                counts = aggregate_groupings(sources[kind], d, missing)
                if d.response_base is not None:
                    eligible = response_base_counts(sources[kind], d, missing)
                    counts = with_eligible(counts, eligible)
                fresh = finalise(counts, d, kind, levels, parents, suppression)
                if activity_only:  # say where people's details came from
                    fresh[PERSON_DETAILS_COLUMN] = DETAILS_FROM_ACTIVITY
                stored = fresh if stored is None else pd.concat([stored, fresh], ignore_index=True)
                store.put(d, kind, stored, variant)
            frames.append(stored[stored["grouping"].isin(groupings)])
        for src in sources.values():
            src.release()
    if not frames:
        columns = [*RESULT_COLUMNS, *([PERSON_DETAILS_COLUMN] if activity_only else [])]
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True).reset_index(drop=True)


def spc_for(
    warehouse: Warehouse | str | Path,
    measure: str | MeasureDefinition,
    by: str = "partnership",
    group: str | None = None,
    period: str | None = None,
    *,
    rebase_at: Sequence[int] | None = None,
    fix_after_n_points: int | None = None,
    cache: Path | bool | None = None,
    library: dict[str, MeasureDefinition] | None = None,
) -> pd.DataFrame:
    """XmR chart frame (Making Data Count) of one measure's series for one group.

    The measure's published values per ``period`` (default: the measure's own period)
    charted by :func:`spc_of`. ``group`` is required when ``by`` is not "partnership".
    """
    library = library if library is not None else load_library()
    d = measure if isinstance(measure, MeasureDefinition) else resolve_ids(library, [measure])[0]
    results = compute(warehouse, [d.id], by=by, period=period, cache=cache, library={d.id: d})
    return spc_of(results, d, by, group, rebase_at, fix_after_n_points)


def spc_of(
    results: pd.DataFrame,
    d: MeasureDefinition,
    by: str = "partnership",
    group: str | None = None,
    rebase_at: Sequence[int] | None = None,
    fix_after_n_points: int | None = None,
) -> pd.DataFrame:
    """The XmR chart frame of one group's series in ``results`` (rows of :func:`compute`
    for one measure, grouping and period kind): the one place a measure is charted.

    Runs :func:`joinedup.measures.spc.xmr` on the values in time order with the
    definition's direction of improvement and target. The frame's ``attrs`` hold
    ``variation_icon`` and ``assurance_icon`` plus ``measure_id``, ``title``, ``unit``
    (its label), ``group`` and ``grouping``. A series with any suppressed period is
    not charted (leaving out the small counts but keeping the zeros would bias the
    chart): :class:`MeasureError` says so, as it does for an unknown group.
    """
    from joinedup.measures.spc import xmr

    groups = sorted(results["group"].astype(str).unique())
    if group is None:
        if len(groups) != 1:
            raise MeasureError(
                f"measure {d.id!r} by {by} has {len(groups)} groups; name one "
                f"(--group in the CLI, group= in Python), e.g. {', '.join(groups[:5])}"
            )
        group = groups[0]
    series = results[results["group"].astype(str) == str(group)].sort_values("period_start")
    if series.empty:
        raise MeasureError(
            f"no group {group!r} in measure {d.id!r} by {by}; groups: {', '.join(groups[:20])}"
        )
    hidden = int(series["suppressed"].astype(bool).sum())
    if hidden:
        raise MeasureError(
            f"measure {d.id!r} for {group}: {hidden} of its {len(series)} periods are "
            "suppressed (counts 1-7), so it has no SPC chart (leaving them out would bias it)"
        )
    frame = xmr(
        series["value"].astype("float64").to_numpy(),
        improvement=d.direction,
        target=d.target,
        rebase_at=rebase_at,
        fix_after_n_points=fix_after_n_points,
        x=list(series["period"]),
    )
    frame.attrs.update(
        measure_id=d.id, title=d.title, unit=UNIT_LABELS[d.unit], group=group, grouping=by
    )
    return frame


def headline(
    warehouse: Warehouse | str | Path,
    ids: Sequence[str] = HEADLINE_MEASURES,
    *,
    cache: Path | bool | None = None,
    library: dict[str, MeasureDefinition] | None = None,
) -> pd.DataFrame:
    """The partnership's headline figures: latest financial year, latest period, SPC
    icons (:func:`headline_rows` of the measures' results)."""
    library = library if library is not None else load_library()
    defs = resolve_ids(library, ids)
    with opened_warehouse(warehouse) as wh:
        yearly = compute(wh, ids, "partnership", "financial_year", cache=cache, library=library)
        own = [
            compute(wh, [d.id], "partnership", d.period, cache=cache, library=library) for d in defs
        ]
    return headline_rows(defs, [yearly[yearly["measure_id"] == d.id] for d in defs], own)


def headline_rows(
    defs: Sequence[MeasureDefinition],
    yearly: Sequence[pd.DataFrame],
    own: Sequence[pd.DataFrame],
) -> pd.DataFrame:
    """One headline row per measure of ``defs`` from its partnership results by financial
    year (``yearly``) and by its own period (``own``), in the same order.

    Columns: ``measure_id``, ``title``, ``unit`` (as in the results) and ``unit_label``
    (how it reads), ``latest_year``,
    ``year_value`` (with ``year_lower``/``year_upper``), ``latest_period`` and
    ``period_value`` (the newest period of the measure's own kind, usually a month),
    ``variation_icon`` and ``assurance_icon`` (of the series of that kind: none when a
    period is suppressed), ``target``.
    """
    import warnings

    rows = []
    for d, y, m in zip(defs, yearly, own, strict=True):
        y = y.sort_values("period_start")
        m = m.sort_values("period_start")
        chart = None
        if len(m) and not m["suppressed"].any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # trial-limit advice is for `measures spc`
                chart = spc_of(m, d)
        rows.append(
            {
                "measure_id": d.id,
                "title": d.title,
                "unit": d.unit,
                "unit_label": UNIT_LABELS[d.unit],
                "latest_year": y["period"].iloc[-1] if len(y) else None,
                "year_value": y["value"].iloc[-1] if len(y) else pd.NA,
                "year_lower": y["lower"].iloc[-1] if len(y) else pd.NA,
                "year_upper": y["upper"].iloc[-1] if len(y) else pd.NA,
                "latest_period": m["period"].iloc[-1] if len(m) else None,
                "period_value": m["value"].iloc[-1] if len(m) else pd.NA,
                "variation_icon": chart.attrs["variation_icon"] if chart is not None else None,
                "assurance_icon": chart.attrs["assurance_icon"] if chart is not None else None,
                "target": d.target,
            }
        )
    return pd.DataFrame(rows)
