"""Evaluation of an intervention: matched comparison and difference-in-differences.

Who is enrolled in a programme is rarely random: case finding picks people after a bad
year, and a bad year is followed, on average, by a better one whatever is done
(regression to the mean). So the enrolled are compared with similar people who were
not enrolled, over the same calendar time:

1. **Index dates.** An enrolled person's index date is their enrolment date. Every
   other person gets one index date drawn at random from the enrolment dates, so the
   comparison pool has the same calendar spread. By default (risk sets, ``COMPARISONS``)
   a person enrolled later is a comparison candidate when that date falls before their
   own enrolment, and is followed only until it; people never enrolled are the only
   candidates with ``comparisons="never_enrolled"``.
2. **Eligibility.** Registered and alive on the index date and registered for the whole
   year before it; and the programme's own criteria: written in a YAML definition
   (:mod:`joinedup.risk.eligibility`), or else read from the data (at least the youngest
   enrolled person's age and at least the fewest long-term conditions any enrolled
   person had).
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
   standardised mean differences before and after; a feature left over the limit is
   added to the exact match in quantile bands and the matching done again
   (``_match_until_balanced``; said in ``notes`` and ``balance.exact_bands``).
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
   bootstrap that resamples enrolled people (each with their matched set) and
   comparison people independently (``_Replicates``: comparison people are shared
   between sets, and resampling sets alone gave intervals that were too narrow).
   Two sensitivity figures: "pre" = only the 12 months before the index date
   (``pre12_rate_ratio``), and "pre" = all data before the index date, baseline and
   those 12 months (``pre_all_rate_ratio``). ``earlier_rate_ratio`` is the primary
   figure under its earlier name.
7. **The naive figure**: the enrolled people's own post rate over their rate in the 12
   months before enrolment, shown beside it with a plain warning about regression to
   the mean.
8. **Falsification tests and verdict** (docs/evaluation.md): a placebo in time (the same
   matched sets, later half of the baseline against the earlier, before anyone was
   enrolled), with risk sets a second one against people never enrolled (the enrolled
   matched to them afresh), negative-control outcomes the programme cannot change (planned cataract
   and hip or knee operations), balance after matching; the E-values of the estimate
   and its interval (``joinedup.risk.evalue``); and a verdict in words
   (``joinedup.risk.verdict``): ``benefit``, ``harm``, ``no_clear_effect`` or
   ``inconclusive`` when a falsification test fails.

Why the baseline leaves out the year before the index date: case finding picks people
for a bad year the data show and for need they do not show (a clinician's judgement,
frailty). Matching makes the groups alike on that year, but given the same year the
enrolled are the needier, so their admissions fall back less than their matches' and
any difference-in-differences that uses that year as "pre" credits the programme with
less benefit than it had (regression to the mean that matching does not reproduce).
The months before it did not trigger the enrolment; they show the lasting difference
between the groups, which the difference-in-differences removes. On a synthetic economy
with no effect the 12-month version gives 1.23 and the all-data version 1.13 (both
exclude 1); the baseline version, against people never enrolled, 0.96 (0.82 to 1.17).
Comparing with people never enrolled selects on the future (case finding passed them
over, so their admissions dip before their index date), which is why risk sets are the
default: docs/evaluation.md gives the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis
import numpy as np
import pandas as pd

from joinedup.risk.eligibility import Eligibility, from_enrolled
from joinedup.risk.evalue import EValue, e_values
from joinedup.risk.features import CONDITIONS, activity, data_end, features_at
from joinedup.risk.power import Detectable, minimum_detectable
from joinedup.risk.verdict import ALPHA, SMD_LIMIT, Check, Verdict, judge, rounded
from joinedup.schema import codes
from joinedup.warehouse import Warehouse

#: Person-level outcomes every evaluation estimates (counts per person-year, and cost);
#: ``evaluate_programme(outcome=...)`` chooses which one is reported at the top level.
OUTCOMES: dict[str, str] = {
    "emergency_admissions": "emergency admissions",
    "emergency_bed_days": "emergency bed days",
    "ae_attendances": "A&E attendances",
    "cost": "cost of hospital, A&E, outpatient and community care (pounds)",
    "op_attendances": "outpatient attendances",
    "gp_appointments": "GP appointments",
}
#: Outcomes that cannot have a baseline (nobody dies before the index date): estimated
#: as a matched comparison of rates after the index date, without the
#: difference-in-differences, and without a placebo in time.
POST_ONLY: dict[str, str] = {"deaths": "deaths"}
#: Who may be a comparison person. ``not_yet_enrolled`` (the default): risk sets (Li,
#: Propert and Rosenbaum 2001), anybody not enrolled by their index date, followed only
#: until their own enrolment, with a second placebo test against people never enrolled.
#: ``never_enrolled``: only people never enrolled in the programme, which selects on the
#: future (case finding passed them over) and biased the estimate towards benefit on the
#: synthetic economies (docs/evaluation.md, "Who the comparisons are").
COMPARISONS: dict[str, str] = {
    "not_yet_enrolled": "people not yet enrolled on their index date (risk sets), "
    "followed until their own enrolment",
    "never_enrolled": "people never enrolled in the programme",
}
PRE_DAYS = 365
#: At most this many rounds of banding to repair balance (``_match_until_balanced``).
BALANCE_ROUNDS = 3
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


@dataclass(frozen=True)
class CodedOutcome:
    """A count of admissions picked by their codes: a negative-control outcome.

    A spell counts when its admission method is one of ``methods`` and its main procedure,
    any of its coded procedures (``apc_procedure``) or its primary diagnosis starts with
    one of ``opcs4`` / ``icd10`` (three-character prefixes).
    """

    name: str
    label: str
    methods: tuple[str, ...]
    opcs4: tuple[str, ...] = ()
    icd10: tuple[str, ...] = ()


#: Outcomes a programme of care management for long-term conditions cannot plausibly
#: change: planned surgery, whose timing is set by waiting lists and need. Injuries are
#: not among them: care management can prevent falls (and the synthetic economy's
#: planted effect lowers every emergency admission, injuries included).
NEGATIVE_CONTROLS: tuple[CodedOutcome, ...] = (
    CodedOutcome(
        "planned_cataract_surgery",
        "planned cataract operations",
        codes.ELECTIVE_METHODS,
        opcs4=("C71", "C72", "C73", "C74", "C75"),
        icd10=("H25", "H26"),
    ),
    CodedOutcome(
        "planned_hip_knee_replacement",
        "planned hip or knee replacements",
        codes.ELECTIVE_METHODS,
        opcs4=("W37", "W38", "W39", "W40", "W41", "W42", "W46", "W47", "W48"),
    ),
)

FALSIFICATION_RULE = (
    "inconclusive when the placebo in time's 95% interval excludes 1 (against the matched "
    "comparisons, or against people never enrolled matched the same way), when any negative "
    "control's Bonferroni interval (95% for the family: each at 1 - 0.05/k for k controls) "
    "excludes 1, or when any pre-index feature's standardised mean difference after "
    "matching is over 0.1; otherwise benefit if the 95% interval is wholly below 1, harm if "
    "wholly above 1, and no clear effect if it contains 1"
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
    #: How it was estimated.
    design: str = "matched difference-in-differences against the baseline"
    #: The placebo in time for this outcome, the E-values and the verdict (set by
    #: ``evaluate_programme`` once the falsification tests are done).
    placebo: Check | None = None
    #: The same placebo against people never enrolled (risk-set comparisons only).
    placebo_never_enrolled: Check | None = None
    e_value: EValue | None = None
    #: The smallest effect the estimate would have found 80% of the time.
    detectable: Detectable | None = None
    verdict: Verdict | None = None

    def as_dict(self) -> dict:
        """Plain JSON-ready values (rates per person-year)."""
        objects = ("placebo", "placebo_never_enrolled", "e_value", "detectable", "verdict")
        out = {
            k: rounded(v) if isinstance(v, float) else v
            for k, v in vars(self).items()
            if k not in objects
        }
        if self.placebo is not None:
            out["placebo"] = self.placebo.as_dict()
        if self.placebo_never_enrolled is not None:
            out["placebo_never_enrolled"] = self.placebo_never_enrolled.as_dict()
        if self.e_value is not None:
            out["e_value"] = self.e_value.as_dict()["point"]
            out["e_value_interval"] = self.e_value.as_dict()["limit"]
        if self.detectable is not None:
            out["minimum_detectable"] = self.detectable.as_dict()
        if self.verdict is not None:
            out["verdict"] = self.verdict.verdict
            out["verdict_sentence"] = self.verdict.sentence
        return out


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
    #: The negative-control outcomes (shared by every outcome's verdict).
    negative_controls: list[Check] = field(default_factory=list)
    #: The outcome reported at the top level (``rate_ratio``, ``verdict`` ...).
    primary_outcome: str = "emergency_admissions"
    #: Who could be a comparison person (a key of ``COMPARISONS``).
    comparisons: str = "not_yet_enrolled"
    #: One row per (enrolled row ``set``, comparison person): ``person_id``,
    #: ``index_date`` and ``post_end`` (end of follow-up, exclusive), and the comparison
    #: person's own counts and person-years behind each ``c_`` column of ``sets``
    #: (``c_base_emergency_admissions``, ``c_plcpost_years`` ...; ``sets`` holds their
    #: mean per set).
    pairs: pd.DataFrame = field(default=None, repr=False)
    #: Features matched exactly within quantile bands to repair balance, with how many.
    exact_bands: list[str] = field(default_factory=list)

    @property
    def primary(self) -> OutcomeResult:
        """The outcome the contract reports at the top level (emergency admissions
        unless another was asked for)."""
        return self.outcomes[self.primary_outcome]

    @property
    def max_abs_smd(self) -> float:
        """The largest |standardised mean difference| after matching."""
        return float(self.balance["smd_after"].abs().max())

    @property
    def unbalanced(self) -> list[str]:
        """Pre-index features whose |SMD| after matching is over ``SMD_LIMIT``."""
        over = self.balance[self.balance["smd_after"].abs() > SMD_LIMIT]
        return over["covariate"].tolist()

    def as_dict(self) -> dict:
        """The JSON document `joinedup evaluate --format json` prints."""
        p = self.primary
        worst_after = self.max_abs_smd
        verdict = p.verdict
        return {
            "programme": self.programme,
            "outcome": self.primary_outcome,
            "outcome_label": p.label,
            "rate_ratio": rounded(p.rate_ratio),
            "lower": rounded(p.lower),
            "upper": rounded(p.upper),
            "verdict": verdict.verdict if verdict else None,
            "verdict_headline": verdict.headline if verdict else None,
            "verdict_sentence": verdict.sentence if verdict else None,
            "verdict_reasons": verdict.reasons if verdict else [],
            "caveats": verdict.caveats if verdict else [],
            "placebo": p.placebo.as_dict() if p.placebo else None,
            "placebo_never_enrolled": (
                p.placebo_never_enrolled.as_dict() if p.placebo_never_enrolled else None
            ),
            "negative_controls": [c.as_dict() for c in self.negative_controls],
            "falsification_tests": [
                c.as_dict()
                for c in (p.placebo, p.placebo_never_enrolled, *self.negative_controls)
                if c is not None
            ],
            "e_value": p.e_value.as_dict()["point"] if p.e_value else None,
            "e_value_interval": p.e_value.as_dict()["limit"] if p.e_value else None,
            "minimum_detectable": p.detectable.as_dict() if p.detectable else None,
            "falsification_rule": FALSIFICATION_RULE,
            "naive_rate_ratio": rounded(p.naive_rate_ratio),
            "naive_lower": rounded(p.naive_lower),
            "naive_upper": rounded(p.naive_upper),
            "pre12_rate_ratio": rounded(p.pre12_rate_ratio),
            "earlier_rate_ratio": rounded(p.earlier_rate_ratio),
            "pre_all_rate_ratio": rounded(p.pre_all_rate_ratio),
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
            "comparisons": self.comparisons,
            "comparisons_label": COMPARISONS[self.comparisons],
            "k": self.k,
            "data_end": self.data_end.isoformat() if self.data_end else None,
            "outcomes": {k: v.as_dict() for k, v in self.outcomes.items()},
            "balance": {
                "max_abs_smd_after": round(worst_after, 4),
                "limit": SMD_LIMIT,
                "balanced": worst_after <= SMD_LIMIT,
                "over_limit": self.unbalanced,
                "exact_bands": self.exact_bands,
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
    x: pd.DataFrame,
    treated: np.ndarray,
    weights: np.ndarray,
    treated_weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Standardised mean differences of ``COVARIATES`` before and after matching.

    ``weights`` are the comparison rows' matching weights (0 if never matched);
    ``treated_weights`` (default: all 1) say which enrolled rows the estimate uses (0 for
    one dropped for want of a comparison or of a baseline), so that "after" compares the
    people the estimate compares. "Before" compares every eligible enrolled person with
    the whole pool. The denominator is the pooled standard deviation before matching, so
    before and after are on the same scale (Austin 2009).
    """
    tw = np.ones(len(x)) if treated_weights is None else np.asarray(treated_weights, float)
    rows = []
    for c in COVARIATES:
        v = x[c].astype(float).to_numpy()
        vt, vc = v[treated], v[~treated]
        sd = np.sqrt((vt.var(ddof=1) + vc.var(ddof=1)) / 2) if len(vc) > 1 else 0.0
        w = weights[~treated]
        after = np.average(vc, weights=w) if w.sum() > 0 else np.nan
        wt = tw[treated]
        matched_t = np.average(vt, weights=wt) if wt.sum() > 0 else np.nan
        before = (vt.mean() - vc.mean()) / sd if sd > 0 else 0.0
        rows.append(
            {
                "covariate": c,
                "mean_enrolled": vt.mean(),
                "mean_pool": vc.mean(),
                "mean_enrolled_matched": matched_t,
                "mean_matched": after,
                "smd_before": before,
                "smd_after": (matched_t - after) / sd if sd > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows)


def _matched_balance(
    data: pd.DataFrame, treated: np.ndarray, t_rows: np.ndarray, c_rows: np.ndarray
) -> pd.DataFrame:
    """Balance of the sets the primary figure uses (enough baseline before the index)."""
    in_primary = data["base_years"].to_numpy() >= MIN_BASELINE_YEARS
    per_set = np.bincount(t_rows, minlength=len(data))
    primary_pairs = in_primary[t_rows]
    weights = np.zeros(len(data))
    np.add.at(weights, c_rows[primary_pairs], 1.0 / per_set[t_rows[primary_pairs]])
    matched_t = np.unique(t_rows)
    treated_weights = np.zeros(len(data))
    treated_weights[matched_t[in_primary[matched_t]]] = 1.0
    return standardised_differences(data, treated, weights, treated_weights)


def _match_until_balanced(
    data: pd.DataFrame,
    treated: np.ndarray,
    logit: np.ndarray,
    strata: np.ndarray,
    k: int,
    caliper: float,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray, list[str]]:
    """Match, and while a feature is over the balance limit, match again exactly within
    bands of the worst one as well: quartiles among the enrolled, halved in width when
    the same feature is still the worst; up to ``BALANCE_ROUNDS`` times, keeping a
    round only if it lowers the largest |SMD|.

    The propensity score balances features on average; a heavy-tailed count (community
    contacts on the synthetic economies) can stay over the limit however large the
    population. Coarsened exact matching on that feature (Iacus, King and Porro 2012) is
    the usual remedy, and iterating matching against balance, never against outcomes, is
    the accepted practice (Stuart 2010). Returns the enrolled and comparison rows of each
    pair, the balance, the strata used and the features banded ("name (n bands)").
    """
    t_rows, c_rows = match(logit, treated, strata, k, caliper)
    balance = _matched_balance(data, treated, t_rows, c_rows)
    used, bands = strata, {}
    for _ in range(BALANCE_ROUNDS):
        worst = balance.loc[balance["smd_after"].abs().idxmax()]
        if not abs(worst["smd_after"]) > SMD_LIMIT:
            break
        trial_bands = dict(bands)
        name = str(worst["covariate"])
        trial_bands[name] = 2 * trial_bands[name] if name in trial_bands else 4
        trial = strata.astype(np.int64)
        for col, n in trial_bands.items():
            v = data[col].astype(float).to_numpy()
            cuts = np.unique(np.quantile(v[treated], np.arange(1, n) / n))
            trial = trial * 100 + np.searchsorted(cuts, v, side="right")
        t_try, c_try = match(logit, treated, trial, k, caliper)
        tried = _matched_balance(data, treated, t_try, c_try)
        if tried["smd_after"].abs().max() >= balance["smd_after"].abs().max():
            break
        t_rows, c_rows, balance, used, bands = t_try, c_try, tried, trial, trial_bands
    return t_rows, c_rows, balance, used, [f"{c} ({n} bands)" for c, n in bands.items()]


def evaluate_programme(
    wh: Warehouse,
    programme: str,
    *,
    k: int = 5,
    caliper_sd: float = 0.2,
    bootstrap: int = 1000,
    seed: int = 20260401,
    pool_limit: int | None = None,
    outcome: str = "emergency_admissions",
    eligibility: Eligibility | None = None,
    comparisons: str = "not_yet_enrolled",
) -> Evaluation:
    """Evaluate ``programme``: matched difference-in-differences and the naive figure,
    the falsification tests (placebo in time, negative-control outcomes, balance), the
    E-values and the verdict, for every outcome of ``OUTCOMES``.

    ``outcome`` is the one reported at the top level (``Evaluation.primary``).
    ``pool_limit`` caps the number of comparison candidates (a random sample) for very
    large populations. ``eligibility`` (:mod:`joinedup.risk.eligibility`) gives the
    programme's rules; by default they are read from the enrolled. ``comparisons`` is
    one of ``COMPARISONS``: ``not_yet_enrolled`` (the default; risk sets: anybody not
    enrolled by their index date, followed until their own enrolment, with a second
    placebo in time against people never enrolled), or ``never_enrolled``. Raises
    ValueError if the programme has no enrolments, the outcome is not one of
    ``OUTCOMES`` or ``comparisons`` not one of ``COMPARISONS``.
    """
    if comparisons not in COMPARISONS:
        raise ValueError(f"comparisons {comparisons!r}: expected one of {', '.join(COMPARISONS)}")
    if outcome not in OUTCOMES and outcome not in POST_ONLY:
        raise ValueError(
            f"outcome {outcome!r}: expected one of {', '.join([*OUTCOMES, *POST_ONLY])}"
        )
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
    # Who may be a comparison (COMPARISONS; docs/evaluation.md, "What is known of the
    # bias"): people never enrolled, or, with risk sets, anybody not yet enrolled on
    # their index date, followed only until their own enrolment.
    if comparisons == "never_enrolled":
        others = people.loc[~people.person_id.isin(enrol.person_id), ["person_id"]]
    else:
        others = people[["person_id"]]
    if pool_limit is not None and len(others) > pool_limit:
        others = others.sample(pool_limit, random_state=seed)
    dates = pd.to_datetime(enrol.enrolled_on).to_numpy()
    others = others.assign(index_date=rng.choice(dates, size=len(others)), treated=False)
    own = pd.to_datetime(others.person_id.map(enrol.set_index("person_id").enrolled_on))
    others["own_enrolled_on"] = own.astype("datetime64[s]")
    others = others[own.isna() | (others.index_date < others.own_enrolled_on)]
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
    # The programme's own criteria: written down, or read from who was enrolled.
    if not treated_all.any():
        raise ValueError(f"no enrolled person in {programme!r} has a full year before enrolment")
    rules = eligibility or from_enrolled(data, treated_all)
    meets = rules.mask(data).to_numpy(bool)
    outside = int((treated_all & ~meets).sum())
    data = data[meets].reset_index(drop=True)
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
    t_rows, c_rows, balance, strata, banded = _match_until_balanced(
        data, treated, logit, strata, k, caliper
    )
    matched_t = np.unique(t_rows)
    comparison_people = len(np.unique(c_rows))

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
    # A comparison person who is enrolled later (risk sets only) stops being one then.
    own_enrolled = cdata["own_enrolled_on"].astype("datetime64[s]").to_numpy()
    pairs["post_end"] = np.fmin(np.minimum(own_end, cap), own_enrolled)

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

    sets, est, cpairs = _set_totals(data, matched_t, pairs, post, treated)
    sets, cpairs = _falsification_columns(wh, data, sets, cpairs, pairs, post_periods, start)
    sets, cpairs = _death_columns(tdata, cdata, pairs, sets, cpairs, end)
    in_base = (sets.t_base_years >= MIN_BASELINE_YEARS).to_numpy()
    base_reps = _Replicates(sets, cpairs, in_base, rng, bootstrap)
    all_reps = _Replicates(sets, cpairs, np.ones(len(sets), bool), rng, bootstrap)
    outcomes = {
        name: _estimate(est, name, label, sets, rng, bootstrap, base_reps, all_reps)
        for name, label in OUTCOMES.items()
    }
    for name, label in POST_ONLY.items():
        outcomes[name] = _post_only(name, label, sets, all_reps)
    placebo, controls = _falsification(sets[in_base].reset_index(drop=True), base_reps)
    notes = [f"eligible: {rules.describe()}" + (" (as written)" if eligibility else "")]
    later = int(pairs.person_id.isin(enrol.person_id).sum())
    notes.append(
        f"comparisons: {COMPARISONS[comparisons]}"
        + (
            f"; {later} of {len(pairs)} comparison places are people enrolled later, and a "
            "second placebo test is made against people never enrolled"
            if comparisons == "not_yet_enrolled"
            else "; this selects on the future and leaned towards benefit on the synthetic "
            "economies (docs/evaluation.md)"
        )
    )
    if banded:
        notes.append(
            "matched exactly within quantile bands of "
            + ", ".join(banded)
            + " as well, because matching on the propensity score alone left it over the "
            "balance limit"
        )
    if outside:
        notes.append(f"{outside} enrolled people did not meet the eligibility rules")
    dropped = int(treated.sum() - len(matched_t))
    if dropped:
        notes.append(f"{dropped} enrolled people had no comparison within the caliper")
    result = Evaluation(
        programme=programme,
        enrolled=len(enrol),
        eligible_enrolled=int(treated.sum()),
        matched_enrolled=len(matched_t),
        comparison_people=comparison_people,
        comparison_pool=int((~treated).sum()),
        k=k,
        outcomes=outcomes,
        balance=balance,
        sets=sets,
        data_end=end,
        notes=notes,
        negative_controls=controls,
        primary_outcome=outcome,
        comparisons=comparisons,
        pairs=pd.concat(
            [
                pairs[["set", "person_id", "index_date", "post_end"]],
                cpairs.filter(like="c_").set_axis(pairs.index),
            ],
            axis=1,
        ),
        exact_bands=banded,
    )
    # Last, so that the figures above do not depend on whether it is computed.
    second = {}
    if comparisons == "not_yet_enrolled":
        never = ~treated & ~data["person_id"].isin(enrol.person_id).to_numpy()
        second = _second_placebo(
            wh, data, treated, never, (strata, k, caliper_sd), start, rng, bootstrap
        )
    for name, o in outcomes.items():
        o.placebo = placebo.get(name)
        o.placebo_never_enrolled = second.get(name)
        o.e_value = e_values(o.rate_ratio, o.lower, o.upper)
        o.detectable = minimum_detectable(o.lower, o.upper)
        o.verdict = judge(
            o.rate_ratio,
            o.lower,
            o.upper,
            label=o.label,
            countable=name != "cost",
            placebo=o.placebo,
            negative_controls=controls,
            max_abs_smd=result.max_abs_smd,
            unbalanced=result.unbalanced,
            e_value=o.e_value,
            other_placebos=[c for c in (o.placebo_never_enrolled,) if c is not None],
            detectable=o.detectable,
        )
    return result


def _set_totals(
    data: pd.DataFrame,
    matched_t: np.ndarray,
    pairs: pd.DataFrame,
    post: pd.DataFrame,
    treated: np.ndarray,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Per matched set: the enrolled person's counts and person-years, and the mean of
    their comparison people's, in the baseline, pre and post periods; the naive figure's
    inputs; and each comparison person's own values (one row per set and comparison,
    ``pos`` the set's position, ``row`` the comparison's row of ``data``)."""
    m = len(matched_t)
    pos = pd.Series(np.arange(m), index=matched_t).reindex(pairs.set).to_numpy()
    n_c = np.bincount(pos, minlength=m).astype(float)
    # Each comparison person's own values, one row per (set, comparison person): the
    # bootstrap resamples comparison people as well as sets (see ``_Replicates``).
    cpairs = pd.DataFrame({"pos": pos, "row": pairs.row.to_numpy()})
    cvalues: dict[str, np.ndarray] = {}

    def cmean(values: np.ndarray, key: str | None = None) -> np.ndarray:
        values = np.asarray(values, float)
        if key is not None:
            cvalues[key] = values
        return np.bincount(pos, values, m) / n_c

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
    n_pairs = len(pairs)
    c_base_years = data["base_years"].to_numpy()[pairs.row]
    years = {
        "t_pre": np.full(m, pre_years),
        "c_pre": cmean(np.full(n_pairs, pre_years), "c_pre_years"),
        "t_post": t_post["years"].fillna(0).to_numpy(),
        "c_post": cmean(c_post["years"].fillna(0), "c_post_years"),
        "t_base": data["base_years"].to_numpy()[matched_t],
        "c_base": cmean(c_base_years, "c_base_years"),
    }
    years["t_all"] = years["t_pre"] + years["t_base"]
    years["c_all"] = cmean(pre_years + c_base_years, "c_all_years")
    for key, v in years.items():
        sets[f"{key}_years"] = v
    for name in OUTCOMES:
        v = data[name].astype(float).to_numpy()
        b = data[f"base_{name}"].astype(float).to_numpy()
        sets[f"t_pre_{name}"] = v[matched_t]
        sets[f"c_pre_{name}"] = cmean(v[pairs.row], f"c_pre_{name}")
        sets[f"t_post_{name}"] = t_post[name].fillna(0).astype(float).to_numpy()
        sets[f"c_post_{name}"] = cmean(c_post[name].fillna(0), f"c_post_{name}")
        sets[f"t_base_{name}"] = b[matched_t]
        sets[f"c_base_{name}"] = cmean(b[pairs.row], f"c_base_{name}")
        sets[f"t_all_{name}"] = sets[f"t_pre_{name}"] + sets[f"t_base_{name}"]
        sets[f"c_all_{name}"] = cmean(v[pairs.row] + b[pairs.row], f"c_all_{name}")
    cpairs = pd.concat([cpairs, pd.DataFrame(cvalues)], axis=1)
    naive_rows = np.flatnonzero(treated)
    naive_post = post.reindex(-1 - naive_rows)
    naive = {
        "years": naive_post["years"].fillna(0).to_numpy(),
        "pre_years": np.full(len(naive_rows), pre_years),
        **{f"pre_{n}": data[n].astype(float).to_numpy()[naive_rows] for n in OUTCOMES},
        **{f"post_{n}": naive_post[n].fillna(0).astype(float).to_numpy() for n in OUTCOMES},
    }
    return sets, naive, cpairs


def _did(
    sets: pd.DataFrame,
    name: str,
    before: str,
    w: np.ndarray | None = None,
    after: str = "post",
):
    """Ratio of (after / before) rates, enrolled over comparison; ``w`` resamples sets."""

    def total(col: str):
        v = sets[col].to_numpy()
        return v.sum() if w is None else w @ v

    with np.errstate(divide="ignore", invalid="ignore"):
        t = (total(f"t_{after}_{name}") / total(f"t_{after}_years")) / (
            total(f"t_{before}_{name}") / total(f"t_{before}_years")
        )
        c = (total(f"c_{after}_{name}") / total(f"c_{after}_years")) / (
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
    base_reps: _Replicates | None = None,
    all_reps: _Replicates | None = None,
) -> OutcomeResult:
    """Both difference-in-differences figures and the naive one, with bootstrap intervals.

    The intervals come from ``base_reps`` (sets with a baseline) and ``all_reps`` (every
    set), which resample enrolled and comparison people; without them, from resampling
    the sets alone (which treats comparison people shared between sets as independent
    and gives intervals that are too narrow: docs/evaluation.md).
    """
    with_base = sets[sets.t_base_years >= MIN_BASELINE_YEARS].reset_index(drop=True)

    def resample(n: int) -> np.ndarray:
        return rng.multinomial(n, np.full(n, 1 / n), size=bootstrap).astype(float)

    if base_reps is None or all_reps is None:
        wb, wr = resample(len(with_base)), resample(len(sets))

        def draws(frame: pd.DataFrame, w: np.ndarray, before: str) -> np.ndarray:
            return _did(frame, name, before, w)

        base_draws = {b: draws(with_base, wb, b) for b in ("base", "all")}
        pre12_draws = draws(sets, wr, "pre")
    else:
        base_draws = {b: base_reps.did(name, b) for b in ("base", "all")}
        pre12_draws = all_reps.did(name, "pre")
    # Primary: "pre" is the baseline, the months before the 12 the selection looked at.
    primary = _did(with_base, name, "base")
    lo, hi = _bounds(base_draws["base"], 1.0 - ALPHA)
    pre12 = _did(sets, name, "pre")
    rlo, rhi = _bounds(pre12_draws, 1.0 - ALPHA)
    # Sensitivity: "pre" = everything before the index date (baseline + those 12 months).
    pre_all = _did(with_base, name, "all")
    alo, ahi = _bounds(base_draws["all"], 1.0 - ALPHA)

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


#: The placebo's "post" is the later part of the baseline: half of it, at most this long.
PLACEBO_MAX_DAYS = 365


def coded_activity(
    wh: Warehouse, periods: ibis.Table, outcomes: tuple[CodedOutcome, ...] = NEGATIVE_CONTROLS
) -> ibis.Table:
    """Admissions of each ``CodedOutcome`` in each period, counted in the warehouse.

    ``periods`` has ``person_id``, ``period_start`` and ``period_end`` (dates, end
    exclusive) and any key columns, one row per key; returns it with one count column per
    outcome (zero when none). An admission belongs to the period it starts in.
    """
    from joinedup.risk.features import _in_period

    keys = list(periods.columns)
    p = periods.rename(_pid="person_id")
    pkeys = ["_pid" if k == "person_id" else k for k in keys]
    s = wh.table("apc_spell").select(
        "spell_id",
        "person_id",
        "admitted_on",
        "admission_method",
        "primary_procedure",
        "primary_diagnosis",
    )
    with_opcs = [o for o in outcomes if o.opcs4]
    if with_opcs and wh.has_table("apc_procedure"):
        pr = wh.table("apc_procedure")
        pr = pr.mutate(_p3=pr.opcs4.substr(0, 3))
        any_code = pr.group_by("spell_id").aggregate(
            **{f"_p_{o.name}": pr._p3.isin(o.opcs4).any() for o in with_opcs}
        )
        s = s.left_join(any_code, "spell_id")
        s = s.drop(*(c for c in s.columns if c == "spell_id_right"))
    flags = {}
    for o in outcomes:
        hit = ibis.literal(False)
        if o.opcs4:
            hit = hit | s.primary_procedure.substr(0, 3).isin(o.opcs4).fill_null(False)
            if f"_p_{o.name}" in s.columns:
                hit = hit | s[f"_p_{o.name}"].fill_null(False)
        if o.icd10:
            hit = hit | s.primary_diagnosis.substr(0, 3).isin(o.icd10).fill_null(False)
        flags[o.name] = (s.admission_method.isin(o.methods) & hit).cast("int64")
    s = s.select("person_id", "admitted_on", **flags)
    sj = s.inner_join(p, s.person_id == p._pid)
    sj = sj.filter(_in_period(sj.admitted_on, sj.period_start, sj.period_end))
    counts = sj.group_by(pkeys).aggregate(**{o.name: sj[o.name].sum() for o in outcomes})
    out = p.left_join(counts, pkeys).drop(*(f"{k}_right" for k in pkeys))
    out = out.rename(person_id="_pid")
    return out.select(*keys, **{o.name: out[o.name].fill_null(0) for o in outcomes})


def _bounds(draws: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of bootstrap draws (NaN when none is finite)."""
    draws = np.asarray(draws, float)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return np.nan, np.nan
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def _check(
    sets: pd.DataFrame,
    name: str,
    label: str,
    before: str,
    after: str,
    draws: np.ndarray,
    level: float,
) -> Check:
    """One falsification test on ``sets``, its interval from the bootstrap ``draws``."""
    rr = float(_did(sets, name, before, after=after))
    lo, hi = _bounds(draws, 1.0 - ALPHA)
    tlo, thi = _bounds(draws, level)
    events = float(sets[f"t_{before}_{name}"].sum() + sets[f"t_{after}_{name}"].sum())
    return Check(name, label, rr, lo, hi, tlo, thi, level, events)


class _Replicates:
    """Bootstrap replicates of the set totals that resample enrolled people (each with
    their matched set) and comparison people independently.

    Matching with replacement shares comparison people between sets; resampling sets
    alone treats the shares as independent and gave 95% intervals that held the truth
    in only about three economies in four (docs/evaluation.md). Here, in each replicate,
    the enrolled people are drawn with replacement, the comparison people (of the sets
    kept) are drawn with replacement, each set's comparison mean is taken over its
    comparison people as drawn, and a set none of whose comparison people was drawn is
    left out of that replicate. ``totals`` holds, for every ``t_`` and ``c_`` column of
    the sets, its total in each replicate; ``did`` turns them into draws of a
    difference-in-differences.
    """

    def __init__(
        self,
        sets: pd.DataFrame,
        cpairs: pd.DataFrame,
        keep: np.ndarray,
        rng: np.random.Generator,
        replicates: int,
        chunk: int = 200,
    ) -> None:
        from scipy import sparse

        idx = np.flatnonzero(keep)
        n_sets = len(idx)
        new_pos = np.full(len(sets), -1)
        new_pos[idx] = np.arange(n_sets)
        p = cpairs[new_pos[cpairs["pos"].to_numpy()] >= 0]
        pos = new_pos[p["pos"].to_numpy()]
        _, person = np.unique(p["row"].to_numpy(), return_inverse=True)
        n_people, n_pairs = int(person.max()) + 1 if len(person) else 0, len(p)
        belongs = sparse.csr_matrix(
            (np.ones(n_pairs), (pos, np.arange(n_pairs))), shape=(n_sets, n_pairs)
        )
        kept = sets.iloc[idx]
        t_cols = [c for c in sets.columns if c.startswith("t_")]
        c_cols = [c for c in cpairs.columns if c.startswith("c_")]
        found: dict[str, list[np.ndarray]] = {c: [] for c in (*t_cols, *c_cols)}
        for first in range(0, replicates if n_sets and n_people else 0, chunk):
            r = min(chunk, replicates - first)
            drawn_sets = rng.multinomial(n_sets, np.full(n_sets, 1 / n_sets), size=r)
            drawn = rng.multinomial(n_people, np.full(n_people, 1 / n_people), size=r)
            per_pair = drawn[:, person].astype(float)  # r x pairs
            n_drawn = (belongs @ per_pair.T).T  # comparison people drawn, per set
            ok = n_drawn > 0
            w = drawn_sets * ok
            for c in t_cols:
                found[c].append(w @ kept[c].to_numpy(float))
            for c in c_cols:
                total = (belongs @ (per_pair * p[c].to_numpy(float)).T).T
                mean = np.divide(total, n_drawn, out=np.zeros_like(total), where=ok)
                found[c].append((w * mean).sum(axis=1))
        self.totals = {
            c: np.concatenate(v) if v else np.full(replicates, np.nan) for c, v in found.items()
        }

    def did(self, name: str, before: str, after: str = "post") -> np.ndarray:
        """Draws of the difference-in-differences of ``_did`` (same columns)."""
        tot = self.totals
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (tot[f"t_{after}_{name}"] / tot[f"t_{after}_years"]) / (
                tot[f"t_{before}_{name}"] / tot[f"t_{before}_years"]
            )
            c = (tot[f"c_{after}_{name}"] / tot[f"c_{after}_years"]) / (
                tot[f"c_{before}_{name}"] / tot[f"c_{before}_years"]
            )
            return t / c


def _death_columns(
    tdata: pd.DataFrame,
    cdata: pd.DataFrame,
    pairs: pd.DataFrame,
    sets: pd.DataFrame,
    cpairs: pd.DataFrame,
    end: date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deaths during each person's follow-up (``post``): the enrolled person's, and each
    comparison person's with its set's mean (as :func:`_set_totals` does for counts)."""
    last = pd.Timestamp(end)

    def died(frame: pd.DataFrame, until: pd.Series) -> np.ndarray:
        dod = pd.to_datetime(frame["date_of_death"]).astype("datetime64[s]")
        until = pd.to_datetime(until).astype("datetime64[s]")
        return (dod.notna() & (dod <= until) & (dod < last)).to_numpy(float)

    t = tdata.loc[sets["set"].to_numpy()]
    sets = sets.assign(t_post_deaths=died(t, t["post_end"]))
    c = died(cdata, pd.Series(pairs["post_end"].to_numpy(), index=cdata.index))
    pos = cpairs["pos"].to_numpy()
    n_c = np.bincount(pos, minlength=len(sets)).astype(float)
    sets["c_post_deaths"] = np.bincount(pos, c, len(sets)) / n_c
    cpairs = cpairs.assign(c_post_deaths=c)
    return sets, cpairs


def _post_only(name: str, label: str, sets: pd.DataFrame, reps: _Replicates) -> OutcomeResult:
    """The enrolled people's rate after the index date over their matches' (no baseline),
    with the interval from the replicates of every matched set."""

    def ratio(t, ty, c, cy):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (t / ty) / (c / cy)

    cols = (f"t_post_{name}", "t_post_years", f"c_post_{name}", "c_post_years")
    point = float(ratio(*(sets[c].sum() for c in cols)))
    lo, hi = _bounds(ratio(*(reps.totals[c] for c in cols)), 1.0 - ALPHA)
    nan = float("nan")
    return OutcomeResult(
        name=name,
        label=label,
        rate_ratio=point,
        lower=float(lo),
        upper=float(hi),
        naive_rate_ratio=nan,
        naive_lower=nan,
        naive_upper=nan,
        pre12_rate_ratio=nan,
        pre12_lower=nan,
        pre12_upper=nan,
        earlier_rate_ratio=point,
        earlier_lower=float(lo),
        earlier_upper=float(hi),
        pre_all_rate_ratio=nan,
        pre_all_lower=nan,
        pre_all_upper=nan,
        matched_sets=len(sets),
        enrolled_pre=nan,
        enrolled_post=float(sets[cols[0]].sum() / sets[cols[1]].sum()),
        comparison_pre=nan,
        comparison_post=float(sets[cols[2]].sum() / sets[cols[3]].sum()),
        design="matched comparison after the index date (no baseline: nobody dies before it)",
    )


def _baseline_bounds(
    data: pd.DataFrame, rows: np.ndarray, start: date
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """For ``data``'s ``rows``: the start and end of each baseline (from the start of the
    data or registration to the year before the index date), and the placebo's cut: the
    later half of the baseline, at most ``PLACEBO_MAX_DAYS``, starts at ``mid``."""
    sub = data.iloc[rows]
    first = pd.Timestamp(start)
    b0 = pd.to_datetime(sub.registered_from).astype("datetime64[s]")
    b0 = b0.where(b0 > first, first)
    b1 = sub.index_date - pd.Timedelta(days=PRE_DAYS)
    b0 = b0.where(b0 < b1, b1)
    half = np.minimum((b1 - b0).dt.days.to_numpy() // 2, PLACEBO_MAX_DAYS)
    return b0, b1 - pd.to_timedelta(half, unit="D"), b1


def _periods(data: pd.DataFrame, rows: np.ndarray, a: pd.Series, b: pd.Series) -> pd.DataFrame:
    """One period per row of ``data`` (``key`` the row), for the activity counts."""
    return pd.DataFrame(
        {
            "key": rows,
            "person_id": data.person_id.to_numpy()[rows],
            "period_start": a.dt.date.to_numpy(),
            "period_end": b.dt.date.to_numpy(),
        }
    )


def _placebo_counts(
    wh: Warehouse, data: pd.DataFrame, rows: np.ndarray, start: date
) -> dict[str, pd.DataFrame]:
    """Each row's ``OUTCOMES`` and person-years in the two parts of the placebo in time:
    ``plcpre`` (the baseline before ``mid``) and ``plcpost`` (from ``mid`` to its end);
    indexed by row of ``data``."""
    b0, mid, b1 = _baseline_bounds(data, rows, start)
    out = {}
    for tag, a, b in (("plcpre", b0, mid), ("plcpost", mid, b1)):
        counts = _frame(activity(wh, ibis.memtable(_periods(data, rows, a, b)))).set_index("key")
        counts["years"] = (
            pd.to_datetime(counts.period_end) - pd.to_datetime(counts.period_start)
        ).dt.days / 365.25
        out[tag] = counts
    return out


def _column_writer(sets: pd.DataFrame, extra: dict, pos: np.ndarray):
    """``put(key, t, c)``: the enrolled values ``t`` per set as ``sets["t_key"]``, the
    comparison values ``c`` per pair as ``extra["c_key"]`` and their mean per set as
    ``sets["c_key"]`` (``pos`` is each pair's set)."""
    m = len(sets)
    n_c = np.bincount(pos, minlength=m).astype(float)

    def put(key: str, t: np.ndarray, c_pairs: np.ndarray) -> None:
        sets[f"t_{key}"] = np.asarray(t, float)
        extra[f"c_{key}"] = np.asarray(c_pairs, float)
        sets[f"c_{key}"] = np.bincount(pos, extra[f"c_{key}"], m) / n_c

    return put


def _put_placebo(
    counts: dict[str, pd.DataFrame], matched_t: np.ndarray, comp_rows: np.ndarray, put
) -> None:
    """The placebo's counts and person-years (``_placebo_counts``) for the enrolled rows
    ``matched_t`` and the comparison rows ``comp_rows`` of each pair."""
    for tag, frame in counts.items():
        for col in ("years", *OUTCOMES):
            v = frame[col].astype(float)
            put(
                f"{tag}_{col}",
                v.reindex(matched_t).fillna(0).to_numpy(),
                v.reindex(comp_rows).fillna(0).to_numpy(),
            )


def _falsification_columns(
    wh: Warehouse,
    data: pd.DataFrame,
    sets: pd.DataFrame,
    cpairs: pd.DataFrame,
    pairs: pd.DataFrame,
    post_periods: pd.DataFrame,
    start: date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The counts the falsification tests need, added to the sets (and to each
    comparison person's row of ``cpairs``).

    **Placebo in time.** Each person's baseline (from the start of the data or their
    registration to the year before the index date) is cut in two: the placebo's "post"
    (``plcpost``) is its later half (at most ``PLACEBO_MAX_DAYS``), its "pre"
    (``plcpre``) the rest. The same difference-in-differences of the same matched sets is
    then an estimate of an effect that cannot exist (nobody in the sets was enrolled
    yet): it tests the design's assumption that enrolled and comparison rates move in
    parallel from the baseline on.

    **Negative controls.** Counts of ``NEGATIVE_CONTROLS`` in the baseline and in the
    follow-up, for the primary design (post against baseline).
    """
    matched_t = sets["set"].to_numpy()
    rows = np.unique(np.concatenate([matched_t, pairs.row.to_numpy()]))
    plc = _placebo_counts(wh, data, rows, start)
    b0, _, b1 = _baseline_bounds(data, rows, start)
    base_nc = _frame(coded_activity(wh, ibis.memtable(_periods(data, rows, b0, b1))))
    base_nc = base_nc.set_index("key")
    post_cols = ["pair", "person_id", "period_start", "period_end"]
    post_nc = _frame(coded_activity(wh, ibis.memtable(post_periods[post_cols])))
    post_nc = post_nc.set_index("pair")

    comp_rows = cpairs["row"].to_numpy()
    sets, extra = sets.copy(), {}
    put = _column_writer(sets, extra, cpairs["pos"].to_numpy())
    _put_placebo(plc, matched_t, comp_rows, put)
    for o in NEGATIVE_CONTROLS:
        v = base_nc[o.name].astype(float)
        put(
            f"base_{o.name}",
            v.reindex(matched_t).fillna(0).to_numpy(),
            v.reindex(comp_rows).fillna(0).to_numpy(),
        )
        v = post_nc[o.name].astype(float)
        put(
            f"post_{o.name}",
            v.reindex(-1 - matched_t).fillna(0).to_numpy(),
            v.reindex(np.arange(len(cpairs))).fillna(0).to_numpy(),
        )
    return sets, pd.concat([cpairs, pd.DataFrame(extra, index=cpairs.index)], axis=1)


def _second_placebo(
    wh: Warehouse,
    data: pd.DataFrame,
    treated: np.ndarray,
    never: np.ndarray,
    match_on: tuple[np.ndarray, int, float],
    start: date,
    rng: np.random.Generator,
    bootstrap: int,
) -> dict[str, Check]:
    """The placebo in time against a second comparison group: the enrolled matched again,
    the same way (a propensity score fitted against this group), to people never
    enrolled (rows ``never``).

    Risk sets put people enrolled later among the comparisons; when case finding picks
    people whose admissions are rising, those people rise before their own enrolment as
    the enrolled do, and the placebo against the risk sets cannot see it (while their
    censoring at enrolment still biases the estimate). People never enrolled have no
    such share: a trend the enrolled do not share with them fails this test. Two
    comparison groups with different weaknesses, each checked, is Rosenbaum's remedy
    (Design of Observational Studies, 2010, ch. 5). ``match_on`` is (strata, k,
    caliper_sd) as the primary match used.
    """
    strata, k, caliper_sd = match_on
    idx = np.flatnonzero(treated | never)
    logit = propensity(data.iloc[idx], treated[idx])
    t_sub, c_sub = match(logit, treated[idx], strata[idx], k, caliper_sd * logit.std())
    t_rows, c_rows = idx[t_sub], idx[c_sub]
    keep = data["base_years"].to_numpy()[t_rows] >= MIN_BASELINE_YEARS
    t_rows, c_rows = t_rows[keep], c_rows[keep]
    labels = {n: f"placebo in time against people never enrolled: {v}" for n, v in OUTCOMES.items()}
    if len(t_rows) == 0:
        nan = np.nan
        return {n: Check(n, v, nan, nan, nan, nan, nan, 1 - ALPHA) for n, v in labels.items()}
    matched_t = np.unique(t_rows)
    pos = np.searchsorted(matched_t, t_rows)
    counts = _placebo_counts(wh, data, np.unique(np.concatenate([matched_t, c_rows])), start)
    sets, extra = pd.DataFrame({"set": matched_t}), {}
    _put_placebo(counts, matched_t, c_rows, _column_writer(sets, extra, pos))
    cpairs = pd.DataFrame({"pos": pos, "row": c_rows, **extra})
    reps = _Replicates(sets, cpairs, np.ones(len(sets), bool), rng, bootstrap)
    return {
        n: _check(sets, n, label, "plcpre", "plcpost", reps.did(n, "plcpre", "plcpost"), 1 - ALPHA)
        for n, label in labels.items()
    }


def _falsification(
    with_base: pd.DataFrame, reps: _Replicates
) -> tuple[dict[str, Check], list[Check]]:
    """The placebo in time (for every outcome) and the negative-control outcomes, on the
    primary estimate's matched sets ``with_base`` (columns of ``_falsification_columns``),
    their intervals from ``reps``.

    Each negative control is judged at the Bonferroni level of the family. The placebo
    also carries the main estimate with the placebo's differential trend carried on over
    the main estimate's longer span (log-linearly): a sensitivity figure, not a test.
    """
    level = 1 - ALPHA / len(NEGATIVE_CONTROLS)
    if len(with_base) == 0:
        nan = np.nan
        placebo = {k: Check(k, v, nan, nan, nan, nan, nan, 1 - ALPHA) for k, v in OUTCOMES.items()}
        return placebo, [
            Check(o.name, o.label, nan, nan, nan, nan, nan, level) for o in NEGATIVE_CONTROLS
        ]
    placebo = {
        name: _check(
            with_base,
            name,
            f"placebo in time: {label}",
            "plcpre",
            "plcpost",
            reps.did(name, "plcpre", "plcpost"),
            1 - ALPHA,
        )
        for name, label in OUTCOMES.items()
    }
    # Spans, midpoint to midpoint, of the enrolled: the main estimate's from the middle of
    # the baseline (which ends a year before the index date) to the middle of follow-up;
    # the placebo's between the middles of its two parts (half the baseline).
    main_span = (with_base.t_base_years / 2 + PRE_DAYS / 365.25 + with_base.t_post_years / 2).mean()
    placebo_span = (with_base.t_base_years / 2).mean()
    ratio = float(main_span / placebo_span) if placebo_span > 0 else np.nan
    for name, check in placebo.items():
        main, trend = reps.did(name, "base"), reps.did(name, "plcpre", "plcpost")
        with np.errstate(divide="ignore", invalid="ignore"):
            adjusted = np.exp(np.log(main) - ratio * np.log(trend))
            point = np.log(_did(with_base, name, "base")) - ratio * np.log(check.rate_ratio)
        lo, hi = _bounds(adjusted, 1.0 - ALPHA)
        check.span_ratio = ratio
        check.trend_adjusted_rate_ratio = float(np.exp(point))
        check.trend_adjusted_lower, check.trend_adjusted_upper = lo, hi
    controls = [
        _check(with_base, o.name, o.label, "base", "post", reps.did(o.name, "base"), level)
        for o in NEGATIVE_CONTROLS
    ]
    return placebo, controls
