"""Evaluation of a place-based programme: units (practices, clusters or footprints) that
start on different dates, compared with units that have not started yet or never do.

A place-based programme (integrated neighbourhood teams, a cluster's new service) is
not joined person by person; it starts in a place, and everybody registered there is
exposed from that date. Its rollout is the ``programme_rollout`` table: one row per unit
with its start date. The outcome is counted per unit and calendar month over the
registered population it concerns (by default emergency admissions of people aged 65
and over, with their person-years as exposure).

**Design: the imputation estimator** (Borusyak, Jaravel and Spiess 2024), in its
Poisson form (Wooldridge 2023) so that the answer is a rate ratio:

1. Fit ``log E[admissions] = unit + month + log(person-years)`` by maximum likelihood
   on the *untreated* unit-months only: every month of units that never start, and the
   months before the start of those that do.
2. For every treated unit-month, impute the admissions it would have had without the
   programme from its unit's and month's effects.
3. The rate ratio is the treated unit-months' admissions over their imputed admissions;
   by months since start (in three-month steps) it is the event study.

Because the counterfactual comes only from untreated unit-months, units that started
earlier are never used as comparisons for those that start later (the flaw of the
two-way fixed-effects regression with staggered starts: Goodman-Bacon 2021), and the
effect may differ between units and over time. It assumes **parallel trends**: without
the programme each unit's admission rate would have moved from month to month by the
same ratio as every other unit's; and **no anticipation**: nothing changed before the
start date.

**Tests of the design.**

- *Event study before the start*: the same model on untreated unit-months, with a term
  for each three-month step in the year before a unit's start; each term is a rate
  ratio that should be 1, and a Wald test (Hotelling's F with the jackknife's covariance)
  tests them together: the pre-trend test.
- *Placebo in time*: every started unit is given a start 12 months before its real one;
  its months from then on are cut at the real start, and the same estimator is applied.
  It should find nothing. (Units with fewer than three months of data before the
  pretended start are left out of it: their effect cannot be estimated.)
- The verdict (:func:`joinedup.risk.verdict.judge`) is "inconclusive" if the placebo's
  95% interval excludes 1 or the pre-trend test rejects at 5%.

**Interval.** The jackknife over units: the whole estimate, its placebo and its event
study are recomputed leaving out each unit in turn; 95% intervals on the log scale with
t quantiles on G - 1 degrees of freedom (G units). Units are the clusters, so
correlation within a unit over time is allowed for. With 30 units a cluster bootstrap's
percentile intervals were too narrow (in 80 panels with the truth known: 91% coverage,
the pre-trend test rejecting 14% and the placebo 9% of sound designs); the jackknife
gave 94%, 7.5% and 1% (tests/risk/test_place.py's panels; docs/evaluation.md).

The synthetic control for a single unit (with placebo-in-space inference) is in
:mod:`joinedup.risk.synthetic_control`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd

from joinedup.risk.evalue import e_values
from joinedup.risk.power import minimum_detectable
from joinedup.risk.verdict import ALPHA, Check, judge, rounded
from joinedup.schema import codes
from joinedup.warehouse import Warehouse

#: The levels a rollout may be given at, and the column of ``persons`` that names them.
LEVELS = {"practice": "practice_code", "cluster": "cluster_code", "footprint": "footprint_code"}
#: Event-study steps (months) and how far before the start it looks.
STEP_MONTHS = 3
LEAD_MONTHS = 12
PLACEBO_MONTHS = 12
MIN_PRE_MONTHS = 3
DEFAULT_MIN_AGE = 65
OUTCOME_LABEL = "emergency admissions of people aged {age} and over"


def place_programmes(wh: Warehouse) -> list[str]:
    """Names of the place-based programmes (those with a rollout)."""
    if not wh.has_table("programme_rollout"):
        return []
    t = wh.table("programme_rollout")
    return sorted(t.select("programme").distinct().to_pyarrow().column(0).to_pylist())


def rollout(wh: Warehouse, programme: str) -> tuple[str, pd.DataFrame]:
    """The programme's level and its units' start dates (``unit``, ``started_on``).
    ValueError when it has no rollout or mixes levels."""
    t = wh.table("programme_rollout").filter(ibis._.programme == programme)
    frame = t.to_pyarrow().to_pandas()
    if frame.empty:
        raise ValueError(f"programme {programme!r} has no rollout in programme_rollout")
    levels = sorted(frame.unit_level.unique())
    if len(levels) != 1 or levels[0] not in LEVELS:
        raise ValueError(
            f"programme {programme!r}: its rollout must be at one level of "
            f"{', '.join(LEVELS)}; found {', '.join(levels)}"
        )
    units = frame.rename(columns={"unit_code": "unit"})[["unit", "started_on"]]
    units["started_on"] = pd.to_datetime(units.started_on)
    return levels[0], units.sort_values(["started_on", "unit"]).reset_index(drop=True)


def area_panel(wh: Warehouse, level: str, min_age: int = DEFAULT_MIN_AGE) -> pd.DataFrame:
    """Emergency admissions and person-years of people aged ``min_age`` and over, per
    unit (of ``level``) and calendar month, counted in the warehouse.

    A person belongs to the unit of their registered practice; their person-time in a
    month runs from registration (or the month's start) to leaving, death or the month's
    end, in the months of the calendar years in which they are ``min_age`` or over (age
    is whole years from year of birth, as everywhere in joinedup). Admissions count in
    the month they start, for people registered and of age on the day. Only whole
    months of the data are used. Columns: ``unit``, ``month`` (first day), ``admissions``,
    ``person_years``.
    """
    from joinedup.derived.persons import persons
    from joinedup.measures.periods import periods_between
    from joinedup.risk.features import data_end

    column = LEVELS[level]
    s = wh.table("apc_spell")
    first = pd.Timestamp(s.admitted_on.min().execute()).date()
    end = data_end(wh)
    whole = periods_between(first, end - timedelta(days=1), "month")
    if not whole:
        raise ValueError("the data hold no whole calendar month")
    months = [m.start for m in whole]
    last = pd.Timestamp(whole[-1].end + timedelta(days=1))
    bounds = pd.DataFrame({"month": months, "month_end": [*months[1:], last.date()]})
    p = persons(wh).select("person_id", "year_of_birth", unit=column)
    reg = wh.table("person").select(
        "person_id", "registered_from", "registered_to", "date_of_death"
    )
    p = p.inner_join(reg, "person_id").filter(
        ibis._.year_of_birth <= months[-1].year - min_age, ibis._.unit.notnull()
    )
    m = ibis.memtable(bounds)
    x = p.cross_join(m)
    x = x.filter(x.month.year() - x.year_of_birth >= min_age)
    stop = ibis.least(
        x.month_end,
        x.registered_to.fill_null(x.month_end),
        x.date_of_death.fill_null(x.month_end),
    )
    begin = ibis.greatest(x.month, x.registered_from)
    days = stop.delta(begin, unit="day")
    x = x.mutate(days=ibis.greatest(days, 0))
    time = x.group_by(["unit", "month"]).aggregate(days=x.days.sum())

    e = s.filter(
        s.admission_method.isin(codes.EMERGENCY_METHODS)
        & (s.admitted_on >= months[0])
        & (s.admitted_on < last.date())
    )
    e = e.inner_join(p, "person_id")
    e = e.filter(
        (e.admitted_on.year() - e.year_of_birth >= min_age)
        & (e.registered_from <= e.admitted_on)
        & (e.registered_to.isnull() | (e.registered_to > e.admitted_on))
    )
    e = e.mutate(month=e.admitted_on.truncate("M"))
    counts = e.group_by(["unit", "month"]).aggregate(admissions=e.count())

    t = time.to_pyarrow().to_pandas()
    c = counts.to_pyarrow().to_pandas()
    for f in (t, c):
        f["month"] = pd.to_datetime(f["month"]).dt.normalize()
    out = t.merge(c, on=["unit", "month"], how="left")
    out["admissions"] = out["admissions"].fillna(0).astype(np.int64)
    out["person_years"] = out.pop("days").astype(float) / 365.25
    out = out[out.person_years > 0]
    return out.sort_values(["unit", "month"]).reset_index(drop=True)


# --- The estimator ---------------------------------------------------------------------


def poisson_fe(
    y: np.ndarray,
    exposure: np.ndarray,
    factors: list[np.ndarray],
    *,
    tol: float = 1e-9,
    max_iter: int = 10_000,
) -> list[np.ndarray]:
    """Maximum-likelihood effects of a Poisson model ``log E[y] = sum of factor effects +
    log(exposure)`` with categorical factors only.

    ``factors`` are integer codes (0..L-1) per observation; code -1 means "no level"
    (the reference, effect 0). Fitted by cycling through the factors, setting each
    level's effect so its fitted total equals its observed total: these are the
    likelihood equations of such a model, so the fixed point is the MLE (iterative
    proportional fitting). Returns one array of log effects per factor; a level with no
    observations is NaN, and one whose observed total is 0 is -inf.
    """
    y = np.asarray(y, float)
    eta = np.log(np.asarray(exposure, float))
    rows = [np.flatnonzero(f >= 0) for f in factors]
    codes = [f[r] for f, r in zip(factors, rows, strict=True)]
    sizes = [int(c.max()) + 1 if len(c) else 0 for c in codes]
    observed = [np.bincount(c, weights=y[r], minlength=n)
                for c, r, n in zip(codes, rows, sizes, strict=True)]  # fmt: skip
    present = [np.bincount(c, minlength=n) > 0 for c, n in zip(codes, sizes, strict=True)]
    effects = [np.zeros(n) for n in sizes]
    with np.errstate(divide="ignore"):
        log_observed = [np.log(o) for o in observed]
    for _ in range(max_iter):
        moved = 0.0
        for j in range(len(factors)):
            fitted = np.bincount(codes[j], weights=np.exp(eta[rows[j]]), minlength=sizes[j])
            ok = present[j] & (fitted > 0)
            step = np.zeros(sizes[j])
            step[ok] = log_observed[j][ok] - np.log(fitted[ok])
            zero = ok & ~np.isfinite(step)
            # A level with no events: its effect goes to -inf; stop it at a rate so
            # small it changes nothing (exp(-50)) so the others still converge.
            step[zero] = -50.0 - effects[j][zero]
            moved = max(moved, float(np.abs(step[ok & ~zero]).max(initial=0.0)))
            effects[j] += step
            eta[rows[j]] += step[codes[j]]
        if moved < tol:
            break
    for eff, pres, obs in zip(effects, present, observed, strict=True):
        eff[pres & (obs == 0)] = -np.inf
        eff[~pres] = np.nan
    return effects


@dataclass
class _Cells:
    """The panel as arrays: one row per unit-month."""

    unit: np.ndarray  # int codes
    month: np.ndarray  # int codes 0..T-1
    y: np.ndarray
    exposure: np.ndarray
    start: np.ndarray  # the unit's start month code, or a large number if never


NEVER = 1_000_000


def _imputed(c: _Cells, fit: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit unit and month effects on ``fit`` cells; (observed, imputed) for ``target``
    cells (NaN where the unit or month could not be estimated)."""
    a, g = poisson_fe(c.y[fit], c.exposure[fit], [c.unit[fit], c.month[fit]])
    au = np.full(c.unit.max() + 1, np.nan)
    au[: len(a)] = a
    gm = np.full(c.month.max() + 1, np.nan)
    gm[: len(g)] = g
    mu = c.exposure[target] * np.exp(au[c.unit[target]] + gm[c.month[target]])
    return c.y[target], mu


def _ratio(y: np.ndarray, mu: np.ndarray) -> float:
    ok = np.isfinite(mu)
    den = mu[ok].sum()
    return float(y[ok].sum() / den) if den > 0 else math.nan


def _estimates(c: _Cells, horizon: int) -> dict[str, float]:
    """Every figure of one (re)sample: overall rate ratio, placebo, event study (post
    steps from the imputation, pre steps from the model with lead terms)."""
    rel = c.month - c.start
    treated = rel >= 0
    out: dict[str, float] = {}
    y, mu = _imputed(c, ~treated, treated)
    out["overall"] = _ratio(y, mu)
    steps = rel[treated] // STEP_MONTHS
    for k in range(0, horizon // STEP_MONTHS + 1):
        sel = steps == k
        out[f"post{k}"] = _ratio(y[sel], mu[sel]) if sel.any() else math.nan
    # Placebo in time: pretend each started unit started PLACEBO_MONTHS earlier.
    fake = c.start - PLACEBO_MONTHS
    keep = ~treated & ((c.start >= NEVER) | (fake >= MIN_PRE_MONTHS))
    sub = _Cells(c.unit[keep], c.month[keep], c.y[keep], c.exposure[keep], c.start[keep])
    p_treated = (sub.month >= sub.start - PLACEBO_MONTHS) & (sub.start < NEVER)
    py, pmu = _imputed(sub, ~p_treated, p_treated)
    out["placebo"] = _ratio(py, pmu)
    out["placebo_events"] = float(py.sum())
    # Lead terms: untreated cells in the LEAD_MONTHS before the start, in steps.
    lead = np.where((rel < 0) & (rel >= -LEAD_MONTHS), (rel + LEAD_MONTHS) // STEP_MONTHS, -1)
    u = ~treated
    effects = poisson_fe(c.y[u], c.exposure[u], [c.unit[u], c.month[u], lead[u]])
    for j in range(LEAD_MONTHS // STEP_MONTHS):
        b = effects[2][j] if j < len(effects[2]) else math.nan
        out[f"lead{j}"] = float(math.exp(b)) if np.isfinite(b) else math.nan
    return out


def _cells(panel: pd.DataFrame, units: pd.DataFrame) -> tuple[_Cells, list, list]:
    unit_names = sorted(panel.unit.unique())
    months = sorted(panel.month.unique())
    ucode = {u: i for i, u in enumerate(unit_names)}
    mcode = {m: i for i, m in enumerate(months)}
    start_of = dict(zip(units.unit, units.started_on, strict=True))
    starts = np.full(len(unit_names), NEVER)
    for u, i in ucode.items():
        s = start_of.get(u)
        if s is not None and not pd.isna(s):
            # Start month: the month holding the start date (a mid-month start counts
            # from that month, the first month of exposure).
            key = pd.Timestamp(s).to_period("M").to_timestamp()
            if key in mcode:
                starts[i] = mcode[key]
            elif key < months[0]:
                starts[i] = -NEVER  # started before the data: no untreated months
            # started after the data: never within it
    c = _Cells(
        panel.unit.map(ucode).to_numpy(),
        panel.month.map(mcode).to_numpy(),
        panel.admissions.to_numpy(float),
        panel.person_years.to_numpy(float),
        starts[panel.unit.map(ucode).to_numpy()],
    )
    return c, unit_names, months


@dataclass
class _Spread:
    """Standard errors and covariance of every figure's log, with their degrees of
    freedom (from the jackknife over units)."""

    keys: list[str]
    se: np.ndarray
    cov: np.ndarray
    df: int

    def bounds(self, key: str, point: dict[str, float]) -> tuple[float, float]:
        """The 95% interval of ``key`` (t with ``df`` degrees of freedom, log scale)."""
        from scipy import stats

        j = self.keys.index(key)
        v = point[key]
        if not (math.isfinite(v) and v > 0 and math.isfinite(self.se[j])):
            return math.nan, math.nan
        t = stats.t.ppf(1 - ALPHA / 2, self.df)
        return math.exp(math.log(v) - t * self.se[j]), math.exp(math.log(v) + t * self.se[j])

    def wald(self, keys: list[str], point: dict[str, float]) -> tuple[float, int, float]:
        """Wald statistic, its degrees of freedom and p-value for "every one of ``keys``
        is 1": Hotelling's T-squared with the covariance from G units, F(q, G - q)."""
        from scipy import stats

        cols = [self.keys.index(k) for k in keys]
        b = np.log(np.array([point[k] for k in keys]))
        keep = np.isfinite(b)
        cov = self.cov[np.ix_(cols, cols)][np.ix_(keep, keep)]
        q = int(keep.sum())
        if q == 0 or not np.all(np.isfinite(cov)) or self.df < q:
            return math.nan, 0, math.nan
        chi2 = float(b[keep] @ np.linalg.pinv(cov) @ b[keep])
        g = self.df + 1
        f = chi2 * (g - q) / (q * (g - 1))
        return chi2, q, float(stats.f.sf(f, q, g - q))


def _jackknife(c: _Cells, horizon: int, keys: list[str]) -> _Spread:
    """Leave-one-unit-out estimates of every figure: the jackknife's standard errors and
    covariance of their logs, with G - 1 degrees of freedom for G units. With few units
    a cluster bootstrap's percentile intervals are too narrow (91% coverage and a
    pre-trend test rejecting 14% of sound designs at 30 units, in the tests' panels);
    the jackknife is the conservative small-sample choice (CR3 in the cluster-robust
    family; MacKinnon, Nielsen and Webb 2023)."""
    units = np.unique(c.unit)
    est = np.full((len(units), len(keys)), np.nan)
    for i, u in enumerate(units):
        keep = c.unit != u
        sub = _Cells(c.unit[keep], c.month[keep], c.y[keep], c.exposure[keep], c.start[keep])
        if not (sub.start < NEVER).any() or not (sub.start >= NEVER).any():
            continue
        e = _estimates(sub, horizon)
        est[i] = [e[k] for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(est)
    g = len(units)
    dev = logs - np.nanmean(logs, axis=0)
    ok = np.all(np.isfinite(dev), axis=0)
    se = np.full(len(keys), np.nan)
    se[ok] = np.sqrt((g - 1) / g * np.nansum(dev[:, ok] ** 2, axis=0))
    d = np.where(np.isfinite(dev), dev, 0.0)
    cov = (g - 1) / g * d.T @ d
    cov[~ok, :] = np.nan
    cov[:, ~ok] = np.nan
    return _Spread(keys, se=se, cov=cov, df=g - 1)


@dataclass
class PlaceEvaluation:
    """The result of :func:`evaluate_place`."""

    programme: str
    level: str
    min_age: int
    rate_ratio: float
    lower: float
    upper: float
    placebo: Check
    pre_trend: dict
    event_study: list[dict]
    units_started: int
    units_never: int
    units_started_after_data: int
    admissions_treated: int
    imputed_treated: float
    first_month: date
    last_month: date
    starts: list[dict]
    verdict: object = None
    e_value: object = None
    detectable: object = None
    synthetic_control: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The outcome in words."""
        return OUTCOME_LABEL.format(age=self.min_age)

    def as_dict(self) -> dict:
        """The JSON document ``joinedup evaluate --format json`` prints for a
        place-based programme."""
        r = rounded
        v = self.verdict
        return {
            "programme": self.programme,
            "kind": "place",
            "level": self.level,
            "outcome": "emergency_admissions",
            "outcome_label": self.label,
            "min_age": self.min_age,
            "rate_ratio": r(self.rate_ratio),
            "lower": r(self.lower),
            "upper": r(self.upper),
            "verdict": v.verdict,
            "verdict_headline": v.headline,
            "verdict_sentence": v.sentence,
            "verdict_reasons": v.reasons,
            "caveats": v.caveats,
            "placebo": self.placebo.as_dict(),
            "pre_trend": self.pre_trend,
            "negative_controls": [],
            "falsification_tests": [self.placebo.as_dict()],
            "e_value": self.e_value.as_dict()["point"],
            "e_value_interval": self.e_value.as_dict()["limit"],
            "minimum_detectable": self.detectable.as_dict(),
            "event_study": self.event_study,
            "units_started": self.units_started,
            "units_never_started": self.units_never,
            "units_started_after_data": self.units_started_after_data,
            "admissions_treated": self.admissions_treated,
            "expected_without_programme": r(self.imputed_treated, 1),
            "first_month": self.first_month.isoformat(),
            "last_month": self.last_month.isoformat(),
            "starts": self.starts,
            "synthetic_control": self.synthetic_control,
            "method": METHOD,
            "assumptions": ASSUMPTIONS,
            "falsification_rule": RULE,
            "notes": self.notes,
        }


METHOD = (
    "imputation difference-in-differences for staggered starts (Borusyak, Jaravel and "
    "Spiess 2024) in Poisson form: unit and month effects fitted on untreated unit-months "
    "(never-started units, and started units before their start) with person-years as "
    "exposure; each treated unit-month's admissions set against those imputed from its "
    "effects; 95% interval from the jackknife over units (t on G - 1 degrees of freedom)"
)
ASSUMPTIONS = [
    "Parallel trends: without the programme, every unit's admission rate would have moved "
    "from month to month by the same ratio as the others'.",
    "No anticipation: nothing changed in a unit before its start date because of the programme.",
    "Nothing else started in the same units on the same dates (another service, a change "
    "of practice boundaries).",
    "Units do not affect each other: people are counted at their own practice, and a "
    "team's work does not spill into the comparison units.",
]
RULE = (
    "inconclusive if the placebo in time (starts moved 12 months earlier) has a 95% "
    "interval excluding 1, or the pre-trend test (the event study's terms for the year "
    "before the start, together) rejects at 5%"
)


def evaluate_place(
    wh: Warehouse,
    programme: str,
    *,
    min_age: int = DEFAULT_MIN_AGE,
) -> PlaceEvaluation:
    """Evaluate a place-based ``programme`` (see the module docstring). ValueError when
    it has no rollout, no unit starts within the data or no unit is left untreated."""
    level, units = rollout(wh, programme)
    panel = area_panel(wh, level, min_age)
    return evaluate_panel(panel, units, programme=programme, level=level, min_age=min_age)


def evaluate_panel(
    panel: pd.DataFrame,
    units: pd.DataFrame,
    *,
    programme: str,
    level: str = "practice",
    min_age: int = DEFAULT_MIN_AGE,
) -> PlaceEvaluation:
    """The area-level evaluation of a panel (``unit``, ``month``, ``admissions``,
    ``person_years``, as :func:`area_panel` gives) and its rollout (``unit``,
    ``started_on``): what :func:`evaluate_place` does once the panel is counted."""
    units = units.assign(started_on=pd.to_datetime(units.started_on))
    panel = panel.assign(month=pd.to_datetime(panel.month))
    c, unit_names, months = _cells(panel, units)
    unit_start = np.full(len(unit_names), NEVER)
    unit_start[c.unit] = c.start
    notes: list[str] = []
    before = int((unit_start < 0).sum())
    if before:
        # Units that started before the data have no untreated months: left out.
        keep = c.start >= 0
        c = _Cells(c.unit[keep], c.month[keep], c.y[keep], c.exposure[keep], c.start[keep])
        notes.append(f"{before} units started before the data and are left out")
    started = int(((unit_start >= 0) & (unit_start < NEVER)).sum())
    never = int((unit_start >= NEVER).sum())
    listed = set(units.unit)
    after = int(sum(1 for u in listed if u in unit_names) - started - before)
    if started == 0:
        raise ValueError(f"programme {programme!r}: no unit starts within the data")
    if c.month.max() - min(unit_start[unit_start >= 0]) < 0:
        raise ValueError(f"programme {programme!r}: no unit-month after a start")
    missing = sorted(listed - set(unit_names))
    if missing:
        notes.append(
            f"{len(missing)} units of the rollout have no registered people of that age: "
            + ", ".join(missing[:5])
            + ("..." if len(missing) > 5 else "")
        )
    horizon = int((c.month - c.start)[c.month >= c.start].max())
    point = _estimates(c, horizon)
    keys = list(point)
    spread = _jackknife(c, horizon, keys)
    lower, upper = spread.bounds("overall", point)
    p_lo, p_hi = spread.bounds("placebo", point)
    placebo = Check(
        outcome="placebo_in_time",
        label="the placebo in time",
        rate_ratio=point["placebo"],
        lower=p_lo,
        upper=p_hi,
        test_lower=p_lo,
        test_upper=p_hi,
        level=1 - ALPHA,
        events=point["placebo_events"],
    )
    lead_keys = [f"lead{j}" for j in range(LEAD_MONTHS // STEP_MONTHS)]
    chi2, df, p = spread.wald(lead_keys, point)
    pre_trend = {
        "chi2": rounded(chi2, 4),
        "df": df,
        "p_value": rounded(p, 4),
        "failed": bool(math.isfinite(p) and p < ALPHA),
        "test": "Wald test that the event study's terms for the "
        f"{LEAD_MONTHS} months before the start are all 1 (jackknife covariance over "
        "units, Hotelling's F reference)",
    }
    study = []
    for j, k in enumerate(lead_keys):
        lo, hi = spread.bounds(k, point)
        study.append(_step(-LEAD_MONTHS + j * STEP_MONTHS, point[k], lo, hi))
    for k in range(horizon // STEP_MONTHS + 1):
        lo, hi = spread.bounds(f"post{k}", point)
        study.append(_step(k * STEP_MONTHS, point[f"post{k}"], lo, hi))
    rel = c.month - c.start
    treated = rel >= 0
    y, mu = _imputed(c, ~treated, treated)
    starts = [
        {"unit": u, "started_on": s.date().isoformat()}
        for u, s in zip(units.unit, units.started_on, strict=True)
    ]
    result = PlaceEvaluation(
        programme=programme,
        level=level,
        min_age=min_age,
        rate_ratio=point["overall"],
        lower=lower,
        upper=upper,
        placebo=placebo,
        pre_trend=pre_trend,
        event_study=study,
        units_started=started,
        units_never=never,
        units_started_after_data=max(after, 0),
        admissions_treated=int(y.sum()),
        imputed_treated=float(mu[np.isfinite(mu)].sum()),
        first_month=months[0].date(),
        last_month=months[-1].date(),
        starts=starts,
        notes=notes,
    )
    result.e_value = e_values(result.rate_ratio, lower, upper)
    result.detectable = minimum_detectable(lower, upper, df=spread.df)
    from joinedup.risk.synthetic_control import synthetic_control

    try:
        result.synthetic_control = synthetic_control(panel, units)
    except ValueError as exc:
        notes.append(f"no synthetic control: {exc}")
    failures = []
    if pre_trend["failed"]:
        failures.append(
            f"the pre-trend test found the started units' admissions already moving apart "
            f"from the others' in the year before the start (p = {p:.3f})"
        )
    result.verdict = judge(
        result.rate_ratio,
        lower,
        upper,
        label=result.label,
        placebo=placebo,
        negative_controls=[],
        max_abs_smd=None,
        e_value=result.e_value,
        comparison="the units not yet started or never started",
        placebo_when="12 months before the programme started",
        failures=failures,
        exposure="the programme's start",
        detectable=result.detectable,
    )
    return result


def _step(months: int, rr: float, lo: float, hi: float) -> dict:
    return {
        "months_since_start": months,
        "months": f"{months} to {months + STEP_MONTHS - 1}",
        "rate_ratio": rounded(rr),
        "lower": rounded(lo),
        "upper": rounded(hi),
    }
