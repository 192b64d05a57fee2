"""A practice's profile: list size and age structure, condition prevalence against what
its age and sex mix would predict, and the practices most like it.

- **Prevalence against expected** is indirect standardisation: the partnership's
  prevalence in each age band and sex, applied to the practice's registered list,
  gives the expected number of people on each register; observed / expected with
  exact Poisson (Byar's) limits (:func:`joinedup.measures.stats.isr`) says whether
  the practice records more or fewer than its population would suggest. A low ratio
  can mean under-diagnosis as well as a healthier list.
- **Peers** are the practices nearest on three things that drive activity and are
  outside the practice's control: the share of its list aged 65 and over, the mean
  IMD decile of its patients, and its list size (log scale), each standardised over
  all practices (Euclidean distance on z-scores).

Counts here are practice-level aggregates; callers suppress before they leave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis
import numpy as np
import pandas as pd

from joinedup.derived import ESP2013_BANDS
from joinedup.derived.persons import band, is_registered
from joinedup.measures import stats
from joinedup.practice.feed import check_practice, feed_window
from joinedup.warehouse import Warehouse

AGE_BANDS_5Y = [b[0] for b in ESP2013_BANDS]
PEERS = 10


@dataclass
class PracticeProfile:
    """What :func:`practice_profile` returns (frames are unsuppressed aggregates)."""

    practice_code: str
    name: str
    cluster_code: str
    footprint_code: str
    as_of: date
    list_size: int
    pyramid: pd.DataFrame  # age_band, sex, people, partnership_share
    prevalence: pd.DataFrame  # condition, observed, expected, prevalence, ratio, lower, upper
    peers: pd.DataFrame  # practice_code, name, distance, list_size, share_65_plus, mean_imd
    extra: dict = field(default_factory=dict)

    @property
    def peer_codes(self) -> list[str]:
        """Codes of the peer practices, nearest first."""
        return list(self.peers["practice_code"])


def registered_at(wh: Warehouse, when: date) -> ibis.Table:
    """Everyone registered and alive on ``when``, with age, 5-year band and sex."""
    p = wh.table("person")
    p = p.filter(is_registered(p, when))
    age = (ibis.literal(when.year) - p.year_of_birth).cast("int16")
    return p.mutate(age=age, age_band=band(age, ESP2013_BANDS))


def practice_table(wh: Warehouse, when: date) -> pd.DataFrame:
    """Every practice's list size, share aged 65+ and mean IMD decile on ``when``."""
    r = registered_at(wh, when)
    frame = (
        r.group_by("practice_code")
        .aggregate(
            list_size=r.count(),
            share_65_plus=(r.age >= 65).cast("float64").mean(),
            mean_imd=r.imd_decile.mean(),
        )
        .execute()
    )
    names = wh.table("practice").select("practice_code", "name").execute()
    return frame.merge(names, on="practice_code", how="left")


def nearest_peers(table: pd.DataFrame, practice_code: str, n: int = PEERS) -> pd.DataFrame:
    """The ``n`` practices nearest ``practice_code`` on share 65+, mean IMD decile and
    log list size (z-scores over all practices); nearest first, with ``distance``."""
    t = table.dropna(subset=["list_size"]).copy()
    feats = np.column_stack(
        [
            t["share_65_plus"].to_numpy(float),
            t["mean_imd"].fillna(t["mean_imd"].mean()).to_numpy(float),
            np.log(t["list_size"].to_numpy(float)),
        ]
    )
    sd = feats.std(axis=0)
    z = (feats - feats.mean(axis=0)) / np.where(sd > 0, sd, 1)
    me = np.flatnonzero(t["practice_code"].to_numpy() == practice_code)
    if len(me) == 0:
        raise ValueError(f"practice {practice_code!r} has nobody registered")
    t["distance"] = np.sqrt(((z - z[me[0]]) ** 2).sum(axis=1))
    others = t[t["practice_code"] != practice_code]
    return others.sort_values(["distance", "practice_code"]).head(n).reset_index(drop=True)


def age_sex_counts(r: ibis.Table, practice_code: str | None = None) -> pd.DataFrame:
    """People of ``r`` (:func:`registered_at`) by five-year age band and sex (F, M), in
    one practice or (``practice_code`` None) everyone, every band x sex present, with
    ``partnership_share``: the share of all of ``r``'s people in each cell, to compare a
    practice with. Unsuppressed counts: callers suppress before they leave."""
    return _age_sex(_age_sex_table(r), practice_code)


def _age_sex_table(r: ibis.Table) -> pd.DataFrame:
    """People of ``r`` by practice, five-year age band and sex (F and M only)."""
    return (
        r.filter(r.sex.isin(("F", "M")))
        .group_by(["practice_code", "age_band", "sex"])
        .aggregate(people=ibis._.count())
        .execute()
    )


def _age_sex(counts: pd.DataFrame, practice_code: str | None) -> pd.DataFrame:
    full = pd.MultiIndex.from_product([AGE_BANDS_5Y, ["F", "M"]], names=["age_band", "sex"])
    mine = counts if practice_code is None else counts[counts["practice_code"] == practice_code]
    all_ = counts.groupby(["age_band", "sex"])["people"].sum().reindex(full, fill_value=0)
    out = mine.groupby(["age_band", "sex"])["people"].sum().reindex(full, fill_value=0)
    out = out.astype("int64").reset_index()
    total = all_.sum()
    out["partnership_share"] = (all_ / total).to_numpy() if total else 0.0
    return out


@dataclass(frozen=True)
class _Counts:
    """What every practice's profile is made from, counted once for all practices."""

    cases: pd.DataFrame  # practice_code, age_band, sex, condition, cases
    pop: pd.DataFrame  # practice_code, age_band, sex, people (all sexes)
    age_sex: pd.DataFrame  # practice_code, age_band, sex (F, M), people


def _counts(wh: Warehouse, r: ibis.Table, when: date) -> _Counts:
    cond = wh.table("condition")
    cond = cond.filter(cond.recorded_on <= when).select("person_id", "condition").distinct()
    j = r.select("person_id", "practice_code", "age_band", "sex").inner_join(cond, "person_id")
    cases = j.group_by(["practice_code", "age_band", "sex", "condition"]).aggregate(
        cases=ibis._.count()
    )
    pop = r.group_by(["practice_code", "age_band", "sex"]).aggregate(people=ibis._.count())
    return _Counts(cases.execute(), pop.execute(), _age_sex_table(r))


def _prevalence(c: _Counts, practice_code: str) -> pd.DataFrame:
    cases, pop = c.cases, c.pop
    ref = cases.groupby(["age_band", "sex", "condition"])["cases"].sum().rename("ref_cases")
    ref_pop = pop.groupby(["age_band", "sex"])["people"].sum().rename("ref_people")
    mine_pop = pop[pop["practice_code"] == practice_code].set_index(["age_band", "sex"])["people"]
    rows = []
    list_size = int(mine_pop.sum())
    for condition in sorted(cases["condition"].unique()):
        rc = ref.xs(condition, level="condition").reindex(ref_pop.index, fill_value=0)
        expected = float((mine_pop.reindex(ref_pop.index, fill_value=0) * rc / ref_pop).sum())
        mine = cases[(cases["practice_code"] == practice_code) & (cases["condition"] == condition)]
        observed = int(mine["cases"].sum())
        rows.append(
            {
                "condition": condition,
                "observed": observed,
                "expected": expected,
                "prevalence": 100 * observed / list_size if list_size else np.nan,
                "partnership_prevalence": 100 * rc.sum() / ref_pop.sum(),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    ok = out["expected"] > 0
    est = stats.isr(out.loc[ok, "observed"].to_numpy(float), out.loc[ok, "expected"].to_numpy())
    for name in ("value", "lower", "upper"):
        out.loc[ok, "ratio" if name == "value" else name] = np.asarray(getattr(est, name))
    out["flag"] = np.select(
        [out["lower"] > 1, out["upper"] < 1], ["higher than expected", "lower than expected"], ""
    )
    return out


def practice_profiles(
    wh: Warehouse,
    end: date | None = None,
    codes: list[str] | None = None,
    peers: int = PEERS,
) -> dict[str, PracticeProfile]:
    """The profiles of ``codes`` (default: every practice) on ``end`` (default: the
    newest A&E or admitted-care date), counted in one pass over the warehouse."""
    _start, when = feed_window(wh, 1, end)
    practices = wh.table("practice").execute().set_index("practice_code")
    codes = list(practices.index) if codes is None else codes
    for code in codes:
        if code not in practices.index:
            check_practice(wh, code)  # raises, naming some known codes
    r = registered_at(wh, when)
    table = practice_table(wh, when)
    counts = _counts(wh, r, when)
    out = {}
    for code in codes:
        meta = practices.loc[code]
        size = table.loc[table["practice_code"] == code, "list_size"]
        out[code] = PracticeProfile(
            practice_code=code,
            name=str(meta["name"]),
            cluster_code=str(meta["cluster_code"]),
            footprint_code=str(meta["footprint_code"]),
            as_of=when,
            list_size=int(size.iloc[0]) if len(size) else 0,
            pyramid=_age_sex(counts.age_sex, code),
            prevalence=_prevalence(counts, code),
            peers=nearest_peers(table, code, peers) if len(size) else table.head(0),
        )
    return out


def practice_profile(
    wh: Warehouse, practice_code: str, end: date | None = None, peers: int = PEERS
) -> PracticeProfile:
    """The practice's profile on ``end`` (default: the newest A&E or admitted-care date)."""
    check_practice(wh, practice_code)
    return practice_profiles(wh, end, [practice_code], peers)[practice_code]
