"""Evaluation of an intervention: matched comparison and difference-in-differences.

Who is enrolled in a programme is rarely random: case finding picks people after a bad
year, and a bad year is followed, on average, by a better one whatever is done
(regression to the mean). So the enrolled are compared with similar people who were
not enrolled, over the same calendar time:

1. **Index dates.** An enrolled person's index date is their enrolment date. Every
   person never enrolled in the programme gets one index date drawn at random from the
   enrolment dates, so the comparison pool has the same calendar spread.
2. **Eligibility.** Registered and alive on the index date and registered for the whole
   year before it; at least the youngest enrolled person's age and at least the fewest
   long-term conditions any enrolled person had (the programme's own criteria, read
   from the data).
3. **Propensity score.** A logistic regression of enrolment on pre-index features
   (age and its square, sex, deprivation, each long-term condition and their count,
   emergency admissions in the last 12 months and the last 90 days, emergency bed days,
   days since the last emergency admission, A&E, outpatient, GP and community activity,
   cost, social care and care home).
4. **Matching.** Each enrolled person gets the ``k`` nearest comparison people on the
   logit of the propensity score (with replacement), within the same band of prior
   emergency admissions (0, 1, 2, 3+) and the same calendar quarter of index date, and
   within a caliper of 0.2 standard deviations of the logit. Enrolled people with no
   comparison inside the caliper are dropped (and counted). Balance is shown as
   standardised mean differences before and after.
5. **Periods.** "Post" runs from the index date to leaving the programme,
   deregistration, death or the end of the data; a comparison person's post period is
   cut at the length of their enrolled match's, so both are followed for the same time
   since index. "Pre" is the *baseline*: the data before the 12 months preceding the
   index date (from the start of the data, or registration if later). Those 12 months
   are the window case finding selected on, so they are left out. Matched sets whose
   enrolled person has less than six months of baseline are left out of the primary
   figure.
6. **Difference-in-differences** as a ratio: (enrolled post rate / enrolled pre rate) /
   (comparison post rate / comparison pre rate), with rates per person-year. This is
   the maximum-likelihood estimate of the interaction in a Poisson model with
   group x period terms and log person-time offsets. The 95% interval comes from a
   bootstrap over matched sets (an enrolled person with their comparison people).
   Two sensitivity figures: "pre" = only the 12 months before the index date
   (``pre12_rate_ratio``), and "pre" = all data before the index date, baseline and
   those 12 months (``pre_all_rate_ratio``). ``earlier_rate_ratio`` is the primary
   figure under its earlier name.
7. **The naive figure**: the enrolled people's own post rate over their rate in the 12
   months before enrolment, shown beside it with a plain warning about regression to
   the mean.

Why the baseline leaves out the year before the index date: case finding picks people
for a bad year the data show and for need they do not show (a clinician's judgement,
frailty). Matching makes the groups alike on that year, but given the same year the
enrolled are the needier, so their admissions fall back less than their matches' and
any difference-in-differences that uses that year as "pre" credits the programme with
less benefit than it had (regression to the mean that matching does not reproduce).
The months before it did not trigger the enrolment; they show the lasting difference
between the groups, which the difference-in-differences removes. On a synthetic economy
with no effect the 12-month version gives 1.23 and the all-data version 1.13 (both
exclude 1); the baseline version 0.96 (0.85 to 1.10), and 0.95 (0.90 to 0.995) on a
five times larger one: a small bias away from no effect remains, not yet traced.
docs/risk-model.md gives the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis
import numpy as np
import pandas as pd

from joinedup.risk.features import CONDITIONS, activity, data_end, features_at
from joinedup.warehouse import Warehouse

OUTCOMES: dict[str, str] = {
    "emergency_admissions": "emergency admissions",
    "emergency_bed_days": "emergency bed days",
    "ae_attendances": "A&E attendances",
    "cost": "cost of hospital, A&E, outpatient and community care (pounds)",
}
PRE_DAYS = 365
PRIOR_BANDS = 3  # exact matching on prior emergency admissions 0, 1, 2, 3+
# Counts that also enter the propensity model on the log scale: use of services is
# multiplicative in a person's (unseen) frailty, so logs carry it better.
LOGGED = ("emergency_admissions", "ae_attendances", "op_attendances", "gp_appointments",
          "community_contacts", "emergency_bed_days")  # fmt: skip
# The baseline of the primary estimate needs at least this much data before the
# pre-enrolment year.
MIN_BASELINE_YEARS = 0.5

COVARIATES: tuple[str, ...] = (
    "age",
    "age_squared",
    "female",
    "imd_decile",
    *(f"ltc_{c}" for c in CONDITIONS),
    "ltc_count",
    "emergency_admissions",
    "emergency_admissions_90d",
    "emergency_bed_days",
    "days_since_emergency",
    "elective_admissions",
    "ae_attendances",
    "op_attendances",
    "gp_appointments",
    "community_contacts",
    "log_cost",
    "social_care",
    "care_home",
    *(f"log_{c}" for c in LOGGED),
)

RTM_WARNING = (
    "The naive before/after figure compares enrolled people with themselves. People "
    "are usually enrolled after a bad year, and a bad year tends to be followed by a "
    "better one whatever is done (regression to the mean), so the naive figure "
    "overstates the benefit. Use the matched difference-in-differences figure."
)


@dataclass
class OutcomeResult:
    """One outcome: the matched difference-in-differences and the naive figure."""

    name: str
    label: str
    rate_ratio: float
    lower: float
    upper: float
    naive_rate_ratio: float
    naive_lower: float
    naive_upper: float
    pre12_rate_ratio: float
    pre12_lower: float
    pre12_upper: float
    earlier_rate_ratio: float
    earlier_lower: float
    earlier_upper: float
    pre_all_rate_ratio: float
    pre_all_lower: float
    pre_all_upper: float
    matched_sets: int
    enrolled_pre: float
    enrolled_post: float
    comparison_pre: float
    comparison_post: float

    def as_dict(self) -> dict:
        """Plain JSON-ready values (rates per person-year)."""
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in vars(self).items()}


@dataclass
class Evaluation:
    """The result of ``evaluate_programme``."""

    programme: str
    enrolled: int
    eligible_enrolled: int
    matched_enrolled: int
    comparison_people: int
    comparison_pool: int
    k: int
    outcomes: dict[str, OutcomeResult]
    balance: pd.DataFrame
    sets: pd.DataFrame = field(repr=False)
    data_end: date | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def primary(self) -> OutcomeResult:
        """Emergency admissions, the outcome the contract reports at the top level."""
        return self.outcomes["emergency_admissions"]

    def as_dict(self) -> dict:
        """The JSON document `joinedup evaluate --format json` prints."""
        p = self.primary
        worst_after = float(self.balance["smd_after"].abs().max())
        return {
            "programme": self.programme,
            "outcome": "emergency_admissions",
            "rate_ratio": round(p.rate_ratio, 6),
            "lower": round(p.lower, 6),
            "upper": round(p.upper, 6),
            "naive_rate_ratio": round(p.naive_rate_ratio, 6),
            "naive_lower": round(p.naive_lower, 6),
            "naive_upper": round(p.naive_upper, 6),
            "pre12_rate_ratio": round(p.pre12_rate_ratio, 6),
            "earlier_rate_ratio": round(p.earlier_rate_ratio, 6),
            "pre_all_rate_ratio": round(p.pre_all_rate_ratio, 6),
            "method": "propensity-score matching (k nearest with replacement, exact on prior "
            "emergency admissions band and index quarter, caliper 0.2 SD of the logit); "
            "difference-in-differences of rates per person-year, pre = the baseline before "
            "the 12 months preceding the index date (at least 6 months of it), post = "
            "index date to leaving, deregistration, death or data end; 95% bootstrap "
            "interval over matched sets",
            "enrolled": self.enrolled,
            "eligible_enrolled": self.eligible_enrolled,
            "matched_enrolled": self.matched_enrolled,
            "comparison_people": self.comparison_people,
            "comparison_pool": self.comparison_pool,
            "k": self.k,
            "data_end": self.data_end.isoformat() if self.data_end else None,
            "outcomes": {k: v.as_dict() for k, v in self.outcomes.items()},
            "balance": {
                "max_abs_smd_after": round(worst_after, 4),
                "covariates": self.balance.round(4).to_dict(orient="records"),
            },
            "warning": RTM_WARNING,
            "notes": self.notes,
        }


def programmes(wh: Warehouse) -> list[str]:
    """Names of the programmes with enrolments in the warehouse."""
    t = wh.table("programme_enrolment")
    return sorted(t.select("programme").distinct().to_pyarrow().column(0).to_pylist())


def _frame(expr: ibis.Table) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def _design(frame: pd.DataFrame) -> pd.DataFrame:
    x = frame.copy()
    x["age_squared"] = x["age"].astype(float) ** 2
    x["log_cost"] = np.log1p(x["cost"].astype(float))
    for c in LOGGED:
        x[f"log_{c}"] = np.log1p(x[c].astype(float))
    return x


def _baseline(wh: Warehouse, index: pd.DataFrame, start: date) -> pd.DataFrame:
    """Outcome counts between the start of the data (or of the person's registration,
    if later) and the pre-index year.

    The baseline starts no earlier than registration: a person who joined the list
    during the data has no activity before joining, and counting those months as
    person-time would understate their baseline rate. Comparison people join and leave
    lists more often than the (older, sicker) enrolled, so that error would not cancel
    between the groups; it biased the estimate away from no effect.
    """
    begin = pd.to_datetime(index.registered_from).astype("datetime64[s]")
    begin = begin.where(begin > pd.Timestamp(start), pd.Timestamp(start))
    periods = pd.DataFrame(
        {
            "person_id": index.person_id,
            "index_date": index.index_date.dt.date,
            "period_start": begin.dt.date,
            "period_end": (index.index_date - pd.Timedelta(days=PRE_DAYS)).dt.date,
        }
    )
    periods = periods[periods.period_end > periods.period_start]
    out = _frame(activity(wh, ibis.memtable(periods)))
    years = (pd.to_datetime(out.period_end) - pd.to_datetime(out.period_start)).dt.days / 365.25
    base = pd.DataFrame(
        {
            "person_id": out.person_id,
            "index_date": pd.to_datetime(out.index_date).astype("datetime64[s]"),
            "base_years": years,
        }
    )
    for c in OUTCOMES:
        base[f"base_{c}"] = out[c].astype(float)
    return base


def propensity(x: pd.DataFrame, treated: np.ndarray) -> np.ndarray:
    """Logit of the propensity score from a logistic regression on ``COVARIATES``.

    Covariates that do not vary are left out; the rest are standardised so the fit is
    well conditioned. A small ridge penalty keeps rare covariates from separating.
    """
    import statsmodels.api as sm

    # ltc_count is the sum of the condition flags: shown in the balance table only.
    cols = [c for c in COVARIATES if c != "ltc_count" and x[c].astype(float).std() > 0]
    z = x[cols].astype(float)
    z = (z - z.mean()) / z.std()
    design = sm.add_constant(z.to_numpy(), has_constant="add")
    model = sm.GLM(treated.astype(float), design, family=sm.families.Binomial())
    try:
        fit = model.fit(maxiter=100)
        params = fit.params
    except (np.linalg.LinAlgError, ValueError):
        params = model.fit_regularized(alpha=1e-4, L1_wt=0.0, maxiter=200).params
    if not np.all(np.isfinite(params)):
        params = model.fit_regularized(alpha=1e-4, L1_wt=0.0, maxiter=200).params
    return design @ params


def match(
    logit: np.ndarray, treated: np.ndarray, strata: np.ndarray, k: int, caliper: float
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest comparison rows (with replacement) for each treated row.

    Returns (treated row, comparison row) pairs; matches are within the same stratum
    and within ``caliper`` on ``logit``.
    """
    t_rows, c_rows = [], []
    for s in np.unique(strata[treated]):
        t_idx = np.flatnonzero(treated & (strata == s))
        c_idx = np.flatnonzero(~treated & (strata == s))
        if len(c_idx) == 0:
            continue
        order = np.argsort(logit[c_idx])
        c_sorted, c_vals = c_idx[order], logit[c_idx][order]
        kk = min(k, len(c_idx))
        pos = np.searchsorted(c_vals, logit[t_idx])
        # Candidates: the kk values either side of the insertion point.
        offsets = np.arange(-kk, kk)
        cand = np.clip(pos[:, None] + offsets[None, :], 0, len(c_vals) - 1)
        dist = np.abs(c_vals[cand] - logit[t_idx][:, None])
        # Duplicated (clipped) candidates must not be chosen twice.
        dup = np.zeros_like(dist, dtype=bool)
        dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
        dist[dup] = np.inf
        best = np.argsort(dist, axis=1, kind="stable")[:, :kk]
        chosen = np.take_along_axis(cand, best, axis=1)
        ok = np.take_along_axis(dist, best, axis=1) <= caliper
        rows = np.repeat(t_idx, kk).reshape(-1, kk)
        t_rows.append(rows[ok])
        c_rows.append(c_sorted[chosen[ok]])
    if not t_rows:
        return np.array([], int), np.array([], int)
    return np.concatenate(t_rows), np.concatenate(c_rows)


def standardised_differences(
    x: pd.DataFrame, treated: np.ndarray, weights: np.ndarray
) -> pd.DataFrame:
    """Standardised mean differences of ``COVARIATES`` before and after matching.

    ``weights`` are the comparison rows' matching weights (0 if never matched). The
    denominator is the pooled standard deviation before matching, so before and after
    are on the same scale (Austin 2009).
    """
    rows = []
    for c in COVARIATES:
        v = x[c].astype(float).to_numpy()
        vt, vc = v[treated], v[~treated]
        sd = np.sqrt((vt.var(ddof=1) + vc.var(ddof=1)) / 2) if len(vc) > 1 else 0.0
        w = weights[~treated]
        after = np.average(vc, weights=w) if w.sum() > 0 else np.nan
        before = (vt.mean() - vc.mean()) / sd if sd > 0 else 0.0
        rows.append(
            {
                "covariate": c,
                "mean_enrolled": vt.mean(),
                "mean_pool": vc.mean(),
                "mean_matched": after,
                "smd_before": before,
                "smd_after": (vt.mean() - after) / sd if sd > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows)


def evaluate_programme(
    wh: Warehouse,
    programme: str,
    *,
    k: int = 5,
    caliper_sd: float = 0.2,
    bootstrap: int = 1000,
    seed: int = 20260401,
    pool_limit: int | None = None,
) -> Evaluation:
    """Evaluate ``programme``: matched difference-in-differences and the naive figure.

    ``pool_limit`` caps the number of comparison candidates (a random sample) for very
    large populations. Raises ValueError if the programme has no enrolments.
    """
    rng = np.random.default_rng(seed)
    enrol = _frame(
        wh.table("programme_enrolment")
        .filter(ibis._.programme == programme)
        .select("person_id", "enrolled_on", "left_on")
    )
    if enrol.empty:
        known = ", ".join(programmes(wh)) or "none"
        raise ValueError(f"no enrolments in programme {programme!r}; programmes found: {known}")
    enrol = enrol.sort_values("enrolled_on").drop_duplicates("person_id")
    end = data_end(wh)
    people = _frame(
        wh.table("person").select("person_id", "registered_from", "registered_to", "date_of_death")
    )
    others = people.loc[~people.person_id.isin(enrol.person_id), ["person_id"]]
    if pool_limit is not None and len(others) > pool_limit:
        others = others.sample(pool_limit, random_state=seed)
    dates = pd.to_datetime(enrol.enrolled_on).to_numpy()
    others = others.assign(index_date=rng.choice(dates, size=len(others)), treated=False)
    treated_index = pd.DataFrame(
        {"person_id": enrol.person_id, "index_date": pd.to_datetime(enrol.enrolled_on)}
    ).assign(treated=True)
    index = pd.concat([treated_index, others], ignore_index=True)
    index["index_date"] = pd.to_datetime(index["index_date"]).dt.normalize().astype("datetime64[s]")
    index = index.merge(people, on="person_id")
    idx = index["index_date"]
    reg_to = pd.to_datetime(index["registered_to"])
    died = pd.to_datetime(index["date_of_death"])
    ok = (
        (pd.to_datetime(index["registered_from"]) <= idx - pd.Timedelta(days=PRE_DAYS))
        & (reg_to.isna() | (reg_to > idx))
        & (died.isna() | (died > idx))
        & (idx < pd.Timestamp(end))
    )
    index = index[ok].reset_index(drop=True)

    mem = ibis.memtable(
        index[["person_id", "index_date"]].assign(index_date=index.index_date.dt.date)
    )
    feats = _frame(features_at(wh, mem, PRE_DAYS))
    feats["index_date"] = pd.to_datetime(feats["index_date"]).astype("datetime64[s]")
    data = index.merge(feats, on=["person_id", "index_date"], suffixes=("", "_f"))
    start = pd.Timestamp(wh.table("apc_spell").admitted_on.min().execute()).date()
    data = data.merge(_baseline(wh, index, start), on=["person_id", "index_date"], how="left")
    base_cols = ["base_years", *(f"base_{c}" for c in OUTCOMES)]
    data[base_cols] = data[base_cols].fillna(0.0)
    treated_all = data["treated"].to_numpy(bool)
    # The programme's own criteria, read from who was enrolled.
    min_age = data.loc[treated_all, "age"].min()
    min_ltc = data.loc[treated_all, "ltc_count"].min()
    data = data[(data.age >= min_age) & (data.ltc_count >= min_ltc)].reset_index(drop=True)
    data = _design(data)
    treated = data["treated"].to_numpy(bool)
    if treated.sum() == 0:
        raise ValueError(f"no enrolled person in {programme!r} has a full year before enrolment")
    if (~treated).sum() == 0:
        raise ValueError("no comparison people are eligible")

    logit = propensity(data, treated)
    # Exact on prior emergency admissions and on the quarter of the index date.
    quarter = data["index_date"].dt.year * 4 + (data["index_date"].dt.month - 1) // 3
    strata = np.minimum(data["emergency_admissions"].to_numpy(), PRIOR_BANDS) * 100_000 + (
        quarter.to_numpy() - quarter.min()
    )
    caliper = caliper_sd * logit.std()
    t_rows, c_rows = match(logit, treated, strata, k, caliper)
    matched_t = np.unique(t_rows)
    weights = np.zeros(len(data))
    per_set = np.bincount(t_rows, minlength=len(data))
    np.add.at(weights, c_rows, 1.0 / per_set[t_rows])
    balance = standardised_differences(data, treated, weights)

    # Post periods: enrolled until leaving, deregistration, death or data end.
    def stop(frame: pd.DataFrame, left: pd.Series | None) -> pd.Series:
        s = pd.Series(pd.Timestamp(end), index=frame.index)
        for col in (frame["registered_to"], frame["date_of_death"], left):
            if col is None:
                continue
            col = pd.to_datetime(col).astype("datetime64[s]")
            s = s.where(col.isna() | (col >= s), col)
        return s

    tdata = data[treated].merge(enrol[["person_id", "left_on"]], on="person_id", how="left")
    tdata.index = np.flatnonzero(treated)
    tdata["post_end"] = stop(tdata, tdata["left_on"]).to_numpy()
    # One row per (set, comparison person): the comparison is followed for as long as
    # its enrolled match.
    pairs = pd.DataFrame({"set": t_rows, "row": c_rows})
    follow = (tdata["post_end"] - tdata["index_date"]).reindex(pairs.set).to_numpy()
    cdata = data.iloc[pairs.row.to_numpy()].reset_index(drop=True)
    own_end = stop(cdata, None).to_numpy()
    cap = cdata["index_date"].to_numpy() + follow
    pairs["person_id"] = cdata["person_id"].to_numpy()
    pairs["index_date"] = cdata["index_date"].to_numpy()
    pairs["post_end"] = np.minimum(own_end, cap)

    post_periods = pd.concat(
        [
            pd.DataFrame(
                {
                    "pair": -1 - tdata.index.to_numpy(),
                    "person_id": tdata.person_id.to_numpy(),
                    "period_start": tdata.index_date.to_numpy(),
                    "period_end": tdata.post_end.to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "pair": np.arange(len(pairs)),
                    "person_id": pairs.person_id.to_numpy(),
                    "period_start": pairs.index_date.to_numpy(),
                    "period_end": pairs.post_end.to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    post_periods = post_periods[post_periods.period_end > post_periods.period_start]
    for col in ("period_start", "period_end"):
        post_periods[col] = pd.to_datetime(post_periods[col]).dt.date
    post = _frame(activity(wh, ibis.memtable(post_periods))).set_index("pair")
    post["years"] = (
        pd.to_datetime(post.period_end) - pd.to_datetime(post.period_start)
    ).dt.days / 365.25

    sets, est = _set_totals(data, matched_t, pairs, post, treated)
    outcomes = {
        name: _estimate(est, name, label, sets, rng, bootstrap) for name, label in OUTCOMES.items()
    }
    notes = []
    dropped = int(treated.sum() - len(matched_t))
    if dropped:
        notes.append(f"{dropped} enrolled people had no comparison within the caliper")
    return Evaluation(
        programme=programme,
        enrolled=len(enrol),
        eligible_enrolled=int(treated.sum()),
        matched_enrolled=len(matched_t),
        comparison_people=int(np.count_nonzero(weights)),
        comparison_pool=int((~treated).sum()),
        k=k,
        outcomes=outcomes,
        balance=balance,
        sets=sets,
        data_end=end,
        notes=notes,
    )


def _set_totals(
    data: pd.DataFrame,
    matched_t: np.ndarray,
    pairs: pd.DataFrame,
    post: pd.DataFrame,
    treated: np.ndarray,
) -> tuple[pd.DataFrame, dict]:
    """Per matched set: the enrolled person's counts and person-years, and the mean of
    their comparison people's, in the baseline, pre and post periods."""
    m = len(matched_t)
    pos = pd.Series(np.arange(m), index=matched_t).reindex(pairs.set).to_numpy()
    n_c = np.bincount(pos, minlength=m).astype(float)

    def cmean(values: np.ndarray) -> np.ndarray:
        return np.bincount(pos, np.asarray(values, float), m) / n_c

    t_post = post.reindex(-1 - matched_t)
    c_post = post.reindex(np.arange(len(pairs)))
    pre_years = PRE_DAYS / 365.25
    sets = pd.DataFrame(
        {
            "set": matched_t,
            "person_id": data.person_id.to_numpy()[matched_t],
            "comparisons": n_c.astype(int),
        }
    )
    years = {
        "t_pre": np.full(m, pre_years),
        "c_pre": np.full(m, pre_years),
        "t_post": t_post["years"].fillna(0).to_numpy(),
        "c_post": cmean(c_post["years"].fillna(0)),
        "t_base": data["base_years"].to_numpy()[matched_t],
        "c_base": cmean(data["base_years"].to_numpy()[pairs.row]),
    }
    years["t_all"] = years["t_pre"] + years["t_base"]
    years["c_all"] = years["c_pre"] + years["c_base"]
    for key, v in years.items():
        sets[f"{key}_years"] = v
    for name in OUTCOMES:
        v = data[name].astype(float).to_numpy()
        b = data[f"base_{name}"].astype(float).to_numpy()
        sets[f"t_pre_{name}"] = v[matched_t]
        sets[f"c_pre_{name}"] = cmean(v[pairs.row])
        sets[f"t_post_{name}"] = t_post[name].fillna(0).astype(float).to_numpy()
        sets[f"c_post_{name}"] = cmean(c_post[name].fillna(0))
        sets[f"t_base_{name}"] = b[matched_t]
        sets[f"c_base_{name}"] = cmean(b[pairs.row])
        sets[f"t_all_{name}"] = sets[f"t_pre_{name}"] + sets[f"t_base_{name}"]
        sets[f"c_all_{name}"] = sets[f"c_pre_{name}"] + sets[f"c_base_{name}"]
    naive_rows = np.flatnonzero(treated)
    naive_post = post.reindex(-1 - naive_rows)
    naive = {
        "years": naive_post["years"].fillna(0).to_numpy(),
        "pre_years": np.full(len(naive_rows), pre_years),
        **{f"pre_{n}": data[n].astype(float).to_numpy()[naive_rows] for n in OUTCOMES},
        **{f"post_{n}": naive_post[n].fillna(0).astype(float).to_numpy() for n in OUTCOMES},
    }
    return sets, naive


def _did(sets: pd.DataFrame, name: str, before: str, w: np.ndarray | None = None):
    """Ratio of (post / before) rates, enrolled over comparison; ``w`` resamples sets."""

    def total(col: str):
        v = sets[col].to_numpy()
        return v.sum() if w is None else w @ v

    with np.errstate(divide="ignore", invalid="ignore"):
        t = (total(f"t_post_{name}") / total("t_post_years")) / (
            total(f"t_{before}_{name}") / total(f"t_{before}_years")
        )
        c = (total(f"c_post_{name}") / total("c_post_years")) / (
            total(f"c_{before}_{name}") / total(f"c_{before}_years")
        )
        return t / c


def _estimate(
    naive: dict,
    name: str,
    label: str,
    sets: pd.DataFrame,
    rng: np.random.Generator,
    bootstrap: int,
) -> OutcomeResult:
    """Both difference-in-differences figures and the naive one, with bootstrap intervals."""
    with_base = sets[sets.t_base_years >= MIN_BASELINE_YEARS].reset_index(drop=True)

    def resample(n: int) -> np.ndarray:
        return rng.multinomial(n, np.full(n, 1 / n), size=bootstrap).astype(float)

    wb = resample(len(with_base))
    # Primary: "pre" is the baseline, the months before the 12 the selection looked at.
    primary = _did(with_base, name, "base")
    lo, hi = np.nanpercentile(_did(with_base, name, "base", wb), [2.5, 97.5])
    wr = resample(len(sets))
    pre12 = _did(sets, name, "pre")
    rlo, rhi = np.nanpercentile(_did(sets, name, "pre", wr), [2.5, 97.5])
    # Sensitivity: "pre" = everything before the index date (baseline + those 12 months).
    pre_all = _did(with_base, name, "all")
    alo, ahi = np.nanpercentile(_did(with_base, name, "all", wb), [2.5, 97.5])

    post, years = naive[f"post_{name}"], naive["years"]
    pre, pre_years = naive[f"pre_{name}"], naive["pre_years"]
    with np.errstate(divide="ignore", invalid="ignore"):
        naive_rr = (post.sum() / years.sum()) / (pre.sum() / pre_years.sum())
        wn = resample(len(post))
        b = ((wn @ post) / (wn @ years)) / ((wn @ pre) / (wn @ pre_years))
    nlo, nhi = np.nanpercentile(b, [2.5, 97.5])

    def rate(frame: pd.DataFrame, col: str, yrs: str) -> float:
        return float(frame[col].sum() / frame[yrs].sum()) if frame[yrs].sum() > 0 else np.nan

    return OutcomeResult(
        name=name,
        label=label,
        rate_ratio=float(primary),
        lower=float(lo),
        upper=float(hi),
        naive_rate_ratio=float(naive_rr),
        naive_lower=float(nlo),
        naive_upper=float(nhi),
        pre12_rate_ratio=float(pre12),
        pre12_lower=float(rlo),
        pre12_upper=float(rhi),
        earlier_rate_ratio=float(primary),
        earlier_lower=float(lo),
        earlier_upper=float(hi),
        pre_all_rate_ratio=float(pre_all),
        pre_all_lower=float(alo),
        pre_all_upper=float(ahi),
        matched_sets=len(with_base),
        enrolled_pre=rate(with_base, f"t_base_{name}", "t_base_years"),
        enrolled_post=rate(with_base, f"t_post_{name}", "t_post_years"),
        comparison_pre=rate(with_base, f"c_base_{name}", "c_base_years"),
        comparison_post=rate(with_base, f"c_post_{name}", "c_post_years"),
    )
